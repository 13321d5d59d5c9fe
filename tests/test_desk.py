"""The desk's conversation and records, in process: the real core over both state backends
(an SQLite file, and a real `redis-server` on loopback), the staff side driven through
`desk_flow.from_staff` as the Telegram adapter drives it. End to end over HTTP:
tests/test_desk_service.py; two workers on one Redis: tests/test_desk_redis.py."""

from __future__ import annotations

import datetime as dt
import inspect
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.content.check import FIRST_MESSAGE_MAX
from bot.dialogue import desk_flow
from bot.dialogue.core import Bot, Outcome
from bot.dialogue.desk import Desk, DeskConfig, StaffMessage, parse_hours
from bot.dialogue.messages import Incoming
from bot.state.cases import CaseStore, RedisCases, SqliteCases, case_store
from bot.state.sqlite_store import DAY, Store
from bot.testing.redis_server import RedisMissing, RedisServer, run_redis
from bot.understanding.normalise import LANGS
from tests.conftest import ROOT

SECRET = b"desk-secret"
ASK = {"en": "i want to talk to a real person", "roman_ur": "kisi insaan se baat karni hai",
       "ur": "کسی انسان سے بات کرنی ہے"}
YES = {"en": "yes", "roman_ur": "haan", "ur": "ہاں"}
END = {"en": "end chat", "roman_ur": "baat khatam", "ur": "بات ختم"}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    try:
        with run_redis() as server:
            yield server
    except RedisMissing as missing:
        pytest.skip(f"Redis backend not tested: {missing}")


@dataclass
class Person:
    bot: Bot
    desk: Desk
    clock: Clock
    channel: str = "telegram"
    user: str = "777000123"
    sent: int = 0
    topics: int = 1

    def say(self, text: str = "", **fields: str) -> Outcome:
        self.sent += 1
        outcome = self.bot.handle(Incoming(self.channel, self.user, text, message_id=f"m{self.sent}", **fields))
        self.bot.delivered(outcome)
        for post in outcome.staff:  # as the staff side does: an opened case gets its topic
            if post.kind == "open":
                self.topics += 1
                self.desk.cases.set_topic(post.case, str(self.topics))
        return outcome

    def staff(self, text: str, topic: str = "2", **flags: bool):  # noqa: ANN201
        self.sent += 1
        close = text == "/close"
        message = StaffMessage(topic, "" if close else text, f"u{self.sent}", close=close or flags.pop("close", False),
                               **flags)
        return desk_flow.from_staff(self.bot, message)


@pytest.fixture(params=["sqlite", "redis"])
def person(request, content, tmp_path) -> Iterator[Person]:
    if request.param == "sqlite":
        store = Store(tmp_path / "bot.db")
    else:
        import redis

        from bot.state.redis_store import RedisStore

        url = request.getfixturevalue("redis_server").url
        redis.Redis.from_url(url).flushdb()
        store = RedisStore(url)
    clock = Clock()
    desk = Desk(case_store(store), Fernet.generate_key().decode(), SECRET, DeskConfig(wait_minutes=10), clock)
    yield Person(Bot(content, store, SECRET, desk=desk), desk, clock)
    store.close()


def test_both_case_stores_have_every_method_with_its_signature():
    methods = [n for n, m in vars(CaseStore).items() if callable(m) and not n.startswith("_")]
    assert len(methods) >= 15
    for name in methods:
        expected = inspect.signature(getattr(CaseStore, name))
        for cls in (SqliteCases, RedisCases):
            assert inspect.signature(getattr(cls, name)) == expected, (cls.__name__, name)


def test_asking_first_then_a_case_only_on_yes(person):
    (offer,) = person.say(ASK["en"]).replies
    assert [o.value for o in offer.options] == ["desk:yes", "desk:no"]
    assert person.desk.cases.listing() == []  # nothing opened yet
    opened = person.say("yes")
    (post,) = opened.staff
    assert post.kind == "open" and post.title.startswith("Case 1 · English · ")
    assert "Asked before (masked): i want to talk to a real person" in post.text
    (case,) = person.desk.cases.listing()
    assert case.is_open and case.person != person.bot.store and person.user not in repr(case)
    assert person.desk.unseal(case.address) == person.user  # only with the key


def test_no_gives_the_numbers_and_opens_nothing(person, content):
    person.say(ASK["en"])
    (answer,) = person.say("no").replies
    assert answer.text == content.answer("human_help", "en")
    assert person.desk.cases.listing() == []


def test_the_offer_button_in_a_fraud_answer_leads_to_the_same_question(person):
    person.say("someone took money from my jazzcash account, where do i report")
    (offer,) = person.say(choice="human_help").replies
    assert [o.value for o in offer.options] == ["desk:yes", "desk:no"]
    (post,) = person.say(choice="desk:yes").staff
    assert "Asked before (masked): -" in post.text  # a button carries no question


@pytest.mark.parametrize("lang", LANGS)
def test_the_offer_says_what_staff_see_how_long_and_when_within_a_screen(content, tmp_path, lang):
    store = Store(tmp_path / "bot.db")
    config = DeskConfig(hours=parse_hours("09:00-17:00"))
    clock = Clock()
    clock.now = dt.datetime(2026, 12, 1, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=5))).timestamp()  # night
    bot = Bot(content, store, SECRET, desk=Desk(case_store(store), Fernet.generate_key().decode(), SECRET, config,
                                                clock))
    (offer,) = bot.respond(Incoming("telegram", "1", ASK[lang]))
    assert len(offer.text) <= FIRST_MESSAGE_MAX, len(offer.text)
    assert "09:00" in offer.text and "17:00" in offer.text and "30" in offer.text
    assert content.text("desk_out_now", lang) in offer.text
    said = {"en": ["never your number, name or chat id", "from now on"],
            "roman_ur": ["number, naam ya chat id kabhi nahi", "ab se"],
            "ur": ["نمبر، نام یا چیٹ آئی ڈی کبھی نہیں", "اب سے"]}[lang]
    assert all(p in offer.text for p in said)
    store.close()


def test_messages_go_to_staff_masked_and_the_person_is_warned(person):
    person.say(ASK["en"])
    person.say("yes")
    outcome = person.say("my cnic is 35202-1234567-1, card 4539 1488 0343 6467, otp 482913, password is Ali@123, "
                         "my name is Sara Ahmed and I live at house 12")
    (post,) = outcome.staff
    for secret in ("35202", "4539", "482913", "Ali@123", "Sara", "house 12"):
        assert secret not in post.text, secret
    assert "<cnic>" in post.text and "<password>" in post.text and "<name>" in post.text
    (warning,) = outcome.replies
    assert "hid the code, password, card or CNIC" in warning.text and warning.meta["sensitive"] == "cnic"


def test_a_picture_is_never_forwarded_only_what_it_reads_masked(person):
    person.say(ASK["en"])
    person.say("yes")
    outcome = person.say("this is him", media="image", media_text="Pay 50000 to 03001234567 or I post your pics")
    (post,) = outcome.staff
    assert post.text.startswith("[A picture: not forwarded. Text read in it, masked:")
    assert "03001234567" not in post.text and "<phone>" in post.text
    assert "Staff do not see pictures" in outcome.replies[0].text
    (voice,) = person.say(media="voice").staff
    assert "not passed on" in voice.text


@pytest.mark.parametrize("lang", LANGS)
def test_the_person_ends_it_in_their_language(person, lang):
    person.say(ASK[lang])
    person.say(YES[lang])
    outcome = person.say(END[lang])
    (post,) = outcome.staff
    assert post.kind == "close"
    assert outcome.replies[0].text == person.bot.content.text("desk_closed_you", lang, case="1")
    (case,) = person.desk.cases.listing()
    assert case.state == "closed" and case.address is None
    assert person.say("how do i stop marketing calls").staff == ()  # the bot again, nothing to staff


def test_one_after_the_offer_picks_end_chat_but_later_a_number_is_for_staff(person):
    person.say(ASK["en"])
    person.say("yes")
    (post,) = person.say("2").staff  # one option was offered: "2" is something said to staff
    assert post.text == "2"
    (post,) = person.say("1").staff  # after a message the offer is stale: "1" goes too
    assert post.text == "1"
    assert person.desk.live(_key(person)) is not None


def _key(person: Person) -> str:
    from bot.config import user_key

    return user_key(SECRET, person.channel, person.user)


def test_staff_reply_close_and_a_closed_case(person):
    person.say(ASK["en"])
    person.say("yes")
    person.clock.now += 90
    person.say("he threatens me")
    person.clock.now += 30
    result = person.staff("We are here")
    assert [r.text for r in result.relay.replies] == ["Helpline staff: We are here"]
    assert result.relay.address == person.user and result.relay.channel == "telegram"
    case = person.desk.cases.get(1)
    assert (case.from_person, case.from_staff, case.first_reply, case.waiting) == (1, 1, 120.0, None)
    closed = person.staff("/close")
    assert "ended this chat (case 1)" in closed.relay.replies[0].text and closed.posts[0].kind == "close"
    late = person.staff("one more thing")
    assert late.relay is None and "This case is closed" in late.posts[0].text
    assert person.staff("nobody's topic", topic="99").relay is None


def test_a_topic_closed_in_the_app_closes_the_case_without_closing_it_again(person):
    person.say(ASK["en"])
    person.say("yes")
    result = person.staff("", close=True, closed_in_app=True)
    assert result.posts[0].kind == "text" and person.desk.cases.get(1).state == "closed"


def test_the_wait_is_told_once_with_numbers(person, content):
    person.say(ASK["ur"])
    person.say(YES["ur"])
    person.say("کوئی ہے؟")
    person.clock.now += 9 * 60
    assert desk_flow.due_waits(person.bot) == []
    person.clock.now += 2 * 60
    (told,) = desk_flow.due_waits(person.bot)
    text = told.relay.replies[0].text
    assert content.facts["drf.helpline"].value in text and content.facts["nccia.helpline"].value in text
    assert content.facts["drf.hours"].shown("ur") in text and "(11 منٹ)" in text
    assert "No staff reply for 11 min" in told.posts[0].text
    assert desk_flow.due_waits(person.bot) == []  # once per wait
    person.staff("جی، ہم یہاں ہیں")
    person.say("شکریہ")
    person.clock.now += 11 * 60
    assert len(desk_flow.due_waits(person.bot)) == 1  # a new wait


def test_whatsapp_outside_the_window_holds_the_reply_until_the_person_writes(person):
    person.channel, person.user = "whatsapp", "whatsapp:+923001234567"
    person.say(ASK["en"])
    person.say("yes")
    person.clock.now += 25 * 3600
    held = person.staff("Are you safe?")
    assert held.relay.template and held.relay.replies == []
    assert "Are you safe" not in (person.desk.cases.get(1).held or "")  # encrypted
    outcome = person.say("yes I am")
    assert [r.text for r in outcome.replies] == ["Helpline staff: Are you safe?"]
    assert outcome.staff[0].text == "yes I am" and person.desk.cases.get(1).held is None


def test_delete_my_data_erases_the_case_and_asks_for_its_topic_to_go(person):
    person.say(ASK["en"])
    person.say("yes")
    person.say("delete my data")
    outcome = person.say("yes")
    assert [p.kind for p in outcome.staff] == ["erase"] and outcome.staff[0].topic == "2"
    assert person.desk.cases.listing() == []


def test_past_the_retention_the_case_is_unlinked_and_its_topic_listed_for_deletion(person):
    person.say(ASK["en"])
    person.say("yes")
    person.say(END["en"])
    person.clock.now += 29 * DAY
    assert desk_flow.expired(person.bot) == []
    person.clock.now += 2 * DAY
    (case,) = desk_flow.expired(person.bot)
    assert case.topic == "2"
    person.desk.cases.anonymise(case)
    (left,) = person.desk.cases.listing()
    assert (left.person, left.topic, left.address, left.state) == (None, None, None, "closed")
    assert desk_flow.expired(person.bot) == [] and person.desk.cases.by_topic("2") is None


def test_a_topic_that_could_not_be_made_closes_the_case(person):
    person.say(ASK["en"])
    (post,) = person.say("yes").staff
    (said,) = desk_flow.not_posted(person.bot, post, "en")
    assert "no chat was opened" in said.text and person.desk.cases.get(1).state == "closed"


def test_without_a_desk_human_help_is_as_today(content, store):
    bot = Bot(content, store, SECRET)
    (answer,) = bot.respond(Incoming("telegram", "1", ASK["en"]))
    assert answer.text == content.answer("human_help", "en")


def test_in_a_group_there_is_no_offer(person, content):
    (answer,) = person.say(ASK["en"], group_link="https://t.me/x").replies
    assert answer.text == content.answer("human_help", "en")


def test_chat_desk_in_the_terminal(tmp_path):
    script = ("talk to a real person\nyes\nhe has my photos\nstaff: We are here. Do not pay.\nstaff: /close\n"
              "how do i stop marketing calls\n")
    env = {**os.environ, "BOT_DB": str(tmp_path / "bot.db"), "BOT_SECRET": "x"}
    env.pop("BOT_ALERTS_KEY", None)
    out = subprocess.run([sys.executable, "-m", "bot", "chat", "--desk"], input=script, cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    blocks = out.split("---\n")
    assert "Connect you to staff now?" in blocks[0]
    assert "new topic: Case 1" in blocks[1] and "Connected: case 1" in blocks[1]
    assert blocks[2].strip() == "[staff group · case 1] he has my photos"
    assert blocks[3].strip() == "Helpline staff: We are here. Do not pay."
    assert "ended this chat" in blocks[4] and "(topic closed)" in blocks[4]
    assert "3627" in blocks[5] and "[staff" not in blocks[5]
    assert not Path(tmp_path / "bot.db").read_bytes().count(b"local")


def test_whatsapp_closing_past_the_window_sends_nothing_and_says_so(person):
    person.channel, person.user = "whatsapp", "whatsapp:+923001234567"
    person.say(ASK["en"])
    person.say("yes")
    person.clock.now += 25 * 3600
    closed = person.staff("/close")
    assert closed.relay is None and "The person was not told" in closed.posts[-1].text
    assert person.desk.cases.get(1).state == "closed"
