"""Speed and size of the local breach index.

    python bench/bench_breaches.py [--sizes 1000000,10000000] [--lookups 20000]

For each N: writes N synthetic Pakistani mobile numbers to a file (in mixed forms), imports
them with `BreachIndex.import_lines` (normalise, keyed hash, insert), and prints import rows
per second, lookup p50/p99 (half the lookups are present), and bytes per identifier. In the
same run, the `sqlite3` shell's `.import` loads the same rows (already hashed, as hex) into a
table of the same shape: the ceiling for getting rows into SQLite at all. Needs the `sqlite3`
command for the ceiling (Debian package sqlite3); without it, that column says n/a."""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bot.breaches.index import BreachIndex, keyed_hash

PEPPER = b"bench-pepper"
FORMS = ("0{}", "+92 {}", "92{}", "0{}")  # the shapes operators' lists come in


def write_numbers(path: Path, n: int, rng: random.Random) -> list[str]:
    """N distinct numbers 3xxxxxxxxx, written one a line in mixed forms; returns a sample."""
    numbers = rng.sample(range(3_000_000_000, 3_499_999_999), n)
    with open(path, "w") as handle:
        for i, number in enumerate(numbers):
            handle.write(FORMS[i % len(FORMS)].format(number) + "\n")
    return [f"+92{x}" for x in rng.sample(numbers, min(n, 10_000))]


def bench_import(tmp: Path, n: int, lookups: int, rng: random.Random) -> dict[str, float]:
    source = tmp / f"numbers-{n}.txt"
    present = write_numbers(source, n, rng)
    db = tmp / f"index-{n}.db"
    index = BreachIndex(db, PEPPER)
    started = time.perf_counter()
    with open(source) as handle:
        report = index.import_lines("bench", handle)
    seconds = time.perf_counter() - started
    index.close()
    index = BreachIndex(db, PEPPER, readonly=True)
    absent = [f"+92{rng.randrange(3_500_000_000, 3_999_999_999)}" for _ in range(len(present))]
    queries = [rng.choice(present if i % 2 else absent) for i in range(lookups)]
    latencies = []
    for query in queries:
        t = time.perf_counter()
        index.lookup(query)
        latencies.append(time.perf_counter() - t)
    latencies.sort()
    size = db.stat().st_size
    index.close()
    return {
        "imported": report.imported, "rows_per_s": n / seconds, "seconds": seconds,
        "p50_us": statistics.median(latencies) * 1e6, "p99_us": latencies[int(len(latencies) * 0.99)] * 1e6,
        "bytes_per_id": size / n, "ceiling_rows_per_s": ceiling(tmp, source, n),
    }


def ceiling(tmp: Path, source: Path, n: int) -> float | None:
    """`.import` of the same rows, hashed beforehand (hashing is not timed), by the sqlite3 shell."""
    if not shutil.which("sqlite3"):
        return None
    rows = tmp / f"rows-{n}.csv"
    with open(source) as src, open(rows, "w") as out:
        for line in src:
            digits = "".join(c for c in line if c.isdigit())[-10:]
            out.write(f"{keyed_hash(PEPPER, '+92' + digits).hex()},1\n")
    db = tmp / f"ceiling-{n}.db"
    script = (
        "CREATE TABLE hits (hash TEXT NOT NULL, breach INTEGER NOT NULL, PRIMARY KEY (hash, breach))"
        f" WITHOUT ROWID;\n.mode csv\n.import {rows} hits\n"
    )
    started = time.perf_counter()
    subprocess.run(["sqlite3", str(db)], input=script, text=True, check=True)
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--lookups", type=int, default=20_000)
    args = parser.parse_args()
    rng = random.Random(7)
    print(f"{'N':>10} {'import rows/s':>14} {'.import ceiling':>16} {'ratio':>6} "
          f"{'lookup p50 us':>14} {'p99 us':>8} {'bytes/id':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            r = bench_import(Path(tmp), n, args.lookups, rng)
            top = r["ceiling_rows_per_s"]
            print(f"{n:>10} {r['rows_per_s']:>14,.0f} {top or 0:>16,.0f} "
                  f"{(r['rows_per_s'] / top if top else float('nan')):>6.2f} "
                  f"{r['p50_us']:>14.1f} {r['p99_us']:>8.1f} {r['bytes_per_id']:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
