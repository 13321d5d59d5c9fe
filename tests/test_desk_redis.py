"""Two workers, one desk: two `python -m bot serve` processes sharing a real `redis-server`
(BOT_STATE_URL) and the local Bot API stand-in. A case opened through one worker is relayed by
the other, whichever Telegram delivers the staff reply to; a wait is told once between them;
Redis holds no raw chat id."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from bot.testing.fake_telegram import FakeTelegram, topic_update
from bot.testing.process import ServiceProcess, service_env
from bot.testing.redis_server import RedisMissing, run_redis
from tests.test_desk_service import PERSON, STAFF, STAFF_MEMBER, said
from tests.test_scale import redis_dump

TOKEN = "123:desk-token"
WEBHOOK = "desk-webhook-secret"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    try:
        with run_redis() as server:
            yield server.url
    except RedisMissing as missing:
        pytest.skip(f"two workers on Redis not tested: {missing}")


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN) as fake:
        yield fake


@pytest.fixture(scope="module")
def workers(redis_url, telegram, tmp_path_factory) -> Iterator[list[httpx.Client]]:
    tmp = tmp_path_factory.mktemp("desk-workers")
    key = Fernet.generate_key().decode()

    def worker(name: str) -> ServiceProcess:
        env = service_env(tmp / name / "bot.db", telegram.url, token=TOKEN, webhook_secret=WEBHOOK,
                          twilio_token="t", public_url="https://bot.example.org", secret="shared-secret",
                          BOT_STATE_URL=redis_url, BREACH_PEPPER="pepper", STAFF_TELEGRAM_CHAT_ID=str(STAFF),
                          BOT_ALERTS_KEY=key, BOT_ALERTS_DB=str(tmp / name / "alerts.db"),
                          BOT_DESK_WAIT_MINUTES="0.03")  # 1.8 s: each worker looks every 0.6 s
        (tmp / name).mkdir()
        return ServiceProcess(env, tmp / f"{name}.log")

    with worker("a") as a, worker("b") as b:
        clients = [httpx.Client(base_url=s.url, timeout=20) for s in (a, b)]
        yield clients
        for client in clients:
            client.close()
        assert not any((tmp / name / "bot.db").exists() for name in ("a", "b"))  # all state in Redis


def post(client: httpx.Client, update: dict) -> None:
    response = client.post("/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK})
    assert response.status_code == 200, response.text


def test_a_case_opened_on_one_worker_is_relayed_by_the_other(workers, telegram, redis_url):
    a, b = workers
    post(a, said(1, "i want to talk to a real person"))
    post(a, said(2, "yes"))
    (topic,) = telegram.wait_for("createForumTopic", 1)
    thread = next(t for (chat, t) in telegram.topics if chat == STAFF)
    post(b, said(3, "he keeps messaging me from new numbers"))  # the other worker finds the open case
    assert telegram.sent_to(STAFF, thread)[-1] == "he keeps messaging me from new numbers"

    post(b, topic_update(900, STAFF, thread, STAFF_MEMBER, "We are with you. Block and keep screenshots."))
    assert telegram.sent_to(PERSON["id"])[-1] == "Helpline staff: We are with you. Block and keep screenshots."
    post(a, topic_update(900, STAFF, thread, STAFF_MEMBER, "We are with you. Block and keep screenshots."))
    assert telegram.sent_to(PERSON["id"]).count("Helpline staff: We are with you. Block and keep screenshots.") == 1

    post(a, said(4, "is anyone still there"))  # then nobody answers for a while: told once, by one worker
    deadline = time.monotonic() + 20
    while not any("No one from staff" in t for t in telegram.sent_to(PERSON["id"])):
        assert time.monotonic() < deadline, "no wait notice"
        time.sleep(0.1)
    time.sleep(2.0)  # both workers looked several times more
    assert sum("No one from staff" in t for t in telegram.sent_to(PERSON["id"])) == 1

    post(a, topic_update(901, STAFF, thread, STAFF_MEMBER, "/close"))
    assert "ended this chat (case 1)" in telegram.sent_to(PERSON["id"])[-1]
    post(b, said(5, "how do i stop marketing calls"))
    assert "3627" in telegram.sent_to(PERSON["id"])[-1]

    import redis

    r = redis.Redis.from_url(redis_url)
    dump = redis_dump(r)
    case = {k.decode(): v.decode() for k, v in r.hgetall("mehfooz:case:1").items()}
    r.close()
    assert case["state"] == "closed" and case["from_person"] == "2" and case["from_staff"] == "1"
    assert b"777000123" not in dump and b"Zarmeena" not in dump and "address" not in case


def test_the_log_of_each_worker_holds_no_chat_id(workers, tmp_path_factory):
    logs = list(Path(tmp_path_factory.getbasetemp()).rglob("desk-workers*/*.log"))
    assert logs and not any(b"777000123" in p.read_bytes() for p in logs)
    assert all(os.path.getsize(p) for p in logs)
