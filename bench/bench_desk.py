"""What the desk costs a message, with SQLite state: the core (`Bot.handle`) for people with no
case, without a desk and with one (each message looks for the person's open case), and for a
person whose case is open (the message masked and counted, a post for the staff group made).

    python bench/bench_desk.py [--messages N]

Prints mean, p50 and p99 of the wall time per message on one core, the open-case lookup
alone, and the difference the desk makes to people who never ask for it (p50: SQLite's
automatic checkpoints, which run inside some commits, swing the means and p99s)."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

from bot.content.load import load_content
from bot.dialogue.core import Bot, Limits
from bot.dialogue.desk import Desk
from bot.dialogue.messages import Incoming
from bot.state.cases import case_store
from bot.state.sqlite_store import Store

TEXTS = ["how do i stop marketing calls", "mera whatsapp hack ho gaya hai", "کیا میرا ڈیٹا لیک ہوا ہے",
         "is this a scam: your account is blocked call now", "how many sims are on my cnic",
         "he keeps sending me messages from new numbers and says he will post my pictures"]


def run(bot: Bot, user: str, count: int, setup: list[str] = ()) -> list[float]:
    for n, text in enumerate(setup):
        bot.handle(Incoming("telegram", user, text, message_id=f"{user}-setup-{n}"))
    times = []
    for n in range(count):
        msg = Incoming("telegram", user, TEXTS[n % len(TEXTS)], message_id=f"{user}-{n}")
        started = time.perf_counter()
        bot.handle(msg)
        times.append(time.perf_counter() - started)
    return times


def line(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    mean, p50 = statistics.fmean(times) * 1000, statistics.median(times) * 1000
    return f"{name:<34} mean {mean:6.3f} ms  p50 {p50:6.3f} ms  p99 {p99 * 1000:6.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=600)
    args = parser.parse_args()
    content = load_content()
    with tempfile.TemporaryDirectory() as folder:
        off = Bot(content, Store(Path(folder) / "off.db"), b"s", Limits(per_minute=None))
        store = Store(Path(folder) / "on.db")
        desk = Desk(case_store(store), Fernet.generate_key().decode(), b"s")
        on = Bot(content, store, b"s", Limits(per_minute=None), desk=desk)
        run(off, "warm", 50)
        run(on, "warm", 50)
        results = {
            "no desk": run(off, "a", args.messages),
            "desk on, no case": run(on, "b", args.messages),
            "desk on, case open (relayed)": run(on, "c", args.messages, ["talk to a real person", "yes"]),
        }
        lookups = []
        for n in range(args.messages):  # the part the desk adds to every message: its case lookup
            started = time.perf_counter()
            desk.live(f"someone-{n}")
            lookups.append(time.perf_counter() - started)
        results["the open-case lookup alone"] = lookups
    for name, times in results.items():
        print(line(name, times))
    # p50: the means and p99s here swing with SQLite's checkpoints, inside a commit
    extra = statistics.median(results["desk on, no case"]) - statistics.median(results["no desk"])
    print(f"the desk's cost to a message with no case: {extra * 1000:+.3f} ms (p50)")


if __name__ == "__main__":
    main()
