"""The Messages API client against the local fake of Twilio's REST API."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.channels.twilio_api import TwilioApi, TwilioError
from bot.testing.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio


def test_a_message_is_sent_with_basic_auth_and_a_template_carries_its_variables() -> None:
    with FakeTwilio() as fake:
        api = TwilioApi(ACCOUNT_SID, AUTH_TOKEN, "whatsapp:+14155550100", fake.url)
        sid = asyncio.run(api.send("whatsapp:+923001234567", "hello"))
        asyncio.run(api.send("whatsapp:+923001234567", content_sid="HX" + "1" * 32, variables={"1": "X"}))
    assert sid.startswith("SM")
    assert fake.messages[0] == {"To": "whatsapp:+923001234567", "From": "whatsapp:+14155550100", "Body": "hello"}
    assert fake.messages[1]["ContentSid"] == "HX" + "1" * 32 and fake.messages[1]["ContentVariables"] == '{"1": "X"}'


def test_refusals_say_whether_to_retry() -> None:
    with FakeTwilio() as fake:
        api = TwilioApi(ACCOUNT_SID, AUTH_TOKEN, "whatsapp:+14155550100", fake.url)
        fake.fail_next(429)
        with pytest.raises(TwilioError) as busy:
            asyncio.run(api.send("whatsapp:+923001234567", "x"))
        wrong = TwilioApi(ACCOUNT_SID, "wrong", "whatsapp:+14155550100", fake.url)
        with pytest.raises(TwilioError) as refused:
            asyncio.run(wrong.send("whatsapp:+923001234567", "x"))
    assert busy.value.retry and busy.value.status == 429
    assert not refused.value.retry and refused.value.status == 401
    assert fake.messages == []


def test_media_is_served_through_the_documented_redirect() -> None:
    with FakeTwilio() as fake:
        url = fake.add_media(b"\x89PNG...", "image/png")
        with httpx.Client(auth=(ACCOUNT_SID, AUTH_TOKEN), follow_redirects=True) as client:
            response = client.get(url)
        assert httpx.get(url).status_code == 401  # the API itself wants auth
    assert response.content == b"\x89PNG..." and response.headers["content-type"] == "image/png"
    assert response.history[0].status_code == 307
