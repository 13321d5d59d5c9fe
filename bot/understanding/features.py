"""What the intent classifier sees in a text: hashed character n-grams and words.

Both blocks are hashed to 64-bit ids with arithmetic that gives the same ids in every process
(Python's own `hash` of a string is salted per process), so a model trained in one process
serves in another. Character n-grams (2 to 5, inside words padded with a space) carry
spelling: typos, SMS short forms and Urdu letter variants still share most of them. Words and
word pairs carry meaning. Each block is weighted TF-IDF (sublinear counts) and scaled to
unit length on its own, so a long message counts as much as a short one."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np

NGRAMS = range(2, 6)
PRIME = np.uint64(1_000_003)
WORD_TAG = np.uint64(1 << 63)  # word ids live in the top half of the id space


def char_ids(text: str) -> np.ndarray:
    """Ids of the character n-grams of each word, padded with spaces (" ab", "abc", "bc ")."""
    codes = np.frombuffer(f" {text} ".encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    # spaces[i]: the spaces among the first i + 1 characters. An n-gram from i has no space
    # inside when spaces[i + n - 2] == spaces[i] (its first and last character may be one).
    spaces = np.cumsum(codes == 32)
    ids, found = codes, []
    for n in NGRAMS:  # each n-gram from the (n-1)-gram before it; the ids wrap around 2**64
        count = len(codes) - n + 1
        if count <= 0:
            break
        ids = ids[:count] * PRIME + codes[n - 1:]
        found.append(ids if n == 2 else ids[spaces[n - 2:n - 2 + count] == spaces[:count]])
    return np.concatenate(found) & ~WORD_TAG if found else np.zeros(0, dtype=np.uint64)


def word_ids(text: str) -> np.ndarray:
    """Ids of the words and of each pair of neighbouring words."""
    words = text.split()
    grams = words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    return np.fromiter((zlib.crc32(g.encode()) for g in grams), dtype=np.uint64, count=len(grams)) | WORD_TAG


def text_ids(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The text's character n-gram ids and word ids, the two blocks of its vector."""
    return char_ids(text), word_ids(text)


@dataclass(frozen=True)
class Vocabulary:
    """The ids seen in training (sorted) with their inverse document frequency."""

    ids: np.ndarray  # uint64, sorted
    idf: np.ndarray  # float32, one per id

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The text as (column indices, weights): TF-IDF of each known id, each block of unit
        length. Ids never seen in training are dropped."""
        return self.row(text_ids(text))

    def row(self, blocks: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
        unique, counts = np.unique(np.concatenate(blocks), return_counts=True)
        index = np.searchsorted(self.ids, unique)  # sorted queries: the fastest kind
        np.minimum(index, len(self.ids) - 1, out=index)
        known = self.ids[index] == unique
        index, counts = index[known], counts[known]
        weight = ((1.0 + np.log(counts)) * self.idf[index]).astype(np.float32)
        # Columns follow the ids' order, and word ids are the top half: words are a tail.
        words = int(np.searchsorted(index, self.first_word))
        for block in (weight[words:], weight[:words]):  # each block of unit length
            norm = float(np.sqrt(np.dot(block, block)))
            if norm:
                block /= norm
        return index, weight

    @cached_property
    def first_word(self) -> int:
        """The column of the first word id (all char n-gram ids come before it)."""
        return int(np.searchsorted(self.ids, WORD_TAG))

    @classmethod
    def fit(cls, blocks: list[tuple[np.ndarray, ...]]) -> Vocabulary:
        """The ids of all texts (given as their blocks), with idf = ln((1 + n) / (1 + df)) + 1
        as scikit-learn smooths it."""
        per_text = [np.unique(np.concatenate(b)) for b in blocks]
        ids, df = np.unique(np.concatenate(per_text), return_counts=True)
        idf = np.log((1 + len(blocks)) / (1 + df)) + 1.0
        return cls(ids, idf.astype(np.float32))
