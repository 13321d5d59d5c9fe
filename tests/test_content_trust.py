"""Answers people can trust: every number from the fact registry, the same facts in every
language, one term per concept (the glossary), retention figures from the settings, and a
review page that shows it all side by side."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.breaches.index import Breach, BreachIndex
from bot.breaches.lookup import BreachLookup
from bot.config import Settings
from bot.content.check import _all_texts, check, typed_numbers
from bot.content.load import FACT_REF, load_content
from bot.content.review import render_review
from bot.dialogue.core import Bot
from bot.dialogue.messages import Incoming
from bot.runtime import build_bot
from bot.understanding.normalise import LANGS
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


# --- the bar: the shipped content ---
def test_the_shipped_content_has_no_problem_and_no_warning():
    assert check(INTENTS) == ([], [])


def test_no_number_of_three_digits_or_more_is_typed_into_any_text(content):
    long_runs = [
        (where, lang, number)
        for where, lang, text in _all_texts(content, INTENTS)
        for number in re.findall(r"\d[\d,.]*\d|\d", FACT_REF.sub("", text))
        if len(re.sub(r"\D", "", number)) >= 3 and not re.fullmatch(r"(?:19|20)\d\d", number)
    ]
    assert long_runs == []


def test_every_text_gives_the_same_facts_in_every_language(content):
    keys: dict[str, dict[str, set[str]]] = {}
    for where, lang, text in _all_texts(content, INTENTS):
        keys.setdefault(where, {}).setdefault(lang, set()).update(FACT_REF.findall(text))
    assert [where for where, by_lang in keys.items() if len({frozenset(v) for v in by_lang.values()}) > 1] == []


def test_typed_numbers_leave_out_years_list_markers_labels_and_fact_keys():
    text = "1. Send {dncr.register} to {dncr.number}.\n2. Since 2016, use 2FA or 2-Step Verification."
    assert typed_numbers(text) == []
    assert typed_numbers("Call 1799 now, 24 hours a day; Rs 2,000") == ["1799", "24", "2,000"]


# --- what `intents check` enforces ---
def test_a_number_typed_into_an_answer_is_a_problem(copy):
    edit(copy / "thanks.yaml", "Ask me again any time.", "Ask me again any time, or call 1799.")
    problems, _ = check(copy)
    assert any("thanks.yaml: answer (en): the number '1799' is typed in" in p for p in problems)


def test_a_number_typed_into_the_catalogue_or_a_scam_explanation_is_a_problem(copy):
    edit(copy / "breaches" / "catalogue.yaml", "{incident.2025_credentials} million credentials (PKCERT",
         "184 million credentials (PKCERT")
    edit(copy / "scam_rules.yaml", "Real BISP messages come only from {bisp.sender},",
         "Real BISP messages come only from 8171,")
    problems, _ = check(copy)
    assert any("catalogue.yaml: global-2025-infostealer-credentials: name (en): the number '184'" in p
               for p in problems)
    assert any("scam_rules.yaml: scheme_money_from_mobile: explain (en): the number '8171'" in p for p in problems)
    assert any("leaves out {incident.2025_credentials}" in p for p in problems)  # en now differs


def test_languages_that_give_different_facts_are_a_problem(copy):
    edit(copy / "stop_marketing_calls.yaml", "likh kr {spam.report_number} par SMS krein", "likh kr spam number par SMS krein")
    problems, _ = check(copy)
    assert "stop_marketing_calls.yaml: answer: the 'roman_ur' text leaves out {spam.report_number}" in problems


def test_an_unknown_figure_is_a_problem(copy):
    edit(copy / "bot_privacy.yaml", "for {state_days} days after", "for {state_weeks} weeks after")
    problems, _ = check(copy)
    assert any("bot_privacy.yaml: unknown figure '{state_weeks}'" in p for p in problems)


def test_unused_facts_and_home_page_sources_are_warnings(copy):
    facts = copy / "facts.yaml"
    edit(facts, "  source: https://www.zong.com.pk/ud/postpaid/faqs/", "  source: https://www.zong.com.pk")
    with facts.open("a", encoding="utf-8") as out:
        out.write('spare.fact:\n  value: "12345"\n  source: https://example.org/a/b\n'
                  '  checked: 2026-11-01\n  confidence: low\n')
    problems, warnings = check(copy)
    assert problems == []
    assert "facts.yaml: spare.fact is used by no text: use it or remove it" in warnings
    assert any(w.startswith("facts.yaml: zong.helpline: the source 'https://www.zong.com.pk' is a home page")
               for w in warnings)
    assert not any("sim.check_site" in w or "law.pakistan_code" in w for w in warnings)  # a site is its own source


def test_a_glossary_variant_is_a_warning(copy):
    edit(copy / "two_factor.yaml", "دو مرحلہ تصدیق کا مطلب", "ٹو اسٹیپ ویریفکیشن کا مطلب")
    edit(copy / "goodbye.yaml", "Agar chahte hain ke main ap ke", "Agar chahte hain k main aap ke")
    _, warnings = check(copy)
    assert "two_factor.yaml: answer (ur): 'ٹو اسٹیپ ویریفکیشن' where the glossary (two_step) says 'دو مرحلہ تصدیق'" \
        in warnings
    assert "goodbye.yaml: answer (roman_ur): 'aap' where the glossary (ap) says 'ap'" in warnings
    assert "goodbye.yaml: answer (roman_ur): 'k' where the glossary (ke) says 'ke'" in warnings


# --- retention figures follow the settings ---
FIGURES = {"BOT_KEEP_STATE_DAYS": "13", "BOT_KEEP_SEEN_DAYS": "3", "BOT_KEEP_MISSES_DAYS": "41",
           "BOT_KEEP_CASES_DAYS": "17", "BOT_KEEP_TIPLINE_DAYS": "23"}
DAY_WORD = {"en": "days", "roman_ur": "din", "ur": "دن"}
PRIVACY = {"en": "what do you store about me", "roman_ur": "aap mere bare mein kya save karte ho",
           "ur": "آپ میرے بارے میں کیا محفوظ کرتے ہیں"}


@pytest.mark.parametrize("lang", LANGS)
def test_privacy_states_the_configured_retention(tmp_path, lang):
    env = {"BOT_DB": str(tmp_path / "bot.db"), "BOT_SECRET": "x", "BREACH_PEPPER": "p", **FIGURES}
    bot = build_bot(Settings.from_env(env))
    try:
        summary = bot.handle(Incoming("terminal", f"privacy-{lang}", PRIVACY[lang]))
        assert (summary.intent, summary.lang) == ("bot_privacy", lang)
        full = bot.handle(Incoming("terminal", f"privacy-{lang}", "", choice="more:bot_privacy"))
        for reply, shown in ((summary.replies[0], ("13", "41", "23")), (full.replies[0], ("13", "3", "41", "17", "23"))):
            for days in shown:
                assert f"{days} {DAY_WORD[lang]}" in reply.text, (lang, days)
            assert "30" not in reply.text and "90" not in reply.text and "{" not in reply.text
    finally:
        bot.store.close()


# --- asking for a fact gets it, in every language ---
ASKED = [
    ("nccia.helpline", {"en": "what is nccia helpline number", "roman_ur": "nccia ka number kya hai",
                        "ur": "این سی سی آئی اے کا نمبر کیا ہے"}),
    ("bisp.helpline", {"en": "what's BISP's helpline", "roman_ur": "bisp ka helpline number kya hai",
                       "ur": "بی آئی ایس پی کی ہیلپ لائن کا نمبر کیا ہے"}),
    ("pta.helpline", {"en": "what is PTA's helpline", "roman_ur": "pta ka helpline number",
                      "ur": "پی ٹی اے کی ہیلپ لائن نمبر کیا ہے"}),
]
UNKNOWN_CALLERS = {"en": "how to block calls from unknown numbers", "roman_ur": "unknown numbers ki calls kaise block karun",
                   "ur": "انجان نمبروں سے کالز کیسے بلاک کریں"}


@pytest.mark.parametrize(("key", "lang"), [(key, lang) for key, _ in ASKED for lang in LANGS])
def test_asking_for_a_fact_gets_it(bot, content, key, lang):
    question = dict(ASKED)[key][lang]
    outcome = bot.handle(Incoming("terminal", f"ask-{key}-{lang}", question))
    assert outcome.lang == lang
    assert content.fact_value(key, lang) in outcome.replies[0].text, (question, outcome.intent)


# A short code from the registry asked about bare ("8171 kya hai": who sends from it, what it
# is for), as people ask after a message names it. Phrasings of our own, not the examples'.
WHAT_IS = [
    ("bisp.sender", {"en": "what's 8171", "roman_ur": "ye 8171 kya cheez hai", "ur": "یہ 8171 کیا چیز ہے"}),
    ("nccia.helpline", {"en": "what's 1799", "roman_ur": "ye 1799 kya cheez hai", "ur": "یہ 1799 کیا چیز ہے"}),
    ("pta.dirbs_number", {"en": "what's 8484", "roman_ur": "ye 8484 kya cheez hai", "ur": "یہ 8484 کیا چیز ہے"}),
    ("spam.report_number", {"en": "what's 9000", "roman_ur": "ye 9000 kya cheez hai", "ur": "یہ 9000 کیا چیز ہے"}),
]


@pytest.mark.parametrize(("key", "lang"), [(key, lang) for key, _ in WHAT_IS for lang in LANGS])
def test_asking_what_a_registry_code_is_gets_the_answer_that_names_it(bot, content, key, lang):
    question = dict(WHAT_IS)[key][lang]
    outcome = bot.handle(Incoming("terminal", f"what-{key}-{lang}", question))
    assert outcome.lang == lang and outcome.intent is not None, (question, outcome.intent)
    assert content.fact_value(key, lang) in outcome.replies[0].text, (question, outcome.intent)


@pytest.mark.parametrize("lang", LANGS)
def test_blocking_unknown_callers_leads_with_the_phones_free_setting(bot, content, lang):
    """*420# is the operators' paid block service: the first answer gives the free setting of
    the phone itself, and the operator code comes only on "more", with its daily charge."""
    first = bot.handle(Incoming("terminal", f"unknown-{lang}", UNKNOWN_CALLERS[lang]))
    assert first.intent == "stop_marketing_calls" and first.lang == lang
    text = first.replies[0].text
    assert "Silence Unknown Callers" in text and "Android" in text or "اینڈرائیڈ" in text
    assert content.fact_value("spam.block_service") not in text
    (more,) = bot.handle(Incoming("terminal", f"unknown-{lang}", "", choice="more:stop_marketing_calls")).replies
    assert content.fact_value("spam.block_service") in more.text
    assert content.fact_value("spam.block_service_charge", lang) in more.text


# Asked about the operator code itself, and "420" as people say "a cheat" (not the code).
BLOCK_SERVICE = {"en": "does dialling *420# cost money", "roman_ur": "*420# wali service ke paise lagte hain kya",
                 "ur": "*420# والی سروس کے پیسے لگتے ہیں کیا"}
CHEATED = {"en": "a shopkeeper did 420 with me and kept my money, where do i report",
           "roman_ur": "online dukan wale ne mere sath 420 kar di paise wapas nahi kar raha",
           "ur": "آن لائن دکان والے نے میرے ساتھ 420 کر دی، پیسے واپس نہیں کر رہا"}


@pytest.mark.parametrize("lang", LANGS)
def test_asking_about_the_paid_block_code_gets_its_charge_and_the_free_ways(bot, content, lang):
    """A question about *420# itself is answered, not guessed at: the service, its daily
    charge, how to cancel, and the free ways (the phone's setting, the register) beside it."""
    outcome = bot.handle(Incoming("terminal", f"code-{lang}", BLOCK_SERVICE[lang]))
    assert (outcome.intent, outcome.lang) == ("call_block_service", lang)
    text = outcome.replies[0].text
    assert content.fact_value("spam.block_service") in text
    assert content.fact_value("spam.block_service_charge", lang) in text
    assert "Silence Unknown Callers" in text and content.fact_value("dncr.number") in text


@pytest.mark.parametrize("lang", LANGS)
def test_420_as_slang_for_a_cheat_is_not_the_block_code(bot, lang):
    outcome = bot.handle(Incoming("terminal", f"cheated-{lang}", CHEATED[lang]))
    assert (outcome.intent, outcome.lang) == ("report_fraud", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_the_register_is_said_not_to_cover_ordinary_mobile_numbers(bot, lang):
    ask = {"en": "property dealers keep calling me from mobile numbers, will dncr stop them",
           "roman_ur": "property dealer mobile numbers se call karte hain, kya dncr se band hon gi",
           "ur": "پراپرٹی ڈیلر موبائل نمبروں سے کال کرتے ہیں، کیا ڈی این سی آر سے بند ہوں گی"}[lang]
    outcome = bot.handle(Incoming("terminal", f"scope-{lang}", ask))
    covered = {"en": "does not cover calls from ordinary mobile numbers",
               "roman_ur": "aam mobile numbers ki calls (property dealers, agents) par lagu nahi hota",
               "ur": "عام موبائل نمبروں کی کالز (پراپرٹی ڈیلر، ایجنٹ) پر لاگو نہیں ہوتا"}[lang]
    assert outcome.intent == "stop_marketing_calls" and covered in outcome.replies[0].text


# --- what the person reads is in their language ---
def test_a_known_incident_is_named_in_the_persons_language(tmp_path, content, store):
    index = BreachIndex(tmp_path / "breaches.db", b"pepper")
    index.add_breach(Breach("pk-2025-records-sale", "English name", "2025-09", ("location",)))
    index.import_lines("pk-2025-records-sale", ["03001234567"])
    bot = Bot(content, store, b"secret", lookup=BreachLookup(store, b"secret", index))
    try:
        (reply,) = bot.respond(Incoming("whatsapp", "u1", "کیا میرا نمبر لیک ہوا ہے؟ میرا نمبر",
                                        verified_phone="+923001234567"))
    finally:
        index.close()
    incident = content.catalogue["pk-2025-records-sale"]
    assert incident.name["ur"] in reply.text and "English name" not in reply.text
    assert "، ".join(incident.data["ur"]) in reply.text


def test_options_in_urdu_are_listed_with_the_urdu_comma(bot):
    (reply,) = bot.respond(Incoming("terminal", "u-comma", "السلام علیکم"))
    assert len(reply.options) == 3 and "1، 2 یا 3" in reply.options_hint


def test_scam_explanations_take_numbers_from_the_registry(bot, content):
    reply, _report = bot.respond(Incoming("terminal", "u-bisp", "BISP 8171: aap ki 10,500 ki qist jari ho gayi hai, "
                                                                 "wasooli ke liye 0342-1122334 par call karein."))
    assert "{bisp.sender}" not in reply.text and f"sirf {content.fact_value('bisp.sender')} se" in reply.text


# --- the review page ---
class _Page(HTMLParser):
    """Tables as lists of rows of cell texts, and the classes of list items."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.notes: list[tuple[str, str]] = []
        self._cell: list[str] | None = None
        self._note: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "li":
            self._note = dict(attrs).get("class", "")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._note is not None:
            self.notes.append((self._note, data))
            self._note = None


def test_the_review_page_shows_answers_side_by_side_facts_and_warnings(copy, content):
    edit(copy / "goodbye.yaml", "Agar chahte hain ke main ap ke", "Agar chahte hain k main ap ke")
    page = _Page()
    page.feed(render_review(copy))
    heads = [t[0] for t in page.tables]
    assert heads.count(["", "English", "Roman Urdu", "اردو"]) >= len(content.intents) + 2  # + own texts, catalogue
    answered = [t for t in page.tables if len(t) >= 3 and t[2][0] == "answer"]
    assert len(answered) == len(content.intents)  # out_of_scope shows its (empty) answer row too
    marketing = next(t for t in answered if t[2][1].startswith("To stop marketing calls"))
    assert all(content.fact_value("dncr.number") in cell for cell in marketing[2][1:])
    assert marketing[3][0] == "more" and all(content.fact_value("dncr.unregister") in c for c in marketing[3][1:])
    facts = next(t for t in page.tables if t[0][:3] == ["key", "value", "about"])
    row = next(r for r in facts if r[0] == "nccia.helpline")
    assert row[1] == "1799" and row[3].startswith("https://www.arabnews.pk") and row[4] == "2026-12-06"
    assert row[5] == "high"
    assert ("warning", "warning: goodbye.yaml: answer (roman_ur): 'k' where the glossary (ke) says 'ke'") \
        in page.notes


def test_the_review_command_writes_one_page(tmp_path):
    out = tmp_path / "review.html"
    done = subprocess.run([sys.executable, "-m", "bot", "intents", "review", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "<script" not in html and "0 problem(s), 0 warning(s)" in html
    assert load_content(INTENTS).fact_value("law.pdpb_approved", "ur") in html
