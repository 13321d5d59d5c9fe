"""What the command-line tools share: the `--days` argument, times, and rows printed as JSON
or as a tab-separated table."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

MAX_DAYS = 3660  # ten years and their leap days


def days_arg(value: str) -> int:
    """A `--days N` look-back: 1 to MAX_DAYS."""
    count = int(value)
    if not 1 <= count <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"days must be between 1 and {MAX_DAYS}")
    return count


def when(moment: float | None) -> str | None:
    """A clock time as ISO 8601 in UTC, to the second; None for none."""
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="seconds") if moment else None


def print_rows(rows: list[dict[str, Any]], as_json: bool, columns: dict[str, str]) -> None:
    """`rows` as one JSON list, or as a table of `columns` (key -> heading), "-" for None."""
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    print("\t".join(columns.values()))
    for row in rows:
        print("\t".join(str("-" if row[key] is None else row[key]) for key in columns))
