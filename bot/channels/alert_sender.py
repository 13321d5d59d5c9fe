"""Delivering what was queued to be told later: breach alerts (bot/breaches/alerts.py) and the
tipline's follow-ups (staff's verdict on a scam, bot/channels/tipline_queue.py). Telegram's
sendMessage through python-telegram-bot, WhatsApp through Twilio's Messages API (an approved
content template when one is set, since these usually come outside the 24-hour session window
in which free text is allowed).

`python -m bot alerts send` runs `AlertSender.run` once; the web service runs `send_due`
every minute. Messages are claimed a few at a time by one sender, under a lease that a sender
started after a crash takes back (bot/breaches/alerts.py); a
refusal that may pass (Telegram 429 or 5xx, a network error, Twilio 429 or 5xx) puts it back
in the queue for later, Telegram's `retry_after` exactly and with every Telegram send paused
for that long; past five tries, or on a refusal that will not pass (the person blocked the
bot), it has failed. Each queue (`Queue`) says what its messages say."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from telegram import Bot as TelegramBot
from telegram.error import BadRequest, Forbidden, RetryAfter

from bot.breaches.alerts import AlertStore, Due
from bot.channels.render import split
from bot.channels.twilio_api import TwilioApi, TwilioError
from bot.config import Settings
from bot.content.load import Content
from bot.ops import logs

log = logging.getLogger("mehfooz.alerts")
for _name in ("telegram.Bot", "telegram.ext.ExtBot"):  # they log chat ids and texts at DEBUG
    logs.quiet(_name, logging.INFO)

INTENT = "breach_alerts"  # the intent file that holds the alert's text
BATCH = 5  # alerts claimed at a time, under a lease: what a sender that dies holds back, briefly
PER_SECOND = {"telegram": 25.0, "whatsapp": 20.0}  # under Telegram's ~30/s across chats
BACKOFF = 60.0  # seconds before the first retry, doubled each time, at most an hour
WHATSAPP_MAX = 1600  # characters in one WhatsApp message through Twilio


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def add(self, other: SendReport) -> None:
        self.sent, self.retried, self.failed = (self.sent + other.sent, self.retried + other.retried,
                                                self.failed + other.failed)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Outgoing(Protocol):
    """One message a queue hands the sender: its address decrypted, only in memory."""

    id: Any
    channel: str
    address: str
    lang: str
    attempts: int


class Queue(Protocol):
    """What the sender delivers from: breach alerts (`BreachAlerts`), staff's verdicts for the
    people who asked (`bot/channels/tipline_queue.py`). Each claims a few due messages for one
    sender, is told how each went, and says what each one says."""

    def purge(self, now: float) -> None: ...

    def claim(self, limit: int, now: float) -> list[Any]: ...

    def start(self, item: Any, now: float) -> bool:
        """The item is going now: False when the claim is no longer this sender's."""

    def sent(self, item: Any) -> None: ...

    def later(self, item: Any, due: float, count: bool = True) -> bool:
        """Back in the queue until `due`; False when that was its last try (it has failed)."""

    def failed(self, item: Any) -> None: ...

    def next_due(self) -> float | None: ...

    def text(self, item: Any, content: Content) -> str: ...

    def template(self, item: Any, content: Content, now: float) -> tuple[str, dict[str, str]] | None:
        """The WhatsApp content template and its variables, or None for free text."""


class AlertSender:
    """Delivers what the queues hold: `store` (breach alerts, None when alerts are off) and
    `queues` (others: the tipline's follow-ups)."""

    def __init__(self, store: AlertStore | None, content: Callable[[], Content], telegram: TelegramBot | None,
                 twilio: TwilioApi | None, content_sids: dict[str, str] | None = None,
                 backoff: float = BACKOFF, clock: Callable[[], float] = time.time,
                 queues: tuple[Queue, ...] = ()):
        self.content, self.telegram, self.twilio = content, telegram, twilio
        alerts: tuple[Queue, ...] = (BreachAlerts(store, content_sids or {}),) if store is not None else ()
        self.queues = alerts + tuple(queues)
        self.backoff, self.clock = backoff, clock
        self.paused_until: dict[str, float] = {}  # channel -> clock time it may send again
        self._last: dict[str, float] = {}  # channel -> monotonic time of its last send

    async def run(self, wait: float = 0.0) -> SendReport:
        """Send what is due, then what falls due within `wait` seconds (retries, a pause)."""
        report, deadline = SendReport(), self.clock() + wait
        while True:
            report.add(await self.send_due())
            upcoming = min((d for q in self.queues if (d := q.next_due()) is not None), default=None)
            if upcoming is None or upcoming > deadline:
                return report
            await asyncio.sleep(max(0.0, upcoming - self.clock()))

    async def send_due(self) -> SendReport:
        """Claim and send what is due in each queue, a batch at a time, until none is due."""
        report = SendReport()
        for queue in self.queues:
            queue.purge(self.clock())
            while batch := queue.claim(BATCH, self.clock()):
                left = list(batch)
                try:
                    while left:
                        if not queue.start(left[0], self.clock()):  # the lease ran out: not ours now
                            left.pop(0)
                            continue
                        outcome = await self._deliver(queue, left[0])
                        left.pop(0)
                        setattr(report, outcome, getattr(report, outcome) + 1)
                finally:  # stopped mid-batch: the claimed items not yet tried go back, untouched
                    for item in left[1:] if left else []:
                        queue.later(item, self.clock(), count=False)
        return report

    async def _deliver(self, queue: Queue, item: Outgoing) -> str:
        """Send one message; 'sent', 'retried' or 'failed', as recorded in its queue."""
        now = self.clock()
        if now < self.paused_until.get(item.channel, 0.0):  # Telegram said to wait: not a try
            queue.later(item, self.paused_until[item.channel], count=False)
            return "retried"
        try:
            await self._pace(item.channel)
            if item.channel == "telegram":
                await self._telegram(queue, item)
            elif item.channel == "whatsapp":
                await self._whatsapp(queue, item)
            else:
                raise Permanent(f"no sender for channel {item.channel}")
        except Wait as wait:
            self.paused_until[item.channel] = self.clock() + wait.seconds
            queue.later(item, self.clock() + wait.seconds, count=False)
            log.info("%s asks to wait %.0f s before sending more", item.channel, wait.seconds)
            return "retried"
        except Permanent as exc:
            log.info("message %s failed: %s", item.id, exc)
            queue.failed(item)
            return "failed"
        except Exception as exc:  # a refusal that may pass: later, with backoff
            log.info("message %s not sent (try %s): %s", item.id, item.attempts, type(exc).__name__)
            delay = min(self.backoff * 2 ** (item.attempts - 1), 3600.0)
            return "retried" if queue.later(item, self.clock() + delay) else "failed"
        queue.sent(item)
        return "sent"

    async def _pace(self, channel: str) -> None:
        gap = 1.0 / PER_SECOND.get(channel, 10.0)
        wait = self._last.get(channel, 0.0) + gap - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last[channel] = time.monotonic()

    async def _telegram(self, queue: Queue, item: Outgoing) -> None:
        if self.telegram is None:
            raise RuntimeError("TELEGRAM_BOT_TOKEN is not set here")  # retried: set it and run again
        try:
            await self.telegram.send_message(chat_id=int(item.address), text=queue.text(item, self.content()))
        except RetryAfter as exc:
            raise Wait(_seconds(exc)) from None
        except (Forbidden, BadRequest) as exc:  # blocked by the person, chat gone: will not pass
            raise Permanent(type(exc).__name__) from None

    async def _whatsapp(self, queue: Queue, item: Outgoing) -> None:
        if self.twilio is None or not self.twilio.configured:
            raise RuntimeError("Twilio is not configured here")
        content = self.content()
        template = queue.template(item, content, self.clock())
        try:
            if template:
                await self.twilio.send(item.address, content_sid=template[0], variables=template[1])
                return
            for number, part in enumerate(split(queue.text(item, content), WHATSAPP_MAX)):
                try:
                    await self.twilio.send(item.address, body=part)
                except TwilioError as exc:  # a part went out already: never send it twice
                    if number:
                        raise Permanent(f"part {number + 1}: {exc}") from None
                    raise
        except TwilioError as exc:
            if not exc.retry:
                raise Permanent(str(exc)) from None
            raise


class BreachAlerts:
    """The breach-alert queue (bot/breaches/alerts.py) and what an alert says."""

    def __init__(self, store: AlertStore, content_sids: dict[str, str]):
        self.store, self.content_sids = store, content_sids

    def purge(self, now: float) -> None:
        self.store.purge(now)

    def claim(self, limit: int, now: float) -> list[Due]:
        return self.store.claim(limit, now)

    def start(self, item: Due, now: float) -> bool:
        return self.store.start(item, now)

    def sent(self, item: Due) -> None:
        self.store.sent(item.id)

    def later(self, item: Due, due: float, count: bool = True) -> bool:
        return self.store.later(item.id, due, count)

    def failed(self, item: Due) -> None:
        self.store.failed(item.id)

    def next_due(self) -> float | None:
        return self.store.next_due()

    def text(self, due: Due, content: Content) -> str:
        name, date, data = self.describe(content, due)
        template = content.render(content.intents[INTENT].extra["texts"]["alert"][due.lang])
        return template.format(name=name, date=date, data=data, steps=content.answer("after_leak", due.lang))

    def template(self, due: Due, content: Content, now: float) -> tuple[str, dict[str, str]] | None:
        """The approved template, if set, with its {{1}}..{{4}}: WhatsApp allows no line breaks
        in a variable."""
        sid = self.content_sids.get(due.lang) or self.content_sids.get("*")
        if not sid:
            return None
        name, date, data = self.describe(content, due)
        steps = " ".join(line.strip() for line in content.answer("after_leak", due.lang).splitlines())
        return sid, {"1": name, "2": date, "3": data, "4": steps}

    def describe(self, content: Content, due: Due) -> tuple[str, str, str]:
        """Name, date and exposed data, in the person's language where the catalogue has the
        breach (its facts filled in), else as the breach index holds them."""
        incident = content.catalogue.get(due.breach.slug)
        if incident is None:
            return due.breach.name, due.breach.date or "?", ", ".join(due.breach.data) or "?"
        lang = due.lang if due.lang in incident.name else "en"
        data = ", ".join(content.render(item, lang) for item in incident.data[lang])
        return content.render(incident.name[lang], lang), incident.date or due.breach.date or "?", data or "?"


class Wait(Exception):  # noqa: N818 - an instruction, not an error
    def __init__(self, seconds: float):
        super().__init__(f"wait {seconds} s")
        self.seconds = seconds


class Permanent(Exception):  # noqa: N818
    """A refusal that trying again will not change."""


def _seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # the int form is deprecated; either form will do here
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def content_sids(setting: str) -> dict[str, str]:
    """TWILIO_ALERT_CONTENT_SID: one template for every language ("HX...") or one per
    language ("en=HX...,roman_ur=HX...,ur=HX...", "*=HX..." for the others)."""
    if "=" not in setting:
        return {"*": setting.strip()} if setting.strip() else {}
    pairs = (item.partition("=") for item in setting.split(","))
    return {lang.strip(): sid.strip() for lang, _, sid in pairs if lang.strip() and sid.strip()}


def build_sender(settings: Settings, store: AlertStore | None, content: Callable[[], Content],
                 telegram: TelegramBot | None = None, queues: tuple[Queue, ...] = ()) -> AlertSender:
    """A sender with the channels the settings configure; `telegram`: an initialised bot to
    share (the service's), else one made here, to be initialised by the caller; `queues`: what
    it delivers besides breach alerts."""
    if telegram is None and settings.telegram_token:
        telegram = TelegramBot(settings.telegram_token, base_url=f"{settings.telegram_api_url}/bot")
    twilio = TwilioApi(settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_whatsapp_from,
                       settings.twilio_api_url)
    return AlertSender(store, content, telegram, twilio if twilio.configured else None,
                       content_sids(settings.twilio_alert_content_sid), queues=queues)


@asynccontextmanager
async def sending_every(seconds: float, settings: Settings, store: AlertStore | None,
                        content: Callable[[], Content], telegram: TelegramBot | None,
                        queues: tuple[Queue, ...] = ()) -> AsyncIterator[None]:
    """While the block runs, send what is due every `seconds` (the web service; nothing when
    alerts are off and there is no other queue). `telegram`: the service's bot, already
    initialised, if it has one."""
    if store is None and not queues:
        yield
        return
    sender = build_sender(settings, store, content, telegram, queues)
    own = sender.telegram if sender.telegram is not telegram else None
    if own is not None:
        await own.initialize()
    task = asyncio.create_task(send_every(sender, seconds))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if own is not None:
            await own.shutdown()


async def send_every(sender: AlertSender, seconds: float) -> None:
    """The service's loop: what is due, every `seconds`, for as long as it runs."""
    while True:
        try:
            report = await sender.send_due()
            if report.sent or report.retried or report.failed:
                log.info("alerts: %s", report.as_dict())
        except Exception:  # a locked database or a bug must not stop the service
            log.exception("sending alerts failed; will try again")
        await asyncio.sleep(seconds)
