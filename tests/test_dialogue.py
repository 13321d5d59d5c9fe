from __future__ import annotations

import re

import pytest

from bot.config import user_key
from bot.dialogue.messages import Incoming


def say(bot, text, user="u1", **kwargs):
    return bot.respond(Incoming("test", user, text, **kwargs))


def test_answers_in_the_language_of_the_message(bot, content):
    (en,) = say(bot, "how do i stop marketing calls")
    assert en.intent == "stop_marketing_calls" and en.lang == "en"
    assert "3627" in en.text and "UNREG" not in en.text  # leaving the register comes on "more"
    (more,) = say(bot, "more")
    assert more.intent == "stop_marketing_calls" and more.lang == "en" and "UNREG" in more.text
    (ur,) = say(bot, "مارکیٹنگ کالز کیسے بند کروں")
    assert ur.lang == "ur" and ur.text == content.answer("stop_marketing_calls", "ur")
    (roman,) = say(bot, "marketing calls kese band karun")
    assert roman.lang == "roman_ur" and roman.text == content.answer("stop_marketing_calls", "roman_ur")


def test_facts_are_filled_in_from_the_registry(bot, content):
    (reply,) = say(bot, "cyber crime report karni hai, paise nikal gaye account se")
    assert reply.intent == "report_fraud"
    assert content.facts["nccia.helpline"].value in reply.text
    assert not re.search(r"\{[a-z_.]+\}", reply.text)


def test_a_number_picks_an_offered_option(bot, content):
    (first,) = say(bot, "how do i stop marketing calls")
    assert [o.value for o in first.options] == ["more:stop_marketing_calls",
                                                *content.intents["stop_marketing_calls"].options]
    assert first.options_hint.startswith("Reply with a number")
    (second,) = say(bot, "2")
    assert second.intent == first.options[1].value
    (urdu_digit,) = say(bot, "۱")  # Urdu digit one picks from the options of the second answer
    assert urdu_digit.intent == second.options[0].value.removeprefix("more:")


def test_a_number_that_is_not_an_option_says_so(bot):
    say(bot, "how do i stop marketing calls")
    (reply,) = say(bot, "9")
    assert reply.intent == "bad_option" and "not one of the options" in reply.text
    (again,) = say(bot, "2")  # the options offered before are still there
    assert again.intent == "complain_pta"


def test_an_offered_option_can_be_picked_by_its_title_typos_included(bot, content):
    (first,) = say(bot, "how do i stop marketing calls")
    assert "complain_pta" in [o.value for o in first.options]
    (picked,) = say(bot, "complian to pta")  # the title, "Complain to PTA", misspelt
    assert picked.intent == "complain_pta"
    say(bot, "how do i stop marketing calls")
    (urdu_title,) = say(bot, content.title("complain_pta", "ur"))
    assert urdu_title.intent == "complain_pta"


def test_button_choice_is_handled_like_the_option(bot):
    (reply,) = say(bot, "", choice="sim_check")
    assert reply.intent == "sim_check"


def test_unknown_message_falls_back_and_is_kept_redacted(bot, store):
    (reply,) = say(bot, "what is the cricket score today, call me on 03001234567")
    assert reply.intent == "fallback"
    assert "I can help with" in reply.text and reply.options
    rows = list(store.db["misses"].rows)
    assert len(rows) == 1 and "03001234567" not in rows[0]["text"] and "<phone>" in rows[0]["text"]


def test_close_intents_get_a_clarifying_question(bot, matcher):
    # Find a message the matcher cannot call, so the test does not depend on one example.
    ambiguous = next(
        text for text in ("leak", "data leak", "scam", "fraud", "fraud call", "password", "sim", "helpline", "pta",
                          "pin", "code", "otp")
        if matcher.match(text).candidates
    )
    (reply,) = say(bot, ambiguous)
    assert reply.intent == "clarify" and len(reply.options) == 2
    (picked,) = say(bot, "2")
    assert picked.intent == reply.options[1].value


def test_language_switch_is_remembered(bot):
    (reply,) = say(bot, "urdu mein jawab do")
    assert reply.lang == "ur"
    (answer,) = say(bot, "how do i stop marketing calls")  # asked in English, answered in Urdu
    assert answer.lang == "ur" and "3627" in answer.text
    (back,) = say(bot, "reply in english please")
    assert back.lang == "en"


@pytest.mark.parametrize(("first", "lang"), [("mujhe marketing calls band krni hain", "roman_ur"),
                                             ("مارکیٹنگ کالز کیسے بند کروں", "ur"), ("how do i stop marketing calls", "en")])
@pytest.mark.parametrize("bare", ["telenor helpline", "jazz helpline?", "0300-1234567", "ali.khan@example.com"])
def test_a_message_with_no_language_of_its_own_keeps_the_conversations(bot, first, lang, bare):
    """Issue 23: a bare email, "telenor helpline" or a number is no language: an Urdu
    conversation was answered in English."""
    (opening,) = say(bot, first)
    assert opening.lang == lang
    replies = say(bot, bare)
    assert [r.lang for r in replies] == [lang] * len(replies)


def test_language_question_offers_the_three_languages(bot):
    (reply,) = say(bot, "change language")
    assert [o.value for o in reply.options] == ["lang:en", "lang:roman_ur", "lang:ur"]
    (chosen,) = say(bot, "3")
    assert chosen.lang == "ur"


def test_greeting_says_what_is_kept_and_how_to_delete(bot):
    (reply,) = say(bot, "assalam o alaikum")
    assert reply.intent == "greeting"
    assert "delete my data" in reply.text.lower() or "mita" in reply.text.lower()


def test_delete_my_data_asks_then_deletes(bot, store):
    say(bot, "urdu mein jawab do")
    key = user_key(b"test-secret", "test", "u1")
    assert store.get_user(key).lang == "ur"
    (confirm,) = say(bot, "delete my data")
    assert confirm.intent == "bot_privacy" and len(confirm.options) == 2
    (done,) = say(bot, "1")
    assert store.get_user(key) is None
    assert done.options == ()


def test_delete_can_be_declined(bot, store):
    say(bot, "forget me, erase my data")
    (kept,) = say(bot, "no")
    key = user_key(b"test-secret", "test", "u1")
    assert store.get_user(key) is not None and "nothing was deleted" in kept.text


def test_privacy_question_explains_and_offers_delete(bot):
    (reply,) = say(bot, "what do you store about me")
    assert reply.intent == "bot_privacy"
    assert "30 days" in reply.text
    assert [o.value for o in reply.options] == ["more:bot_privacy", "delete:ask"]


def test_users_are_stored_only_under_a_keyed_hash(bot, store):
    say(bot, "hi", user="+923001234567")
    keys = [row["key"] for row in store.db["users"].rows]
    assert keys == [user_key(b"test-secret", "test", "+923001234567")]
    dump = "\n".join(store.db.iterdump())
    assert "3001234567" not in dump


def test_sensitive_messages_are_warned_about_and_not_kept(bot, store):
    for text in ("my cnic is 35202-1234567-1", "card 4111 1111 1111 1111",
                 "mera password Ali@1234 hai", "OTP is 482913", "my otp is 482913, what do i do"):
        (reply,) = say(bot, text)
        assert reply.intent == "sensitive"
        assert "never send" in reply.text.lower() or "na bhejein" in reply.text.lower()
    dump = "\n".join(store.db.iterdump())
    for secret in ("1234567", "1111", "Ali@1234", "482913"):
        assert secret not in dump


def test_counts_are_anonymous_per_intent_and_day(bot, store):
    say(bot, "hi", user="a")
    say(bot, "hello", user="b")
    rows = {(r["intent"], r["lang"]): r["n"] for r in store.db["counts"].rows}
    assert rows[("greeting", "en")] == 2
    assert set(store.db["counts"].columns_dict) == {"day", "intent", "lang", "n"}


@pytest.mark.parametrize(("text", "lang"), [
    ("i dont understand urdu, english please", "en"),
    ("english nahi aati urdu mein batao", "ur"),
    ("roman urdu mein likho", "roman_ur"),
    ("not in english, in urdu please", "ur"),
])
def test_language_switch_heeds_negations(bot, text, lang):
    (reply,) = say(bot, text)
    assert reply.lang == lang and reply.intent == "language"


def test_a_language_only_refused_is_asked_about(bot):
    (reply,) = say(bot, "stop writing in urdu")
    assert [o.value for o in reply.options] == ["lang:en", "lang:roman_ur", "lang:ur"]


@pytest.mark.parametrize("text", [
    "someone called me saying he is from jazzcash and asked for the code, I gave it and 50000 rupees are gone, where do I report",
    "they asked for my pin and took 20000 from my account",
])
def test_a_fraud_story_with_amounts_is_not_taken_for_a_code(bot, text):
    (reply,) = say(bot, text)
    assert reply.intent == "report_fraud"


@pytest.mark.parametrize("text", ["my otp is 482913", "pin: 1234", "mera code 4821 hai", "میرا کوڈ 4821 ہے"])
def test_a_code_given_outright_gets_the_warning(bot, text):
    (reply,) = say(bot, text)
    assert reply.intent == "sensitive"
