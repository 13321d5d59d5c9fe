"""The scam rules' regexes, searched only where they can match.

A rule (a flag's patterns, its `requires`...) is an alternation of dozens of hand-written
regexes, most starting with `\\b` or a lookbehind. Python's `re` learns nothing from such a
start, so it tries every alternative at every position of the text: 10 to 60 µs a rule on a
short message, 32 flags and their parts on each. Yet most alternatives can only match where
one of a few words begins (`\\b(?:otp|pin|code)\\W+...`). Those words are read from each
regex's own parse tree (its gate): where none of them is in the text the rule cannot match;
where one is, the rule is tried there, as no match can start anywhere else. An alternative
that need not start with a word may still need one somewhere ("." and a top-level domain in a
link): the text must hold it before that alternative is searched at all. `WordScan` finds the
words of all the flags' gates in one pass, a tree of their first letters.

The answers are the unguarded regex's: the gates only skip work that would find nothing
(tests/test_scam_gate.py checks each against its plain regex). Whatever the parse tree does
not let us bound (a back-reference, a global flag, a part with no word it must hold) is
searched as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

try:  # re's own parser (CPython 3.11+): without it every regex is searched as written
    from re import _constants as sre
    from re import _parser
except ImportError:  # pragma: no cover
    _parser = None

MAX_LITERAL = 8  # characters of a word read from a regex: enough to tell words apart
MAX_WORDS = 400  # words in one gate; a regex that needs more is searched as written
MAX_TRIES = 3  # places where a word is and the rule does not match, before it is searched on


class _Unbounded(Exception):
    """No finite set of words that every match holds."""


# Where each gate's first word is in one text, by the gate (its id): found for many rules at
# once by `WordScan`.
Places = dict[int, int]


class Gated:
    """One rule's regexes: `regex` as written (for tracing), and `start` and `found`, which
    answer as `regex.search` would, reading far less of the text. Given the `places` of a
    `WordScan` over the text, the gates are not searched at all."""

    def __init__(self, parts: Sequence[str], written: str | None = None):
        """`parts`: the alternatives; `written`, when given, the same as one regex written
        otherwise (`\\b(?:a|b)` for `\\ba` and `\\bb`): it says what matches (for a `sub`),
        and must match wherever the parts do."""
        self.regex = re.compile(written) if written is not None else _alternation(parts)
        self._gate: re.Pattern[str] | None = None  # the words the `_leading` parts start with
        self._leading: re.Pattern[str] | None = None
        self._held: list[tuple[re.Pattern[str], re.Pattern[str]]] = []  # (words it holds, part)
        self._plain: re.Pattern[str] | None = None  # searched as written
        self._words: dict[int, frozenset[str]] = {}  # each gate's words, by its id
        if _parser is None or self.regex.flags & ~re.UNICODE or _refers_back(
                _parser.parse(_alternation(parts).pattern).data):
            self._plain = self.regex
        else:
            self._split([alt for part in parts for alt in _alternatives(part)])

    def search(self, text: str) -> re.Match[str] | None:
        """`regex.search(text)`, ungated: what matched, for the trace."""
        return self.regex.search(text)

    def start(self, text: str, places: Places | None = None) -> int | None:
        """Where the first match starts (regex.search(text).start()), or None. The whole regex
        matches where any of its parts does: its first match is the earliest of theirs."""
        best = self._first(text, places)
        if not self._held and self._plain is None:  # most rules
            return best
        for gate, part in self._held:
            found = part.search(text) if _seen(gate, text, places) else None
            if found and (best is None or found.start() < best):
                best = found.start()
        found = self._plain.search(text) if self._plain else None
        return found.start() if found and (best is None or found.start() < best) else best

    def found(self, text: str, places: Places | None = None) -> bool:
        """Whether the regex matches anywhere in `text`."""
        return (self._first(text, places) is not None
                or any(_seen(gate, text, places) and part.search(text) for gate, part in self._held)
                or bool(self._plain and self._plain.search(text)))

    def sub(self, repl: Any, text: str) -> str:
        """`regex.sub(repl, text)`, not tried where the gates say nothing matches."""
        return self.regex.sub(repl, text) if self.found(text) else text

    def words(self) -> dict[int, frozenset[str]]:
        """Each gate's words, by the gate's id (the keys of `places`)."""
        return self._words

    def _first(self, text: str, places: Places | None) -> int | None:
        """Where the first match of a leading part starts: tried where their words are, as no
        match starts anywhere else (overlapping places included: a word may start inside
        another), then, past MAX_TRIES places, searched from the next one on."""
        gate, leading = self._gate, self._leading
        if gate is None or leading is None:
            return None
        if places is None:
            word = gate.search(text)
            spot = word.start() if word else None
        else:
            spot = places.get(id(gate))
        for _ in range(MAX_TRIES):
            if spot is None:
                return None
            if leading.match(text, spot):
                return spot
            word = gate.search(text, spot + 1)
            spot = word.start() if word else None
        found = leading.search(text, spot) if spot is not None else None
        return found.start() if found else None

    def _split(self, parts: list[str]) -> None:
        """Sort the parts by how they can be gated: those that start with one of a set of
        words, those that hold one somewhere, and the rest."""
        leading, words, plain = [], set(), []
        for part in parts:
            tree = list(_parser.parse(part).data)
            found = _bounded(_starts, tree, "")
            held = None if found else _bounded(_held, tree)
            if found:
                leading.append(part)
                words |= found
            elif held:
                self._held.append((self._new_gate(held), re.compile(part)))
            else:
                plain.append(part)
        if leading:
            self._gate, self._leading = self._new_gate(words), _alternation(leading)
        self._plain = _alternation(plain) if plain else None

    def _new_gate(self, words: set[str]) -> re.Pattern[str]:
        kept = _fewest(words)
        gate = re.compile(_tree(sorted(kept)))
        self._words[id(gate)] = kept
        return gate


class WordScan:
    """The words of many rules' gates found in one pass over a text: each place where one
    begins, and the longest there (the gates that have it or a word it begins with are all
    there). Cheaper than searching each gate: most letters begin some rule's word."""

    def __init__(self, rules: Iterable[Gated]):
        gates: dict[str, list[int]] = {}
        for rule in rules:
            for gate, words in rule.words().items():
                for word in words:
                    gates.setdefault(word, []).append(gate)
        self._gates = {word: tuple(dict.fromkeys(g for end in range(1, len(word) + 1)
                                                 for g in gates.get(word[:end], ())))
                       for word in gates}
        # zero-width: a word may start inside another
        self._find = re.compile(f"(?=({_tree(sorted(gates))}))").finditer if gates else None

    def places(self, text: str) -> Places:
        found: Places = {}
        gates = self._gates
        words = [(word.start(), word.group(1)) for word in self._find(text)] if self._find else []
        for spot, word in reversed(words):  # the first place of each gate written last
            found.update(dict.fromkeys(gates[word], spot))
        return found


def _seen(gate: re.Pattern[str], text: str, places: Places | None) -> bool:
    return id(gate) in places if places is not None else gate.search(text) is not None


def _alternatives(part: str) -> list[str]:
    """`a|b|c` as [a, b, c]: each gated on its own words. The part as it is when it has no `|`
    outside brackets, or when a piece is not a regex of its own."""
    pieces, depth, start, i = [], 0, 0, 0
    while i < len(part):
        char = part[i]
        if char == "\\":
            i += 1
        elif char == "[":
            i = _class_end(part, i)
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            pieces.append(part[start:i])
            start = i + 1
        i += 1
    pieces.append(part[start:])
    try:
        for piece in pieces:
            re.compile(piece)
    except re.error:
        return [part]
    return pieces


def _class_end(part: str, i: int) -> int:
    """Where the character class opened at part[i] ends (`[]a]` and `[^]a]` hold a `]`)."""
    i += 1
    if i < len(part) and part[i] == "^":
        i += 1
    if i < len(part) and part[i] == "]":
        i += 1
    while i < len(part) and part[i] != "]":
        i += 2 if part[i] == "\\" else 1
    return i


def _refers_back(items: Iterable[Any]) -> bool:
    """Whether a group is referred back to (renumbered when the parts are split)."""
    return any(op in (sre.GROUPREF, sre.GROUPREF_EXISTS) for op, _ in _walk(items))


def _walk(items: Iterable[Any]) -> Iterable[tuple[Any, Any]]:
    """Every node of a parse tree."""
    for op, av in items:
        yield op, av
        for sub in _subtrees(av):
            yield from _walk(sub.data)


def _subtrees(av: Any) -> Iterable[Any]:
    if isinstance(av, _parser.SubPattern):
        yield av
    elif isinstance(av, tuple | list):
        for item in av:
            yield from _subtrees(item)


def _bounded(derive: Any, *args: Any) -> set[str] | None:
    """derive(*args), or None when it finds no bound."""
    try:
        return derive(*args)
    except (_Unbounded, RecursionError):
        return None


def _starts(items: list[Any], prefix: str) -> set[str]:
    """The words a match of `items` starts with (each after `prefix`), at most MAX_LITERAL
    characters long: zero-width assertions are passed over, groups and alternatives opened,
    and the words end at the first part that is not a literal character."""
    for i, (op, av) in enumerate(items):
        if len(prefix) >= MAX_LITERAL:
            return {prefix}
        rest = items[i + 1:]
        if op is sre.AT:
            if av in (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING, sre.AT_BEGINNING_LINE):
                raise _Unbounded  # searched from a later position, ^ would never match
            continue
        if op in (sre.ASSERT, sre.ASSERT_NOT):
            continue
        if op is sre.LITERAL:
            prefix += chr(av)
            continue
        if op is sre.SUBPATTERN and not (av[1] or av[2]):  # a group without flags of its own
            return _starts(list(av[3].data) + rest, prefix)
        if op is sre.BRANCH:
            return _union(_starts(list(alt.data) + rest, prefix) for alt in av[1])
        if op is sre.IN and _small_set(av):  # [- ], [x*]: each character a word of its own
            return _union(_starts([(sre.LITERAL, c)] + rest, prefix) for _, c in av)
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            lo, hi, item = av
            if lo == 0 and hi == 1:  # x?: with it or without
                return _starts(list(item.data) + rest, prefix) | _starts(rest, prefix)
            with_item = _starts(list(item.data), prefix)  # it starts with x (then anything)
            return with_item | _starts(rest, prefix) if lo == 0 else with_item
        break
    if not prefix:
        raise _Unbounded
    return {prefix}


def _held(items: list[Any]) -> set[str]:
    """Words every match of `items` holds somewhere (not necessarily at its start; in a
    lookahead, perhaps past its end): of the sets found from each part onwards, the one whose
    shortest word is the longest."""
    best: set[str] | None = None
    for i, (op, av) in enumerate(items):
        candidates = [lambda i=i: _starts(items[i:], "")]
        if op is sre.SUBPATTERN and not (av[1] or av[2]):
            candidates.append(lambda av=av: _held(list(av[3].data)))
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and av[0] >= 1:
            candidates.append(lambda av=av: _held(list(av[2].data)))
            # what the last round ends with runs on into what follows: "." then "com"
            candidates.append(lambda i=i, av=av: _starts(items[i + 1:], _ends(av[2].data)))
        if op is sre.ASSERT:  # what a lookaround asserts is in the text
            candidates.append(lambda av=av: _held(list(av[1].data)))
        if op is sre.BRANCH:
            candidates.append(lambda av=av: _union(_held(list(alt.data)) for alt in av[1]))
        for derive in candidates:
            found = _bounded(derive)
            if found and (best is None or _better(found, best)):
                best = found
    if best is None:
        raise _Unbounded
    return best


def _ends(items: list[Any]) -> str:
    """The literal characters `items` end with ("" when none)."""
    tail = ""
    for op, av in reversed(items):
        if op is not sre.LITERAL:
            break
        tail = chr(av) + tail
    return tail


def _better(words: set[str], than: set[str]) -> bool:
    return (min(map(len, words)), -len(words)) > (min(map(len, than)), -len(than))


def _small_set(items: Any) -> bool:
    return len(items) <= 4 and all(op is sre.LITERAL for op, _ in items)


def _union(sets: Iterable[set[str]]) -> set[str]:
    found: set[str] = set()
    for words in sets:
        found |= words
        if len(found) > MAX_WORDS:
            raise _Unbounded
    return found


def _fewest(words: set[str]) -> frozenset[str]:
    """The words without those that begin with a shorter one: where the longer is, so is
    the shorter."""
    kept: list[str] = []
    for word in sorted(words, key=len):
        if not any(word.startswith(k) for k in kept):
            kept.append(word)
    return frozenset(kept)


def _tree(words: list[str]) -> str:
    """Sorted words as one regex that shares their beginnings (`c(?:all|ode)`): re tries an
    alternation's branches one by one, and scans for their first letters in C. Where a word
    ends and others go on (`a(?:t)?`), the longest the text holds is matched."""
    by_first: dict[str, list[str]] = {}
    for word in words:
        by_first.setdefault(word[0], []).append(word[1:])
    branches = []
    for first, rests in by_first.items():
        longer = [rest for rest in rests if rest]
        ends = len(longer) < len(rests)
        if not longer:
            branches.append(re.escape(first))
        elif len(longer) == 1 and not ends:
            branches.append(re.escape(first + longer[0]))
        else:
            branches.append(re.escape(first) + "(?:" + _tree(longer) + ")" + ("?" if ends else ""))
    return "|".join(branches)


def _alternation(parts: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts))
