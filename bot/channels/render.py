"""Turning replies into plain text for channels without buttons (terminal, WhatsApp)."""

from __future__ import annotations

from bot.dialogue.messages import Reply


def numbered(reply: Reply) -> str:
    """The reply text, then its options as a numbered list and the "reply with a number" line,
    then the "did this help?" question when the reply asks it."""
    text = reply.text
    if reply.options:
        listed = "\n".join(f"{n}. {option.label}" for n, option in enumerate(reply.options, 1))
        text = f"{text}\n\n{listed}\n{reply.options_hint}"
    return with_feedback(reply, text)


def with_feedback(reply: Reply, text: str | None = None) -> str:
    """The text (the reply's own by default), then the "did this help?" question if it asks."""
    text = reply.text if text is None else text
    return f"{text}\n\n{reply.meta['feedback']}" if reply.meta.get("feedback") else text


def split(text: str, limit: int) -> list[str]:
    """Cut a long text into parts of at most `limit` characters, at paragraph breaks where
    possible, then at line breaks, then at spaces; never mid-word unless a word is longer."""
    parts: list[str] = []
    while len(text) > limit:
        window = text[: limit + 1]
        cut = max(window.rfind("\n\n"), 0) or max(window.rfind("\n"), 0) or max(window.rfind(" "), 0)
        if cut <= 0:
            cut = limit
        part = text[:cut].rstrip()
        if part:  # a text that starts with a space cut there: Telegram refuses an empty message
            parts.append(part)
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts
