"""Telegram, through python-telegram-bot: handlers that turn updates into `Incoming` and
replies into messages with inline keyboards. Used by the webhook and by long polling."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.channels.desk import TelegramDesk
from bot.channels.followups import settle
from bot.channels.media import MediaReader
from bot.channels.render import split, with_feedback
from bot.channels.telegram_http import AiohttpRequest
from bot.dialogue.core import Bot, Outcome
from bot.dialogue.messages import Incoming, Reply
from bot.ops import logs
from bot.ops.metrics import Metrics
from bot.ops.work_queue import WorkQueue
from bot.state.sqlite_store import StoreBusy

# Replies go out through `do_api_request`, which returns the raw answer instead of a parsed
# Message (parsing cost more than sending); the library warns that sendMessage exists.
warnings.filterwarnings("ignore", message="Please use 'Bot.sendMessage'", category=PTBUserWarning)

# python-telegram-bot logs each call's parameters (user ids, reply texts) at DEBUG: never that.
for _name in ("telegram.Bot", "telegram.ext.ExtBot"):
    logs.quiet(_name, logging.INFO)

CHANNEL = "telegram"
MAX_MESSAGE = 4096
POOL_SIZE = 16  # connections to the Bot API
# Commands and the core behaviour each one stands for (an intent id or an action's option).
COMMANDS = {
    "start": "greeting",
    "help": "menu",
    "language": "language",
    "privacy": "bot_privacy",
    "delete": "delete:ask",
    "alerts": "breach_alerts",
}
log = logging.getLogger(__name__)
# The webhook request being processed: its handler writes what became of the update here. Per
# request, not per update_id, so that a duplicate of the update cannot overwrite it.
_HANDLED: ContextVar[list[Handled]] = ContextVar("handled")


@dataclass(frozen=True)
class Handled:
    """What became of one webhook update: `busy` (the database was locked: nothing done), or
    its outcome, whether the replies went out, and the reply to give in the response."""

    outcome: Outcome | None = None
    sent: bool = False
    inline: dict[str, Any] | None = None
    busy: bool = False


class TelegramChannel:
    def __init__(self, core: Bot, token: str, api_url: str, metrics: Metrics | None = None,
                 polling: bool = False, inline: bool = False, work: WorkQueue | None = None,
                 media: MediaReader | None = None, staff_chat: int | None = None):
        builder = (ApplicationBuilder().token(token).base_url(f"{api_url}/bot")
                   .base_file_url(f"{api_url}/file/bot")
                   .request(AiohttpRequest(POOL_SIZE)).get_updates_request(AiohttpRequest(1)))
        if not polling:
            builder = builder.updater(None)
        self.app: Application = builder.build()
        self.core = core
        self.metrics = metrics
        self.polling = polling
        self.work = work or WorkQueue()
        self.media = media or MediaReader()  # pictures: fetched with getFile, read off the loop
        self.file_prefix = f"{api_url}/file/bot{token}/"
        # Webhook mode with `inline`: a one-message reply goes back in the webhook's response
        # (the Bot API runs a method given there), which saves a request to the Bot API.
        self.inline = inline and not polling
        # The desk's staff group (bot/channels/desk.py, set as `desk` by the service): everything
        # from it goes there, first, and never to the core as a person's message.
        self.desk: TelegramDesk | None = None
        if staff_chat is not None:
            self.app.add_handler(MessageHandler(filters.Chat(chat_id=staff_chat), self.on_staff))
        for command, value in COMMANDS.items():
            self.app.add_handler(CommandHandler(command, self._command(value)))
        self.app.add_handler(CallbackQueryHandler(self.on_button))
        self.app.add_handler(MessageHandler(filters.CONTACT, self.on_contact))
        self.app.add_handler(MessageHandler(~filters.COMMAND, self.on_message))

    async def process(self, update: Update) -> Handled | None:
        """Webhook mode: handle one update; what became of it (None: nothing to answer), for
        the route to choose between 200 and a 503 that asks Telegram for it again."""
        record: list[Handled] = []
        token = _HANDLED.set(record)
        try:
            await self.app.process_update(update)
        finally:
            _HANDLED.reset(token)
            _forget_ids_marked_for_persistence(self.app)
        return record[-1] if record else None

    async def on_staff(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if self.desk is None:
            return
        try:
            await self.desk.on_update(update)
        except StoreBusy:
            _record(Handled(busy=True))
            raise

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or update.effective_user is None:
            return
        text = message.text or message.caption or ""

        async def attach(incoming: Incoming) -> Incoming:
            async def admit() -> bool:  # a picture counts in the rate limit before it is fetched
                nonlocal incoming
                incoming = await self.work.core(self.core.count_ahead, incoming)
                return not self.core.over_limit(incoming)

            attachment = await self.media.telegram(message, self.app.bot, self.file_prefix, admit)
            return replace(incoming, **attachment.fields()) if attachment is not None else incoming

        await self._answer(update, self._incoming(update, text=text), attach)

    async def on_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A shared contact vouches for a number only when it is the sender's own account."""
        message, user = update.effective_message, update.effective_user
        if message is None or message.contact is None or user is None:
            return
        own = message.contact.user_id == user.id
        await self._answer(update, self._incoming(
            update, verified_phone=message.contact.phone_number if own else None,
            shared_contact="own" if own else "other",
        ))

    def _command(self, value: str):  # noqa: ANN202 - a PTB callback
        async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            if update.effective_user and update.effective_message:
                text = update.effective_message.text or ""
                await self._answer(update, self._incoming(update, text=text, choice=value))

        return on_command

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        await query.answer()
        if query.data and update.effective_user:
            await self._answer(update, self._incoming(update, choice=query.data))

    def _incoming(self, update: Update, text: str = "", choice: str | None = None,
                  **verified: str | None) -> Incoming:
        assert update.effective_user is not None
        verified = {key: _text(value) or None for key, value in verified.items()}
        chat = update.effective_chat
        group = chat is not None and chat.type != chat.PRIVATE
        return Incoming(CHANNEL, _text(str(update.effective_user.id)), _text(text),
                        choice=_text(choice) or None, message_id=str(update.update_id),
                        can_share_contact=not group, has_buttons=True,
                        app_lang=app_language(update.effective_user.language_code),
                        group_link=self._private_link() if group else None, **verified)

    def _private_link(self) -> str:
        """A link that opens a private chat with the bot (its username comes from getMe)."""
        try:
            return f"https://t.me/{self.app.bot.username}"
        except RuntimeError:  # not initialised (no getMe yet): the text still says where to go
            return "https://t.me/"

    async def _answer(self, update: Update, incoming: Incoming,
                      attach: Callable[[Incoming], Awaitable[Incoming]] | None = None) -> None:
        """The core in a thread, the person's messages one at a time: the event loop never
        waits on the database or HIBP, and a duplicate waits until the first is delivered.
        `attach` fetches and reads a picture in the person's turn (one at a time each)."""
        who = f"{CHANNEL}:{incoming.user_id}"
        async with self.work.person(who):
            if attach is not None:
                incoming = await attach(incoming)
            try:
                outcome: Outcome = await self.work.core(self.core.handle, incoming)
            except StoreBusy:
                _record(Handled(busy=True))
                raise
            chat = update.effective_chat
            send_later = partial(self._send_replies, chat.id) if chat is not None else None
            outcome = replace(outcome, replies=await settle(self.work, who, outcome, send_later))
            if outcome.staff and self.desk is not None:  # to the staff group first, in the person's turn
                outcome = await self.desk.post(outcome)
            await self._deliver(update, outcome)

    async def _deliver(self, update: Update, outcome: Outcome) -> None:
        if self.metrics:
            self.metrics.handled(CHANNEL, outcome.status, outcome.intent)
        payload = self._inline(update, outcome) if self.inline else None
        if payload is not None:  # delivered with the response: the route confirms it then
            _record(Handled(outcome, sent=True, inline=payload))
            return
        _record(Handled(outcome))
        if update.effective_chat is not None:
            try:
                await self._send(update, outcome)
            except Exception:
                await self.work.core(self.core.undelivered, outcome)
                raise
        await self.work.core(self.core.delivered, outcome)
        _record(Handled(outcome, sent=True))

    def _inline(self, update: Update, outcome: Outcome) -> dict[str, Any] | None:
        """The sendMessage call for the webhook's response, when the whole answer is one
        message and nothing else must happen (no message to delete)."""
        if update.effective_chat is None or len(outcome.replies) != 1:
            return None
        (reply,) = outcome.replies
        text = with_feedback(reply)
        if reply.meta.get("sensitive") or len(text) > MAX_MESSAGE:
            return None
        markup = keyboard(reply)
        return {"method": "sendMessage", "chat_id": update.effective_chat.id, "text": text,
                **({"reply_markup": markup} if markup else {})}

    async def _send(self, update: Update, outcome: Outcome) -> None:
        assert update.effective_chat is not None
        if update.effective_message and any(r.meta.get("sensitive") for r in outcome.replies):
            await _try(update.effective_message.delete())
        await self._send_replies(update.effective_chat.id, outcome.replies)

    async def _send_replies(self, chat_id: int, replies: list[Reply]) -> None:
        for reply in replies:
            parts = split(with_feedback(reply), MAX_MESSAGE)
            for number, part in enumerate(parts, 1):
                markup = keyboard(reply) if number == len(parts) else None
                # The raw call: the library would parse the answer into a Message, which costs
                # more than sending it, and nothing here reads it.
                await self.app.bot.do_api_request("sendMessage", api_kwargs={
                    "chat_id": chat_id, "text": part, "reply_markup": markup})


def _record(handled: Handled) -> None:
    """Tell the webhook request what became of its update (long polling has no request)."""
    record = _HANDLED.get(None)
    if record is not None:
        record.append(handled)


def keyboard(reply: Reply) -> dict[str, Any] | None:
    """Options as an inline keyboard, one button a row; the button's data is the value. A reply
    that asks for the person's own number gets Telegram's share-contact button instead. Plain
    dicts in the Bot API's shape: the library's markup objects cost 75 µs a reply to build and
    turn back into dicts."""
    if reply.meta.get("ask_contact"):
        button = {"text": reply.meta["ask_contact"], "request_contact": True}
        return {"keyboard": [[button]], "resize_keyboard": True, "one_time_keyboard": True}
    rows = [[{"text": o.label, "callback_data": o.value[:64]}] for o in reply.options]
    if reply.meta.get("feedback"):
        rows.append([{"text": thumb, "callback_data": f"feedback:{value}"}
                     for thumb, value in (("👍", "up"), ("👎", "down"))])
    return {"inline_keyboard": rows} if rows else None


def _text(value: object) -> str:
    """A text field of an update as the core can take it: Telegram sends strings, but a broken
    update may hold a number or a list (the core makes lone surrogates valid itself)."""
    return value if isinstance(value, str) else ""


def app_language(code: object) -> str | None:
    """The language of the person's Telegram app ("ur", "en-GB"), if it is one we answer in:
    used for the first greeting, until the person writes."""
    if not isinstance(code, str):
        return None
    base = code.split("-")[0].lower()
    return base if base in {"en", "ur"} else None


async def _try(call) -> None:  # noqa: ANN001 - any awaitable Bot API call
    try:
        await call
    except TelegramError as exc:  # e.g. the message is too old to delete: say so, go on
        log.info("telegram call failed: %s", exc)


def _forget_ids_marked_for_persistence(app: Application) -> None:
    """python-telegram-bot (22.x) notes every chat and user id it handles for its persistence
    and empties those sets only when a persistence saves them. We use none, so the sets grew
    with every person who ever wrote (a soak: about 7 MB in 10 minutes), and kept their ids in
    memory for the life of the process."""
    if app.persistence is None:
        for name in ("_chat_ids_to_be_updated_in_persistence", "_user_ids_to_be_updated_in_persistence"):
            ids = getattr(app, name, None)
            if isinstance(ids, set):
                ids.clear()
