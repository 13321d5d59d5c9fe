"""The text a person sends to PTA's spam number (9000): the sender's number, a space, then
the message as received. PTA needs the scammer's number and words, so those are kept; only
the person's own data in it is masked (their CNIC, card, code, password, email, and their
own phone number). It is built in memory for the reply and never stored on its own."""

from __future__ import annotations

import re

from bot.understanding.normalise import DIGITS, EMAIL
from bot.understanding.redact import CARD, CNIC, OTP, PASSWORD, PHONE, luhn_valid

SENDER = "SENDER"  # stands for the sender's number when the pasted text does not carry it
MAX_QUOTED = 600  # longer pastes are cut: a report is an SMS, not a document
# (Possessive \s*+: a run of spaces is never split between two \s* and tried every way.)
# A first line that names the sender, as phones show a forwarded SMS: "From: 0300-1234567",
# "+92 300 1234567:", "0300 1234567 -".
_SENDER_LINE = re.compile(
    r"^\s*+(?:(?:from|sender|by|msg from|sms from|از|منجانب)\s*+)?(?:[:\-]\s*+)?"
    r"(?P<number>(?:\+?92|0092|0)[\s-]?3\d{2}[\s-]?\d{7}|\d{4,6})\s*[:\-]\s*",
    re.IGNORECASE,
)
# The person's own number, as scams quote it: "aap ka number 0300...", "your number 0300...".
_OWN_NUMBER = re.compile(
    r"(?P<lead>(?:your|ur|apka|aap ka|ap ka|aapka|apke|aap ke|is|iss|this)\s+(?:mobile\s+|sim\s+)?"
    r"(?:number|no\.?|numbar|nmbr)\s*+(?:[:\-]\s*+)?(?:ye\s++|yeh\s++)?\(?)"
    r"(?P<number>(?:\+?92|0092|0)?[\s-]?3\d{2}[\s-]?\d{7})(?!\d)",
    re.IGNORECASE,
)


def digits(number: str) -> str:
    found = re.sub(r"\D", "", number)
    return "0" + found[2:] if found.startswith("92") and len(found) == 12 else found


def mask_own_data(text: str, own_phone: str | None = None) -> str:
    """`text` with the person's own data masked and everything else as received."""
    text = PASSWORD.sub("<password>", text)
    text = EMAIL.sub("<email>", text)
    text = CNIC.sub("<cnic>", text)
    text = CARD.sub(lambda m: "<card>" if luhn_valid(re.sub(r"\D", "", m.group())) else m.group(), text)
    text = OTP.sub(lambda m: re.sub(r"\d{4,8}", "<code>", m.group()), text)
    text = _OWN_NUMBER.sub(lambda m: f"{m.group('lead')}<your number>", text)
    if own_phone:
        mine = digits(own_phone)
        text = PHONE.sub(lambda m: "<your number>" if digits(m.group()) == mine else m.group(), text)
    return text


def report_text(pasted: str, own_phone: str | None = None) -> str:
    """"SENDER message" for 9000, ready to copy: the sender's number when the paste starts
    with it, else SENDER for the person to fill in."""
    text = " ".join(pasted.translate(DIGITS).split())
    sender = SENDER
    found = _SENDER_LINE.match(text)
    if found and (not own_phone or digits(found.group("number")) != digits(own_phone)):
        sender, text = re.sub(r"[\s-]", "", found.group("number")), text[found.end():]
    return f"{sender} {mask_own_data(text, own_phone)[:MAX_QUOTED]}"
