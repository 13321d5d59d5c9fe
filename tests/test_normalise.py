from __future__ import annotations

import pytest

from bot.understanding.matcher import build_normaliser


@pytest.fixture(scope="module")
def norm(content):
    return build_normaliser(content)


def test_arabic_letter_forms_fold_to_urdu(norm):
    # Arabic yeh, kaf and heh, as many keyboards type them, against Urdu ی ک ہ
    assert norm.normalise("كيا يه") == norm.normalise("کیا یہ")


def test_diacritics_and_tatweel_are_dropped(norm):
    assert norm.normalise("شِکایَت") == norm.normalise("شکایت")
    assert norm.normalise("شکـــایت") == norm.normalise("شکایت")
    assert norm.normalise("café") == "cafe"


def test_urdu_and_arabic_digits_become_ascii(norm):
    assert norm.normalise("۳۶۲۷ پر") == "3627 پر"
    assert norm.normalise("٣٦٢٧") == "3627"


def test_case_punctuation_and_repeats(norm):
    assert norm.normalise("  HELLO!!!   Pleeeease??  ") == "hello pleease"
    assert norm.normalise("پی ٹی اے، شکایت؟") == "پی ٹی اے شکایت"


def test_roman_urdu_spelling_variants_fold(norm):
    assert norm.normalise("kese band karun") == norm.normalise("kaise band karoon")
    assert norm.normalise("nai pata") == norm.normalise("nahi pata")
    assert norm.normalise("plz msg") == "please message"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("how do i stop marketing calls", "en"),
        ("was i leaked", "en"),
        ("marketing calls kese band karun", "roman_ur"),
        ("mera whatsapp hack ho gaya", "roman_ur"),
        ("madad", "roman_ur"),
        ("کیا میرا ڈیٹا لیک ہوا ہے", "ur"),
        ("پاس ورڈ change کیسے کروں", "ur"),
        ("2", None),
        ("👍", None),
        # No language of their own (issue 23): an email, a link, a number, names and loanwords
        # both languages use. The conversation's language holds for these.
        ("ali.khan@example.com", None),
        ("telenor helpline", None),
        ("JazzCash OTP", None),
        ("0300-1234567 https://bit.ly/abc", None),
        # ...and an address's letters do not outweigh the Urdu around it.
        ("کیا میری ای میل ali.khan.lahore1990@example.com لیک ہوئی", "ur"),
        ("check ali@example.com", None),
        ("check my email ali@example.com", "en"),
        ("telenor ka customer care number do", "roman_ur"),
    ],
)
def test_language_detection(norm, text, lang):
    assert norm.detect_language(text) == lang
