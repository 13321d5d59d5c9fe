"""The attacks of issue 14's review and of issue 26's (the second review: pictures, the admin
page, alerts), each replayed over HTTP against `python -m bot serve` (a child process, as
deployed) with local fakes of HIBP, the Bot API and Twilio's Messages API, or in process where
the review measured a function. Each test failed on the code before the fixes. SECURITY.md
names them."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import random
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from cryptography.fernet import Fernet
from PIL import Image
from twilio.request_validator import RequestValidator

from bot.breaches.alerts import AlertStore
from bot.breaches.index import Breach, keyed_hash, normalise_identifier
from bot.config import Settings, user_key
from bot.dialogue import scam_text
from bot.dialogue.scam_report import mask_own_data
from bot.ops import misses
from bot.ops.logs import JsonFormatter
from bot.state.sqlite_store import DAY, Store
from bot.testing import hostile
from bot.testing.fake_hibp import KEY as HIBP_KEY
from bot.testing.fake_hibp import FakeHibp
from bot.testing.fake_telegram import FakeTelegram, contact_update, photo_update, text_update
from bot.testing.fake_twilio import FakeTwilio, message_sid
from bot.testing.hostile import jpeg_decode_bomb
from bot.testing.process import ROOT, ServiceProcess, service_env
from bot.testing.screenshots import fonts_available, screenshot
from bot.understanding import ocr
from bot.understanding.ocr import MAX_BYTES, ImageRefused, OcrPool, jpeg_scans
from bot.understanding.redact import find_sensitive, redact

TOKEN, SECRET, AUTH = "123:test-token", "webhook-secret", "twilio-auth-token"
PUBLIC_URL = "https://bot.example.org"
ACCOUNT = "AC" + "0" * 32  # what service_env sets as TWILIO_ACCOUNT_SID
OUR_NUMBER = "whatsapp:+14155238886"
ADMIN = "an-admin-token-long-enough-0123456789"
EMAILS = [f"person{n}@example.com" for n in range(6)]
ALERTS_KEY = Fernet.generate_key().decode()


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
                          ADMIN_TOKEN=ADMIN, BOT_WATCH_INTENTS="0", BOT_ALERTS_KEY=ALERTS_KEY,
                          BOT_ALERTS_DB=str(tmp / "alerts.db"))
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
    assert sent and any(w in sent[-1]["text"].lower() for w in ("never send", "do not send", "na bhejein", "نہ بھیجیں"))


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


def _slow_posts(rig: Rig, path: str, count: int) -> list[socket.socket]:
    """`count` connections that each promise a 1,000-byte form to `path` and send one byte."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", rig.service.port))
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
                     "\r\nContent-Length: 1000\r\n\r\nB".encode())
        sockets.append(sock)
    return sockets


# --- 6. slow bodies ---------------------------------------------------------------------
def test_slow_bodies_are_cut_off_and_a_client_going_away_is_no_error(rig: Rig):
    sockets = _slow_posts(rig, "/whatsapp", 60)
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


# === issue 26: the second review ==========================================================
needs_ocr = pytest.mark.skipif(
    not (ocr.available() and fonts_available()),
    reason="needs tesserocr, tesseract-ocr-eng, tesseract-ocr-urd and fonts-noto-core (.ci/run installs them)")
SCREENSHOT = "Your account will be blocked today, call this number now"


def picture_form(sender: str, url: str, kind: str = "image/png") -> dict[str, str]:
    return form_of(sender, "", message_sid(f"{sender}{url}{time.time_ns()}"), NumMedia="1", MediaUrl0=url,
                   MediaContentType0=kind)


def admin(rig: Rig, path: str, token: str = ADMIN, local: str | None = None, **headers: str) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=local) if local else None
    with httpx.Client(base_url=rig.service.url, transport=transport, timeout=30) as client:
        return client.get(path, headers={"Authorization": f"Bearer {token}", **headers})


def _start_of_a_minute() -> None:
    """The rate limit counts per clock minute: start early in one."""
    if time.time() % 60 > 35:
        time.sleep(61 - time.time() % 60)


# --- 1. one picture stops picture reading for everyone ------------------------------------
@needs_ocr
def test_a_decode_bomb_is_refused_and_another_persons_screenshot_is_read(rig: Rig):
    bomb = jpeg_decode_bomb()
    assert len(bomb) < MAX_BYTES and jpeg_scans(bomb) > 10_000  # passes the byte and pixel limits
    bomb_url, good_url = rig.twilio.add_media(bomb, "image/jpeg"), rig.twilio.add_media(
        screenshot(SCREENSHOT, width=720), "image/png")
    with ThreadPoolExecutor(2) as pool:
        bombed = pool.submit(post_form, rig.client, picture_form("whatsapp:+923001120001", bomb_url, "image/jpeg"))
        time.sleep(0.3)  # the bomb is first
        other = pool.submit(post_form, rig.client, picture_form("whatsapp:+923001120002", good_url))
        bombed_reply, other_reply = bombed.result(), other.result()  # the client waits 30 s at most
    assert bombed_reply.status_code == 200 and "too large" in bombed_reply.text
    assert other_reply.status_code == 200 and "blocked" in other_reply.text.lower()


@needs_ocr
def test_a_picture_that_overruns_the_limit_costs_its_worker_and_not_the_next_picture():
    # Without the scan count, the time limit alone: decoding is under it, in the worker.
    pool = OcrPool(workers=1, seconds=2.0, grace=0.5, max_scan_pixels=None)

    async def bomb_then_screenshot() -> list[object]:
        bombed = asyncio.create_task(pool.read(jpeg_decode_bomb()))
        await asyncio.sleep(0.2)
        return await asyncio.gather(bombed, pool.read(screenshot(SCREENSHOT, width=720)), return_exceptions=True)

    try:
        bombed, read = asyncio.run(bomb_then_screenshot())
    finally:
        pool.close()
    assert isinstance(bombed, ImageRefused) and bombed.reason == "timeout"
    assert isinstance(read, ocr.Reading) and "blocked" in read.text.lower()


# --- 2. slow uploads to /admin/login -------------------------------------------------------
def test_slow_bodies_to_admin_login_are_cut_off_like_the_webhooks(rig: Rig):
    sockets = _slow_posts(rig, "/admin/login", 40)
    assert rig.client.get("/healthz").status_code == 200
    time.sleep(2.0)
    assert sum(_closed(sock) for sock in sockets) >= 40 - 32  # past the cap of slow bodies: at once
    time.sleep(10)
    assert sum(_closed(sock) for sock in sockets) == 40  # none held past the body timeout
    for sock in sockets:
        sock.close()


# --- 4. slow patterns over user text ------------------------------------------------------
def test_no_pattern_over_user_text_is_slow_on_adversarial_4kb_texts():
    """Each function that runs a regex over what people send (outside the scam rules) costs
    at most a few times what it costs on ordinary text of the same length, on every text of
    bot.testing.hostile's adversarial set (the misses masker's "at" before a run of spaces
    took 400 times as long)."""
    formatter = JsonFormatter()
    functions = {
        "redact": redact, "find_sensitive": find_sensitive, "normalise": hostile.normaliser().normalise,
        "detect_language": hostile.normaliser().detect_language, "ocr.clean": ocr.clean,
        "misses._printable": misses._printable, "mask_own_data": mask_own_data,
        "log line": lambda text: formatter.format(logging.LogRecord("x", logging.INFO, "", 0, text, None, None)),
    }
    slow = {name: found for name, fn in functions.items() if (found := hostile.slow_texts(fn, bound=12))}
    assert not slow, slow


def test_telling_a_pasted_message_from_the_persons_words_is_never_slow():
    """The scam check's own-words patterns (data, in scam_check.yaml) run over every pasted
    message. Many alternatives tried at every word make a dense 4 KB text cost up to about 20
    times ordinary prose (17 ms), growing with its length, never with its square: a greeting
    pattern anchored at both ends (`^\\W*(hi)?\\W*(sir)?\\W*$`) took minutes on a run of
    punctuation before a word, until its runs were made possessive."""
    own_words = scam_text.own_words(hostile.content().intents["scam_check"].extra["own_words"])

    def read(text: str) -> None:
        scam_text.normalise.cache_clear()  # each text read afresh
        scam_text.read(text, own_words)

    assert hostile.slow_texts(read, bound=40) == {}


@pytest.mark.parametrize("attack", [" " * 4090 + "quokka", ("house" + " " * 4096)[:4096]])
def test_a_4kb_run_of_spaces_in_a_miss_costs_what_ordinary_text_costs(rig: Rig, attack: str):
    """Over HTTP, as the review measured it: messages the bot does not understand (so they
    are masked and kept) with a run of spaces, beside ordinary text of the same length; the
    least of three of each, compared (the misses masker took 0.4 to 2 s over such a run)."""
    def cost(text: str, sender: str) -> float:
        times = []
        for n in range(3):
            started = time.perf_counter()
            say(rig, f"{sender}{n}", text)
            times.append(time.perf_counter() - started)
        return min(times)

    control = cost(hostile.control_text(), "whatsapp:+92300113000")
    spent = cost(attack, f"whatsapp:+9230011{len(attack) % 7}{attack[-1] == 'a':d}0")
    assert spent < 3 * control, (spent, control)


# --- 6. spelled-out emails in the misses, on /admin ---------------------------------------
@pytest.mark.parametrize("spelled", ["x at the rate gmail dot com", "x @ gmail . com", "x(at)gmail(dot)com"])
def test_spelled_out_emails_are_masked_in_the_misses_and_on_admin(rig: Rig, spelled: str):
    say(rig, "whatsapp:+923001160001", f"mera email {spelled} hai, quokkafalls jaisa")
    with sqlite3.connect(rig.db) as db:
        texts = [row[0] for row in db.execute("SELECT text FROM misses WHERE text LIKE '%quokkafalls%'")]
    assert texts and not any("gmail" in t for t in texts), texts
    page = admin(rig, "/admin/data.json")
    assert "quokkafalls" in page.text and "gmail" not in page.text


def test_log_lines_go_through_the_same_masker():
    line = JsonFormatter().format(logging.LogRecord("lib", logging.INFO, "", 0, "lookup for %s", (
        "sara at the rate gmail dot com",), None))
    assert "gmail" not in line and "<email>" in line


# --- 7. alerts lost on a crash ------------------------------------------------------------
def test_a_sender_killed_mid_batch_loses_no_alert(tmp_path: Path):
    pepper, people = "crash-test-pepper", 60
    alerts = AlertStore(tmp_path / "alerts.db", pepper.encode(), ALERTS_KEY)
    numbers = [f"+9230012{n:05d}" for n in range(people)]
    for n, number in enumerate(numbers):
        alerts.subscribe(f"p{n}", "telegram", str(9_000_000 + n), number, "en")
    alerts.queue(Breach("pk-crash", "Crash test leak", "2026-01", ("phone numbers",)),
                 [keyed_hash(pepper.encode(), normalise_identifier(n)) for n in numbers])
    alerts.close()
    with FakeTelegram(TOKEN) as telegram:
        telegram.slow("sendMessage", 0.05)
        env = service_env(tmp_path / "bot.db", telegram.url, token=TOKEN, webhook_secret=SECRET,
                          twilio_token=AUTH, public_url=PUBLIC_URL, BOT_ALERTS_KEY=ALERTS_KEY,
                          BOT_ALERTS_DB=str(tmp_path / "alerts.db"), BREACH_PEPPER=pepper,
                          BOT_ALERTS_LEASE="2")
        command = [sys.executable, "-m", "bot", "alerts", "send"]
        sender = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        telegram.wait_for("sendMessage", 5, timeout=60)
        sender.send_signal(signal.SIGKILL)  # mid-batch, no finally runs
        sender.wait()
        killed_after = len(telegram.calls("sendMessage"))
        # Started again: what the dead sender held is taken back once its lease ran out.
        again = subprocess.run([*command, "--wait", "10"], cwd=ROOT, env=env, capture_output=True, timeout=120)
        assert again.returncode == 0, again.stderr.decode()[-2000:]
        chats = [int(c["chat_id"]) for c in telegram.succeeded("sendMessage")]
    assert 5 <= killed_after < people
    assert set(chats) == {9_000_000 + n for n in range(people)}  # every alert went
    assert len(chats) <= people + 1  # the one going when it was killed may go twice, no more


# --- 8. alerts in a group chat ------------------------------------------------------------
def test_alerts_and_stop_alerts_in_a_group_get_a_private_link(rig: Rig):
    user, group = 6_100_001, -100_777
    post = partial(rig.client.post, "/telegram", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    post(json=text_update(810_001, user, "/alerts"))  # in private: asks for the contact
    post(json=contact_update(810_002, user, "+923001180001", user))  # subscribed
    assert "until" in rig.telegram.calls("sendMessage")[-1]["text"]
    for update_id, text in ((810_003, "/alerts"), (810_004, "stop alerts")):
        update = text_update(update_id, user, text)
        update["message"]["chat"] = {"id": group, "type": "supergroup", "title": "Family"}
        post(json=update)
        to_group = [c["text"] for c in rig.telegram.calls("sendMessage") if int(c["chat_id"]) == group]
        assert "https://t.me/mehfooz_test_bot" in to_group[-1]
        assert "renewed" not in to_group[-1] and "stopped" not in to_group[-1].lower()
    post(json=text_update(810_005, user, "/alerts"))  # still subscribed: the group stopped nothing
    assert "renewed" in rig.telegram.calls("sendMessage")[-1]["text"]


# --- 9. /admin and the square of the misses -----------------------------------------------
def test_grouping_misses_compares_only_the_new_ones():
    grouper = misses.MissGrouper(hostile.normaliser().normalise)
    rng = random.Random(26)
    rows = [(n, "en", " ".join("".join(rng.choices("bcdfghklmnprstvz", k=6)) for _ in range(600)))
            for n in range(150)]  # 150 long misses, no two alike
    assert len(grouper.group(rows)) == 150
    first = grouper.compared
    assert first <= 150 * 149 // 2  # the first view compares each pair once at most
    grouper.group(rows)
    assert grouper.compared == first  # a second view compares nothing
    grouper.group([*rows, (999, "en", "something new entirely")])
    assert grouper.compared - first <= 150  # a new miss: once against each group


def test_admin_with_many_long_misses_answers_in_seconds(rig: Rig):
    rng = random.Random(9)
    bodies = [" ".join("".join(rng.choices("bcdfghklmnprstvz", k=6)) for _ in range(570)) for _ in range(150)]
    with ThreadPoolExecutor(4) as pool:  # 150 people, one 4 KB miss each, no two alike
        list(pool.map(lambda n: say(rig, f"whatsapp:+9230019{n:05d}", bodies[n]), range(150)))
    for _ in range(2):
        started = time.perf_counter()
        assert admin(rig, "/admin").status_code == 200
        assert time.perf_counter() - started < 10  # 18 to 25 s a view before


# --- 10. pictures and the rate limit ------------------------------------------------------
def test_pictures_count_in_the_rate_limit_before_they_are_fetched(rig: Rig):
    _start_of_a_minute()
    blank = io.BytesIO()
    Image.new("L", (64, 64), 255).save(blank, "PNG")
    url = rig.twilio.add_media(blank.getvalue(), "image/png")
    def fetched() -> int:  # requests for the media (each then redirected to the store)
        return sum(path.startswith("/2010-04-01/") for path in rig.twilio.fetched)

    before, sender = fetched(), "whatsapp:+923001200001"
    with ThreadPoolExecutor(27) as pool:
        replies = list(pool.map(lambda _: post_form(rig.client, picture_form(sender, url)), range(27)))
    assert all(r.status_code == 200 for r in replies)
    assert fetched() - before == 20  # the limit is 20 a minute; all 27 were fetched before
    assert sum("very fast" in r.text for r in replies) == 1  # told once, then silence


# --- 11. /metrics -------------------------------------------------------------------------
def test_metrics_need_a_token(rig: Rig):
    assert rig.client.get("/metrics").status_code == 401
    assert rig.client.get("/metrics", headers={"Authorization": "Bearer guess"}).status_code == 401
    page = rig.client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN}"})
    assert page.status_code == 200 and "mehfooz_messages_total" in page.text


# --- 12. the admin throttle behind a proxy ------------------------------------------------
def test_behind_a_proxy_guessing_locks_out_only_the_guesser_and_never_the_right_token(rig: Rig):
    # The service trusts X-Forwarded-For from 127.0.0.1 (serve --forwarded-allow-ips, the default).
    guesser, owner = {"X-Forwarded-For": "203.0.113.9"}, {"X-Forwarded-For": "198.51.100.7"}
    statuses = [admin(rig, "/admin/data.json", f"guess{n}", **guesser).status_code for n in range(11)]
    assert statuses == [401] * 10 + [429]
    assert admin(rig, "/admin/data.json", **owner).status_code == 200  # another client behind the proxy
    assert admin(rig, "/admin/data.json", **guesser).status_code == 200  # the right token, from anywhere
    # From a client that is not a trusted proxy, X-Forwarded-For counts for nothing.
    spoofed = [admin(rig, "/admin/data.json", f"guess{n}", local="127.0.0.6",
                     **{"X-Forwarded-For": f"192.0.2.{n}"}).status_code for n in range(11)]
    assert spoofed == [401] * 10 + [429]


# --- 13. getFile paths and bidi controls --------------------------------------------------
def test_a_getfile_path_with_dot_segments_is_not_fetched(rig: Rig):
    file_id = rig.telegram.add_file(b"\x89PNG not really", path=f"../../bot{TOKEN}/getWebhookInfo")
    before = len(rig.telegram.calls("getWebhookInfo"))
    update = photo_update(820_001, 6_200_001, file_id, (720, 1280), 100)
    assert rig.client.post("/telegram", json=update,
                           headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}).status_code == 200
    assert len(rig.telegram.calls("getWebhookInfo")) == before  # nothing fetched outside /file/bot<token>/
    sent = [c["text"] for c in rig.telegram.calls("sendMessage") if int(c["chat_id"]) == 6_200_001]
    assert sent and "could not" in sent[-1].lower()


def test_bidi_controls_from_people_never_reach_the_admin_page_raw(rig: Rig):
    for n in range(5):  # among the top groups shown
        say(rig, f"whatsapp:+92300121000{n}", "quokkabidi \u202eexe.gpj\u202c and \u2066isolated\u2069 text")
    page = admin(rig, "/admin").text
    assert "quokkabidi" in page
    assert not any(c in page for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
