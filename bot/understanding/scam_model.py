"""The scam model: a logistic regression that weighs a message as the rules read it (hashed
character n-grams and words) together with the rules' own findings (each red flag, each cap),
trained on real and written messages (`data/scam/`, see its SOURCES.md).

It is trained ahead of time by `scam_train.py` (scikit-learn, never loaded by the service) and
shipped as numpy arrays beside the rules: `intents/scam_model.npz`, about 1.3 MB, read in a
few milliseconds. The thresholds that turn its probability into a verdict were chosen on
scores of families of messages the model was not trained on (`scam_train.py`) and are saved with
the weights.

Features: the text with every digit read as 0 (numbers differ from one copy of a scam to the
next), its character n-grams of 2 to 5 and its words and word pairs (`features.py`), each
hashed into a fixed number of buckets; counts sublinear (1 + log), each block of unit length."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.understanding.features import char_ids, runs, word_ids

MODEL_FILE = "scam_model.npz"
THRESHOLDS = ("likely_scam", "suspicious", "model_alone")  # as saved, in this order
CHAR_BUCKETS = 1 << 18
WORD_BUCKETS = 1 << 16
FEATURES = CHAR_BUCKETS + WORD_BUCKETS
_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)  # multiplicative hashing: the ids' high bits pick the bucket
_DIGIT = re.compile(r"\d")


def vector(prepared: str) -> tuple[np.ndarray, np.ndarray]:
    """The text features of a prepared text (`ScamRules.prepare`): column indices and values.

    Both blocks go through one array (the word buckets after the character ones), so a message
    costs a dozen numpy calls, not two dozen: this runs on most messages."""
    text = _DIGIT.sub("0", prepared)
    chars, words = char_ids(text), word_ids(text)
    ids = np.concatenate([chars, words])
    ids *= _FIBONACCI  # uint64 arrays wrap around 2**64 silently
    ids[:len(chars)] >>= np.uint64(64 - 18)
    ids[len(chars):] >>= np.uint64(64 - 16)
    ids[len(chars):] += np.uint64(CHAR_BUCKETS)
    ids.sort()
    columns, counts = runs(ids.view(np.int64))  # all below 2**19: the same numbers as int64
    values = np.log(counts)
    values += 1.0
    values = values.astype(np.float32)
    first_word = int(columns.searchsorted(CHAR_BUCKETS))
    for block in (values[:first_word], values[first_word:]):  # each block of unit length
        norm = math.sqrt(block.dot(block))  # the float32 root, exactly (see features.Vocabulary.row)
        if norm:
            block /= norm
    return columns, values


def finding_names(flags: Iterable[str], caps: Iterable[str]) -> list[str]:
    """The names of the rules' findings as the model knows them: `flag:<id>`, `cap:<id>`."""
    return [f"flag:{f}" for f in flags] + [f"cap:{c}" for c in caps]


@dataclass(frozen=True)
class ScamModel:
    weights: np.ndarray  # float32, one per hashed text feature
    findings: dict[str, float]  # the weight of each rule finding ("flag:link", "cap:marketing")
    bias: float
    # the least probability of "likely_scam" and of "suspicious", and of "model_alone": a scam
    # that no flag names (all three chosen on out-of-family scores)
    thresholds: dict[str, float]

    def text_logit(self, prepared: str) -> float:
        """The log-odds of the text features alone (to find the worst part of a long message)."""
        columns, values = vector(prepared)
        return float(values @ self.weights[columns]) + self.bias

    def probability(self, prepared: str, findings: Iterable[str]) -> float:
        logit = self.text_logit(prepared) + sum(self.findings.get(name, 0.0) for name in findings)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))

    def verdict(self, probability: float) -> str:
        if probability >= self.thresholds["likely_scam"]:
            return "likely_scam"
        return "suspicious" if probability >= self.thresholds["suspicious"] else "no_red_flags"

    def save(self, path: Path) -> None:
        names = sorted(self.findings)
        with open(path, "wb") as handle:
            np.savez_compressed(
                handle, weights=self.weights.astype(np.float32), bias=np.float32(self.bias),
                finding_names=np.array(names), finding_weights=np.array([self.findings[n] for n in names],
                                                                        dtype=np.float32),
                thresholds=np.array([self.thresholds[name] for name in THRESHOLDS]))

    @classmethod
    def load(cls, path: Path) -> ScamModel:
        with np.load(path) as data:
            weights = data["weights"].astype(np.float32)
            if weights.shape != (FEATURES,):
                raise ValueError(f"{path}: {weights.shape[0]} features, expected {FEATURES}")
            values = [float(t) for t in data["thresholds"]]
            if len(values) != len(THRESHOLDS):
                raise ValueError(f"{path}: {len(values)} thresholds, expected {len(THRESHOLDS)}")
            findings = {str(n): float(w) for n, w in zip(data["finding_names"], data["finding_weights"],
                                                         strict=True)}
            thresholds = dict(zip(THRESHOLDS, values, strict=True))
            return cls(weights, findings, float(data["bias"]), thresholds)
