"""What people asked that the bot did not understand, grouped so that one new intent or
example covers a whole group (`python -m bot intents misses`, the admin page).

Misses are stored redacted (bot.understanding.redact). Grouping is greedy over the normalised texts, most
frequent first: a text joins the group whose first text it is most alike, if alike enough,
else starts a group. Likeness blends rapidfuzz's token_set_ratio (shared words line up) with
token_sort_ratio (the whole texts are alike), so that a short frequent miss ("help") does not
swallow every longer message that happens to contain its words."""

from __future__ import annotations

import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import numpy as np
from rapidfuzz import fuzz, process

from bot.content.load import Content
from bot.state.sqlite_store import DAY, Store
from bot.understanding.matcher import Matcher, build_normaliser

CUTOFF = 72.0  # likeness (0-100) a text needs to join a group
SET_WEIGHT = 0.5  # weight of token_set_ratio; token_sort_ratio has the rest
EXAMPLES = 3  # texts shown per group besides the representative
COMPARED = 240  # characters of a normalised text compared: a question is said in its first lines
MAX_REMEMBERED = 100_000  # texts a MissGrouper remembers before it starts over
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass
class MissGroup:
    """Misses alike enough that one intent or example would cover them all."""

    representative: str  # the most frequent redacted text of the group
    count: int
    examples: list[str]  # other texts of the group, most frequent first
    langs: dict[str, int]
    first_seen: int
    last_seen: int
    answered_by: str | None = None  # the intent the current content gives the representative
    asks: tuple[str, ...] = ()  # or the two intents the bot would now ask between

    @property
    def covered(self) -> bool:
        """The current content no longer falls back on this group."""
        return bool(self.answered_by or self.asks)

    def as_dict(self) -> dict:
        return {**asdict(self), "asks": list(self.asks), "covered": self.covered}


@dataclass
class _Draft:
    key: str  # normalised text of the group's first member
    texts: Counter = field(default_factory=Counter)
    langs: Counter = field(default_factory=Counter)
    times: list[int] = field(default_factory=list)


def group_misses(
    rows: Iterable[tuple[int, str, str]], normalise: Callable[[str], str], cutoff: float = CUTOFF,
    examples: int = EXAMPLES,
) -> list[MissGroup]:
    """Group (time, lang, redacted text) rows; the largest groups first."""
    return MissGrouper(normalise, cutoff, examples).group(rows)


class MissGrouper:
    """Grouping that remembers: which group each text joined stays known between calls, so a
    call compares only the texts it has not seen before, each against the groups' leading
    texts (cut to COMPARED characters). The admin page keeps one, so a view costs the new
    misses times the groups, not the square of all misses (150 long misses took 20 s a view)."""

    def __init__(self, normalise: Callable[[str], str], cutoff: float = CUTOFF, examples: int = EXAMPLES):
        self.normalise, self.cutoff, self.examples = normalise, cutoff, examples
        self._key_of: dict[str, str] = {}  # redacted text -> its normalised key
        self._leader_of: dict[str, int] = {}  # normalised key -> index of its group's leader
        self._leaders: list[str] = []  # each group's leading key, cut to COMPARED characters
        self.compared = 0  # pairs of texts compared so far (what a view costs)

    def group(self, rows: Iterable[tuple[int, str, str]]) -> list[MissGroup]:
        if len(self._key_of) > MAX_REMEMBERED:  # memory stays bounded: start over
            self._key_of, self._leader_of, self._leaders = {}, {}, []
        by_key: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        for at, lang, text in rows:
            key = self._key_of.get(text)
            if key is None:
                key = self._key_of[text] = self.normalise(text)
            by_key[key].append((at, lang, text))
        # Most frequent first, so that each new group is led by its most common wording.
        new = (k for k in by_key if k not in self._leader_of)
        for key in sorted(new, key=lambda k: (-len(by_key[k]), k)):
            self._leader_of[key] = self._join(key)
        drafts: dict[int, _Draft] = {}
        for key, members in by_key.items():
            leader = self._leader_of[key]
            draft = drafts.setdefault(leader, _Draft(self._leaders[leader]))
            for at, lang, text in members:
                draft.texts[text] += 1
                draft.langs[lang] += 1
                draft.times.append(at)
        groups = [_finish(d, self.examples) for d in drafts.values()]
        return sorted(groups, key=lambda g: (-g.count, g.representative))

    def _join(self, key: str) -> int:
        """The group a new key joins (the most alike leader, if alike enough), or a new one."""
        cut = key[:COMPARED]
        self.compared += len(self._leaders) if cut else 0
        best = _closest(cut, self._leaders, self.cutoff)
        if best is None:
            self._leaders.append(cut)
            return len(self._leaders) - 1
        return best


def _closest(key: str, leaders: list[str], cutoff: float) -> int | None:
    """The index of the leading text most alike `key`, if at least `cutoff`."""
    if not key or not leaders:
        return None  # a text with no words (emoji only) only groups with its exact equals
    by_set = process.cdist([key], leaders, scorer=fuzz.token_set_ratio, dtype=np.float32, workers=1)[0]
    by_sort = process.cdist([key], leaders, scorer=fuzz.token_sort_ratio, dtype=np.float32, workers=1)[0]
    likeness = SET_WEIGHT * by_set + (1 - SET_WEIGHT) * by_sort
    best = int(np.argmax(likeness))
    return best if likeness[best] >= cutoff and leaders[best] else None


def _finish(draft: _Draft, examples: int) -> MissGroup:
    ranked = [text for text, _ in sorted(draft.texts.items(), key=lambda item: (-item[1], item[0]))]
    return MissGroup(
        representative=ranked[0],
        count=sum(draft.texts.values()),
        examples=ranked[1:1 + examples],
        langs=dict(draft.langs.most_common()),
        first_seen=min(draft.times),
        last_seen=max(draft.times),
    )


def mark_covered(groups: list[MissGroup], matcher: Matcher,
                 known: dict[str, tuple[str | None, tuple[str, ...]]] | None = None) -> list[MissGroup]:
    """Say, for each group, what the current content now does with its representative.
    `known`: what earlier calls found with the same matcher, kept to match each text once."""
    known = {} if known is None else known
    for group in groups:
        if group.representative not in known:
            match = matcher.match(group.representative)
            known[group.representative] = match.intent, tuple(match.candidates)
        group.answered_by, group.asks = known[group.representative]
    return groups


def miss_report(
    store: Store, content: Content, days: int = 30, now: float | None = None, matcher: Matcher | None = None,
) -> list[MissGroup]:
    """The groups of misses of the last `days` days, each marked with what the current content
    now does with it (`covered`: it no longer falls back)."""
    since = (now or time.time()) - days * DAY
    normaliser = matcher.normaliser if matcher else build_normaliser(content)
    groups = group_misses(store.recent_misses(since), normaliser.normalise)
    return mark_covered(groups, matcher or Matcher(content, normaliser))


def format_misses(groups: list[MissGroup], days: int, show_covered: bool) -> str:
    """The report for a terminal: one block per group, largest first."""
    shown = groups if show_covered else [g for g in groups if not g.covered]
    total = sum(g.count for g in shown)
    lines = [f"Not understood in the last {days} day(s): {total} message(s) in {len(shown)} group(s)."]
    hidden = len(groups) - len(shown)
    if hidden:
        lines.append(f"{hidden} group(s) that the current content now answers are hidden (--all shows them).")
    for group in shown:
        langs = ", ".join(f"{lang} {n}" for lang, n in group.langs.items())
        lines.append(f"{group.count:>6}  {_printable(group.representative)}    [{langs}]")
        if group.covered:
            lines.append(f"        now: {group.answered_by or 'asks ' + ' or '.join(group.asks)}")
        if group.examples:
            lines.append("        also: " + " | ".join(map(_printable, group.examples)))
    return "\n".join(lines)


def _printable(text: str) -> str:
    """User text made safe for a terminal: no control characters (escape sequences, line
    breaks) and no bidirectional overrides."""
    return "".join(" " if unicodedata.category(c) == "Cc" or c in _BIDI else c for c in text)
