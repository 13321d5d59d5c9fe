"""Hostile input, a short run: the properties of bot/testing/hostile.py (random Unicode,
controls, bidi and zero-width characters, 10,000-character messages, wrong JSON types, deep
nesting, signed junk forms, broken import files) against the core, the normaliser and the
redactor, both webhooks over real HTTP, and the breach importer. `bench/fuzz.py` runs the
same properties for longer. Bugs they found stay as regression tests."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from bot.breaches.index import BreachIndex
from bot.dialogue.messages import Incoming
from bot.testing import hostile
from bot.testing.fake_telegram import text_update
from bot.testing.fake_twilio import message_sid
from bot.testing.hostile import PROPERTIES, BreachRig, CoreRig, ServiceRig, run_property
from bot.understanding.redact import find_sensitive, redact

ROOT = Path(__file__).resolve().parent.parent


def _props(rig: str) -> list[pytest.param]:
    return [pytest.param(p, id=p.name) for p in PROPERTIES if p.rig == rig]


@pytest.fixture(scope="module")
def core_rig(tmp_path_factory):
    rig = CoreRig(tmp_path_factory.mktemp("core"))
    yield rig
    rig.close()


@pytest.fixture(scope="module")
def service_rig(tmp_path_factory):
    with ServiceRig(tmp_path_factory.mktemp("service")) as rig:
        yield rig


@pytest.fixture(scope="module")
def breach_rig(tmp_path_factory):
    rig = BreachRig(tmp_path_factory.mktemp("breach"))
    yield rig
    rig.close()


@pytest.mark.parametrize("prop", _props("none"))
def test_text_property(prop):
    assert run_property(prop, None).tried > 0


@pytest.mark.parametrize("prop", _props("core"))
def test_core_property(prop, core_rig):
    assert run_property(prop, core_rig).tried > 0


@pytest.mark.parametrize("prop", _props("service"))
def test_service_property(prop, service_rig):
    assert run_property(prop, service_rig).tried > 0


@pytest.mark.parametrize("prop", _props("breach"))
def test_breach_property(prop, breach_rig):
    assert run_property(prop, breach_rig).tried > 0


# --- fixed here: regressions ---
@pytest.mark.parametrize("text", ["a" * 100_000, "1" * 100_000, "a." * 50_000, "x-" * 50_000, "ab-" * 30_000])
def test_redact_and_normalise_take_linear_time(text):
    started = time.perf_counter()
    redact(text)
    find_sensitive(text)
    hostile.normaliser().normalise(text)
    assert time.perf_counter() - started < 2.0  # quadratic email and link patterns took minutes


def test_redacted_text_is_always_storable():
    assert redact("call me \ud800 on 03001234567").encode("utf-8") == "call me \ufffd on <phone>".encode()


@pytest.mark.parametrize("line", ['"' + "x" * 140_000 + '",03001234567', "a@" + "x." * 40_000 + "@x",
                                  '"a\rb",03001234567', "\x00" * 1000 + ",03001234567"])
def test_breach_import_survives_pathological_lines(tmp_path, line):
    index = BreachIndex(tmp_path / "b.db", b"p")
    started = time.perf_counter()
    report = index.import_lines("x", [line, "not an identifier"])
    assert time.perf_counter() - started < 2.0
    assert report.read == 2 and report.rejected == 1 + ("0300" not in line)
    index.close()


def test_breach_cli_reports_rejected_rows_of_a_broken_file(tmp_path):
    path = tmp_path / "leak.csv"
    path.write_bytes(b"\xef\xbb\xbf03001234567\r\n\xff\xfe junk\n\"unterminated,0300 7654321\n\x00\x00\n"
                     + b'"' + b"y" * 200_000 + b'",ali@example.com\n' + b"a@" + b"x." * 30_000 + b"@\n;;;\n")
    env = {"BOT_DB": str(tmp_path / "bot.db"), "BREACH_DB": str(tmp_path / "breaches.db"),
           "BREACH_PEPPER": "p", "BOT_SECRET": "s", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "bot", "breaches", "import", "--breach", "x", "--quiet",
                             str(path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report == {"breach": "x", "read": 7, "imported": 3, "duplicate": 0, "rejected": 4}
    blob = (tmp_path / "breaches.db").read_bytes()
    assert b"3001234567" not in blob and b"ali@example.com" not in blob


@pytest.mark.parametrize("confirm", [True, False], ids=["delivered", "respond"])
def test_quoted_scam_leaves_no_personal_data_on_disk(core_rig, confirm):
    """The scam report quotes the message back and the outbox holds it until delivered: both
    must be masked, or the number lingers in the file (deleted rows stay in the WAL)."""
    bot = core_rig.fresh()
    text = f"{hostile.SCAMS[0]} call 03001234567 or ali.k@example.com, password: Ali@123x"
    outcome = bot.handle(Incoming("test", "forwarder", text, message_id="scam-1"))
    assert outcome.intent == "scam_check" and outcome.replies[-1].text.startswith("SENDER Congratulations")
    if confirm:
        bot.delivered(outcome)
    blob = hostile.sqlite_bytes(core_rig.db)
    assert not [raw for raw in (b"3001234567", b"ali.k@example.com", b"Ali@123x") if raw in blob]


# --- bugs the properties found, fixed: each stays as a regression test ---
@pytest.mark.parametrize("number", ["²", "①", "\U0001f101"])
def test_core_non_decimal_digit(core_rig, number):
    bot = core_rig.bot
    assert bot.respond(Incoming("test", f"digits-{number}", "hi"))[0].options
    assert bot.respond(Incoming("test", f"digits-{number}", number))


@pytest.mark.parametrize("incoming", [
    Incoming("test", "surrogate-1", hostile.SCAMS[0] + " \ud800"),  # a scam: its fingerprint
    Incoming("test", "\udfff", "hi"),
    Incoming("test", "surrogate-2", "hi", message_id="\ud800"),
], ids=["scam-text", "user-id", "message-id"])
def test_core_lone_surrogates(core_rig, incoming):
    assert core_rig.bot.respond(incoming)


def test_core_unanswerable_choice(core_rig):
    assert core_rig.bot.respond(Incoming("telegram", "chooser", "", choice="out_of_scope"))  # the menu


def _status(rig: ServiceRig, path: str, body: bytes, headers: dict[str, str]) -> int:
    """POST and return the status, dropping what the request logged (these requests fail)."""
    try:
        return rig.client.post(path, content=body, headers=headers).status_code
    finally:
        rig.errors.take()


def test_whatsapp_non_decimal_digit(service_rig):
    form = {"MessageSid": message_sid(1), "AccountSid": hostile.ACCOUNT_SID, "From": "whatsapp:+923009999999",
            "Body": "hi"}
    assert hostile.signed_post(service_rig, form).status_code == 200
    form = {**form, "MessageSid": message_sid(2), "Body": "²"}
    signature = RequestValidator(hostile.AUTH).compute_signature(f"{hostile.PUBLIC_URL}/whatsapp", form)
    headers = {"content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    assert _status(service_rig, "/whatsapp", urlencode(form).encode(), headers) == 200


@pytest.mark.parametrize(("update_id", "date"), [(424201, 10**30), (424202, 1e308), (424203, float("inf"))])
def test_telegram_date_overflow(service_rig, update_id, date):
    update = text_update(update_id, 4242, "hi")
    update["message"]["date"] = date
    body = json.dumps(update).encode()
    assert _status(service_rig, "/telegram", body, {"X-Telegram-Bot-Api-Secret-Token": hostile.SECRET}) == 400


@pytest.mark.parametrize(("update_id", "who", "value"), [(525201, "from", {}), (525202, "from", []),
                                                         (525203, "chat", {"a": 1})])
def test_telegram_unhashable_id(service_rig, update_id, who, value):
    update = text_update(update_id, 5252, "hi")
    update["message"][who]["id"] = value
    body = json.dumps(update).encode()
    assert _status(service_rig, "/telegram", body, {"X-Telegram-Bot-Api-Secret-Token": hostile.SECRET}) == 400
