"""The tipline's bar, end to end: our service under uvicorn on loopback, the real
python-telegram-bot library, the local Bot API stand-in, and the commands as staff run them.

Over the Telegram webhook three people forward variants of one scam (other numbers, other links,
other capitals); two of them ask to be told; a fourth asks to be told, then deletes their data.
`scams trending --json` shows one group of 3 people with a masked text; `scams confirm ID
--verdict scam` succeeds; `alerts send` (run twice) tells the two who asked, once each, and
nobody else; a fifth person forwarding a new variant is told at once that staff confirmed it and
how many reported it; no chat id or scammer's number is in any database file.

Then the same on two workers sharing one Redis: a group filed through one is counted and
confirmed through the other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from bot.service import create_app
from bot.testing.fake_telegram import FakeTelegram, button_update, text_update
from bot.testing.http import free_port, serve_asgi
from bot.testing.process import ServiceProcess, service_env
from tests.conftest import ROOT
from tests.test_channels import TOKEN, make_settings, post_update
from tests.test_desk_redis import redis_url  # noqa: F401 - a fixture

KEY = Fernet.generate_key().decode()
PEOPLE = {name: 880_000_100 + n for n, name in enumerate("ABCDE")}  # Telegram user (and chat) ids
SCAMMERS = ["03001112233", "+92 345 7654321", "0311-2223334", "0333 4445556", "0302 9876543"]
HOSTS = ["jazzcash-verify.example.top", "jazz-cash.secure-check.xyz", "bit.ly/3xYzQ", "jc-verify.top",
         "jazzcash.account-help.online"]
VARIANTS = [
    f"URGENT: Your JazzCash account will be blocked today. Verify your CNIC now at http://{HOSTS[0]}/login "
    f"or call {SCAMMERS[0]}.",
    f"urgent: your JAZZCASH account will be BLOCKED today.   Verify your cnic now at https://{HOSTS[1]}/v "
    f"or call {SCAMMERS[1]}",
    f"URGENT!! Your JazzCash account will be blocked TODAY. Verify your CNIC at https://{HOSTS[2]} or call "
    f"{SCAMMERS[2]} now.",
    f"URGENT: Your JazzCash account will be blocked today. Verify your CNIC now at {HOSTS[3]} or call "
    f"{SCAMMERS[3]}.",
    f"Urgent: your Jazzcash account will be blocked today! Verify your CNIC now at https://{HOSTS[4]}/x or "
    f"call {SCAMMERS[4]}",
]


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def test_the_bar(tmp_path):
    with FakeTelegram(TOKEN) as tg:
        settings = make_settings(tmp_path, tg, 0, alerts_key=KEY, alerts_db=tmp_path / "alerts.db")
        update = iter(range(1, 1000))

        def say(who: str, text: str) -> list[str]:
            before = len(tg.sent_to(PEOPLE[who]))
            assert post_update(client, text_update(next(update), PEOPLE[who], text)).status_code == 200
            return tg.sent_to(PEOPLE[who])[before:]

        def press(who: str, data: str) -> list[str]:
            before = len(tg.sent_to(PEOPLE[who]))
            assert post_update(client, button_update(next(update), PEOPLE[who], data)).status_code == 200
            return tg.sent_to(PEOPLE[who])[before:]

        with serve_asgi(create_app(settings), free_port()) as url, httpx.Client(base_url=url, timeout=30) as client:
            # A forwards the scam and presses the button under the verdict.
            verdict, report = say("A", VARIANTS[0])
            assert "clear signs of a scam" in verdict and report.startswith("SENDER ")
            keyboard = tg.calls("sendMessage")[-2]["reply_markup"]["inline_keyboard"]
            buttons = {row[0]["callback_data"]: row[0]["text"] for row in keyboard}
            assert buttons["tipline:1"] == "Tell me when staff confirm"
            (done,) = press("A", "tipline:1")
            assert done.startswith("Done: when our staff have checked this message")
            # B forwards another variant and types "tell me"; C forwards one and does not ask.
            say("B", VARIANTS[1])
            assert say("B", "tell me")[0].startswith("Done")
            say("C", VARIANTS[2])
            # D asks to be told ("mujhe batana"), then deletes their data.
            say("D", VARIANTS[3])
            assert say("D", "mujhe batana")[0].startswith("Theek hai")
            say("D", "delete my data")
            press("D", "delete:yes")

        env = {**os.environ, "BOT_DB": str(settings.db_path), "BOT_SECRET": "s", "BOT_ALERTS_KEY": KEY,
               "BOT_ALERTS_DB": str(tmp_path / "alerts.db"), "TELEGRAM_BOT_TOKEN": TOKEN,
               "TELEGRAM_API_URL": tg.url, "BREACH_PEPPER": "p", "BREACH_DB": str(tmp_path / "none.db")}
        (group,) = json.loads(cli(env, "scams", "trending", "--json"))
        assert (group["id"], group["people"], group["staff_verdict"], group["waiting"]) == (1, 3, None, 2)
        assert group["text"] == ("URGENT: Your JazzCash account will be blocked today. Verify your CNIC now at "
                                 "<link> or call <phone>.")
        assert group["bot_verdict"] == "likely_scam" and group["first_seen"] <= group["last_seen"]
        confirmed = json.loads(cli(env, "scams", "confirm", "1", "--verdict", "scam", "--note", "JazzCash wave"))
        assert confirmed == {"id": 1, "verdict": "scam", "followups_queued": 2}

        before = {who: len(tg.sent_to(chat)) for who, chat in PEOPLE.items()}
        assert json.loads(cli(env, "alerts", "send")) == {"sent": 2, "retried": 0, "failed": 0}
        assert json.loads(cli(env, "alerts", "send")) == {"sent": 0, "retried": 0, "failed": 0}
        told = {who: tg.sent_to(chat)[before[who]:] for who, chat in PEOPLE.items()}
        assert [len(told[who]) for who in "ABCDE"] == [1, 1, 0, 0, 0]
        for who in "AB":
            assert told[who][0].startswith('Update on a message you asked me to check ("URGENT: Your JazzCash')
            assert "our staff confirmed it is a scam. People who reported it: 3." in told[who][0]

        # A fifth person forwarding a new variant is told at once, before the red flags.
        with serve_asgi(create_app(settings), free_port()) as url, httpx.Client(base_url=url, timeout=30) as client:
            verdict, report = say("E", VARIANTS[4])
        assert verdict.startswith("Our staff checked this message: it is a scam. People who reported it to me: 4.")
        assert verdict.index("What I found") > 0

        # No chat id, nor a scammer's number or link host, in any database file.
        raw = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
        secrets = [str(chat) for chat in PEOPLE.values()] + [digits(n)[-10:] for n in SCAMMERS] + HOSTS
        assert {s for s in secrets if s.encode() in raw} == set()
        assert len(list(Path(tmp_path).glob("*.db"))) >= 2  # the state store and the alerts file were searched


# --- two workers, one Redis ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN) as fake:
        yield fake


WEBHOOK = "tipline-webhook-secret"
METRICS = {"Authorization": "Bearer a-metrics-token-long-enough-0123456789"}


@pytest.fixture
def workers(redis_url, telegram, tmp_path) -> Iterator[tuple[list[httpx.Client], dict[str, str]]]:  # noqa: F811

    def env(name: str) -> dict[str, str]:
        (tmp_path / name).mkdir(exist_ok=True)
        return service_env(tmp_path / name / "bot.db", telegram.url, token=TOKEN, webhook_secret=WEBHOOK,
                           twilio_token="t", public_url="https://bot.example.org", secret="shared-secret",
                           BOT_STATE_URL=redis_url, BREACH_PEPPER="pepper", BOT_ALERTS_KEY=KEY,
                           BOT_ALERTS_DB=str(tmp_path / name / "alerts.db"),
                           METRICS_TOKEN=METRICS["Authorization"].removeprefix("Bearer "))

    with ServiceProcess(env("a"), tmp_path / "a.log") as a, ServiceProcess(env("b"), tmp_path / "b.log") as b:
        clients = [httpx.Client(base_url=s.url, timeout=30) for s in (a, b)]
        yield clients, env("cli")
        for client in clients:
            client.close()


def test_two_workers_on_one_redis_share_the_groups(workers, telegram):
    (a, b), env = workers

    def say(client: httpx.Client, update_id: int, who: str, text: str) -> list[str]:
        before = len(telegram.sent_to(PEOPLE[who]))
        response = client.post("/telegram", json=text_update(update_id, PEOPLE[who], text),
                               headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK})
        assert response.status_code == 200, response.text
        return telegram.sent_to(PEOPLE[who])[before:]

    say(a, 1, "A", VARIANTS[0])
    assert say(b, 2, "A", "tell me")[0].startswith("Done")  # the offer made on one worker, taken on the other
    say(b, 3, "B", VARIANTS[1])
    say(a, 4, "C", VARIANTS[2])
    (group,) = json.loads(cli(env, "scams", "trending", "--json"))
    assert (group["people"], group["waiting"]) == (3, 1)
    cli(env, "scams", "confirm", str(group["id"]), "--verdict", "scam")
    assert say(b, 5, "D", VARIANTS[3])[0].startswith("Our staff checked this message: it is a scam. People who "
                                                      "reported it to me: 4.")
    metrics = a.get("/metrics", headers=METRICS).text
    assert "mehfooz_scam_groups 1.0" in metrics and "mehfooz_scam_groups_confirmed 1.0" in metrics
    before = len(telegram.sent_to(PEOPLE["A"]))
    # (each worker also sends every minute: whoever sends it, it goes once)
    assert json.loads(cli(env, "alerts", "send"))["sent"] in (0, 1)
    assert json.loads(cli(env, "alerts", "send"))["sent"] == 0
    assert len(telegram.sent_to(PEOPLE["A"])) == before + 1
    assert "confirmed it is a scam" in telegram.sent_to(PEOPLE["A"])[-1]
    assert "mehfooz_scam_followups_sent_total 1.0" in b.get("/metrics", headers=METRICS).text
