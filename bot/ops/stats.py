"""Usage over time from the anonymous counts: messages, fallback rate and helpfulness (👍 share)
per day or week, per intent and per language (`python -m bot intents stats`, the admin page).

Every message the core handles is counted once under the intent it was taken for; the ones it
did not understand count as FALLBACK. Feedback counts 👍 and 👎 per intent, never per person."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from bot.state.sqlite_store import Store

FALLBACK = "fallback"
PERIODS = ("day", "week")


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class Figures:
    """Messages, of which not understood, and feedback, for one slice of the counts."""

    messages: int = 0
    fallback: int = 0
    up: int = 0
    down: int = 0

    @property
    def fallback_rate(self) -> float | None:
        return _share(self.fallback, self.messages)

    @property
    def helpful(self) -> float | None:
        """Share of 👍 among the feedback; None without any feedback."""
        return _share(self.up, self.up + self.down)

    def __add__(self, other: Figures) -> Figures:
        return Figures(self.messages + other.messages, self.fallback + other.fallback,
                       self.up + other.up, self.down + other.down)

    def as_dict(self) -> dict:
        return {**asdict(self), "fallback_rate": self.fallback_rate, "helpful": self.helpful}


@dataclass(frozen=True)
class Stats:
    since: str  # first day counted, YYYY-MM-DD (UTC)
    until: str  # last day counted
    by: str  # 'day' or 'week'
    total: Figures
    periods: list[tuple[str, Figures]]  # every period of the window, empty ones too, oldest first
    intents: list[tuple[str, Figures]]  # per intent over the window, most messages first
    langs: list[tuple[str, Figures]]  # per language over the window, most messages first
    rows: list[tuple[str, str, str, Figures]]  # (period, intent, lang) with any count or feedback

    def as_dict(self) -> dict:
        return {
            "since": self.since, "until": self.until, "by": self.by, "total": self.total.as_dict(),
            "periods": [{"period": p, **f.as_dict()} for p, f in self.periods],
            "intents": [{"intent": i, **f.as_dict()} for i, f in self.intents],
            "langs": [{"lang": lang, **f.as_dict()} for lang, f in self.langs],
            "rows": [{"period": p, "intent": i, "lang": lang, **f.as_dict()} for p, i, lang, f in self.rows],
        }


def period_of(day: str, by: str) -> str:
    """The period a day belongs to: the day itself, or the Monday that starts its week."""
    if by == "day":
        return day
    date = dt.date.fromisoformat(day)
    return (date - dt.timedelta(days=date.weekday())).isoformat()


def window(days: int, now: float | None = None) -> tuple[dt.date, dt.date]:
    """The first and last UTC day of the last `days` days, today included."""
    today = dt.datetime.fromtimestamp(now or time.time(), dt.UTC).date()
    return today - dt.timedelta(days=max(days, 1) - 1), today


def compute(
    counts: Iterable[tuple[str, str, str, int]], feedback: Iterable[tuple[str, str, str, int, int]],
    since: dt.date, until: dt.date, by: str = "day",
) -> Stats:
    """Stats from `Store.daily_counts` and `Store.daily_feedback` rows, days since..until."""
    if by not in PERIODS:
        raise ValueError(f"by must be one of {PERIODS}")
    cells: dict[tuple[str, str, str], Figures] = defaultdict(Figures)
    first, last = since.isoformat(), until.isoformat()
    for day, intent, lang, n in counts:
        if first <= day <= last:
            key = (period_of(day, by), intent, lang)
            cells[key] += Figures(n, n if intent == FALLBACK else 0)
    for day, intent, lang, up, down in feedback:
        if first <= day <= last:
            cells[(period_of(day, by), intent, lang)] += Figures(0, 0, up, down)
    periods = {period_of((since + dt.timedelta(days=d)).isoformat(), by): Figures()
               for d in range((until - since).days + 1)}
    intents: dict[str, Figures] = defaultdict(Figures)
    langs: dict[str, Figures] = defaultdict(Figures)
    for (period, intent, lang), figures in cells.items():
        periods[period] += figures
        intents[intent] += figures
        langs[lang] += figures
    return Stats(
        since=first, until=last, by=by, total=sum(periods.values(), Figures()),
        periods=sorted(periods.items()),
        intents=_ranked(intents), langs=_ranked(langs),
        rows=[(*key, figures) for key, figures in sorted(cells.items())],
    )


def _ranked(figures: dict[str, Figures]) -> list[tuple[str, Figures]]:
    return sorted(figures.items(), key=lambda item: (-item[1].messages, item[0]))


def stats(store: Store, days: int = 30, by: str = "day", now: float | None = None) -> Stats:
    """The stats of the last `days` days (today included) from the store."""
    since, until = window(days, now)
    first = since.isoformat()
    return compute(store.daily_counts(first), store.daily_feedback(first), since, until, by)


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f}%"


def _line(label: str, f: Figures, width: int) -> str:
    votes = f"{_pct(f.helpful)} ({f.up}/{f.down})" if f.up + f.down else "-"
    return f"{label:<{width}} {f.messages:>8} {_pct(f.fallback_rate):>9}  {votes}"


def format_stats(s: Stats) -> str:
    """The stats for a terminal: totals per period, per language, per intent and language."""
    head = f"{'messages':>8} {'fallback':>9}  helpful (👍/👎)"
    lines = [f"{s.since} to {s.until} (UTC), per {s.by}:", f"{s.by:<22} {head}"]
    lines += [_line(period, f, 22) for period, f in s.periods]
    lines += [_line("all", s.total, 22), "", f"{'language':<22} {head}"]
    lines += [_line(lang, f, 22) for lang, f in s.langs]
    per_intent: dict[tuple[str, str], Figures] = defaultdict(Figures)
    for _, intent, lang, figures in s.rows:
        per_intent[(intent, lang)] += figures
    lines += ["", f"{'intent':<22} {'lang':<9}{head}"]
    for intent, _ in s.intents:
        langs = sorted((lang, f) for (i, lang), f in per_intent.items() if i == intent)
        lines += [_line(f"{intent:<22} {lang}", f, 31) for lang, f in langs]
    return "\n".join(lines)
