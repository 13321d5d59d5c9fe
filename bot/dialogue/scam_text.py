"""What, in a message to the scam check, is the person's own words and what is the message
they received.

People paste a message with a question around it ("is this a scam: ...", "... kya ye asli
hai?"), or tell what happened in their own words ("someone called me saying he is from the
bank", "maine galti se code bata diya"). Only a pasted message may be quoted back (in the
report for PTA's SMS number); a story is judged on what it describes and never quoted.

The word patterns are data: `own_words` in the scam_check intent file, by language."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from bot.understanding.normalise import LANGS, URL
from bot.understanding.scam import fold
from bot.understanding.scam import normalise as _normalise
from bot.understanding.scam_gate import Gated

PASTE, STORY, QUESTION = "paste", "story", "question"
MIN_WORDS = 8  # shorter than this, a message is a question, not a pasted message
MAX_REST_WORDS = 5  # a part with more words than this beside its question is not only a question
# Where a pasted message and the person's words around it part: line breaks, "...", "…", "۔۔۔",
# and after a question mark.
_BREAK = re.compile(r"\n+|\.{3,}|…+|۔{2,}|(?<=[?؟!])\s+")
_QUOTED = re.compile(r"[\"“”«»]([^\"“”«»]{12,})[\"“”«»]|(?<!\w)'([^']{12,})'(?!\w)")
KEYS = ("asking", "story", "gave", "mine")


@dataclass(frozen=True)
class OwnWords:
    """`asking`: a question or remark about a message ("is this real", "ye msg aya hai");
    `story`: a call or an event told by the person ("he asked for my pin", "mujhe call aayi");
    `gave`: a story of a code already given away ("i gave him the otp", "code bata diya");
    `mine`: the person's own voice ("my", "mera", "میرا")."""

    asking: Gated | None = None
    story: Gated | None = None
    gave: Gated | None = None
    mine: Gated | None = None


@dataclass(frozen=True)
class Reading:
    kind: str  # PASTE, STORY or QUESTION
    message: str  # a paste: the message alone, as received; otherwise the whole text


def own_words(raw: Any) -> OwnWords:
    """The `own_words` data of the scam_check intent, compiled (once per content)."""
    if not isinstance(raw, dict):
        return OwnWords()
    return OwnWords(*(_compile(_entries(raw.get(key))) for key in KEYS))


def problems(raw: Any) -> list[str]:
    """What is wrong with `own_words` data, for `intents check`."""
    if raw is None:
        return []
    if not isinstance(raw, dict) or set(raw) - set(KEYS):
        return [f"own_words: expected {', '.join(KEYS)}, each a list of patterns by language"]
    found = []
    for key in KEYS:
        entries = raw.get(key) or {}
        if not isinstance(entries, dict) or set(entries) - set(LANGS):
            found.append(f"own_words: {key}: expected patterns by language ({', '.join(LANGS)})")
            continue
        for entry in _entries(entries):
            try:
                re.compile(entry)
            except re.error as exc:
                found.append(f"own_words: {key}: bad regular expression {entry!r}: {exc}")
    return found


def _entries(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, dict):
        return ()
    # written in lower case, as the text is matched (casefolding a pattern would turn \S into \s)
    return tuple(fold(str(e)) for lang in LANGS for e in raw.get(lang) or [])


@functools.lru_cache(maxsize=32)
def _compile(entries: tuple[str, ...]) -> Gated | None:
    """One regex for the entries. Those that start with \\b share one: `\\b(?:a|b)` is
    `\\ba|\\bb`, read two to three times faster (each position is tried once, not per entry).
    Searched only where an entry can match (scam_gate); what it cuts out is what it matches."""
    if not entries:
        return None
    bounded = [e[2:] for e in entries if e.startswith(r"\b")]
    rest = [e for e in entries if not e.startswith(r"\b")]
    parts = ([r"\b(?:" + "|".join(f"(?:{e})" for e in bounded) + ")"] if bounded else [])
    parts += [f"(?:{e})" for e in rest]
    try:
        return Gated(entries, written="|".join(parts))
    except re.error:  # reported by `intents check`
        return None


@functools.lru_cache(maxsize=256)
def normalise(text: str) -> str:
    """The text as the scam rules read it (each part of a message is read several times)."""
    return _normalise(text)


def long_enough(text: str) -> bool:
    """Long enough to be a pasted message: MIN_WORDS words or more, or a link."""
    return len(text.split()) >= MIN_WORDS or bool(URL.search(text))


def read(text: str, words: OwnWords) -> Reading:
    """Tell a story from a pasted message or a question, and cut the person's own words from
    around a pasted message."""
    folded = normalise(text)
    if any(p and p.found(folded) for p in (words.story, words.gave)):
        return Reading(STORY, text)
    start, end = _message_span(text, words)
    message = text[start:end].strip().rstrip(",;:-–— ")
    if message and long_enough(message):
        return Reading(PASTE, message)
    return Reading(QUESTION, text)


def gave_code(text: str, words: OwnWords) -> bool:
    """The person tells of a code, PIN or password already given away."""
    return bool(words.gave and words.gave.found(normalise(text)))


def is_mine(text: str, words: OwnWords) -> bool:
    """Written in the person's own voice ("my otp is...", "mera code")."""
    return bool(words.mine and words.mine.found(normalise(text)))


def _message_span(text: str, words: OwnWords) -> tuple[int, int]:
    """Where the message is in `text`: a quoted part, else what is left once the person's
    question or remark is taken from its start and its end."""
    quoted = _QUOTED.search(text)
    if quoted:  # 'got this: "<message>" is it real?'
        group = quoted.lastindex or 0
        outside = f"{text[:quoted.start()]} {text[quoted.end():]}"
        if len(quoted.group(group).split()) >= 5 and (not outside.strip() or _asking(outside, words)):
            return quoted.start(group), quoted.end(group)
    parts = _split_lead_in(text, _parts(text), words)
    while parts and _asking(text[parts[0][0]:parts[0][1]], words):
        parts.pop(0)
    while parts and _asking(text[parts[-1][0]:parts[-1][1]], words):
        parts.pop()
    if not parts or not words.asking:
        return (parts[0][0], parts[-1][1]) if parts else (0, 0)
    start, end = parts[0][0], parts[-1][1]
    # a question run into the message with no break: "is this a scam your account is..."
    start = _skip_words(text, start, end, words.asking)
    end = _keep_words(text, start, end, words.asking)
    return start, end


def _parts(text: str) -> list[tuple[int, int]]:
    """The spans between breaks, blank ones left out."""
    spans, start = [], 0
    for found in _BREAK.finditer(text):
        spans.append((start, found.start()))
        start = found.end()
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _split_lead_in(text: str, parts: list[tuple[int, int]], words: OwnWords) -> list[tuple[int, int]]:
    """"is this a scam: <message>": the words before a colon in the first part, when they are
    the person's question, are a part of their own."""
    if not parts:
        return parts
    start, end = parts[0]
    colon = text.find(":", start, end)
    if colon > start and _asking(text[start:colon], words):
        return [(start, colon), (colon + 1, end), *parts[1:]]
    return parts


def _asking(part: str, words: OwnWords) -> bool:
    """A part that is the person's question or remark about the message: little is left of it
    once its asking words are taken out."""
    folded = normalise(part)
    if not words.asking or not words.asking.found(folded):
        return False
    return len(words.asking.regex.sub(" ", folded).split()) <= MAX_REST_WORDS


@functools.lru_cache(maxsize=32)
def _edge(asking: re.Pattern[str], head: bool) -> re.Pattern[str]:
    """`asking` anchored at the start (head) or the end of a text."""
    return re.compile(rf"^\W*(?:{asking.pattern})(?:\W+|$)" if head else rf"(?:^|\W)(?:{asking.pattern})\W*$")


def _skip_words(text: str, start: int, end: int, asking: Gated) -> int:
    """Where the message starts once a question at the start of text[start:end] is skipped."""
    folded = normalise(text[start:end])
    found = _edge(asking.regex, head=True).search(folded)
    if not found or found.end() >= len(folded):
        return start
    count = len(folded[:found.end()].split())
    spans = [m.start() for m in re.finditer(r"\S+", text[start:end])]
    return start + spans[count] if count < len(spans) else start


def _keep_words(text: str, start: int, end: int, asking: Gated) -> int:
    """Where the message ends once a question at the end of text[start:end] is cut."""
    folded = normalise(text[start:end])
    # the question starts where the asking words first can, or one sign before (`(?:^|\W)`)
    first = asking.start(folded)
    found = _edge(asking.regex, head=False).search(folded, max(0, first - 1)) if first is not None else None
    if not found or found.start() == 0:
        return end
    count = len(folded[found.start():].split())
    spans = [m.end() for m in re.finditer(r"\S+", text[start:end])]
    return start + spans[-count - 1] if count < len(spans) else end
