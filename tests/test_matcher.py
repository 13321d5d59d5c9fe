"""The matcher on every catalog intent, with messages written for this test (not examples)."""

from __future__ import annotations

import pytest

from tests.conftest import CATALOG

# One message per language per intent, typed the way people text (typos included).
MESSAGES = {
    "greeting": ["hello there", "aoa bhai", "السلام علیکم"],
    "menu": ["what all can u do", "tum kya kya kar sakte ho", "آپ کیا کر سکتے ہیں"],
    "stop_marketing_calls": ["stop promo calls", "marketing calls kese band karun", "اشتہاری کالز بند کریں"],
    "complain_pta": ["complaint against zong to pta", "pta mein complain kaise karun", "پی ٹی اے میں شکایت درج کرنی ہے"],
    "report_fraud": ["someone stole money from my easypaisa", "fraud ho gaya paise chale gaye", "میرے ساتھ فراڈ ہوا ہے رپورٹ کہاں کروں"],
    "check_breach": ["was i leaked", "kya mera data leak hua hai", "کیا میرا ڈیٹا لیک ہوا ہے"],
    "leak_news": ["what happened in the 2025 call records leak", "jazz data leak ki khabar sach hai", "ڈیٹا لیک کی خبر کیا ہے"],
    "after_leak": ["my data leaked what now", "data leak ho gaya ab kya karun", "ڈیٹا لیک ہو گیا اب کیا کروں"],
    "password_help": ["how to make a strong password", "mazboot password kaise banaun", "مضبوط پاس ورڈ کیسے بنائیں"],
    "two_factor": ["enable 2fa on whatsapp", "two step verification kaise on karun", "ٹو سٹیپ ویریفکیشن کیسے لگائیں"],
    "operator_helpline": ["zong customer care number", "jazz helpline ka number kya hai", "ٹیلی نار کا ہیلپ لائن نمبر"],
    "data_sharing_rights": ["can jazz sell my number to companies", "kya operator mera data share kar sakta hai", "کیا کمپنی میرا ڈیٹا بیچ سکتی ہے"],
    "privacy_law": ["is there a data protection law in pakistan", "data protection ka qanoon hai kya", "پاکستان میں ڈیٹا کا قانون"],
    "scam_check": ["is this sms a scam", "ye message fraud hai kya", "کیا یہ میسج فراڈ ہے"],
    "phishing_tips": ["how can i spot fake messages", "fraud se kaise bachein", "دھوکہ دہی سے بچنے کے طریقے"],
    "vpn_wifi": ["is public wifi safe for banking", "vpn lagana chahiye kya", "پبلک وائی فائی محفوظ ہے"],
    "sim_check": ["how many sims are on my cnic", "mere cnic pe kitni sim hain", "میرے شناختی کارڈ پر کتنی سمیں ہیں"],
    "account_hacked": ["my whatsapp got hacked", "mera facebook hack ho gaya", "میرا واٹس ایپ ہیک ہو گیا"],
    "records_sold": ["someone is selling my call records", "meri location koi bech raha hai", "میرا کال ریکارڈ بیچا جا رہا ہے"],
    "bot_privacy": ["what do you store about me", "mera data mita do", "آپ میرا کیا ڈیٹا رکھتے ہیں"],
    "human_help": ["talk to a real person", "kisi insaan se baat karni hai", "کسی انسان سے بات کرنی ہے"],
    "thanks": ["thanks a lot", "bohat shukriya", "بہت شکریہ آپ کا"],
    "goodbye": ["bye", "allah hafiz", "اللہ حافظ"],
    "language": ["reply in english", "urdu mein jawab do", "انگریزی میں جواب دیں"],
    "shared_code": ["i told the caller my otp by mistake", "maine usko pin bata diya ab kya karun",
                    "میں نے فون پر کوڈ بتا دیا"],
    "harm_request": ["how can i read my girlfriend's whatsapp chats", "apni biwi ki location kaise track karun",
                     "کسی کا فیس بک پاس ورڈ کیسے پتا کریں"],
}
OUT_OF_SCOPE = ["who won the cricket match", "mera balance kitna hai", "آج موسم کیسا ہے"]


def test_every_catalog_intent_exists(content):
    assert set(CATALOG) <= set(content.intents)
    assert set(MESSAGES) == set(CATALOG)


@pytest.mark.parametrize(("intent", "text"), [(i, t) for i, ts in MESSAGES.items() for t in ts])
def test_matches_catalog_intent(matcher, intent, text):
    match = matcher.match(text)
    assert match.intent == intent, f"{text!r} -> {match}"


@pytest.mark.parametrize("text", OUT_OF_SCOPE)
def test_out_of_scope_is_rejected(matcher, text):
    assert matcher.match(text).intent is None


def test_typos_still_match(matcher):
    assert matcher.match("how do i stpo marketting calss").intent == "stop_marketing_calls"
    assert matcher.match("mera watsap hak ho gya").intent == "account_hacked"


def test_scores_and_language_are_reported(matcher):
    match = matcher.match("marketing calls kese band karun")
    assert 0 <= match.score <= 100 and match.lang == "roman_ur"
