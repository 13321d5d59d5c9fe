"""Where the service's rare slow messages come from: SQLite's automatic WAL checkpoints.

    .venv/bin/python bench/bench_checkpoints.py [--messages 40000]

Handles the same messages through the core on a fresh SQLite file three times, in one process:
with SQLite's default automatic checkpoint (what the service ran before issue 14), with
checkpoints in a background thread (`Store.checkpoint_in_background`, what the service runs
now), and with no checkpoint at all (the WAL then only grows: not a setting to run with, a
control). Prints, for each, the time per message
(p50, p99, max) and the messages slower than 15 ms. A checkpoint copies the WAL into the
database and syncs it to disk; on a disk with slow syncs (this project's VM) that one commit
waits tens to hundreds of milliseconds, and the event loop with it."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bot.content.load import load_content
from bot.dialogue.core import Bot
from bot.dialogue.messages import Incoming
from bot.state.sqlite_store import Store

TEXTS = ["hi", "how do i stop marketing calls", "mera whatsapp hack ho gaya hai", "کیا میرا ڈیٹا لیک ہوا ہے"]
SLOW = 0.015


def run(messages: int, mode: str) -> tuple[list[float], int]:
    """The time of each message, and the largest size the WAL file reached (bytes)."""
    with tempfile.TemporaryDirectory() as folder:
        wal = Path(folder) / "bot.db-wal"
        store = Store(Path(folder) / "bot.db")
        if mode == "background":
            store.checkpoint_in_background()
        elif mode == "off":
            store.db.execute("PRAGMA wal_autocheckpoint=0")
        bot = Bot(load_content(), store, b"bench")
        times, largest = [], 0
        for n in range(messages):
            started = time.perf_counter()
            bot.delivered(bot.handle(Incoming("whatsapp", f"u{n}", TEXTS[n % 4], message_id=f"SM{n}")))
            times.append(time.perf_counter() - started)
            if n % 500 == 0:
                largest = max(largest, wal.stat().st_size)
        store.close()
        return times, largest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=40000)
    args = parser.parse_args()
    print(f"{'checkpoints':<26}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'> 15 ms':>9}{'WAL max MB':>12}")
    names = {"auto": "automatic (before)", "background": "background (as served)", "off": "none (control)"}
    for mode, name in names.items():
        times, wal = run(args.messages, mode)
        times.sort()
        slow = sum(t > SLOW for t in times)
        print(f"{name:<26}{statistics.median(times) * 1000:>8.2f}"
              f"{times[int(len(times) * 0.99)] * 1000:>8.2f}{times[-1] * 1000:>8.1f}{slow:>9}"
              f"{wal / 2**20:>12.1f}")


if __name__ == "__main__":
    main()
