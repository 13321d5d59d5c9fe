"""What matching breach-alert subscribers costs an import.

    python bench/bench_alerts.py [--sizes 1000000,2000000,10000000] [--subscribers 100000]
                                 [--matching 0.1] [--rounds 2]

For each N: writes N synthetic Pakistani mobile numbers (mixed forms), and an alerts file with
the subscribers (through `AlertStore.subscribe`: keyed hash, Fernet), a share `--matching` of
them in the list. Then, in the same process and alternating which goes first, imports the
list into a fresh index without subscribers (`breaches import` as it was: the baseline) and
with them (`watched()`, `import_lines(watch=...)`, `queue()`: what `breaches import` does
now). Prints the median time of each and the added share; and the matching alone, timed
inside the same imports (loading the subscribers, `common_rows` and `_new_to` in each batch,
queueing the alerts), as a share of the baseline: on a busy machine the difference of two
whole imports is noisy, the matching's own time is not."""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

from bot.breaches import index as index_module
from bot.breaches.alerts import AlertStore
from bot.breaches.index import Breach, BreachIndex

PEPPER = b"bench-pepper"
FORMS = ("0{}", "+92 {}", "92{}", "0{}")  # the shapes operators' lists come in


def write_numbers(path: Path, n: int, rng: random.Random) -> list[int]:
    numbers = rng.sample(range(3_000_000_000, 3_499_999_999), n)
    with open(path, "w") as handle:
        for i, number in enumerate(numbers):
            handle.write(FORMS[i % len(FORMS)].format(number) + "\n")
    return numbers


def make_subscribers(path: Path, listed: list[int], count: int, matching: float, rng: random.Random) -> None:
    store = AlertStore(path, PEPPER, Fernet.generate_key().decode())
    inside = rng.sample(listed, int(count * matching))
    outside = rng.sample(range(3_500_000_000, 3_999_999_999), count - len(inside))  # not in the list
    for i, number in enumerate(inside + outside):
        store.subscribe(f"person-{i}", "telegram", str(10**9 + i), f"0{number}", "en")
    store.close()


class Timed:
    """Adds up the time spent in a function while installed (the bench's own instrument)."""

    def __init__(self, owner: object, name: str):
        self.owner, self.name, self.seconds = owner, name, 0.0
        self.original = getattr(owner, name)

        def timed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            started = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        setattr(owner, name, timed)

    def remove(self) -> float:
        setattr(self.owner, self.name, self.original)
        return self.seconds


def import_once(tmp: Path, source: Path, alerts: Path | None, run: int) -> tuple[float, float, int]:
    """(seconds for the whole import, seconds of matching in it, alerts queued)."""
    db = tmp / f"index-{run}.db"
    index = BreachIndex(db, PEPPER)
    index.add_breach(Breach("bench", "Bench leak", "2026-01", ("phone numbers",)))
    store = AlertStore(alerts, PEPPER) if alerts else None
    inside = [Timed(index_module, "common_rows"), Timed(BreachIndex, "_new_to")] if alerts else []
    started = time.perf_counter()
    watch = store.watched() if store else None
    loaded = time.perf_counter()
    with open(source) as handle:
        report = index.import_lines("bench", handle, watch=watch)
    imported = time.perf_counter()
    queued = store.queue(index.breach("bench"), report.watched) if store else 0
    done = time.perf_counter()
    in_batches = sum(t.remove() for t in inside)
    index.close()
    if store:
        store.db.execute("DELETE FROM alerts")  # the next round queues them again
        store.close()
    db.unlink()
    return done - started, (loaded - started) + in_batches + (done - imported), queued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000000,2000000,10000000")
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--matching", type=float, default=0.1, help="share of subscribers in the list")
    parser.add_argument("--rounds", type=int, default=2, help="imports of each kind per size")
    args = parser.parse_args()
    rng = random.Random(11)
    print(f"subscribers: {args.subscribers:,}, of them in the list: {args.matching:.0%}; "
          f"median of {args.rounds} round(s), alternating which import goes first")
    print(f"{'N':>11} {'import s':>9} {'with alerts s':>14} {'added':>7} {'matching s':>11} "
          f"{'matching/import':>16} {'queued':>7}")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for n in (int(s) for s in args.sizes.split(",")):
            source, alerts = tmp / f"numbers-{n}.txt", tmp / f"alerts-{n}.db"
            listed = write_numbers(source, n, rng)
            make_subscribers(alerts, listed, args.subscribers, args.matching, rng)
            plain, watched, side, queued = [], [], [], 0
            for run in range(args.rounds):
                order = [None, alerts] if run % 2 == 0 else [alerts, None]
                for which in order:
                    seconds, matching, count = import_once(tmp, source, which, run)
                    if which is None:
                        plain.append(seconds)
                    else:
                        watched.append(seconds)
                        side.append(matching)
                        queued = count
            base, with_alerts = statistics.median(plain), statistics.median(watched)
            matching = statistics.median(side)
            print(f"{n:>11,} {base:>9.2f} {with_alerts:>14.2f} {with_alerts / base - 1:>+7.1%} "
                  f"{matching:>11.3f} {matching / base:>16.1%} {queued:>7,}", flush=True)
            source.unlink()


if __name__ == "__main__":
    main()
