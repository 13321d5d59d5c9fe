"""The fast features give, bit for bit, what the implementation they replaced gave: the shipped
scam model (`intents/scam_model.npz`) and every cached intent model were fitted on those ids and
weights. The old code is kept here, as it was, to compare against on texts of every kind:
empty, one character, very long, emoji, the three scripts and their mixtures."""

from __future__ import annotations

import random
import re
import zlib

import numpy as np
import pytest

from bot.understanding import scam_model
from bot.understanding.features import Vocabulary, char_ids, text_ids, word_ids
from bot.understanding.matcher import build_normaliser
from bot.understanding.normalise import _LATIN_LETTER, _URDU_LETTER, _stand_ins

OLD_PRIME = np.uint64(1_000_003)
OLD_TAG = np.uint64(1 << 63)


def old_char_ids(text: str) -> np.ndarray:
    codes = np.frombuffer(f" {text} ".encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    spaces = np.cumsum(codes == 32)
    ids, found = codes, []
    for n in range(2, 6):
        count = len(codes) - n + 1
        if count <= 0:
            break
        ids = ids[:count] * OLD_PRIME + codes[n - 1:]
        found.append(ids if n == 2 else ids[spaces[n - 2:n - 2 + count] == spaces[:count]])
    return np.concatenate(found) & ~OLD_TAG if found else np.zeros(0, dtype=np.uint64)


def old_word_ids(text: str) -> np.ndarray:
    words = text.split()
    grams = words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    return np.fromiter((zlib.crc32(g.encode()) for g in grams), dtype=np.uint64, count=len(grams)) | OLD_TAG


def old_row(vocabulary: Vocabulary, blocks: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    unique, counts = np.unique(np.concatenate(blocks), return_counts=True)
    index = np.searchsorted(vocabulary.ids, unique)
    np.minimum(index, len(vocabulary.ids) - 1, out=index)
    known = vocabulary.ids[index] == unique
    index, counts = index[known], counts[known]
    weight = ((1.0 + np.log(counts)) * vocabulary.idf[index]).astype(np.float32)
    words = int(np.searchsorted(index, np.searchsorted(vocabulary.ids, OLD_TAG)))
    for block in (weight[words:], weight[:words]):
        norm = float(np.sqrt(np.dot(block, block)))
        if norm:
            block /= norm
    return index, weight


def old_scam_block(buckets: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
    unique, counts = np.unique(buckets, return_counts=True)
    values = (1.0 + np.log(counts)).astype(np.float32)
    norm = float(np.sqrt(np.dot(values, values)))
    return unique + offset, values / norm if norm else values


def old_scam_vector(prepared: str) -> tuple[np.ndarray, np.ndarray]:
    def buckets(ids: np.ndarray, bits: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((ids * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - bits)).astype(np.int64)

    text = re.sub(r"\d", "0", prepared)
    chars = old_scam_block(buckets(old_char_ids(text), 18), 0)
    words = old_scam_block(buckets(old_word_ids(text), 16), scam_model.CHAR_BUCKETS)
    return np.concatenate([chars[0], words[0]]), np.concatenate([chars[1], words[1]])


PIECES = ["a", "ab", " ", "  ", "\t", "\n", "hack", "whatsapp", "kya", "karun", "mera", "password", "OTP",
          "کیا", "میرا", "ڈیٹا", "لیک", "ہوا", "ہے", "واٹس", "ایپ", "۱۲۳", "٣", "😀", "👍🏽", "🇵🇰", "é", "e\u0301",
          "\u200c", "\u0640", "0300-1234567", "ali@example.com", "www.x.pk/a", "?", "؟", "۔", ".", "!!!", "aaaa",
          "ñ", "日本", "\U0001f600\u200d\U0001f600", "x" * 70]


def made_texts(count: int, seed: int) -> list[str]:
    """Fixed and random texts: the edge cases, then runs of the pieces above in any order."""
    rnd = random.Random(seed)
    made = ["", " ", "a", "😀", "ک", "  ", "a  b", " a ", "ab", "abc", "abcd", "abcde", "abcdef", "x" * 4096,
            "کیا " * 900, "😀" * 300, "mera whatsapp hack ho gaya hai kya karun", "میرا واٹس ایپ ہیک ہو گیا ہے",
            "how can i check if my email was leaked", "mera data leak hua? کیا کروں 😀 please help"]
    made += [("ab cde fgh" * 50)[:size] for size in range(395, 405)]  # both ways of hashing (features._hashes)
    for _ in range(count):
        glue = rnd.choice([" ", "", "  ", " \n"])
        made.append(glue.join(rnd.choice(PIECES) for _ in range(rnd.randint(1, 40))))
    return made


TEXTS = made_texts(2500, seed=29)


@pytest.fixture(scope="module")
def vocabulary(content):
    """A vocabulary from the intents' examples, as the classifier's: most ids known, some not."""
    norm = build_normaliser(content)
    examples = [norm.normalise(e) for i in content.intents.values() for ex in i.examples.values() for e in ex]
    return Vocabulary.fit([text_ids(t) for t in examples[::3]])


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_char_and_word_ids_are_the_old_ones_in_the_old_order():
    for text in TEXTS:
        assert same(char_ids(text), old_char_ids(text)), text
        assert same(word_ids(text), old_word_ids(text)), text


def test_rows_are_the_old_ones_bit_for_bit(vocabulary, content):
    norm = build_normaliser(content)
    for text in TEXTS + [norm.normalise(t) for t in TEXTS]:
        blocks = text_ids(text)
        columns, values = vocabulary.row(blocks)
        old_columns, old_values = old_row(vocabulary, blocks)
        assert same(columns, old_columns) and same(values, old_values), text


def test_rows_of_nothing_and_of_unknown_ids_only(vocabulary):
    unknown = (np.array([1, 1, 5], dtype=np.uint64), np.array([(1 << 64) - 1], dtype=np.uint64))
    for blocks in (unknown, (np.zeros(0, dtype=np.uint64),)):
        columns, values = vocabulary.row(blocks)
        old_columns, old_values = old_row(vocabulary, blocks)
        assert same(columns, old_columns) and same(values, old_values)


def test_the_scam_models_vector_is_the_old_one_bit_for_bit():
    for text in TEXTS:
        columns, values = scam_model.vector(text)
        old_columns, old_values = old_scam_vector(text)
        assert same(columns, old_columns) and same(values, old_values), text


def old_detect_language(norm, text: str, normalised: str) -> str | None:
    """Normaliser.detect_language as it was before its ASCII shortcut."""
    bare = _stand_ins(text, " ")
    urdu, latin = len(_URDU_LETTER.findall(bare)), len(_LATIN_LETTER.findall(bare))
    if urdu == 0 and latin == 0:
        return None
    if urdu >= latin:
        return "ur"
    own = [tok for tok in normalised.split() if tok not in norm._shared and not tok.isdecimal()]
    if not own:
        return None
    roman = sum(1 for tok in own if tok in norm._roman)
    return "roman_ur" if roman >= 2 or (roman and roman * 4 >= len(own)) else "en"


def test_the_language_is_detected_as_before(content):
    norm = build_normaliser(content)
    examples = [e for i in content.intents.values() for ex in i.examples.values() for e in ex]
    for text in TEXTS + examples + ["ali@example.com", "telenor helpline", "1", "👍", "ok کیا"]:
        normalised = norm.normalise(text)
        assert norm.detect_language(text, normalised) == old_detect_language(norm, text, normalised), text
