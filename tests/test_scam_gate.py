"""The scam check's shortcuts answer as the full work does (issue 29.2, issue 24.6).

`scam_gate.Gated` searches a rule only where its words are, `undisguise` and `prepare` skip
passes whose trigger is absent: each is checked here against the plain regex or the passes
run in full, on every rule and every message of our own sets (and their tails, so that
matches start at other places), and on crafted regexes with random texts."""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import pytest

from bot.content.load import load_content
from bot.dialogue import scam_text
from bot.understanding import scam, scam_fold
from bot.understanding.normalise import DIGITS, LETTERS
from bot.understanding.scam import _PLAIN_LINK, ScamRules
from bot.understanding.scam_gate import Gated, Places, WordScan

ROOT = Path(__file__).resolve().parent.parent
SETS = (ROOT / "tests" / "data" / "scam_set.csv", ROOT / "data" / "scam" / "written.csv")
RULES = ScamRules.load()
FLAG_IDS = {flag.id for flag in RULES.flags}


def _messages() -> list[str]:
    return [row["text"] for path in SETS for row in csv.DictReader(path.open(encoding="utf-8"))]


def _with_tails(texts: list[str]) -> list[str]:
    """The texts and, for each, its second half: a match then starts somewhere else."""
    return texts + [t[len(t) // 2:] for t in texts if len(t) > 1]


def _rules() -> list[tuple[str, Gated]]:
    found = [(f"{flag.id}.{part}", getattr(flag, part)) for flag in RULES.flags
             for part in ("patterns", "requires", "unless", "boost_patterns") if getattr(flag, part)]
    found += [(f"cap {cap.id}", cap.patterns) for cap in RULES.caps]
    return found + [(name, g) for name, g in (("accounts", RULES.accounts), ("merchants", RULES.merchants),
                                              ("official", RULES.official), ("links", _PLAIN_LINK)) if g]


def _same(gated: Gated, text: str, places: Places | None = None) -> bool:
    plain = gated.regex.search(text)
    return (gated.start(text, places) == (plain.start() if plain else None)
            and gated.found(text, places) == bool(plain))


def test_every_rule_answers_as_its_plain_regex_on_our_sets():
    prepared = _with_tails([RULES.prepare(t) for t in _messages()])
    wrong = [(name, text) for name, gated in _rules() for text in prepared if not _same(gated, text)]
    assert not wrong, wrong[:5]


def test_the_flags_and_caps_answer_the_same_from_one_scan_of_their_words():
    """Flags and caps are given where their words are, found for all of them at once."""
    scanned = [(name, gated) for name, gated in _rules() if name.split(".")[0] in FLAG_IDS or name.startswith("cap ")]
    wrong = []
    for text in _with_tails([RULES.prepare(t) for t in _messages()]):
        places = RULES.words.places(text)
        wrong += [(name, text) for name, gated in scanned if not _same(gated, text, places)]
    assert not wrong, wrong[:5]


def test_a_scan_finds_words_that_start_inside_others():
    rules = [Gated([r"\bpinned\b"]), Gated([r"\bpin\W"]), Gated([r"nne"]), Gated([r"x(?=\w*nn)|ab"])]
    scan = WordScan(rules)
    rnd = random.Random(24)
    for _ in range(2000):
        text = "".join(rnd.choice(["pin", "ned", " ", "n", "e", "x", "ab"]) for _ in range(rnd.randrange(0, 12)))
        places = scan.places(text)
        assert all(_same(rule, text, places) for rule in rules), text


def test_the_own_words_answer_as_their_plain_regex():
    words = scam_text.own_words(load_content().intents["scam_check"].extra.get("own_words"))
    folded = _with_tails([scam_text.normalise(t) for t in _messages()])
    for key in scam_text.KEYS:
        gated = getattr(words, key)
        assert all(_same(gated, text) for text in folded), key


def _undisguise_in_full(text: str) -> tuple[str, tuple[str, ...]]:
    """`undisguise` as it was, every pass run on every text."""
    f = scam_fold
    marks = []
    text = text.translate(f._INVISIBLE).translate(f._SPACERS)
    if f._MIXED_WORD.search(text):
        marks.append(f.MIXED_SCRIPT)
    text = text.translate(f.HOMOGLYPHS)
    text, found = f._USERINFO.subn("", text)
    if found:
        marks.append(f.LINK_USERINFO)
    text = f._PART_HEADER.sub(" ", text)
    text = f._SPACED_LETTERS.sub(lambda m: m.group().replace(" ", ""), text)
    return text, tuple(marks)


DISGUISED = [
    "Y\u200bo\u200bu\u200br JazzCash a\u3164c\u3164c\u3164o\u3164u\u3164n\u3164t",
    "b\u00b7i\u00b7s\u00b7p ka paigham", "c o n g r a t s you won", "Ваш аккаунт", "Yоur аccount",
    "https://jazzcash.com.pk@evil.top/x", "(1/2) Dear customer PART 2 OF 2 contd...",
    "\u2800b\u2800i\u2800s\u2800p", "\u0391\u03b2c αβγ", "plain ascii / no part here",
]


@pytest.mark.parametrize("text", DISGUISED)
def test_undisguise_skips_only_passes_that_would_change_nothing(text):
    assert scam_fold.undisguise(text) == _undisguise_in_full(text)


def test_what_is_folded_is_never_ascii():
    """`fold` and `undisguise` leave ASCII texts as they are, untranslated."""
    tables = (LETTERS, DIGITS, scam._QUOTES, scam_fold._INVISIBLE, scam_fold._SPACERS, scam_fold.HOMOGLYPHS)
    assert all(key > 127 for table in tables for key in table)


def test_undisguise_as_in_full_on_our_sets():
    assert all(scam_fold.undisguise(t) == _undisguise_in_full(t) for t in _messages())


CRAFTED = [
    [r"\b(?:ab|b)c\b", r"(?<!a)ca"],  # words at the start, a lookbehind before them
    [r"^ab", r"ba"],  # pinned to the start: searched as written
    [r"(a)b\1", r"cc"],  # a back-reference: searched as written
    [r"\+?92\W?3", r"[x*]{2,}a"],  # optional first characters, a small set
    [r"[ab]+\.(?:ab|ca)\b"],  # held inside: ".ab", ".ca"
    [r"(?=[abc.]*?\bcab)(?:[a-z.]+)", r"\bx|y|[|]b"],  # held in a lookahead; | in brackets
    [r"(?:a\W+){0,3}?bc", r"a*c\b"],  # repeats that may be skipped
    [r"aab|ab"],  # words that start inside another
]


@pytest.mark.parametrize("parts", CRAFTED)
def test_crafted_regexes_on_random_texts(parts):
    gated = Gated(parts)
    assert gated.regex.pattern == "|".join(f"(?:{p})" for p in parts)
    rnd = random.Random(29)
    for _ in range(3000):
        text = "".join(rnd.choice("abcxy.|* 9+23") for _ in range(rnd.randrange(0, 30)))
        assert _same(gated, text), (parts, text)


def test_a_word_seen_many_times_before_the_match():
    gated = Gated([r"\bcode\W+send\b"])
    text = "code x " * 10 + "code send"
    assert gated.start(text) == text.index("code send")
    assert gated.found("code x " * 10) is False


def test_a_regex_written_otherwise_keeps_what_it_matches():
    gated = Gated([r"\bab", r"\bab\w+"], written=r"\b(?:(?:ab)|(?:ab\w+))")
    assert gated.start("x abc") == 2 and gated.regex.sub("-", "x abc") == "x -c"
    assert re.compile(gated.regex.pattern).search("ab") is not None
