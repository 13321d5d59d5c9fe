"""What the intent classifier sees in a text: hashed character n-grams and words.

Both blocks are hashed to 64-bit ids with arithmetic that gives the same ids in every process
(Python's own `hash` of a string is salted per process), so a model trained in one process
serves in another. Character n-grams (2 to 5, inside words padded with a space) carry
spelling: typos, SMS short forms and Urdu letter variants still share most of them. Words and
word pairs carry meaning. Each block is weighted TF-IDF (sublinear counts) and scaled to
unit length on its own, so a long message counts as much as a short one."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np

NGRAMS = range(2, 6)
PRIME = 1_000_003
WORD_TAG = np.uint64(1 << 63)  # word ids live in the top half of the id space
# An n-gram's id is h = h * PRIME + code over its characters (mod 2**64), that is the sum of
# code[k] * PRIME**(n - 1 - k). _POWERS[k, n - 2] is that factor of its k-th character, so one
# matrix product hashes the n-grams of every length from every position at once: a message
# costs a few numpy calls, not a few per n-gram length.
_POWERS = np.array([[pow(PRIME, n - 1 - k, 1 << 64) if k < n else 0 for n in NGRAMS]
                    for k in range(NGRAMS[-1])], dtype=np.uint64)
_LONGEST = NGRAMS[-1]
_PRIME = np.uint64(PRIME)
_PRODUCT_UP_TO = 400  # positions: measured, the product's cost crosses the four steps' there
# After the text's closing space, more spaces: every position then has a full window of
# characters, and an n-gram that runs into them has a space inside, so it is dropped.
_TAIL = " " * (_LONGEST - 2)
_CHAR_MASK = ~WORD_TAG


def char_ids(text: str) -> np.ndarray:
    """Ids of the character n-grams of each word, padded with spaces (" ab", "abc", "bc "):
    those of length 2 from each position, then those of length 3, and so on."""
    codes = np.frombuffer(f" {text} {_TAIL}".encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    positions = len(codes) - (_LONGEST - 1)  # the padded text's length - 1: where 2-grams start
    hashes = _hashes(codes, positions)
    # An n-gram is kept when none of its inner characters is a space: kept[n - 2, i] when
    # the n - 2 characters after position i are letters. (Row by row: logical_and.accumulate
    # down the columns costs twenty times more.)
    letter = codes != 32
    kept = np.empty((_LONGEST - 1, positions), dtype=bool)
    kept[0] = True  # a 2-gram has no inner character
    kept[1] = letter[1:1 + positions]
    for row in range(2, _LONGEST - 1):
        np.logical_and(kept[row - 1], letter[row:row + positions], out=kept[row])
    ids = hashes[kept]  # by length, then by position
    ids &= _CHAR_MASK
    return ids


def _hashes(codes: np.ndarray, positions: int) -> np.ndarray:
    """[n - 2, i]: the id of the n-gram from position i (uint64 arithmetic wraps around 2**64).
    The matrix product is one call, but numpy multiplies integer matrices without SIMD: from a
    few hundred characters on, the four steps of h * PRIME + code cost less."""
    if positions <= _PRODUCT_UP_TO:
        return (np.ndarray((positions, _LONGEST), np.uint64, codes, strides=(8, 8)) @ _POWERS).T
    hashes = np.empty((_LONGEST - 1, positions), dtype=np.uint64)
    previous = codes[:positions]
    for row, n in enumerate(NGRAMS):
        np.multiply(previous, _PRIME, out=hashes[row])
        hashes[row] += codes[n - 1:n - 1 + positions]
        previous = hashes[row]
    return hashes


def word_ids(text: str) -> np.ndarray:
    """Ids of the words and of each pair of neighbouring words."""
    words = [word.encode() for word in text.split()]
    grams = words + [a + b" " + b for a, b in zip(words, words[1:], strict=False)]
    ids = np.array(list(map(zlib.crc32, grams)), dtype=np.uint64)
    ids |= WORD_TAG
    return ids


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
        # Array methods, not np.* functions: a short message makes a score of numpy calls, and
        # the functions' dispatch cost more than their work.
        ids = np.concatenate(blocks)
        ids.sort()
        index = self.ids.searchsorted(ids)  # sorted queries: the fastest kind
        # An id past the last one gets len(ids): clipped, it is compared with the last id
        # (which is smaller) and dropped.
        index = index[self.ids.take(index, mode="clip") == ids]
        index, counts = runs(index)
        weight = np.log(counts)
        weight += 1.0
        weight *= self.idf.take(index)
        weight = weight.astype(np.float32)
        # Columns follow the ids' order, and word ids are the top half: words are a tail.
        words = int(index.searchsorted(self.first_word))
        for block in (weight[words:], weight[:words]):  # each block of unit length
            # The float32 square root, exactly: a float64 one rounded to float32 is the same.
            norm = math.sqrt(block.dot(block))
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


def runs(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a sorted array with the length of each one's run (np.unique's
    answer with return_counts, without its machinery)."""
    size = len(ordered)
    edges = np.empty(size + 1, dtype=bool)  # where a run starts, and the end
    edges[0] = edges[size] = True
    np.not_equal(ordered[1:], ordered[:-1], out=edges[1:size])
    starts = edges.nonzero()[0]
    return ordered.take(starts[:-1]), starts[1:] - starts[:-1]
