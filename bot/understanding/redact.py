"""Finding and masking personal data in free text, before anything is stored or logged."""

from __future__ import annotations

import re

from bot.understanding.normalise import DIGITS, EMAIL, URL

CNIC = re.compile(r"(?<!\d)\d{5}[-\s]?\d{7}[-\s]?\d(?!\d)")
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
PHONE = re.compile(r"(?<!\d)(?:\+?\s?92|0092|0)?[\s-]?3\d{2}[\s-]?\d{7}(?!\d)")
LONGDIGITS = re.compile(r"\d(?:[\s-]?\d){3,}")

# A password told outright: "my password is Ali@123", "password: x9y8", "mera password abc123 hai".
# The secret must hold a digit or a symbol, so "my password is weak" is not taken for one.
_SECRET = r"(?=\S*[\d@#$%^&*!?_.-])\S{4,}"
PASSWORD = re.compile(
    rf"(?:password|passwd|pwd|passcode|پاس\s?ورڈ)\s*(?:is|:|=|hai|ہے)?\s*{_SECRET}"
    rf"|(?:password|pwd|پاس\s?ورڈ)\s+{_SECRET}\s+(?:hai|h|ہے)",
    re.IGNORECASE,
)
# A one-time code or PIN given with its digits: "OTP 482913", "code is 4821", "پن 1234".
# The digits must follow the word with at most a few linking words ("code is", "pin: ",
# "otp hai"): "they asked for my pin and took 20000" tells a story, it holds no code; nor is
# an amount of money a code ("code 5000 rupay").
_LINK = r"(?:\s*(?:is|was|hai|tha|he|h|ka|ki|aya|aaya|number|no|code|ہے|تھا|نمبر|کا|کی|[:=#-]))"
_MONEY = r"\s*(?:rs\b|rupees?|rupay|rupaye|pkr|hazar|thousand|lakh|روپے|روپیہ|ہزار|لاکھ)"
OTP = re.compile(
    rf"(?:otp|o\.t\.p|pin|code|verification|tasdeeq|کوڈ|پن|او ٹی پی){_LINK}{{0,3}}\s*"
    rf"(?<!\d)\d{{4,8}}(?!\d)(?!{_MONEY})",
    re.IGNORECASE,
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _has_card(text: str) -> bool:
    for match in CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits) and len(set(digits)) > 1:
            return True
    return False


def find_sensitive(text: str) -> str | None:
    """The kind of secret the text carries ('cnic', 'card', 'password', 'otp'), or None.

    Such messages are never stored, logged or sent anywhere."""
    text = text.translate(DIGITS)
    if CNIC.search(text):
        return "cnic"
    if _has_card(text):
        return "card"
    if PASSWORD.search(text):
        return "password"
    if OTP.search(text):
        return "otp"
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_unicode(text: str) -> str:
    """Lone surrogates (a JSON "\\ud800" escape decodes to one) become U+FFFD: no database
    or hash can encode them."""
    return _SURROGATE.sub("\ufffd", text)


def redact(text: str) -> str:
    """Mask emails, links, CNICs, phone numbers and any run of four or more digits; the result
    is stored, so it is made valid Unicode first."""
    text = valid_unicode(text.translate(DIGITS))
    text = EMAIL.sub("<email>", text)
    text = URL.sub("<link>", text)
    text = CNIC.sub("<cnic>", text)
    text = PHONE.sub("<phone>", text)
    return LONGDIGITS.sub("<number>", text)
