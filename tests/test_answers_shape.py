"""Answers are read on a phone: the first message fits a screen, the rest comes on "more", in
the person's language; a salaam is answered with a salaam, "hi" is not."""

from __future__ import annotations

import shutil

import pytest

from bot.content.check import FIRST_MESSAGE_MAX, MORE_MAX, check
from bot.dialogue.messages import Incoming
from bot.understanding.normalise import LANGS
from tests.conftest import ROOT

ASK_MARKETING = {"en": "how do i stop marketing calls", "roman_ur": "marketing calls kaise band karun",
                 "ur": "مارکیٹنگ کالز کیسے بند کروں"}
MORE = {"en": ["more", "details", "tell me more"], "roman_ur": ["mazeed", "aur batao", "tafseel"],
        "ur": ["مزید", "تفصیل", "اور بتائیں"]}


@pytest.mark.parametrize("lang", LANGS)
def test_more_typed_in_each_language_gives_the_rest_in_that_language(bot, content, lang):
    for n, word in enumerate(MORE[lang]):
        user = f"more-{lang}-{n}"
        (first,) = bot.respond(Incoming("terminal", user, ASK_MARKETING[lang]))
        assert first.options[0].value == "more:stop_marketing_calls"
        assert first.options[0].label == content.text("more_button", lang)
        (rest,) = bot.respond(Incoming("terminal", user, word))
        assert (rest.intent, rest.lang) == ("stop_marketing_calls", lang), word
        assert rest.text == content.more("stop_marketing_calls", lang)
        assert [o.value for o in rest.options] == list(content.intents["stop_marketing_calls"].options)


def test_more_with_nothing_offered_is_an_ordinary_message(bot):
    (reply,) = bot.respond(Incoming("terminal", "nothing-offered", "more"))
    assert reply.intent == "no_more" and reply.text == bot.content.text("no_more", "en")
    bot.respond(Incoming("terminal", "nothing-offered", "شکریہ"))
    (urdu,) = bot.respond(Incoming("terminal", "nothing-offered", "مزید"))  # thanks has no more
    assert urdu.intent == "no_more" and urdu.lang == "ur"
    (stale,) = bot.respond(Incoming("terminal", "nothing-offered", "", choice="more:no_such_intent"))
    assert stale.intent == "fallback"


def test_a_number_picks_more_like_any_option(bot, content):
    bot.respond(Incoming("whatsapp", "by-number", ASK_MARKETING["roman_ur"]))
    (rest,) = bot.respond(Incoming("whatsapp", "by-number", "1"))
    assert rest.text == content.more("stop_marketing_calls", "roman_ur")


@pytest.mark.parametrize("lang", LANGS)
def test_every_first_message_fits_a_phone_screen(bot, content, lang):
    """Every intent's answer as the bot sends it (actions included): at most 700 characters
    before its options, the greeting at most 400, the rest on "more" at most 1,600."""
    too_long = {}
    for intent_id, intent in content.intents.items():
        if not intent.answer or intent.action in ("set_language",):
            continue
        user = f"len-{lang}-{intent_id}"
        bot.respond(Incoming("terminal", user, "", choice=f"lang:{lang}"))
        replies = bot.respond(Incoming("terminal", user, "", choice=intent_id))
        limit = 400 if intent_id == "greeting" else FIRST_MESSAGE_MAX
        if len(replies[0].text) > limit:
            too_long[intent_id] = len(replies[0].text)
        if intent.more:
            (rest,) = bot.respond(Incoming("terminal", user, "", choice=f"more:{intent_id}"))
            assert rest.lang == lang and len(rest.text) <= MORE_MAX, intent_id
    assert too_long == {}


@pytest.mark.parametrize(("hello", "lang", "salaam"), [
    ("assalam o alaikum", "roman_ur", "Wa alaikum assalam!"),
    ("aoa bhai", "roman_ur", "Wa alaikum assalam!"),
    ("السلام علیکم", "ur", "وعلیکم السلام!"),
    ("salam, hello", "en", "Wa alaikum assalam!"),
])
def test_a_salaam_is_answered_with_a_salaam(bot, hello, lang, salaam):
    (reply,) = bot.respond(Incoming("terminal", f"salaam-{hello}", hello))
    assert reply.intent == "greeting" and reply.text.startswith(salaam)
    assert len(reply.text) <= 400 + len(salaam) + 1


@pytest.mark.parametrize("hello", ["hi", "hello", "hey there", "good morning"])
def test_hi_is_not_answered_wa_alaikum_assalam(bot, hello):
    (reply,) = bot.respond(Incoming("terminal", f"hi-{hello}", hello))
    assert reply.intent == "greeting" and "alaikum" not in reply.text.lower()


def test_an_answer_too_long_for_a_phone_is_a_problem(tmp_path):
    copy = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", copy)
    path = copy / "thanks.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("answer:\n  en: |\n", "answer:\n  en: |\n    " + "word " * 150 + "\n", 1),
                    encoding="utf-8")
    problems, _ = check(copy)
    assert any(p.startswith("thanks.yaml: the 'en' answer is") and "at most 700" in p for p in problems)


def test_a_key_written_twice_is_a_problem_not_silently_the_last(tmp_path):
    copy = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", copy)
    glossary = copy / "glossary.yaml"
    glossary.write_text(glossary.read_text(encoding="utf-8") + "\nap:\n  roman_ur: aap\n", encoding="utf-8")
    rules = copy / "scam_rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("reviewed:", "reviewed: 2026-01-01\nreviewed:", 1),
                     encoding="utf-8")
    problems, _ = check(copy)
    assert any(p.startswith("glossary.yaml: cannot read") and "'ap' is written twice" in p for p in problems)
    assert any("scam_rules.yaml" in p and "'reviewed' is written twice" in p for p in problems)
