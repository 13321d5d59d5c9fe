"""Breach lookups: HIBP through a local server that speaks its API, the local index of keyed
hashes, the verified-number rules, the rule that imported lists answer phone numbers only, a
pending question that does not swallow another request, and the abuse limits.
(XposedOrNot, the source choice and the report's languages: tests/test_xon.py.)"""

from __future__ import annotations

import time

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.breaches.hibp import HibpClient, LookupUnavailable
from bot.breaches.index import Breach, BreachIndex, keyed_hash, keyed_hasher, normalise_identifier
from bot.breaches.lookup import BreachLookup, LookupLimits
from bot.dialogue.core import Bot
from bot.dialogue.messages import Incoming
from bot.state.sqlite_store import DAY
from bot.testing.fake_hibp import KEY, FakeHibp

PEPPER = b"test-pepper"
EMAIL = "ali.khan@example.com"
OWN = "+923001234567"


@pytest.fixture
def hibp():
    with FakeHibp({EMAIL: ["Adobe", "Canva"]}) as fake:
        yield fake


@pytest.fixture
def index(tmp_path):
    index = BreachIndex(tmp_path / "breaches.db", PEPPER)
    index.add_breach(Breach("pk-test", "Test telecom leak", "2025-09", ("phone numbers", "CNIC numbers")))
    index.import_lines("pk-test", ["03001234567", "sara@example.org"])
    yield index
    index.close()


def make_bot(content, store, hibp, index=None, key=KEY, limits=None) -> Bot:
    client = HibpClient(key, hibp.url, timeout=1.0, store=store)
    return Bot(content, store, b"secret", lookup=BreachLookup(store, b"secret", index, client, limits or LookupLimits()))


def say(bot, text, user="u1", **kwargs):
    reply, *_ = bot.respond(Incoming("test", user, text, **kwargs))  # a verdict may add the text for 9000
    return reply


# --- the HIBP client ---
def test_hibp_found_sends_key_and_user_agent(hibp):
    found = HibpClient(KEY, hibp.url).breached_account(EMAIL.upper())
    assert [b["Name"] for b in found] == ["Adobe", "Canva"] and found[0]["DataClasses"]
    request = hibp.requests[-1]
    assert request["headers"]["hibp-api-key"] == KEY and "Mehfooz" in request["headers"]["user-agent"]
    assert "truncateResponse=false" in request["query"]


def test_hibp_not_found_is_an_empty_list(hibp):
    assert HibpClient(KEY, hibp.url).breached_account("nobody@example.com") == []


def test_hibp_429_waits_retry_after_once_then_answers(hibp):
    waits = []
    hibp.fail_next(429, {"retry-after": "2"})
    assert HibpClient(KEY, hibp.url, sleep=waits.append).breached_account(EMAIL)
    assert waits == [2.0]


def test_hibp_429_twice_or_too_long_a_wait_is_unavailable(hibp):
    hibp.fail_next(429, {"retry-after": "1"})
    hibp.fail_next(429, {"retry-after": "1"})
    with pytest.raises(LookupUnavailable):
        HibpClient(KEY, hibp.url, sleep=lambda s: None).breached_account(EMAIL)
    hibp.fail_next(429, {"retry-after": "3600"})
    with pytest.raises(LookupUnavailable):
        HibpClient(KEY, hibp.url, sleep=lambda s: None).breached_account(EMAIL)


@pytest.mark.parametrize("failure", [{"status": 500}, {"status": 503}, {"status": 0, "delay": 1.5}])
def test_hibp_errors_and_timeouts_are_unavailable(hibp, failure):
    hibp.fail_next(failure["status"], delay=failure.get("delay", 0.0))
    with pytest.raises(LookupUnavailable):
        HibpClient(KEY, hibp.url, timeout=0.5).breached_account(EMAIL)


def test_hibp_down_is_unavailable():
    with pytest.raises(LookupUnavailable):
        HibpClient(KEY, "http://127.0.0.1:9", timeout=0.5).breached_account(EMAIL)


# --- the dialogue ---
def test_email_in_the_question_is_looked_up_at_once(content, store, hibp):
    reply = say(make_bot(content, store, hibp), f"was {EMAIL} leaked?")
    assert reply.intent == "check_breach"
    assert "a***@example.com was found in 2 known data breaches" in reply.text
    assert "Checked with Have I Been Pwned (haveibeenpwned.com)" in reply.text
    assert "- Adobe (October 2013, 152 million accounts): passwords, password hints, usernames" in reply.text
    assert reply.text.index("Canva (May 2019") < reply.text.index("Adobe")  # the most recent first
    assert content.text("breach_step_password", "en") in reply.text
    assert [o.value for o in reply.options] == ["after_leak", "leak_news"]  # the full steps on request


def test_asks_what_to_check_then_takes_the_email(content, store, hibp):
    bot = make_bot(content, store, hibp)
    ask = say(bot, "was i leaked")
    assert ask.intent == "check_breach" and "email" in ask.text.lower()
    reply = say(bot, "nobody@example.com")
    assert "was not found in the breaches we know" in reply.text and "does not mean" in reply.text
    assert content.text("breach_step_general", "en") in reply.text


def test_answers_in_urdu(content, store, hibp):
    reply = say(make_bot(content, store, hibp), f"کیا میری ای میل {EMAIL} لیک ہوئی ہے")
    assert reply.lang == "ur" and "معلوم ڈیٹا لیکس میں ملا" in reply.text and "اکتوبر 2013" in reply.text


def test_with_email_checks_off_nothing_is_sent_and_the_site_is_named(content, store, hibp, index):
    bot = Bot(content, store, b"secret", lookup=BreachLookup(store, b"secret", index, None))
    reply = say(bot, f"check {EMAIL} for breaches")
    assert "not switched on" in reply.text and "haveibeenpwned.com" in reply.text
    today = int(time.time() // DAY)
    assert hibp.requests == [] and store.lookups(bot.limit_key(Incoming("test", "u1", "")), today) == (0, set())


def test_hibp_failing_says_unavailable(content, store, hibp):
    hibp.fail_next(500)
    reply = say(make_bot(content, store, hibp), f"was {EMAIL} leaked")
    assert reply.text == content.text("breach_unavailable", "en") and "haveibeenpwned.com" in reply.text


def test_imported_lists_answer_no_email_only_the_own_verified_number(content, store, hibp, index):
    """Issue 26: anyone could look up any email in the operator's non-public lists. Now an email
    goes to the public service only; the lists answer the person's own, verified number."""
    bot = make_bot(content, store, hibp, index)
    email = say(bot, "was sara@example.org leaked")  # in the imported list, not in HIBP
    assert "Test telecom leak" not in email.text and "was not found" in email.text
    assert hibp.requests[-1]["path"] == "/breachedaccount/sara%40example.org"
    own = say(bot, "was my number leaked", user="u2", verified_phone=OWN)
    assert "Test telecom leak" in own.text


def test_own_verified_number_is_checked_against_the_index(content, store, hibp, index):
    bot = make_bot(content, store, hibp, index)
    reply = say(bot, "was my number leaked", verified_phone="+92 300 1234567")
    assert "your number was found in one known data breach" in reply.text
    assert "Test telecom leak (September 2025): ID card numbers" in reply.text  # its own kind left out
    assert "Checked with" not in reply.text and hibp.requests == []  # a number never leaves
    steps = reply.text.split(content.text("breach_steps", "en"))[1]
    assert steps.index("SIMs on your CNIC") < steps.index("scam calls")  # a CNIC leak: the SIM check first
    other = say(bot, "was my number leaked", user="u2", verified_phone="+923009999999")
    assert "was not found" in other.text


def test_a_typed_number_is_never_looked_up(content, store, hibp, index):
    bot = make_bot(content, store, hibp, index)
    reply = say(bot, "was 0300 1234567 leaked? check this number in breaches", verified_phone="+923009999999")
    assert "never look up a phone number typed" in reply.text
    assert [o.value for o in reply.options] == ["breach:phone"]  # their own number, offered instead


def test_my_number_without_a_verified_number_explains(content, store, hibp, index):
    reply = say(make_bot(content, store, hibp, index), "was my number leaked")
    assert "cannot verify your phone number" in reply.text


# Written for this test: a prize scam that carries a number, pasted right after "my number".
PASTED_SCAMS = [
    "Congratulations! Your SIM won Rs 50,000 in the Jazz lucky draw. Call 0345-1234567 now and share the code we send to claim it",
    "Mubarak ho! Ap ka BISP ka 25000 ka inaam nikla hai. Abhi 0301-2345678 par call krein aur apna code batayein",
]


@pytest.mark.parametrize("scam", PASTED_SCAMS)
@pytest.mark.parametrize("channel", [{}, {"can_share_contact": True}], ids=["terminal", "telegram"])
def test_a_pending_question_does_not_swallow_another_request(content, store, hibp, index, channel, scam):
    """Issue 23, point 13: after "my number" where the chat cannot verify it, the next message
    with any number in it was refused as a number lookup. A pasted scam gets its check."""
    bot = make_bot(content, store, hibp, index)
    ask = say(bot, "was my number leaked", **channel)
    assert "cannot verify your phone number" in ask.text
    checked = say(bot, scam, **channel)
    assert checked.intent == "scam_check" and "never look up a phone number typed" not in checked.text
    # A short answer to the question is still taken as one: a typed number is refused...
    say(bot, "was my number leaked", **channel)
    assert "never look up a phone number typed" in say(bot, "0300 1234567", **channel).text
    # ...and an email is looked up; another question goes its own way.
    say(bot, "was my number leaked", **channel)
    assert "was found in 2 known" in say(bot, f"here it is {EMAIL}", **channel).text
    say(bot, "was my number leaked", **channel)
    assert say(bot, "how do i stop marketing calls", **channel).intent == "stop_marketing_calls"


def test_telegram_asks_for_the_contact_and_checks_only_the_own_one(content, store, hibp, index):
    bot = make_bot(content, store, hibp, index)
    ask = say(bot, "was my number leaked", can_share_contact=True)
    assert ask.meta.get("ask_contact")
    own = say(bot, "", shared_contact="own", verified_phone="+923001234567", can_share_contact=True)
    assert "your number was found in one known" in own.text
    other = say(bot, "", shared_contact="other", can_share_contact=True)
    assert "not your own Telegram account" in other.text


def test_limits_lookups_per_day_and_distinct_emails(content, store, hibp):
    bot = make_bot(content, store, hibp, limits=LookupLimits(per_day=5, emails_per_day=3))
    for address in (EMAIL, "person1@example.com", "person2@example.com"):
        assert "***@example.com" in say(bot, f"was {address} leaked").text  # three different emails
    refused = say(bot, "was fourth@example.com leaked")
    assert "at most 3 different email addresses" in refused.text and "hour" in refused.text
    for _ in range(2):  # the same addresses again are fine, up to five lookups a day
        assert "was found in" in say(bot, f"was {EMAIL} leaked").text
    assert "today's 5 lookups" in say(bot, f"was {EMAIL} leaked").text
    assert "was found in" in say(bot, f"was {EMAIL} leaked", user="someone-else").text


def test_nothing_raw_is_stored_after_lookups(content, store, hibp, index, tmp_path):
    bot = make_bot(content, store, hibp, index)
    say(bot, f"was {EMAIL} leaked")
    say(bot, "was my number leaked", verified_phone=OWN)
    store.db.conn.execute("PRAGMA wal_checkpoint(FULL)")
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    for secret in (EMAIL, "ali.khan", "3001234567", "sara@example.org"):
        assert secret.encode() not in raw


# --- the index ---
def test_import_of_a_messy_file_counts_rows(tmp_path):
    index = BreachIndex(tmp_path / "b.db", PEPPER)
    lines = [
        "\ufeffname,phone,email", '"Khan, Ali",0300-1234567,ALI@Example.COM', "Sara;+92 321 7654321;",
        "923451112223", "0092 333 4445556", "  ", "no identifier here", "12345", "03001234567",
        "bad@", "\t0301 2223334\t",
    ]
    report = index.import_lines("leak-1", lines)
    assert report.as_dict() == {"read": 10, "imported": 6, "duplicate": 1, "rejected": 4}
    again = index.import_lines("leak-1", lines)
    assert again.imported == 0 and again.duplicate == 7
    assert [b.slug for b in index.lookup("+923001234567")] == ["leak-1"]
    assert index.lookup("ali@example.com") and index.lookup("+923217654321")
    assert index.lookup("+923009999999") == []
    index.close()
    raw = (tmp_path / "b.db").read_bytes()
    for identifier in ("3001234567", "300-1234567", "ali@example.com", "3217654321", "3451112223"):
        assert identifier.encode() not in raw.lower()
    assert keyed_hash(PEPPER, "+923001234567") in raw  # only the keyed hash is there


def test_the_same_identifier_in_two_breaches_finds_both(tmp_path):
    index = BreachIndex(tmp_path / "b.db", PEPPER)
    index.import_lines("a", ["03001234567"])
    index.import_lines("b", ["+92 300 1234567"])
    assert [b.slug for b in index.lookup("+923001234567")] == ["a", "b"]


@pytest.mark.parametrize("raw", ["03001234567", "+92 300 1234567", "923001234567", "0092-300-1234567",
                                 "(0300) 123 4567", "3001234567"])
def test_every_pakistani_form_is_one_e164(raw):
    assert normalise_identifier(raw) == "+923001234567"


@given(st.integers(min_value=0, max_value=999_999_999))
def test_fast_path_agrees_with_phonenumbers(n):
    national = f"03{n:09d}"
    expected = phonenumbers.parse(national, "PK")
    if phonenumbers.is_valid_number(expected):
        assert normalise_identifier(national) == phonenumbers.format_number(
            expected, phonenumbers.PhoneNumberFormat.E164)


@given(st.text(max_size=200))
def test_import_never_raises_on_any_line(text):
    normalise_identifier(text)


@given(st.binary(max_size=100), st.text(max_size=40))
def test_the_fast_keyed_hash_is_hmac_sha256(pepper, identifier):
    assert keyed_hasher(pepper)(identifier) == keyed_hash(pepper, identifier)


def test_a_file_with_no_identifier_imports_nothing(tmp_path):
    index = BreachIndex(tmp_path / "b.db", PEPPER)
    assert index.import_lines("empty", ["name", "", "nothing here"]).as_dict() == {
        "read": 2, "imported": 0, "duplicate": 0, "rejected": 2}


def test_the_breach_catalogue_is_cached_and_fetched_once_a_day(content, store, hibp):
    bot = make_bot(content, store, hibp)
    say(bot, f"was {EMAIL} leaked")
    say(bot, f"was {EMAIL} leaked")
    assert [r["path"] for r in hibp.requests].count("/breaches") == 1
    cached, fetched = store.hibp_catalogue()
    assert set(cached) == {"Adobe", "Canva"} and fetched > 0
    bot.lookup.source.catalogue(now=fetched + 2 * 86400)  # a day later it is fetched again
    assert [r["path"] for r in hibp.requests].count("/breaches") == 2
