"""The web service's memory: at most 120 MB RSS after start-up and 400 messages, the intent
classifier included (its training runs in a child process: scikit-learn never loads here)."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from bot.testing.fake_telegram import FakeTelegram
from bot.testing.fake_twilio import message_sid
from bot.testing.process import ServiceProcess, service_env

TOKEN, SECRET, AUTH, PUBLIC = "123:test-token", "hook-secret", "twilio-token", "https://bot.example.org"
TEXTS = [
    "assalam o alaikum", "mera whatsapp hack ho gaya hai kya karun", "how do i stop marketing calls",
    "میرا ڈیٹا لیک ہو گیا ہے اب کیا کروں", "is this real: you won 50,000 in a lucky draw, call now",
    "PTA KO COMPLAIN KAISE KARUN", "thanks bhai", "what do you keep about me",
]
BUDGET_MB = 120


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_service_memory_after_start_and_400_messages(tmp_path: Path) -> None:
    with FakeTelegram(TOKEN) as telegram:
        env = service_env(tmp_path / "bot.db", telegram.url, token=TOKEN, webhook_secret=SECRET,
                          twilio_token=AUTH, public_url=PUBLIC, BOT_RATE_PER_MINUTE="1000000")
        with ServiceProcess(env, tmp_path / "service.log") as service, httpx.Client(base_url=service.url) as http:
            for n in range(400):
                form = {"MessageSid": message_sid(f"mem{n}"), "AccountSid": "AC" + "0" * 32,
                        "From": f"whatsapp:+92300{n % 40:07d}",
                        "To": "whatsapp:+14155238886", "Body": f"{TEXTS[n % len(TEXTS)]} {n}", "NumMedia": "0"}
                signature = RequestValidator(AUTH).compute_signature(f"{PUBLIC}/whatsapp", form)
                response = http.post("/whatsapp", content=urlencode(form), headers={
                    "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature})
                assert response.status_code == 200, response.text
            rss_kb, _ = service.memory_kb()
    print(f"service RSS after 400 messages: {rss_kb / 1024:.1f} MB")
    assert 0 < rss_kb <= BUDGET_MB * 1024, f"RSS {rss_kb / 1024:.1f} MB"
