"""Pictures, voice notes and locations over both webhooks, end to end: our service under
uvicorn on loopback, the real python-telegram-bot and twilio libraries, the local Bot API
(`getFile` and the file download) and the local Twilio Media API (basic auth and the 307 to
its media store), the real Tesseract in the worker pool."""

from __future__ import annotations

import io
import itertools
import sqlite3
from contextlib import closing
from dataclasses import replace

import httpx
import pytest

from bot.channels.media import MediaReader
from bot.content.load import load_content
from bot.service import create_app
from bot.testing.fake_telegram import FakeTelegram, message_update, photo_update, text_update
from bot.testing.fake_twilio import FakeTwilio
from bot.testing.http import free_port, serve_asgi
from bot.testing.screenshots import OTP_NOTICE, SCAM_EN, SCAM_UR, fonts_available, screenshot
from bot.understanding import ocr
from bot.understanding.scam import default_rules
from tests.test_channels import AUTH, TOKEN, make_settings, messages, post_update, whatsapp

needs_ocr = pytest.mark.skipif(
    not (ocr.available() and fonts_available()),
    reason="needs tesserocr, tesseract-ocr-eng, tesseract-ocr-urd and fonts-noto-core (.ci/run installs them)",
)
READ = {"en": "I read this in your picture", "ur": "آپ کی تصویر میں میں نے یہ پڑھا"}


def verdict_text(verdict: str, lang: str = "en") -> str:
    return default_rules().describe(verdict, lang)


# One service (and one OCR pool) for the module: starting them is most of a test's time.
@pytest.fixture(scope="module")
def telegram_api():
    with FakeTelegram(TOKEN) as fake:
        yield fake


@pytest.fixture(scope="module")
def twilio_api():
    with FakeTwilio(auth_token=AUTH) as fake:
        yield fake


@pytest.fixture(scope="module")
def service(tmp_path_factory, telegram_api, twilio_api):
    port = free_port()
    settings = make_settings(tmp_path_factory.mktemp("media"), telegram_api, port, rate_per_minute=10_000,
                             twilio_api_url=twilio_api.url, twilio_account_sid=twilio_api.account_sid)
    with serve_asgi(create_app(settings), port) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client


@pytest.fixture(autouse=True)
def fresh_records(telegram_api, twilio_api):
    """Each test sees only the calls it caused."""
    with telegram_api.lock:
        telegram_api.log.clear()
        telegram_api.answered.clear()
        telegram_api.downloads.clear()
    with twilio_api.lock:
        twilio_api.fetched.clear()


_ids = itertools.count(1000)


def send_photo(client, telegram_api, update_id, png, caption=None, user=77):
    update_id = next(_ids)
    file_id = telegram_api.add_file(png)
    update = photo_update(update_id, user, file_id, (1080, 2400), len(png), caption)
    before = len(telegram_api.calls("sendMessage"))
    assert post_update(client, update).status_code == 200
    return "\n\n".join(call["text"] for call in telegram_api.calls("sendMessage")[before:])


def send_media(client, twilio_api, sid, data, content_type="image/png", body="", url=None,
               sender="whatsapp:+923001234567"):
    media_url = url or twilio_api.add_media(data, content_type)
    sid = f"{sid}-{next(_ids)}"
    response = whatsapp(client, body, sid=sid, sender=sender, extra={
        "NumMedia": "1", "MediaUrl0": media_url, "MediaContentType0": content_type})
    assert response.status_code == 200
    return "\n".join(messages(response.text))


# --- Telegram ---
@needs_ocr
@pytest.mark.parametrize(("picture", "lang", "verdict"), [
    (lambda: screenshot(SCAM_EN), "en", "likely_scam"),
    (lambda: screenshot(SCAM_EN, dark=True), "en", "likely_scam"),
    (lambda: screenshot(SCAM_UR, lang="ur"), "ur", "likely_scam"),
    (lambda: screenshot(OTP_NOTICE), "en", "real_code"),
], ids=["en-light", "en-dark", "ur", "otp"])
def test_telegram_photo_is_fetched_read_and_checked(service, telegram_api, picture, lang, verdict):
    # An Urdu screenshot from someone new sets their language: keep it to one person.
    text = send_photo(service, telegram_api, 10, picture(), user=79 if lang == "ur" else 77)
    expected = load_content().text("scam_real_code", lang) if verdict == "real_code" else verdict_text(verdict, lang)
    assert READ[lang] in text and expected in text
    (got,) = telegram_api.calls("getFile")  # the largest size only, not the thumbnail
    assert not got["file_id"].endswith("-thumb")
    assert telegram_api.downloads == [f"photos/{got['file_id']}.jpg"]


@needs_ocr
def test_telegram_reply_shows_what_was_read_masked(service, telegram_api):
    text = send_photo(service, telegram_api, 11, screenshot(OTP_NOTICE))
    shown = text.split("\n\n")[0]
    assert "Easypaisa" in shown and "482913" not in shown and "<password>" in shown
    assert telegram_api.calls("deleteMessage")  # a picture with a code is deleted like a typed one


@needs_ocr
def test_telegram_image_document_is_read(service, telegram_api):
    png = screenshot(SCAM_EN, dark=True)
    file_id = telegram_api.add_file(png)
    update = message_update(next(_ids), 77, document={"file_id": file_id, "file_unique_id": "d1",
                                              "mime_type": "image/png", "file_size": len(png)})
    assert post_update(service, update).status_code == 200
    assert any(verdict_text("likely_scam") in call["text"] for call in telegram_api.calls("sendMessage"))


@needs_ocr
def test_telegram_caption_is_the_question(service, telegram_api):
    picture = screenshot("Hello, this is the number of our new shop. Please save it.")
    text = send_photo(service, telegram_api, 13, picture, caption="how do i stop marketing calls")
    assert READ["en"] in text and "3627" in text  # the caption's question is answered


@needs_ocr
def test_telegram_caption_does_not_hide_a_scam(service, telegram_api):
    text = send_photo(service, telegram_api, 14, screenshot(SCAM_EN), caption="how do i stop marketing calls")
    assert verdict_text("likely_scam") in text


def test_telegram_photo_over_the_limit_is_not_fetched(service, telegram_api):
    update = photo_update(next(_ids), 77, "huge", (4000, 9000), 6 * 1024 * 1024)
    update["message"]["photo"] = update["message"]["photo"][1:]  # no smaller size either
    assert post_update(service, update).status_code == 200
    assert "too large" in telegram_api.calls("sendMessage")[-1]["text"]
    assert telegram_api.calls("getFile") == [] and telegram_api.downloads == []


def test_telegram_broken_picture_gets_a_clear_answer(service, telegram_api):
    text = send_photo(service, telegram_api, 16, b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    assert "could not open that picture" in text


@pytest.mark.parametrize(("fields", "expected"), [
    ({"voice": {"file_id": "v1", "file_unique_id": "v1", "duration": 3}}, "voice notes"),
    ({"video": {"file_id": "v2", "file_unique_id": "v2", "width": 1, "height": 1, "duration": 1}}, "voice notes"),
    ({"sticker": {"file_id": "s1", "file_unique_id": "s1", "type": "regular", "width": 512, "height": 512,
                  "is_animated": False, "is_video": False}}, "stickers"),
    ({"location": {"latitude": 24.86, "longitude": 67.0}}, "did not keep it"),
], ids=["voice", "video", "sticker", "location"])
def test_telegram_other_attachments_get_a_short_answer(service, telegram_api, fields, expected):
    assert post_update(service, message_update(next(_ids), 77, **fields)).status_code == 200
    assert expected in telegram_api.calls("sendMessage")[-1]["text"]
    assert telegram_api.calls("getFile") == []


def test_telegram_voice_note_answer_is_in_the_persons_language(service, telegram_api):
    post_update(service, text_update(next(_ids), 78, "مارکیٹنگ کالز کیسے بند کروں"))
    post_update(service, message_update(next(_ids), 78, voice={"file_id": "v1", "file_unique_id": "v1", "duration": 3}))
    assert "وائس نوٹس" in telegram_api.calls("sendMessage")[-1]["text"]


# --- WhatsApp ---
@needs_ocr
@pytest.mark.parametrize(("picture", "content_type", "lang", "verdict"), [
    (lambda: screenshot(SCAM_EN), "image/png", "en", "likely_scam"),
    (lambda: screenshot(SCAM_EN, dark=True, fmt="JPEG"), "image/jpeg", "en", "likely_scam"),
    (lambda: screenshot(SCAM_UR, lang="ur", dark=True), "image/png", "ur", "likely_scam"),
    (lambda: screenshot(OTP_NOTICE, fmt="JPEG"), "image/jpeg", "en", "real_code"),
], ids=["en-light", "en-dark", "ur", "otp"])
def test_whatsapp_media_is_fetched_through_the_redirect_read_and_checked(
        service, twilio_api, picture, content_type, lang, verdict):
    sender = "whatsapp:+923005555555" if lang == "ur" else "whatsapp:+923001234567"
    text = send_media(service, twilio_api, "SMp1", picture(), content_type, sender=sender)
    expected = load_content().text("scam_real_code", lang) if verdict == "real_code" else verdict_text(verdict, lang)
    assert READ[lang] in text and expected in text
    media, stored = twilio_api.fetched  # the Media API with basic auth, then its media store
    assert "/Media/ME" in media and stored.startswith("/media-store/ME")


def test_whatsapp_media_url_elsewhere_is_never_fetched(service, twilio_api):
    with FakeTwilio(auth_token=AUTH) as elsewhere:
        url = elsewhere.add_media(screenshot(SCAM_EN) if fonts_available() else b"x", "image/png")
        text = send_media(service, twilio_api, "SMp2", b"", url=url)
        assert elsewhere.fetched == [] and twilio_api.fetched == []
    assert "could not open that picture" in text


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/", "file:///etc/passwd", "http://127.0.0.1:1/x",
    "{api}.evil.example/2010-04-01/x", "{api}@evil.example/2010-04-01/x", "ftp://{host}/2010-04-01/x",
    "{api}/../../etc/passwd", "", "not a url",
])
def test_only_urls_under_the_twilio_api_are_allowed(twilio_api, url):
    reader = MediaReader(twilio_api_url=twilio_api.url)
    host = twilio_api.url.removeprefix("http://")
    assert not reader.twilio_allowed(url.format(api=twilio_api.url, host=host))
    assert reader.twilio_allowed(twilio_api.add_media(b"x", "image/png"))
    assert MediaReader().twilio_allowed("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1")


def test_whatsapp_decompression_bomb_gets_a_clear_answer(service, twilio_api):
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG")  # 100 million pixels in ~20 KB
    text = send_media(service, twilio_api, "SMp3", out.getvalue())
    assert "too large" in text


def test_whatsapp_over_5_mb_is_not_read(service, twilio_api):
    text = send_media(service, twilio_api, "SMp4", b"\x89PNG" + b"\0" * (5 * 1024 * 1024))
    assert "too large" in text


@needs_ocr
def test_whatsapp_truncated_picture_gets_a_clear_answer(service, twilio_api):
    png = screenshot(SCAM_EN)
    text = send_media(service, twilio_api, "SMp5", png[: len(png) // 3])
    assert "could not open that picture" in text


@pytest.mark.parametrize(("content_type", "expected"), [
    ("audio/ogg", "voice notes"), ("video/mp4", "voice notes"), ("application/pdf", "files")])
def test_whatsapp_voice_video_and_files_get_a_short_answer(service, twilio_api, content_type, expected):
    text = send_media(service, twilio_api, f"SMv{content_type}", b"\0" * 100, content_type)
    assert expected in text and twilio_api.fetched == []


def test_whatsapp_location_gets_a_short_answer(service):
    response = whatsapp(service, "", sid="SMloc", extra={"Latitude": "24.86", "Longitude": "67.0"})
    assert "did not keep it" in messages(response.text)[0]


def test_whatsapp_voice_note_answer_is_in_roman_urdu(service, twilio_api):
    sender = "whatsapp:+923009999999"
    whatsapp(service, "marketing calls kese band karun", sid="SMr1", sender=sender)
    text = send_media(service, twilio_api, "SMr2", b"\0", "audio/ogg", sender=sender)
    assert "voice notes nahi sun sakta" in text


@needs_ocr
def test_a_read_picture_leaves_only_the_masked_scam_in_the_database(tmp_path, telegram_api, twilio_api):
    """What a picture said is kept only as the tipline keeps a scam with red flags (`/privacy`
    says so): masked, in its group; no link host, no number, and nowhere else."""
    port = free_port()
    settings = make_settings(tmp_path, telegram_api, port, twilio_api_url=twilio_api.url,
                             twilio_account_sid=twilio_api.account_sid)
    settings = replace(settings, watch_content=False)
    with serve_asgi(create_app(settings), port) as url, httpx.Client(base_url=url, timeout=60) as client:
        text = send_media(client, twilio_api, "SMdb", screenshot(SCAM_EN))
        assert "hbl-verify" not in text.split("\n\n")[0]  # what was read is shown back masked
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("bot.db*"))
    assert b"hbl-verify" not in raw
    with closing(sqlite3.connect(tmp_path / "bot.db")) as db:
        (kept,) = [text for (text,) in db.execute("SELECT text FROM scam_groups")]
        elsewhere = [line for line in db.iterdump() if not line.startswith('INSERT INTO "scam_groups"')]
    assert "HBL account" in kept and "<link>" in kept and "hbl-verify" not in kept
    assert not [line for line in elsewhere if "HBL" in line or "CNIC" in line]
