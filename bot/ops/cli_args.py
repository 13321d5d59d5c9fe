"""Argument types shared by the command-line tools."""

from __future__ import annotations

import argparse

MAX_DAYS = 3660  # ten years and their leap days


def days_arg(value: str) -> int:
    """A `--days N` look-back: 1 to MAX_DAYS."""
    count = int(value)
    if not 1 <= count <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"days must be between 1 and {MAX_DAYS}")
    return count
