"""The channel-agnostic core: one incoming message in, replies out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from rapidfuzz import fuzz, process

from bot.breaches.alerts import AlertStore
from bot.breaches.lookup import BreachLookup
from bot.config import keyed, user_key
from bot.content.load import Content, Intent
from bot.dialogue import (
    details_flow,
    feedback_flow,
    flows,  # noqa: F401  (registers every flow)
    media_flow,
)
from bot.dialogue import registry as actions
from bot.dialogue.desk import Desk, StaffPost
from bot.dialogue.kept import figures
from bot.dialogue.messages import Incoming, Option, Reply, replies_from_json, replies_to_json
from bot.dialogue.tipline import Tipline
from bot.dialogue.turn import Turn
from bot.state.sqlite_store import Retention, Store, UserState
from bot.state.tipline import tipline_store
from bot.understanding.matcher import Match, Matcher
from bot.understanding.normalise import DIGITS
from bot.understanding.redact import find_sensitive, valid_unicode
from bot.understanding.scam import ScamRules

MAX_TEXT = 4096  # longer messages are cut before matching; no channel sends more
# Held replies younger than this belong to a delivery still under way (a duplicate that came
# at the same time, maybe to another worker): only older ones were left behind by a crash.
REPLAY_AFTER = 1.0
LONG_AGO = 1.0  # a hold time (the epoch's first second) any re-delivery may replay at once
# What only the person may see: in a group chat these get a link to a private chat instead.
PERSONAL_ACTIONS = {"breach_lookup", "privacy", "breach_alerts"}
PERSONAL_CHOICES = ("breach:", "contact:", "delete:", "alerts:")
NAMED_OPTION_SCORE = 85  # how alike (rapidfuzz ratio) a typed text and an offered title must be
NAMED_OPTION_WORDS = 8  # longer texts are questions, not an option's name
# Option prefixes a person may pick by typing a word instead of its number ("more", "tell me"),
# with the system.yaml word list for each.
WORDED_OPTIONS = {details_flow.PREFIX: details_flow.WORDS, **actions.WORDED}


@dataclass(frozen=True)
class Limits:
    # Messages a person may send a minute before the bot pauses; None: no limit (the terminal,
    # where the only person is the one at the keyboard).
    per_minute: int | None = 20


@dataclass(frozen=True)
class Outcome:
    """What became of one message: 'answered', 'duplicate' (delivered before: no reply),
    'redelivered' (handled before, but its replies never confirmed delivered: here they are
    again), 'rate_limited' (told once) or 'silenced' (over the limit, no reply).

    `delivery`: the key to confirm with `Bot.delivered` once the replies went out.
    `later`: slow work (an HIBP lookup) to run off the event loop after the transaction; its
    replies take the place of `replies` (a "checking…") if ready soon, else follow them.
    `staff`: what the staff group of the desk should get, in order (bot/dialogue/desk.py)."""

    replies: list[Reply]
    status: str
    intent: str | None = None
    lang: str = "en"
    delivery: str | None = None
    later: Callable[[], list[Reply]] | None = None
    staff: tuple[StaffPost, ...] = ()


@dataclass(frozen=True)
class Loaded:
    """Content with what is built from it: the matcher and the scam rules."""

    content: Content
    matcher: Matcher
    scam_rules: ScamRules

    @classmethod
    def build(cls, content: Content) -> Loaded:
        return cls(content, Matcher(content), ScamRules.load(content.directory))


class Bot:
    def __init__(self, content: Content, store: Store, secret: bytes, limits: Limits = Limits(),
                 lookup: BreachLookup | None = None, retention: Retention | None = None,
                 alerts: AlertStore | None = None, desk: Desk | None = None, tipline: Tipline | None = None):
        self.store = store
        self.alerts = alerts  # breach-alert subscriptions (alerts_flow); None: alerts are off
        self.desk = desk  # chats handed to helpline staff (desk_flow); None: no desk
        self.retention = retention or Retention()  # how long rows are kept: /privacy says it
        self.secret = secret
        # scams grouped for staff (tipline_flow); by default nobody can ask to be told later
        self.tipline = tipline or _tipline(store, secret, self.retention)
        self.limits = limits
        self.lookup = lookup or BreachLookup(store, secret)
        self.use(Loaded.build(content))

    def use(self, loaded: Loaded) -> None:
        """Put new content in place. Called between two messages (handling one never awaits),
        so a message sees the old content or the new, never a mix."""
        self.content, self.matcher, self.scam_rules = loaded.content, loaded.matcher, loaded.scam_rules
        # Each intent's titles in normal form, for options typed by name: once per content, not
        # up to eighteen normalisations for every message that follows a list of options.
        normalise = loaded.matcher.normaliser.normalise
        self._titles = {intent_id: [normalise(title) for title in intent.title.values()]
                        for intent_id, intent in loaded.content.intents.items()}

    def values(self, lang: str) -> dict[str, str]:
        """What the texts' {names} become here: the retention figures as configured, and the
        sentence that says where an email to check goes (by the lookup's source)."""
        email = self.content.text(f"privacy_email_{self.lookup.source_name}", lang)
        return {**figures(self.retention), "email_service": email}

    def respond(self, msg: Incoming) -> list[Reply]:
        """The replies, slow work included (the terminal and tests: nothing else to wait for)."""
        outcome = self.handle(msg)
        return outcome.later() if outcome.later else outcome.replies

    def limit_key(self, msg: Incoming) -> str:
        """The keyed hash the rate limit and lookup allowance are counted under: not the
        person's key, so "delete my data" (which removes what is under that) cannot reset
        them. One place, so that a channel can be exempted here."""
        return keyed(self.secret, "limits", msg.channel, msg.user_id)

    def count_ahead(self, msg: Incoming) -> Incoming:
        """Count a message in the rate limit before `handle` (a picture, before it is fetched
        and read: the costly part comes first); `handle` then uses this count."""
        if self.limits.per_minute is None:
            return msg
        with self.store.transaction():
            sent = self.store.hit(self.limit_key(msg), int(time.time() // 60))
        return replace(msg, rate_count=sent)

    def over_limit(self, msg: Incoming) -> bool:
        """Counted ahead and over the limit: nothing costly may be done for it."""
        limit = self.limits.per_minute
        return limit is not None and msg.rate_count is not None and msg.rate_count > limit

    def handle(self, msg: Incoming) -> Outcome:
        """Guards, then the answer. Everything the message changes commits at once, with its
        replies held in an outbox until the channel confirms delivery: a crash leaves no
        half-handled message, and a re-delivery gets the replies once, never twice."""
        msg = _valid_unicode(msg)
        key = user_key(self.secret, msg.channel, msg.user_id)
        delivery = user_key(self.secret, msg.channel, f"message:{msg.message_id}") if msg.message_id else None
        with self.store.transaction():
            if delivery and not self.store.first_delivery(delivery):
                held = self.store.held_replies(delivery, time.time() - REPLAY_AFTER)
                if held is None:
                    return Outcome([], "duplicate")
                return Outcome(replies_from_json(held), "redelivered", delivery=delivery)
            state = self.store.get_user(key) or UserState()
            text = msg.text[:MAX_TEXT]
            normalised = self.matcher.normaliser.normalise(text)
            turn = Turn(self, msg, key, state, self._language(msg, state, text, normalised), text, normalised,
                        limit_key=self.limit_key(msg), tag=keyed(self.secret, "records", key, size=16),
                        whole=msg.text if len(msg.text) > MAX_TEXT else None)
            limit = self.limits.per_minute
            sent = msg.rate_count if msg.rate_count is not None else (
                self.store.hit(turn.limit_key, int(time.time() // 60)) if limit is not None else 0)
            if limit is not None and sent > limit:
                if sent > limit + 1:
                    return Outcome([], "silenced", lang=turn.lang)
                turn.intent = "rate_limited"
                replies = [self.reply(turn, self.content.text("rate_limited", turn.lang), keep=True)]
            else:
                replies = self._handle(turn)
            if not turn.forget:
                turn.state.lang = turn.lang
                self.store.save_user(key, turn.state)
            self.store.count(turn.intent or "none", turn.lang)
            if delivery and replies:
                self.store.hold_replies(delivery, replies_to_json(replies))
        if turn.forget:
            self.store.wipe()
        return Outcome(replies, "answered" if turn.intent != "rate_limited" else "rate_limited",
                       turn.intent, turn.lang, delivery if replies else None, turn.later, tuple(turn.staff))

    def delivered(self, outcome: Outcome) -> None:
        """The channel sent the outcome's replies: forget them."""
        if outcome.delivery:
            self.store.delivered(outcome.delivery)

    def undelivered(self, outcome: Outcome) -> None:
        """The channel could not send the replies: a re-delivery may have them at once."""
        if outcome.delivery:
            self.store.hold_replies(outcome.delivery, replies_to_json(outcome.replies), now=LONG_AGO)

    def _language(self, msg: Incoming, state: UserState, text: str, normalised: str) -> str:
        if state.pinned and state.lang:
            return state.lang
        if msg.app_lang and msg.choice and not state.lang:  # a button or command before any writing
            return msg.app_lang
        return self.matcher.normaliser.detect_language(text, normalised) or state.lang or "en"

    def _handle(self, turn: Turn) -> list[Reply]:
        taken = actions.before(turn)  # an open chat with helpline staff takes the message
        if taken is not None:
            return taken
        if turn.msg.media:  # a picture (read by the channel), a voice note, a location...
            return media_flow.respond(turn)
        if not turn.text.strip() and not (turn.msg.choice or turn.msg.shared_contact):
            turn.intent = "no_text"
            return [self.reply(turn, self.content.text("no_text", turn.lang), keep=True)]
        sensitive = find_sensitive(turn.text)
        if sensitive:
            turn.state.pending = None
            # A forwarded scam often carries a code or a CNIC: check it (in memory), and let
            # the channel delete the person's message all the same.
            scam = actions.intercept(turn, Match(None, 0.0, turn.lang))
            if scam is not None:
                return [replace(r, meta={**r.meta, "sensitive": sensitive}) for r in scam]
            turn.intent = "sensitive"
            return [self.reply(turn, self.content.text("sensitive", turn.lang), sensitive=sensitive)]
        if turn.msg.group_link and turn.state.pending:  # a question asked in private stays there
            turn.state.pending = None
        if turn.msg.shared_contact:
            return self.choose(turn, f"contact:{turn.msg.shared_contact}")
        if turn.msg.choice:
            return self.choose(turn, turn.msg.choice)
        picked = self._picked_option(turn) or self._worded_option(turn) or self._named_option(turn)
        if picked is not None:
            return picked
        if turn.state.pending:
            replies = actions.continue_pending(turn)
            if replies is not None:
                return replies
        match = self.matcher.match(turn.text, turn.normalised, turn.lang)  # both worked out once, in handle
        return actions.intercept(turn, match) or self.answer_match(turn, match)

    def _picked_option(self, turn: Turn) -> list[Reply] | None:
        """A bare number picks one of the options offered last ("1", "۲")."""
        number = turn.text.strip().translate(DIGITS)
        if not number.isdecimal() or not turn.state.options:  # not isdigit: "²" is a digit
            return None
        index = int(number) - 1
        if 0 <= index < len(turn.state.options):
            return self.choose(turn, turn.state.options[index])
        turn.intent = "bad_option"
        return [self.reply(turn, self.content.text("no_such_option", turn.lang), keep=True)]

    def _worded_option(self, turn: Turn) -> list[Reply] | None:
        """An offered "more" (or the like) asked for in words: "more", "aur batao", "مزید".
        "More" asked for when none was offered is told so, rather than taken for a topic."""
        for prefix, words in WORDED_OPTIONS.items():
            if not actions.is_one_of(turn, self.content.words(words)):
                continue
            offered = [value for value in turn.state.options if value.startswith(f"{prefix}:")]
            if offered:
                return self.choose(turn, offered[0])
            if prefix == details_flow.PREFIX:
                turn.intent = "no_more"
                return [self.reply(turn, self.content.text("no_more", turn.lang), keep=True)]
        return None

    def _named_option(self, turn: Turn) -> list[Reply] | None:
        """The title of an option offered last, typed instead of its number, typos included
        ("complian to pta"): rapidfuzz against the titles in all three languages."""
        offered = [value for value in turn.state.options if value in self.content.intents]
        if not offered or turn.normalised.count(" ") >= NAMED_OPTION_WORDS:
            return None
        titles = {title: value for value in offered for title in self._titles[value]}
        found = process.extractOne(turn.normalised, list(titles), scorer=fuzz.ratio,
                                   score_cutoff=NAMED_OPTION_SCORE)
        return self.choose(turn, titles[found[0]]) if found else None

    def choose(self, turn: Turn, value: str) -> list[Reply]:
        """A picked option: an intent id, or an action's value such as 'lang:ur'."""
        intent = self.content.intents.get(value)
        if intent and (intent.action or intent.answer):  # a button may carry any value
            return self.answer_intent(turn, value)
        if turn.msg.group_link and value.startswith(PERSONAL_CHOICES):
            return self.private_only(turn)
        replies = actions.choose(turn, value)
        return replies if replies is not None else self.fallback(turn)

    def answer_match(self, turn: Turn, match: Match) -> list[Reply]:
        if match.intent:
            return self.answer_intent(turn, match.intent)
        if match.candidates:
            turn.intent = "clarify"
            options = self.intent_options(turn, match.candidates)
            return [self.reply(turn, self.content.text("clarify", turn.lang), options)]
        self.store.add_miss(turn.text, turn.lang, who=turn.tag)  # the store masks it
        return self.fallback(turn)

    def private_only(self, turn: Turn) -> list[Reply]:
        """In a group: lookups and anything about the person's data only in a private chat."""
        turn.intent = "private_only"
        text = self.content.text("private_only", turn.lang, link=turn.msg.group_link or "")
        return [self.reply(turn, text)]

    def answer_intent(self, turn: Turn, intent_id: str) -> list[Reply]:
        turn.intent = intent_id
        turn.state.pending = None
        intent = self.content.intents[intent_id]
        if intent.action in PERSONAL_ACTIONS and turn.msg.group_link:
            return self.private_only(turn)
        if intent.action:
            return actions.run(intent.action, turn, intent)
        return self.plain_answer(turn, intent)

    def plain_answer(self, turn: Turn, intent: Intent) -> list[Reply]:
        """The intent's answer as its file gives it (an action may fall back to it)."""
        intent_id = intent.id
        text = self.content.answer(intent_id, turn.lang, self.values(turn.lang))
        options = details_flow.more_option(turn, intent) + self.intent_options(turn, intent.options)
        return [feedback_flow.ask(turn, intent_id, self.reply(turn, text, options))]

    def fallback(self, turn: Turn) -> list[Reply]:
        turn.intent = turn.intent or "fallback"
        options = self.intent_options(turn, self.content.system["fallback_options"])
        return [self.reply(turn, self.content.text("fallback", turn.lang), options)]

    def intent_options(self, turn: Turn, intent_ids: tuple[str, ...] | list[str]) -> list[Option]:
        return [Option(self.content.title(i, turn.lang), i) for i in intent_ids]

    def reply(
        self, turn: Turn, text: str, options: list[Option] | None = None, keep: bool = False,
        **meta: str,
    ) -> Reply:
        """Build a reply and remember its options, so that a number can pick one next time."""
        options = options or []
        if not keep:
            turn.state.options = [o.value for o in options]
        hint = ""
        if options:
            numbers = [str(n) for n in range(1, len(options) + 1)]
            comma = self.content.system.get("comma", {}).get(turn.lang, ", ")  # Urdu writes "،"
            listed = numbers[0] if len(numbers) == 1 else (
                f"{comma.join(numbers[:-1])} {self.content.text('or', turn.lang)} {numbers[-1]}"
            )
            hint = self.content.text("options_hint", turn.lang, numbers=listed)
        return Reply(text, tuple(options), hint, turn.lang, turn.intent, meta)


def _tipline(store: Store, secret: bytes, retention: Retention) -> Tipline | None:
    """The tipline on the bot's store; None for a store it has no records in."""
    try:
        return Tipline(tipline_store(store), secret, retention=retention)
    except TypeError:
        return None


def _valid_unicode(msg: Incoming) -> Incoming:
    """Every text field as valid Unicode (see `valid_unicode`), whatever the channel sent."""
    fields = {name: valid for name, value in vars(msg).items()
              if isinstance(value, str) and (valid := valid_unicode(value)) != value}
    return replace(msg, **fields) if fields else msg
