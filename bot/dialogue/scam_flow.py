"""The "is this a scam?" conversation: the `scam_check` action, and messages that are pasted
or forwarded without a question, which are checked all the same.

The message is checked in memory. All that is kept is a fingerprint: a keyed hash of its
text with digits and links masked, so the bot can say how many other people checked the same
message this week. The fingerprint holds no number, link or name from the message."""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from bot.config import keyed
from bot.content.load import Intent
from bot.dialogue.messages import Reply
from bot.dialogue.registry import INTERCEPTORS, PENDING, action
from bot.dialogue.scam_report import report_text
from bot.understanding.normalise import URL
from bot.understanding.redact import redact
from bot.understanding.scam import ScamVerdict

if TYPE_CHECKING:
    from bot.dialogue.core import Turn
    from bot.understanding.matcher import Match

INTENT = "scam_check"
PENDING_KEY = "scam_message"
MIN_WORDS = 8  # shorter than this, a message is a question, not a pasted message
OPTIONS = ["report_fraud", "phishing_tips"]


@action("scam_check")
def scam_check(turn: Turn, intent: Intent) -> list[Reply]:
    verdict = turn.bot.scam_rules.check(_whole(turn))
    if _is_pasted(turn.text) and verdict.flags:
        return _report(turn, verdict)
    turn.state.pending = PENDING_KEY
    content = turn.bot.content
    text = f"{content.text('scam_ask', turn.lang)}\n{content.answer(intent.id, turn.lang)}"
    return [turn.bot.reply(turn, text, turn.bot.intent_options(turn, intent.options))]


def _whole(turn: Turn) -> str:
    """The message as the scam check reads it: whole, even past the core's cut."""
    return turn.whole or turn.text


def _is_pasted(text: str) -> bool:
    return len(text.split()) >= MIN_WORDS or bool(URL.search(text))


def _pending(turn: Turn) -> list[Reply] | None:
    """The message the person was asked to paste: checked whatever it says, unless it is
    clearly something else (a short question the matcher knows)."""
    match = turn.bot.matcher.match(turn.text, turn.normalised)
    if match.intent and match.intent != INTENT and not _is_pasted(turn.text):
        return None
    return _report(turn, turn.bot.scam_rules.check(_whole(turn)))


def forwarded(turn: Turn, match: Match) -> list[Reply] | None:
    """A pasted message with the marks of a scam is checked even if nobody asked: when it
    is clearly a scam, or when the matcher has nothing better for it."""
    if not _is_pasted(turn.text):
        return None
    verdict = turn.bot.scam_rules.check(_whole(turn))
    if verdict.verdict == "likely_scam" or (verdict.flags and match.intent in (None, INTENT)):
        return _report(turn, verdict)
    return None


def _report(turn: Turn, verdict: ScamVerdict) -> list[Reply]:
    bot, content, lang = turn.bot, turn.bot.content, turn.lang
    turn.intent, turn.state.pending = INTENT, None
    rules = bot.scam_rules
    parts = [rules.describe(verdict, lang)]
    if verdict.flags:
        found = "\n".join(f"- {content.render(line, lang)}" for line in rules.explanations(verdict, lang))
        parts.append(f"{content.text('scam_flags_found', lang)}\n{found}")
    others = _count_and_seen(turn)
    if others:
        parts.append(content.text("scam_seen_by_others", lang, count=str(others)))
    if not verdict.flags:
        parts.append(content.text("scam_advice", lang))
        return [bot.reply(turn, "\n\n".join(parts), bot.intent_options(turn, OPTIONS))]
    # the scammer's number and words as received (PTA needs them), the person's own masked;
    # the copy held in the outbox until delivery has every number masked: none goes to disk
    before, after = [*parts, content.text("scam_advice", lang)], [content.text("scam_report_call", lang)]
    report = report_text(turn.text, turn.msg.verified_phone)
    shown = [*before, f"{content.text('scam_report_sms', lang)}\n{report}", *after]
    held = [*before, f"{content.text('scam_report_sms', lang)}\n{redact(report)}", *after]
    reply = bot.reply(turn, "\n\n".join(shown), bot.intent_options(turn, OPTIONS))
    return [dataclasses.replace(reply, held_text="\n\n".join(held))]


def fingerprint(secret: bytes, text: str) -> str:
    """A keyed hash of the message with digits and links masked: the same scam sent from
    different numbers, with different codes or links, has one fingerprint."""
    masked = re.sub(r"\d+", "#", URL.sub("<link>", " ".join(text.casefold().split())))
    return keyed(secret, "scam", masked)


def _count_and_seen(turn: Turn) -> int:
    """Record that this person checked the message; how many others did this week."""
    bot = turn.bot
    print_ = fingerprint(bot.secret, turn.text)
    # The person's tag (not their key): counted once each, and found by "delete my data".
    return bot.store.checked_message(print_, turn.tag)


PENDING[PENDING_KEY] = _pending
INTERCEPTORS.append(forwarded)
