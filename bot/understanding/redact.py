"""Finding and masking personal data in free text, before anything is stored or logged."""

from __future__ import annotations

import re

from bot.understanding.normalise import DIGITS, EMAIL, URL
from bot.understanding.scam_fold import TLDS

# What people put between groups of digits: spaces, hyphens, dots, and the dashes a phone's
# keyboard or autocorrect makes of a hyphen (en, em, figure and minus signs).
SEP = "[\\s.\\-\u2010-\u2015\u2212]"
CNIC = re.compile(rf"(?<!\d)\d{{5}}{SEP}?\d{{7}}{SEP}?\d(?!\d)")
CARD = re.compile(rf"(?<!\d)(?:\d{SEP}?){{12,18}}\d(?!\d)")
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
# The code itself: 4 to 8 digits, maybe in two groups ("482-913", "482 913"), maybe after a
# service's letter ("G-482913").
_CODE = rf"(?<![\d.,])(?:[A-Z]{SEP})?\d{{2,4}}(?:{SEP}?\d{{2,4}})?(?![\d.,]\d)"
_CODE_WORD = (r"(?:otp|o\.t\.p|pin|code|passcode|verification|confirmation|security|login|tasdeeq\w*"
              r"|کوڈ|پن|او ٹی پی|تصدیقی|تصدیق)")
OTP = re.compile(
    # "OTP 482913", "Your WhatsApp code: 482-913", "aap ka code 4829 hai", "کوڈ 482913"
    rf"{_CODE_WORD}{_LINK}{{0,3}}\s*{_CODE}(?!{_MONEY})"
    # "482913 is your Facebook confirmation code", "4829 aap ka tasdeeqi code hai", "482913 آپ کا کوڈ ہے"
    rf"|{_CODE}\s*(?:is|hai|ہے)?\s*(?:your|you|aap\s+ka|ap\s+ka|apka|aapka|آپ\s+کا)\s+(?:\S+\s+){{0,3}}?{_CODE_WORD}"
    # "Use 482913 to verify", "482913 use karein"
    rf"|\b(?:use|enter|dial)\s+{_CODE}\s+(?:to|as|for)\s+(?:verify|log\s?in|sign\s?in|confirm|reset)",
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


def _otp(text: str) -> bool:
    """A code, but not a sum of money or a 4-digit year standing for one ("code 2024" is)."""
    for match in OTP.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 4 <= len(digits) <= 8:
            return True
    return False


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
    if _otp(text):
        return "otp"
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_unicode(text: str) -> str:
    """Lone surrogates (a JSON "\\ud800" escape decodes to one) become U+FFFD: no database
    or hash can encode them."""
    return _SURROGATE.sub("\ufffd", text)


# An email spelled out to dodge filters: "sara dot ahmed at gmail dot com". Found from each
# "at" outwards, over at most LOOK characters each way, so that the time stays linear.
_DOT = r"(?:\s*\(dot\)\s*|\s*\[dot\]\s*|\s+dot\s+|\.)"
_AT = re.compile(r"\s*\(at\)\s*|\s*\[at\]\s*|\s+at\s+", re.IGNORECASE)
_LOCAL = re.compile(rf"(?:[\w+-]+{_DOT}){{0,4}}[\w+-]+$", re.IGNORECASE)
_DOMAIN = re.compile(rf"[\w-]+(?:{_DOT}[\w-]+){{1,4}}", re.IGNORECASE)
LOOK = 80


def _mask_spelled_emails(text: str) -> str:
    spans = []
    for at in _AT.finditer(text):
        domain = _DOMAIN.match(text, at.end(), at.end() + LOOK)
        local = _LOCAL.search(text, max(0, at.start() - LOOK), at.start())
        if domain and local and re.search(r"(?i)dot|\.", domain.group()):
            spans.append((local.start(), domain.end()))
    for begin, end in reversed(spans):
        text = f"{text[:begin]}<email>{text[end:]}"
    return text


# Any international number: "+1 (415) 555-0123", "+44 20 7946 0958".
INTL_PHONE = re.compile(r"\+\s?\d[\d\s().\-]{5,}\d")
# A name given outright: "my name is Sara Ahmed", "mera naam Sara hai", "میرا نام سارہ ہے",
# "I am Ali Khan" (capitalised: "I am worried" is no name).
NAME = re.compile(
    r"(?i:\b(?:my\s+name\s+is|name\s*:|mera\s+naam|mera\s+nam|naam|this\s+is))\s+\w+(?:\s+(?!hai\b|h\b)[A-Z]\w+)?"
    r"|\b(?:I\s+am|I'm)\s+[A-Z]\w+(?:\s+[A-Z]\w+)?"
    r"|میرا\s+نام\s+\S+(?:\s+(?!ہے)\S+)?")
# An address: a house, street, sector... with its number ("house 12", "gali no. 5", "G-9/2").
ADDRESS = re.compile(
    r"(?i:\b(?:house|home|flat|plot|apartment|apt|street|st|gali|mohalla|sector|block|road|lane|phase"
    r"|makan|ghar)\b\.?|(?:مکان|گلی|محلہ|سیکٹر|بلاک|فیز|گھر))\s*(?i:no\.?|number|#|نمبر)?\s*"
    r"[A-Za-z]?-?\d+(?:[/-]\d+)*[A-Za-z]?"
    r"|\b[A-Z]-\d{1,2}(?:/\d)?\b")


def redact(text: str) -> str:
    """Mask emails (also spelled out), links, CNICs, phone numbers, names and addresses given
    outright, and any run of four or more digits; the result is stored, so it is made valid
    Unicode first."""
    text = valid_unicode(text.translate(DIGITS))
    text = EMAIL.sub("<email>", text)
    text = _mask_spelled_emails(text)
    text = URL.sub("<link>", text)
    text = CNIC.sub("<cnic>", text)
    text = INTL_PHONE.sub("<phone>", text)
    text = PHONE.sub("<phone>", text)
    text = NAME.sub("<name>", text)
    text = ADDRESS.sub("<address>", text)
    return LONGDIGITS.sub("<number>", text)


# A bare web address, host alone ("jazz-cash.secure-check.xyz", "bisp-gov.pk"): what `URL`
# leaves when there is no scheme, "www." or path.
HOST = re.compile(rf"(?<![\w@.-])(?:[a-z0-9-]{{1,63}}\.){{1,8}}(?:{TLDS})(?![\w-])",
                   re.IGNORECASE)
# Words after a greeting that are no one's name: "Dear Customer", "Hi there", "محترم صارف".
_NOT_A_NAME = ("customer|customers|user|users|sir|madam|mam|maam|member|members|subscriber|client|valued|"
               "beneficiary|applicant|candidate|winner|friend|friends|all|there|brother|sister|bhai|behan|ji|"
               "jee|sahab|sahib|card|account|holder|student|parents|team|صارف|صارفین|کسٹمر|ممبر|صاحب|جی|"
               "بھائی|بہن|دوست|امیدوار")
# A name after a greeting or a title: "Dear Sara Ahmed,", "Mr. Ali", "janab Bilal", "محترم علی خان".
GREETED = re.compile(
    rf"(?P<title>(?i:\b(?:dear|hi|hello|hey|respected|mr|mrs|ms|miss|janab|jnab|mohtaram|muhtaram)\b\.?))\s+"
    rf"(?!(?i:{_NOT_A_NAME})\b)[^\W\d_]{{2,}}(?:\s+[A-Z][^\W\d_]+)?"
    rf"|(?P<urdu>محترم|محترمہ|جناب|پیارے|عزیز)\s+(?!(?:{_NOT_A_NAME})(?!\w))[^\W\d_]{{2,}}(?:\s+(?!(?:آپ|ہم|کا|کی|کو)(?!\w))[^\W\d_]{{2,}})?")


def mask_forwarded(text: str) -> str:
    """A forwarded message as staff may read it and the tipline keeps it: a password told
    outright, then `redact`, then the hosts of links written without a scheme, and names after
    a greeting ("Dear Sara"). No phone number, link host or name is left."""
    masked = HOST.sub("<link>", redact(PASSWORD.sub("<password>", text)))
    return GREETED.sub(lambda m: f"{m.group('title') or m.group('urdu')} <name>", masked)
