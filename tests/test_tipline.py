"""The scam tipline (bot/dialogue/tipline.py, tipline_flow.py, bot/state/tipline.py): grouping of
forwarded scams, the records in both state backends (SQLite and a real `redis-server`), and the
conversation: staff's verdict said first, "tell me when staff confirm", and the follow-up sent
through the alert sender to the local Bot API and Twilio stand-ins."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from telegram import Bot as TelegramBot

from bot.channels.alert_sender import AlertSender, content_sids
from bot.channels.tipline_queue import TiplineFollowups, excerpt
from bot.channels.twilio_api import TwilioApi
from bot.config import keyed, user_key
from bot.dialogue.core import Bot
from bot.dialogue.messages import Incoming
from bot.dialogue.tipline import Tipline
from bot.state.sqlite_store import DAY, Retention, Store
from bot.state.tipline import MAX_ATTEMPTS, TiplineStore, tipline_store
from bot.testing.fake_telegram import FakeTelegram
from bot.testing.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from bot.understanding.scam import default_rules
from bot.understanding.scam_group import NearDuplicates, contacts, key_text, masked
from tests.test_state import redis_server, redis_url  # noqa: F401 - fixtures

SECRET = b"tipline-secret"
KEY = Fernet.generate_key().decode()
TOKEN = "123:tipline"
# One scam, as it reaches people: other numbers, links, amounts, capitals, spacing, disguise.
WAVE = [
    "URGENT: Your JazzCash account will be blocked today. Verify your CNIC now at "
    "http://jazzcash-verify.example.top/login or call 03001112233.",
    "urgent: your JAZZCASH account will be BLOCKED today.   Verify your cnic now at "
    "https://jazz-cash.secure-check.xyz/v or call +92 345 7654321",
    "URGENT!! Your JazzCash account will be blocked TODAY. Verify your CNIC at https://bit.ly/3xYzQ "
    "or call 0311-2223334 now.",
    "URGENT: Your JazzCash acc0unt will be bl0cked today. Verify your CNIC now at jc-verify.top "
    "or call 0333 4445556.",
]
OTHER = ("Mubarak ho! BISP Ehsaas program se ap ka Rs 25000 inaam nikla hai. Foran 0300-7654321 par "
         "rabta krein aur 500 ka card bhejein")
OTHER_VARIANT = ("Mubarak ho! B.I.S.P Ehsaas program se ap ka Rs 450O0 inaam nikla hai. Foran 0321 1234567 pr "
                 "rbta kren aur 1000 ka card bhejein")


def spelling():
    return default_rules().spelling


# --- grouping ------------------------------------------------------------------------------
def test_a_wave_shares_one_key_or_is_near_and_another_scam_is_not():
    keys = [key_text(masked(m), spelling()) for m in WAVE]
    index = NearDuplicates()
    index.add(1, keys[0])
    assert all(index.best(k) == 1 for k in keys)
    assert keys[0] == key_text(masked(WAVE[0].upper()), spelling())  # capitals, exactly
    other = key_text(masked(OTHER), spelling())
    assert index.best(other) is None
    index.add(2, other)
    assert index.best(key_text(masked(OTHER_VARIANT), spelling())) == 2  # disguised spellings folded


def test_the_masked_text_has_no_number_link_host_or_name():
    shown = masked("Dear Sara Ahmed, verify at jazz-cash.secure-check.xyz or www.jc.pk/x, or "
                   "https://evil.example.top/a, call +92 345 7654321 or 0300-1112233, CNIC 35202-1234567-1, "
                   "email me at a.b@example.com, password: Lahore@786, my name is Bilal")
    for secret in ("Sara", "Ahmed", "secure-check", "jc.pk", "evil", "7654321", "1112233", "35202", "a.b@",
                   "Lahore@786", "Bilal"):
        assert secret not in shown, secret
    assert shown.startswith("Dear <name>,")


def test_short_keys_group_only_when_equal():
    index = NearDuplicates()
    index.add(1, "call me now")
    assert index.best("call me now") is None and index.best("call me later") is None


def test_near_duplicates_compare_only_keys_of_a_length_that_could_match():
    index = NearDuplicates(size=3)
    for group in range(1, 6):
        index.add(group, f"{'x' * 40 * group} {group}")
    assert sorted(index.keys) == [3, 4, 5] and index.newest == 5  # the newest only
    assert index.best("y" * 400) is None


def test_the_prefilter_finds_what_comparing_every_key_finds():
    """On the labelled scam set, each message a group, and copies with a word changed, added or
    dropped, other numbers and links: the prefiltered search agrees with rapidfuzz over all."""
    import csv
    import random

    from rapidfuzz import fuzz, process

    from bot.understanding.scam_group import SIMILAR
    from tests.conftest import ROOT

    rows = list(csv.DictReader((ROOT / "tests" / "data" / "scam_set.csv").open(encoding="utf-8")))
    index = NearDuplicates()
    for group, row in enumerate(rows, 1):
        index.add(group, key_text(masked(row["text"]), spelling()))
    rng, agreed, found = random.Random(7), 0, 0
    for row in rows:
        words = row["text"].split()
        place = rng.randrange(len(words))
        change = rng.choice(("drop", "add", "swap"))
        words = words[:place] + ([] if change == "drop" else ["zaroor"]) + words[place + (change != "add"):]
        key = key_text(masked(" ".join(words) + f" call 03{rng.randint(0, 10**9):09d}"), spelling())
        every = process.extractOne(key, index.keys, scorer=fuzz.ratio, score_cutoff=SIMILAR)
        expected = every[2] if every else None
        found += expected is not None
        agreed += index.best(key) == expected
    assert found >= len(rows) // 2 and agreed == len(rows)


def test_contacts_are_hosts_and_numbers():
    found = contacts(WAVE[1] + " mail a@b.pk")
    assert found == {"jazz-cash.secure-check.xyz", "03457654321", "b.pk"}


# --- the records, in both backends ---------------------------------------------------------------
@pytest.fixture(params=["sqlite", "redis"])
def records(request, tmp_path: Path) -> Iterator[TiplineStore]:
    if request.param == "sqlite":
        store = Store(tmp_path / "bot.db")
    else:
        from bot.state.redis_store import RedisStore

        store = RedisStore(request.getfixturevalue("redis_url"))
    yield tipline_store(store)
    store.close()


def test_a_group_counts_distinct_people_and_is_found_by_its_fingerprint(records):
    now = time.time()
    group = records.create("print-a", "masked text", "key text", "suspicious", "tag-1", ["c1"], now)
    assert records.find("print-a") == group
    assert records.join(group, "tag-2", "print-b", "likely_scam", ["c2"], now + 1)
    assert records.join(group, "tag-1", "print-a", "suspicious", [], now + 2)  # the same person again
    assert records.find("print-b") == group and records.find("print-c") is None
    found = records.get(group)
    assert (found.people, found.text, found.bot, found.first, found.staff) == (2, "masked text", "likely_scam", now,
                                                                                None)
    assert found.last == pytest.approx(now + 2)
    assert records.keys_since(0) == [(group, "key text")] and records.keys_since(group) == []
    assert records.reported(group, "tag-2") and not records.reported(group, "tag-3")
    assert not records.join(group + 100, "tag-1", "print-x", "suspicious", [], now)


def test_trending_counts_people_in_the_period_most_first(records):
    now = time.time()
    old = records.create("p-old", "old", "k-old", "suspicious", "t1", [], now - 10 * DAY)
    big = records.create("p-big", "big", "k-big", "likely_scam", "t1", [], now)
    for tag in ("t2", "t3"):
        records.join(big, tag, "p-big", "likely_scam", [], now)
    small = records.create("p-small", "small", "k-small", "suspicious", "t4", [], now)
    assert [(g.id, g.people) for g in records.trending(now - 7 * DAY)] == [(big, 3), (small, 1)]
    assert [g.id for g in records.trending(now - 30 * DAY)][-1] == old
    assert [g.id for g in records.trending(now - 7 * DAY, limit=1)] == [big]


def test_staff_verdict_queues_those_who_asked_and_contacts_are_dated(records):
    now = time.time()
    group = records.create("p", "text", "key", "likely_scam", "t1", ["host-a"], now)
    records.ask(group, "t1", "telegram", "token-1", "en", now, now + 7 * DAY)
    records.join(group, "t2", "p", "likely_scam", [], now)
    records.ask(group, "t2", "whatsapp", "token-2", "ur", now, now + 7 * DAY)
    assert records.asked(group, "t1") and records.get(group).waiting == 2
    assert records.decide(group + 100, "scam", "", now) is None
    assert records.decide(group, "not_scam", "checked with the bank", now + 5) == 2
    decided = records.get(group)
    assert (decided.staff, decided.note, decided.decided, decided.waiting) == ("not_scam", "checked with the bank",
                                                                               now + 5, 0)
    assert records.known_contacts(group, ["host-a"], now + 5)
    records.join(group, "t3", "p", "likely_scam", ["host-b"], now + 10)
    assert not records.known_contacts(group, ["host-a", "host-b"], now + 5)
    assert records.counts() == {"groups": 1, "confirmed": 1, "followups_sent": 0}


def test_follow_ups_are_claimed_once_under_a_lease_and_forgotten_once_sent(records):
    now = time.time()
    group = records.create("p", "text", "key", "likely_scam", "t1", [], now)
    for tag in ("t1", "t2"):
        records.ask(group, tag, "telegram", f"token-{tag}", "en", now, now + 7 * DAY)
    assert records.claim(5, now) == []  # waiting for staff
    records.decide(group, "scam", "", now)
    first = records.claim(5, now + 1, lease=60)
    assert sorted(f.address for f in first) == ["token-t1", "token-t2"] and records.claim(5, now + 2) == []
    one, two = first
    assert records.start(one, now + 3, lease=60)
    records.sent(one)
    # the other sender died before starting the second: after the lease it is claimed again
    assert records.claim(5, now + 30, lease=60) == []
    (again,) = records.claim(5, now + 62, lease=60)
    assert again.address == two.address and again.attempts == 1  # the attempt given back
    assert not records.start(two, now + 63, lease=60)  # the old claim is no longer that sender's
    assert records.start(again, now + 63, lease=60)
    # started, then its sender died: sent again after the lease (a lost follow-up is worse)
    (resent,) = records.claim(5, now + 130, lease=60)
    assert resent.attempts == 2
    assert records.later(resent, now + 200) and records.next_due() == pytest.approx(now + 200)
    records.failed(resent)
    assert records.claim(5, now + 300) == [] and records.counts()["followups_sent"] == 1
    assert not records.asked(group, "t1") and not records.asked(group, "t2")


def test_a_follow_up_fails_after_its_tries(records):
    now = time.time()
    group = records.create("p", "text", "key", "likely_scam", "t1", [], now)
    records.ask(group, "t1", "telegram", "token", "en", now, now + 7 * DAY)
    records.decide(group, "scam", "", now)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        (claimed,) = records.claim(5, now + attempt * 10)
        assert claimed.attempts == attempt
        assert records.later(claimed, now + attempt * 10 + 1) == (attempt < MAX_ATTEMPTS)
    assert records.claim(5, now + 1000) == [] and not records.asked(group, "t1")


def test_forget_takes_the_person_and_a_group_only_they_forwarded(records):
    now = time.time()
    theirs = records.create("p1", "theirs", "k1", "likely_scam", "gone", [], now)
    shared = records.create("p2", "shared", "k2", "likely_scam", "gone", [], now)
    records.join(shared, "kept", "p2", "likely_scam", [], now)
    records.ask(shared, "gone", "telegram", "token", "en", now, now + 7 * DAY)
    records.forget("gone")
    assert records.get(theirs) is None and records.find("p1") in (None, theirs)
    assert [(g.id, g.people, g.waiting) for g in records.trending(now - DAY)] == [(shared, 1, 0)]
    assert not records.asked(shared, "gone")


def test_purge_takes_groups_past_their_retention(records):
    keep = Retention()
    now = time.time()
    old = records.create("p-old", "old", "k-old", "likely_scam", "t1", [], now - keep.tipline - 60)
    new = records.create("p-new", "new", "k-new", "likely_scam", "t1", [], now)
    records.join(new, "t2", "p-new", "likely_scam", [], now - keep.tipline - 60)  # an old forward of a live one
    records.join(new, "t2", "p-new", "likely_scam", [], now - keep.tipline - 60)
    assert records.purge(keep, now)["scam_groups"] == 1
    assert records.get(old) is None and records.get(new) is not None


# --- the conversation ------------------------------------------------------------------------
def teller(content, store, clock=time.time) -> Bot:
    return Bot(content, store, SECRET, tipline=Tipline(tipline_store(store), SECRET, KEY, clock=clock))


def say(bot, user, text="", channel="telegram", **kwargs):
    return bot.respond(Incoming(channel, str(user), text, has_buttons=channel == "telegram", **kwargs))


def values(reply) -> list[str]:
    return [o.value for o in reply.options]


@pytest.mark.parametrize("words", ["tell me", "mujhe batana", "مجھے بتائیں", "Tell me"])
def test_tell_me_typed_in_three_languages_keeps_the_address(content, store, words):
    bot = teller(content, store)
    verdict, _ = say(bot, 1, WAVE[0])
    assert "tipline:1" in values(verdict) and values(verdict).index("tipline:1") == 1  # after "why?"
    (done,) = say(bot, 1, words)
    assert bot.tipline.store.asked(1, keyed(SECRET, "records", user_key(SECRET, "telegram", "1"), size=16))
    assert "{tell_days}" not in done.text and "7" in done.text


def test_the_button_and_the_number_pick_it_too(content, store):
    bot = teller(content, store)
    say(bot, 1, WAVE[0])
    (done,) = say(bot, 1, choice="tipline:1")
    assert done.text.startswith("Done")
    verdict, _ = say(bot, 2, WAVE[1], channel="whatsapp")
    number = values(verdict).index("tipline:1") + 1
    (done,) = say(bot, 2, str(number), channel="whatsapp")
    assert done.text.startswith("Done") and bot.tipline.store.get(1).waiting == 2


def test_no_offer_where_nobody_can_be_told_later(content, store, bot):
    verdict, _ = say(bot, 1, WAVE[0])  # no BOT_ALERTS_KEY
    assert not any(v.startswith("tipline:") for v in values(verdict))
    keyed_bot = teller(content, store)
    verdict, _ = say(keyed_bot, 2, WAVE[0], channel="terminal")
    assert not any(v.startswith("tipline:") for v in values(verdict))
    (off,) = say(keyed_bot, 2, choice="tipline:1", channel="terminal")
    assert off.text == content.text("tipline_tell_off", "en")


def test_a_forged_or_unknown_group_is_refused(content, store):
    bot = teller(content, store)
    say(bot, 1, WAVE[0])
    for value in ("tipline:1", "tipline:999", "tipline:x", "tipline:" + "9" * 40):
        (refused,) = say(bot, 2, choice=value)  # person 2 never forwarded it
        assert refused.text == content.text("tipline_tell_unknown", "en")
    assert bot.tipline.store.get(1).waiting == 0


def test_why_keeps_the_offer(content, store):
    bot = teller(content, store)
    verdict, _ = say(bot, 1, WAVE[0])
    why = next(v for v in values(verdict) if v.startswith("why:"))
    (reasons,) = say(bot, 1, choice=why)
    assert "tipline:1" in values(reasons)


def test_a_confirmed_scam_is_said_first_with_how_many_reported_it(content, store):
    bot = teller(content, store)
    for user, message in enumerate(WAVE[:3], 1):
        say(bot, user, message)
    bot.tipline.decide(1, "scam")
    verdict, report = say(bot, 9, WAVE[3])
    assert verdict.text.startswith(content.text("tipline_confirmed_scam", "en", count="4"))
    assert verdict.text.index("What I found") > 0 and report.text.startswith("SENDER ")
    assert not any(v.startswith("tipline:") for v in values(verdict))
    say(bot, 10, choice="lang:ur")
    (urdu, _) = say(bot, 10, WAVE[0])
    assert urdu.text.startswith("ہمارے عملے نے یہ پیغام چیک کیا: یہ فراڈ ہے۔")


def test_not_a_scam_does_not_cover_a_copy_with_a_new_number(content, store):
    bot = teller(content, store)
    genuine = ("Dear customer, your biometric verification is due. Your SIM will be blocked after 30 days if "
               "not verified. Visit any franchise with your CNIC. Details: bit.ly/jz-bvs or 111-124-444")
    (warned,) = say(bot, 1, genuine)[:1]
    assert "signs of a scam" in warned.text or "warning signs" in warned.text  # red flags: kept for staff
    (group,) = bot.tipline.trending(1)
    bot.tipline.decide(group.id, "not_scam")
    (again,) = say(bot, 2, genuine)
    assert again.text.startswith(content.text("tipline_confirmed_not_scam", "en", count="2"))
    copied = say(bot, 3, genuine.replace("111-124-444", "0300-9876543"))  # a phisher's own number
    assert "signs of a scam" in copied[0].text or "warning signs" in copied[0].text
    assert not copied[0].text.startswith("Our staff checked")
    assert bot.tipline.store.get(group.id).people == 3  # still one wave for staff


def test_a_group_marked_not_a_scam_stops_the_scam_verdict(content, store):
    bot = teller(content, store)
    say(bot, 1, WAVE[0])
    bot.tipline.decide(1, "not_scam")
    replies = say(bot, 2, WAVE[0])
    (only,) = replies  # no report for PTA either
    assert only.text.startswith(content.text("tipline_confirmed_not_scam", "en", count="2"))
    assert "clear signs of a scam" not in only.text
    # a copy with another link or number is not covered: the bot's own verdict stands
    verdict, _ = say(bot, 3, WAVE[1])
    assert "clear signs of a scam" in verdict.text


def test_a_confirmed_scam_the_rules_miss_is_still_told(content, store):
    """A copy that the rules alone would leave to the matcher (no red flag) is told staff's verdict
    when its group was confirmed."""
    bot = teller(content, store)
    quiet = ("Assalam o alaikum, aap ka parcel hamare warehouse mein ruka hua hai, delivery ke liye "
             "apna pata aur naam dobara bhejein taake aaj hi bhej diya jaye")
    key = key_text(masked(quiet), spelling())  # filed before, when its copy had a red flag
    group = bot.tipline.store.create(keyed(SECRET, "tipline", key), masked(quiet), key, "suspicious", "t0", [],
                                     time.time())
    before = say(bot, 1, quiet)
    bot.tipline.decide(group, "scam")
    after = say(bot, 2, quiet)
    assert not before[0].text.startswith("Hamare staff")  # not checked yet: the matcher's answer
    assert after[0].text.startswith(content.text("tipline_confirmed_scam", "roman_ur", count="2"))


def test_asking_after_staff_decided_tells_at_once(content, store):
    bot = teller(content, store)
    say(bot, 1, WAVE[0])
    bot.tipline.decide(1, "scam")
    (told,) = say(bot, 1, choice="tipline:1")
    assert told.text == content.text("tipline_confirmed_scam", "en", count="1")


# --- the follow-up through the alert sender ------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _asked(content, store, clock, who, channel, lang=""):
    bot = teller(content, store, clock)
    if lang:
        say(bot, who, choice=f"lang:{lang}", channel=channel)
    say(bot, who, WAVE[0], channel=channel)
    say(bot, who, choice="tipline:1", channel=channel)
    return bot


def test_the_follow_up_goes_on_telegram_once_in_the_persons_language(content, store):
    clock = Clock()
    bot = _asked(content, store, clock, 777, "telegram", "ur")
    bot.tipline.decide(1, "scam")
    queue = TiplineFollowups(bot.tipline)
    with FakeTelegram(TOKEN) as fake:
        async def twice():
            async with TelegramBot(TOKEN, base_url=f"{fake.url}/bot") as telegram:
                sender = AlertSender(None, lambda: content, telegram, None, clock=clock, queues=(queue,))
                return (await sender.send_due()).as_dict(), (await sender.send_due()).as_dict()

        first, second = asyncio.run(twice())
        (sent,) = fake.succeeded("sendMessage")
    assert first["sent"] == 1 and second["sent"] == 0
    assert int(sent["chat_id"]) == 777 and "ہمارے عملے نے تصدیق کی کہ یہ فراڈ ہے" in sent["text"]
    assert excerpt(bot.tipline.store.get(1)) in sent["text"] and "jazzcash-verify" not in sent["text"]
    assert bot.tipline.store.counts()["followups_sent"] == 1


def test_the_follow_up_on_whatsapp_is_text_in_the_window_then_the_template(content, tmp_path):
    sids = content_sids("en=HX00000000000000000000000000000001")
    with FakeTwilio() as fake:
        api = TwilioApi(ACCOUNT_SID, AUTH_TOKEN, "whatsapp:+14155238886", fake.url)
        for hours, template in ((1, False), (30, True)):
            store = Store(tmp_path / f"bot-{hours}.db")
            clock = Clock()
            bot = _asked(content, store, clock, "whatsapp:+923001234567", "whatsapp")
            bot.tipline.decide(1, "scam")
            clock.now += hours * 3600
            sender = AlertSender(None, lambda: content, None, api, clock=clock,
                                 queues=(TiplineFollowups(bot.tipline, sids),))
            assert asyncio.run(sender.send_due()).sent == 1
            message = fake.messages[-1]
            assert message["To"] == "whatsapp:+923001234567"
            if template:
                variables = json.loads(message["ContentVariables"])
                assert message["ContentSid"].endswith("1") and "Body" not in message
                assert variables["1"] == excerpt(bot.tipline.store.get(1)) and "scam" in variables["2"]
                assert all("\n" not in v for v in variables.values())
            else:
                assert "ContentSid" not in message and "confirmed it is a scam" in message["Body"]
            store.close()
