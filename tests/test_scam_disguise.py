"""Disguised scams (issue 26.3, issue 24.4): each trick that made a likely scam read as clean,
reproduced, and the cost of the worst text we know of bounded (26.4). Each of these gave
"no red flags" before the disguise was folded and long messages were read whole."""

from __future__ import annotations

import time

import pytest

from bot.dialogue.messages import Incoming
from bot.understanding.scam import ScamRules

RULES = ScamRules.load()
SCAM = "Your JazzCash account will be blocked today. Verify your details now at jc-verify.top/login"
HARMLESS = "Assalam o alaikum, kal shaam ki dawat ka intezam ho gaya hai, sab log waqt par aa jana. "


def spaced(text: str, between: str) -> str:
    """Each word's letters with `between` after each one, words kept apart by two spaces."""
    return "  ".join(between.join(word) for word in text.split())


def test_the_plain_scam_is_a_likely_scam():
    assert RULES.check(SCAM).verdict == "likely_scam"


@pytest.mark.parametrize("filler", ["\u3164", "\uffa0", "\u115f", "\u200b"])
def test_invisible_fillers_after_each_letter(filler):
    disguised = "".join(c + filler if c.isalpha() else c for c in SCAM)
    assert RULES.check(disguised).verdict == "likely_scam"
    assert RULES.prepare(disguised) == RULES.prepare(SCAM)


@pytest.mark.parametrize("between", [" ", "\u00b7", "\u2800", "\u2022"])
def test_letters_spaced_out_or_split_by_dots_and_braille_blanks(between):
    text = spaced("Your JazzCash account will be blocked today", between) + ". Verify now at jc-verify.top/login"
    verdict = RULES.check(text)
    assert verdict.verdict == "likely_scam", RULES.prepare(text)
    assert "threat_block_urgent" in verdict.flags


def test_an_official_domain_as_a_links_user_name_is_a_red_flag():
    text = "JazzCash: your account will be blocked today. Verify at https://jazzcash.com.pk@jc-secure.top/verify"
    verdict = RULES.check(text)
    assert verdict.verdict == "likely_scam"
    assert {"link_userinfo", "link"} <= set(verdict.flags)
    assert "jc-secure.top/verify" in RULES.prepare(text)  # where the browser goes is what is read


def test_an_email_address_is_not_a_links_user_name():
    assert "link_userinfo" not in RULES.check("Write to complaints@jazzcash.com.pk for help").flags


def test_mixed_alphabets_inside_words_are_folded_and_named():
    text = "Yоur JаzzCаsh ассоunt will be blосkеd tоdаy, vеrify аt jc-verify.top"  # Cyrillic о а с е
    verdict = RULES.check(text)
    assert verdict.verdict == "likely_scam" and "mixed_script" in verdict.flags


def test_fullwidth_letters_and_letters_for_digits_in_amounts():
    assert "rs 50,000" in RULES.prepare("Ｒｓ 5O,OOO")
    assert "rs 10,000" in RULES.prepare("Rs l0,OOO")
    verdict = RULES.check("Ｃｏｎｇｒａｔｕｌａｔｉｏｎｓ! Aap ka Rs 5O,OOO ka inaam nikla hai, WhatsApp 0300-0001234 par rabta karein")
    assert verdict.verdict == "likely_scam"


def test_a_message_in_parts_is_read_whole():
    text = "(1/2) Your JazzCash acc (2/2) ount will be blocked today, verify now at jc-verify.top/login"
    assert "account" in RULES.prepare(text).replace(" ", "")
    assert RULES.check(text).verdict == "likely_scam"


def test_a_scam_after_four_thousand_harmless_characters():
    text = HARMLESS * (4100 // len(HARMLESS) + 1) + SCAM
    assert len(text) > 4200
    verdict = RULES.check(text)
    assert verdict.verdict == "likely_scam" and "threat_block_urgent" in verdict.flags


def test_a_scam_deep_in_a_long_message_reaches_the_reply(bot):
    text = HARMLESS * 60 + SCAM + " " + HARMLESS * 10
    reply, *_ = bot.respond(Incoming("test", "long1", text))  # the verdict, then the text for 9000
    assert len(text) > 4096  # the core cuts at 4096 for matching; the scam check reads it all
    assert reply.intent == "scam_check" and reply.text.startswith(RULES.describe("likely_scam", "roman_ur"))


# --- cost (26.4): the worst texts we know of, against a harmless message of the same length ---
ADVERSARIAL = [
    "bisp lottery " + "( " * 2040,
    "bisp " + "(" * 4000,
    "whatsapp " + "(number" + "." * 4000,
    "code " + "- " * 2040,
    "account " + "a-" * 2040,
    "rs " + "1," * 2040,
    "0300" * 1024,
    "jazz-" * 819,
    "share " + "x " * 2040,
    "کوڈ " + "-.-./@ " * 580,
    "\u3164" * 4096,
    "a\u00b7" * 2048,
]


def _cost(text: str, rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        RULES.check(text)
        best = min(best, time.perf_counter() - start)
    return best


def test_the_worst_known_4kb_messages_cost_about_what_a_harmless_one_does():
    """`bench/bench_scam.py --worst` prints these figures; here only a loose ratio, so that a
    pattern that backtracks on a run (hundreds of ms: "bisp lottery ( ( (..." took 140-200)
    fails, while a busy machine does not."""
    control = _cost((HARMLESS * 50)[:4096])
    for text in ADVERSARIAL:
        assert len(text) <= 4100
        assert _cost(text) < 5 * control + 0.02, text[:30]
