"""Outside services failing: HIBP slow, down or rate-limiting (the circuit breaker), the Bot
API answering 429 or 5xx (replies retried, not lost), and the database locked by another
connection (the message waits, or is refused whole so that it is delivered again).

Everything runs for real: the local HIBP and Bot API servers, our service under uvicorn on
loopback, SQLite files, and a second sqlite3 connection that holds the write lock."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from bot.breaches.breaker import CLOSED, HALF_OPEN, OPEN, Breaker
from bot.breaches.hibp import MAX_WAIT, TIMEOUT, HibpClient, LookupPaused, LookupUnavailable
from bot.breaches.index import Breach, BreachIndex
from bot.breaches.lookup import BreachLookup
from bot.config import Settings
from bot.content.load import DEFAULT_DIR
from bot.dialogue.core import Bot
from bot.dialogue.messages import Incoming
from bot.service import create_app
from bot.state.sqlite_store import StoreBusy, UserState
from bot.testing.fake_hibp import KEY, FakeHibp
from bot.testing.fake_telegram import FakeTelegram, text_update
from bot.testing.fake_twilio import ACCOUNT_SID, message_sid
from bot.testing.http import serve_asgi

EMAIL = "ali.khan@example.com"
INDEXED = "+923001234567"  # in the local index (which answers phone numbers only)
PEPPER = b"test-pepper"
TOKEN, SECRET, AUTH = "123:test-token", "webhook-secret", "twilio-auth-token"
METRICS = "a-metrics-token-long-enough-0123456789"
PUBLIC = "https://bot.example.org"


class Clock:
    """A clock the test moves by hand, so a 60 s cooldown takes no time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def hibp() -> Iterator[FakeHibp]:
    with FakeHibp({EMAIL: ["Adobe"]}) as fake:
        yield fake


@pytest.fixture
def index(tmp_path: Path) -> Iterator[BreachIndex]:
    index = BreachIndex(tmp_path / "breaches.db", PEPPER)
    index.add_breach(Breach("pk-test", "Test telecom leak", "2025-09", ("phone numbers",)))
    index.import_lines("pk-test", [INDEXED])
    yield index
    index.close()


def account_requests(fake: FakeHibp) -> int:
    return sum(r["path"].startswith("/breachedaccount/") for r in fake.requests)


# --- the breaker on its own ---
def test_breaker_opens_after_n_failures_and_lets_one_trial_through_after_the_cooldown():
    clock = Clock()
    breaker = Breaker(failures=3, cooldown=60.0, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.failure()
    breaker.success()  # a success in between starts the count again
    for _ in range(3):
        assert breaker.allow()
        breaker.failure()
    assert breaker.state == OPEN and not breaker.allow()
    clock.now += 59.9
    assert not breaker.allow()
    clock.now += 0.2
    assert breaker.state == HALF_OPEN
    assert breaker.allow() and not breaker.allow()  # one trial only
    breaker.failure()  # the trial failed: open for another cooldown at once
    assert breaker.state == OPEN and not breaker.allow()
    clock.now += 60.1
    assert breaker.allow()
    breaker.success()
    assert breaker.state == CLOSED and all(breaker.allow() for _ in range(5))


def test_a_trial_that_never_reports_back_does_not_block_for_ever():
    clock = Clock()
    breaker = Breaker(failures=1, cooldown=10.0, clock=clock)
    breaker.failure()
    clock.now += 10
    assert breaker.allow() and not breaker.allow()
    clock.now += 10
    assert breaker.allow()


# --- HIBP through the breaker, against the local server ---
@pytest.mark.parametrize("failure", [
    {"status": 500}, {"status": 503},
    {"status": 429, "headers": {"retry-after": "3600"}},  # a 429 we cannot wait out
    {"status": 0, "delay": 0.6},  # slower than the client's timeout
])
def test_hibp_failures_in_a_row_pause_calls_then_a_trial_resumes_them(hibp, failure):
    clock = Clock()
    client = HibpClient(KEY, hibp.url, timeout=0.3, breaker=Breaker(3, 60.0, clock))
    for _ in range(3):
        hibp.fail_next(failure["status"], failure.get("headers"), failure.get("delay", 0.0))
        with pytest.raises(LookupUnavailable) as raised:
            client.breached_account(EMAIL)
        assert not isinstance(raised.value, LookupPaused)
    started = time.monotonic()
    with pytest.raises(LookupPaused):
        client.breached_account(EMAIL)
    assert time.monotonic() - started < 0.05 and account_requests(hibp) == 3  # HIBP was not asked
    clock.now += 60
    assert [b["Name"] for b in client.breached_account(EMAIL)] == ["Adobe"]  # the trial call
    assert client.breaker.state == CLOSED and account_requests(hibp) == 4


def test_a_failed_trial_pauses_again_and_answers_do_not_count_as_failures(hibp):
    clock = Clock()
    client = HibpClient(KEY, hibp.url, breaker=Breaker(2, 60.0, clock))
    for status in (500, 502):
        hibp.fail_next(status)
        with pytest.raises(LookupUnavailable):
            client.breached_account(EMAIL)
    clock.now += 60
    hibp.fail_next(500)
    with pytest.raises(LookupUnavailable):
        client.breached_account(EMAIL)  # the trial, failed
    with pytest.raises(LookupPaused):
        client.breached_account(EMAIL)
    assert account_requests(hibp) == 3
    clock.now += 60
    assert client.breached_account("nobody@example.com") == []  # a 404 is an answer
    bad_key = HibpClient("wrong-key", hibp.url, breaker=Breaker(1, 60.0, clock))
    for _ in range(3):  # 401: our key is wrong, HIBP is up; the breaker stays closed
        with pytest.raises(LookupUnavailable):
            bad_key.breached_account(EMAIL)
    assert bad_key.breaker.state == CLOSED


def test_hibp_waits_are_small_and_bounded(hibp):
    assert TIMEOUT <= 3.0 and MAX_WAIT <= 2.0
    client = HibpClient(KEY, hibp.url)
    hibp.slow_next(TIMEOUT + 2)
    started = time.monotonic()
    with pytest.raises(LookupUnavailable):
        client.breached_account(EMAIL)
    assert time.monotonic() - started < TIMEOUT + 0.5
    hibp.fail_next(429, {"retry-after": "1"})  # short: waited out once, then answered
    started = time.monotonic()
    assert client.breached_account(EMAIL)
    assert 1.0 <= time.monotonic() - started < 1.5
    hibp.fail_next(429, {"retry-after": str(int(MAX_WAIT) + 1)})  # too long: not waited for
    started = time.monotonic()
    with pytest.raises(LookupUnavailable):
        client.breached_account(EMAIL)
    assert time.monotonic() - started < 0.5


def test_a_slow_429_is_not_retried_past_the_budget(hibp):
    client = HibpClient(KEY, hibp.url, timeout=1.0, budget=2.5)
    hibp.fail_next(429, {"retry-after": "1"}, delay=0.8)  # 0.8 + 1 wait + 1 s retry > 2.5
    started = time.monotonic()
    with pytest.raises(LookupUnavailable):
        client.breached_account(EMAIL)
    assert time.monotonic() - started < 1.5 and account_requests(hibp) == 1


# --- the dialogue while HIBP is paused ---
@pytest.mark.parametrize(("lang", "question"), [
    ("en", "was {email} leaked?"),
    ("ur", "کیا میری ای میل {email} لیک ہوئی ہے"),
    ("roman_ur", "kya meri email {email} leak hui hai"),
])
def test_while_paused_email_lookups_answer_at_once_in_the_persons_language(content, store, hibp, lang, question):
    client = HibpClient(KEY, hibp.url, breaker=Breaker(3, 60.0))
    bot = Bot(content, store, b"secret", lookup=BreachLookup(store, b"secret", None, client))
    for n in range(3):
        hibp.fail_next(503)
        (reply,) = bot.respond(Incoming("test", f"u{n}", question.format(email=EMAIL)))
        assert reply.text.startswith(content.text("breach_unavailable", reply.lang))
    started = time.monotonic()
    (reply,) = bot.respond(Incoming("test", "u9", question.format(email=EMAIL)))
    assert time.monotonic() - started < 0.5 and account_requests(hibp) == 3
    assert reply.lang == lang and reply.intent == "check_breach"
    assert reply.text.startswith(content.text("breach_paused", lang))
    assert content.text("breach_unavailable", lang) not in reply.text


def test_while_paused_the_local_index_is_still_used(content, store, hibp, index):
    clock = Clock()
    client = HibpClient(KEY, hibp.url, breaker=Breaker(1, 60.0, clock))
    bot = Bot(content, store, b"secret", lookup=BreachLookup(store, b"secret", index, client))
    hibp.fail_next(500)
    bot.respond(Incoming("test", "u1", f"was {EMAIL} leaked"))
    (reply,) = bot.respond(Incoming("test", "u2", f"was {EMAIL} leaked"))
    assert reply.text == content.text("breach_paused", "en") and account_requests(hibp) == 1
    (reply,) = bot.respond(Incoming("test", "u2", "was my number leaked", verified_phone=INDEXED))
    assert "Test telecom leak (September 2025)" in reply.text and account_requests(hibp) == 1
    clock.now += 60  # the cooldown is over: HIBP is asked again, and answers
    (reply,) = bot.respond(Incoming("test", "u3", f"was {EMAIL} leaked"))
    assert "Adobe (October 2013" in reply.text and account_requests(hibp) == 2


# --- the service: fixtures shared by the Telegram and database tests ---
def make_settings(tmp_path: Path, telegram: FakeTelegram, **changes: object) -> Settings:
    values: dict = dict(
        db_path=tmp_path / "bot.db", secret=b"s", content_dir=DEFAULT_DIR,
        telegram_token=TOKEN, telegram_secret=SECRET, telegram_api_url=telegram.url,
        twilio_auth_token=AUTH, twilio_account_sid=ACCOUNT_SID, public_url=PUBLIC,
        breach_db=tmp_path / "no-breaches.db", metrics_token=METRICS,
    )
    return Settings(**{**values, **changes})


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN) as fake:
        yield fake


@pytest.fixture
def app(tmp_path, telegram):
    return create_app(make_settings(tmp_path, telegram))


@pytest.fixture
def service(app) -> Iterator[httpx.Client]:
    with serve_asgi(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def post_update(client: httpx.Client, update: dict) -> httpx.Response:
    return client.post("/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})


def whatsapp(client: httpx.Client, body: str, sid: str) -> httpx.Response:
    form = {"MessageSid": message_sid(sid), "AccountSid": ACCOUNT_SID, "From": "whatsapp:+923001234567",
            "To": "whatsapp:+14155238886", "Body": body, "NumMedia": "0"}
    signature = RequestValidator(AUTH).compute_signature(f"{PUBLIC}/whatsapp", form)
    return client.post("/whatsapp", content=urlencode(form), headers={
        "content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})


def test_the_service_pauses_email_checks_when_hibp_keeps_failing(tmp_path, content, telegram, hibp):
    settings = make_settings(tmp_path, telegram, hibp_api_key=KEY, hibp_api_url=hibp.url)
    paused = content.text("breach_paused", "en")
    with serve_asgi(create_app(settings)) as url, httpx.Client(base_url=url, timeout=30) as client:
        for n in range(3):
            hibp.fail_next(500)
            assert "not available right now" in whatsapp(client, f"was {EMAIL} leaked", f"SMh{n}").text
        answer = whatsapp(client, f"was {EMAIL} leaked", "SMh9")
        assert answer.status_code == 200 and paused in answer.text and account_requests(hibp) == 3


# --- the Bot API failing: replies are retried, not lost ---
TOO_MANY = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1}}
BAD_GATEWAY = {"ok": False, "error_code": 502, "description": "Bad Gateway"}
QUESTION, INTENT = "how do i stop marketing calls", "stop_marketing_calls"


def test_a_429_is_waited_out_and_the_reply_sent_once(app, service, telegram):
    telegram.fail_next("sendMessage", 429, TOO_MANY)
    started = time.monotonic()
    assert post_update(service, text_update(1, 77, QUESTION)).status_code == 200
    assert time.monotonic() - started >= 1.0  # retry_after was respected
    (sent,) = telegram.succeeded("sendMessage")
    assert sent["text"].startswith(app.state.core.content.answer(INTENT, "en")) and int(sent["chat_id"]) == 77
    assert len(telegram.calls("sendMessage")) == 2


def test_5xx_answers_are_retried_with_backoff_and_the_reply_sent_once(app, service, telegram):
    telegram.fail_next("sendMessage", 502, BAD_GATEWAY)
    telegram.fail_next("sendMessage", 502, BAD_GATEWAY)
    started = time.monotonic()
    assert post_update(service, text_update(2, 77, QUESTION)).status_code == 200
    assert 0.6 <= time.monotonic() - started < 3.0  # 0.2 s, then 0.4 s
    (sent,) = telegram.succeeded("sendMessage")
    assert sent["text"].startswith(app.state.core.content.answer(INTENT, "en"))
    assert len(telegram.calls("sendMessage")) == 3


def test_a_dropped_connection_is_retried(app, service, telegram):
    telegram.disconnect_next("sendMessage")
    assert post_update(service, text_update(3, 77, QUESTION)).status_code == 200
    (sent,) = telegram.succeeded("sendMessage")
    assert sent["text"].startswith(app.state.core.content.answer(INTENT, "en"))


def test_retries_are_bounded(service, telegram):
    for _ in range(4):
        telegram.fail_next("sendMessage", 502, BAD_GATEWAY)
    started = time.monotonic()
    post_update(service, text_update(4, 77, QUESTION))
    assert len(telegram.calls("sendMessage")) == 4  # the first try and three retries
    assert time.monotonic() - started < 3.0 and telegram.succeeded("sendMessage") == []
    long_wait = {**TOO_MANY, "parameters": {"retry_after": 30}}
    telegram.fail_next("sendMessage", 429, long_wait)  # too long to wait in a webhook: not retried
    started = time.monotonic()
    post_update(service, text_update(5, 77, QUESTION))
    assert len(telegram.calls("sendMessage")) == 5 and time.monotonic() - started < 1.0


# --- the database locked by another connection ---
def hold_write_lock(path: Path) -> sqlite3.Connection:
    """A second connection to the same file that takes the write lock and keeps it."""
    other = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def release_after(other: sqlite3.Connection, seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, lambda: (other.execute("ROLLBACK"), other.close()))
    timer.start()
    return timer


def test_a_short_lock_is_waited_for(store):
    release_after(hold_write_lock(store.path), 0.5)
    started = time.monotonic()
    with store.transaction():
        store.save_user("k", UserState(lang="ur"))
    assert time.monotonic() - started >= 0.5
    assert store.get_user("k") == UserState(lang="ur")


def test_a_lock_past_the_busy_timeout_is_retried_then_refused_before_anything_is_done(store):
    store.db.execute("PRAGMA busy_timeout=100")
    other = hold_write_lock(store.path)
    started = time.monotonic()
    with pytest.raises(StoreBusy), store.transaction():
        store.save_user("k", UserState(lang="ur"))
    assert 0.3 <= time.monotonic() - started < 2.0  # three tries of 0.1 s, 0.15 s of backoff
    assert isinstance(StoreBusy("x"), sqlite3.OperationalError)  # old handlers still catch it
    other.execute("ROLLBACK")
    other.close()
    assert store.get_user("k") is None and not store.db.conn.in_transaction
    with store.transaction():  # the lock gone, the store works again
        store.save_user("k", UserState(lang="ur"))
    assert store.get_user("k") is not None


def test_a_failed_body_rolls_back(store):
    with pytest.raises(RuntimeError), store.transaction():
        store.save_user("k", UserState(lang="ur"))
        raise RuntimeError("crash")
    assert store.get_user("k") is None and not store.db.conn.in_transaction


def test_the_service_answers_once_a_short_lock_goes(tmp_path, app, service, telegram):
    release_after(hold_write_lock(tmp_path / "bot.db"), 1.0)
    started = time.monotonic()
    reply = whatsapp(service, QUESTION, "SMlock1")
    assert reply.status_code == 200 and "3627" in reply.text and time.monotonic() - started >= 1.0
    release_after(hold_write_lock(tmp_path / "bot.db"), 1.0)
    started = time.monotonic()
    assert post_update(service, text_update(6, 77, QUESTION)).status_code == 200
    assert time.monotonic() - started >= 1.0
    (sent,) = telegram.succeeded("sendMessage")
    assert "3627" in sent["text"]


def test_the_service_does_not_half_handle_a_message_under_a_long_lock(tmp_path, app, service):
    app.state.core.store.db.execute("PRAGMA busy_timeout=200")
    other = hold_write_lock(tmp_path / "bot.db")
    refused = whatsapp(service, QUESTION, "SMlock2")
    assert refused.status_code >= 500 and "3627" not in refused.text
    other.execute("ROLLBACK")
    other.close()
    again = whatsapp(service, QUESTION, "SMlock2")  # Twilio delivers it again: not a duplicate
    assert again.status_code == 200 and "3627" in again.text


def test_the_webhook_answers_503_under_a_long_lock(tmp_path, app, service):
    app.state.core.store.db.execute("PRAGMA busy_timeout=200")
    other = hold_write_lock(tmp_path / "bot.db")
    try:
        refused = whatsapp(service, QUESTION, "SMlock3")
        assert refused.status_code == 503 and refused.text == "db_locked"
        metrics = service.get("/metrics", headers={"Authorization": f"Bearer {METRICS}"})
        assert 'reason="db_locked"' in metrics.text
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_telegram_gets_503_under_a_long_lock_and_the_redelivery_is_answered(tmp_path, app, service, telegram):
    app.state.core.store.db.execute("PRAGMA busy_timeout=200")
    other = hold_write_lock(tmp_path / "bot.db")
    try:
        assert post_update(service, text_update(9, 77, QUESTION)).status_code == 503
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert post_update(service, text_update(9, 77, QUESTION)).status_code == 200
    (sent,) = telegram.succeeded("sendMessage")
    assert "3627" in sent["text"]
