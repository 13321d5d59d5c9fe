"""Telegram and WhatsApp over real HTTP: our service under uvicorn on loopback, the real
python-telegram-bot and twilio libraries, and a local Bot API server that records calls."""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from bot.config import Settings
from bot.service import create_app
from bot.testing.fake_telegram import FakeTelegram, button_update, contact_update, text_update
from bot.testing.fake_twilio import ACCOUNT_SID, message_sid
from bot.testing.http import free_port, serve_asgi

TOKEN = "123:test-token"
SECRET = "webhook-secret"
AUTH = "twilio-auth-token"
METRICS = "a-metrics-token-long-enough-0123456789"


@pytest.fixture
def telegram_api():
    with FakeTelegram(TOKEN) as fake:
        yield fake


def make_settings(tmp_path, telegram_api, port, **changes) -> Settings:
    base = Settings(
        db_path=tmp_path / "bot.db", secret=b"s", content_dir=Settings.from_env({"BOT_SECRET": "x"}).content_dir,
        telegram_token=TOKEN, telegram_secret=SECRET, telegram_api_url=telegram_api.url,
        twilio_auth_token=AUTH, twilio_account_sid=ACCOUNT_SID, public_url="https://bot.example.org",
        metrics_token=METRICS,
    )
    return replace(base, **changes)


@pytest.fixture
def service(tmp_path, telegram_api):
    port = free_port()
    app = create_app(make_settings(tmp_path, telegram_api, port))
    with serve_asgi(app, port) as url, httpx.Client(base_url=url, timeout=20) as client:
        yield client


def post_update(client, update, secret=SECRET):
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return client.post("/telegram", json=update, headers=headers)


def whatsapp(client, body, sid="SM1", sender="whatsapp:+923001234567", sign=True, extra=None):
    form = {"MessageSid": message_sid(sid), "AccountSid": ACCOUNT_SID, "From": sender,
            "To": "whatsapp:+14155238886", "Body": body, "NumMedia": "0", **(extra or {})}
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if sign:
        headers["X-Twilio-Signature"] = RequestValidator(AUTH).compute_signature(
            "https://bot.example.org/whatsapp", form)
    return client.post("/whatsapp", content=urlencode(form), headers=headers)


def messages(twiml: str) -> list[str]:
    import xml.etree.ElementTree as ET

    return [m.text or "" for m in ET.fromstring(twiml).iter("Message")]


# --- Telegram ---
def test_telegram_text_gets_the_answer_with_a_keyboard(service, telegram_api):
    assert post_update(service, text_update(1, 77, "how do i stop marketing calls")).status_code == 200
    (sent,) = telegram_api.calls("sendMessage")
    assert int(sent["chat_id"]) == 77 and "3627" in sent["text"]
    buttons = [row[0] for row in sent["reply_markup"]["inline_keyboard"]]
    assert buttons[0]["callback_data"] == "more:stop_marketing_calls" and buttons[0]["text"] == "More"
    assert buttons[1]["callback_data"] == "complain_pta" and buttons[1]["text"]


def test_telegram_keeps_no_chat_or_user_ids_in_memory(tmp_path, telegram_api):
    """python-telegram-bot notes each chat and user id for a persistence we do not use; left
    alone, the ids of everyone who ever wrote stayed in memory (a leak, and personal)."""
    port = free_port()
    app = create_app(make_settings(tmp_path, telegram_api, port))
    with serve_asgi(app, port) as url, httpx.Client(base_url=url, timeout=20) as client:
        for n in range(30):
            assert post_update(client, text_update(n, 5000 + n, "hi")).status_code == 200
        assert len(telegram_api.calls("sendMessage")) >= 30
        ptb = app.state.telegram.app
        assert ptb._chat_ids_to_be_updated_in_persistence == set()
        assert ptb._user_ids_to_be_updated_in_persistence == set()


@pytest.mark.parametrize("secret", [None, "", "wrong-secret"])
def test_telegram_refuses_missing_or_wrong_secret(service, telegram_api, secret):
    assert post_update(service, text_update(2, 77, "hi"), secret=secret).status_code == 403
    assert telegram_api.calls("sendMessage") == []


def test_telegram_duplicate_update_is_answered_once(service, telegram_api):
    update = text_update(3, 77, "hi")
    assert post_update(service, update).status_code == 200
    assert post_update(service, update).status_code == 200
    assert len(telegram_api.calls("sendMessage")) == 1


def test_telegram_button_is_acknowledged_and_handled_like_the_option(service, telegram_api):
    post_update(service, button_update(4, 77, "sim_check"))
    assert telegram_api.calls("answerCallbackQuery")[0]["callback_query_id"] == "cb4"
    (sent,) = telegram_api.calls("sendMessage")
    assert "668" in sent["text"]


@pytest.mark.parametrize(("command", "expected"), [
    ("/start", "delete my data"), ("/help", "PTA"), ("/privacy", "30 days"),
    ("/delete", "Delete?"), ("/language", "English"),
])
def test_telegram_commands(service, telegram_api, command, expected):
    post_update(service, text_update(5, 77, command))
    (sent,) = telegram_api.calls("sendMessage")
    payload = sent["text"] + json.dumps(sent.get("reply_markup", {}))
    assert expected.lower() in payload.lower()


def test_telegram_start_greets_in_the_language_of_the_persons_app(service, telegram_api):
    update = text_update(8, 78, "/start")
    update["message"]["from"]["language_code"] = "ur"
    post_update(service, update)
    (greeting,) = telegram_api.calls("sendMessage")
    assert sum("\u0600" <= c <= "\u06ff" for c in greeting["text"]) > 20, greeting["text"]
    post_update(service, text_update(9, 78, "how do i stop marketing calls"))  # then they write
    assert "3627" in telegram_api.calls("sendMessage")[1]["text"]
    assert "register" in telegram_api.calls("sendMessage")[1]["text"].lower()


def test_telegram_urdu_round_trip(service, telegram_api):
    post_update(service, text_update(6, 77, "مارکیٹنگ کالز کیسے بند کروں"))
    (sent,) = telegram_api.calls("sendMessage")
    assert "پی ٹی اے" in sent["text"] and "3627" in sent["text"]


def test_telegram_sensitive_message_is_deleted(service, telegram_api):
    post_update(service, text_update(7, 77, "my otp is 482913"))
    assert telegram_api.calls("deleteMessage")[0]["message_id"] in (7, "7")
    assert "never send" in telegram_api.calls("sendMessage")[0]["text"].lower()


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"no_update_id": 1}', b'{"update_id": "x"}',
                                  b"{" * 5000 + b"}" * 5000, b'{"update_id": 9, "message": 5}'])
def test_telegram_malformed_bodies_get_400(service, telegram_api, body):
    response = service.post("/telegram", content=body,
                            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "content-type": "application/json"})
    assert response.status_code == 400


def test_oversized_bodies_get_413(service):
    big = b"x" * (65 * 1024)
    assert service.post("/telegram", content=big, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}).status_code == 413
    assert service.post("/whatsapp", content=big).status_code == 413


def test_rate_limit_notice_once_then_silence(service, telegram_api):
    for n in range(23):
        assert post_update(service, text_update(100 + n, 55, "hi")).status_code == 200
    sent = [m["text"] for m in telegram_api.calls("sendMessage")]
    assert len(sent) == 21 and "wait a minute" in sent[-1]
    post_update(service, text_update(200, 56, "hi"))  # someone else is not limited
    assert len(telegram_api.calls("sendMessage")) == 22


def test_long_replies_are_split_at_paragraphs(tmp_path, telegram_api):
    import shutil

    from bot.content.load import DEFAULT_DIR

    content = tmp_path / "intents"
    shutil.copytree(DEFAULT_DIR, content)
    path = content / "thanks.yaml"
    paragraph = "Stay safe online. " * 50
    long_answer = "\n\n".join([paragraph.strip()] * 8)
    text = path.read_text(encoding="utf-8")
    import yaml

    data = yaml.safe_load(text)
    data["answer"]["en"] = long_answer
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    port = free_port()
    settings = make_settings(tmp_path, telegram_api, port, content_dir=content)
    with serve_asgi(create_app(settings), port) as url, httpx.Client(base_url=url) as client:
        post_update(client, text_update(8, 77, "thank you so much"))
        parts = [m["text"] for m in telegram_api.calls("sendMessage")]
        assert len(parts) == 2 and all(len(p) <= 4096 for p in parts)
        assert all(p.endswith("online.") for p in parts)
        assert "\n\n".join(parts) == long_answer
        reply = whatsapp(client, "thank you so much")
        parts = messages(reply.text)
        assert len(parts) >= 3 and all(len(p) <= 1600 for p in parts)


# --- WhatsApp ---
def test_whatsapp_answer_with_numbered_options_and_pick_by_number(service):
    reply = whatsapp(service, "how do i stop marketing calls", sid="SMa")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/xml")
    (text,) = messages(reply.text)
    assert "3627" in text and "\n1. More" in text and "Reply with a number: 1, 2, 3 or 4" in text
    (picked,) = messages(whatsapp(service, "2", sid="SMb").text)
    assert "0800-55055" in picked  # option 2 was complaining to PTA (1 is the rest of the answer)


@pytest.mark.parametrize("signature", [None, "", "bad"])
def test_whatsapp_refuses_bad_signature(service, signature):
    form = {"MessageSid": "SMx", "From": "whatsapp:+923001234567", "Body": "hi"}
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    assert service.post("/whatsapp", content=urlencode(form), headers=headers).status_code == 403


def test_whatsapp_signature_is_over_the_public_url_not_ours(service):
    form = {"MessageSid": "SMy", "From": "whatsapp:+923001234567", "Body": "hi"}
    local = RequestValidator(AUTH).compute_signature(str(service.base_url) + "/whatsapp", form)
    response = service.post("/whatsapp", content=urlencode(form), headers={
        "content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": local})
    assert response.status_code == 403


def test_whatsapp_rate_limit_notice_on_the_21st_then_silence(service):
    answered = [messages(whatsapp(service, "hi", sid=f"SMlimit{n:04d}", sender="whatsapp:+923001110000").text)
                for n in range(22)]
    assert all(answered[:20]) and "wait a minute" in answered[20][0] and answered[21] == []


def test_whatsapp_duplicate_sid_answered_once(service):
    assert messages(whatsapp(service, "hi", sid="SMdup").text)
    again = whatsapp(service, "hi", sid="SMdup")
    assert again.status_code == 200 and messages(again.text) == []


def test_whatsapp_media_only_gets_a_polite_answer(service):
    reply = whatsapp(service, "", sid="SMm", extra={"NumMedia": "1", "MediaUrl0": "https://x/y.jpg"})
    assert "text" in messages(reply.text)[0].lower()


def test_whatsapp_malformed_form_gets_400(service):
    form = {"Body": "hi"}  # no From, no MessageSid
    signature = RequestValidator(AUTH).compute_signature("https://bot.example.org/whatsapp", form)
    response = service.post("/whatsapp", content=urlencode(form), headers={
        "content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
    assert response.status_code == 400


def test_whatsapp_urdu_round_trip_and_number_never_stored(service, tmp_path):
    (text,) = messages(whatsapp(service, "مارکیٹنگ کالز کیسے بند کروں", sid="SMu").text)
    assert "پی ٹی اے" in text and "نمبر لکھ کر جواب دیں" in text
    dump = (tmp_path / "bot.db").read_bytes() + (tmp_path / "bot.db-wal").read_bytes()
    assert b"3001234567" not in dump


# --- the service ---
def test_channels_without_secrets_are_off(tmp_path, telegram_api):
    port = free_port()
    settings = make_settings(tmp_path, telegram_api, port, telegram_token="", twilio_auth_token="")
    with serve_asgi(create_app(settings), port) as url, httpx.Client(base_url=url) as client:
        assert client.post("/telegram", json=text_update(1, 1, "hi")).status_code == 404
        assert client.post("/whatsapp", data={"Body": "hi"}).status_code == 404
        assert client.get("/healthz").status_code == 200


def test_health_and_metrics(service, telegram_api):
    assert service.get("/healthz").text == "ok"
    post_update(service, text_update(9, 77, "hi"))
    post_update(service, text_update(9, 77, "hi"))
    post_update(service, text_update(10, 77, "hi"), secret="bad")
    whatsapp(service, "blah blah the weather tomorrow", sid="SMw")
    page = service.get("/metrics", headers={"Authorization": f"Bearer {METRICS}"}).text
    assert 'mehfooz_messages_total{channel="telegram",intent="greeting"} 1.0' in page
    assert 'mehfooz_outcomes_total{channel="telegram",outcome="duplicate"} 1.0' in page
    assert 'mehfooz_rejected_requests_total{channel="telegram",reason="bad_secret"} 1.0' in page
    assert 'mehfooz_fallbacks_total{channel="whatsapp"} 1.0' in page
    assert "mehfooz_latency_seconds_bucket" in page


# --- the command line against the local Bot API ---
def _cli_env(tmp_path, telegram_api):
    import os

    return {**os.environ, "BOT_DB": str(tmp_path / "cli.db"), "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram_api.url, "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "PUBLIC_URL": "https://bot.example.org"}


def test_polling_mode_deletes_webhook_and_answers(tmp_path, telegram_api):
    import signal
    import subprocess
    import sys

    from tests.conftest import ROOT

    telegram_api.queue_update(text_update(1, 88, "mera whatsapp hack ho gaya"))
    process = subprocess.Popen([sys.executable, "-m", "bot", "telegram"], cwd=ROOT,
                               env=_cli_env(tmp_path, telegram_api), stderr=subprocess.PIPE, text=True)
    try:
        sent = telegram_api.wait_for("sendMessage", timeout=30)
        assert sent and int(sent[0]["chat_id"]) == 88 and "whatsapp" in sent[0]["text"].lower()
        assert telegram_api.calls("deleteWebhook")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_set_webhook_registers_public_url_with_secret(tmp_path, telegram_api):
    import subprocess
    import sys

    from tests.conftest import ROOT

    result = subprocess.run([sys.executable, "-m", "bot", "telegram", "set-webhook"], cwd=ROOT,
                            env=_cli_env(tmp_path, telegram_api), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    (call,) = telegram_api.calls("setWebhook")
    assert call["url"] == "https://bot.example.org/telegram" and call["secret_token"] == SECRET


# --- the person's own number, as each channel verifies it ---
def test_whatsapp_checks_the_senders_own_number(service):
    twiml = whatsapp(service, "was my number leaked", sid="SMnum1").text
    assert "your number was not found in the breaches we know" in messages(twiml)[0]


def test_telegram_asks_for_the_contact_and_checks_only_the_own_one(service, telegram_api):
    post_update(service, text_update(70, 91, "was my number leaked"))
    (ask,) = telegram_api.wait_for("sendMessage", 1)
    assert ask["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    post_update(service, contact_update(71, 91, "+923001234567", contact_user_id=91))
    post_update(service, contact_update(72, 91, "+923007654321", contact_user_id=12345))
    post_update(service, contact_update(73, 91, "+923007654321", contact_user_id=None))
    sent = telegram_api.wait_for("sendMessage", 4)
    assert "your number was not found" in sent[1]["text"]
    assert all("not your own Telegram account" in s["text"] for s in sent[2:4])


def test_whatsapp_twiml_is_the_document_twilios_messaging_response_writes():
    from twilio.twiml.messaging_response import MessagingResponse

    from bot.channels.render import numbered, split
    from bot.channels.whatsapp import _NOT_XML, MAX_MESSAGE, twiml
    from bot.dialogue.core import Outcome
    from bot.dialogue.messages import Option, Reply

    texts = ["a & b < c > d \" ' ]]> \r\n\tx", "مارکیٹنگ کالز کیسے بند کروں؟ 3627", "bad \x00\x0b char",
             ("long paragraph " * 80 + "\n\n") * 3]
    replies = [Reply(text, (Option("Complain <to> PTA & co", "pta"),), "Reply 1", "en", "x", {})
               for text in texts]
    for outcome in (Outcome(replies, "answered"), Outcome(replies[:1], "answered"), Outcome([], "duplicate")):
        expected = MessagingResponse()
        for reply in outcome.replies:
            for part in split(_NOT_XML.sub("", numbered(reply)), MAX_MESSAGE):
                expected.message(part)
        assert twiml(outcome) == str(expected)


def test_whatsapp_signature_with_or_without_the_port_and_only_over_the_form_sent():
    from bot.channels.whatsapp import WhatsAppChannel

    channel = WhatsAppChannel.__new__(WhatsAppChannel)
    channel.validator, channel.public_url = RequestValidator(AUTH), "https://bot.example.org"
    form = {"MessageSid": message_sid("SMport"), "From": "whatsapp:+923001234567", "Body": "hi & bye"}
    for url in ("https://bot.example.org/whatsapp", "https://bot.example.org:443/whatsapp"):
        assert channel.signed("/whatsapp", "", form, RequestValidator(AUTH).compute_signature(url, form))
    signature = RequestValidator(AUTH).compute_signature("https://bot.example.org/whatsapp", form)
    assert not channel.signed("/whatsapp", "", {**form, "Body": "hi"}, signature)
    assert not channel.signed("/whatsapp", "", form, "")
    assert not channel.signed("/whatsapp", "", form, "é" + signature[1:])  # a hostile header: no error
    assert not channel.signed("/whatsapp", "", form, RequestValidator("other").compute_signature(
        "https://bot.example.org/whatsapp", form))
