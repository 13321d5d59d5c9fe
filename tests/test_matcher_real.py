"""The matcher on messages as people really send them: a story before the question, SMS
spelling, capitals, no punctuation, English and Urdu mixed, indirect phrasing, two topics
with one main ask, and near misses that share our words. Written for this test, in the
styles of the realistic sets, not copied from them."""

from __future__ import annotations

import pytest

REAL = [
    # a story first, then the question
    ("account_hacked", "so yesterday i was on a call with my cousin and suddenly my whatsapp logged out, "
                       "now it says the number is registered on another phone. what do i do??"),
    ("two_factor", "last month a friend lost her instagram to some hacker. i dont want that happening to me, "
                   "how do i add that extra code thing when logging in"),
    ("report_fraud", "Bhai kal ek banda bola main bank se hun, maine usko code bata diya aur 40 hazar nikal gaye "
                     "account se. ab complain kahan karun?"),
    ("after_leak", "میرے ایک دوست نے بتایا کہ میرا شناختی کارڈ نمبر اور فون نمبر ایک ویب سائٹ پر پڑا ہے۔ "
                   "اب مجھے کیا احتیاط کرنی چاہیے؟"),
    # SMS spelling, capitals, no punctuation
    ("stop_marketing_calls", "PLZ TELL ME HOW TO STOP THESE PROMOTION CALLS THEY CALL EVERY HOUR"),
    ("sim_check", "mjhe check krna hy k mere cnic pe kitni sims chal rhi hain koi tarika btao"),
    ("password_help", "mera har jaga 1 hi password hai kia ye theek hy ya change krna chahiye"),
    ("check_breach", "kya mera email kisi leak me aya hai check kr k btao plz"),
    # English and Urdu mixed; Urdu script with English words
    ("vpn_wifi", "airport pe free wifi hai, kya us pe apna banking app use karna safe hai?"),
    ("records_sold", "koi banda claim kar raha hai k uske paas meri call details aur location hai, he is asking "
                     "money to not share it"),
    ("complain_pta", "میں نے ڈی این سی آر میں رجسٹر کیا تھا پھر بھی کالز آ رہی ہیں، اب PTA کو کیسے شکایت کروں"),
    ("account_hacked", "میرا فیس بک اکاؤنٹ کسی نے hack کر لیا ہے اور پاسورڈ بھی بدل دیا"),
    # indirect phrasing, without the obvious keyword
    ("two_factor", "i want gmail to ask me for something more than the password whenever a new phone logs in"),
    ("leak_news", "everyone in the family group is forwarding that all our numbers and addresses are being "
                  "sold after some big telecom incident, did that really happen?"),
    # two topics, one main ask
    ("scam_check", "hi, thanks for earlier. also got this sms: 'your parcel is held, pay 150 rs at bit.ly/x "
                   "to release it'. is it genuine?"),
    # asking for an authority's own number
    ("report_fraud", "NCCIA ka helpline number kya hai"),
    ("complain_pta", "pta ka toll free number chahiye complaint ke liye"),
    # a plain statement, in Urdu script, that one's data leaked
    ("after_leak", "میرا سارا ڈیٹا لیک ہو گیا ہے"),
    # blocking calls from unknown numbers
    ("stop_marketing_calls", "unknown numbers se calls kaise block karun"),
    # the same words as the near misses below, but about safety
    ("human_help", "usne meri call record kar li aur ab blackmail kar raha hai"),
    ("vpn_wifi", "is the dhaba's free wifi ok for sending money on jazzcash"),
]

NEAR_MISSES = [
    "which jazz bundle is best for youtube, monthly one?",
    "mere iphone pe pta tax kitna lagega, non pta hai",
    "roof se pani leak ho raha hai baarish ke baad, plumber ka number do",
    "matric ka paper leak hua hai kya is saal",
    "zong me job ki vacancy hai? cv kahan bhejun",
    "آج رات کا میچ کون جیتے گا",
    # sharing a word with a topic: a language lesson, a caller tune, a phone's tax, an app, a job
    "how do you say 'leak' in sindhi",
    "jazz pe caller tune wala gana badalna hai",
    "pta tax on a pixel 9 pro bought in london",
    "best app to record phone calls on oppo",
    "سیکیورٹی گارڈ کی نوکری کے لیے کہاں اپلائی کروں",
]


@pytest.mark.parametrize(("intent", "text"), REAL, ids=[f"{i}-{n}" for n, (i, _) in enumerate(REAL)])
def test_realistic_messages_get_their_intent(matcher, intent: str, text: str) -> None:
    match = matcher.match(text)
    assert match.intent == intent, f"{text!r} -> {match}"


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_misses_are_not_given_an_intent(matcher, text: str) -> None:
    match = matcher.match(text)
    assert match.intent is None, f"{text!r} -> {match}"


def test_a_greeting_before_the_question_does_not_decide(matcher) -> None:
    assert matcher.match("Assalam o alaikum sir. mera whatsapp hack ho gaya hai kya karun?").intent == "account_hacked"
    assert matcher.match("hello hello! how are you. how many sims are registered on my cnic?").intent == "sim_check"


def test_the_same_message_gets_the_same_verdict_from_the_cache(matcher) -> None:
    first = matcher.match("2fa kaise lagaun")
    assert matcher.match("2fa kaise lagaun") == first and first.intent == "two_factor"
