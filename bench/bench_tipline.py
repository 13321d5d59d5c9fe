"""Cost of filing a forwarded scam under its group (the tipline), per message, on one core.

    python bench/bench_tipline.py [--groups 100,1000,5000] [--messages 2000]

With N groups already in a SQLite state store (and in the near-duplicate index, as a running
service has them), files messages of our labelled scam set (tests/data/scam_set.csv, every
scam or suspicious line) with random numbers, links and amounts in place, as a wave would bring
them: half of them copies of a group's message (found by fingerprint or as a near duplicate),
half new. Prints mean, p50 and p99 per message in microseconds for:

- `key`: masking and folding the message into its key (scam_group.masked, key_text);
- `near`: the near-duplicate search alone (rapidfuzz over recent groups' keys, length-banded);
- `file`: Tipline.file whole, inside a transaction as the core runs it (store reads and writes).

The near-duplicate search is bounded: only keys whose length could reach the similarity bar are
compared, among the newest MAX_RECENT groups."""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import tempfile
import time
from pathlib import Path

from bot.dialogue.tipline import Tipline
from bot.state.sqlite_store import Store
from bot.state.tipline import tipline_store
from bot.understanding.scam import default_rules
from bot.understanding.scam_group import MAX_RECENT, key_text, masked

ROOT = Path(__file__).resolve().parent.parent
SET = ROOT / "tests" / "data" / "scam_set.csv"


def scams() -> list[str]:
    rows = list(csv.DictReader(SET.open(encoding="utf-8")))
    return [r["text"] for r in rows if r.get("label") in ("scam", "likely_scam", "suspicious")] or \
        [r["text"] for r in rows]


def variant(text: str, rng: random.Random) -> str:
    """The same message with another number, link and amount, and other capitals."""
    number = f"03{rng.randint(0, 49):02d}{rng.randint(0, 9_999_999):07d}"
    link = f"https://{rng.choice(['verify', 'secure', 'claim'])}-{rng.randint(1, 999)}.top/x"
    words = f"{text} call {number} or visit {link} Rs {rng.randint(1, 99) * 1000}".split()
    return " ".join(w.upper() if rng.random() < 0.1 else w for w in words)


def report(name: str, spent: list[float]) -> None:
    spent = sorted(spent)
    p99 = spent[min(len(spent) - 1, int(len(spent) * 0.99))]
    mean, p50 = statistics.fmean(spent) * 1e6, statistics.median(spent) * 1e6
    print(f"  {name:<5} mean {mean:8.1f} us   p50 {p50:8.1f} us   p99 {p99 * 1e6:8.1f} us")


def run(groups: int, count: int, base: list[str]) -> None:
    rng = random.Random(groups)
    spelling = default_rules().spelling
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "bot.db")
        tipline = Tipline(tipline_store(store), b"bench")
        now = time.time()
        with store.transaction():
            for n in range(groups):  # other waves: each a message of the set with its own words added
                text = f"{rng.choice(base)} ref {n} {' '.join(rng.sample(base[n % len(base)].split(), 3))}"
                shown = masked(text)
                key = key_text(shown, spelling)
                tipline.store.create(f"print-{n}", shown, key, "likely_scam", f"tag-{n}", [], now)
        tipline._near("")  # the index learns the groups, as a running service has them
        messages = [variant(rng.choice(base), rng) for _ in range(count)]
        keyed, near, filed = [], [], []
        for n, message in enumerate(messages):
            start = time.perf_counter()
            key = key_text(masked(message), spelling)
            keyed.append(time.perf_counter() - start)
            start = time.perf_counter()
            tipline.index.best(key)
            near.append(time.perf_counter() - start)
            start = time.perf_counter()
            with store.transaction():
                tipline.file(message, "likely_scam", f"person-{n}", spelling, flagged=True)
            filed.append(time.perf_counter() - start)
        print(f"{groups} groups ({min(groups, MAX_RECENT)} compared at most), {count} messages:")
        report("key", keyed)
        report("near", near)
        report("file", filed)
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", default="100,1000,5000")
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    base = scams()
    for groups in (int(g) for g in args.groups.split(",")):
        run(groups, args.messages, base)


if __name__ == "__main__":
    main()
