"""`scam eval`: how the scam checker does on a labelled CSV (`text,label`; labels scam,
marketing and legit, "ordinary" read as legit), beside a yardstick: character n-gram TF-IDF and
logistic regression, trained on the same training split as the scam model, a message called a
scam at a probability of 0.5. A maintainers' tool: the service never imports this."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.understanding.scam_train import splits, verdict_report

LABELS = {"scam": "scam", "marketing": "marketing", "legit": "legit", "ordinary": "legit", "ham": "legit"}


def read(path: Path) -> list[tuple[str, str]]:
    """(text, label) of each row; an unknown label is an error naming the row."""
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            label = LABELS.get((row.get("label") or "").strip().casefold())
            if label is None:
                raise ValueError(f"{path}:{number}: label must be scam, marketing or legit, "
                                 f"not {row.get('label')!r}")
            rows.append((row.get("text") or "", label))
    return rows


def evaluate(verdict: Callable[[str], str], rows: list[tuple[str, str]]) -> dict[str, Any]:
    return verdict_report([label for _, label in rows], [verdict(text) for text, _ in rows])


class Yardstick:
    def __init__(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        train = splits()[0]["train"]
        self.model = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
                                   LogisticRegression(max_iter=1000))
        self.model.fit([r.text for r in train], [r.label == "scam" for r in train])

    def verdict(self, text: str) -> str:
        return "likely_scam" if self.model.predict_proba([text])[0][1] >= 0.5 else "no_red_flags"


def format_report(name: str, report: dict[str, Any]) -> list[str]:
    lines = [f"{name}:"]
    for label in ("scam", "marketing", "legit"):
        k = report["by_label"].get(label)
        if k:
            lines.append(f"  {label:9s} {k['n']:5d} messages   flagged {k['flagged'] * 100:5.1f}%   "
                         f"likely_scam {k['likely_scam'] * 100:5.1f}%")
    for verdict, pr in report["per_verdict"].items():
        shown = {key: "  n/a " if value is None else f"{value * 100:5.1f}%" for key, value in pr.items()}
        lines.append(f"  {verdict:12s} precision {shown['precision']}   recall {shown['recall']}")
    return lines


def format_comparison(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """Our margin over the yardstick in points: scams called likely_scam, and legitimate
    messages (marketing, ordinary) not called likely_scam."""
    lines = ["margin over the yardstick (points; + is better):"]
    for label in ("scam", "marketing", "legit"):
        a, b = ours["by_label"].get(label), theirs["by_label"].get(label)
        if a and b:
            sign = 1 if label == "scam" else -1
            points = sign * (a["likely_scam"] - b["likely_scam"]) * 100
            lines.append(f"  {label:9s} likely_scam {points:+5.1f}")
    return lines
