"""A long hostile-input run: the properties of tests/test_hostile.py (defined in
bot/testing/hostile.py) with many more examples, under the "hostile-fuzz" settings profile.

    .venv/bin/python bench/fuzz.py --minutes 10 [--only telegram,whatsapp] [--examples 400]

Runs every property in rounds of `--examples` (times the property's weight) until the time is
up, with fresh random examples each round. A property that fails is reported with its
smallest failing example and not run again. Prints the examples tried per property; exits 1
if anything failed."""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from bot.testing.hostile import PROPERTIES, BreachRig, CoreRig, Property, ServiceRig, run_property


def open_rigs(stack: contextlib.ExitStack, directory: Path, wanted: set[str]) -> dict[str, Any]:
    """One rig of each kind the chosen properties need, closed when `stack` closes."""
    rigs: dict[str, Any] = {"none": None}
    for name in wanted - {"none"}:
        folder = directory / name
        folder.mkdir()
        if name == "service":
            rigs[name] = stack.enter_context(ServiceRig(folder))
        else:
            rig = CoreRig(folder) if name == "core" else BreachRig(folder)
            stack.callback(rig.close)
            rigs[name] = rig
    return rigs


def describe(exc: BaseException) -> str:
    """Each distinct failure: where it was raised, the error, and hypothesis's notes (the
    smallest failing example)."""
    found = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
    parts = []
    for error in found:
        where = traceback.extract_tb(error.__traceback__)[-1]
        notes = "\n".join(getattr(error, "__notes__", []))
        parts.append(f"  {where.filename}:{where.lineno}\n  {type(error).__name__}: {error}\n{notes}")
    return "\n\n".join(parts)


def fuzz(props: list[Property], minutes: float, examples: int) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + minutes * 60
    results = {p.name: {"tried": 0, "rounds": 0, "seconds": 0.0, "failure": None} for p in props}
    with tempfile.TemporaryDirectory(prefix="mehfooz-fuzz-") as tmp, contextlib.ExitStack() as stack:
        rigs = open_rigs(stack, Path(tmp), {p.rig for p in props})
        active = list(props)
        while active and time.monotonic() < deadline:
            for prop in list(active):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                result = results[prop.name]
                batch = max(1, int(examples * prop.weight))
                if result["tried"]:  # shorten the last round so the run ends near the deadline
                    per_example = result["seconds"] / result["tried"]
                    batch = max(1, min(batch, int(left / max(per_example, 1e-4))))
                started = time.monotonic()
                run = run_property(prop, rigs[prop.rig], "hostile-fuzz", batch, reraise=False)
                result["seconds"] += time.monotonic() - started
                result["tried"] += run.tried
                result["rounds"] += 1
                print(f"{prop.name}: round {result['rounds']}, {run.tried} examples"
                      f"{'' if run.failure is None else ', FAILED'}", flush=True)
                if run.failure is not None:
                    result["failure"] = describe(run.failure)
                    print(result["failure"], flush=True)
                    active.remove(prop)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--examples", type=int, default=400, help="examples a round, before weights")
    parser.add_argument("--only", default="", help="comma-separated property names")
    args = parser.parse_args()
    names = {n.strip() for n in args.only.split(",") if n.strip()}
    unknown = names - {p.name for p in PROPERTIES}
    if unknown:
        parser.error(f"unknown properties: {', '.join(sorted(unknown))}")
    props = [p for p in PROPERTIES if not names or p.name in names]
    results = fuzz(props, args.minutes, args.examples)
    print(f"\n{'property':<20}{'examples':>10}{'rounds':>8}{'per example':>14}  result")
    for name, r in results.items():
        per = f"{1000 * r['seconds'] / r['tried']:.1f} ms" if r["tried"] else "-"
        print(f"{name:<20}{r['tried']:>10}{r['rounds']:>8}{per:>14}  {'FAILED' if r['failure'] else 'ok'}")
    failed = [name for name, r in results.items() if r["failure"]]
    print(f"\n{sum(r['tried'] for r in results.values())} examples tried, {len(failed)} properties failed"
          + (f": {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
