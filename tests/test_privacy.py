"""Privacy by design, end to end.

A scripted session over both webhooks (Telegram and signed Twilio posts to the service under
uvicorn on loopback) and the terminal (the chat loop in process, and `python -m bot chat` as a
subprocess) sends phone numbers, emails, CNICs, card numbers, one-time codes and passwords, in
questions, in forwarded scams and as lookups. Then every table, the raw bytes of the database
files and every log record (all loggers, DEBUG and up) are searched for them.

Also: what `/privacy` and the `bot_privacy` intent say is kept, checked against what the code
keeps; "delete my data" in three languages and on three channels; and expiry by
`python -m bot purge` and by the service's periodic purge task."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from bot.channels.terminal import run_chat
from bot.config import Settings, keyed, user_key
from bot.dialogue.messages import Incoming
from bot.runtime import build_bot
from bot.service import create_app, purge_every
from bot.state.sqlite_store import DAY, Retention, Store, UserState
from bot.testing.fake_hibp import KEY as HIBP_KEY
from bot.testing.fake_hibp import FakeHibp
from bot.testing.fake_telegram import FakeTelegram, button_update, contact_update, text_update
from bot.testing.http import free_port, serve_asgi
from bot.understanding.normalise import LANGS
from bot.understanding.redact import find_sensitive, luhn_valid
from tests.conftest import ROOT
from tests.test_channels import (  # noqa: F401 - service and telegram_api are fixtures
    TOKEN,
    make_settings,
    messages,
    post_update,
    service,
    telegram_api,
    whatsapp,
)

SECRET = b"s"  # the BOT_SECRET of make_settings: user keys are computed with it

# --- the personal data the session sends ---
PHONE_FORMS = ["+923001234567", "0300-1234567", "03001234567", "92 300 1234567", "۰۳۰۰۱۲۳۴۵۶۷"]
WA_SENDERS = ["whatsapp:+923001234567", "whatsapp:+923217654321"]
TG_CONTACT_PHONE = "+923451112233"  # shared on Telegram as the sender's own contact
TERMINAL_PHONE = "03335556677"  # `python -m bot chat --as-phone`
EMAILS = ["me@example.com", "Ali.Khan@Example.PK", "sana.k+bank@gmail.com"]
CNICS = ["35202-1234567-1", "3520212345671", "42101-7654321-3"]
CARDS = ["4539 1488 0343 6467", "5425-2334-3010-9903"]
OTPS = ["482913", "739201", "615204"]  # six digits: searched for as bare digits too
SHORT_OTP_PHRASES = ["code 5521"]  # four digits alone are too common (ports, counts) to search
PASSWORDS = ["Hunter2!x", "Lahore@786"]
TG_USERS = [
    {"id": 777000123, "is_bot": False, "first_name": "Zarmeena", "last_name": "Qureshi",
     "username": "zarmeena_q", "language_code": "ur"},
    {"id": 880011223, "is_bot": False, "first_name": "Shahzaib", "username": "shahzaib_pk"},
]


def digits(text: str) -> str:
    return re.sub(r"\D", "", text.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")))


def needles() -> dict[str, re.Pattern[bytes]]:
    """Every form in which the session's personal data could show up, as byte patterns
    searched case-insensitively (UTF-8 for Urdu digits). Short digit runs must stand alone."""
    forms: set[str] = set()
    phones = [*PHONE_FORMS, *(s.removeprefix("whatsapp:") for s in WA_SENDERS), TG_CONTACT_PHONE,
              TERMINAL_PHONE]
    for phone in phones:
        national = digits(phone)[-10:]  # 3001234567
        forms |= {phone, national, "0" + national, "92" + national, "+92" + national}
    forms |= set(WA_SENDERS)
    for email in EMAILS:
        forms |= {email, email.lower(), quote(email, safe=""), quote(email.lower(), safe="")}
    for secret in [*CNICS, *CARDS]:
        forms |= {secret, digits(secret)}
    forms |= {*OTPS, *SHORT_OTP_PHRASES, *PASSWORDS}
    forms |= {"".join("۰۱۲۳۴۵۶۷۸۹"[int(d)] for d in otp) for otp in OTPS}
    for user in TG_USERS:
        forms |= {str(user["id"]), user["first_name"], user["username"], user.get("last_name", "")}
    forms.discard("")
    patterns = {}
    for form in sorted(forms):
        body = re.escape(form.lower().encode())
        if form.isdigit() and len(form) < 8:
            body = rb"(?<![0-9])" + body + rb"(?![0-9])"
        patterns[form] = re.compile(body)
    return patterns


NEEDLES = needles()


def found(haystack: str | bytes) -> set[str]:
    """The personal values present in `haystack`."""
    data = (haystack.encode() if isinstance(haystack, str) else haystack).lower()
    return {form for form, pattern in NEEDLES.items() if pattern.search(data)}


# --- capturing every log record ---
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class Capture(logging.Handler):
    """Every record of every logger, formatted with its args, its `extra` fields and any
    exception text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, int, str]] = []  # (logger, level, line)
        self._levels: dict[logging.Logger, int] = {}
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        line = f"{record.name} {record.levelname} {record.getMessage()} {extra!r}"
        if record.exc_info:
            line += " " + self._formatter.formatException(record.exc_info)
        self.lines.append((record.name, record.levelno, line))

    def widen(self) -> None:
        """Every logger to DEBUG; this handler on the root and on every logger that does not
        pass records up (uvicorn's). Called again once uvicorn has configured its loggers."""
        loggers = [logging.getLogger()] + [
            lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)
        ]
        for logger in loggers:
            self._levels.setdefault(logger, logger.level)
            logger.setLevel(logging.DEBUG)
            if (logger is logging.getLogger() or not logger.propagate) and self not in logger.handlers:
                logger.addHandler(self)

    def restore(self) -> None:
        for logger, level in self._levels.items():
            logger.setLevel(level)
            if self in logger.handlers:
                logger.removeHandler(self)


@contextmanager
def captured_logs() -> Iterator[Capture]:
    capture = Capture()
    capture.widen()
    try:
        yield capture
    finally:
        capture.restore()


# --- the scripted session ---
@dataclass
class Session:
    tables: dict[str, list[tuple]]
    raw: dict[str, bytes]  # file name -> bytes, while running and after shutdown
    logs: list[tuple[str, int, str]]
    replies: list[str]  # every reply text, all channels
    terminal_stderr: str
    hibp_paths: list[str]
    tg_calls: dict[str, list[dict]]  # method -> calls the fake Bot API received


def tg_update(update_id: int, user: dict, text: str) -> dict:
    update = text_update(update_id, user["id"], text)
    update["message"]["from"] = dict(user)
    update["message"]["chat"] = {"id": user["id"], "type": "private", "first_name": user["first_name"],
                                 "username": user["username"]}
    return update


TELEGRAM_SCRIPT = [
    (0, "/start"),
    (0, "my number 0300-1234567 keeps getting marketing calls, how do i stop them"),
    (0, "someone got a sim on my cnic 35202-1234567-1 what should i do"),
    (0, "my otp is 482913"),
    (0, "my password is Hunter2!x"),
    (0, "was my number leaked 03001234567"),
    (0, "check me@example.com"),
    (0, "Dear customer your JazzCash account is blocked. Share the code 482913 sent to +923001234567 "
        "with our agent or call 0300-1234567 now"),
    (0, "i gave my card 4539 1488 0343 6467 to a caller who said he was from the bank, help"),
    (0, "/privacy"),
    (1, "mera number 03001234567 hai, marketing calls band karni hain"),
    (1, "code 5521 aya hai"),
    (1, "mera password Lahore@786 hai"),
    (1, "kya mera email Ali.Khan@Example.PK leak hua"),
    (1, "میرا او ٹی پی ۷۳۹۲۰۱ ہے"),
    (1, "میرا شناختی کارڈ 3520212345671 ہے اور نمبر ۰۳۰۰۱۲۳۴۵۶۷ ہے"),
    (1, "92 300 1234567 se call aayi kehte hain aap ka inaam nikla hai, apna cnic 42101-7654321-3 bhejo"),
]
WHATSAPP_SCRIPT = [
    (0, "was my number leaked"),
    (0, "check me@example.com"),
    (0, "my cnic is 3520212345671 is it safe to give"),
    (0, "5425-2334-3010-9903 is my card number is it safe"),
    (0, "Congratulations! You have won Rs 50,000 in the BISP program. Send your CNIC 42101-7654321-3 "
        "and call 0300-1234567 to claim now"),
    (0, "weather kaisa hai kal 92 300 1234567 sana.k+bank@gmail.com zzz"),
    (1, "my otp is 482913"),
    (1, "aap ka verification code 615204 hai kisi ko na batayein. Bank will never ask for it"),
    (1, "is my email sana.k+bank@gmail.com leaked"),
    (1, "my password is Hunter2!x what should i do"),
]
TERMINAL_SCRIPT = [
    "my phone +923001234567 gets spam calls",
    "check me@example.com",
    "my password is Hunter2!x",
    "my otp is 482913",
    "was my number leaked 03001234567",
    "my card 4539-1488-0343-6467 was charged twice",
    "random words 0300-1234567 zzz qqq",
]
TERMINAL_CLI_SCRIPT = ["was my number leaked", "check Ali.Khan@Example.PK", "code 5521 aya hai",
                       "my cnic 35202-1234567-1"]


def _wait_until(condition, timeout: float = 20.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _dump_tables(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: conn.execute(f'SELECT * FROM "{name}"').fetchall() for name in names}
    finally:
        conn.close()


def _raw_files(path: Path) -> dict[str, bytes]:
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return {f.name: f.read_bytes() for f in files if f.exists()}


def _outbox_empty(path: Path) -> bool:
    return not _dump_tables(path).get("outbox")


def _blocks(output: str) -> list[str]:
    """The reply blocks of the piped chat: each ends with a '---' line."""
    return [b for b in output.split("\n---\n") if b.strip()]


def _chat(settings: Settings, lines: list[str]) -> list[str]:
    """The chat loop in process, on real files for standard input and output."""
    stdin_path, stdout_path = settings.db_path.parent / "chat-in.txt", settings.db_path.parent / "chat-out.txt"
    stdin_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bot = build_bot(settings)
    try:
        with stdin_path.open(encoding="utf-8") as stdin, stdout_path.open("w", encoding="utf-8") as stdout:
            run_chat(bot, stdin=stdin, stdout=stdout)
    finally:
        bot.store.close()
    blocks = _blocks(stdout_path.read_text(encoding="utf-8"))
    assert len(blocks) == len(lines)
    return blocks


def _cli_env(settings: Settings, hibp: FakeHibp) -> dict[str, str]:
    return {**os.environ, "BOT_DB": str(settings.db_path), "BOT_SECRET": SECRET.decode(),
            "HIBP_API_KEY": HIBP_KEY, "HIBP_API_URL": hibp.url, "BREACH_DB": str(settings.breach_db),
            "BREACH_PEPPER": "pepper", "BOT_RATE_PER_MINUTE": "100"}


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Session:
    tmp = tmp_path_factory.mktemp("privacy")
    with captured_logs() as capture, FakeTelegram(TOKEN) as fake_telegram, \
            FakeHibp(accounts={"me@example.com": ["Adobe", "Canva"]}) as hibp:
        port = free_port()
        settings = make_settings(tmp, fake_telegram, port, rate_per_minute=100, hibp_api_key=HIBP_KEY,
                                 hibp_api_url=hibp.url, breach_db=tmp / "no-breaches.db",
                                 breach_pepper=b"pepper")
        replies: list[str] = []
        with serve_asgi(create_app(settings), port) as url, httpx.Client(base_url=url, timeout=30) as client:
            capture.widen()  # uvicorn has configured its loggers by now
            for n, (who, text) in enumerate(TELEGRAM_SCRIPT, 1):
                assert post_update(client, tg_update(n, TG_USERS[who], text)).status_code == 200
            contact = contact_update(100, TG_USERS[0]["id"], TG_CONTACT_PHONE, TG_USERS[0]["id"])
            contact["message"]["from"] = dict(TG_USERS[0])
            assert post_update(client, contact).status_code == 200
            assert post_update(client, button_update(101, TG_USERS[0]["id"], "delete:no")).status_code == 200
            for n, (who, text) in enumerate(WHATSAPP_SCRIPT, 1):
                response = whatsapp(client, text, sid=f"SMp{n}", sender=WA_SENDERS[who])
                assert response.status_code == 200
                replies += messages(response.text)
            replies += [call["text"] for call in fake_telegram.calls("sendMessage")]
            replies += _chat(settings, TERMINAL_SCRIPT)
            cli = subprocess.run(
                [sys.executable, "-m", "bot", "chat", "--as-phone", TERMINAL_PHONE], cwd=ROOT,
                env=_cli_env(settings, hibp), input="\n".join(TERMINAL_CLI_SCRIPT) + "\n",
                capture_output=True, text=True, timeout=120,
            )
            assert cli.returncode == 0, cli.stderr
            replies += _blocks(cli.stdout)
            assert len(_blocks(cli.stdout)) == len(TERMINAL_CLI_SCRIPT)
            assert _wait_until(lambda: _outbox_empty(settings.db_path)), "replies never confirmed delivered"
            tables = _dump_tables(settings.db_path)
            raw = {f"{name} (running)": data for name, data in _raw_files(settings.db_path).items()}
            tg_calls = {m: fake_telegram.calls(m) for m in ("sendMessage", "deleteMessage")}
        raw |= {f"{name} (stopped)": data for name, data in _raw_files(settings.db_path).items()}
        lines = list(capture.lines)
    return Session(tables, raw, lines, replies, cli.stderr, [r["path"] for r in hibp.requests], tg_calls)


# --- 1. nothing personal is stored or logged ---
QUOTE = re.compile(r"^SENDER (.+)$", re.MULTILINE)


def _quoted(session: Session) -> set[str]:
    """Personal values the bot quoted back in scam reports ("send SENDER <message> to PTA").
    Phone numbers are left out: the report keeps the number the scam gives, which PTA needs
    (the session's scams use its own numbers there); the verified sender's own is masked, and
    no quoted number reaches the disk (test_database_files_hold_no_quoted_scam_message_either)."""
    quoted = " ".join(q for reply in session.replies for q in QUOTE.findall(reply))
    phones = {digits(p)[-10:] for p in [*PHONE_FORMS, *WA_SENDERS, TG_CONTACT_PHONE, TERMINAL_PHONE]}
    return {hit for hit in found(quoted) if digits(hit)[-10:] not in phones or not re.fullmatch(r"[+\d\s۰-۹-]+", hit)}


def _log_leaks(session: Session, keep) -> dict[str, set[str]]:  # noqa: ANN001
    leaks: dict[str, set[str]] = {}
    for name, level, line in session.logs:
        if keep(name, level) and (hit := found(line)):
            leaks.setdefault(f"{name}/{logging.getLevelName(level)}", set()).update(hit)
    return leaks


def test_the_search_finds_every_form_it_should():
    """The searches below would pass vacuously if this one could not find anything."""
    assert {"3001234567", "923001234567"} <= found("from 923001234567 at")
    assert {"me@example.com", "me%40example.com"} <= found(b"GET /breachedaccount/ME%40EXAMPLE.COM and Me@Example.com")
    assert "482913" in found("otp:482913") and "482913" not in found("port 1482913")
    assert {"4539148803436467", "777000123", "Zarmeena", "Hunter2!x"} <= found(
        "4539148803436467 chat_id=777000123 zarmeena hunter2!x")
    assert found("۷۳۹۲۰۱".encode()) == {"۷۳۹۲۰۱"}


def test_the_session_went_through_every_path(session):
    sensitive = {n for n, (_, text) in enumerate(TELEGRAM_SCRIPT, 1) if find_sensitive(text)}
    assert len(sensitive) >= 8
    deleted = {int(call["message_id"]) for call in session.tg_calls["deleteMessage"]}
    assert deleted == sensitive  # each message with a secret was deleted from the Telegram chat
    assert all(luhn_valid(digits(card)) for card in CARDS)
    warnings = [r for r in session.replies if "do not send" in r.lower() or "never send" in r.lower() or "کسی کو نہ بھیجیں" in r
                or "kisi ko na bhejein" in r.lower()]
    assert len(warnings) >= 10
    assert {f"/breachedaccount/{quote(e.lower(), safe='')}" for e in EMAILS} <= set(session.hibp_paths)
    kinds = [row[4] for row in session.tables["lookups"]]
    assert kinds.count("phone") == 3 and kinds.count("email") >= 4  # WhatsApp, Telegram contact, --as-phone
    assert session.tables["scam_checks"] and session.tables["counts"] and session.tables["users"]
    assert session.tables["misses"] and all("<" in row[3] for row in session.tables["misses"])
    quotes = [q for reply in session.replies for q in QUOTE.findall(reply)]
    assert quotes, "no scam report quoted a message: the outbox case is not exercised"
    assert any("<" in q for q in quotes) and _quoted(session) == set()  # quoted with secrets masked


def test_no_table_holds_personal_data(session):
    assert {"users", "seen", "rates", "counts", "lookups", "scam_checks", "misses", "outbox"} <= set(session.tables)
    leaks = {name: found(repr(rows)) for name, rows in session.tables.items()}
    assert {name: hit for name, hit in leaks.items() if hit} == {}


def test_database_files_hold_nothing_but_quoted_scam_messages(session):
    """Whatever the raw bytes of the database, its WAL and shared-memory files hold, beyond what
    the outbox held (next test), is a leak."""
    leaks = {name: found(data) - _quoted(session) for name, data in session.raw.items()}
    assert {name: hit for name, hit in leaks.items() if hit} == {}
    assert any("-wal" in name for name in session.raw)


def test_database_files_hold_no_quoted_scam_message_either(session):
    leaks = {name: found(data) for name, data in session.raw.items()}
    assert {name: hit for name, hit in leaks.items() if hit} == {}


def test_no_log_line_holds_personal_data(session):
    names = {name.split(".")[0] for name, _, _ in session.logs}
    # the capture reached them all (httpx logs nothing now: its request lines are filtered out)
    assert {"uvicorn", "telegram", "mehfooz"} <= names
    assert _log_leaks(session, lambda name, level: True) == {}
    assert found(session.terminal_stderr) == set()


def test_what_serve_logs_holds_no_personal_data(session):
    """`python -m bot serve` logs at INFO with httpx pinned to WARNING (bot.ops.logs.setup)."""
    kept = _log_leaks(session, lambda name, level: level >= (logging.WARNING if name == "httpx" else logging.INFO))
    assert kept == {}


def test_httpx_logs_no_email(session):
    assert _log_leaks(session, lambda name, level: name == "httpx") == {}


def test_telegram_library_logs_no_ids_at_debug(session):
    assert _log_leaks(session, lambda name, level: name.startswith("telegram")) == {}


# --- 2. /privacy says what is kept and for how long ---
HOUR = 3600
RETENTION = Retention()
DAYS = {"state": RETENTION.state // DAY, "seen": RETENTION.seen // DAY, "misses": RETENTION.misses // DAY,
        "scam": RETENTION.scam // DAY, "cases": RETENTION.cases // DAY,  # Store.purge keeps scam fingerprints this long
        "tipline": RETENTION.tipline // DAY, "tell": RETENTION.tell // DAY}  # the tipline's groups, "tell me"
# What the privacy answer must name in each language: each kept thing and its retention.
KEPT = {
    "en": {
        "state": ["coded key", "your language", "options", "question", "{state} days"],
        "rate counter": ["messages this minute", "for an hour"],
        "lookup counts": ["checked for leaks today", "until the next day ends"],
        "seen ids": ["ids of messages i answered", "{seen} days"],
        "outbox": ["my replies", "an hour at most"],
        "counts": ["counts only", "no time limit"],
        "misses": ["could not understand", "masked", "{misses} days"],
        "scam fingerprints": ["scams", "coded mark", "{scam} days"],
        "scam groups": ["with red flags", "the text masked (no numbers, links, names)", "your tag", "staff's verdict",
                        "{tipline} days after the last forward"],
        "tell me": ["your chat address, encrypted, till staff decide", "{tell} days at most"],
        "alerts": ["breach alerts", "encrypted", "for a year"],
        "desk": ["staff", "masked", "telegram group", "encrypted while open", "{cases} days after it ends"],
        "lookups sent out": ["leak lists kept here", "your own phone number", "never sent out"],
        "deletion": ["delete my data"],
    },
    "roman_ur": {
        "state": ["coded key", "zaban", "options", "sawal", "{state} din"],
        "rate counter": ["is minute", "ek ghante"],
        "lookup counts": ["leak check", "agle din ke khatam hone tak"],
        "seen ids": ["coded ids", "{seen} din"],
        "outbox": ["mere jawab", "zyada se zyada ek ghanta"],
        "counts": ["sirf ginti", "koi muddat nahi"],
        "misses": ["na samjhe gaye sawal", "chhupa kr", "{misses} din"],
        "scam fingerprints": ["fraud check", "coded nishan", "{scam} din"],
        "scam groups": ["khatre ki nishani", "text chhupa kr (number, link, naam nahi)", "tag", "staff ka faisla",
                        "aakhri forward se {tipline} din"],
        "tell me": ["chat address encrypted, faisle tak", "{tell} din tak"],
        "alerts": ["leak alerts", "encrypted", "ek saal"],
        "desk": ["staff", "chhupa kr", "telegram group", "encrypted jab tak khula hai", "band hone ke {cases} din baad"],
        "lookups sent out": ["yahan rakhi leak lists", "apna phone number", "bahar kabhi nahi bheja jata"],
        "deletion": ["mera data mita do"],
    },
    "ur": {
        "state": ["کوڈ شدہ کلید", "زبان", "آپشنز", "سوال", "{state} دن"],
        "rate counter": ["اس منٹ", "ایک گھنٹے"],
        "lookup counts": ["لیک چیک", "اگلے دن کے اختتام تک"],
        "seen ids": ["آئی ڈیز", "{seen} دن"],
        "outbox": ["میرے جوابات", "زیادہ سے زیادہ ایک گھنٹہ"],
        "counts": ["صرف گنتی", "کوئی مدت نہیں"],
        "misses": ["سمجھ نہ سکا", "چھپا کر", "{misses} دن"],
        "scam fingerprints": ["فراڈ", "کوڈ شدہ نشان", "{scam} دن"],
        "scam groups": ["خطرے کی نشانی", "متن چھپا کر (نمبر، لنک، نام نہیں)", "ٹیگ", "عملے کا فیصلہ",
                        "آخری فارورڈ کے {tipline} دن بعد تک"],
        "tell me": ["چیٹ کا پتہ خفیہ، فیصلے تک", "{tell} دن تک"],
        "alerts": ["لیک الرٹس", "خفیہ", "ایک سال"],
        "desk": ["عملہ", "چھپا کر", "ٹیلی گرام گروپ", "خفیہ جب تک کھلا ہے", "بند ہونے کے {cases} دن بعد"],
        "lookups sent out": ["یہاں رکھی لیک لسٹیں", "اپنے فون نمبر", "باہر کبھی نہیں بھیجا جاتا"],
        "deletion": ["میرا ڈیٹا مٹا دو"],
    },
}
PRIVACY_QUESTIONS = {"en": "what do you store about me", "roman_ur": "aap mere bare mein kya save karte ho",
                     "ur": "آپ میرے بارے میں کیا محفوظ کرتے ہیں"}


def _missing(text: str, lang: str) -> dict[str, list[str]]:
    missing = {}
    for what, phrases in KEPT[lang].items():
        absent = [p.format(**DAYS) for p in phrases if p.format(**DAYS).lower() not in text.lower()]
        if absent:
            missing[what] = absent
    return missing


def test_the_retention_the_texts_state_is_the_code_default():
    assert (DAYS["state"], DAYS["seen"], DAYS["misses"], DAYS["scam"], DAYS["cases"]) == (30, 30, 90, 7, 30)
    assert (DAYS["tipline"], DAYS["tell"]) == (30, 7)
    assert RETENTION.outbox == HOUR  # "an hour at most"


@pytest.mark.parametrize("lang", LANGS)
def test_privacy_intent_says_what_is_kept_and_how_long(bot, lang):
    """A short summary first; "more" (typed, in the person's language) gives the full list."""
    outcome = bot.handle(Incoming("terminal", f"privacy-{lang}", PRIVACY_QUESTIONS[lang]))
    (summary,) = outcome.replies
    assert (outcome.intent, outcome.lang) == ("bot_privacy", lang)
    assert len(summary.text) <= 700
    assert [o.value for o in summary.options] == ["more:bot_privacy", "delete:ask"]
    more = {"en": "more", "roman_ur": "mazeed", "ur": "مزید"}[lang]
    outcome = bot.handle(Incoming("terminal", f"privacy-{lang}", more))
    (full,) = outcome.replies
    assert (outcome.intent, outcome.lang) == ("bot_privacy", lang)
    assert _missing(full.text, lang) == {}
    assert [o.value for o in full.options] == ["delete:ask"]


def test_the_full_statement_has_the_same_points_in_every_language(content):
    days = {"state_days": "30", "seen_days": "30", "misses_days": "90", "scam_days": "7", "case_days": "30",
            "tipline_days": "30", "tell_days": "7"}
    points = {lang: re.findall(r"(?m)^(\d+)\.", content.more("bot_privacy", lang, days)) for lang in LANGS}
    summary = {lang: re.findall(r"(?m)^(\d+)\.", content.answer("bot_privacy", lang, days)) for lang in LANGS}
    assert points["en"] == points["roman_ur"] == points["ur"] == [str(n) for n in range(1, 9)]
    assert summary["en"] == summary["roman_ur"] == summary["ur"] == [str(n) for n in range(1, 5)]


@pytest.mark.parametrize("lang", LANGS)
def test_telegram_privacy_command_in_each_language(service, telegram_api, content, lang):  # noqa: F811
    post_update(service, button_update(1, 31, f"lang:{lang}"))
    post_update(service, text_update(2, 31, "/privacy"))
    sent = telegram_api.wait_for("sendMessage", 2)
    days = {"state_days": "30", "seen_days": "30", "misses_days": "90", "scam_days": "7", "case_days": "30",
            "tipline_days": "30", "tell_days": "7",
            "email_service": content.text("privacy_email_xon", lang)}  # no HIBP key: XposedOrNot
    assert sent[-1]["text"] == content.answer("bot_privacy", lang, days)
    buttons = [row[0]["callback_data"] for row in sent[-1]["reply_markup"]["inline_keyboard"]]
    assert buttons == ["more:bot_privacy", "delete:ask"]
    post_update(service, button_update(3, 31, "more:bot_privacy"))
    (full,) = telegram_api.wait_for("sendMessage", 3)[-1:]
    assert full["text"] == content.more("bot_privacy", lang, days) and _missing(full["text"], lang) == {}


def test_privacy_text_follows_configured_retention(tmp_path):
    env = {"BOT_DB": str(tmp_path / "bot.db"), "BOT_SECRET": "x", "BREACH_PEPPER": "p",
           "BOT_KEEP_STATE_DAYS": "10", "BOT_KEEP_SEEN_DAYS": "1", "BOT_KEEP_MISSES_DAYS": "20"}
    bot = build_bot(Settings.from_env(env))
    try:
        bot.respond(Incoming("terminal", "x", PRIVACY_QUESTIONS["en"]))
        (reply,) = bot.respond(Incoming("terminal", "x", "more"))
    finally:
        bot.store.close()
    assert all(f"{days} days" in reply.text for days in (10, 1, 20))


# --- 3. "delete my data" removes everything tied to the person ---
PERSONAL_TABLES = ("users",)  # what Store.delete_user removes by the person's key
TAGGED_TABLES = ("misses", "scam_checks", "scam_reports")  # ...and by the person's tag (a scam's forwarders)
LIMIT_TABLES = ("rates", "lookups")  # under the limit key: kept, so that deleting resets no limit
UNLINKED_TABLES = ("seen", "counts")  # deliberately not tied to anyone
SCAM = ("Congratulations you have won a prize of Rs 50,000 from BISP, click http://bisp-prize.example "
        "to claim now")
BEFORE = ["salam", "marketing calls kaise band karun", "check me@example.com", SCAM,
          "blah blah weather tomorrow zzz qqq"]


@dataclass
class Service:
    client: httpx.Client
    settings: Settings
    telegram: FakeTelegram
    hibp: FakeHibp


@pytest.fixture
def hibp_service(tmp_path, telegram_api) -> Iterator[Service]:  # noqa: F811
    with FakeHibp(accounts={"me@example.com": ["Adobe"]}) as hibp:
        port = free_port()
        settings = make_settings(tmp_path, telegram_api, port, hibp_api_key=HIBP_KEY, hibp_api_url=hibp.url,
                                 breach_db=tmp_path / "no-breaches.db", breach_pepper=b"pepper")
        with serve_asgi(create_app(settings), port) as url, httpx.Client(base_url=url, timeout=30) as client:
            yield Service(client, settings, telegram_api, hibp)


def _holding(tables: dict[str, list[tuple]], key: str) -> dict[str, int]:
    """How many rows of each table hold `key` in any column."""
    counts = {name: sum(key in repr(row) for row in rows) for name, rows in tables.items()}
    return {name: n for name, n in counts.items() if n}


def _converse(svc: Service, channel: str, texts: list[str], start: int) -> list[str]:
    """Send `texts` as one person on `channel`; the reply texts, in order."""
    replies = []
    for n, text in enumerate(texts, start):
        if channel == "telegram":
            before = len(svc.telegram.calls("sendMessage"))
            update = button_update(n, 41, text[7:]) if text.startswith("button:") else text_update(n, 41, text)
            assert post_update(svc.client, update).status_code == 200
            replies += [c["text"] for c in svc.telegram.calls("sendMessage")[before:]]
        elif channel == "whatsapp":
            replies.append("\n".join(messages(whatsapp(svc.client, text, sid=f"SMd{n}", sender=WA_SENDERS[1]).text)))
        else:
            replies += _chat(svc.settings, [text])
    return replies


PERSON = {"telegram": ("telegram", "41"), "whatsapp": ("whatsapp", WA_SENDERS[1]), "terminal": ("terminal", "local")}


@pytest.mark.parametrize(("channel", "lang", "ask", "yes"), [
    ("telegram", "en", "/delete", "button:delete:yes"),
    ("whatsapp", "en", "delete my data", "1"),
    ("whatsapp", "roman_ur", "mera data mita do", "haan"),
    ("terminal", "ur", "میرا ڈیٹا مٹا دو", "ہاں"),
])
def test_delete_my_data_removes_everything_tied_to_the_person(hibp_service, content, channel, lang, ask, yes):
    svc = hibp_service
    key = user_key(SECRET, *PERSON[channel])
    tag, limit_key = keyed(SECRET, "records", key, size=16), keyed(SECRET, "limits", *PERSON[channel])
    _converse(svc, channel, BEFORE, 1)
    assert any(p["path"].startswith("/breachedaccount/") for p in svc.hibp.requests)  # a real lookup ran
    before = _dump_tables(svc.settings.db_path)
    assert set(_holding(before, key)) == set(PERSONAL_TABLES)  # state
    assert set(_holding(before, tag)) == set(TAGGED_TABLES)  # a miss, a scam check, a forwarded scam
    limits = _holding(before, limit_key)  # today's lookups, and the rate counter where there is a limit
    assert "lookups" in limits and set(limits) <= set(LIMIT_TABLES)
    unlinked = [t for t in UNLINKED_TABLES if channel != "terminal" or t != "seen"]  # no ids in a terminal
    assert all(before[t] for t in unlinked)

    confirm = _converse(svc, channel, [ask], 50)
    assert content.text("delete_confirm", lang) in confirm[-1]
    done = _converse(svc, channel, [yes], 60)
    # The yes/no answer is detected afresh: a bare "haan" is taken for English (see the report).
    assert any(content.text("deleted", lg) in done[-1] for lg in LANGS)
    if lang != "roman_ur":
        assert content.text("deleted", lang) in done[-1]

    assert _wait_until(lambda: _outbox_empty(svc.settings.db_path))
    after = _dump_tables(svc.settings.db_path)
    assert _holding(after, key) == {} and _holding(after, tag) == {}
    assert _holding(after, limit_key).keys() == limits.keys()  # the limits stay until they expire
    assert all(after[t] for t in unlinked)


def test_deleted_person_leaves_no_trace_in_the_database_files(hibp_service):
    key = user_key(SECRET, "telegram", "41")
    _converse(hibp_service, "telegram", [*BEFORE, "/delete", "button:delete:yes"], 1)
    assert _wait_until(lambda: _outbox_empty(hibp_service.settings.db_path))
    assert _holding(_dump_tables(hibp_service.settings.db_path), key) == {}
    # the WAL is emptied by the background checkpointer, a moment after the deletion
    assert _wait_until(lambda: key.encode() not in b"".join(_raw_files(hibp_service.settings.db_path).values()),
                       timeout=5.0)


# --- 4. rows expire ---
def _aged_rows(store: Store, now: float, state: int, seen: int, misses: int) -> None:
    """For each table, a row just past its retention ('old') and one just inside it ('new')."""
    for tag, shift in (("old", 1), ("new", -1)):
        store.save_user(f"u-{tag}", UserState(lang="ur"), now=now - state * DAY - shift * HOUR)
        store.first_delivery(f"s-{tag}", now=now - seen * DAY - shift * HOUR)
        store.add_miss(f"miss {tag} <phone>", "en", now=now - misses * DAY - shift * HOUR)
        store.checked_message(f"p-{tag}", f"c-{tag}", now=now - DAYS["scam"] * DAY - shift * HOUR)
        store.hold_replies(f"o-{tag}", "[]", now=now - HOUR - shift * 600)
        store.hit(f"r-{tag}", int(now // 60) - 60 - shift * 10)  # minute windows
        store.add_lookup(f"l-{tag}", int(now // DAY) - (2 if tag == "old" else 1), "t", "email")
    store.count("greeting", "en", now=now - 400 * DAY)  # anonymous counts have no time limit


def _survivors(path: Path) -> dict[str, list[str]]:
    tables = _dump_tables(path)
    return {
        "users": [r[0] for r in tables["users"]], "seen": [r[0] for r in tables["seen"]],
        "misses": [r[3] for r in tables["misses"]], "scam_checks": [r[0] for r in tables["scam_checks"]],
        "outbox": [r[0] for r in tables["outbox"]], "rates": [r[0] for r in tables["rates"]],
        "lookups": [r[1] for r in tables["lookups"]], "counts": [r[1] for r in tables["counts"]],
    }


EXPECTED_SURVIVORS = {"users": ["u-new"], "seen": ["s-new"], "misses": ["miss new <phone>"],
                      "scam_checks": ["p-new"], "outbox": ["o-new"], "rates": ["r-new"], "lookups": ["l-new"],
                      "counts": ["greeting"]}


@pytest.mark.parametrize(("env", "state", "seen", "misses"), [
    ({}, 30, 30, 90),
    ({"BOT_KEEP_STATE_DAYS": "5", "BOT_KEEP_SEEN_DAYS": "1", "BOT_KEEP_MISSES_DAYS": "10"}, 5, 1, 10),
])
def test_purge_cli_deletes_rows_past_their_retention(tmp_path, env, state, seen, misses):
    db = tmp_path / "bot.db"
    store = Store(db)
    _aged_rows(store, time.time(), state, seen, misses)
    store.close()
    env = {**os.environ, **env, "BOT_DB": str(db), "BOT_SECRET": "x", "BREACH_PEPPER": "p",
           "BREACH_DB": str(tmp_path / "none.db")}
    out = subprocess.run([sys.executable, "-m", "bot", "purge"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    removed = json.loads(out.stdout)["removed"]
    assert {t: removed[t] for t in EXPECTED_SURVIVORS if t != "counts"} == dict.fromkeys(
        [t for t in EXPECTED_SURVIVORS if t != "counts"], 1)
    assert _survivors(db) == EXPECTED_SURVIVORS


def test_periodic_purge_task_runs_at_once_and_then_every_interval(tmp_path):
    store = Store(tmp_path / "bot.db")
    now = time.time()
    _aged_rows(store, now, 30, 30, 90)

    async def scenario() -> None:
        task = asyncio.create_task(purge_every(store, Retention(), 0.05))
        try:
            assert await _until(lambda: store.get_user("u-old") is None)
            store.save_user("u-later", UserState(), now=now - 31 * DAY)  # expired after the first pass
            assert await _until(lambda: store.get_user("u-later") is None)
            await asyncio.sleep(0.3)  # the pass runs in a thread: its log line comes after the rows go
        finally:
            task.cancel()

    with captured_logs() as capture:
        asyncio.run(scenario())
    passes = [line for name, _, line in capture.lines if name == "mehfooz.service" and "purged expired rows" in line]
    assert len(passes) >= 2
    assert _survivors(tmp_path / "bot.db") == EXPECTED_SURVIVORS
    store.close()


async def _until(condition, timeout: float = 10.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def test_service_purges_at_start_up_with_configured_retention(tmp_path, telegram_api):  # noqa: F811
    env = {"BOT_DB": str(tmp_path / "bot.db"), "BOT_SECRET": "x", "BREACH_PEPPER": "p",
           "BOT_KEEP_STATE_DAYS": "3", "BOT_KEEP_SEEN_DAYS": "1", "BOT_KEEP_MISSES_DAYS": "4"}
    retention = Settings.from_env(env).retention
    store = Store(tmp_path / "bot.db")
    _aged_rows(store, time.time(), 3, 1, 4)
    store.close()
    port = free_port()
    settings = make_settings(tmp_path, telegram_api, port, retention=retention,
                             breach_db=tmp_path / "none.db", breach_pepper=b"p")
    with serve_asgi(create_app(settings), port) as url:
        assert httpx.get(f"{url}/healthz", timeout=10).text == "ok"
        assert _wait_until(lambda: _survivors(settings.db_path) == EXPECTED_SURVIVORS), _survivors(settings.db_path)
