"""Speed of intent matching and of the whole core, with the real intent set and with it
replicated 10 times (synthetic), so the growth of cost with the number of intents shows.

    python bench/bench_match.py [--rounds N]

Messages: the realistic and the tidy shared sets (`../shared/eval/dev_real.csv`, `dev.csv`),
or the intents' own examples where those are absent. `match` is timed twice: with no cache
help (the short-message cache emptied before every message, as for texts never seen before)
and with the cache as it fills in use. Prints mean, p50 and p99 of the CPU time per message on one core, and
the cost of 10x intents against the real set, measured in the same process. Training the
10x model takes a minute or so."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import statistics
import tempfile
import time
from pathlib import Path

from bot.content.load import OUT_OF_SCOPE, Content, load_content
from bot.dialogue.core import Bot, Limits
from bot.dialogue.messages import Incoming
from bot.state.sqlite_store import Store
from bot.understanding import train
from bot.understanding.matcher import Matcher

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"


def messages(content: Content) -> list[str]:
    texts = []
    for name in ("dev_real.csv", "dev.csv"):
        if (EVAL / name).exists():
            with open(EVAL / name, encoding="utf-8") as handle:
                texts += [row["text"] for row in csv.DictReader(handle)]
    return texts or [ex[0] for i in content.intents.values() for ex in i.examples.values()]


def replicated(content: Content, times: int) -> Content:
    """The intent set `times` over: copies with every example varied, so none are merged."""
    intents = dict(content.intents)
    for n in range(1, times):
        for intent in content.intents.values():
            if intent.id == OUT_OF_SCOPE:
                continue
            examples = {lang: [f"{e} v{n}" for e in ex] for lang, ex in intent.examples.items()}
            copy = dataclasses.replace(intent, id=f"{intent.id}_{n}", examples=examples)
            intents[copy.id] = copy
    return dataclasses.replace(content, intents=intents)


def timed(func, inputs: list, rounds: int) -> list[float]:
    latencies = []
    for _ in range(rounds):
        for item in inputs:
            start = time.thread_time()  # CPU time of this thread: the cost on one core, whatever
            func(item)  # else runs on the machine (wall time would count the waits too)
            latencies.append(time.thread_time() - start)
    return latencies


def trained(content: Content) -> Matcher:
    """A matcher trained from scratch (an empty model cache), with the time it took."""
    with tempfile.TemporaryDirectory() as cache:
        os.environ["BOT_MODEL_CACHE"] = cache
        train._trained.cache_clear()
        start = time.perf_counter()
        matcher = Matcher(content)
        print(f"training (a cold cache, child process included): {time.perf_counter() - start:.2f} s")
    return matcher


def uncached(matcher: Matcher):
    def match(text: str) -> object:
        matcher._decide_short.cache_clear()  # as for a text never seen before
        return matcher.match(text)

    return match


def summary(name: str, latencies: list[float]) -> str:
    ordered = sorted(latencies)
    mean = statistics.fmean(ordered) * 1000
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    return f"{name:34s} mean {mean:6.3f} ms   p50 {p50:6.3f} ms   p99 {p99:6.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("BOT_TRAIN_TIMEOUT", "1800")  # the 10x set takes minutes to train
    base = load_content()
    texts = messages(base)
    print(f"{len(texts)} messages x {args.rounds} rounds, one core")
    results = {}
    for label, content in (("full set", base), ("10x replicated", replicated(base, 10))):
        examples = sum(len(e) for i in content.intents.values() for e in i.examples.values())
        print(f"-- {label}: {len(content.intents)} intents, {examples} examples")
        matcher = trained(content)
        results[label] = timed(uncached(matcher), texts, args.rounds)
        print(summary("match, no cache help", results[label]))
        print(summary("match, with the cache", timed(matcher.match, texts, args.rounds)))
        with tempfile.TemporaryDirectory() as tmp:
            # No rate limit here: 50 people sending every round would soon be silenced,
            # and a silenced message costs next to nothing (the limiter's cost stays in).
            bot = Bot(content, Store(Path(tmp) / "bench.db"), b"bench", Limits(per_minute=10**9))
            incoming = [Incoming("bench", f"user{n % 50}", t) for n, t in enumerate(texts)]
            print(summary("respond() with SQLite state", timed(bot.respond, incoming, args.rounds)))
    ratio = statistics.fmean(results["10x replicated"]) / statistics.fmean(results["full set"])
    print(f"match mean cost with no cache help, 10x intents / full set: {ratio:.2f}x")


if __name__ == "__main__":
    main()
