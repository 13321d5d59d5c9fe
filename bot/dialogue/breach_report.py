"""The words of a breach report in the person's language, from `intents/breaches/report.yaml`:
the kinds of data a breach exposed, its date ("March 2024" / "مارچ 2024"), its size in the
words people use ("1.2 million" / "12 لاکھ"), the most recent breaches first and the few
steps that matter for the data found."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from bot.breaches.source import Found
from bot.content.load import Content

SHOWN = 5  # breaches listed; the rest are counted ("and 3 more")
STEPS = 3  # steps shown after the list
KINDS_SHOWN = 3  # kinds of data named per breach, the most important first
OTHER = "other"
_ISO = re.compile(r"^\s*((?:19|20)\d\d)(?:-(\d\d))?")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")


@dataclass(frozen=True)
class Kind:
    key: str
    words: dict[str, str]
    step: str | None
    rank: int


def kinds(content: Content, data: Iterable[str]) -> list[Kind | str]:
    """Each item of `data` as its kind of data (most important first, each once), or as
    itself when the table does not know it."""
    table = _table(content)
    known: dict[str, Kind] = {}
    unknown: list[str] = []
    for item in data:
        kind = table.get(item.strip().casefold())
        if kind:
            known[kind.key] = kind
        elif item.strip() and item.strip() not in unknown:
            unknown.append(item.strip())
    return [*sorted(known.values(), key=lambda k: k.rank), *unknown]


def data_words(content: Content, lang: str, data: Iterable[str], limit: int = KINDS_SHOWN) -> list[str]:
    """The kinds of data in `lang`, at most `limit` (then "…"). In Urdu and Roman Urdu a kind
    the table does not know is 'other details' (never an English name)."""
    words: list[str] = []
    for kind in kinds(content, data):
        if isinstance(kind, Kind):
            word = kind.words[lang]
        else:
            word = _lower_first(kind) if lang == "en" else _table_entry(content, OTHER)[lang]
        if word not in words:
            words.append(word)
    return words if len(words) <= limit else [*words[:limit], "…"]


def steps(content: Content, data: Iterable[str], limit: int = STEPS) -> list[str]:
    """The step keys (system.yaml) the kinds of data call for, most important first."""
    found: list[str] = []
    for kind in kinds(content, data):
        if isinstance(kind, Kind) and kind.step and kind.step not in found:
            found.append(kind.step)
    return found[:limit]


def month_year(content: Content, lang: str, date: str) -> str:
    """'2013-10-04', '2013-10', an ISO time or an HTTP date as 'October 2013' / 'اکتوبر 2013';
    a bare year as itself; '' when there is no date to read."""
    iso = _ISO.match(date or "")
    year, month = (iso.group(1), int(iso.group(2) or 0)) if iso else (None, 0)
    if year is None:
        try:
            parsed = parsedate_to_datetime(date)
            year, month = str(parsed.year), parsed.month
        except (TypeError, ValueError, IndexError):
            bare = _YEAR.search(date or "")
            year = bare.group(1) if bare else None
    if year is None:
        return ""
    months = content.report["months"][lang]
    return f"{months[month - 1]} {year}" if 1 <= month <= 12 else year


def sort_key(breach: Found) -> tuple[int, int]:
    """Most recent first; breaches without a date last."""
    iso = _ISO.match(breach.date or "")
    if not iso:
        bare = _YEAR.search(breach.date or "")
        return (-int(bare.group(1)), 0) if bare else (1, 0)
    return -int(iso.group(1)), -int(iso.group(2) or 0)


def in_words(content: Content, lang: str, count: int) -> str:
    """A large count as people say it: 1,200,000 is '1.2 million', '12 lakh', '12 لاکھ'."""
    units = sorted(content.report["count_words"][lang], key=lambda u: -u["zeros"])
    for bigger, unit in zip([None, *units], units, strict=False):
        size = 10 ** unit["zeros"]
        if count < size:
            continue
        value = count / size
        shown = round(value, 1) if value < 10 else round(value)
        if bigger is not None and shown * size >= 10 ** bigger["zeros"]:
            size, unit, shown = 10 ** bigger["zeros"], bigger, round(count / 10 ** bigger["zeros"], 1)
        text = f"{shown:g}" if isinstance(shown, float) else str(shown)
        return f"{text} {unit['word']}"
    return str(count)


def _table(content: Content) -> dict[str, Kind]:
    """Every spelling of every kind, folded, to its kind: made once per content."""
    cached = content.report.get("_by_name")
    if cached is None:
        cached = {}
        for rank, (key, entry) in enumerate(content.report["data_types"].items()):
            kind = Kind(key, {k: str(v) for k, v in entry.items() if k not in ("names", "step")},
                        entry.get("step"), rank)
            for name in entry.get("names") or ():
                cached[str(name).casefold()] = kind
        content.report["_by_name"] = cached
    return cached


def _lower_first(name: str) -> str:
    """"Trip details" as "trip details" among the other kinds; "IMSI numbers" stays."""
    return name if name[1:2].isupper() else name[:1].lower() + name[1:]


def _table_entry(content: Content, key: str) -> dict[str, str]:
    return content.report["data_types"][key]
