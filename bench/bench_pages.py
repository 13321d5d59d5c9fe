"""Page writes and CPU per message in the SQLite store (issue 29: "about a dozen 4 KB page
writes per message across two transactions").

    .venv/bin/python bench/bench_pages.py [--messages 4000]

Handles messages through the core on a fresh SQLite file, as the service does (the message's
transaction, then the delivered-mark), with the automatic checkpoint off so that every page a
commit writes stays in the WAL and can be counted. People: half new, half returning (a
returning person's row is updated in place); texts as in bench_checkpoints. Prints the WAL
frames (4 KB pages) written per message and the CPU time per message (all of the core's
work, so that a change to the store shows against the rest)."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bot.content.load import load_content
from bot.dialogue.core import Bot
from bot.dialogue.messages import Incoming
from bot.state.sqlite_store import Store

TEXTS = ["hi", "how do i stop marketing calls", "mera whatsapp hack ho gaya hai", "کیا میرا ڈیٹا لیک ہوا ہے"]


def run(messages: int) -> tuple[float, float]:
    """(WAL frames per message, CPU ms per message)."""
    content = load_content()
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "bot.db")
        store.db.execute("PRAGMA wal_autocheckpoint=0")
        bot = Bot(content, store, b"bench")
        for n in range(200):  # warm-up: caches and the first pages of each table
            bot.delivered(bot.handle(Incoming("whatsapp", f"w{n}", TEXTS[n % 4], message_id=f"W{n}")))
        before = _frames(store)
        started = time.process_time()
        for n in range(messages):
            who = f"u{n}" if n % 2 else f"u{n // 10}"  # half new people, half returning ones
            bot.delivered(bot.handle(Incoming("whatsapp", who, TEXTS[n % 4], message_id=f"SM{n}")))
        cpu = time.process_time() - started
        frames = _frames(store) - before
        store.close()
    return frames / messages, cpu / messages * 1000


def _frames(store: Store) -> int:
    """Frames in the WAL so far: with no checkpoint it only grows, a header of 32 bytes and
    then a 24-byte header and a page for each frame."""
    page = int(store.db.execute("PRAGMA page_size").fetchone()[0])
    size = store.path.with_name(store.path.name + "-wal").stat().st_size
    return (size - 32) // (page + 24)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=4000)
    args = parser.parse_args()
    frames, cpu = run(args.messages)
    print(f"{args.messages} messages: {frames:.1f} WAL pages written per message, "
          f"{cpu:.3f} ms CPU per message")


if __name__ == "__main__":
    main()
