"""Replies are held until delivered: a re-delivery after a lost reply gets it again, a
re-delivery after a delivered reply gets nothing; and every request leaves one JSON log line."""

from __future__ import annotations

import json
import logging
import time

from bot.dialogue.core import REPLAY_AFTER, Bot
from bot.dialogue.messages import Incoming
from bot.testing.fake_telegram import text_update
from tests.test_channels import post_update, service, telegram_api, whatsapp  # noqa: F401 - fixtures


def test_undelivered_replies_come_again_once(bot: Bot):
    message = Incoming("whatsapp", "whatsapp:+923001234567", "hi", message_id="SM-held")
    first = bot.handle(message)
    assert first.status == "answered" and first.delivery
    # At the same moment, the first delivery may still be under way (another worker): nothing.
    assert bot.handle(message).status == "duplicate"
    time.sleep(REPLAY_AFTER + 0.05)
    again = bot.handle(message)  # the response never reached the channel: it asks again
    assert again.status == "redelivered" and again.replies == first.replies
    bot.delivered(again)
    assert bot.handle(message).status == "duplicate"
    assert bot.store.db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


def test_messages_without_an_id_hold_nothing(bot: Bot):
    outcome = bot.handle(Incoming("terminal", "local", "hi"))
    assert outcome.delivery is None
    assert bot.store.db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


def test_whatsapp_reply_is_forgotten_once_written(service):  # noqa: F811
    assert "<Message>" in whatsapp(service, "hi", sid="SM-w1").text
    assert "<Message>" not in whatsapp(service, "hi", sid="SM-w1").text


def test_telegram_reply_refused_by_the_api_is_asked_for_again(service, telegram_api):  # noqa: F811
    telegram_api.fail_next("sendMessage", 400, {"ok": False, "error_code": 400,
                                                "description": "Bad Request: chat not found"})
    update = text_update(501, 88, "hi")
    assert post_update(service, update).status_code == 503  # Telegram will deliver it again
    assert post_update(service, update).status_code == 200
    assert post_update(service, update).status_code == 200
    texts = [call["text"] for call in telegram_api.calls("sendMessage")]
    assert len(texts) == 2 and texts[0] == texts[1]  # the refused try, then the one delivery


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        from bot.ops.logs import JsonFormatter
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_one_json_line_per_request_without_personal_data(service, telegram_api):  # noqa: F811
    lines = Lines()
    logger = logging.getLogger("mehfooz.requests")
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)
    try:
        post_update(service, text_update(601, 99, "how do i stop marketing calls"))
        whatsapp(service, "my email is someone@example.com", sid="SM-log", sender="whatsapp:+923331112223")
        post_update(service, text_update(602, 99, "hi"), secret="wrong")
    finally:
        logger.removeHandler(lines)
    entries = [json.loads(line) for line in lines.lines]
    assert [(e["channel"], e["status"]) for e in entries] == [
        ("telegram", 200), ("whatsapp", 200), ("telegram", 403)]
    assert entries[0]["intent"] == "stop_marketing_calls" and entries[0]["outcome"] == "answered"
    assert entries[2]["reason"] == "bad_secret"
    assert all(isinstance(e["latency_ms"], float) for e in entries)
    text = "\n".join(lines.lines)
    assert "example.com" not in text and "3331112223" not in text
