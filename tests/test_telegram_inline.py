"""TELEGRAM_INLINE_REPLIES: a one-message answer goes back in the webhook's response, as the
Bot API allows ("method" plus its parameters), instead of a sendMessage request."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from bot.config import Settings
from bot.service import create_app
from bot.state.sqlite_store import Store
from bot.testing.fake_telegram import FakeTelegram, button_update, text_update
from bot.testing.http import serve_asgi
from tests.test_channels import TOKEN, make_settings, post_update


@pytest.fixture
def inline(tmp_path):
    with FakeTelegram(TOKEN) as telegram_api:
        settings = replace(make_settings(tmp_path, telegram_api, 0), telegram_inline=True)
        with serve_asgi(create_app(settings)) as url, httpx.Client(base_url=url, timeout=20) as client:
            yield client, telegram_api


def test_the_reply_is_the_webhook_response(inline, tmp_path):
    client, telegram_api = inline
    response = post_update(client, text_update(801, 61, "how do i stop marketing calls"))
    call = response.json()
    assert call["method"] == "sendMessage" and call["chat_id"] == 61
    assert "3627" in call["text"] and call["text"].endswith("Did this help?")
    assert [b["text"] for b in call["reply_markup"]["inline_keyboard"][-1]] == ["👍", "👎"]
    assert telegram_api.calls("sendMessage") == []
    again = post_update(client, text_update(801, 61, "how do i stop marketing calls"))
    assert again.status_code == 200 and again.content == b""  # a duplicate: nothing more
    store = Store(tmp_path / "bot.db")
    assert store.db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0  # marked delivered
    store.close()


def test_a_button_press_is_acknowledged_through_the_api_and_answered_inline(inline):
    client, telegram_api = inline
    call = post_update(client, button_update(802, 62, "sim_check")).json()
    assert "668" in call["text"]
    assert telegram_api.calls("answerCallbackQuery")[0]["callback_query_id"] == "cb802"


def test_a_message_to_delete_goes_through_the_api(inline):
    client, telegram_api = inline
    response = post_update(client, text_update(803, 63, "my otp is 482913, is that ok to share?"))
    assert response.status_code == 200 and response.content == b""
    assert telegram_api.wait_for("deleteMessage") and telegram_api.calls("sendMessage")


def test_the_setting_is_off_unless_asked_for():
    assert Settings.from_env({"BOT_SECRET": "x"}).telegram_inline is False
    assert Settings.from_env({"BOT_SECRET": "x", "TELEGRAM_INLINE_REPLIES": "1"}).telegram_inline is True
