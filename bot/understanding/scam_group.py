"""Which forwarded messages are one scam, for the tipline (bot/dialogue/tipline.py).

A scam comes in waves, each copy with its own number, link, amount, spacing and capitals. A
message is first masked as staff may read it (`masked`: disguise undone, then `mask_forwarded`:
no phone number, link host or name is left), then reduced to a key (`key_text`: lower case,
disguised spellings folded as the scam rules fold them, every number and placeholder one mark,
punctuation gone). Copies with the same key are one group, found by its keyed fingerprint. Copies that
differ a little more (a word changed, a line added) are found by `NearDuplicates`: rapidfuzz
over the keys of recent groups, only among keys of a length that could be that alike.

Pure functions and an in-memory index: nothing here stores anything."""

from __future__ import annotations

import re
import threading
from collections import Counter
from urllib.parse import urlsplit

from rapidfuzz import fuzz, process

from bot.understanding.normalise import DIGITS, EMAIL, URL
from bot.understanding.redact import HOST, INTL_PHONE, PHONE, mask_forwarded
from bot.understanding.scam import digits_of, normalise
from bot.understanding.scam_fold import Spelling, undisguise, unmask

MAX_READ = 2000  # characters of a message read for its group (a scam is short)
MAX_SHOWN = 600  # characters of masked text a group keeps, as staff read it
MAX_KEY = 1000  # characters of the key compared
SIMILAR = 88  # rapidfuzz ratio (0-100) from which two keys are one scam
FUZZY_MIN = 40  # shorter keys group only when equal: "call me now" is not "call me later"
MAX_CONTACTS = 10  # link hosts and numbers read from one message
MAX_RECENT = 5000  # groups whose keys are compared (the newest); older ones group by fingerprint
RARE = 8  # the key's rarest words (fewest groups have them) that pick the groups to compare
CANDIDATES = 32  # groups compared with rapidfuzz at most, those sharing the most of those words
# Indel ratio r needs |a - b| / (a + b) <= 1 - r: the lengths a key within SIMILAR can have.
_SLACK = 1 - SIMILAR / 100
LOW, HIGH = (1 - _SLACK) / (1 + _SLACK), (1 + _SLACK) / (1 - _SLACK)
_PLACEHOLDER = re.compile(r"<[a-z ]{3,12}>")
_NUMBER = re.compile(r"\d+")
_NOT_WORD = re.compile(r"[^\w#]+")


def masked(text: str) -> str:
    """The message as the tipline keeps it: disguise undone, masked, one space between words."""
    plain, _ = undisguise(text[:MAX_READ])
    return " ".join(mask_forwarded(plain).split())[:MAX_SHOWN]


def contacts(text: str) -> set[str]:
    """The link hosts (lower case) and phone numbers (national form) a message gives: what a
    copy of a genuine message changes to become a scam, though its key stays the same."""
    plain = undisguise(text[:MAX_READ])[0].translate(DIGITS)
    found: list[str] = []
    for link in URL.finditer(plain):
        address = link.group()
        found.append(urlsplit(address if "//" in address else f"//{address}").hostname or address)
    found += [m.group() for m in HOST.finditer(plain)]
    found += [m.group().rsplit("@", 1)[1] for m in EMAIL.finditer(plain)]
    found += [digits_of(m.group()) for pattern in (PHONE, INTL_PHONE) for m in pattern.finditer(plain)]
    return {c.casefold().removeprefix("www.") for c in found[:MAX_CONTACTS]}


def key_text(masked_text: str, spelling: Spelling) -> str:
    """What copies of one scam share: the masked text in lower case, disguised spellings
    folded, numbers and placeholders one mark (#), no punctuation."""
    text = _PLACEHOLDER.sub(" # ", normalise(masked_text))
    text = _NUMBER.sub("#", unmask(text, spelling))
    return " ".join(_NOT_WORD.sub(" ", text).split())[:MAX_KEY]


class NearDuplicates:
    """The keys of recent groups (the newest MAX_RECENT), for `best`: first a cheap prefilter
    (the groups that share the most of the key's RARE rarest words, by an index of words, and
    whose length lets them reach SIMILAR), then rapidfuzz on those few. Thread-safe."""

    def __init__(self, size: int = MAX_RECENT):
        self.size = size
        self.keys: dict[int, str] = {}  # group id -> key
        self.words: dict[str, set[int]] = {}  # word -> the groups whose key has it
        self.newest = 0  # the highest group id added: the store is asked for newer ones
        self.lock = threading.Lock()

    def add(self, group: int, key: str) -> None:
        with self.lock:
            self.newest = max(self.newest, group)
            if group in self.keys or len(key) < FUZZY_MIN:
                return
            self.keys[group] = key
            for word in set(key.split()):
                self.words.setdefault(word, set()).add(group)
            while len(self.keys) > self.size:
                self._drop(min(self.keys))

    def drop(self, group: int) -> None:
        with self.lock:
            self._drop(group)

    def _drop(self, group: int) -> None:
        key = self.keys.pop(group, None)
        for word in set(key.split()) if key else ():
            holders = self.words[word]
            holders.discard(group)
            if not holders:
                del self.words[word]

    def best(self, key: str) -> int | None:
        """The group whose key is most like `key`, at SIMILAR or above; None when none is."""
        if len(key) < FUZZY_MIN:
            return None
        with self.lock:
            near = {group: self.keys[group] for group in self._candidates(key)}
        found = process.extractOne(key, near, scorer=fuzz.ratio, score_cutoff=SIMILAR) if near else None
        return found[2] if found else None

    def _candidates(self, key: str) -> list[int]:
        """The groups sharing the most of the key's rarest known words (at least two of them,
        or the one if the key has only one), of a length that could reach SIMILAR."""
        known = sorted((w for w in set(key.split()) if w in self.words), key=lambda w: len(self.words[w]))
        known = known[:RARE]
        shared = Counter(group for word in known for group in self.words[word])
        low, high = len(key) * LOW, len(key) * HIGH
        enough = min(2, len(known))
        return [group for group, count in shared.most_common(CANDIDATES)
                if count >= enough and low <= len(self.keys[group]) <= high]
