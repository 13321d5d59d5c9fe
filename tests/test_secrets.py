"""The secret detector over generated formats (hypothesis): one-time codes in the wordings
services and people use, CNICs and card numbers with any separator people type, in English,
Urdu and Roman Urdu; and what must stay a normal message. Also what `redact` masks in misses."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.understanding.redact import find_sensitive, luhn_valid, redact

SEPARATORS = ["-", " ", ".", "\u2013", "\u2014", "\u2212", ""]  # hyphen, space, dot, en/em dash, minus
SERVICES = ["WhatsApp", "Facebook", "Google", "JazzCash", "Easypaisa", "HBL", "Daraz", "Instagram"]
URDU_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


@st.composite
def codes(draw: st.DrawFn) -> str:
    """A 4-8 digit code, maybe in two groups with a separator."""
    digits = draw(st.text("0123456789", min_size=4, max_size=8))
    if len(digits) >= 6 and draw(st.booleans()):
        half = len(digits) // 2
        return digits[:half] + draw(st.sampled_from(["-", " "])) + digits[half:]
    return digits


OTP_WORDINGS = [
    "Your {s} code: {c}", "Your {s} code is {c}", "{c} is your {s} verification code",
    "{c} is your {s} confirmation code", "G-{c} is your Google verification code", "OTP {c}",
    "Use {c} to verify your {s} account", "my otp is {c}", "{s} OTP: {c}. Do not share it.",
    "aap ka code {c} hai", "mera OTP {c} hai", "{c} aap ka {s} tasdeeqi code hai", "pin {c}",
    "آپ کا کوڈ {c} ہے", "{c} آپ کا تصدیقی کوڈ ہے", "او ٹی پی {c}", "کوڈ: {c}",
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(OTP_WORDINGS), st.sampled_from(SERVICES), codes(), st.booleans())
def test_one_time_codes_are_found_in_every_wording(wording: str, service: str, code: str, urdu_digits: bool):
    if urdu_digits:
        code = code.translate(URDU_DIGITS)
    text = wording.format(s=service, c=code)
    assert find_sensitive(text) == "otp", text


@settings(max_examples=300, deadline=None)
@given(st.text("0123456789", min_size=13, max_size=13), st.sampled_from(SEPARATORS),
       st.sampled_from(["my cnic is {}", "CNIC: {}", "mera shanakhti card {}", "شناختی کارڈ {}", "{}"]))
def test_cnics_are_found_with_any_separator(digits: str, sep: str, wording: str):
    cnic = f"{digits[:5]}{sep}{digits[5:12]}{sep}{digits[12]}"
    assert find_sensitive(wording.format(cnic)) == "cnic", cnic


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    """A 16-digit number that passes Luhn's check, in four groups with one separator."""
    body = draw(st.text("0123456789", min_size=15, max_size=15).filter(lambda d: len(set(d)) > 1))
    number = next(body + str(check) for check in range(10) if luhn_valid(body + str(check)))
    sep = draw(st.sampled_from(SEPARATORS))
    return sep.join(number[i:i + 4] for i in range(0, 16, 4))


@settings(max_examples=300, deadline=None)
@given(card_numbers(), st.sampled_from(["card {}", "my card number is {}", "{}", "mera card {} hai"]))
def test_card_numbers_are_found_with_any_separator(card: str, wording: str):
    assert find_sensitive(wording.format(card)) in {"card", "cnic"}, card  # 13 of 16 digits may read as a CNIC


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([
    "I paid {n} rupees and got nothing", "they took {n} rupay from my account", "call {n} for help",
    "my order {n} is late", "code {n} rupay bhejne ko kaha", "the {n} leak was big",
]), st.integers(100, 99999))
def test_amounts_and_ordinary_numbers_are_not_secrets(wording: str, n: int):
    text = wording.format(n=n)
    assert find_sensitive(text) is None or "code" in text, text


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["sara", "ali.khan", "ahmed_92"]), st.sampled_from(["gmail", "yahoo", "hotmail"]),
       st.sampled_from([" at ", " (at) ", " [at] "]), st.sampled_from([" dot ", " (dot) ", "."]))
def test_spelled_out_emails_are_masked(local: str, domain: str, at: str, dot: str):
    text = f"is {local.replace('.', dot)}{at}{domain}{dot}com leaked"
    masked = redact(text)
    assert domain not in masked and "<email>" in masked, masked


def test_names_addresses_and_foreign_numbers_are_masked():
    masked = redact("my name is Sara Ahmed, house 12 street 5 G-9/2, call +1 (415) 555-0123")
    for kept in ("Sara", "Ahmed", "12", "G-9", "415", "555"):
        assert kept not in masked, masked
    assert redact("I am worried about my data") == "I am worried about my data"


def test_keyed_is_hmac_sha256_hex_of_the_parts_joined_by_colons():
    import hashlib
    import hmac

    from bot.config import keyed

    for secret, parts, size in ((b"s", ("whatsapp", "+923001234567"), 32), (b"k" * 80, ("records", "x"), 16),
                                (b"", ("",), 64)):
        expected = hmac.new(secret, ":".join(parts).encode(), hashlib.sha256).hexdigest()[:size]
        assert keyed(secret, *parts, size=size) == expected
