"""`intents eval`: accuracy of the matcher (or any classifier) on a labelled CSV
(`text,intent,lang`)."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.understanding.normalise import LANGS

if TYPE_CHECKING:
    from bot.understanding.matcher import Matcher

NONE_LABELS = {"", "none", "null", "out_of_scope"}


@dataclass
class Tally:
    in_scope: int = 0
    correct: int = 0
    out_of_scope: int = 0
    rejected: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "in_scope": self.in_scope,
            "accuracy": _ratio(self.correct, self.in_scope),
            "out_of_scope": self.out_of_scope,
            "rejection": _ratio(self.rejected, self.out_of_scope),
        }


@dataclass
class Report:
    overall: Tally = field(default_factory=Tally)
    by_lang: dict[str, Tally] = field(default_factory=lambda: {lang: Tally() for lang in LANGS})
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.overall.as_dict(),
            "by_lang": {
                lang: t.as_dict() for lang, t in self.by_lang.items() if t.in_scope or t.out_of_scope
            },
            "confusions": [
                {"expected": e, "got": g, "count": n} for (e, g), n in self.confusions.most_common()
            ],
        }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def evaluate(matcher: Matcher | Callable[[str], str | None], csv_path: Path) -> Report:
    """`matcher`: the bot's Matcher, or any function from a text to an intent id or None."""
    predict = matcher if callable(matcher) else lambda text: matcher.match(text).intent
    report = Report()
    with open(csv_path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            expected = (row.get("intent") or "").strip()
            expected = None if expected.lower() in NONE_LABELS else expected
            got = predict(row["text"])
            tallies = [report.overall, report.by_lang.setdefault(row.get("lang") or "?", Tally())]
            for tally in tallies:
                if expected is None:
                    tally.out_of_scope += 1
                    tally.rejected += got is None
                else:
                    tally.in_scope += 1
                    tally.correct += got == expected
            if got != expected:
                report.confusions[(expected or "none", got or "none")] += 1
    return report


def format_report(report: Report, top: int = 20) -> str:
    data = report.as_dict()
    lines = [_line("all", data)]
    lines += [_line(lang, t) for lang, t in data["by_lang"].items()]
    if data["confusions"]:
        lines.append("confusions (expected -> got):")
        lines += [f"  {c['count']:3d}  {c['expected']} -> {c['got']}" for c in data["confusions"][:top]]
    return "\n".join(lines)


def _line(name: str, t: dict[str, Any]) -> str:
    def pct(value: float | None) -> str:
        return "  n/a " if value is None else f"{value * 100:5.1f}%"

    return (
        f"{name:9s} in-scope accuracy {pct(t['accuracy'])} ({t['in_scope']} messages)  "
        f"out-of-scope rejection {pct(t['rejection'])} ({t['out_of_scope']} messages)"
    )


def format_comparison(ours: Report, yardstick: Report) -> str:
    """Our figures, the yardstick's, and the margin in points."""
    a, b = ours.as_dict(), yardstick.as_dict()
    lines = ["yardstick (character n-gram TF-IDF + logistic regression, trained on the same examples):"]
    lines += ["  " + _line("all", b)] + ["  " + _line(lang, t) for lang, t in b["by_lang"].items()]
    lines.append("margin over the yardstick (points):")
    for name, x, y in [("all", a, b), *((lang, a["by_lang"][lang], t) for lang, t in b["by_lang"].items())]:
        lines.append(f"  {name:9s} in-scope {_points(x['accuracy'], y['accuracy'])}  "
                     f"out-of-scope rejection {_points(x['rejection'], y['rejection'])}")
    return "\n".join(lines)


def _points(ours: float | None, theirs: float | None) -> str:
    return "  n/a" if ours is None or theirs is None else f"{(ours - theirs) * 100:+5.1f}"
