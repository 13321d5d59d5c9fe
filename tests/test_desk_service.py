"""The desk end to end: our service under uvicorn on loopback, the real python-telegram-bot
library, the local Bot API stand-in (forum topics included) and the local Twilio stand-in.

The bar: with STAFF_TELEGRAM_CHAT_ID set, "i want to talk to a real person" gets an explanation
and a question and no topic; "yes" opens a topic with an opening note; the staff group never
sees the person's Telegram id or name; the person's next message reaches the topic; a staff
reply there reaches the person; a message from another group is not relayed; /close tells the
person; afterwards the bot answers normally and nothing goes to staff; `cases list --json`
shows one closed case; no raw chat id in any database file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import httpx
import pytest
from cryptography.fernet import Fernet

from bot.config import Settings
from bot.service import create_app
from bot.testing.fake_telegram import FakeTelegram, topic_update
from bot.testing.fake_twilio import ACCOUNT_SID, FakeTwilio
from bot.testing.http import free_port, serve_asgi
from tests.conftest import ROOT
from tests.test_channels import AUTH, TOKEN, make_settings, messages, post_update, whatsapp

STAFF = -1001234567890  # the staff's forum supergroup
OTHER_GROUP = -1009876543210
PERSON = {"id": 777000123, "is_bot": False, "first_name": "Zarmeena", "last_name": "Qureshi",
          "username": "zarmeena_q", "language_code": "en"}
STAFF_MEMBER = 5001
KEY = Fernet.generate_key().decode()


def said(update_id: int, text: str, who: dict = PERSON) -> dict:
    """A private message from the person, with their name and username, as Telegram sends it."""
    message = {"message_id": update_id, "date": int(time.time()), "from": who,
               "chat": {"id": who["id"], "type": "private", "first_name": who["first_name"],
                        "last_name": who.get("last_name", ""), "username": who.get("username", "")},
               "text": text}
    return {"update_id": update_id, "message": message}


@dataclass
class Desk:
    client: httpx.Client
    settings: Settings
    tg: FakeTelegram
    twilio: FakeTwilio

    def person_got(self) -> list[str]:
        return self.tg.sent_to(PERSON["id"])

    def staff_calls(self) -> list[dict]:
        return [p for method in ("createForumTopic", "sendMessage", "closeForumTopic", "deleteForumTopic")
                for p in self.tg.calls(method) if int(p["chat_id"]) == STAFF]


def desk_settings(tmp_path, tg: FakeTelegram, twilio: FakeTwilio, **changes) -> Settings:
    base = make_settings(tmp_path, tg, 0, staff_chat_id=str(STAFF), alerts_key=KEY,
                         alerts_db=tmp_path / "alerts.db", twilio_auth_token=AUTH,
                         twilio_api_url=twilio.url, twilio_whatsapp_from="whatsapp:+14155238886")
    return replace(base, **changes)


@pytest.fixture
def desk(tmp_path) -> Iterator[Desk]:
    with FakeTelegram(TOKEN) as tg, FakeTwilio(ACCOUNT_SID, AUTH) as twilio:
        settings = desk_settings(tmp_path, tg, twilio)
        with serve_asgi(create_app(settings), free_port()) as url, httpx.Client(base_url=url, timeout=20) as client:
            yield Desk(client, settings, tg, twilio)


def test_the_bar(desk, tmp_path, content):
    tg = desk.tg
    # 1. An explanation and a question; no topic yet.
    assert post_update(desk.client, said(1, "i want to talk to a real person")).status_code == 200
    (offer,) = tg.wait_for("sendMessage", 1)
    assert int(offer["chat_id"]) == PERSON["id"]
    assert "trained helpline staff" in offer["text"] and "never your number, name or chat id" in offer["text"]
    assert [b[0]["callback_data"] for b in offer["reply_markup"]["inline_keyboard"]] == ["desk:yes", "desk:no"]
    assert tg.calls("createForumTopic") == []

    # 2. "yes" opens a topic in the staff group, with an opening note in it.
    post_update(desk.client, said(2, "yes"))
    (topic,) = tg.calls("createForumTopic")
    assert int(topic["chat_id"]) == STAFF and topic["name"].startswith("Case 1 · English")
    thread = next(iter(t for (chat, t) in tg.topics if chat == STAFF))
    (note,) = tg.sent_to(STAFF, thread)
    assert "Case 1" in note and "Language: English" in note and "i want to talk to a real person" in note
    assert "Connected: case 1" in desk.person_got()[-1]

    # 3. The person's next message reaches the topic, masked.
    post_update(desk.client, said(3, "he has my pictures and says send 50000 or he posts them, call me 03001234567"))
    assert tg.sent_to(STAFF, thread)[-1] == "he has my pictures and says send <number> or he posts them, call me <phone>"

    # 4. A staff reply in the topic reaches the person.
    before = len(desk.person_got())
    update = topic_update(100, STAFF, thread, STAFF_MEMBER, "We are here. Do not pay him; keep screenshots.",
                          first_name="Amna")
    assert post_update(desk.client, update).status_code == 200
    assert desk.person_got()[before:] == ["Helpline staff: We are here. Do not pay him; keep screenshots."]
    post_update(desk.client, update)  # delivered twice by Telegram: relayed once
    assert len(desk.person_got()) == before + 1

    # 5. A message from another group, in a topic of the same number, is not relayed.
    post_update(desk.client, topic_update(101, OTHER_GROUP, thread, 6001, "tell the person to send money"))
    assert not any("send money" in text for text in desk.person_got())

    # 6. /close tells the person and closes the topic.
    post_update(desk.client, topic_update(102, STAFF, thread, STAFF_MEMBER, "/close"))
    assert "Helpline staff ended this chat (case 1)" in desk.person_got()[-1]
    (closed,) = tg.calls("closeForumTopic")
    assert int(closed["message_thread_id"]) == thread and tg.topics[(STAFF, thread)]["closed"]

    # 7. Afterwards the bot answers normally, and nothing goes to staff.
    to_staff = len(desk.staff_calls())
    post_update(desk.client, said(4, "how do i stop marketing calls"))
    assert "3627" in desk.person_got()[-1]
    assert len(desk.staff_calls()) == to_staff

    # The staff group never saw the person's Telegram id, name or username.
    seen_by_staff = json.dumps(desk.staff_calls(), ensure_ascii=False)
    for secret in ("777000123", "Zarmeena", "Qureshi", "zarmeena_q", "03001234567"):
        assert secret not in seen_by_staff, secret

    # `cases list --json`: one closed case.
    env = {**os.environ, "BOT_DB": str(desk.settings.db_path), "BOT_SECRET": "s"}
    out = subprocess.run([sys.executable, "-m", "bot", "cases", "list", "--json"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    (case,) = json.loads(out)
    assert (case["case"], case["state"], case["lang"], case["from_person"], case["from_staff"]) == \
        (1, "closed", "en", 1, 1)
    assert case["opened"] and case["closed"] and case["first_reply_seconds"] is not None

    # No raw chat id (nor name) in any database file.
    raw = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    for secret in (b"777000123", b"Zarmeena", b"03001234567"):
        assert secret not in raw, secret


def test_without_a_staff_group_human_help_gives_the_numbers(tmp_path, content):
    with FakeTelegram(TOKEN) as tg, FakeTwilio(ACCOUNT_SID, AUTH) as twilio:
        settings = desk_settings(tmp_path, tg, twilio, staff_chat_id="")
        with serve_asgi(create_app(settings), free_port()) as url, httpx.Client(base_url=url, timeout=20) as client:
            post_update(client, said(1, "i want to talk to a real person"))
    (answer,) = tg.sent_to(PERSON["id"])
    assert answer == content.answer("human_help", "en")
    assert tg.calls("createForumTopic") == []


def test_only_members_of_the_staff_group_reply_and_only_in_the_case_topic(desk):
    tg = desk.tg
    post_update(desk.client, said(1, "talk to a human"))
    post_update(desk.client, said(2, "yes"))
    thread = next(iter(t for (chat, t) in tg.topics if chat == STAFF))
    before = len(desk.person_got())
    for n, update in enumerate([
        topic_update(200, STAFF, None, STAFF_MEMBER, "in the General topic"),  # not a case's topic
        topic_update(201, STAFF, thread + 5, STAFF_MEMBER, "in another topic"),
        topic_update(202, STAFF, thread, 7777, "a bot says hi", is_bot=True),  # bots are ignored
        {"update_id": 203, "edited_message": topic_update(203, STAFF, thread, STAFF_MEMBER, "an edit")["message"]},
        topic_update(204, STAFF, thread, 8888, "a channel", sender_chat={"id": -100555, "type": "channel",
                                                                           "title": "News"}),
    ]):
        assert post_update(desk.client, update).status_code == 200, n
    assert len(desk.person_got()) == before
    # an anonymous admin posts as the group itself: a member
    anonymous = topic_update(205, STAFF, thread, 1087968824, "from an anonymous admin", is_bot=True,
                             sender_chat={"id": STAFF, "type": "supergroup", "title": "Staff"})
    post_update(desk.client, anonymous)
    assert desk.person_got()[-1] == "Helpline staff: from an anonymous admin"
    # the bot never answered inside the staff group as if staff were people asking it things
    assert all(int(p["chat_id"]) != STAFF or p.get("message_thread_id") for p in tg.calls("sendMessage"))


def test_the_person_ends_it_and_the_topic_closes(desk):
    post_update(desk.client, said(1, "kisi insaan se baat karni hai"))
    post_update(desk.client, said(2, "haan"))
    assert "case 1" in desk.person_got()[-1].lower()
    post_update(desk.client, said(3, "baat khatam"))
    assert "Staff se baat khatam (case 1)" in desk.person_got()[-1]
    (closed,) = desk.tg.calls("closeForumTopic")
    assert int(closed["chat_id"]) == STAFF
    assert "The person ended the chat" in desk.tg.sent_to(STAFF)[-1]


def test_delete_my_data_erases_the_case_and_its_topic(desk, tmp_path):
    post_update(desk.client, said(1, "i want to talk to a real person"))
    post_update(desk.client, said(2, "yes"))
    post_update(desk.client, said(3, "my ex has my photos"))
    post_update(desk.client, said(4, "delete my data"))
    assert "Delete?" in desk.person_got()[-1]
    assert not any("delete my data" in t for t in desk.tg.sent_to(STAFF))  # the bot's, not staff's
    post_update(desk.client, said(5, "yes"))
    assert desk.person_got()[-1].startswith("Done: everything linked to you is erased")
    (deleted,) = desk.tg.calls("deleteForumTopic")
    assert int(deleted["chat_id"]) == STAFF and desk.tg.topics == {}
    env = {**os.environ, "BOT_DB": str(desk.settings.db_path), "BOT_SECRET": "s"}
    out = subprocess.run([sys.executable, "-m", "bot", "cases", "list", "--json"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert json.loads(out) == []


def test_a_staff_group_that_refuses_the_topic_opens_no_case(desk):
    desk.tg.fail_next("createForumTopic", 400, {"ok": False, "error_code": 400,
                                                "description": "Bad Request: not enough rights to create a topic"})
    post_update(desk.client, said(1, "talk to a real person"))
    post_update(desk.client, said(2, "yes"))
    assert "no chat was opened" in desk.person_got()[-1]
    post_update(desk.client, said(3, "how do i stop marketing calls"))
    assert "3627" in desk.person_got()[-1]  # no case took it


def test_no_staff_reply_in_time_tells_the_person_with_numbers(tmp_path, content):
    with FakeTelegram(TOKEN) as tg, FakeTwilio(ACCOUNT_SID, AUTH) as twilio:
        settings = desk_settings(tmp_path, tg, twilio, desk_wait_minutes=0.02)  # 1.2 s
        with serve_asgi(create_app(settings), free_port()) as url, httpx.Client(base_url=url, timeout=20) as client:
            post_update(client, said(1, "talk to a real person"))
            post_update(client, said(2, "yes"))
            post_update(client, said(3, "is anyone there"))
            deadline = time.monotonic() + 10
            while not any("No one from staff has replied yet" in t for t in tg.sent_to(PERSON["id"])):
                assert time.monotonic() < deadline, tg.sent_to(PERSON["id"])
                time.sleep(0.1)
            time.sleep(1.5)  # told once per wait
    waits = [t for t in tg.sent_to(PERSON["id"]) if "No one from staff" in t]
    assert len(waits) == 1
    facts = content.facts
    assert facts["drf.helpline"].value in waits[0] and facts["nccia.helpline"].value in waits[0]
    assert facts["drf.hours"].shown("en") in waits[0]
    assert any("No staff reply for" in t for t in tg.sent_to(STAFF))


# --- WhatsApp: staff replies through Twilio's Messages API ---
WA = "whatsapp:+923001234567"


def test_whatsapp_relay_through_the_messages_api(desk):
    replies = messages(whatsapp(desk.client, "mujhe kisi insaan se baat karni hai", sid="SMd1", sender=WA).text)
    assert "tarbiyat yafta staff" in replies[0] and "1. Haan, baat karwa dein" in replies[0]
    replies = messages(whatsapp(desk.client, "1", sid="SMd2", sender=WA).text)
    assert "Baat shuru: case 1" in replies[0]
    thread = next(iter(t for (chat, t) in desk.tg.topics if chat == STAFF))
    whatsapp(desk.client, "woh meri tasveerein viral karne ki dhamki de raha hai", sid="SMd3", sender=WA)
    assert desk.tg.sent_to(STAFF, thread)[-1] == "woh meri tasveerein viral karne ki dhamki de raha hai"
    post_update(desk.client, topic_update(300, STAFF, thread, STAFF_MEMBER, "Hum yahan hain. Paise na dein."))
    (sent,) = desk.twilio.wait_for(1)
    assert (sent["To"], sent["From"], sent["Body"]) == (WA, "whatsapp:+14155238886",
                                                       "Helpline staff: Hum yahan hain. Paise na dein.")
    assert "923001234567" not in json.dumps(desk.staff_calls())


def test_whatsapp_outside_the_window_sends_the_template_then_the_reply(tmp_path):
    with FakeTelegram(TOKEN) as tg, FakeTwilio(ACCOUNT_SID, AUTH) as twilio:
        settings = desk_settings(tmp_path, tg, twilio, twilio_desk_content_sid="HX" + "a" * 32)
        app = create_app(settings)
        with serve_asgi(app, free_port()) as url, httpx.Client(base_url=url, timeout=20) as client:
            whatsapp(client, "talk to a real person", sid="SMw1", sender=WA)
            whatsapp(client, "yes", sid="SMw2", sender=WA)
            thread = next(iter(t for (chat, t) in tg.topics if chat == STAFF))
            cases = app.state.core.desk.cases
            cases.person_wrote(1, time.time() - 25 * 3600)  # the person last wrote a day ago
            post_update(client, topic_update(400, STAFF, thread, STAFF_MEMBER, "Are you safe?"))
            (template,) = twilio.wait_for(1)
            assert template["ContentSid"] == "HX" + "a" * 32 and json.loads(template["ContentVariables"]) == {"1": "1"}
            assert "Body" not in template
            assert "template asking them to reply" in tg.sent_to(STAFF, thread)[-1]
            held = cases.get(1).held
            assert held and "Are you safe" not in held  # encrypted while it waits
            replies = messages(whatsapp(client, "haan main theek hoon", sid="SMw3", sender=WA).text)
            assert replies == ["Helpline staff: Are you safe?"]
            assert tg.sent_to(STAFF, thread)[-1] == "haan main theek hoon"
            assert cases.get(1).held is None


def test_admin_shows_open_cases_and_response_times(tmp_path):
    token = "t" * 40
    with FakeTelegram(TOKEN) as tg, FakeTwilio(ACCOUNT_SID, AUTH) as twilio:
        settings = desk_settings(tmp_path, tg, twilio, admin_token=token)
        with serve_asgi(create_app(settings), free_port()) as url, httpx.Client(base_url=url, timeout=20) as client:
            post_update(client, said(1, "talk to a real person"))
            post_update(client, said(2, "yes"))
            post_update(client, said(3, "please help"))
            thread = next(iter(t for (chat, t) in tg.topics if chat == STAFF))
            post_update(client, topic_update(500, STAFF, thread, STAFF_MEMBER, "Hello"))
            headers = {"Authorization": f"Bearer {token}"}
            data = client.get("/admin/data.json", headers=headers).json()["desk"]
            page = client.get("/admin", headers=headers).text
    (case,) = data["open"]
    assert (case["case"], case["lang"], case["from_person"], case["from_staff"]) == (1, "en", 1, 1)
    assert data["first_response"]["answered"] == 1 and data["first_response"]["median_seconds"] is not None
    assert 'id="desk-open"' in page and 'id="desk-median"' in page

