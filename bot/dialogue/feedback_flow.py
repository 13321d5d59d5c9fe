""""Did this help? 👍 / 👎" after an answer, counted per intent and language only.

With buttons (Telegram) the question comes after every answer; in text channels (WhatsApp,
the terminal) after every third, so that it stays light. The person's state remembers which
intent the question was about, until their next message; the count itself is anonymous."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.dialogue.messages import Reply
from bot.dialogue.registry import CHOICES, INTERCEPTORS, PENDING, is_one_of

if TYPE_CHECKING:
    from bot.dialogue.turn import Turn
    from bot.understanding.matcher import Match

PENDING_PREFIX = "feedback"
EVERY = 3  # text channels ask after every third answer
THUMBS = {"👍": True, "👎": False}
THANKS = "thanks"  # the intent a stray 👍 is taken for


def ask(turn: Turn, intent_id: str, reply: Reply) -> Reply:
    """The reply, with the question added when it is time to ask about this intent."""
    if intent_id in turn.bot.content.system.get("feedback_skip", []):
        return reply
    turn.state.answers += 1
    if not turn.msg.has_buttons and turn.state.answers % EVERY:
        return reply
    turn.state.pending = f"{PENDING_PREFIX}:{intent_id}"
    key = "feedback_ask_buttons" if turn.msg.has_buttons else "feedback_ask"
    return replace(reply, meta={**reply.meta, "feedback": turn.bot.content.text(key, turn.lang)})


def _thumb(text: str) -> bool | None:
    """True for a bare 👍, False for a bare 👎 (any skin tone), else None."""
    bare = "".join(c for c in text if unicodedata.category(c) not in {"Sk", "Mn", "Cf"}
                   and not 0x1F3FB <= ord(c) <= 0x1F3FF).strip()  # skin tones, selectors
    return THUMBS.get(bare)


def verdict(turn: Turn) -> bool | None:
    """True for 👍 (or "it helped"), False for 👎 (or "not helpful"), None for anything else."""
    thumb = _thumb(turn.text)
    if thumb is not None:
        return thumb
    content = turn.bot.content
    if is_one_of(turn, content.words("feedback_up_words")):
        return True
    if is_one_of(turn, content.words("feedback_down_words")):
        return False
    return None


def _record(turn: Turn, intent_id: str, helpful: bool) -> list[Reply]:
    turn.intent = "feedback"
    if intent_id in turn.bot.content.intents:
        turn.bot.store.add_feedback(intent_id, turn.lang, helpful)
    return [turn.bot.reply(turn, turn.bot.content.text("feedback_thanks", turn.lang), keep=True)]


def _pending(turn: Turn) -> list[Reply] | None:
    helpful = verdict(turn)
    return None if helpful is None else _record(turn, turn.extra.get("pending", ""), helpful)


def _button(turn: Turn, value: str) -> list[Reply] | None:
    """A 👍 or 👎 button: counted only for the answer the question was last asked about, so
    pressing an old button, or the same one twice, counts nothing more."""
    if value not in {"up", "down"}:
        return None
    prefix, _, intent_id = (turn.state.pending or "").partition(":")
    turn.state.pending = None
    if prefix != PENDING_PREFIX:
        turn.intent = "feedback"
        return [turn.bot.reply(turn, turn.bot.content.text("feedback_thanks", turn.lang), keep=True)]
    return _record(turn, intent_id, value == "up")


def _stray_thumbs_up(turn: Turn, match: Match) -> list[Reply] | None:
    """A 👍 nobody asked for reads as thanks (the matcher sees no words in it)."""
    if match.intent is None and _thumb(turn.text) is True and THANKS in turn.bot.content.intents:
        return turn.bot.answer_intent(turn, THANKS)
    return None


PENDING[PENDING_PREFIX] = _pending
CHOICES[PENDING_PREFIX] = _button
INTERCEPTORS.append(_stray_thumbs_up)
