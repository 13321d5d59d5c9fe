"""What flows between the channel adapters and the core: channel-agnostic messages."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Incoming:
    """One message from a person.

    `user_id` is the channel's own id (hashed before anything is stored). `choice` is an
    option value the person picked with a button. `verified_phone` is the person's own
    number as the channel vouches for it (WhatsApp sender, Telegram shared contact).
    """

    channel: str
    user_id: str
    text: str = ""
    choice: str | None = None
    verified_phone: str | None = None
    message_id: str | None = None
    can_share_contact: bool = False  # the channel can send a verified contact (Telegram)
    has_buttons: bool = False  # the channel shows option buttons (Telegram), not a numbered list
    shared_contact: str | None = None  # 'own' or 'other': a contact the person shared
    group_link: str | None = None  # came in a group chat: a link to a private chat with the bot
    app_lang: str | None = None  # the language of the person's app, if one we answer in
    # An attachment: its kind ('image', 'voice', 'audio', 'video', 'sticker', 'location',
    # 'file'), the text read from a picture (`text` is then its caption), or why it was not
    # read ('too_large', 'no_text'...). See bot/channels/media.py.
    media: str | None = None
    media_text: str = ""
    media_problem: str | None = None
    # The rate limit's count for this message when the channel counted it ahead of `handle`
    # (a picture, before it is fetched and read: `Bot.count_ahead`); None: `handle` counts it.
    rate_count: int | None = None


@dataclass(frozen=True)
class Option:
    label: str
    value: str


@dataclass(frozen=True)
class Reply:
    """One reply. Adapters render `options` as buttons or a numbered list; `options_hint`
    is the "reply with a number" line, in the person's language, for list renderings."""

    text: str
    options: tuple[Option, ...] = ()
    options_hint: str = ""
    lang: str = "en"
    intent: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    # What the outbox holds for a re-delivery, when the text may not be stored as sent: a
    # quoted scam keeps the scammer's number for the person, but no number goes to disk.
    held_text: str | None = field(default=None, compare=False)


def replies_to_json(replies: list[Reply]) -> str:
    """Replies as JSON, to hold them until the channel has delivered them."""
    # By hand: dataclasses.asdict deep-copies and cost more than handling the message.
    return json.dumps([
        {"text": r.held_text or r.text, "options": [[o.label, o.value] for o in r.options],
         "options_hint": r.options_hint, "lang": r.lang, "intent": r.intent, "meta": r.meta}
        for r in replies
    ], ensure_ascii=False)


def replies_from_json(data: str) -> list[Reply]:
    return [
        Reply(**{**item, "options": tuple(Option(label, value) for label, value in item["options"])})
        for item in json.loads(data)
    ]
