"""The attacks of issue 14's review, each replayed over HTTP against `python -m bot serve` (a
child process, as deployed) with local fakes of HIBP, the Bot API and Twilio's Messages API.
Each test failed on the code before the fixes. SECURITY.md names them."""

from __future__ import annotations

import os
import socket
import sqlite3
import stat
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from bot.config import Settings, user_key
from bot.state.sqlite_store import DAY, Store
from bot.testing.fake_hibp import KEY as HIBP_KEY
from bot.testing.fake_hibp import FakeHibp
from bot.testing.fake_telegram import FakeTelegram, contact_update, text_update
from bot.testing.fake_twilio import FakeTwilio, message_sid
from bot.testing.process import ServiceProcess, service_env

TOKEN, SECRET, AUTH = "123:test-token", "webhook-secret", "twilio-auth-token"
PUBLIC_URL = "https://bot.example.org"
ACCOUNT = "AC" + "0" * 32  # what service_env sets as TWILIO_ACCOUNT_SID
OUR_NUMBER = "whatsapp:+14155238886"
ADMIN = "an-admin-token-long-enough-0123456789"
EMAILS = [f"person{n}@example.com" for n in range(6)]


@dataclass
class Rig:
    service: ServiceProcess
    client: httpx.Client
    telegram: FakeTelegram
    hibp: FakeHibp
    twilio: FakeTwilio
    db: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    tmp = tmp_path_factory.mktemp("attacks")
    with (FakeTelegram(TOKEN) as telegram, FakeHibp({e: ["Adobe"] for e in EMAILS}) as hibp,
          FakeTwilio(ACCOUNT, AUTH) as twilio):
        env = service_env(tmp / "bot.db", telegram.url, token=TOKEN, webhook_secret=SECRET,
                          twilio_token=AUTH, public_url=PUBLIC_URL, HIBP_API_KEY=HIBP_KEY,
                          HIBP_API_URL=hibp.url, TWILIO_API_URL=twilio.url,
                          TWILIO_WHATSAPP_FROM=OUR_NUMBER, BREACH_DB=str(tmp / "none.db"),
                          ADMIN_TOKEN=ADMIN, BOT_WATCH_INTENTS="0")
        with ServiceProcess(env, tmp / "service.log") as service, \
                httpx.Client(base_url=service.url, timeout=30) as client:
            yield Rig(service, client, telegram, hibp, twilio, tmp / "bot.db", env)


def form_of(sender: str, body: str, sid: str, **extra: str) -> dict[str, str]:
    return {"MessageSid": sid, "AccountSid": ACCOUNT, "From": sender, "To": OUR_NUMBER, "Body": body,
            "NumMedia": "0", **extra}


def post_form(client: httpx.Client, form: dict[str, str], signed_form: dict[str, str] | None = None,
              query: str = "") -> httpx.Response:
    """POST a WhatsApp form signed as Twilio signs (over `signed_form`, the form by default)."""
    url = f"{PUBLIC_URL}/whatsapp" + (f"?{query}" if query else "")
    signature = RequestValidator(AUTH).compute_signature(url, signed_form or form)
    return client.post("/whatsapp" + (f"?{query}" if query else ""), content=urlencode(form),
                       headers={"content-type": "application/x-www-form-urlencoded",
                                "X-Twilio-Signature": signature})


def say(rig: Rig, sender: str, body: str) -> str:
    response = post_form(rig.client, form_of(sender, body, message_sid(f"{sender}{time.time_ns()}")))
    assert response.status_code == 200, response.text
    return response.text


def lookups(hibp: FakeHibp) -> list[str]:
    return [r["path"] for r in hibp.requests if r["path"].startswith("/breachedaccount/")]


# --- 1. "delete my data" resets no limit -------------------------------------------------
def test_deleting_my_data_resets_neither_the_lookup_allowance_nor_the_rate_limit(rig: Rig):
    if time.time() % 60 > 35:  # the rate limit counts per clock minute: start early in one
        time.sleep(61 - time.time() % 60)
    sender = "whatsapp:+923001110001"
    before = len(lookups(rig.hibp))
    for round_ in range(2):
        for email in EMAILS[round_ * 3:(round_ + 1) * 3]:
            say(rig, sender, f"was {email} leaked")
        say(rig, sender, "delete my data")
        assert "erased" in say(rig, sender, "yes")
    # Three different emails a day, deletion or not: the second round was refused.
    assert len(lookups(rig.hibp)) - before == 3
    # The rate limit counted on through the deletions: 10 messages so far, the 21st is refused.
    replies = [say(rig, sender, "hi") for _ in range(15)]
    assert "very fast" in replies[10]
    assert not any("<Message>" in r for r in replies[11:])


# --- 2. nobody waits for someone else's slow HIBP -----------------------------------------
def test_a_slow_hibp_holds_up_nobody_else_and_the_result_follows(rig: Rig):
    rig.hibp.delay = 2.5
    sent_before = len(rig.twilio.messages)
    slow_sender = "whatsapp:+923001110002"
    try:
        with ThreadPoolExecutor(3) as pool:
            checking = [pool.submit(say, rig, slow_sender, f"was {email} leaked") for email in EMAILS[:3]]
            time.sleep(0.3)  # the three lookups are in flight
            times = []
            for n in range(20):
                started = time.perf_counter()
                assert "<Message>" in say(rig, f"whatsapp:+92300222{n:04d}", "hi")
                times.append(time.perf_counter() - started)
            answers = [c.result() for c in checking]
    finally:
        rig.hibp.delay = 0.0
    assert max(times) < 0.3, times  # p99 of 20 is the slowest
    assert all("Checking" in a for a in answers)  # at once, not after 2.5 s
    results = rig.twilio.wait_for(sent_before + 3, timeout=30)[sent_before:]
    assert len(results) == 3 and all(m["To"] == slow_sender and "Adobe" in m["Body"] for m in results)


def test_an_outside_lock_on_the_database_does_not_stall_healthz(rig: Rig):
    holder = sqlite3.connect(rig.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(post_form, rig.client, form_of("whatsapp:+923001110003", "hi",
                                                                 message_sid("locked")))
            time.sleep(0.3)  # that message now waits on the lock
            started = time.perf_counter()
            rig.client.get("/healthz")
            assert time.perf_counter() - started < 1.5
            assert waiting.result().status_code == 503  # refused whole: Twilio may deliver again
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# --- 3. a captured Twilio request cannot become a new message -----------------------------
def test_a_moved_boundary_in_a_signed_form_is_refused(rig: Rig):
    victim = form_of("whatsapp:+923001110004", f"was {EMAILS[0]} leaked", message_sid("victim"))
    assert post_form(rig.client, victim).status_code == 200
    # Twilio signs names and values run together: MessageSid=X, NumMedia=0 signs as "MessageSidXNumMedia0".
    forged = {k: v for k, v in victim.items() if k != "NumMedia"}
    forged["MessageSid"] = victim["MessageSid"] + "NumMedia0"
    response = post_form(rig.client, forged, signed_form=victim)
    assert response.status_code == 400 and "<Message>" not in response.text


def test_a_replay_after_the_old_seen_retention_is_still_refused(rig: Rig):
    form = form_of("whatsapp:+923001110005", "hi", message_sid("replayed"))
    assert "<Message>" in post_form(rig.client, form).text
    # The hourly purge, three days on (the old retention of seen ids was two days).
    store = Store(rig.db)
    store.purge(Settings.from_env(rig.env).retention, now=time.time() + 3 * DAY)
    store.close()
    again = post_form(rig.client, form)
    assert again.status_code == 200 and "<Message>" not in again.text


def test_only_whatsapp_senders_of_our_account_count_and_the_query_is_signed(rig: Rig):
    for sender in ("+923001110006", "sms:+923001110006", "messenger:123456"):
        reply = say(rig, sender, "was my number leaked")
        assert "cannot verify your phone number" in reply  # no lookup of an unverified number
    other_account = form_of("whatsapp:+923001110007", "hi", message_sid("other"), AccountSid="AC" + "1" * 32)
    assert post_form(rig.client, other_account).status_code == 400
    with_query = form_of("whatsapp:+923001110007", "hi", message_sid("query"))
    assert "<Message>" in post_form(rig.client, with_query, query="source=twilio").text


# --- 4. one-time codes in their common wordings -------------------------------------------
@pytest.mark.parametrize("text", [
    "Your WhatsApp code: 482-913", "482913 is your Facebook confirmation code",
    "G-482913 is your Google verification code", "آپ کا تصدیقی کوڈ 482913 ہے",
    "aap ka code 4829 hai", "mera cnic 35202–1234567–1", "cnic 35202.1234567.1",
    "card 4111.1111.1111.1111",
])
def test_common_codes_and_ids_are_caught_and_the_message_deleted(rig: Rig, text: str):
    user = 5_000_000 + abs(hash(text)) % 1_000_000
    before = len(rig.telegram.calls("deleteMessage"))
    update_id = 700_000 + user % 100_000
    response = rig.client.post("/telegram", json=text_update(update_id, user, text),
                               headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert response.status_code == 200
    assert len(rig.telegram.calls("deleteMessage")) == before + 1
    sent = [c for c in rig.telegram.calls("sendMessage") if int(c["chat_id"]) == user]
    assert sent and any(w in sent[-1]["text"].lower() for w in ("do not send", "na bhejein", "نہ بھیجیں"))


# --- 5. nothing of a deleted person survives, even past a reader --------------------------
def test_deleted_rows_leave_no_trace_in_any_file_with_a_reader_held_open(rig: Rig):
    sender = "whatsapp:+923001110008"
    marker = "zanzibarquokka"
    say(rig, sender, f"blah blah the {marker} weather tomorrow")  # a miss, kept masked
    key = user_key(b"test-secret", "whatsapp", sender).encode()
    assert marker.encode() in _raw(rig.db)
    reader = sqlite3.connect(rig.db, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM users").fetchone()  # holds a snapshot from before
    try:
        say(rig, sender, "delete my data")
        say(rig, sender, "yes")
        time.sleep(0.5)  # the checkpoint cannot truncate while the reader holds old pages
    finally:
        reader.execute("COMMIT")
        reader.close()
    deadline = time.monotonic() + 10
    while (marker.encode() in _raw(rig.db) or key in _raw(rig.db)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.encode() not in _raw(rig.db) and key not in _raw(rig.db)


def _raw(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())


def test_database_files_are_readable_by_their_owner_only(rig: Rig):
    say(rig, "whatsapp:+923001110009", "hi")
    for path in (rig.db, rig.db.with_name(rig.db.name + "-wal"), rig.db.with_name(rig.db.name + "-shm")):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


# --- 6. slow bodies ---------------------------------------------------------------------
def test_slow_bodies_are_cut_off_and_a_client_going_away_is_no_error(rig: Rig):
    sockets = []
    for _ in range(60):
        sock = socket.create_connection(("127.0.0.1", rig.service.port))
        sock.sendall(b"POST /whatsapp HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
                     b"\r\nContent-Length: 1000\r\n\r\nB")
        sockets.append(sock)
    started = time.perf_counter()
    assert rig.client.get("/healthz").status_code == 200
    assert time.perf_counter() - started < 0.5
    time.sleep(2.0)
    closed = sum(_closed(sock) for sock in sockets)
    assert closed >= 60 - 32  # past the cap of slow bodies: refused at once
    time.sleep(10)
    assert sum(_closed(sock) for sock in sockets) == 60  # none held past the body timeout
    for sock in sockets:
        sock.close()
    # A client that sends half a body and goes away: a debug line, not an ERROR with a traceback.
    logged = rig.service.log_path.stat().st_size
    sock = socket.create_connection(("127.0.0.1", rig.service.port))
    sock.sendall(b"POST /telegram HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                 b"X-Telegram-Bot-Api-Secret-Token: " + SECRET.encode() + b"\r\n\r\n{")
    sock.close()
    time.sleep(1.0)
    with rig.service.log_path.open("rb") as log:
        log.seek(logged)
        since = log.read().decode(errors="replace")
    assert "Traceback" not in since and '"level": "error"' not in since


def _closed(sock: socket.socket) -> bool:
    """The server answered (408) or closed the connection; not still waiting for the body."""
    sock.settimeout(0.05)
    try:
        sock.recv(1, socket.MSG_PEEK)
        return True
    except TimeoutError:
        return False
    except OSError:
        return True


# --- 7. weaker points -------------------------------------------------------------------
def test_a_contact_shared_in_a_group_gets_a_private_link_not_a_lookup(rig: Rig):
    update = contact_update(800_001, 6_000_001, "+923001110010", 6_000_001)
    update["message"]["chat"] = {"id": -100123, "type": "supergroup", "title": "Family"}
    rig.client.post("/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    to_group = [c["text"] for c in rig.telegram.calls("sendMessage") if int(c["chat_id"]) == -100123]
    assert to_group and "https://t.me/mehfooz_test_bot" in to_group[-1]
    assert not any("breach" in text.lower() or "not found" in text.lower() for text in to_group)


def test_a_duplicate_while_sendmessage_is_slow_is_not_sent_twice(rig: Rig):
    user = 6_000_002
    update = text_update(800_002, user, "hi")
    rig.telegram.slow("sendMessage", 2.0)
    try:
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(rig.client.post, "/telegram", json=update,
                                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            time.sleep(1.2)  # past the 1 s a fresh hold counts as a delivery under way
            second = pool.submit(rig.client.post, "/telegram", json=update,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            statuses = first.result().status_code, second.result().status_code
    finally:
        rig.telegram.slow("sendMessage", 0.0)
    assert statuses == (200, 200)
    assert len([c for c in rig.telegram.calls("sendMessage") if int(c["chat_id"]) == user]) == 1


def test_admin_throttles_bearer_guesses_and_reads_days_as_ascii_digits(rig: Rig):
    bearer = {"Authorization": f"Bearer {ADMIN}"}
    assert rig.client.get("/admin/data.json?days=²", headers=bearer).status_code == 200
    with httpx.Client(base_url=rig.service.url,
                      transport=httpx.HTTPTransport(local_address="127.0.0.5")) as guesser:
        statuses = [guesser.get("/admin/data.json", headers={"Authorization": f"Bearer guess{n}"}).status_code
                    for n in range(11)]
    assert statuses == [401] * 10 + [429]
    assert rig.client.get("/admin/data.json", headers=bearer).status_code == 200  # not locked out


def test_a_short_admin_token_leaves_admin_off(tmp_path: Path):
    with FakeTelegram(TOKEN) as telegram:
        env = service_env(tmp_path / "bot.db", telegram.url, token=TOKEN, webhook_secret=SECRET,
                          twilio_token=AUTH, public_url=PUBLIC_URL, ADMIN_TOKEN="short")
        with ServiceProcess(env, tmp_path / "service.log") as service:
            response = httpx.get(f"{service.url}/admin/data.json", headers={"Authorization": "Bearer short"})
            assert response.status_code == 404


def test_misses_and_the_scam_record_go_with_the_person(rig: Rig):
    sender = "whatsapp:+923001110011"
    say(rig, sender, "sara dot ahmed at gmail dot com and my name is Sara Ahmed, what about quokkaland")
    scam = "Mubarak ho! Aap ka 50,000 ka inaam nikla hai. Registration fee 1500 rupay is number par bhejein"
    say(rig, sender, scam)
    with sqlite3.connect(rig.db) as db:
        texts = [row[0] for row in db.execute("SELECT text FROM misses WHERE text LIKE '%quokkaland%'")]
        assert texts and all("sara" not in t.lower() and "ahmed" not in t.lower() for t in texts)
        checks = db.execute("SELECT count(*) FROM scam_checks").fetchone()[0]
    say(rig, sender, "delete my data")
    say(rig, sender, "yes")
    with sqlite3.connect(rig.db) as db:
        assert not db.execute("SELECT count(*) FROM misses WHERE text LIKE '%quokkaland%'").fetchone()[0]
        assert db.execute("SELECT count(*) FROM scam_checks").fetchone()[0] == checks - 1
