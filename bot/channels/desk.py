"""The staff side of the desk (bot/dialogue/desk_flow.py): the staff's Telegram supergroup with
topics (STAFF_TELEGRAM_CHAT_ID), one topic a case, and the relay of staff replies to the
person on their own channel.

Bot API methods (core.telegram.org/bots/api), through python-telegram-bot; the bot must be an
administrator of the group with `can_manage_topics` (and `can_delete_messages` to delete a
topic):
- `createForumTopic(chat_id, name)` → a ForumTopic with its `message_thread_id`;
- `sendMessage(chat_id, message_thread_id, text)`: a post in the topic;
- `closeForumTopic(chat_id, message_thread_id)`, `deleteForumTopic(chat_id, message_thread_id)`.

Only updates from the staff group come here, and of those only messages in a topic, from a
member (not a bot; an anonymous admin posts as the group itself). The person is never named to
staff: posts are new messages of the bot, never forwards (a forward would carry the sender).

Relay: Telegram `sendMessage` to the person's chat; WhatsApp through Twilio's Messages API,
free text inside the 24-hour window, else the template TWILIO_DESK_CONTENT_SID ({{1}}: the
case number) asking the person to reply, as the breach-alert sender does. The service runs
`tick` every few seconds: wait notices, and the topics of cases past their retention deleted."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from telegram import Bot as TelegramBot
from telegram import Update
from telegram.error import BadRequest, TelegramError

from bot.channels.render import numbered, split, with_feedback
from bot.channels.twilio_api import TwilioApi, TwilioError
from bot.config import Settings
from bot.dialogue import desk_flow
from bot.dialogue.core import Bot, Outcome
from bot.dialogue.desk import Relay, StaffMessage, StaffPost, StaffResult
from bot.ops.work_queue import WorkQueue

log = logging.getLogger("mehfooz.desk")
TELEGRAM_MAX, WHATSAPP_MAX = 4096, 1600
TICK_MAX = 15.0  # seconds between two looks at waits and expired cases


class TelegramDesk:
    def __init__(self, core: Bot, telegram: TelegramBot, staff_chat: int, work: WorkQueue,
                 twilio: TwilioApi | None = None, content_sids: dict[str, str] | None = None):
        self.core, self.telegram, self.staff_chat, self.work = core, telegram, staff_chat, work
        self.twilio = twilio if twilio is not None and twilio.configured else None
        self.content_sids = content_sids or {}

    # --- to the staff group ---
    async def post(self, outcome: Outcome) -> Outcome:
        """Post what a person's message gave for staff, in order, before the person's replies
        go; a post the group refused is said to the person (an unopened case replaces the
        "connected" reply)."""
        replies = list(outcome.replies)
        for post in outcome.staff:
            try:
                await self._post(post)
            except Exception as exc:  # the Bot API, or the store while noting the topic
                log.warning("desk: %s post not taken: %s", post.kind, type(exc).__name__)
                try:
                    said = await self.work.call(desk_flow.not_posted, self.core, post, outcome.lang)
                except Exception:  # the person's replies must still go out
                    log.exception("desk: could not record a post not taken")
                    continue
                replies = said if post.kind == "open" else replies + said
        return replace(outcome, replies=replies) if replies != outcome.replies else outcome

    async def _post(self, post: StaffPost) -> None:
        chat = self.staff_chat
        if post.kind == "erase":
            if post.topic:
                await self.telegram.delete_forum_topic(chat, int(post.topic))
            return
        topic = post.topic
        if post.kind == "open":
            created = await self.telegram.create_forum_topic(chat, post.title)
            topic = str(created.message_thread_id)
            await self.work.call(self._cases().set_topic, post.case, topic)
        elif topic is None:  # made after the message that posts was handled: look again
            case = await self.work.call(self._cases().get, post.case)
            topic = case.topic if case else None
        if topic is None:
            raise LookupError(f"case {post.case} has no topic")
        for part in split(post.text, TELEGRAM_MAX):
            await self.telegram.send_message(chat, part, message_thread_id=int(topic))
        if post.kind == "close":
            try:
                await self.telegram.close_forum_topic(chat, int(topic))
            except BadRequest as exc:  # closed in the app already: the note says it all
                log.info("desk: topic not closed: %s", exc.message)

    def _cases(self):  # noqa: ANN202 - the CaseStore of the core's desk
        assert self.core.desk is not None
        return self.core.desk.cases

    # --- from the staff group ---
    def read(self, update: Update) -> StaffMessage | None:
        """A staff member's message in a topic of the staff group, or None (anything else)."""
        message = update.message  # not an edit: an edited reply was relayed as first written
        if message is None or message.chat.id != self.staff_chat:
            return None
        as_group = message.sender_chat is not None and message.sender_chat.id == self.staff_chat
        if message.sender_chat is not None and not as_group:  # a channel posting into the group
            return None
        if not as_group and (message.from_user is None or message.from_user.is_bot):
            return None
        if not message.is_topic_message or message.message_thread_id is None:
            return None
        closed_in_app = message.forum_topic_closed is not None
        text = message.text or ""
        command = text.split(maxsplit=1)[0].split("@")[0].lower() if text.startswith("/") else ""
        if command and command != "/close":  # another command, for another bot or for nobody
            return None
        attached = message.effective_attachment is not None
        if not text and not closed_in_app and not attached:
            return None  # a service message: a topic made or renamed, a pin...
        return StaffMessage(str(message.message_thread_id), "" if command else text, str(update.update_id),
                            close=bool(command) or closed_in_app, closed_in_app=closed_in_app,
                            other=not text and attached)

    async def on_update(self, update: Update) -> None:
        staff = self.read(update)
        if staff is None:
            return
        result = await self.work.call(desk_flow.from_staff, self.core, staff)
        if result is not None:
            await self.deliver(result)

    async def deliver(self, result: StaffResult) -> None:
        """The relay to the person first, then the notes to staff (what became of it among them)."""
        posts = list(result.posts)
        if result.relay is not None:
            note = await self.relay(result.relay)
            if note:
                posts.append(StaffPost(result.relay.case, "text", note))
        for post in posts:
            try:
                await self._post(post)
            except (TelegramError, LookupError) as exc:
                log.warning("desk: note not posted: %s", type(exc).__name__)

    # --- to the person ---
    async def relay(self, relay: Relay) -> str | None:
        """Send replies to the person on their channel; a note for staff when they did not go
        as sent (held for WhatsApp's window, refused)."""
        try:
            if relay.channel == "telegram":
                for reply in relay.replies:
                    for part in split(with_feedback(reply), TELEGRAM_MAX):
                        await self.telegram.send_message(int(relay.address), part)
                return None
            if relay.channel == "whatsapp" and self.twilio is not None:
                return await self._whatsapp(relay)
        except (TelegramError, TwilioError, ValueError) as exc:
            log.info("desk: relay to %s refused: %s", relay.channel, type(exc).__name__)
        return desk_flow.staff_text(self.core, "desk_staff_undelivered")

    async def _whatsapp(self, relay: Relay) -> str | None:
        assert self.twilio is not None
        if relay.template:
            sid = self.content_sids.get(relay.lang) or self.content_sids.get("*")
            if not sid:
                return desk_flow.staff_text(self.core, "desk_staff_held_no_template")
            await self.twilio.send(relay.address, content_sid=sid, variables={"1": str(relay.case)})
            return desk_flow.staff_text(self.core, "desk_staff_held")
        async with self.twilio.client() as client:
            for reply in relay.replies:
                for part in split(numbered(reply), WHATSAPP_MAX):
                    await self.twilio.send(relay.address, part, client=client)
        return None

    # --- the clock ---
    async def tick(self) -> None:
        """Tell people who wait too long; delete the topics of cases past their retention."""
        for result in await self.work.call(desk_flow.due_waits, self.core):
            await self.deliver(result)
        for case in await self.work.call(desk_flow.expired, self.core):
            if case.topic:
                try:
                    await self.telegram.delete_forum_topic(self.staff_chat, int(case.topic))
                except BadRequest as exc:  # deleted by staff already: nothing left to delete
                    log.info("desk: topic of an expired case not deleted: %s", exc.message)
                except TelegramError:
                    continue  # the Bot API is away: next time
            await self.work.call(self._cases().anonymise, case)

    async def run_every(self, seconds: float) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # a locked database or a bug must not stop the service
                log.exception("desk: tick failed; will try again")
            await asyncio.sleep(seconds)


def staff_chat_of(settings: Settings, core: Bot) -> int | None:
    """STAFF_TELEGRAM_CHAT_ID as a chat id, when the core has a desk (else None, said in the log)."""
    if core.desk is None:
        if settings.staff_chat_id:
            log.error("desk: off, BOT_ALERTS_KEY is needed to encrypt the relay addresses")
        return None
    try:
        return int(settings.staff_chat_id)
    except ValueError:
        log.error("desk: off, STAFF_TELEGRAM_CHAT_ID is not a chat id (a number such as -100...)")
        return None


def tick_every(wait_minutes: float) -> float:
    """How often to look: often enough that a wait is told within a third of it."""
    return max(0.2, min(TICK_MAX, wait_minutes * 60 / 3))
