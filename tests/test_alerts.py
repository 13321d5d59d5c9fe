"""Breach alerts end to end: subscribing (WhatsApp yes, Telegram own contact), matching an
import, delivery through the local Bot API and Twilio Messages API, once only, retries,
Telegram's retry_after, two senders at once, stop, delete, expiry, and no raw number or chat
id in any database file."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from telegram import Bot as TelegramBot

from bot.breaches.alerts import MAX_ATTEMPTS, YEAR, AlertsOff, AlertStore
from bot.breaches.index import Breach, BreachIndex, keyed_hash, normalise_identifier
from bot.channels.alert_sender import AlertSender, content_sids, sending_every
from bot.channels.twilio_api import TwilioApi
from bot.config import Settings, user_key
from bot.dialogue.core import Bot
from bot.dialogue.messages import Incoming
from bot.service import create_app
from bot.testing.fake_telegram import FakeTelegram, contact_update, text_update
from bot.testing.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from bot.testing.http import free_port, serve_asgi
from tests.conftest import ROOT
from tests.test_channels import TOKEN, make_settings, post_update

PEPPER = b"alerts-test-pepper"
KEY = Fernet.generate_key().decode()
OWN = "+923001234567"
WA_SENDER = f"whatsapp:{OWN}"
CHAT = 7712345678  # a Telegram user (and private chat) id
SLUG = "pk-2026-test"


@pytest.fixture
def alerts(tmp_path):
    store = AlertStore(tmp_path / "alerts.db", PEPPER, KEY)
    yield store
    store.close()


@pytest.fixture
def bot(content, store, alerts):
    return Bot(content, store, b"test-secret", alerts=alerts)


def say(bot, text="", channel="whatsapp", user=WA_SENDER, **kwargs):
    phone = kwargs.pop("verified_phone", user.removeprefix("whatsapp:") if channel == "whatsapp" else None)
    return bot.respond(Incoming(channel, user, text, verified_phone=phone, **kwargs))


def queue_for(alerts, numbers, slug=SLUG, name="Test telecom leak", now=None):
    return alerts.queue(Breach(slug, name, "2026-01", ("phone numbers", "CNIC")),
                        [keyed_hash(PEPPER, normalise_identifier(n)) for n in numbers], now=now)


# --- subscribing in the dialogue ---
def test_whatsapp_subscribe_takes_one_yes_and_says_what_is_kept(bot, alerts):
    (ask,) = say(bot, "notify me if my number leaks")
    assert "one year" in ask.text and [o.value for o in ask.options] == ["alerts:yes", "alerts:no"]
    assert alerts.stats()["subscribers"] == 0  # nothing kept before the yes
    (done,) = say(bot, "yes")
    assert done.intent == "breach_alerts" and "coded fingerprint" in done.text and "WhatsApp" in done.text
    assert "stop alerts" in done.text and alerts.stats()["subscribers"] == 1
    row = alerts.db.execute("SELECT number, address, channel FROM subscriptions").fetchone()
    assert row[0] == keyed_hash(PEPPER, OWN) and row[2] == "whatsapp"
    assert Fernet(KEY.encode()).decrypt(row[1]).decode() == WA_SENDER


@pytest.mark.parametrize(("text", "answer"), [
    ("mujhe batana agar mera number leak ho", "haan"), ("اگر میرا نمبر لیک ہو تو مجھے بتا دینا", "ہاں"),
])
def test_subscribe_in_roman_urdu_and_urdu(bot, alerts, text, answer):
    (ask,) = say(bot, text)
    assert ask.lang in ("roman_ur", "ur") and ask.options
    (done,) = say(bot, answer)
    assert alerts.stats()["subscribers"] == 1 and done.lang == ask.lang
    assert alerts.db.execute("SELECT lang FROM subscriptions").fetchone()[0] == ask.lang


def test_no_keeps_nothing(bot, alerts):
    say(bot, "alert me when my phone number appears in a breach")
    (reply,) = say(bot, "no")
    assert "Nothing was kept" in reply.text and alerts.stats()["subscribers"] == 0


def test_telegram_needs_the_senders_own_contact(bot, alerts):
    (ask,) = say(bot, "/alerts", channel="telegram", user=str(CHAT), choice="breach_alerts",
                 can_share_contact=True)
    assert ask.meta.get("ask_contact") and alerts.stats()["subscribers"] == 0
    (refused,) = say(bot, channel="telegram", user=str(CHAT), shared_contact="other", can_share_contact=True)
    assert "not your own" in refused.text and alerts.stats()["subscribers"] == 0
    (done,) = say(bot, channel="telegram", user=str(CHAT), shared_contact="own", verified_phone="923001234567",
                  can_share_contact=True)
    assert "Telegram" in done.text and alerts.stats()["subscribers"] == 1
    (token,) = alerts.db.execute("SELECT address FROM subscriptions").fetchone()
    assert Fernet(KEY.encode()).decrypt(token).decode() == str(CHAT)


def test_a_contact_shared_without_asking_for_alerts_is_still_a_lookup(bot, alerts):
    (reply,) = say(bot, channel="telegram", user=str(CHAT), shared_contact="own", verified_phone=OWN,
                   can_share_contact=True)
    assert reply.intent == "check_breach" and alerts.stats()["subscribers"] == 0


def test_asking_again_renews_for_a_year(bot, alerts):
    say(bot, "notify me if my number leaks")
    say(bot, "yes")
    alerts.db.execute("UPDATE subscriptions SET expires = expires - 100 * 86400")
    (reply,) = say(bot, "renew my alerts")
    assert "renewed" in reply.text
    (expires,) = alerts.db.execute("SELECT expires FROM subscriptions").fetchone()
    assert abs(expires - (time.time() + YEAR)) < 60


@pytest.mark.parametrize("stop", ["stop alerts", "alerts band karo", "الرٹس بند کریں", "i dont want the leak alerts anymore"])
def test_stop_alerts_ends_it_at_once(bot, alerts, stop):
    say(bot, "notify me if my number leaks")
    say(bot, "yes")
    queue_for(alerts, [OWN])
    (reply,) = say(bot, stop)
    assert reply.intent == "breach_alerts" and alerts.stats() == {"subscribers": 0, "queued": 0, "sent": 0,
                                                                  "failed": 0}
    (again,) = say(bot, "stop alerts")
    assert "nothing to stop" in again.text


def test_delete_my_data_ends_the_subscription(bot, alerts):
    say(bot, "notify me if my number leaks")
    say(bot, "yes")
    say(bot, "delete my data")
    say(bot, "yes")
    assert alerts.stats()["subscribers"] == 0
    assert alerts.db.execute("SELECT count(*) FROM subscriptions").fetchone()[0] == 0


def test_without_a_key_or_a_channel_nothing_is_kept(content, store, tmp_path):
    off = Bot(content, store, b"test-secret", alerts=None)
    assert "not switched on" in say(off, "notify me if my number leaks")[0].text
    with pytest.raises(AlertsOff):
        AlertStore(tmp_path / "a.db", PEPPER, "not-a-key")
    store_with_key = AlertStore(tmp_path / "b.db", PEPPER, KEY)
    terminal = Bot(content, store, b"test-secret", alerts=store_with_key)
    (reply,) = terminal.respond(Incoming("terminal", "me", "notify me if my number leaks", verified_phone=OWN))
    assert "Telegram or WhatsApp" in reply.text and store_with_key.stats()["subscribers"] == 0


def test_privacy_says_alerts_expire_after_a_year(bot):
    (reply,) = say(bot, "/privacy", choice="bot_privacy")
    assert "Breach alerts" in reply.text and "for a year" in reply.text


# --- matching an import ---
def test_import_queues_one_alert_per_new_match_only(tmp_path, alerts):
    alerts.subscribe("p1", "telegram", "1", OWN, "en")
    alerts.subscribe("p2", "telegram", "2", "03111111111", "en")  # not in the list
    alerts.subscribe("p3", "telegram", "3", "03222222222", "en", now=time.time() - YEAR - 1)  # expired
    index = BreachIndex(tmp_path / "breaches.db", PEPPER)
    index.add_breach(Breach(SLUG, "Test leak", "2026-01", ("phone numbers",)))
    report = index.import_lines(SLUG, ["0300-1234567", "03222222222", "03009999999"], watch=alerts.watched())
    assert report.watched == [keyed_hash(PEPPER, OWN)] and "watched" not in report.as_dict()
    assert alerts.queue(index.breach(SLUG), report.watched) == 1
    again = index.import_lines(SLUG, ["03001234567", "03111111111"], watch=alerts.watched())
    assert again.watched == [keyed_hash(PEPPER, "+923111111111")]  # new to this breach: p2 only
    alerts.queue(index.breach(SLUG), again.watched + report.watched)  # a repeat adds nothing
    assert alerts.stats()["queued"] == 2
    index.close()


# --- delivery through the local Bot API and Twilio ---
class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def sender_with(alerts, content, telegram=None, twilio=None, sids=None, clock=None):
    return AlertSender(alerts, lambda: content, telegram, twilio, sids, clock=clock or time.time)


async def with_telegram(fake, action):
    async with TelegramBot(TOKEN, base_url=f"{fake.url}/bot") as telegram:
        return await action(telegram)


def test_telegram_alert_names_the_breach_and_is_sent_once(alerts, content):
    alerts.subscribe("p1", "telegram", str(CHAT), OWN, "en")
    queue_for(alerts, [OWN])
    with FakeTelegram(TOKEN) as fake:
        async def twice(telegram):
            sender = sender_with(alerts, content, telegram)
            return (await sender.send_due()).as_dict(), (await sender.send_due()).as_dict()

        first, second = asyncio.run(with_telegram(fake, twice))
        (sent,) = fake.succeeded("sendMessage")
    assert first == {"sent": 1, "retried": 0, "failed": 0} and second == {"sent": 0, "retried": 0, "failed": 0}
    assert int(sent["chat_id"]) == CHAT and "Test telecom leak" in sent["text"] and "2026-01" in sent["text"]
    assert "stop alerts" in sent["text"] and "two-step verification" in sent["text"]  # the after-leak steps
    assert alerts.stats() == {"subscribers": 1, "queued": 0, "sent": 1, "failed": 0}


def test_telegram_429_retry_after_pauses_every_send(alerts, content):
    for n in range(3):
        alerts.subscribe(f"p{n}", "telegram", str(CHAT + n), f"0300000000{n}", "en")
    clock = Clock()
    queue_for(alerts, [f"0300000000{n}" for n in range(3)], now=clock.now)
    with FakeTelegram(TOKEN) as fake:
        fake.fail_next("sendMessage", 429, {"ok": False, "error_code": 429, "description": "Too Many Requests",
                                            "parameters": {"retry_after": 5}})

        async def run(telegram):
            sender = sender_with(alerts, content, telegram, clock=clock)
            paused = (await sender.send_due()).as_dict()
            clock.now += 3  # still within retry_after: nothing goes
            early = (await sender.send_due()).as_dict()
            clock.now += 2.5
            return paused, early, (await sender.send_due()).as_dict()

        paused, early, after = asyncio.run(with_telegram(fake, run))
        assert len(fake.calls("sendMessage")) == 4 and len(fake.succeeded("sendMessage")) == 3
    assert paused == {"sent": 0, "retried": 3, "failed": 0} and early["sent"] == 0
    assert after == {"sent": 3, "retried": 0, "failed": 0}


def test_a_failed_delivery_is_retried_then_gives_up(alerts, content):
    alerts.subscribe("p1", "telegram", str(CHAT), OWN, "en")
    alerts.subscribe("p2", "telegram", str(CHAT + 1), "03111111111", "en")
    clock = Clock()
    queue_for(alerts, [OWN], now=clock.now)
    with FakeTelegram(TOKEN) as fake:
        error = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        fake.fail_next("sendMessage", 500, error)

        async def run(telegram):
            sender = sender_with(alerts, content, telegram, clock=clock)
            first = (await sender.send_due()).as_dict()
            clock.now += 61  # the first backoff
            second = (await sender.send_due()).as_dict()
            queue_for(alerts, ["03111111111"], now=clock.now)
            for _ in range(MAX_ATTEMPTS):
                fake.fail_next("sendMessage", 500, error)
            results = []
            for _ in range(MAX_ATTEMPTS):
                results.append((await sender.send_due()).as_dict())
                clock.now += 3601
            return first, second, results

        first, second, results = asyncio.run(with_telegram(fake, run))
        assert [int(c["chat_id"]) for c in fake.succeeded("sendMessage")] == [CHAT]
    assert first == {"sent": 0, "retried": 1, "failed": 0} and second == {"sent": 1, "retried": 0, "failed": 0}
    assert [r["retried"] for r in results] == [1] * (MAX_ATTEMPTS - 1) + [0] and results[-1]["failed"] == 1
    assert alerts.stats() == {"subscribers": 2, "queued": 0, "sent": 1, "failed": 1}


def test_blocked_by_the_person_fails_without_retry(alerts, content):
    alerts.subscribe("p1", "telegram", str(CHAT), OWN, "en")
    queue_for(alerts, [OWN])
    with FakeTelegram(TOKEN) as fake:
        fake.fail_next("sendMessage", 403, {"ok": False, "error_code": 403,
                                            "description": "Forbidden: bot was blocked by the user"})
        report = asyncio.run(with_telegram(fake, lambda tg: sender_with(alerts, content, tg).send_due()))
    assert report.as_dict() == {"sent": 0, "retried": 0, "failed": 1} and alerts.stats()["failed"] == 1


@pytest.fixture
def twilio():
    with FakeTwilio() as fake:
        yield fake, TwilioApi(ACCOUNT_SID, AUTH_TOKEN, "whatsapp:+14155238886", fake.url)


def test_whatsapp_alert_in_urdu_as_free_text(alerts, content, twilio):
    fake, api = twilio
    alerts.subscribe("p1", "whatsapp", WA_SENDER, OWN, "ur")
    queue_for(alerts, [OWN], slug="pk-2025-records-sale")  # in the catalogue, with an Urdu name
    fake.fail_next(503)
    clock = Clock()
    sender = sender_with(alerts, content, twilio=api, clock=clock)
    assert asyncio.run(sender.send_due()).retried == 1
    clock.now += 61
    assert asyncio.run(sender.send_due()).sent == 1
    (message,) = fake.messages
    assert message["To"] == WA_SENDER and "لوکیشن ڈیٹا، کال ریکارڈ" in message["Body"]
    assert "الرٹس بند کریں" in message["Body"] and len(message["Body"]) <= 1600


def test_whatsapp_alert_through_the_content_template(alerts, content, twilio):
    fake, api = twilio
    alerts.subscribe("p1", "whatsapp", WA_SENDER, OWN, "roman_ur")
    queue_for(alerts, [OWN])
    sids = content_sids("en=HX00000000000000000000000000000001,roman_ur=HX00000000000000000000000000000002")
    assert asyncio.run(sender_with(alerts, content, twilio=api, sids=sids).send_due()).sent == 1
    (message,) = fake.messages
    variables = json.loads(message["ContentVariables"])
    assert message["ContentSid"].endswith("2") and "Body" not in message
    assert variables["1"] == "Test telecom leak" and variables["2"] == "2026-01"
    assert "\n" not in variables["4"] and "password" in variables["4"]


def test_expired_subscriptions_get_nothing_and_are_purged(alerts, content):
    alerts.subscribe("p1", "telegram", str(CHAT), OWN, "en")
    queue_for(alerts, [OWN])
    clock = Clock()
    clock.now += YEAR + 1
    with FakeTelegram(TOKEN) as fake:
        report = asyncio.run(with_telegram(fake, lambda tg: sender_with(alerts, content, tg, clock=clock).send_due()))
        assert fake.calls("sendMessage") == []
    assert report.sent == 0 and alerts.db.execute("SELECT count(*) FROM subscriptions").fetchone()[0] == 0
    assert alerts.stats() == {"subscribers": 0, "queued": 0, "sent": 0, "failed": 0}


def test_the_service_loop_sends_what_is_due(alerts, content, tmp_path):
    alerts.subscribe("p1", "telegram", str(CHAT), OWN, "en")
    queue_for(alerts, [OWN])
    with FakeTelegram(TOKEN) as fake:
        settings = Settings(db_path=tmp_path / "bot.db", secret=b"s", content_dir=content.directory,
                            telegram_token=TOKEN, telegram_api_url=fake.url)

        async def run():
            async with sending_every(0.1, settings, alerts, lambda: content, None):
                await asyncio.sleep(1.0)

        asyncio.run(run())
        assert len(fake.succeeded("sendMessage")) == 1


# --- CLI: two senders at once; the bar over the Telegram webhook ---
def cli_env(tmp_path: Path, telegram_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "TWILIO_", "BREACH_"))}
    return {**env, "BOT_DB": str(tmp_path / "bot.db"), "BOT_SECRET": "s", "BREACH_PEPPER": PEPPER.decode(),
            "BREACH_DB": str(tmp_path / "breaches.db"), "BOT_ALERTS_DB": str(tmp_path / "alerts.db"),
            "BOT_ALERTS_KEY": KEY, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": telegram_url}


def cli(env, *args) -> dict | str:
    """Run `python -m bot ARGS`; its last line, read as JSON when it is."""
    done = subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    last = done.stdout.splitlines()[-1]
    return json.loads(last) if last.startswith("{") else last


def test_two_senders_at_once_send_each_alert_once(tmp_path):
    n = 60
    store = AlertStore(tmp_path / "alerts.db", PEPPER, KEY)
    numbers = [f"0301{i:07d}" for i in range(n)]
    for i, number in enumerate(numbers):
        store.subscribe(f"p{i}", "telegram", str(CHAT + i), number, "en")
    assert queue_for(store, numbers) == n
    store.close()
    with FakeTelegram(TOKEN) as fake:
        env = cli_env(tmp_path, fake.url)
        procs = [subprocess.Popen([sys.executable, "-m", "bot", "alerts", "send"], env=env, cwd=ROOT,
                                  stdout=subprocess.PIPE, text=True) for _ in range(2)]
        reports = [json.loads(p.communicate(timeout=120)[0].splitlines()[-1]) for p in procs]
        chats = [int(c["chat_id"]) for c in fake.succeeded("sendMessage")]
    assert sum(r["sent"] for r in reports) == n and sorted(chats) == [CHAT + i for i in range(n)]
    assert cli(env, "alerts", "stats", "--json") == {"subscribers": n, "queued": 0, "sent": n, "failed": 0}


def db_files(tmp_path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and ".db" in p.name}


def test_the_bar_over_the_telegram_webhook(tmp_path, content):
    """Subscribe over the webhook with one's own contact; import a list that holds the number;
    `alerts send` delivers one alert naming the breach, a second sends nothing; someone not
    in the list gets nothing; "stop alerts" ends it; no raw number or chat id in any file."""
    other_chat, other_phone = CHAT + 99, "+923459876543"
    with FakeTelegram(TOKEN) as fake:
        settings = replace(make_settings(tmp_path, fake, 0), breach_db=tmp_path / "breaches.db",
                           breach_pepper=PEPPER, alerts_key=KEY, alerts_db=tmp_path / "alerts.db")
        env = cli_env(tmp_path, fake.url)
        with serve_asgi(create_app(settings), free_port()) as url, httpx.Client(base_url=url, timeout=20) as web:
            for update_id, (chat, phone) in enumerate([(CHAT, OWN), (other_chat, other_phone)], 1):
                assert post_update(web, text_update(update_id * 10, chat, "/alerts")).status_code == 200
                shared = contact_update(update_id * 10 + 1, chat, phone.lstrip("+"), chat)
                assert post_update(web, shared).status_code == 200
            assert "alerts are on" in fake.calls("sendMessage")[-1]["text"]
            assert cli(env, "alerts", "stats", "--json")["subscribers"] == 2

            leaked = tmp_path / "leaked.csv"
            leaked.write_text("phone,name\n0300-1234567,x\n03001112223,y\n", encoding="utf-8")
            cli(env, "breaches", "add", SLUG, "--name", "Example telecom leak", "--date", "2026-01",
                "--data", "phone numbers, CNIC")
            assert cli(env, "breaches", "import", "--breach", SLUG, "--quiet", str(leaked))["alerts_queued"] == 1
            before = len(fake.succeeded("sendMessage"))
            assert cli(env, "alerts", "send") == {"sent": 1, "retried": 0, "failed": 0}
            assert cli(env, "alerts", "send") == {"sent": 0, "retried": 0, "failed": 0}
            alerts_sent = fake.succeeded("sendMessage")[before:]
            assert [int(a["chat_id"]) for a in alerts_sent] == [CHAT]
            assert "Example telecom leak" in alerts_sent[0]["text"]
            assert cli(env, "alerts", "stats", "--json") == {"subscribers": 2, "queued": 0, "sent": 1, "failed": 0}

            post_update(web, text_update(100, CHAT, "stop alerts"))
            assert "alerts are off" in fake.calls("sendMessage")[-1]["text"].lower()
            assert cli(env, "alerts", "stats", "--json")["subscribers"] == 1
            admin = web.get("/admin/data.json")  # no ADMIN_TOKEN here: off
            assert admin.status_code == 404
    files = db_files(tmp_path)
    assert {"bot.db", "alerts.db", "breaches.db"} <= set(files)
    for chat in (CHAT, other_chat):
        for form in (str(chat).encode(), chat.to_bytes(6, "big"), chat.to_bytes(8, "big")):
            assert not [name for name, data in files.items() if form in data], (chat, form)
    for phone in (OWN, other_phone):
        for form in (phone, phone[1:], phone[3:], "0" + phone[3:]):
            assert not [name for name, data in files.items() if form.encode() in data], form
    assert user_key(b"s", "telegram", str(CHAT)).encode() not in files["alerts.db"]  # stopped: gone


def test_admin_page_shows_the_counts(tmp_path, alerts):
    alerts.subscribe("p1", "telegram", str(CHAT), OWN, "en")
    queue_for(alerts, [OWN])
    with FakeTelegram(TOKEN) as fake:
        settings = replace(make_settings(tmp_path, fake, 0), breach_pepper=PEPPER, alerts_key=KEY,
                           alerts_db=tmp_path / "alerts.db", admin_token="admin-token-long-enough-for-the-minimum-0123")
        with serve_asgi(create_app(settings), free_port()) as url:
            headers = {"Authorization": "Bearer admin-token-long-enough-for-the-minimum-0123"}
            data = httpx.get(f"{url}/admin/data.json", headers=headers, timeout=20).json()
            page = httpx.get(f"{url}/admin", headers=headers, timeout=20).text
    assert data["alerts"]["subscribers"] == 1 and data["alerts"]["queued"] + data["alerts"]["sent"] == 1
    assert 'id="alerts-subscribers">1<' in page
