"""Cost of the scam check per message, on one core.

    python bench/bench_scam.py [--rounds N]

Checks every message of our labelled set (tests/data/scam_set.csv) and, when it is beside the
project, the shared real messages, `--rounds` times, timing each `ScamRules.check`; prints
mean, p50 and p99 per message in microseconds (wall clock), the mean in CPU time of this
thread (what one core spends, unaffected by other processes taking the core), and the same
for the preparation alone (normalising and folding disguised spellings) as the baseline the
flags and the model add to, and for telling a pasted message from the person's own words
around it or their own story (`bot/dialogue/scam_text.py`, which the dialogue runs first).
Goal: a mean of at most 1 ms.

`--worst` times instead the worst 4 KB texts we know of (tests/test_scam_disguise.py), beside a
harmless 4 KB message and a 64 KB one read whole: each should cost about what the harmless one
does (a "bisp lottery ( ( (..." took 140-200 ms before sign runs were kept short)."""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bot.content.load import load_content
from bot.dialogue import scam_text
from bot.understanding.scam import ScamRules

ROOT = Path(__file__).resolve().parent.parent
SETS = (ROOT / "tests" / "data" / "scam_set.csv", ROOT.parent / "shared" / "eval" / "scam_real_dev.csv")


def messages() -> list[str]:
    return [row["text"] for path in SETS if path.exists()
            for row in csv.DictReader(path.open(encoding="utf-8"))]


def timings(call: Callable[[str], object], texts: list[str], rounds: int) -> tuple[list[float], float]:
    """Wall-clock time of each call, sorted, and the mean CPU time of this thread per call."""
    spent = []
    cpu = time.thread_time()
    for _ in range(rounds):
        for text in texts:
            start = time.perf_counter()
            call(text)
            spent.append(time.perf_counter() - start)
    return sorted(spent), (time.thread_time() - cpu) / len(spent)


def report(name: str, spent: list[float], cpu: float) -> None:
    p99 = spent[min(len(spent) - 1, int(len(spent) * 0.99))]
    mean, p50, p99 = statistics.fmean(spent) * 1e6, statistics.median(spent) * 1e6, p99 * 1e6
    print(f"{name:<8} mean {mean:7.1f} us   p50 {p50:7.1f} us   p99 {p99:7.1f} us   "
          f"cpu mean {cpu * 1e6:7.1f} us   ({len(spent)} checks)")


def worst(rules: ScamRules, rounds: int) -> None:
    from tests.test_scam_disguise import ADVERSARIAL, HARMLESS

    cases = {"harmless 4 KB": (HARMLESS * 50)[:4096], "harmless 64 KB": (HARMLESS * 800)[:65536],
             **{repr(text[:24]): text for text in ADVERSARIAL}}
    for name, text in cases.items():
        rules.check(text)
        spent, cpu = timings(rules.check, [text], rounds)
        print(f"{name:<32} {len(text):6d} chars   best {spent[0] * 1e3:6.2f} ms   "
              f"median {statistics.median(spent) * 1e3:6.2f} ms   cpu mean {cpu * 1e3:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--worst", action="store_true", help="the worst known 4 KB texts, one by one")
    args = parser.parse_args()
    rules = ScamRules.load()
    if args.worst:
        worst(rules, args.rounds)
        return
    texts = messages()
    for text in texts:  # warm the regex caches
        rules.check(text)
    print(f"{len(texts)} messages, {len(rules.flags)} flags, {args.rounds} rounds")
    report("prepare", *timings(rules.prepare, texts, args.rounds))
    report("check", *timings(rules.check, texts, args.rounds))
    words = scam_text.own_words(load_content().intents["scam_check"].extra.get("own_words"))
    report("read", *timings(lambda text: scam_text.read(text, words), texts, args.rounds))


if __name__ == "__main__":
    main()
