"""Crash safety: `python -m bot serve` under concurrent load over both webhooks is killed with
SIGKILL mid-stream, restarted on the same database, and every request that did not get a
complete 2xx answer is delivered again, as Telegram and Twilio do. Three rounds, each killed at
a different point. Every message must get exactly one reply, and the database must pass
`PRAGMA integrity_check` after every crash and at the end.

The contract under test (bot/dialogue/core.py, the outbox): a message's seen-id, state change and
replies commit in one transaction; the reply goes out after the commit (Telegram: sendMessage;
WhatsApp: the TwiML response) and is marked delivered after that. A re-delivery of a message
whose reply was not marked gets that reply again; after the mark it gets nothing (200, empty
TwiML). How replies are counted:
- WhatsApp: the TwiML <Message> replies received per MessageSid over all attempts; a response
  that did not arrive whole (the server died) does not count, since Twilio never saw it.
- Telegram: the sendMessage calls the local Bot API server recorded per chat (each message
  comes from a chat of its own).
The one gap the contract leaves: a kill after a sendMessage reached Telegram but before its
reply was marked delivered doubles that reply (the Bot API has no idempotency key, so the gap
is a whole sendMessage round trip wide). The test recognises such a double (the message was
delivered again after a failed attempt, and the crash snapshot still held its reply in the
outbox) and reports how often it happened in a warning; any other doubled, lost or wrong
reply fails the test."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import sqlite3
import time
import warnings
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from bot.config import user_key
from bot.testing.counting_telegram import CountingTelegram
from bot.testing.fake_telegram import text_update
from bot.testing.fake_twilio import message_sid
from bot.testing.process import ServiceProcess, service_env

TOKEN = "123:crash-token"
SECRET = "crash-webhook-secret"
AUTH = "crash-twilio-token"
PUBLIC_URL = "https://bot.example.org"
BOT_SECRET = "crash-secret"
# Texts that get exactly one reply, and a piece of that reply (English, Roman Urdu, Urdu).
TEXTS = {
    "hi": "Mehfooz",
    "how do i stop marketing calls": "3627",
    "marketing calls kese band karun": "3627",
    "مارکیٹنگ کالز کیسے بند کروں": "3627",
}
PER_ROUND = 240  # messages a round, half on each channel, each from a person of its own
IN_FLIGHT = 48  # requests on the wire at once
KILL_AFTER = (0.3, 0.55, 0.8)  # share of a round's messages answered when the service is killed
REDELIVERY_PASSES = 5  # a message still unacknowledged after this many is a failure
RESENT_ANSWERED = 20  # already-answered messages a channel re-delivers at the end, on purpose


@dataclass
class Message:
    channel: str
    ident: str  # MessageSid or update_id
    chat: int  # the person: Telegram chat id, or the digits of the WhatsApp number
    text: str
    path: str
    body: bytes
    headers: dict[str, str]
    attempts: list[str] = field(default_factory=list)  # status codes and error kinds, in order
    replies: list[str] = field(default_factory=list)  # WhatsApp: each response that carried a reply
    acked: bool = False  # a complete 2xx answer arrived


def whatsapp_message(n: int, text: str) -> Message:
    number = 923_000_000_000 + n
    form = {"MessageSid": message_sid(f"crash{n}"), "AccountSid": "AC" + "0" * 32, "From": f"whatsapp:+{number}", "To": "whatsapp:+14155238886",
            "Body": text, "NumMedia": "0"}
    signature = RequestValidator(AUTH).compute_signature(f"{PUBLIC_URL}/whatsapp", form)
    headers = {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature}
    return Message("whatsapp", form["MessageSid"], number, text, "/whatsapp", urlencode(form).encode(), headers)


def telegram_message(n: int, text: str) -> Message:
    chat = 500_000_000 + n
    body = json.dumps(text_update(10_000 + n, chat, text), ensure_ascii=False).encode()
    headers = {"content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET}
    return Message("telegram", str(10_000 + n), chat, text, "/telegram", body, headers)


def make_round(number: int) -> list[Message]:
    texts = list(TEXTS)
    messages = []
    for i in range(PER_ROUND // 2):
        n = number * 10_000 + i
        messages += [whatsapp_message(n, texts[i % len(texts)]), telegram_message(n, texts[(i + 1) % len(texts)])]
    random.Random(number).shuffle(messages)  # both channels interleaved on the wire
    return messages


def twiml_messages(body: str) -> list[str]:
    return [m.text or "" for m in ET.fromstring(body).iter("Message")]


async def attempt(client: httpx.AsyncClient, message: Message) -> bool:
    """One delivery attempt; True when a complete 2xx answer came back."""
    try:
        response = await client.post(message.path, content=message.body, headers=message.headers)
    except httpx.HTTPError as exc:  # the service died before or while answering
        message.attempts.append(type(exc).__name__)
        return False
    message.attempts.append(str(response.status_code))
    if not 200 <= response.status_code < 300:
        return False
    message.acked = True
    if message.channel == "whatsapp":
        replies = twiml_messages(response.text)
        if replies:
            message.replies.append("\n".join(replies))
    return True


async def deliver(url: str, messages: list[Message], kill_after: int | None = None,
                  service: ServiceProcess | None = None) -> float | None:
    """Send all messages concurrently; after `kill_after` complete answers, SIGKILL the service
    (the rest then fail and stay unacknowledged). Returns when the kill happened."""
    answered, killed_at = 0, None
    gate = asyncio.Semaphore(IN_FLIGHT)
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)

    async def one(client: httpx.AsyncClient, message: Message) -> None:
        nonlocal answered, killed_at
        async with gate:
            ok = await attempt(client, message)
        answered += ok
        if service is not None and killed_at is None and answered >= (kill_after or 0):
            killed_at = time.monotonic()
            service.kill()

    async with httpx.AsyncClient(base_url=url, timeout=20, limits=limits) as client:
        await asyncio.gather(*(one(client, m) for m in messages))
    return killed_at


def redeliver(url: str, messages: list[Message]) -> None:
    """As Telegram and Twilio do: deliver again whatever was not acknowledged, a few times."""
    for _ in range(REDELIVERY_PASSES):
        pending = [m for m in messages if not m.acked]
        if not pending:
            return
        asyncio.run(deliver(url, pending))


def integrity(db: Path, snapshot_dir: Path | None = None) -> str:
    """PRAGMA integrity_check of the database; with `snapshot_dir`, of a copy of the file and
    its WAL as the crash left them (so the check's own recovery does not touch the original)."""
    if snapshot_dir is not None:
        snapshot_dir.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal"):
            if Path(f"{db}{suffix}").exists():
                shutil.copyfile(f"{db}{suffix}", snapshot_dir / f"{db.name}{suffix}")
        db = snapshot_dir / db.name
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def held_at_crash(snapshot: Path) -> set[str]:
    """The outbox keys in a crash snapshot: replies committed but not (yet) marked delivered."""
    conn = sqlite3.connect(snapshot)
    try:
        return {row[0] for row in conn.execute("SELECT key FROM outbox")}
    except sqlite3.OperationalError:  # no outbox table: the contract is not implemented
        return set()
    finally:
        conn.close()


def outbox_key(message: Message) -> str:
    """How bot/dialogue/core.py keys a message's held replies (a keyed hash of channel and id)."""
    return user_key(BOT_SECRET.encode(), message.channel, f"message:{message.ident}")


def verdicts(messages: list[Message], sent: list[tuple[int, float, str]], kills: list[float],
             held: set[str]) -> tuple[list[str], list[str]]:
    """(problems, window hits): every message that did not get exactly one right reply,
    described. A doubled Telegram reply is a window hit, not a problem, when the message was
    delivered again after a failed attempt and the crash snapshot still held its reply in
    the outbox: sendMessage had reached Telegram but the kill came before the mark."""
    by_chat: dict[int, list[tuple[float, str]]] = {}
    for chat, at, text in sent:
        by_chat.setdefault(chat, []).append((at, text))
    problems, window = [], []
    for m in messages:
        replies = m.replies if m.channel == "whatsapp" else [t for _, t in by_chat.get(m.chat, [])]
        if len(replies) == 1 and TEXTS[m.text] in replies[0]:
            continue
        what = "lost" if not replies else "doubled" if len(replies) > 1 else "wrong reply"
        detail = f"{m.channel} {m.ident} {what}: {len(replies)} replies, attempts {m.attempts}"
        if m.channel == "telegram" and len(replies) > 1:
            first = by_chat[m.chat][0][0]
            offset = min((first - k for k in kills), key=abs) * 1000
            detail += f"; its first reply reached Telegram {offset:+.1f} ms from a kill"
            if outbox_key(m) in held and not m.attempts[0].isdigit() and len(replies) == 2:
                window.append(detail)
                continue
            detail += f"; held in the outbox at the crash: {outbox_key(m) in held}"
        problems.append(detail)
    return problems, window


@pytest.fixture
def telegram_api():
    with CountingTelegram(TOKEN) as fake:
        yield fake


def test_sigkill_under_load_loses_and_doubles_no_reply(tmp_path, telegram_api):
    db = tmp_path / "bot.db"
    env = service_env(db, telegram_api.url, token=TOKEN, webhook_secret=SECRET, twilio_token=AUTH,
                      public_url=PUBLIC_URL, secret=BOT_SECRET)
    service = ServiceProcess(env, tmp_path / "service.log").start()
    everything: list[Message] = []
    kills: list[float] = []
    held: set[str] = set()
    try:
        for number, share in enumerate(KILL_AFTER):
            messages = make_round(number)
            everything += messages
            killed_at = asyncio.run(deliver(service.url, messages, int(share * len(messages)), service))
            assert killed_at is not None, "the service was never killed"
            kills.append(killed_at)
            unacked = sum(not m.acked for m in messages)
            assert unacked > 0, "the kill came too late to catch anything in flight"
            snapshot = tmp_path / f"crash{number}"
            check = integrity(db, snapshot)
            assert check == "ok", f"database after kill {number + 1}: {check}"
            held |= held_at_crash(snapshot / db.name)
            service.start()
            redeliver(service.url, messages)
            assert all(m.acked for m in messages), "some messages were never acknowledged"
        resent = [m for channel in ("whatsapp", "telegram")
                  for m in [m for m in everything if m.channel == channel][:RESENT_ANSWERED]]
        asyncio.run(deliver(service.url, resent))  # answered long ago: must get nothing new
    finally:
        service.stop()  # graceful: replies still being sent finish before we count them
    errors = Counter(a for m in everything for a in m.attempts if a[0] == "5")
    assert not errors, f"server errors: {dict(errors)}\n{service.log_tail()}"
    problems, window = verdicts(everything, telegram_api.take_sent(), kills, held)
    assert not problems, f"{len(problems)} of {len(everything)} messages:\n" + "\n".join(problems[:30])
    if window:  # the contract's known gap: say how often a kill hit it
        warnings.warn(f"{len(window)} of {len(everything)} messages doubled in the window between "
                      f"sendMessage and its mark ({len(KILL_AFTER)} kills):\n" + "\n".join(window),
                      stacklevel=1)
    assert integrity(db) == "ok"
    with sqlite3.connect(db) as conn:
        held = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    assert held == 0, f"{held} replies were delivered but never marked delivered in the outbox"
