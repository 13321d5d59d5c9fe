"""Intent matching: rapidfuzz scores a message against every example of every intent at once.

Each example gets a blend of two scorers: `token_sort_ratio` (word order aside, how alike the
whole texts are: good for typos in short messages) and `token_set_ratio` (how well the words
they share line up: good when a message says more or less than an example). An intent's score
is the mean of its best two examples, so one lucky look-alike example does not outweigh
an intent that several examples support."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process

from bot.content.load import OUT_OF_SCOPE, Content
from bot.understanding.normalise import Normaliser

THRESHOLD = 55.0  # below this, the bot says what it can help with instead of guessing
MARGIN = 2.0  # top two intents closer than this: ask which one was meant
HINT_BONUS = 6.0  # a distinctive word of an intent (its `hints`) present in the message
SORT_WEIGHT = 0.7  # weight of token_sort_ratio; token_set_ratio has the rest
SHORTLIST = 200  # examples scored by token_set_ratio too
# People send the same short messages again and again ("hi", "salam", "1"...): the verdict on
# a short normalised text is kept in memory. Long texts, rarely repeated and more likely to
# say something personal, are never kept.
CACHE_SIZE = 8192
CACHE_WORDS = 10


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
        # Examples in intent order, so that per-intent figures are one reduceat each.
        ordered = sorted(owners.items(), key=lambda item: item[1])
        self._choices = np.array([text for text, _ in ordered], dtype=object)
        # token_sort_ratio is ratio over sorted words: sort the examples' words once, here.
        self._sorted_choices = [_sorted_tokens(text) for text, _ in ordered]
        owner = np.array([index for _, index in ordered], dtype=np.intp)
        self._starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        self._present = owner[self._starts]  # the intent of each group
        self._group = np.cumsum(np.r_[False, owner[1:] != owner[:-1]])  # group of each example
        self._hints = [
            (index, re.compile(r"(?<!\S)(?:" + "|".join(
                re.escape(self.normaliser.normalise(h)) for h in content.intents[i].hints) + r")(?!\S)"))
            for index, i in enumerate(self.intent_ids)
            if content.intents[i].hints
        ]
        self._decide_short = lru_cache(maxsize=CACHE_SIZE)(self._decide)

    def scores(self, normalised: str) -> np.ndarray:
        """The score of each intent (indexed like `intent_ids`) for a normalised message."""
        by_sort = process.cdist([_sorted_tokens(normalised)], self._sorted_choices,
                                scorer=fuzz.ratio, dtype=np.float32, workers=1)[0]
        # token_set_ratio costs ten times more: only the examples most alike by the first
        # scorer get it; the others keep their first score, which it rarely beats by much.
        by_set = by_sort.copy()
        shortlist = (np.argpartition(-by_sort, SHORTLIST)[:SHORTLIST] if len(by_sort) > SHORTLIST
                     else np.arange(len(by_sort)))
        by_set[shortlist] = process.cdist([normalised], self._choices[shortlist],
                                          scorer=fuzz.token_set_ratio, dtype=np.float32, workers=1)[0]
        best = np.zeros(len(self.intent_ids), dtype=np.float32)
        best[self._present] = self._mean_of_best_two(SORT_WEIGHT * by_sort + (1 - SORT_WEIGHT) * by_set)
        for index, hints in self._hints:
            if hints.search(normalised):
                best[index] = min(100.0, best[index] + HINT_BONUS)
        return best

    def _mean_of_best_two(self, per_example: np.ndarray) -> np.ndarray:
        """Per intent, the mean of its two best example scores (an intent with one example
        counts a second of 0)."""
        first = np.maximum.reduceat(per_example, self._starts)
        is_first = per_example == first[self._group]
        second = np.maximum.reduceat(np.where(is_first, 0, per_example), self._starts)
        tied = np.add.reduceat(is_first, self._starts) > 1  # two examples share the best score
        return (first + np.where(tied, first, second)) / 2

    def match(self, text: str, normalised: str | None = None) -> Match:
        """`normalised`: the text as the normaliser folds it, if the caller has it already."""
        normalised = self.normaliser.normalise(text) if normalised is None else normalised
        lang = self.normaliser.detect_language(text, normalised)
        if not normalised:
            return Match(None, 0.0, lang)
        short = normalised.count(" ") < CACHE_WORDS
        return replace((self._decide_short if short else self._decide)(normalised), lang=lang)

    def _decide(self, normalised: str) -> Match:
        """The verdict on a normalised text, with no language yet."""
        best = self.scores(normalised)
        first, second = np.argsort(best)[::-1][:2]
        top, runner_up = float(best[first]), float(best[second])
        intent_id = self.intent_ids[first]
        if top < THRESHOLD or intent_id == OUT_OF_SCOPE:
            return Match(None, round(top, 1), None)
        other = self.intent_ids[second]
        if top - runner_up < MARGIN and other != OUT_OF_SCOPE:
            return Match(None, round(top, 1), None, (intent_id, other))
        return Match(intent_id, round(top, 1), None)
