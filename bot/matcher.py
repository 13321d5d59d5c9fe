"""Intent matching: one rapidfuzz pass over every example of every intent at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from bot.content import OUT_OF_SCOPE, Content
from bot.normalise import Normaliser

THRESHOLD = 72.0  # below this, the bot says what it can help with instead of guessing
MARGIN = 4.0  # top two intents closer than this: ask which one was meant
HINT_BONUS = 8.0  # a distinctive word of an intent (its `hints`) present in the message
SCORER = fuzz.WRatio


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


class Matcher:
    def __init__(self, content: Content, normaliser: Normaliser | None = None):
        self.normaliser = normaliser or build_normaliser(content)
        self.intent_ids = sorted(content.intents)
        choices: dict[str, int] = {}
        for index, intent_id in enumerate(self.intent_ids):
            for examples in content.intents[intent_id].examples.values():
                for example in examples:
                    choices.setdefault(self.normaliser.normalise(example), index)
        # Examples sorted by intent, so a per-intent maximum is one reduceat over the scores.
        ordered = sorted(choices.items(), key=lambda item: item[1])
        self._choices = [text for text, _ in ordered]
        owners = np.array([index for _, index in ordered])
        self._starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        self._present = owners[self._starts]
        self._hints = [
            (index, [self.normaliser.normalise(h) for h in content.intents[i].hints])
            for index, i in enumerate(self.intent_ids)
            if content.intents[i].hints
        ]

    def scores(self, normalised: str) -> np.ndarray:
        """The best score of each intent (indexed like `intent_ids`) for a normalised message."""
        per_example = process.cdist(
            [normalised], self._choices, scorer=SCORER, dtype=np.float32, workers=1
        )[0]
        best = np.zeros(len(self.intent_ids), dtype=np.float32)
        best[self._present] = np.maximum.reduceat(per_example, self._starts)
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
