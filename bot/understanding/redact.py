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
# Possessive quantifiers (\s*+, \S++) throughout: a run of spaces is taken whole, never split
# between two \s* and tried every way (which made "password" and 4 KB of spaces take seconds).
_SECRET = r"(?=\S{0,63}[\d@#$%^&*!?_.-])\S{4,}+"
PASSWORD = re.compile(
    rf"(?:password|passwd|pwd|passcode|پاس\s?ورڈ)\s*+(?:(?:is|:|=|hai|ہے)\s*+)?{_SECRET}"
    rf"|(?:password|pwd|پاس\s?ورڈ)\s++{_SECRET}\s++(?:hai|h|ہے)",
    re.IGNORECASE,
)
# A one-time code or PIN given with its digits: "OTP 482913", "code is 4821", "پن 1234".
# The digits must follow the word with at most a few linking words ("code is", "pin: ",
# "otp hai"): "they asked for my pin and took 20000" tells a story, it holds no code; nor is
# an amount of money a code ("code 5000 rupay").
_LINK = r"(?:\s*+(?:is|was|hai|tha|he|h|ka|ki|aya|aaya|number|no|code|ہے|تھا|نمبر|کا|کی|[:=#-]))"
_MONEY = r"\s*(?:rs\b|rupees?|rupay|rupaye|pkr|hazar|thousand|lakh|روپے|روپیہ|ہزار|لاکھ)"
# The code itself: 4 to 8 digits, maybe in two groups ("482-913", "482 913"), maybe after a
# service's letter ("G-482913").
_CODE = rf"(?<![\d.,])(?:[A-Z]{SEP})?\d{{2,4}}(?:{SEP}?\d{{2,4}})?(?![\d.,]\d)"
_CODE_WORD = (r"(?:otp|o\.t\.p|pin|code|passcode|verification|confirmation|security|login|tasdeeq\w*"
              r"|کوڈ|پن|او ٹی پی|تصدیقی|تصدیق)")
OTP = re.compile(
    # "OTP 482913", "Your WhatsApp code: 482-913", "aap ka code 4829 hai", "کوڈ 482913"
    rf"{_CODE_WORD}{_LINK}{{0,3}}\s*+{_CODE}(?!{_MONEY})"
    # "482913 is your Facebook confirmation code", "4829 aap ka tasdeeqi code hai", "482913 آپ کا کوڈ ہے"
    rf"|{_CODE}\s*+(?:(?:is|hai|ہے)\s*+)?(?:your|you|aap\s+ka|ap\s+ka|apka|aapka|آپ\s+کا)\s++"
    rf"(?:\S++\s++){{0,3}}?{_CODE_WORD}"
    # "Use 482913 to verify", "482913 use karein"
    rf"|\b(?:use|enter|dial)\s++{_CODE}\s++(?:to|as|for)\s++(?:verify|log\s?in|sign\s?in|confirm|reset)",
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


# An email spelled out to dodge filters or as people say it: "sara dot ahmed at gmail dot com",
# "x at the rate gmail dot com", "x @ gmail . com", "ali(at)yahoo(dot)com". The text is cut into
# tokens by one pattern with no nested repetition, and each "at" looks at most MAX_PARTS words
# either way: linear time whatever the text (a regex spanning the spaces around "at" was tried
# from every space of a long run of spaces, and took quadratic time).
_EMAIL_TOKEN = re.compile(r"[(\[{]\s{0,2}(?:at|dot)\s{0,2}[)\]}]|[\w+-]+|\S", re.IGNORECASE)
_AT_WORDS = {"at", "ایٹ", "at-the-rate", "attherate", "at-the-rate-of", "atherate", "@the"}
_DOT_WORDS = {"dot", "ڈاٹ", "d0t"}
_RATE = (("the", "rate", "of"), ("the", "rate"), ("d", "rate"), ("da", "rate"), ("rate",))
_PROVIDERS = {"gmail", "yahoo", "hotmail", "outlook", "live", "icloud", "ymail", "proton", "protonmail"}
MAX_PARTS = 5  # words of a local part or a domain


def _email_tokens(text: str) -> list[tuple[str, str, int, int, bool]]:
    """(kind, lowered, start, end, spaced): kind 'at' (symbolic: "@", "(at)", "at the rate"),
    'at_word' (a bare "at"), 'dot' (spelled or bracketed), 'period', 'word' or 'other';
    `spaced`: whitespace before the token."""
    tokens, last = [], 0
    for match in _EMAIL_TOKEN.finditer(text):
        value, start = match.group().lower(), match.start()
        if value == "@" or value in _AT_WORDS - {"at", "ایٹ"}:
            kind = "at"
        elif value[0] in "([{":
            kind = "at" if "at" in value else "dot"
        elif value in ("at", "ایٹ"):
            kind = "at_word"
        elif value in _DOT_WORDS:
            kind = "dot"
        elif value == ".":
            kind = "period"
        else:
            kind = "word" if (value[0].isalnum() or value[0] in "_+-") else "other"
        tokens.append((kind, value, start, match.end(), start > last))
        last = match.end()
    return tokens


def _is_dot(tokens: list, i: int, symbolic: bool) -> bool:
    """A dot between two parts: spelled or bracketed always; a full stop after a symbolic
    "at", or written tight ("gmail.com") after a bare one ("at home. Then" is no email)."""
    kind = tokens[i][0]
    if kind == "dot":
        return True
    if kind != "period":
        return False
    tight = not tokens[i][4] and i + 1 < len(tokens) and not tokens[i + 1][4]
    return symbolic or tight


def _after_at(tokens: list, i: int) -> tuple[int, bool] | None:
    """The index of the last token of the "at" that starts at `i`, and whether it is symbolic."""
    kind = tokens[i][0]
    if kind == "at":
        return i, True
    if kind != "at_word":
        return None
    for words in _RATE:  # "at the rate (of)": Pakistani and Indian English for "@"
        following = [t[1] for t in tokens[i + 1:i + 1 + len(words)]]
        if tuple(following) == words:
            return i + len(words), True
    return i, False


_AT_HINT = re.compile(r"@|\bat\b|ایٹ|\bat-?the-?rate|\batherate", re.IGNORECASE)


def _mask_spelled_emails(text: str) -> str:
    if not _AT_HINT.search(text):  # most texts: no token list built
        return text
    tokens = _email_tokens(text)
    spans: list[tuple[int, int]] = []
    for i, token in enumerate(tokens):
        if token[0] not in ("at", "at_word") or (spans and token[2] < spans[-1][1]):
            continue
        found = _after_at(tokens, i)
        if found is None:
            continue
        last, symbolic = found
        end, dots = last + 1, 0  # the domain: word (dot word){1,}
        if end >= len(tokens) or tokens[end][0] != "word":
            continue
        while (dots < MAX_PARTS and end + 2 < len(tokens) and _is_dot(tokens, end + 1, symbolic)
               and tokens[end + 2][0] == "word"):
            end, dots = end + 2, dots + 1
        if not dots and not (symbolic and tokens[end][1] in _PROVIDERS):
            continue
        begin, parts = i - 1, 0  # the local part: (word dot){0,} word
        if begin < 0 or tokens[begin][0] != "word":
            continue
        while (parts < MAX_PARTS and begin - 2 >= 0 and _is_dot(tokens, begin - 1, symbolic)
               and tokens[begin - 2][0] == "word"):
            begin, parts = begin - 2, parts + 1
        spans.append((tokens[begin][2], tokens[end][3]))
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
    r"|makan|ghar)\b\.?|(?:مکان|گلی|محلہ|سیکٹر|بلاک|فیز|گھر))\s*+(?:(?i:no\.?|number|#|نمبر)\s*+)?"
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
