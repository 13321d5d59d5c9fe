"""One message being handled (`Turn`), and what a flow may use of the bot that handles it
(`BotApi`). The core builds turns; flows read and change them. This module imports neither the
core nor any flow, so that every arrow in `bot/dialogue/` points one way: core -> flows -> here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from bot.dialogue.messages import Incoming, Option, Reply

if TYPE_CHECKING:  # types only, from modules that import no part of the dialogue
    from bot.breaches.alerts import AlertStore
    from bot.breaches.lookup import BreachLookup
    from bot.content.load import Content, Intent
    from bot.dialogue.desk import Desk, StaffPost
    from bot.dialogue.tipline import Tipline
    from bot.state.sqlite_store import Retention, Store, UserState
    from bot.understanding.matcher import Matcher
    from bot.understanding.scam import ScamRules


class BotApi(Protocol):
    """The bot as flows see it (`bot.dialogue.core.Bot` is the one implementation)."""

    content: Content
    store: Store
    matcher: Matcher
    scam_rules: ScamRules
    lookup: BreachLookup
    alerts: AlertStore | None
    desk: Desk | None
    tipline: Tipline  # forwarded scams grouped, staff's verdicts
    retention: Retention
    secret: bytes

    def values(self, lang: str) -> dict[str, str]: ...

    def reply(self, turn: Turn, text: str, options: list[Option] | None = None, keep: bool = False,
              **meta: str) -> Reply: ...

    def intent_options(self, turn: Turn, intent_ids: tuple[str, ...] | list[str]) -> list[Option]: ...

    def answer_intent(self, turn: Turn, intent_id: str) -> list[Reply]: ...

    def plain_answer(self, turn: Turn, intent: Intent) -> list[Reply]: ...

    def fallback(self, turn: Turn) -> list[Reply]: ...


@dataclass
class Turn:
    """One message being handled: what came in and the person's state, changed in place."""

    bot: BotApi
    msg: Incoming
    key: str
    state: UserState
    lang: str
    text: str
    normalised: str  # the text as the normaliser folds it, made once per message
    forget: bool = False  # the person asked to be deleted: do not save state
    intent: str | None = None  # what the message was taken for, for counts and logs
    extra: dict[str, str] = field(default_factory=dict)
    staff: list[StaffPost] = field(default_factory=list)  # for the desk's staff group, after the transaction
    limit_key: str = ""  # where the rate limit and lookup allowance are counted (see Bot.limit_key)
    tag: str = ""  # marks the person's misses and scam checks, so that deletion finds them
    later: Callable[[], list[Reply]] | None = None  # slow work for after the transaction
    whole: str | None = None  # the message uncut when `text` was cut: the scam check reads it all
