"""What the answers say, read from the bot's own replies (issue 23): what BISP never asks for
(a code, OTP, PIN, password or fee, not a CNIC), the data protection bill's status dated and its
72 hours a draft's, the NADRA leak in the news and the breach catalogue, PTA's VPN registration,
operator numbers the operators' own pages do not confirm said to be unconfirmed, "آفیشل" (never
"سرکاری") for official, the English name beside a translated law title, and a first message that
fits a phone screen, the rest on "More"."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.breaches.index import Breach, BreachIndex
from bot.breaches.lookup import BreachLookup
from bot.content.check import FIRST_MESSAGE_MAX, MORE_MAX, check
from bot.content.load import Content, shown_texts
from bot.dialogue.core import Bot
from bot.dialogue.messages import Incoming, Reply
from bot.state.sqlite_store import Store
from bot.understanding.normalise import LANGS
from tests.conftest import ROOT

# One question per intent and language, written for these tests (not from the evaluation sets).
ASK = {
    "leak_news": {"en": "tell me about the data leaks that happened in pakistan",
                  "roman_ur": "pakistan mein kon kon se data leak huay hain",
                  "ur": "پاکستان میں کون کون سے ڈیٹا لیک ہوئے ہیں"},
    "privacy_law": {"en": "which law protects my personal data in pakistan",
                    "roman_ur": "pakistan mein personal data ke liye kon sa qanoon hai",
                    "ur": "پاکستان میں ذاتی ڈیٹا کے تحفظ کا کون سا قانون ہے"},
    "vpn_wifi": {"en": "should i use a vpn on hotel wifi", "roman_ur": "hotel ke wifi par vpn lagana chahiye?",
                 "ur": "ہوٹل کے وائی فائی پر وی پی این لگانا چاہیے؟"},
    "operator_helpline": {"en": "what is the ufone customer care number",
                          "roman_ur": "telenor ki helpline ka number kya hai", "ur": "زونگ کا کسٹمر کیئر نمبر کیا ہے"},
    "bisp_helpline": {"en": "how can i contact bisp", "roman_ur": "bisp se rabta kaise karun",
                      "ur": "بی آئی ایس پی سے رابطہ کیسے کریں"},
    "phishing_tips": {"en": "how do i recognise fake messages", "roman_ur": "fake messages ki pehchan kaise karein",
                      "ur": "جعلی پیغامات کی پہچان کیسے کریں"},
    "password_help": {"en": "how do i make a strong password", "roman_ur": "mazboot password kaise banayein",
                      "ur": "مضبوط پاس ورڈ کیسے بنائیں"},
    "two_factor": {"en": "how to turn on two step verification on whatsapp",
                   "roman_ur": "whatsapp par two step verification kaise on karein",
                   "ur": "واٹس ایپ پر دو مرحلہ تصدیق کیسے آن کریں"},
    "data_sharing_rights": {"en": "can my mobile company sell my data to others",
                            "roman_ur": "kya meri mobile company mera data kisi ko de sakti hai",
                            "ur": "کیا موبائل کمپنی میرا ڈیٹا کسی کو دے سکتی ہے"},
    "menu": {"en": "what can you help me with", "roman_ur": "tum kya kya kar sakte ho",
             "ur": "آپ کن چیزوں میں مدد کر سکتے ہیں"},
    "scam_check": {"en": "is this sms a scam", "roman_ur": "kya ye message fraud hai", "ur": "کیا یہ پیغام فراڈ ہے"},
    "thanks": {"en": "thank you so much", "roman_ur": "bohat shukriya", "ur": "آپ کا بہت بہت شکریہ"},
    "goodbye": {"en": "bye take care", "roman_ur": "allah hafiz", "ur": "اچھا خدا حافظ، پھر ملیں گے"},
}
MORE_WORD = {"en": "more", "roman_ur": "mazeed", "ur": "مزید"}
CASES = [(intent, lang) for intent in ASK for lang in LANGS]


def ask(bot: Bot, intent: str, lang: str) -> Reply:
    """The bot's first message to the question, checked to be the intent's, in `lang`."""
    outcome = bot.handle(Incoming("terminal", f"{intent}-{lang}", ASK[intent][lang]))
    assert (outcome.intent, outcome.lang) == (intent, lang), ASK[intent][lang]
    return outcome.replies[0]


def said(bot: Bot, content: Content, intent: str, lang: str) -> str:
    """Everything the person can read about the intent: its first message, then "More"."""
    text = ask(bot, intent, lang).text
    if content.intents[intent].more:
        (more,) = bot.respond(Incoming("terminal", f"{intent}-{lang}", choice=f"more:{intent}"))
        text += "\n" + more.text
    return text


# --- short enough to read on a phone ---
@pytest.mark.parametrize(("intent", "lang"), CASES)
def test_the_first_message_fits_a_phone_screen(bot, content, intent, lang):
    assert len(ask(bot, intent, lang).text) <= FIRST_MESSAGE_MAX


WITH_MORE = [(i, lang) for i, lang in CASES if i != "scam_check"]  # the scam flow offers no "More"


@pytest.mark.parametrize(("intent", "lang"), WITH_MORE)
def test_the_more_button_gives_the_rest_in_one_message(bot, content, intent, lang):
    first = ask(bot, intent, lang)
    if not content.intents[intent].more:
        return
    assert f"more:{intent}" in [o.value for o in first.options]
    (more,) = bot.respond(Incoming("terminal", f"{intent}-{lang}", choice=f"more:{intent}"))
    assert (more.intent, more.lang) == (intent, lang)
    assert 0 < len(more.text) <= MORE_MAX and more.text == content.more(intent, lang)


TYPED = [(i, lang) for i, lang in WITH_MORE if lang != "roman_ur" or i == "leak_news"]


@pytest.mark.parametrize(("intent", "lang"), TYPED)
def test_typing_more_gives_the_rest_in_the_conversations_language(bot, content, intent, lang):
    ask(bot, intent, lang)
    if not content.intents[intent].more:
        return
    (more,) = bot.respond(Incoming("terminal", f"{intent}-{lang}", MORE_WORD[lang]))
    assert more.text == content.more(intent, lang)


def test_every_language_has_the_same_numbered_points(content):
    """The same points, in the same order and number, in all three languages."""
    for intent in ASK:
        for part in (content.answer, content.more):
            points = {lang: re.findall(r"(?m)^(\d+)\.", part(intent, lang)) for lang in LANGS}
            assert len({tuple(p) for p in points.values()}) == 1, (intent, part.__name__, points)


# --- BISP: what it never asks for ---
NEVER_ASKS = {"en": r"\bnever asks?\b", "roman_ur": r"\bkabhi\b[^.\n]*\bnahi mang", "ur": r"کبھی[^۔\n]*نہیں مانگ"}
CNIC = {"en": "CNIC", "roman_ur": "CNIC", "ur": "شناختی کارڈ"}
NEVER_ASKED = {"en": ["code", "OTP", "PIN", "password", "fee"],
               "roman_ur": ["code", "OTP", "PIN", "password", "fees"],
               "ur": ["کوڈ", "او ٹی پی", "پن", "پاس ورڈ", "فیس"]}


def never_asks_lines(text: str, lang: str) -> list[str]:
    return [line for line in text.splitlines() if re.search(NEVER_ASKS[lang], line, re.IGNORECASE)]


@pytest.mark.parametrize(("intent", "lang"), CASES)
def test_no_answer_says_a_cnic_is_never_asked_for(bot, content, intent, lang):
    """BISP's own service takes the CNIC by SMS: no line that says what is never asked for
    names the CNIC (as scam_check's tips did: "... CNIC number or password. ... BISP ...
    never ask for them")."""
    lines = never_asks_lines(said(bot, content, intent, lang), lang)
    assert [line for line in lines if CNIC[lang] in line] == []


@pytest.mark.parametrize("intent", ["bisp_helpline", "phishing_tips"])
@pytest.mark.parametrize("lang", LANGS)
def test_what_bisp_never_asks_for_is_named(bot, content, intent, lang):
    lines = [line for line in never_asks_lines(said(bot, content, intent, lang), lang)
             if re.search("BISP|بی آئی ایس پی", line)]
    assert lines, "no line says what BISP never asks for"
    assert all(word in lines[0] for word in NEVER_ASKED[lang]), lines[0]


# --- the data protection bill and PECA ---
DRAFT = {"en": "draft", "roman_ur": "draft", "ur": "مسودے"}
HOURS = {"en": "hours", "roman_ur": "ghante", "ur": "گھنٹوں"}
UNDATED = re.compile(r"still pending|pending in|pending tha|2025 mein bhi|زیر غور تھا|میں بھی یہ زیر غور", re.IGNORECASE)


@pytest.mark.parametrize("lang", LANGS)
def test_the_bills_status_is_dated_and_its_72_hours_are_a_drafts(bot, content, lang):
    text = said(bot, content, "privacy_law", lang)
    assert content.fact_value("law.pdpb_last_report", lang) in text
    assert content.fact_value("law.peca_amended", lang) in text
    assert not UNDATED.search(text)
    hours = f"{content.fact_value('law.pdpb_breach_hours', lang)} {HOURS[lang]}"
    clauses = [c for c in re.split(r"[.;۔؛\n]", text) if hours in c]
    assert clauses and all(DRAFT[lang] in c for c in clauses), clauses


@pytest.mark.parametrize("lang", LANGS)
def test_data_sharing_dates_the_bill_too(bot, content, lang):
    text = said(bot, content, "data_sharing_rights", lang)
    assert content.fact_value("law.pdpb_last_report", lang) in text and not UNDATED.search(text)


# --- the NADRA leak ---
NADRA = {"en": "NADRA", "roman_ur": "NADRA", "ur": "نادرا"}


@pytest.mark.parametrize("lang", LANGS)
def test_leak_news_tells_of_the_nadra_leak_first_message(bot, content, lang):
    text = ask(bot, "leak_news", lang).text
    assert NADRA[lang] in text
    for key in ("incident.2024_nadra_count", "incident.2024_nadra_date"):
        assert content.fact_value(key, lang) in text


LEAKED = {"en": "was my number leaked? check my number", "roman_ur": "kya mera number leak hua? mera number check karo",
          "ur": "کیا میرا نمبر لیک ہوا ہے؟ میرا نمبر"}


@pytest.mark.parametrize("lang", LANGS)
def test_a_number_in_the_nadra_leak_is_told_so_in_the_persons_language(tmp_path, content, lang):
    index = BreachIndex(tmp_path / "breaches.db", b"pepper")
    index.add_breach(Breach("pk-2024-nadra", "English name", "2024-03", ("personal data",)))
    index.import_lines("pk-2024-nadra", ["03001234567"])
    store = Store(tmp_path / "bot.db")
    bot = Bot(content, store, b"secret", lookup=BreachLookup(store, b"secret", index))
    try:
        (reply,) = bot.respond(Incoming("whatsapp", "u1", LEAKED[lang], verified_phone="+923001234567"))
    finally:
        index.close()
        store.close()
    incident = content.catalogue["pk-2024-nadra"]
    assert content.render(incident.name[lang], lang) in reply.text and "English name" not in reply.text
    assert content.fact_value("incident.2024_nadra_count", lang) in reply.text
    assert "{" not in reply.text


# --- PTA's VPN registration ---
REGISTER = {"en": "register", "roman_ur": "register", "ur": "رجسٹر"}
PTA = {"en": "PTA", "roman_ur": "PTA", "ur": "پی ٹی اے"}


@pytest.mark.parametrize("lang", LANGS)
def test_the_vpn_answer_names_ptas_registration(bot, content, lang):
    text = ask(bot, "vpn_wifi", lang).text
    vpn_line = next(line for line in text.splitlines() if REGISTER[lang] in line)
    assert PTA[lang] in vpn_line and content.fact_value("pta.vpn_rules_date", lang) in vpn_line


# --- operator helplines: unconfirmed numbers said to be so ---
UNCONFIRMED = {"en": "Not confirmed", "roman_ur": "Confirm nahi", "ur": "تصدیق شدہ نہیں"}
APP_OR_SITE = {"en": "app or website", "roman_ur": "app ya website", "ur": "ایپ یا ویب سائٹ"}
OPERATOR_KEYS = ["zong.helpline", "jazz.whatsapp", "jazz.helpline", "telenor.helpline", "ufone.helpline"]


def position(text: str, number: str) -> int:
    found = re.search(rf"(?<![\d-]){re.escape(number)}(?![\d-])", text)
    assert found, number
    return found.start()


@pytest.mark.parametrize("lang", LANGS)
def test_unconfirmed_operator_numbers_come_after_the_confirmed_and_are_said_to_be_so(bot, content, lang):
    text = ask(bot, "operator_helpline", lang).text
    marker = text.index(UNCONFIRMED[lang])
    for key in OPERATOR_KEYS:
        weak = content.facts[key].confidence == "low"  # not on the operator's own pages
        assert (position(text, content.fact_value(key, lang)) > marker) == weak, key
    assert APP_OR_SITE[lang] in text[marker:]


# --- plain words ---
@pytest.mark.parametrize(("intent", "lang"), [(i, "ur") for i in ASK] + [(i, "roman_ur") for i in ASK])
def test_official_is_never_sarkari(bot, content, intent, lang):
    assert not re.search(r"سرکاری|\bsarkari\b", said(bot, content, intent, lang), re.IGNORECASE)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    folder = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", folder)
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_glossary_catches_sarkari_for_official_and_bookish_roman_urdu(copy):
    edit(copy / "phishing_tips.yaml", "آفیشل ایپ اسٹور سے لیں", "سرکاری ایپ اسٹور سے لیں")
    edit(copy / "two_factor.yaml", "phir chhe digit ka PIN", "phir chhe hindson ka PIN")
    edit(copy / "data_sharing_rights.yaml", "sirf kuch haalaat mein", "sirf chand soorton mein")
    _, warnings = check(copy)
    assert "phishing_tips.yaml: answer (ur): 'سرکاری ایپ اسٹور' where the glossary (official) says 'آفیشل'" \
        in warnings
    assert "two_factor.yaml: answer (roman_ur): 'hindson' where the glossary (digit) says 'digit'" in warnings
    assert ("data_sharing_rights.yaml: answer (roman_ur): 'chand soorton' where the glossary (some_cases)"
            " says 'kuch haalaat mein'") in warnings


def test_a_translated_law_title_carries_its_english_name(content):
    """A title translated into Urdu nobody can search for: the English name follows in brackets,
    in every Urdu text the bot shows."""
    titled = [entry for entry in content.glossary.values() if isinstance(entry, dict) and entry.get("bracketed")]
    assert titled
    bare = [(where, entry["ur"]) for where, lang, text in shown_texts(content) if lang == "ur"
            for entry in titled
            for at in [m.end() for m in re.finditer(re.escape(entry["ur"]), text)]
            if not text[at:].lstrip().startswith(f"({entry['bracketed']}")]
    assert bare == []
