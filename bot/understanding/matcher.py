"""Intent matching: a linear classifier over character n-grams and words (`train.py`), with
the asking part of a long message weighed beside the whole.

People tell a story before they ask ("my whatsapp got hacked last year, got it back. now i
want that extra code thing"): the story's words pull towards the wrong intent. So the message
is scored whole and, when it has several sentences, its asking sentence (the last one with a
question mark or a question word, else the last one) is scored too, and the two are blended.
Below a margin the bot says what it can help with; when the top two intents are within a
hair of each other it asks which one was meant."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bot.content.load import OUT_OF_SCOPE, Content
from bot.understanding.normalise import Normaliser
from bot.understanding.train import Model, trained_model

THRESHOLD = -0.4  # the classifier's margin below which the bot does not guess
# Top two intents closer than this: ask which one was meant. A word or two ("leak", "scam")
# is often truly ambiguous; a longer message says enough for the classifier to decide.
MARGIN = 0.02
SHORT_MARGIN = 0.25
SHORT_WORDS = 3
# An intent must beat out_of_scope by this much. A near miss shares our words (a café's Wi-Fi
# password, a cricket record, a caller tune) and puts our intent only a little ahead of
# out_of_scope, while a message that is ours is ahead by far more (at least 0.4 on the realistic
# sets). Measured by cross-validation over the examples: each 0.1 costs about half a point of
# in-scope accuracy there and rejects about 0.7 points more of the off-topic examples; on the
# held-out sets 0.2 cost nothing in scope, 0.3 did.
OOS_MARGIN = 0.2
HINT_BONUS = 0.1  # a distinctive word of an intent (its `hints`) present in the message
ASK_WEIGHT = 0.5  # weight of the asking sentence beside the whole message
# People send the same short messages again and again ("hi", "salam", "1"...): the verdict on
# a short text is kept in memory. Long texts, rarely repeated and more likely to say something
# personal, are never kept, nor texts with a number in them other than a lone digit (a code, an
# amount: seldom repeated, and they would fill the cache with one-offs).
CACHE_SIZE = 8192
CACHE_WORDS = 10
NUMBER = re.compile(r"\d\d")
ENDS = ".!?\n\u061f\u06d4"  # . ! ? newline, Urdu ؟ and ۔
SENTENCE = re.compile(f"[^{ENDS}]+[{ENDS}]*")  # a sentence with its end marks: its ? tells that it asks
ASKS = re.compile(r"[?\u061f]|\b(?:how|what|which|where|when|who|why|can|should|is|are|do|does|kya|kia|kaise|"
                  r"kese|kaisay|kahan|kab|kon|kaun|kyun|kyu|batao|bataen|btao|plz|please)\b|"
                  r"کیا|کیسے|کہاں|کب|کون|کیوں|بتائیں|بتاؤ", re.IGNORECASE)
_NONE: frozenset[int] = frozenset()


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
    return Normaliser(lexicon.get("spelling", {}), lexicon.get("roman_urdu_words", []),
                      lexicon.get("shared_words", []))


def asking_sentence(text: str) -> str | None:
    """The sentence of a several-sentence message that asks: the last with a question mark or
    a question word, else the last. None for a message of one sentence."""
    sentences = [s.strip() for s in SENTENCE.findall(text) if s.strip(ENDS + " \t")]
    if len(sentences) < 2:
        return None
    asking = [s for s in sentences if ASKS.search(s) and s.count(" ") >= 3]
    return (asking or sentences)[-1]


def training_examples(content: Content, normaliser: Normaliser) -> tuple[list[str], list[str]]:
    """Every example, normalised, with its intent; an example two intents share counts once,
    for the first in id order (`intents check` reports such clashes)."""
    owners: dict[str, str] = {}
    for intent_id in sorted(content.intents):
        for examples in content.intents[intent_id].examples.values():
            for example in examples:
                owners.setdefault(normaliser.normalise(example), intent_id)
    return list(owners), list(owners.values())


class Matcher:
    def __init__(self, content: Content, normaliser: Normaliser | None = None, model: Model | None = None):
        self.normaliser = normaliser or build_normaliser(content)
        self.model = model or trained_model(*training_examples(content, self.normaliser))
        self.intent_ids = list(self.model.intents)
        # Each hint as its words, with the intents it favours: a message's runs of words are
        # looked up in this table, one pass for all hints.
        self._hints: dict[tuple[str, ...], set[int]] = {}
        for n, intent_id in enumerate(self.intent_ids):
            for hint in content.intents[intent_id].hints if intent_id in content.intents else ():
                words = tuple(self.normaliser.normalise(hint).split())
                if words:
                    self._hints.setdefault(words, set()).add(n)
        self._hint_words = max((len(words) for words in self._hints), default=0)
        self._hint_starts = {words[0] for words in self._hints}  # most words start no hint
        self._out_of_scope = self.intent_ids.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in self.intent_ids else None
        self._decide_short = lru_cache(maxsize=CACHE_SIZE)(self._decide)

    def scores(self, normalised: str, asking: str | None = None) -> np.ndarray:
        """The margin of each intent (indexed like `intent_ids`) for a normalised message and,
        if it has one, its normalised asking sentence."""
        scores = self.model.decision(normalised)
        if asking:
            # An asking sentence that says nothing by itself ("what do i do??") does not count.
            asked = self.model.decision(asking)
            if asked.max() >= THRESHOLD:
                scores = (scores + ASK_WEIGHT * asked) / (1 + ASK_WEIGHT)
        for intent in self._hinted(normalised.split()):  # one or two: cheaper one by one than fancy indexing
            scores[intent] += HINT_BONUS
        return scores

    def _hinted(self, words: list[str]) -> set[int]:
        """The intents whose hints appear in the words (each intent once)."""
        found: set[int] = set()
        for start, word in enumerate(words):
            if word in self._hint_starts:
                for end in range(start + 1, min(start + self._hint_words, len(words)) + 1):
                    found |= self._hints.get(tuple(words[start:end]), _NONE)
        return found

    def match(self, text: str, normalised: str | None = None, lang: str | None = None) -> Match:
        """`normalised`: the text as the normaliser folds it, and `lang`: its language, if the
        caller has them already (detecting it again cost a tenth of matching)."""
        normalised = self.normaliser.normalise(text) if normalised is None else normalised
        lang = lang or self.normaliser.detect_language(text, normalised)
        if not normalised:
            return Match(None, 0.0, lang)
        sentence = asking_sentence(text)
        asking = self.normaliser.normalise(sentence) if sentence else None
        kept = normalised.count(" ") < CACHE_WORDS and not NUMBER.search(normalised)
        verdict = (self._decide_short if kept else self._decide)(normalised, asking)
        # A new Match, not dataclasses.replace: that costs as much as the rest of this function.
        return Match(verdict.intent, verdict.score, lang, verdict.candidates)

    def _decide(self, normalised: str, asking: str | None) -> Match:
        """The verdict on a normalised text, with no language yet."""
        scores = self.scores(normalised, asking)
        order = scores.argsort()  # (unpacking the array itself costs more than the sort)
        first, second = int(order[-1]), int(order[-2])
        top, runner_up = float(scores[first]), float(scores[second])
        intent_id, shown = self.intent_ids[first], _percent(top)
        if top < THRESHOLD or intent_id == OUT_OF_SCOPE or self._near_miss(scores, top):
            return Match(None, shown, None)
        other = self.intent_ids[second]
        margin = SHORT_MARGIN if normalised.count(" ") < SHORT_WORDS else MARGIN
        if top - runner_up < margin and other != OUT_OF_SCOPE:
            return Match(None, shown, None, (intent_id, other))
        return Match(intent_id, shown, None)

    def _near_miss(self, scores: np.ndarray, top: float) -> bool:
        """The best intent is not far enough ahead of out_of_scope."""
        return self._out_of_scope is not None and top - float(scores[self._out_of_scope]) < OOS_MARGIN


def _percent(margin: float) -> float:
    """A margin shown as a confidence from 0 to 100 (50 at the margin's zero)."""
    return round(50 + 50 * math.tanh(2 * margin), 1)
