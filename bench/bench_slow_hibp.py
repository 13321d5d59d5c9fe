"""Does a slow HIBP (or XposedOrNot) hold up anyone else? Issue 14's bar: with the service
answering in 2.5 s and three lookups in flight, another person's "hi" gets its reply with p99
under 300 ms.

    .venv/bin/python bench/bench_slow_hibp.py [--rounds 3] [--source hibp|xon]

Against `python -m bot serve` (a child process) with local HIBP, or with `--source xon` local
XposedOrNot and no HIBP key (every answer 2.5 s late), Bot
API and Twilio Messages API fakes. Each round: "hi" from new WhatsApp senders, four at a time,
for as long as three email lookups (three people) are in flight, until their results reached
the Twilio fake as follow-ups; and, as the baseline in the same process, the same "hi" traffic
for as long with no lookup. Prints the latency of the "hi" replies (p50, p99, max) for both and
the ratio. The breaker opens on slow answers, so rounds are a cooldown (60 s) apart, and a
quick answer to its trial closes it before the next round."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import count
from pathlib import Path
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from bot.breaches.source import BREAKER_COOLDOWN
from bot.testing.fake_hibp import KEY, FakeHibp
from bot.testing.fake_telegram import FakeTelegram
from bot.testing.fake_twilio import FakeTwilio, message_sid
from bot.testing.fake_xon import FakeXon
from bot.testing.process import ServiceProcess, service_env

TOKEN, SECRET, AUTH, PUBLIC_URL = "123:bench", "bench-secret", "bench-auth", "https://bot.example.org"
ACCOUNT = "AC" + "0" * 32
EMAILS = [f"slow{n}@example.com" for n in range(3)]
DELAY = 2.5  # seconds each HIBP answer takes
IDS = count()


def post(client: httpx.Client, sender: str, body: str) -> float:
    form = {"MessageSid": message_sid(next(IDS)), "AccountSid": ACCOUNT, "From": sender,
            "To": "whatsapp:+14155238886", "Body": body, "NumMedia": "0"}
    signature = RequestValidator(AUTH).compute_signature(f"{PUBLIC_URL}/whatsapp", form)
    started = time.perf_counter()
    response = client.post("/whatsapp", content=urlencode(form), headers={
        "content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
    assert response.status_code == 200, response.text
    return time.perf_counter() - started


def his(client: httpx.Client, until: threading.Event) -> list[float]:
    """"hi" from new senders, four at a time, until `until` is set."""
    def one_sender() -> list[float]:
        times = []
        while not until.is_set():
            times.append(post(client, f"whatsapp:+9230{next(IDS):08d}", "hi"))
        return times

    with ThreadPoolExecutor(4) as pool:
        return [t for f in [pool.submit(one_sender) for _ in range(4)] for t in f.result()]


def round_(client: httpx.Client, twilio: FakeTwilio) -> tuple[list[float], list[float], float]:
    sent = len(twilio.messages)
    done = threading.Event()
    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        hi = pool.submit(his, client, done)
        for n, email in enumerate(EMAILS):
            pool.submit(post, client, f"whatsapp:+9231{next(IDS):08d}{n}", f"was {email} leaked")
        twilio.wait_for(sent + len(EMAILS), timeout=30)
        window = time.perf_counter() - started
        done.set()
        slow = hi.result()
    quiet = threading.Event()
    threading.Timer(window, quiet.set).start()
    return slow, his(client, quiet), window


def close_breaker(client: httpx.Client, fake: FakeHibp | FakeXon) -> None:
    """A quick answer to the breaker's half-open trial closes it. Otherwise the round's other
    two lookups would be answered "paused" at once, and only one would be in flight."""
    fake.delay = 0
    post(client, f"whatsapp:+9232{next(IDS):08d}", f"was {EMAILS[0]} leaked")
    fake.delay = DELAY


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return (f"{len(ordered):>6}{statistics.median(ordered) * 1000:>9.1f}{p99 * 1000:>9.1f}"
            f"{ordered[-1] * 1000:>9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--source", choices=("hibp", "xon"), default="hibp")
    args = parser.parse_args()
    accounts = {e: ["Adobe"] for e in EMAILS}
    fake = FakeHibp(accounts) if args.source == "hibp" else FakeXon(accounts)
    with (tempfile.TemporaryDirectory() as folder, FakeTelegram(TOKEN) as telegram,
          fake as service_fake, FakeTwilio(ACCOUNT, AUTH) as twilio):
        service_fake.delay = DELAY
        source = ({"HIBP_API_KEY": KEY, "HIBP_API_URL": service_fake.url} if args.source == "hibp"
                  else {"XON_API_URL": service_fake.url})
        env = service_env(Path(folder) / "bot.db", telegram.url, token=TOKEN, webhook_secret=SECRET,
                          twilio_token=AUTH, public_url=PUBLIC_URL, **source,
                          TWILIO_API_URL=twilio.url, TWILIO_WHATSAPP_FROM="whatsapp:+14155238886",
                          BREACH_DB=str(Path(folder) / "none.db"), BOT_WATCH_INTENTS="0")
        with ServiceProcess(env, Path(folder) / "service.log") as service, \
                httpx.Client(base_url=service.url, timeout=30) as client:
            slow, quiet = [], []
            for n in range(args.rounds):
                if n:
                    time.sleep(BREAKER_COOLDOWN + 1)  # three slow answers opened the breaker
                    close_breaker(client, service_fake)
                s, q, window = round_(client, twilio)
                slow += s
                quiet += q
                print(f"round {n + 1}: three lookups in flight for {window:.1f} s")
    print(f"{'another person hi':<30}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    print(f"{f'3 lookups in flight ({args.source})':<30}{summary(slow)}")
    print(f"{'no lookup (baseline)':<30}{summary(quiet)}")
    ratio = sorted(slow)[int(0.99 * len(slow))] / sorted(quiet)[int(0.99 * len(quiet))]
    print(f"p99 ratio {ratio:.2f}; goal: p99 under 300 ms with lookups in flight")


if __name__ == "__main__":
    main()
