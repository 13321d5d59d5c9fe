"""What the scam check says follows the rules of every other text: the glossary, facts by key,
and what is true (9000 takes SMS only; BISP's own service takes a CNIC by SMS)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.content.check import _all_texts, check, glossary_warnings
from bot.content.load import load_content
from bot.understanding.scam import ScamRules
from tests.conftest import ROOT

INTENTS = ROOT / "intents"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    folder = tmp_path / "intents"
    shutil.copytree(INTENTS, folder)
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_intents_check_reads_every_scam_explanation_and_verdict(content):
    rules = ScamRules.load(INTENTS)
    where = {w for w, _, _ in _all_texts(content, INTENTS) if w.startswith("scam_rules.yaml")}
    flags = [*rules.flags, *([rules.model_flag] if rules.model_flag else [])]
    assert where == {f"scam_rules.yaml: {f.id}: explain" for f in flags} | {
        f"scam_rules.yaml: verdict {v}" for v in rules.verdict_texts}


def test_a_glossary_variant_in_a_scam_explanation_is_a_warning(copy):
    edit(copy / "scam_rules.yaml", "Koi bank, wallet ya company ye kabhi nahi mangti; jis ke paas code ho woh ap ka",
         "Koi bank, wallet ya company ye kabhi nahi mangti; jis ke paas code ho woh aap ka")
    edit(copy / "scam_rules.yaml", "پہلے آفیشل ایپ میں اپنا بیلنس", "پہلے سرکاری ایپ میں اپنا بیلنس")
    content = load_content(copy)
    warnings = glossary_warnings(content, _all_texts(content, copy))
    assert "scam_rules.yaml: asks_for_code: explain (roman_ur): 'aap' where the glossary (ap) says 'ap'" in warnings
    assert "scam_rules.yaml: money_sent_by_mistake: explain (ur): 'سرکاری ایپ' where the glossary (official) " \
           "says 'آفیشل'" in warnings


def test_an_unknown_fact_in_a_scam_explanation_is_a_problem(copy):
    edit(copy / "scam_rules.yaml", "Real BISP messages come only from {bisp.sender},",
         "Real BISP messages come only from {bisp.short_code},")
    problems, _ = check(copy)
    assert "scam_rules.yaml: scheme_money_from_mobile: explain (en): unknown fact key '{bisp.short_code}'" in problems


def test_the_scam_checks_own_data_is_checked(copy):
    edit(copy / "scam_check.yaml", "  - [lookalike_domain, act_on_link, short_link, link]",
         "  - [lookalike_domain, act_on_link, short_link, links]")
    edit(copy / "scam_check.yaml", "      - '\\bcheck (?:karo", "      - '\\bcheck ((?:karo")
    problems, _ = check(copy)
    assert "scam_check.yaml: same_reason: unknown flag 'links'" in problems
    assert any(p.startswith("scam_check.yaml: own_words: asking: bad regular expression") for p in problems)


# --- what the texts say ---
def _every_text(content) -> list[tuple[str, str, str]]:
    facts = [(f"facts.yaml: {f.key}", "en", f.about) for f in content.facts.values()]
    return [*_all_texts(content, INTENTS), *facts]


SMS_OR_CALL = re.compile(r"\b(?:sms|ایس ایم ایس)\s+(?:or|ya|یا)\s+(?:a\s+)?(?:call|کال)|"
                         r"\b(?:call|کال)\s+(?:or|ya|یا)\s+(?:sms|ایس ایم ایس)", re.IGNORECASE)


def test_no_text_says_a_call_can_be_reported_to_9000(content):
    """PTA's 9000 takes SMS only: a sentence that names it never offers a call."""
    found = []
    for where, lang, text in _every_text(content):
        for sentence in re.split(r"(?<=[.۔?!:])\s+|\n", text):
            if ("{spam.report_number}" in sentence or "9000" in sentence) and SMS_OR_CALL.search(sentence):
                found.append((where, lang, sentence))
    assert found == []


def test_the_scam_texts_never_say_bisp_does_not_take_a_cnic(content):
    scam_texts = [(w, lang, t) for w, lang, t in _all_texts(content, INTENTS)
                  if w.startswith(("scam_rules.yaml", "system.yaml"))]
    wrong = re.compile(r"(?:BISP|بی آئی ایس پی)[^.۔;؛]*(?:never|kabhi|کبھی)[^.۔;؛]*(?:CNIC|شناختی)", re.IGNORECASE)
    assert [(w, lang) for w, lang, t in scam_texts if wrong.search(t)] == []
    rules = ScamRules.load(INTENTS)
    assert "never asks for a code, PIN, password or fee" in rules.explain("scheme_money_from_mobile", "en")
    assert "kabhi code, PIN, password ya fee nahi mangta" in rules.explain("scheme_money_from_mobile", "roman_ur")
    assert "کبھی کوڈ، پن، پاس ورڈ یا فیس نہیں مانگتا" in rules.explain("scheme_money_from_mobile", "ur")


def test_official_is_not_government_in_the_urdu_scam_texts(content):
    government_for_official = re.compile(r"سرکاری (?:ایپ|ویب سائٹ|اسٹور|سٹور)")
    assert [(w, t) for w, lang, t in _all_texts(content, INTENTS)
            if lang == "ur" and w.startswith(("scam_rules.yaml", "system.yaml")) and government_for_official.search(t)
            ] == []
