""""Did this help?": buttons on Telegram after every answer, a text question on WhatsApp
after every third; counted per intent and language, never tied to a person."""

from __future__ import annotations

from bot.dialogue.core import Bot
from bot.dialogue.messages import Incoming
from bot.state.sqlite_store import Store
from bot.testing.fake_telegram import button_update, text_update
from tests.test_channels import post_update, service, telegram_api, whatsapp  # noqa: F401 - fixtures


def feedback(bot: Bot) -> list[tuple]:
    return bot.store.daily_feedback("2000-01-01")


def say(bot: Bot, text: str, user: str = "u1") -> str:
    (reply,) = bot.respond(Incoming("whatsapp", user, text))
    return reply.meta.get("feedback", "")


def test_text_channels_ask_after_every_third_answer(bot: Bot):
    asked = [say(bot, text) for text in ("how do i stop marketing calls", "how many sims on my cnic",
                                         "how do i make a strong password")]
    assert asked[:2] == ["", ""] and "👍" in asked[2]
    (thanks,) = bot.respond(Incoming("whatsapp", "u1", "👍🏽"))
    assert "Thank you" in thanks.text
    assert [row[1:] for row in feedback(bot)] == [("password_help", "en", 1, 0)]


def test_the_question_lapses_with_the_next_message(bot: Bot):
    for text in ("how do i stop marketing calls", "how many sims on my cnic", "strong password kaise banaun"):
        say(bot, text)
    (answer,) = bot.respond(Incoming("whatsapp", "u1", "mera whatsapp hack ho gaya"))
    assert answer.intent == "account_hacked"  # a new question is answered as one
    (reply,) = bot.respond(Incoming("whatsapp", "u1", "👎"))
    assert "Thank you" not in reply.text and "Shukriya" not in reply.text
    assert feedback(bot) == []


def test_small_talk_is_not_asked_about(bot: Bot):
    for _ in range(6):
        assert say(bot, "hi") == ""


def test_telegram_buttons_count_once_per_answer(service, telegram_api, tmp_path):  # noqa: F811
    post_update(service, text_update(701, 55, "how do i stop marketing calls"))
    (sent,) = telegram_api.calls("sendMessage")
    assert sent["text"].endswith("Did this help?")
    last_row = sent["reply_markup"]["inline_keyboard"][-1]
    assert [b["text"] for b in last_row] == ["👍", "👎"]
    post_update(service, button_update(702, 55, last_row[1]["callback_data"]))
    post_update(service, button_update(703, 55, last_row[1]["callback_data"]))  # pressed twice
    texts = [call["text"] for call in telegram_api.calls("sendMessage")]
    assert texts[1:] == ["Thank you, that helps us improve."] * 2
    store = Store(tmp_path / "bot.db")  # the service's database
    assert [row[1:] for row in store.daily_feedback("2000-01-01")] == [("stop_marketing_calls", "en", 0, 1)]
    store.close()


def test_feedback_rows_hold_no_person(bot: Bot):
    for text in ("how do i stop marketing calls", "how many sims on my cnic", "how do i make a strong password"):
        say(bot, text)
    say(bot, "👎")
    columns = [row[1] for row in bot.store.db.execute("PRAGMA table_info(feedback)").fetchall()]
    assert columns == ["day", "intent", "lang", "up", "down"]
    assert [row[1:] for row in feedback(bot)] == [("password_help", "en", 0, 1)]


def test_a_thumbs_up_nobody_asked_for_is_taken_as_thanks(bot: Bot):
    (reply,) = bot.respond(Incoming("whatsapp", "u9", "👍🏻"))
    assert reply.intent == "thanks"
    assert feedback(bot) == []
