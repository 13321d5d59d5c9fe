"""Messages that carry a picture, a voice note, a video, a sticker or a location.

A picture arrives already read (the channel fetched it and the OCR pool read it): what was
read goes through the path of a pasted message. The scam check comes first, since a
screenshot is almost always "is this real?"; a caption is the person's own question and is
answered when the picture shows no red flag. The reply starts with what was read, masked,
so the person can see it was read right. Other attachments get a short answer saying what
the bot can read and how to ask instead."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from bot.dialogue import scam_flow
from bot.dialogue.messages import Reply
from bot.dialogue.registry import PENDING
from bot.understanding.redact import PASSWORD, find_sensitive, redact

if TYPE_CHECKING:
    from bot.dialogue.turn import Turn

MAX_READ = 4096  # what was read is cut like a typed message
MAX_SHOWN = 160  # characters of what was read shown back
# Why a picture was not read -> the text that says so.
PROBLEMS = {
    "too_large": "image_too_large",
    "too_many_pixels": "image_too_large",
    "busy": "image_busy",
    "timeout": "image_busy",
    "no_text": "image_no_text",
}


def respond(turn: Turn) -> list[Reply]:
    kind, problem = turn.msg.media, turn.msg.media_problem
    if not turn.text.strip() and not turn.state.lang and turn.msg.app_lang:
        turn.lang = turn.msg.app_lang  # nothing written yet: the language of the person's app
    if kind != "image" or problem:
        key = ("media_location" if kind == "location" else "media_unsupported") if kind != "image" \
            else PROBLEMS.get(problem or "", "image_unreadable")
        turn.intent = "media" if kind != "image" else "image_unread"
        return [turn.bot.reply(turn, turn.bot.content.text(key, turn.lang), keep=True)]
    read = turn.msg.media_text[:MAX_READ]
    caption = turn.text
    if not caption.strip() and not turn.state.lang:  # nothing of the person's own to go by
        turn.lang = turn.bot.matcher.normaliser.detect_language(read) or turn.lang
    replies = _answer(turn, read, caption)
    shown = redact(PASSWORD.sub("<password>", " ".join(read.split())))  # shown back and held: masked
    shown = shown if len(shown) <= MAX_SHOWN else f"{shown[:MAX_SHOWN].rstrip()}…"
    seen = turn.bot.content.text("image_read", turn.lang, text=shown)
    first = replies[0]
    held = f"{seen}\n\n{first.held_text}" if first.held_text is not None else None
    replies = [replace(first, text=f"{seen}\n\n{first.text}", held_text=held), *replies[1:]]
    sensitive = find_sensitive(read) or find_sensitive(caption)
    if sensitive:  # as for a typed secret: the channel deletes the person's message
        replies = [replace(r, meta={**r.meta, "sensitive": sensitive}) for r in replies]
    return replies


def _answer(turn: Turn, read: str, caption: str) -> list[Reply]:
    bot = turn.bot
    if caption.strip() and not bot.scam_rules.check(read).flags:
        match = bot.matcher.match(caption, turn.normalised)
        if match.intent and match.intent != scam_flow.INTENT:
            return bot.answer_intent(turn, match.intent)
    # From here on the message is what the picture says, as if the person had pasted it
    # after being asked to: it is checked whatever it says.
    turn.text, turn.normalised, turn.whole = read, bot.matcher.normaliser.normalise(read), None
    turn.state.pending = None
    replies = PENDING[scam_flow.PENDING_KEY](turn)
    if replies is not None:
        return replies
    match = bot.matcher.match(read, turn.normalised)  # a short text the matcher knows well
    return bot.answer_intent(turn, match.intent) if match.intent else bot.fallback(turn)
