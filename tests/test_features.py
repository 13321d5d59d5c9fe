"""The fast paths of matching give what the plain definitions give: the classifier's features
(hashed character n-grams and words, TF-IDF rows) and the normaliser, on texts of every kind.
A change that moved a feature id would silently mismatch every cached and shipped model."""

from __future__ import annotations

import random
import re
import unicodedata
import zlib

import numpy as np
import pytest

from bot.understanding import features, normalise
from bot.understanding.features import NGRAMS, Vocabulary, char_ids, text_ids
from bot.understanding.matcher import build_normaliser

MASK = (1 << 64) - 1
ALPHABET = "ab zq 1۲٣.@/-_:+ ١٢٣٤٥٦٧٨٩ ۰۱۲۳۴۵۶۷۸ کیا ڈیٹا é\u0301\u200c\u0640 WWW.com aaaa"


def texts(count: int = 3000, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    made = ["", " ", "a", "ab", "how can i check if my email was in a breach", "کیا میرا ڈیٹا لیک ہوا ہے",
            "mera whatsapp hack ho gaya hai", "call 0300-1234567 or mail ali@example.com, www.x.pk/a"]
    made += ["".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 60))) for _ in range(count)]
    return made


def reference_char_ids(text: str) -> list[int]:
    """Each word padded with a space on both sides; every run of 2 to 5 characters in it with
    no space strictly inside, hashed as h = h * 1000003 + code (mod 2**64), the word tag off."""
    padded = f" {text} "
    ids = []
    for n in NGRAMS:
        for start in range(len(padded) - n + 1):
            gram = padded[start:start + n]
            if " " in gram[1:-1]:
                continue
            h = 0
            for char in gram:
                h = (h * 1_000_003 + ord(char)) & MASK
            ids.append(h & ~(1 << 63) & MASK)
    return ids


@pytest.mark.parametrize("text", texts(300))
def test_char_ids_are_the_plain_definition(text):
    folded = " ".join(text.split())  # as the normaliser leaves it: single spaces
    assert sorted(char_ids(folded).tolist()) == sorted(reference_char_ids(folded))


def test_word_ids_are_crc32_of_words_and_pairs():
    ids = features.word_ids("ab cd ef").tolist()
    expected = [zlib.crc32(g.encode()) | 1 << 63 for g in ("ab", "cd", "ef", "ab cd", "cd ef")]
    assert ids == expected


def reference_row(vocabulary: Vocabulary, text: str) -> dict[int, float]:
    """TF-IDF (1 + ln count) of each known id, each block (char n-grams, words) of unit length."""
    position = {int(i): n for n, i in enumerate(vocabulary.ids)}
    counts: dict[int, int] = {}
    for block in text_ids(text):
        for i in block.tolist():
            if i in position:
                counts[position[i]] = counts.get(position[i], 0) + 1
    weights = {c: (1 + np.log(n)) * float(vocabulary.idf[c]) for c, n in counts.items()}
    for words in (True, False):
        block = [c for c in weights if (int(vocabulary.ids[c]) >= 1 << 63) == words]
        norm = float(np.sqrt(sum(weights[c] ** 2 for c in block)))
        for c in block:
            weights[c] /= norm or 1.0
    return weights


def test_rows_are_the_plain_definition():
    sample = [" ".join(t.split()) for t in texts(400, seed=11)]
    vocabulary = Vocabulary.fit([text_ids(t) for t in sample[::2]])  # half the ids unknown to the rest
    for text in sample:
        columns, values = vocabulary.row(text_ids(text))
        assert list(columns) == sorted(columns)
        expected = reference_row(vocabulary, text)
        assert set(columns.tolist()) == set(expected)
        for column, value in zip(columns.tolist(), values.tolist(), strict=True):
            assert value == pytest.approx(expected[column], rel=1e-5)


STAND_INS = normalise._STAND_INS


@pytest.fixture(scope="module")
def norm(content):
    return build_normaliser(content)


def reference_normalise(norm: normalise.Normaliser, text: str) -> str:
    """The normaliser without its shortcuts: every stand-in tried, every character looked at."""
    text = text.translate(normalise.DIGITS)
    for pattern, stand_in in STAND_INS:
        text = pattern.sub(stand_in, text)
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if unicodedata.category(c) not in ("Mn", "Cf") and c != "\u0640")
    text = unicodedata.normalize("NFC", kept).translate(normalise.LETTERS).casefold()
    text = re.sub(r"(\D)\1{2,}", r"\1\1", re.sub(r"[\W_]+", " ", text))
    return " ".join(norm._fold.get(tok, tok) for tok in text.split())


def test_the_normaliser_shortcuts_change_nothing(norm):
    for text in texts():
        assert norm.normalise(text) == reference_normalise(norm, text), text


def test_word_lists_are_folded_once_and_alike(norm):
    words = ["Haan", "JEE", "ہاں", "haaan"]
    assert norm.forms(words) == {norm.normalise(w) for w in words}
    assert norm.forms(words) is norm.forms(list(words))  # kept, not folded again
