"""Intent matching: rapidfuzz scores a message against every example of every intent at once.

Each example gets a blend of two scorers: `token_sort_ratio` (word order aside, how alike the
whole texts are: good for typos in short messages) and `token_set_ratio` (how well the words
they share line up: good when a message says more or less than an example). An intent's score
is the mean of its best `TOP_K` examples, so one lucky look-alike example does not outweigh
an intent that several examples support."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from bot.content import OUT_OF_SCOPE, Content
from bot.normalise import Normaliser

THRESHOLD = 55.0  # below this, the bot says what it can help with instead of guessing
MARGIN = 2.0  # top two intents closer than this: ask which one was meant
HINT_BONUS = 6.0  # a distinctive word of an intent (its `hints`) present in the message
SORT_WEIGHT = 0.7  # weight of token_sort_ratio; token_set_ratio has the rest
TOP_K = 2


@dataclass(frozen=True)
class Match:
    """The outcome of matching one message. `intent` is None for out of scope or unsure;
    `candidates` holds the two close intents when the bot should ask."""

    intent: str | None
    score: float
    lang: str | None
    candidates: tuple[str, ...] = ()


def build_normaliser(content: Content) -> Normaliser:
    lexicon = content.lexicon
    return Normaliser(lexicon.get("spelling", {}), lexicon.get("roman_urdu_words", []))


def _sorted_tokens(text: str) -> str:
    return " ".join(sorted(text.split()))


class Matcher:
    def __init__(self, content: Content, normaliser: Normaliser | None = None):
        self.normaliser = normaliser or build_normaliser(content)
        self.intent_ids = sorted(content.intents)
        owners: dict[str, int] = {}
        for index, intent_id in enumerate(self.intent_ids):
            for examples in content.intents[intent_id].examples.values():
                for example in examples:
                    owners.setdefault(self.normaliser.normalise(example), index)
        self._choices = list(owners)
        # token_sort_ratio is ratio over sorted words: sort the examples' words once, here.
        self._sorted_choices = [_sorted_tokens(c) for c in self._choices]
        self._groups = _group_matrix([owners[c] for c in self._choices], len(self.intent_ids))
        self._hints = [
            (index, [self.normaliser.normalise(h) for h in content.intents[i].hints])
            for index, i in enumerate(self.intent_ids)
            if content.intents[i].hints
        ]

    def scores(self, normalised: str) -> np.ndarray:
        """The score of each intent (indexed like `intent_ids`) for a normalised message."""
        by_sort = process.cdist([_sorted_tokens(normalised)], self._sorted_choices,
                                scorer=fuzz.ratio, dtype=np.float32, workers=1)[0]
        by_set = process.cdist([normalised], self._choices,
                               scorer=fuzz.token_set_ratio, dtype=np.float32, workers=1)[0]
        per_example = np.append(SORT_WEIGHT * by_sort + (1 - SORT_WEIGHT) * by_set, np.float32(0))
        grouped = per_example[self._groups]  # one row per intent; padding points at the 0
        best = -np.partition(-grouped, TOP_K - 1, axis=1)[:, :TOP_K].mean(axis=1)
        padded = f" {normalised} "
        for index, hints in self._hints:
            if any(f" {h} " in padded for h in hints):
                best[index] = min(100.0, best[index] + HINT_BONUS)
        return best

    def match(self, text: str) -> Match:
        normalised = self.normaliser.normalise(text)
        lang = self.normaliser.detect_language(text, normalised)
        if not normalised:
            return Match(None, 0.0, lang)
        best = self.scores(normalised)
        first, second = np.argsort(best)[::-1][:2]
        top, runner_up = float(best[first]), float(best[second])
        intent_id = self.intent_ids[first]
        if top < THRESHOLD or intent_id == OUT_OF_SCOPE:
            return Match(None, round(top, 1), lang)
        other = self.intent_ids[second]
        if top - runner_up < MARGIN and other != OUT_OF_SCOPE:
            return Match(None, round(top, 1), lang, (intent_id, other))
        return Match(intent_id, round(top, 1), lang)


def _group_matrix(owner_of: list[int], groups: int) -> np.ndarray:
    """Row g lists the indexes of group g's items, padded with len(owner_of) (a zero score)."""
    members: list[list[int]] = [[] for _ in range(groups)]
    for item, owner in enumerate(owner_of):
        members[owner].append(item)
    width = max(TOP_K, *(len(m) for m in members)) if members else TOP_K
    matrix = np.full((groups, width), len(owner_of), dtype=np.intp)
    for group, items in enumerate(members):
        matrix[group, : len(items)] = items
    return matrix
