"""Two workers, one bot: two `python -m bot serve` processes sharing a real `redis-server`
on loopback (BOT_STATE_URL), each with its own (unused) SQLite path. Twilio's signed
WhatsApp posts go to either; what one worker learnt, the other knows."""

from __future__ import annotations

import os
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from bot.testing.fake_twilio import message_sid
from bot.testing.process import ServiceProcess
from bot.testing.redis_server import RedisMissing, run_redis

AUTH = "twilio-auth-token"
PUBLIC_URL = "https://bot.example.org"
PER_MINUTE = 6


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    try:
        with run_redis() as server:
            yield server.url
    except RedisMissing as missing:
        pytest.skip(f"two workers on Redis not tested: {missing}")


def worker(tmp: Path, name: str, redis_url: str) -> ServiceProcess:
    env = {**os.environ, "BOT_STATE_URL": redis_url, "BOT_SECRET": "shared-secret",
           "BOT_DB": str(tmp / name / "bot.db"), "BREACH_PEPPER": "pepper",
           "TWILIO_AUTH_TOKEN": AUTH, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "PUBLIC_URL": PUBLIC_URL,
           "BOT_RATE_PER_MINUTE": str(PER_MINUTE)}
    return ServiceProcess(env, tmp / f"{name}.log")


@pytest.fixture(scope="module")
def workers(redis_url, tmp_path_factory) -> Iterator[list[httpx.Client]]:
    tmp = tmp_path_factory.mktemp("workers")
    with worker(tmp, "a", redis_url) as a, worker(tmp, "b", redis_url) as b:
        clients = [httpx.Client(base_url=service.url, timeout=20) for service in (a, b)]
        yield clients
        for client in clients:
            client.close()
        assert not any((tmp / name / "bot.db").exists() for name in ("a", "b"))  # all state in Redis


def post(client: httpx.Client, body: str, sid: str, sender: str) -> list[str]:
    """A WhatsApp message as Twilio posts it, signed over the public URL; the replies."""
    form = {"MessageSid": message_sid(sid), "AccountSid": "AC" + "0" * 32, "From": f"whatsapp:{sender}",
            "To": "whatsapp:+14155238886", "Body": body, "NumMedia": "0"}
    signature = RequestValidator(AUTH).compute_signature(f"{PUBLIC_URL}/whatsapp", form)
    response = client.post("/whatsapp", content=urlencode(form), headers={
        "content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
    assert response.status_code == 200, response.text
    return [m.text or "" for m in ET.fromstring(response.text).iter("Message")]


def at_once(calls: list) -> list:  # noqa: ANN001
    """Run the calls in threads released together; their results in order."""
    start = threading.Barrier(len(calls))

    def run(call):  # noqa: ANN001, ANN202
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_the_same_message_delivered_to_both_workers_is_answered_once(workers):
    a, b = workers
    for n in range(20):
        sid, sender = f"SMdup{n:04d}", f"+92300{n:07d}"
        answers = at_once([partial(post, c, "how do i stop marketing calls", sid, sender) for c in (a, b)])
        assert sorted(len(replies) for replies in answers) == [0, 1], (n, answers)
        assert "3627" in next(r for r in answers if r)[0]


def test_a_rate_limit_holds_across_workers(workers):
    a, b = workers
    if time.time() % 60 > 50:  # the limit is per clock minute: do not straddle two
        time.sleep(60 - time.time() % 60 + 0.1)
    sender = "+923331112233"
    calls = [partial(post, (a, b)[n % 2], "hi", f"SMrate{n:04d}", sender) for n in range(PER_MINUTE + 4)]
    answers = at_once(calls)
    notices = [r for r in answers if r and "wait a minute" in r[0]]
    answered = [r for r in answers if r and "wait a minute" not in r[0]]
    assert len(answered) == PER_MINUTE and len(notices) == 1
    assert answers.count([]) == 3  # silenced after the notice, whichever worker got them
    assert post(b, "hi", "SMrate-other", "+923334445566")  # someone else is not limited


def test_what_one_worker_offered_the_other_picks(workers):
    a, b = workers
    sender = "+923005556677"
    (offered,) = post(a, "how do i stop marketing calls", "SMpick1", sender)
    assert "Reply with a number: 1, 2, 3 or 4" in offered
    (picked,) = post(b, "2", "SMpick2", sender)
    assert "0800-55055" in picked  # option 2, kept in Redis, was complaining to PTA


def redis_dump(r) -> bytes:  # noqa: ANN001
    """Every key and every value in Redis, as bytes."""
    read = {
        b"string": lambda key: r.get(key) or b"",
        b"hash": lambda key: b"".join(k + v for k, v in r.hgetall(key).items()),
        b"list": lambda key: b"".join(r.lrange(key, 0, -1)),
        b"set": lambda key: b"".join(r.smembers(key)),
        b"zset": lambda key: b"".join(r.zrange(key, 0, -1)),
    }
    return b"".join(key + read[r.type(key)](key) for key in r.scan_iter(count=1000))


def test_redis_holds_no_phone_number_nor_message_text(workers, redis_url):
    import redis

    a, _ = workers
    assert post(a, "mera whatsapp hack ho gaya hai", "SMpriv1", "+923007654321")
    r = redis.Redis.from_url(redis_url)
    dump = redis_dump(r)
    r.close()
    assert b"mehfooz:u:" in dump and b"mehfooz:s:" in dump  # the state is there, hashed
    assert b"7654321" not in dump and b"SMpriv1" not in dump and b"hack ho gaya" not in dump
