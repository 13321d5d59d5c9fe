"""Content reloads in the running service: a new intent file is answered without a restart;
a broken one is reported and the running content stays."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from bot.service import create_app
from bot.testing.http import serve_asgi
from tests.test_channels import make_settings, whatsapp

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "parental controls for kids tablet"

NEW_INTENT = """\
id: parental_controls
reviewed: 2026-11-23
title:
  en: Children's phones
  roman_ur: Bachon ka phone
  ur: بچوں کا فون
examples:
  en:
    - how do i set parental controls on my child's phone
    - parental controls for my kids
    - how to lock apps on my son's tablet
    - keep my daughter safe on her phone
    - limit screen time for children
  roman_ur:
    - bachon ke phone par parental control kaise lagaun
    - bachon ke liye parental controls
    - bete ke tablet par apps lock karni hain
    - bachon ka screen time kam karna hai
  ur:
    - بچوں کے فون پر پیرنٹل کنٹرول کیسے لگاؤں
    - بچوں کے لیے پیرنٹل کنٹرول
    - بیٹے کے ٹیبلٹ پر ایپس لاک کرنی ہیں
    - بچوں کا اسکرین ٹائم کم کرنا ہے
answer:
  en: "Turn on the phone's own parental controls (Family Link on Android, Screen Time on iPhone)."
  roman_ur: "Phone ke apne parental controls on karein (Android par Family Link, iPhone par Screen Time)."
  ur: "فون کے اپنے پیرنٹل کنٹرول آن کریں (اینڈرائیڈ پر فیملی لنک، آئی فون پر اسکرین ٹائم)۔"
"""


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", folder)
    return folder


ADMIN = "admin-token-for-the-reload-tests-0123456789"


@pytest.fixture
def watch() -> bool:
    return True


@pytest.fixture
def live(tmp_path: Path, content_dir: Path, watch: bool):
    """The service with content from `content_dir`, watching it (unless `watch` says not)."""
    from bot.testing.fake_telegram import FakeTelegram

    with FakeTelegram("123:test-token") as telegram_api:
        settings = replace(make_settings(tmp_path, telegram_api, 0), content_dir=content_dir,
                           admin_token=ADMIN, watch_content=watch)
        app = create_app(settings)
        with serve_asgi(app) as url, httpx.Client(base_url=url, timeout=20) as client:
            client.app = app  # for the tests: the reloader and the core
            yield client


def ask_until(client: httpx.Client, text: str, expected: str, timeout: float = 20.0) -> str:
    """Ask again (a new message each time) until the reply holds `expected`."""
    deadline, n = time.monotonic() + timeout, 0
    while True:
        n += 1
        reply = whatsapp(client, text, sid=f"SM-reload-{n}", sender=f"whatsapp:+92300555{n:04d}").text
        if expected in reply or time.monotonic() > deadline:
            return reply
        time.sleep(0.2)


def cli(*args: str, db: Path, content_dir: Path) -> subprocess.CompletedProcess[str]:
    """`python -m bot ...` as a maintainer runs it, on the service's database and content."""
    env = {**os.environ, "BOT_DB": str(db), "BOT_SECRET": "s", "BOT_INTENTS": str(content_dir)}
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def missed(db: Path, content_dir: Path) -> list[str]:
    done = cli("intents", "misses", "--json", db=db, content_dir=content_dir)
    assert done.returncode == 0, done.stderr
    return [group["representative"] for group in json.loads(done.stdout)["groups"]]


def test_a_maintainer_adds_an_intent_and_the_running_bot_answers_it(live, content_dir: Path, tmp_path: Path):
    """The README's path: a message falls back and shows in `intents misses`; a new intent
    file passes `intents check`; the running service answers it without a restart; and the
    message is gone from `intents misses`."""
    db = tmp_path / "bot.db"
    assert "did not understand" in whatsapp(live, QUESTION, sid="SM-before").text
    assert QUESTION in missed(db, content_dir)
    (content_dir / "parental_controls.yaml").write_text(NEW_INTENT, encoding="utf-8")
    checked = cli("intents", "check", db=db, content_dir=content_dir)
    assert checked.returncode == 0 and "OK" in checked.stdout, checked.stdout + checked.stderr
    assert "Family Link" in ask_until(live, QUESTION, "Family Link")
    assert QUESTION not in missed(db, content_dir)


def test_a_broken_file_leaves_the_running_content(live, content_dir: Path, caplog):
    caplog.set_level(logging.INFO, logger="mehfooz.reload")
    broken = NEW_INTENT.replace("examples:", "exampels:")
    (content_dir / "parental_controls.yaml").write_text(broken, encoding="utf-8")
    deadline = time.monotonic() + 20
    while not any("not reloaded" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
        time.sleep(0.1)
    (record,) = [r for r in caplog.records if "not reloaded" in r.getMessage()]
    assert any("parental_controls" in problem for problem in record.fields["problems"])
    assert "marketing" in whatsapp(live, "how do i stop marketing calls", sid="SM-after").text.lower()
    assert "parental_controls" not in live.app.state.core.content.intents


@pytest.mark.parametrize("watch", [False])
def test_an_admin_request_reloads_and_reports_a_broken_file(live, content_dir: Path):
    path = content_dir / "parental_controls.yaml"
    path.write_text(NEW_INTENT.replace("examples:", "exampels:"), encoding="utf-8")
    auth = {"Authorization": f"Bearer {ADMIN}"}
    assert live.post("/admin/reload").status_code == 401
    refused = live.post("/admin/reload", headers=auth)
    assert refused.status_code == 409 and any("parental_controls" in p for p in refused.json()["problems"])
    path.write_text(NEW_INTENT, encoding="utf-8")
    done = live.post("/admin/reload", headers=auth)
    assert done.status_code == 200 and done.json()["ok"] is True
    assert "Family Link" in whatsapp(live, QUESTION, sid="SM-admin").text  # at once: nothing watched


def test_settings_can_turn_watching_off():
    assert Settings.from_env({"BOT_WATCH_INTENTS": "0", "BOT_SECRET": "x"}).watch_content is False
