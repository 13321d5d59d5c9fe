"""Hostile input for property-based tests: hypothesis strategies, the rigs they run against
(the core over a SQLite file, the web service under uvicorn with a local Bot API, the breach
index) and the properties themselves, shared by `tests/test_hostile.py` (a short run) and
`bench/fuzz.py` (a long one). Needs the `test` extra (hypothesis).

Invariants checked everywhere: no exception escapes (over HTTP: no 5xx and nothing logged at
ERROR), an answer comes where one is due, replies fit the channel (Telegram 4096 characters,
WhatsApp 1600 a <Message>), and no phone number, email or CNIC hidden in the input is ever
found in the bytes of a SQLite file afterwards."""

from __future__ import annotations

import contextlib
import copy
import io
import itertools
import json
import logging
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from bot.breaches.index import BreachIndex, ImportReport
from bot.breaches.lookup import BreachLookup
from bot.channels.render import numbered, split
from bot.channels.telegram import MAX_MESSAGE as TELEGRAM_MAX
from bot.channels.whatsapp import FORMATS
from bot.channels.whatsapp import MAX_MESSAGE as WHATSAPP_MAX
from bot.config import Settings
from bot.content.load import DEFAULT_DIR, Content, load_content
from bot.dialogue.core import Bot, Limits
from bot.dialogue.messages import Incoming
from bot.dialogue.tipline import Tipline
from bot.state.sqlite_store import Store
from bot.state.tipline import tipline_store
from bot.testing.fake_telegram import FakeTelegram, button_update, contact_update, text_update
from bot.testing.fake_twilio import ACCOUNT_SID, message_sid
from bot.testing.http import serve_asgi
from bot.understanding.matcher import build_normaliser
from bot.understanding.normalise import DIGITS, LANGS, Normaliser
from bot.understanding.redact import find_sensitive, redact

MAX_BODY = 64 * 1024  # the service's body limit (bot.service.MAX_BODY)
TOKEN, SECRET, AUTH = "123:hostile-token", "hostile-webhook-secret", "hostile-twilio-token"
PUBLIC_URL = "https://bot.example.org"
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
           HealthCheck.filter_too_much]
# "ci" keeps tests/test_hostile.py near 30 s on a shared 2-core machine; "fuzz" is bench/fuzz.py's.
settings.register_profile("hostile-ci", max_examples=150, deadline=None, suppress_health_check=_HEALTH,
                          print_blob=True)
settings.register_profile("hostile-fuzz", max_examples=400, deadline=None, suppress_health_check=_HEALTH,
                          print_blob=True)

# --- text ---
# Characters that break naive text handling: controls, bidi marks and isolates, zero-width
# joiners, BOM, line separators, combining marks, tatweel, Urdu/Arabic/superscript/circled/
# full-width digits, emoji with modifiers and flags, XML-invalid code points.
SPECIALS = (
    "\x00\x01\x07\x08\t\n\x0b\x0c\r\x1b\x1f\x7f\x85\xa0\u00ad\u034f\u061c\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\u2028\u2029\u3000\ufeff\ufffc\ufffd\ufffe"
    "\uffff\u0301\u064b\u0670\u0640\u06f1\u06f2\u06f3\u0661\u0662\u0969\u00b2\u00b9\u2460\u2474\uff11"
    "\U0001d7d9\U0001f600\U0001f44d\U0001f3fd\U0001f1f5\U0001f1f0\U000e0001\U0010ffff"
    "<>&\"'%+=;,./\\@#:-_*`~|{}[]()"
)
# Forwarded scams: the scam check quotes them back, so whatever they carry reaches a reply.
SCAMS = (
    "Congratulations! You have won Rs 50,000 in the BISP lucky draw. Click http://bit.ly/abc and send your "
    "details to claim today",
    "Your account will be blocked. Verify now at www.hbl-verify.xyz/login urgent",
    "Aap ka Jazz cash account band ho jaye ga, foran is number par call karein aur apna code batayein",
)
# What people really send, including the words that lead into flows with state.
PHRASES = SCAMS + (
    "hi", "salam", "menu", "help", "was i leaked", "was my number leaked", "my number", "check my email",
    "delete my data", "yes", "haan", "no", "nahi", "urdu", "english", "roman urdu", "not urdu", "thanks",
    "is this a scam", "marketing calls kese band karun", "mera whatsapp hack ho gaya",
    "kya mera data leak hua",
    "مارکیٹنگ کالز کیسے بند کروں", "کیا میرا ڈیٹا لیک ہوا ہے", "كيا يه", "شِکایَت",
    "my otp is 482913", "password: Ali@123", "code is 4821", "1", "2", "3", "0", "-1", "99", "۲", "٣",
    " 1 ", "１", "/start", "/delete", "/language", "/unknown",
)


def characters() -> st.SearchStrategy[str]:
    # codec="utf-8": no lone surrogates here, surrogate_texts() has them (the core cannot take them)
    return st.one_of(st.characters(codec="utf-8"), st.sampled_from(SPECIALS),
                     st.characters(min_codepoint=0x600, max_codepoint=0x6FF))


def noise(max_size: int = 40) -> st.SearchStrategy[str]:
    return st.text(characters(), max_size=max_size)


@dataclass(frozen=True)
class Secret:
    """A personal value hidden in a message: `text` as typed, `raw` the forms that must never
    be stored (as typed, digits only, lowercased)."""

    kind: str
    text: str

    @property
    def raw_digits(self) -> str:
        """A phone's ten digits after 0 or 92, a CNIC's thirteen."""
        digits = re.sub(r"\D", "", self.text)
        return digits[-10:] if self.kind == "phone" else digits

    @property
    def raw(self) -> tuple[str, ...]:
        forms = {self.text, self.text.lower()}
        if self.kind != "email":  # a phone without its country or trunk prefix; a CNIC's digits
            forms.add(self.raw_digits)
        return tuple(forms)


_PHONE_FORMATS = ("0{n}", "+92{n}", "+92 {a} {b}", "0092{n}", "92{n}", "0{a}-{b}", "0{a} {b}")


def phones() -> st.SearchStrategy[Secret]:
    number = st.from_regex(r"3[0-4][0-9]{8}", fullmatch=True)
    return st.builds(lambda n, f: Secret("phone", f.format(n=n, a=n[:3], b=n[3:])), number,
                     st.sampled_from(_PHONE_FORMATS))


def emails() -> st.SearchStrategy[Secret]:
    local = st.from_regex(r"[a-z0-9][a-z0-9._+-]{2,15}", fullmatch=True)
    domain = st.from_regex(r"[a-z0-9]{3,10}\.(com|pk|org|net|com\.pk)", fullmatch=True)
    return st.builds(lambda a, b: Secret("email", f"{a}@{b}"), local, domain)


def cnics() -> st.SearchStrategy[Secret]:
    return st.builds(lambda d, sep: Secret("cnic", f"{d[:5]}{sep}{d[5:12]}{sep}{d[12]}"),
                     st.from_regex(r"[1-7][0-9]{12}", fullmatch=True), st.sampled_from(["-", "", " "]))


def secrets() -> st.SearchStrategy[Secret]:
    return st.one_of(phones(), emails(), cnics())


@dataclass(frozen=True)
class Message:
    """A hostile message and the secrets hidden in it."""

    text: str
    secrets: tuple[Secret, ...] = ()


def _joined(parts: list[str | Secret], seps: list[str]) -> Message:
    pieces = [p.text if isinstance(p, Secret) else p for p in parts]
    text = "".join(f"{piece}{sep}" for piece, sep in zip(pieces, seps + [""] * len(pieces), strict=False))
    return Message(text, tuple(p for p in parts if isinstance(p, Secret)))


def mixed_messages() -> st.SearchStrategy[Message]:
    """Phrases, noise and secrets run together with odd separators."""
    part = st.one_of(st.sampled_from(PHRASES), noise(), secrets())
    sep = st.sampled_from([" ", "", "\n", "\u200b", "\u200f", ", ", " - ", "\t", "\x00"])
    return st.lists(part, min_size=1, max_size=8).flatmap(
        lambda parts: st.lists(sep, min_size=len(parts), max_size=len(parts)).map(
            lambda seps: _joined(parts, seps)))


def long_messages() -> st.SearchStrategy[Message]:
    """Messages around and far past the core's cut (4096) and the channels' limits."""
    size = st.sampled_from([1600, 1601, 4095, 4096, 4097, 10_000])
    unit = st.one_of(st.sampled_from(PHRASES).map(lambda p: p + " "), noise(12).filter(bool))
    return st.tuples(unit, size, st.one_of(st.none(), secrets())).map(
        lambda t: Message(((t[0] * (t[1] // len(t[0]) + 1))[: t[1] - 30] + " " + (t[2].text if t[2] else ""))
                          [: t[1]], (t[2],) if t[2] else ()))


def forwarded_scams() -> st.SearchStrategy[Message]:
    """A scam with noise and personal values around it: all of it is quoted back."""
    extra = st.lists(st.one_of(noise(8), secrets()), max_size=4)
    return st.tuples(noise(8), st.sampled_from(SCAMS), extra).map(
        lambda t: _joined([t[0], t[1], *t[2]], [" "] * (len(t[2]) + 1)))


def hostile_messages() -> st.SearchStrategy[Message]:
    return st.one_of(
        noise(200).map(Message),
        forwarded_scams(),
        st.text(st.sampled_from(SPECIALS), max_size=50).map(Message),
        mixed_messages(),
        long_messages(),
    )


def surrogate_texts() -> st.SearchStrategy[str]:
    """Text with lone surrogates: JSON `\\ud800` escapes decode to them."""
    return st.lists(st.one_of(noise(10), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)),
                    min_size=1, max_size=6).map("".join)


# Urdu, Arabic-Indic, full-width and N'Ko digits.
DIGIT_SETS = ("۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９", "߀߁߂߃߄߅߆߇߈߉")


def option_numbers() -> st.SearchStrategy[str]:
    """Replies that pick an option: in range, out of range, huge, signed, in other scripts."""
    number = st.one_of(st.integers(-3, 12), st.integers(0, 10**40))
    return st.builds(
        lambda n, digits, pad: pad + str(n).translate(digits) + pad, number,
        st.sampled_from([{}] + [str.maketrans("0123456789", d) for d in DIGIT_SETS]),
        st.sampled_from(["", " ", "\n", "\u200f"]),
    )


# --- the core ---
@cache
def content() -> Content:
    return load_content()


@cache
def normaliser() -> Normaliser:
    return build_normaliser(content())


def choice_values() -> st.SearchStrategy[str]:
    """Button values: every intent id, every action's values, near misses and junk."""
    known = sorted(content().intents) + [
        "lang:ur", "lang:en", "lang:roman_ur", "lang:xx", "lang:", "delete:ask", "delete:yes", "delete:no",
        "delete:", "breach:phone", "breach:email", "contact:own", "contact:other", "contact:", ":", "",
        "lang", "menu:", "greeting:x",
    ]
    choices = st.one_of(st.sampled_from(known), noise(70), st.sampled_from(known).map(lambda k: k + "\x00"))
    return choices


@dataclass(frozen=True)
class Event:
    """One message of a person: text (with its secrets), a button, or a shared contact."""

    message: Message = Message("")
    choice: str | None = None
    shared_contact: str | None = None
    again: bool = False  # a re-delivery of the previous message id


def events() -> st.SearchStrategy[Event]:
    contact = st.one_of(st.sampled_from(["own", "other"]), noise(20))
    return st.one_of(
        hostile_messages().map(Event),
        option_numbers().map(lambda n: Event(Message(n))),
        st.builds(Event, st.just(Message("")), choice_values()),
        st.builds(Event, hostile_messages(), choice_values()),
        st.builds(Event, st.just(Message("")), st.none(), contact),
        st.just(Event(again=True)),
    )


@dataclass(frozen=True)
class Conversation:
    channel: str
    can_share_contact: bool
    phone: Secret | None  # the number the channel vouches for
    events: tuple[Event, ...]


def conversations() -> st.SearchStrategy[Conversation]:
    return st.builds(Conversation, st.sampled_from(["telegram", "whatsapp", "terminal", "\u202e\x00"]),
                     st.booleans(), st.one_of(st.none(), phones()),
                     st.lists(events(), min_size=1, max_size=6).map(tuple))


class CoreRig:
    """The core over a SQLite file, with no rate limit to trip over."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.db = directory / "core.db"
        self.bot = Bot(content(), Store(self.db), b"hostile-secret", Limits(per_minute=10**9))
        self.ids = itertools.count(1)

    def fresh(self) -> Bot:
        """The bot over a new, empty database file, so that the bytes an example leaves on
        disk are its own. The content, matcher and scam rules are shared: building them takes
        0.4 s, an example 0.05 s."""
        self.close()
        for old in self.directory.glob("core.db*"):
            old.unlink()
        self.bot = copy.copy(self.bot)
        self.bot.store = Store(self.db)
        self.bot.lookup = BreachLookup(self.bot.store, self.bot.secret)
        self.bot.tipline = Tipline(tipline_store(self.bot.store), self.bot.secret,
                                   retention=self.bot.retention)  # the scam groups in the new file
        return self.bot

    def close(self) -> None:
        self.bot.store.close()


def check_conversation(rig: CoreRig, talk: Conversation) -> None:
    """Every message is answered (a re-delivery at most once), within channel limits, and
    nothing personal reaches the database."""
    bot, user, message_id = rig.fresh(), f"user-{next(rig.ids)}", None
    hidden = [talk.phone] if talk.phone else []
    note(f"texts: {[e.message.text for e in talk.events]!r}")
    for event in talk.events:
        repeat = event.again and message_id is not None
        message_id = message_id if repeat else f"m-{next(rig.ids)}"
        incoming = Incoming(talk.channel, user, event.message.text, choice=event.choice,
                            verified_phone=talk.phone.text if talk.phone else None, message_id=message_id,
                            can_share_contact=talk.can_share_contact, shared_contact=event.shared_contact)
        hidden += event.message.secrets
        outcome = bot.handle(incoming)
        bot.delivered(outcome)  # as every channel does once the replies went out
        if repeat:
            assert outcome.replies == [] and outcome.status == "duplicate", outcome
            continue
        assert outcome.status in ("answered", "rate_limited"), outcome.status
        check_replies(outcome.replies)
    assert_not_stored(rig.db, hidden)


def check_replies(replies: list[Any]) -> None:
    """Non-empty replies that every channel can send."""
    assert replies, "no reply where one was due"
    for reply in replies:
        assert reply.text.strip(), f"empty reply text: {reply!r}"
        assert all(o.label.strip() and o.value for o in reply.options), reply.options
        for part in split(reply.text, TELEGRAM_MAX):
            assert 0 < len(part) <= TELEGRAM_MAX
        for part in split(numbered(reply), WHATSAPP_MAX):
            assert 0 < len(part) <= WHATSAPP_MAX


def sqlite_bytes(path: Path) -> bytes:
    """The database file and its write-ahead log: everything a thief of the disk would get."""
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def assert_not_stored(path: Path, hidden: list[Secret]) -> None:
    """None of the raw forms of `hidden` is in the file's bytes, deleted rows included."""
    blob = sqlite_bytes(path)
    for secret in hidden:
        for raw in secret.raw:
            assert raw.encode() not in blob, f"raw {secret.kind} {raw!r} in {path.name}: {where(path, raw)}"


def where(path: Path, raw: str) -> str:
    """Which table and column hold `raw`, or that only deleted rows do (free pages, WAL)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            for column in [row[1] for row in conn.execute(f"PRAGMA table_info('{table}')")]:
                query = f"SELECT 1 FROM '{table}' WHERE instr(CAST(\"{column}\" AS TEXT), ?) LIMIT 1"
                if conn.execute(query, [raw]).fetchone():
                    return f"table {table}, column {column}"
    finally:
        conn.close()
    return "in no live row: deleted rows left in free pages or the write-ahead log"


# --- the normaliser, the redactor, splitting ---
def check_normalise(text: str) -> None:
    norm = normaliser()
    folded = norm.normalise(text)
    assert folded == " ".join(folded.split()), "normalised text keeps odd spacing"
    assert folded == folded.casefold()
    assert not re.search(r"[\u064a\u0649\u0643\u0647\u0629\u06d5\u06f0-\u06f9\u0660-\u0669]", folded)
    lang = norm.detect_language(text, folded)
    has_letters = re.search(r"[a-zA-Z\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]", text)
    # Letters may still have no language of their own (an email, "telenor helpline"): None.
    assert (lang in (*LANGS, None)) if has_letters else lang is None, lang


def check_redact(message: Message) -> None:
    masked = redact(message.text)
    masked.encode("utf-8")  # storable: SQLite refuses lone surrogates
    assert redact(masked) == masked, "redaction is not stable"
    assert not re.search(r"\d(?:[\s-]?\d){3,}", masked.translate(DIGITS)), masked
    for secret in message.secrets:
        for raw in secret.raw:
            assert raw not in masked, f"{secret.kind} {raw!r} survives redaction"
    assert find_sensitive(message.text) in (None, "cnic", "card", "password", "otp")


def check_cnic_is_sensitive(case: tuple[str, Secret, str]) -> None:
    """A CNIC set off by spaces is always caught, whatever surrounds it."""
    before, cnic, after = case
    assert find_sensitive(f"{before} {cnic.text} {after}") is not None


def check_split(case: tuple[str, int]) -> None:
    text, limit = case
    parts = split(text, limit)
    assert all(0 < len(p) <= limit for p in parts), [len(p) for p in parts]
    assert re.sub(r"\s", "", "".join(parts)) == re.sub(r"\s", "", text), "split lost or added text"


def split_cases() -> st.SearchStrategy[tuple[str, int]]:
    text = st.one_of(noise(300), st.text(st.sampled_from(" \n\nab\u200b"), max_size=300),
                     long_messages().map(lambda m: m.text))
    return st.tuples(text, st.integers(1, 2000))


# --- the web service ---
class ErrorLog(logging.Handler):
    """Collects every record logged at ERROR or above, by any thread, while installed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        taken, self.records = self.records, []
        return [f"{r.name}: {r.getMessage()} {r.exc_info[1]!r}" if r.exc_info else r.getMessage()
                for r in taken]


class ServiceRig:
    """The app under uvicorn, both channels on, a local Bot API that records every call."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.db = directory / "service.db"
        self.ids = itertools.count(1)
        self.errors = ErrorLog()
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> ServiceRig:
        from bot.service import create_app

        self.telegram = self._stack.enter_context(FakeTelegram(TOKEN))
        settings_ = Settings(
            db_path=self.db, secret=b"hostile", content_dir=DEFAULT_DIR, rate_per_minute=10**9,
            telegram_token=TOKEN, telegram_secret=SECRET, telegram_api_url=self.telegram.url,
            twilio_auth_token=AUTH, twilio_account_sid=ACCOUNT_SID, public_url=PUBLIC_URL,
            breach_db=self.directory / "no-breaches.db",
        )
        for name in ("", "uvicorn", "mehfooz", "telegram"):  # in case one stops propagating
            logging.getLogger(name).addHandler(self.errors)
            self._stack.callback(logging.getLogger(name).removeHandler, self.errors)
        url = self._stack.enter_context(serve_asgi(create_app(settings_)))
        self.client = self._stack.enter_context(httpx.Client(base_url=url, timeout=60))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def post(self, path: str, body: bytes, headers: dict[str, Any]) -> httpx.Response:
        response = self.client.post(path, content=body, headers=headers)
        assert response.status_code < 500, f"{response.status_code} {response.text[:200]}"
        errors = self.errors.take()
        assert not errors, errors
        return response


# What a header value may hold (HTTP allows bytes 0x80-0xFF as "obs-text"; we send UTF-8).
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_characters="\x7f"),
                      max_size=40).map(str.strip)  # h11 refuses a value that starts or ends with a space


# Telegram: well-formed updates, updates with a wrong type somewhere, and junk.
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63), st.floats(), noise(20))
JSON = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(noise(8), inner, max_size=4), max_leaves=12)
PATHS = (("update_id",), ("message",), ("message", "text"), ("message", "from"), ("message", "chat"),
         ("message", "from", "id"), ("message", "from", "is_bot"), ("message", "date"),
         ("message", "message_id"), ("message", "entities"), ("message", "caption"), ("message", "contact"),
         ("message", "chat", "type"), ("callback_query",), ("edited_message",),
         ("message", "reply_to_message"))


@dataclass(frozen=True)
class TelegramCase:
    kind: str  # "text", "surrogates" (JSON-escaped), "button", "contact", "mutated" or "raw"
    message: Message = Message("")
    path: tuple[str, ...] = ()
    value: Any = None
    body: bytes = b""
    secret: str = SECRET  # the X-Telegram-Bot-Api-Secret-Token sent


def deep_json() -> st.SearchStrategy[bytes]:
    depth = st.sampled_from([10, 500, 990, 1100, 10_000])
    return st.one_of(
        depth.map(lambda n: b"[" * n),
        depth.map(lambda n: b"[" * n + b"]" * n),
        depth.map(lambda n: b'{"update_id": 1, "message": ' + b'{"a":' * n + b"1" + b"}" * n + b"}"),
        depth.map(lambda n: b'{"update_id": 7, "x": ' + b"[" * n + b"]" * n + b"}"),
    )


def telegram_cases() -> st.SearchStrategy[TelegramCase]:
    raw = st.one_of(st.binary(max_size=300), deep_json(), JSON.map(lambda v: json.dumps(v).encode()),
                    st.sampled_from([b'{"update_id": 5, "message": {"text": "\xff\xfe"}}', b"\xef\xbb\xbf{}",
                                     b'{"update_id": NaN}', b'{"update_id": 1e999}', b"null", b""]),
                    st.integers(MAX_BODY - 100, MAX_BODY + 100).map(lambda n: b'{"update_id": 1, "x": "'
                                                                    + b"a" * n + b'"}'))
    cases = st.one_of(
        hostile_messages().map(lambda m: TelegramCase("text", m)),
        surrogate_texts().map(lambda t: TelegramCase("surrogates", Message(t))),
        choice_values().map(lambda c: TelegramCase("button", value=c)),
        st.builds(lambda phone, whose: TelegramCase("contact", Message("", (phone,)), value=whose),
                  phones(), st.sampled_from(["own", "other", None])),
        st.builds(TelegramCase, st.just("mutated"), hostile_messages(), st.sampled_from(PATHS), JSON),
        raw.map(lambda b: TelegramCase("raw", body=b)),
    )
    return st.one_of(cases, cases, cases, st.builds(lambda c, s: replace(c, secret=s), cases, HEADER_TEXT))


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data.get(key)
        if not isinstance(data, dict):
            return
    data[path[-1]] = value


def _update_body(case: TelegramCase, update_id: int, chat: int) -> bytes:
    if case.kind == "button":  # a custom client can send any callback data
        update = button_update(update_id, chat, case.value)
    elif case.kind == "contact":  # the sender's own contact, someone else's, or one with no account
        owner = {"own": chat, "other": chat + 1}.get(case.value)
        update = contact_update(update_id, chat, case.message.secrets[0].text, contact_user_id=owner)
    else:
        update = text_update(update_id, chat, case.message.text)
    if case.kind == "mutated":
        _set(update, case.path, case.value)
    # Escaped, lone surrogates reach the bot as they are; raw, they are invalid UTF-8.
    return json.dumps(update, ensure_ascii=case.kind == "surrogates").encode()


def check_telegram(rig: ServiceRig, case: TelegramCase) -> None:
    n = next(rig.ids)
    chat = 10_000_000 + n
    with rig.telegram.lock:  # the fake keeps every call: forget the old ones, or runs slow down
        rig.telegram.log.clear()
    body = case.body if case.kind == "raw" else _update_body(case, 1_000_000 + n, chat)
    headers = {"X-Telegram-Bot-Api-Secret-Token": case.secret.encode(), "content-type": "application/json"}
    response = rig.post("/telegram", body, headers)
    sent = rig.telegram.calls("sendMessage")
    if case.secret != SECRET:  # refused: by the body limit first (every route has it), else 403
        refused = {413, 403} if len(body) > MAX_BODY else {403}
        assert response.status_code in refused and not sent, (response.status_code, sent)
        return
    allowed = {413} if len(body) > MAX_BODY else {200, 400}
    assert response.status_code in allowed, (response.status_code, response.text)
    assert all(0 < len(s["text"]) <= TELEGRAM_MAX for s in sent), [len(s["text"]) for s in sent]
    due = (case.kind in ("text", "surrogates") and not case.message.text.startswith("/")
           or case.kind == "button" and bool(case.value) or case.kind == "contact")
    if due and len(body) <= MAX_BODY:
        assert response.status_code == 200
        assert any(int(s["chat_id"]) == chat for s in sent), "no reply"
    assert_not_stored(rig.db, list(case.message.secrets))


# WhatsApp: properly signed forms (the parser and core see them), and unsigned junk.
@dataclass(frozen=True)
class WhatsAppCase:
    kind: str  # "talk" (signed messages from one sender), "form" (signed, any fields), "raw"
    bodies: tuple[Message, ...] = ()
    phone: Secret | None = None
    fields: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    signature: str | None = None  # raw bodies: the X-Twilio-Signature sent, if any


def whatsapp_cases() -> st.SearchStrategy[WhatsAppCase]:
    body = st.one_of(hostile_messages(), option_numbers().map(Message))
    key = st.one_of(st.sampled_from(["From", "MessageSid", "SmsMessageSid", "Body", "NumMedia", "To",
                                     "MediaUrl0", "ProfileName", "WaId", "AccountSid"]), noise(10))
    raw = st.one_of(st.binary(max_size=300), st.just(b"\xff\xfe=\x80"), st.just(b"Body=%FF%FE&From=x"),
                    st.integers(MAX_BODY - 50, MAX_BODY + 50).map(lambda n: b"Body=" + b"a" * n))
    return st.one_of(
        st.builds(WhatsAppCase, st.just("talk"), st.lists(body, min_size=1, max_size=3).map(tuple), phones()),
        st.builds(WhatsAppCase, st.just("form"),
                  fields=st.lists(st.tuples(key, noise(60)), max_size=8).map(tuple)),
        st.builds(WhatsAppCase, st.just("raw"), body=raw, signature=st.one_of(st.none(), HEADER_TEXT)),
    )


def signed_post(rig: ServiceRig, form: dict[str, str]) -> httpx.Response:
    signature = RequestValidator(AUTH).compute_signature(f"{PUBLIC_URL}/whatsapp", form)
    body = urlencode(form).encode()
    headers = {"content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    return rig.post("/whatsapp", body, headers)


def twiml_messages(twiml: str) -> list[str]:
    """The <Message> bodies; fails if the TwiML is not well-formed XML (Twilio would drop it)."""
    return [m.text or "" for m in ET.fromstring(twiml).iter("Message")]


def check_whatsapp(rig: ServiceRig, case: WhatsAppCase) -> None:
    n = next(rig.ids)
    if case.kind == "talk":
        sender = f"whatsapp:+92{case.phone.raw_digits}" if case.phone else f"whatsapp:+{n}"
        for number, message in enumerate(case.bodies):
            form = {"MessageSid": message_sid(f"{n}x{number}"), "AccountSid": ACCOUNT_SID, "From": sender,
                    "To": "whatsapp:+14155238886",
                    "Body": message.text, "NumMedia": "0"}
            response = signed_post(rig, form)
            if len(urlencode(form)) > MAX_BODY:  # a 10,000-character Urdu message, percent-encoded
                assert response.status_code == 413
                continue
            assert response.status_code == 200, (response.status_code, response.text)
            parts = twiml_messages(response.text)
            assert parts and all(0 < len(p) <= WHATSAPP_MAX for p in parts), [len(p) for p in parts]
        hidden = [s for m in case.bodies for s in m.secrets] + ([case.phone] if case.phone else [])
        assert_not_stored(rig.db, hidden)
    elif case.kind == "form":
        form = dict(case.fields)
        response = signed_post(rig, form)
        ok = (bool(form.get("From")) and bool(form.get("MessageSid") or form.get("SmsMessageSid"))
              and form.get("AccountSid") == ACCOUNT_SID
              and all(p.fullmatch(form[name]) for name, p in FORMATS.items() if name in form))
        expected = 413 if len(urlencode(form)) > MAX_BODY else 200 if ok else 400
        assert response.status_code == expected, (response.status_code, form)
        if ok:
            assert all(len(p) <= WHATSAPP_MAX for p in twiml_messages(response.text))
    else:
        headers = {"content-type": "application/x-www-form-urlencoded"}
        if case.signature is not None:
            headers["X-Twilio-Signature"] = case.signature.encode()
        response = rig.post("/whatsapp", case.body, headers)
        allowed = {413} if len(case.body) > MAX_BODY else {400, 403}
        assert response.status_code in allowed, response.status_code


# --- the breach importer ---
@dataclass(frozen=True)
class Line:
    """A line of an import file. `kind`: 'phone' or 'email' (a clean identifier that must
    be imported), 'junk' (no digit and no '@': must be rejected), 'any' (anything)."""

    kind: str
    text: str
    secret: Secret | None = None


def _no_digits(text: str) -> bool:
    return "@" not in text and not any(c.isdigit() or c.isnumeric() for c in text)


def import_lines() -> st.SearchStrategy[list[Line]]:
    # A clean identifier, maybe quoted, indented, or after a byte-order mark.
    clean = st.builds(lambda s, pad: Line(s.kind, pad + s.text + (pad if pad == '"' else ""), s),
                      st.one_of(phones(), emails()), st.sampled_from(["", " ", '"', "\ufeff", "\t"]))
    junk = noise(80).filter(_no_digits).map(lambda t: Line("junk", t))
    quoted = st.lists(st.one_of(noise(20), secrets().map(lambda s: s.text)), min_size=1, max_size=5).flatmap(
        lambda fields: st.sampled_from([",", ";", "\t", '","', '";"']).map(
            lambda sep: '"' * (len(fields) % 2) + sep.join(fields)))
    odd = st.one_of(
        quoted, noise(200), st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
        st.sampled_from(['"', '""', '"""', "\x00", '"\x00"', "a\rb", '"a\rb",03001234567', ",,,;;;\t\t",
                         '"' + "x" * 140_000 + '",03001234567', "a@" + "x." * 20_000 + "@",
                         "1-" * 30_000, "@" * 10_000, "\\" * 5_000 + '"']),
    ).map(lambda t: Line("any", t))
    return st.lists(st.one_of(clean, junk, odd), max_size=25)


def counted(lines: list[str]) -> int:
    """Rows the importer reads: lines that are not blank once stripped of spaces and BOM."""
    return sum(1 for line in lines if line.strip().lstrip("\ufeff"))


class BreachRig:
    """A breach index file, written by the importer, inspected after each run."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.path = directory / "breaches.db"
        self.index = BreachIndex(self.path, b"hostile-pepper")
        self.ids = itertools.count(1)

    def close(self) -> None:
        self.index.close()


def check_import(rig: BreachRig, lines: list[Line]) -> None:
    """Whatever the lines, the import reports every row, rejects what holds no identifier,
    finds every clean identifier afterwards and stores none of them in the clear."""
    slug = f"fuzz-{next(rig.ids)}"
    texts = [line.text for line in lines]
    report = rig.index.import_lines(slug, texts)
    check_report(report, texts)
    assert report.rejected >= sum(1 for line in lines if line.kind == "junk" and counted([line.text]))
    clean = [line.secret for line in lines if line.secret]
    assert report.read - report.rejected >= len(clean)
    for secret in clean:
        assert [b.slug for b in rig.index.lookup(_identifier(secret))].count(slug) == 1, secret
    rig.index.db.conn.commit()
    assert_not_stored(rig.path, clean)


def check_report(report: ImportReport, texts: list[str]) -> None:
    assert report.read == counted(texts), (report, counted(texts))
    assert 0 <= report.rejected <= report.read
    assert report.imported >= 0 and report.duplicate >= 0


def _identifier(secret: Secret) -> str:
    if secret.kind == "email":
        return secret.text.lower()
    return "+92" + secret.raw_digits


@dataclass(frozen=True)
class ImportFile:
    """A file for `breaches import`: clean identifiers and junk, encoded, then mangled."""

    lines: tuple[Line, ...]
    encoding: str
    extra: bytes = b""


def import_files() -> st.SearchStrategy[ImportFile]:
    eol = st.sampled_from(["\n", "\r\n", "\r"])
    return st.builds(
        lambda lines, enc, extra, e: ImportFile(tuple(lines), enc + "|" + e, extra),
        import_lines(), st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]), st.binary(max_size=200),
        eol,
    )


def _file_bytes(case: ImportFile) -> bytes:
    encoding, eol = case.encoding.split("|")
    text = eol.join(line.text.replace("\n", " ").replace("\r", " ") for line in case.lines) + eol
    return text.encode(encoding, errors="replace") + case.extra


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """os.environ with `values` set, as the command line reads it, restored afterwards."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def check_cli_import(rig: BreachRig, case: ImportFile) -> None:
    """`breaches import` on any bytes: exit 0 and a JSON report of what was read and rejected."""
    from bot.cli import main

    n = next(rig.ids)
    path = rig.directory / f"import-{n}.csv"
    path.write_bytes(_file_bytes(case))
    out = io.StringIO()
    env = {"BOT_DB": str(rig.directory / "cli-bot.db"), "BREACH_DB": str(rig.directory / "cli-breaches.db"),
           "BREACH_PEPPER": "cli-pepper", "BOT_SECRET": "cli-secret"}
    with environment(**env), contextlib.redirect_stdout(out):
        code = main(["breaches", "import", "--breach", f"cli-{n}", "--quiet", str(path)])
    assert code == 0
    report = json.loads(out.getvalue().splitlines()[-1])
    assert report["breach"] == f"cli-{n}" and 0 <= report["rejected"] <= report["read"], report
    encoding = case.encoding.split("|")[0]
    if encoding.startswith("utf-8") and not case.extra:
        junk = sum(1 for line in case.lines if line.kind == "junk" and counted([line.text]))
        assert report["rejected"] >= junk, (report, junk)
    clean = [line.secret for line in case.lines if line.secret]
    assert_not_stored(Path(env["BREACH_DB"]), clean)
    path.unlink()


# --- the registry used by tests/test_hostile.py and bench/fuzz.py ---
@dataclass(frozen=True)
class Property:
    name: str
    rig: str  # "none", "core", "service" or "breach"
    strategy: Callable[[], st.SearchStrategy[Any]]
    check: Callable[..., None]
    weight: float = 1.0  # share of the profile's max_examples (HTTP properties cost more)


PROPERTIES = (
    Property("normalise", "none", lambda: st.one_of(hostile_messages().map(lambda m: m.text),
                                                    surrogate_texts()), check_normalise, 2.0),
    Property("redact", "none", lambda: st.one_of(hostile_messages(), surrogate_texts().map(Message)),
             check_redact, 2.0),
    Property("cnic_is_sensitive", "none", lambda: st.tuples(noise(), cnics(), noise()),
             check_cnic_is_sensitive),
    Property("split", "none", split_cases, check_split, 2.0),
    Property("conversation", "core", conversations, lambda rig, case: check_conversation(rig, case), 1.5),
    Property("telegram", "service", telegram_cases, lambda rig, case: check_telegram(rig, case), 1.5),
    Property("whatsapp", "service", whatsapp_cases, lambda rig, case: check_whatsapp(rig, case), 1.5),
    Property("breach_import", "breach", import_lines, lambda rig, case: check_import(rig, case), 1.0),
    Property("breach_cli", "breach", import_files, lambda rig, case: check_cli_import(rig, case), 0.5),
)


@dataclass
class Run:
    name: str
    tried: int = 0
    failure: BaseException | None = field(default=None, repr=False)


def run_property(prop: Property, rig: Any, profile: str = "hostile-ci", max_examples: int | None = None,
                 reraise: bool = True) -> Run:
    """Run one property under a settings profile; returns how many examples ran and the failure."""
    base = settings.get_profile(profile)
    examples = max_examples or max(1, int(base.max_examples * prop.weight))
    run = Run(prop.name)

    @settings(base, max_examples=examples)
    @given(prop.strategy())
    def property_(case: Any) -> None:
        run.tried += 1
        if prop.rig == "none":
            prop.check(case)
        else:
            prop.check(rig, case)

    # One example database key per property, as they share this function's source (private,
    # but hypothesis's own stateful tests set it the same way).
    property_.hypothesis.inner_test._hypothesis_internal_add_digest = prop.name.encode()  # type: ignore
    try:
        property_()
    except Exception as exc:
        if reraise:
            raise
        run.failure = exc
    return run


# --- slow patterns: texts built to make a backtracking regex take quadratic time ---------
# A trigger (the word a pattern starts with) followed by a 4 KB run of what the pattern
# repeats, or the pair repeated: the shapes of the review's "at" + spaces (the misses masker)
# and "bisp lottery" + "( " (the scam rules). Linear code takes a few times as long as on the
# control, ordinary prose of the same length; a quadratic pattern takes hundreds of times.
SIZE = 4096
TRIGGERS = ("", "at", "@", "dot", "(at)", "[dot]", "at the rate", "password", "pwd", "پاس ورڈ", "code",
            "otp", "pin", "کوڈ", "my name is", "naam", "I am", "میرا نام", "house", "gali", "+", "+92",
            "0", "3", "www.", "https://", "a.com/", "is", "your", "use", "bisp lottery", "today")
FILLERS = (" ", "\t", " \n", "\u200b", "1", "1 ", "1-", "1.", "12 ", "a", "a ", "a.", "a-", "ab ", ". ",
           "-", "Ab ", "x@", "@a", "a.b@", "at ", " at", "dot ", "a dot ", "(", "( ", "is ", ": ", "ہے ",
           "۱", "A-1 ", "http://a", "+1 ")
CONTROL = ("Assalam o alaikum, mera naam Sara hai aur mera number 0300 1234567 hai. Kal mujhe ek message "
           "aya ke aap ka account band ho jaye ga, is link par click karein: https://example.com/x. Kya "
           "ye scam hai? My email is sara.ahmed@gmail.com, was it leaked? کیا میرا ڈیٹا لیک ہوا ہے؟ ")


def adversarial_texts(size: int = SIZE) -> dict[str, str]:
    """Name -> text of `size` characters."""
    texts = {}
    for trigger in TRIGGERS:
        for filler in FILLERS:
            texts[f"{trigger!r} then {filler!r}*"] = (trigger + filler * size)[:size]
            if trigger:
                texts[f"({trigger!r} {filler!r})*"] = (f"{trigger} {filler}" * size)[:size]
    for filler in (*FILLERS, "!", "،", "؟ "):  # a run that a pattern anchored at both ends must give back
        texts[f"{filler!r}* then a word"] = (filler * size)[:size - 2] + " x"
    return texts


def control_text(size: int = SIZE) -> str:
    return (CONTROL * (size // len(CONTROL) + 1))[:size]


def cost(fn: Callable[[str], Any], text: str, repeats: int = 3) -> float:
    """The least time of `repeats` calls: the work, with the least of other processes' noise."""
    import time

    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - started)
    return best


def slow_texts(fn: Callable[[str], Any], bound: float, texts: dict[str, str] | None = None,
               ) -> dict[str, float]:
    """The adversarial texts on which `fn` costs over `bound` times what it costs on the
    control text of the same length, with the ratio. A text over the bound is measured again
    beside a fresh control, and its ratio is the least of those tries, so that a busy
    machine does not make a text look slow."""
    texts = texts if texts is not None else adversarial_texts()
    controls: dict[int, float] = {}
    slow = {}
    for name, text in texts.items():
        size = len(text)
        if size not in controls:
            controls[size] = cost(fn, control_text(size), 5)
        ratio = cost(fn, text, 1) / controls[size]
        for _ in range(3):
            if ratio <= bound:
                break
            ratio = min(ratio, cost(fn, text) / cost(fn, control_text(size)))
        if ratio > bound:
            slow[name] = round(ratio, 1)
    return slow


# --- pictures that are cheap to send and dear to decode ------------------------------------
def jpeg_decode_bomb(side: int = 5000, scans: int = 20_000) -> bytes:
    """A progressive JPEG of side x side grey pixels whose last scan is repeated until it has
    `scans` scans: a few hundred KB that passes every byte and pixel limit, and that libjpeg
    decodes scan by scan over the whole picture (about a minute for 20,000 on one core)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (side, side), 128).save(out, "JPEG", progressive=True, quality=90)
    head, parts = _jpeg_scans(out.getvalue())
    repeated = parts + [parts[-1]] * max(0, scans - len(parts))
    return head + b"".join(repeated) + b"\xff\xd9"


def _jpeg_scans(data: bytes) -> tuple[bytes, list[bytes]]:
    """The bytes before the first scan, and each scan (with the tables just before it)."""
    at, head_end, scans, start = 2, 0, [], 0
    while at < len(data) - 1:
        marker = data[at + 1]
        if marker == 0xD9:  # end of image
            break
        segment_end = at + 2 + int.from_bytes(data[at + 2:at + 4], "big")
        if marker == 0xDA:  # start of scan: its coded data runs to the next real marker
            head_end = head_end or at
            end = segment_end
            while not (data[end] == 0xFF and data[end + 1] not in (0x00, *range(0xD0, 0xD8))):
                end += 1
            scans.append(data[start or at:end])
            start, at = 0, end
            continue
        if head_end and not start:  # tables between scans belong to the next scan
            start = at
        at = segment_end
    return data[:head_end], scans
