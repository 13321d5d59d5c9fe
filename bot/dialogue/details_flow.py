""""More": an answer's first message holds the steps that matter now; the rest of it (the
intent's `more` text) comes when the person asks, with a button or by typing "more".

The option carries the intent id ('more:sim_check'), so nothing is kept to remember it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.content.load import Intent
from bot.dialogue.messages import Option, Reply
from bot.dialogue.registry import CHOICES

if TYPE_CHECKING:
    from bot.dialogue.turn import Turn

PREFIX = "more"
WORDS = "more_words"  # system.yaml: what a person types to ask for the rest
# Options a flow adds beside an intent's own after its "more" (privacy: the delete button).
FOLLOW_UPS: dict[str, Callable[[Turn], list[Option]]] = {}


def more_option(turn: Turn, intent: Intent) -> list[Option]:
    """The "More" button for an intent that has more to say, else nothing."""
    if not intent.more:
        return []
    return [Option(turn.bot.content.text("more_button", turn.lang), f"{PREFIX}:{intent.id}")]


def _more(turn: Turn, intent_id: str) -> list[Reply] | None:
    bot = turn.bot
    intent = bot.content.intents.get(intent_id)
    if intent is None or not intent.more:
        return None
    turn.intent = intent_id
    options = bot.intent_options(turn, intent.options)
    if intent.action in FOLLOW_UPS:
        options = FOLLOW_UPS[intent.action](turn) + options
    return [bot.reply(turn, bot.content.more(intent_id, turn.lang, bot.values(turn.lang)), options)]


CHOICES[PREFIX] = _more
