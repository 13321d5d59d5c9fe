"""The "is this a scam?" conversation: the `scam_check` action, messages that are pasted or
forwarded without a question (checked all the same), calls and events described in the
person's own words (judged on what they describe), and "why?" for the rest of the reasons.

A verdict's first message stays short: at most two reasons, the strongest first, and the
rest on "why?" (a button whose value, like the pending question, carries flag ids only). A
pasted SMS gets a second message, the text to send to PTA's spam number, ready to copy: the
message alone, never the person's words around it. A described call is never quoted.

The message is checked in memory. What is kept: a fingerprint, a keyed hash of its text with
digits and links masked, so the bot can say how many other people checked the same message
this week (it holds no number, link or name from the message); and, for a message with red
flags or one of a group already kept, the tipline's group (tipline_flow.py): the text masked,
who forwarded it as keyed tags, and staff's verdict once they check it."""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from bot.config import keyed
from bot.content.load import Intent
from bot.dialogue import scam_text, tipline_flow
from bot.dialogue.messages import Option, Reply
from bot.dialogue.registry import CHOICES, INTERCEPTORS, PENDING, action, is_one_of
from bot.dialogue.scam_report import SENDER, report_text
from bot.dialogue.scam_text import PASTE, QUESTION, STORY, OwnWords, Reading
from bot.understanding.normalise import URL
from bot.understanding.redact import find_sensitive, redact
from bot.understanding.scam import ScamVerdict

if TYPE_CHECKING:
    from bot.dialogue.turn import Turn
    from bot.understanding.matcher import Match

INTENT = "scam_check"
SHARED = "shared_code"  # "I already gave the code": never a message to judge
PENDING_KEY = "scam_message"
WHY = "why"  # option value "why:flag_a,flag_b" and pending question "scam_why:flag_a,flag_b"
WHY_PENDING = "scam_why"
SHOWN_REASONS = 2  # reasons in a verdict's first message; the rest on "why?"
MAX_FIRST = 1000  # characters of a verdict's first message, before its options
# What media_flow puts before the verdict on a picture: the text read (at most 160 characters)
# and its label.
PICTURE_ROOM = 230
MAX_VALUE = 64  # bytes of an option's value (Telegram's callback_data limit)
# "N other people checked this message" is said only from this many: fewer could be one
# person (the sender) learning that the one they wrote to asked about it.
MIN_OTHERS = 5
NOTICE_WORDS = 5  # a code notice names its sender or says what the code is for
_ONE_TIME = re.compile(r"one[\s-]?time|\botp\b|او ?ٹی ?پی", re.IGNORECASE)  # "one-time password is 482913"
PASTE_OPTIONS = [SHARED, "report_fraud"]
STORY_OPTIONS = [SHARED, "report_fraud"]
CLEAN_OPTIONS = ["report_fraud", "phishing_tips"]


@action("scam_check")
def scam_check(turn: Turn, intent: Intent) -> list[Reply]:
    """Asked for a check: judge what came with the question, or ask for the message."""
    reading = _read(turn)
    rules = turn.bot.scam_rules
    if reading.kind == STORY:
        if scam_text.gave_code(turn.text, _own_words(turn)):  # "he called... and I gave it"
            return turn.bot.answer_intent(turn, SHARED)
        verdict = rules.check(turn.text)
        if verdict.flags:
            return _described(turn, verdict)
        return _ask(turn, intent, "scam_ask_more")
    if reading.kind == PASTE:
        verdict = rules.check(reading.message)
        if verdict.flags:
            return _report(turn, reading.message, verdict)
    return _ask(turn, intent, "scam_ask")


def _ask(turn: Turn, intent: Intent, key: str) -> list[Reply]:
    turn.state.pending = PENDING_KEY
    content = turn.bot.content
    text = f"{content.text(key, turn.lang)}\n{content.answer(intent.id, turn.lang)}"
    return [turn.bot.reply(turn, text, turn.bot.intent_options(turn, intent.options))]


def _pending(turn: Turn) -> list[Reply] | None:
    """The message the person was asked to paste (or the call to describe): judged whatever
    it says, unless it is clearly something else (a question the matcher knows, their own
    "I already gave the code")."""
    rules = turn.bot.scam_rules
    # what a screenshot says is a message as received, never the person's own story
    reading = _read(turn) if not turn.msg.media else \
        Reading(PASTE if scam_text.long_enough(turn.text) else QUESTION, turn.text)
    match = turn.bot.matcher.match(turn.text, turn.normalised)
    if reading.kind == STORY:
        if match.intent not in (None, INTENT):
            return None
        if scam_text.gave_code(turn.text, _own_words(turn)):
            return turn.bot.answer_intent(turn, SHARED)
        return _described(turn, rules.check(turn.text))
    if match.intent == SHARED or (match.intent not in (None, INTENT) and reading.kind != PASTE):
        return None
    message = reading.message if reading.kind == PASTE else turn.text
    return _report(turn, message, rules.check(message))


def forwarded(turn: Turn, match: Match) -> list[Reply] | None:
    """A pasted message with the marks of a scam is checked even if nobody asked: when it
    is clearly a scam, or when the matcher has nothing better for it. A story in the
    person's own words is theirs, not a message to judge."""
    if match.intent not in (None, INTENT) and not scam_text.long_enough(turn.text):
        return None  # a short question the matcher knows: no message in it (most messages)
    reading = _read(turn)
    if reading.kind == STORY:
        return _own_story(turn, match)
    if match.intent == SHARED:
        return None
    if reading.kind != PASTE:  # a real code notice is short: "482913 is your Easypaisa code"
        return _report(turn, reading.message, turn.bot.scam_rules.check(reading.message)) \
            if _real_code(turn, reading.message) else None
    verdict = turn.bot.scam_rules.check(reading.message)
    if verdict.flags and (verdict.verdict == "likely_scam" or match.intent in (None, INTENT)):
        return _report(turn, reading.message, verdict)
    if not verdict.flags and _real_code(turn, reading.message):
        return _report(turn, reading.message, verdict)
    if tipline_flow.confirmed_scam(turn, reading.message):  # staff said so: told, whatever else it reads as
        return _report(turn, reading.message, verdict)
    return None


def _own_story(turn: Turn, match: Match) -> list[Reply] | None:
    """A story in the person's own words: the intent the matcher chose answers it. When it
    has none, a code already given gets the shared_code answer and a clear scam described
    gets its verdict. A story that carries a code or a CNIC reaches here unmatched (the core
    takes it for a pasted scam first): "I gave him 482913" is still the person's own story."""
    secret = match.intent is None and bool(find_sensitive(turn.text))
    if secret:
        match = turn.bot.matcher.match(turn.text, turn.normalised)
    elif match.intent is not None:
        return None
    if match.intent == SHARED or (match.intent is None and scam_text.gave_code(turn.text, _own_words(turn))):
        return turn.bot.answer_intent(turn, SHARED)
    verdict = turn.bot.scam_rules.check(turn.text) if match.intent in (None, INTENT) else None
    if verdict and (match.intent == INTENT or verdict.verdict == "likely_scam"):
        return _described(turn, verdict)
    return None


def _report(turn: Turn, message: str, verdict: ScamVerdict) -> list[Reply]:
    """The verdict on a pasted or forwarded message; with red flags, a second message with
    the report for PTA's SMS number, ready to copy. When staff have checked a message of its
    group (the tipline), that comes first; "not a scam" takes the verdict's place."""
    bot, content, lang = turn.bot, turn.bot.content, turn.lang
    turn.intent, turn.state.pending = INTENT, None
    if not verdict.flags and _real_code(turn, message):
        return [bot.reply(turn, content.text("scam_real_code", lang), bot.intent_options(turn, [SHARED]))]
    others = _count_and_seen(turn, message)
    filed = tipline_flow.file(turn, message, verdict)
    staff = filed.verdict if filed else None
    if filed and staff == "not_scam":
        said = tipline_flow.staff_said(turn, filed)
        return [bot.reply(turn, said, bot.intent_options(turn, CLEAN_OPTIONS))]
    seen = [content.text("scam_seen_by_others", lang, count=str(others))] \
        if others >= MIN_OTHERS and not staff else []
    advice = content.text("scam_advice", lang)
    tell = tipline_flow.tell_option(turn, filed)
    if not verdict.flags and not staff:
        text = "\n\n".join([bot.scam_rules.describe(verdict, lang), *seen, advice])
        return [bot.reply(turn, text, tell + bot.intent_options(turn, CLEAN_OPTIONS))]
    # the scammer's number and words as received (PTA needs them), the person's own masked;
    # the copy held in the outbox until delivery has every number masked: none goes to disk
    report = report_text(message, turn.msg.verified_phone)
    how = "scam_report_sms" if report.startswith(f"{SENDER} ") else "scam_report_sms_known"
    after = [*seen, advice, content.text(how, lang), content.text("scam_report_call", lang)]
    said = tipline_flow.staff_said(turn, filed) if filed and staff else bot.scam_rules.describe(verdict, lang)
    text, hidden = _fit(turn, [said], _ranked(turn, verdict), after)
    first = bot.reply(turn, text, _options(turn, hidden, PASTE_OPTIONS, tell))
    copy = bot.reply(turn, report, keep=True)  # alone, so that it can be copied whole
    return [first, dataclasses.replace(copy, held_text=redact(report))]


def _described(turn: Turn, verdict: ScamVerdict) -> list[Reply]:
    """The verdict on a call or an event the person told in their own words: the same red
    flags, what to do about a call, and where a call is reported (9000 takes SMS only)."""
    bot, content, lang = turn.bot, turn.bot.content, turn.lang
    turn.intent, turn.state.pending = INTENT, None
    before = [content.text(f"scam_described_{verdict.verdict}", lang)]
    after = [content.text("scam_described_advice", lang), content.text("scam_report_described", lang)]
    text, hidden = _fit(turn, before, _ranked(turn, verdict), after)
    return [bot.reply(turn, text, _options(turn, hidden, STORY_OPTIONS))]


def _ranked(turn: Turn, verdict: ScamVerdict) -> list[str]:
    """The flags to explain, the strongest first (by weight; ties in the message's order),
    with flags that say the same thing (`same_reason`: the link flags) merged into the
    strongest of them."""
    weight = {flag.id: flag.weight for flag in turn.bot.scam_rules.flags}
    kept = list(verdict.flags)
    for group in _intent_data(turn, "same_reason") or []:
        present = [f for f in kept if f in group]
        if len(present) > 1:
            best = max(present, key=lambda f: (weight.get(f, 0.0), -group.index(f)))
            kept = [f for f in kept if f not in present or f == best]
    return sorted(kept, key=lambda f: -weight.get(f, 0.0))


def _fit(turn: Turn, before: list[str], ranked: list[str], after: list[str]) -> tuple[str, list[str]]:
    """The first message with as many reasons as fit (at most SHOWN_REASONS, within
    MAX_FIRST characters, what was read from a picture included), and the reasons left for
    "why?"."""
    budget = MAX_FIRST - (PICTURE_ROOM if turn.msg.media else 0)
    text = ""
    for shown in range(min(SHOWN_REASONS, len(ranked)), -1, -1):
        found = [_reasons(turn, "scam_flags_found", ranked[:shown])] if shown else []
        text = "\n\n".join([*before, *found, *after])
        if len(text) <= budget:
            return text, ranked[shown:]
    return text, ranked


def _reasons(turn: Turn, heading: str, flag_ids: list[str]) -> str:
    content, lang, rules = turn.bot.content, turn.lang, turn.bot.scam_rules
    lines = "\n".join(f"- {content.render(rules.explain(f, lang), lang)}" for f in flag_ids)
    return f"{content.text(heading, lang)}\n{lines}"


def _options(turn: Turn, hidden: list[str], intent_ids: list[str],
             tell: list[Option] | None = None) -> list[Option]:
    """A "why?" button for the reasons not shown (their flag ids, as many as a button's value
    holds; the pending question keeps them all, for a typed "why?"), "tell me when staff
    confirm" if offered, then the intents."""
    options = (tell or []) + turn.bot.intent_options(turn, intent_ids)
    if not hidden:
        return options
    turn.state.pending = f"{WHY_PENDING}:{','.join(hidden)}"
    value = f"{WHY}:{hidden[0]}"
    for flag_id in hidden[1:]:
        if len(f"{value},{flag_id}".encode()) > MAX_VALUE:
            break
        value = f"{value},{flag_id}"
    return [Option(turn.bot.content.text("scam_why_option", turn.lang), value), *options]


def _why(turn: Turn, flag_ids: list[str]) -> list[Reply] | None:
    """The reasons the verdict left out, named by flag id (never the message)."""
    known = {flag.id for flag in turn.bot.scam_rules.flags}
    flag_ids = [f for f in dict.fromkeys(flag_ids) if f in known]
    if not flag_ids:
        return None
    turn.intent, turn.state.pending = INTENT, None
    text = _reasons(turn, "scam_more_reasons", flag_ids)
    tell = tipline_flow.carried(turn)  # the offer made under the verdict stays
    return [turn.bot.reply(turn, text, tell + turn.bot.intent_options(turn, STORY_OPTIONS))]


def _why_chosen(turn: Turn, value: str) -> list[Reply] | None:
    return _why(turn, value.split(","))


def _why_typed(turn: Turn) -> list[Reply] | None:
    """"why?", "kyun", "کیوں" after a verdict with reasons left out."""
    if not is_one_of(turn, turn.bot.content.words("scam_why_words")):
        return None
    return _why(turn, turn.extra.get("pending", "").split(","))


def _real_code(turn: Turn, message: str) -> bool:
    """A one-time code as a bank, wallet or app sends it ("482913 is your Easypaisa code"):
    not the person's own words ("my otp is 4829"), nor a bare "pin: 1234"."""
    kind = find_sensitive(message)
    code = kind == "otp" or (kind == "password" and bool(_ONE_TIME.search(message)))
    return code and len(message.split()) >= NOTICE_WORDS and not scam_text.is_mine(message, _own_words(turn))


def _read(turn: Turn) -> Reading:
    """The message split into the person's words and what they pasted: whole, even past the
    core's cut (a scam placed after 4,096 harmless characters is still read)."""
    return scam_text.read(turn.whole or turn.text, _own_words(turn))


_compiled: tuple[Any, OwnWords] = (None, OwnWords())


def _own_words(turn: Turn) -> OwnWords:
    """The scam_check intent's `own_words`, compiled once per content."""
    global _compiled
    raw = _intent_data(turn, "own_words")
    if raw is not _compiled[0]:
        _compiled = (raw, scam_text.own_words(raw))
    return _compiled[1]


def _intent_data(turn: Turn, key: str) -> Any:
    intent = turn.bot.content.intents.get(INTENT)
    return intent.extra.get(key) if intent else None


def fingerprint(secret: bytes, text: str) -> str:
    """A keyed hash of the message with digits and links masked: the same scam sent from
    different numbers, with different codes or links, has one fingerprint."""
    masked = re.sub(r"\d+", "#", URL.sub("<link>", " ".join(text.casefold().split())))
    return keyed(secret, "scam", masked)


def _count_and_seen(turn: Turn, message: str) -> int:
    """Record that this person checked the message; how many others did this week."""
    bot = turn.bot
    print_ = fingerprint(bot.secret, message)
    # The person's tag (not their key): counted once each, and found by "delete my data".
    return bot.store.checked_message(print_, turn.tag)


PENDING[PENDING_KEY] = _pending
PENDING[WHY_PENDING] = _why_typed
CHOICES[WHY] = _why_chosen
INTERCEPTORS.append(forwarded)
