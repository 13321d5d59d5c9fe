"""Issue 25: "was I leaked?" answered out of the box, in the person's language.

XposedOrNot's free API (no key) through a local server that answers as its open-source code
does; the choice of source (HIBP with a key, XposedOrNot without, BREACH_EMAIL_SOURCE); the
report in English, Urdu and Roman Urdu (kinds of data from intents/breaches/report.yaml,
months, counts in words, at most five breaches and a phone's screen); 429, time-outs and an
unreachable service; nothing sent when off; the address in no database file; /privacy naming
the service the address goes to. Everything runs against real loopback servers."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import yaml
from twilio.request_validator import RequestValidator

from bot.breaches.breaker import Breaker
from bot.breaches.lookup import BreachLookup
from bot.breaches.source import Found, LookupPaused, LookupUnavailable, RateLimited
from bot.breaches.xon import XonClient
from bot.config import Settings
from bot.content.check import check
from bot.content.load import DEFAULT_DIR
from bot.dialogue import breach_report
from bot.dialogue.core import Bot
from bot.dialogue.messages import Incoming
from bot.runtime import build_bot, build_email_source
from bot.service import create_app
from bot.testing.fake_hibp import KEY, FakeHibp
from bot.testing.fake_telegram import FakeTelegram
from bot.testing.fake_twilio import ACCOUNT_SID, message_sid
from bot.testing.fake_xon import BREACHES, FakeXon
from bot.testing.http import serve_asgi

EVERYWHERE = "ali.khan@example.com"  # in all seven breaches of the stand-in
ONE = "sana.k@example.org"  # in one (Daraz, September 2020, 1.2 million accounts)
CLEAN = "nobody@example.net"
CLOSED_PORT = "http://127.0.0.1:9"  # nothing listens: the service is unreachable
ISO_DATE = re.compile(r"\d{4}-\d\d")
SEVEN = [name for name in BREACHES if name != "Newsletter"]
RAW_KINDS = {kind for b in BREACHES.values() for kind in b["exposed_data"]}  # as the service names them


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def xon() -> Iterator[FakeXon]:
    with FakeXon({EVERYWHERE: SEVEN, ONE: ["Daraz"]}) as fake:
        yield fake


@pytest.fixture
def hibp() -> Iterator[FakeHibp]:
    with FakeHibp({EVERYWHERE: ["Adobe"]}) as fake:
        yield fake


def settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings(db_path=tmp_path / "bot.db", secret=b"s", content_dir=DEFAULT_DIR,
                    breach_db=tmp_path / "no-breaches.db", **changes)


def say(bot: Bot, text: str, user: str = "u1") -> str:
    (reply,) = bot.respond(Incoming("test", user, text))
    return reply.text


# --- the client, against the local XposedOrNot ---
def test_found_with_dates_sizes_and_kinds_of_data(xon):
    found = XonClient(xon.url).check(ONE)
    assert found == [Found("Daraz", "2020-09-01", ("Email addresses", "Names", "Phone numbers", "Physical addresses"),
                           records=1200000)]
    request = xon.requests[-1]
    assert request["path"] == "/check-email/sana.k%40example.org" and request["query"] == "details=true"
    assert "Mehfooz" in request["headers"]["user-agent"]


def test_not_found_is_an_empty_list_either_way_the_api_says_it(xon):
    assert XonClient(xon.url).check(CLEAN) == []  # 404 {"Error": "No breaches found"}
    assert XonClient(xon.url).check("odd@localhost") == []  # 200 {"Error": "Not found"}


def test_a_429_pauses_every_call_until_its_retry_after(xon):
    clock = Clock()
    client = XonClient(xon.url, breaker=Breaker(3, 60.0, clock), sleep=lambda s: None)
    xon.fail_next(429, {"retry-after": "3600"})  # the hourly or daily limit
    with pytest.raises(RateLimited):
        client.check(ONE)
    clock.now += 3599
    with pytest.raises(LookupPaused):  # not asked again: it said when to come back
        client.check(ONE)
    assert len(xon.requests) == 1
    clock.now += 2
    assert client.check(ONE) and len(xon.requests) == 2


def test_a_short_429_is_waited_out_once(xon):
    waits: list[float] = []
    xon.fail_next(429, {"retry-after": "1"})  # two a second
    assert XonClient(xon.url, sleep=waits.append).check(ONE) and waits == [1.0]


@pytest.mark.parametrize("failure", [{"status": 500}, {"status": 503}, {"status": 0, "delay": 0.6}])
def test_errors_and_timeouts_are_unavailable_and_three_pause_calls(xon, failure):
    client = XonClient(xon.url, timeout=0.3, breaker=Breaker(3, 60.0, Clock()))
    for _ in range(3):
        xon.fail_next(failure["status"], delay=failure.get("delay", 0.0))
        with pytest.raises(LookupUnavailable) as raised:
            client.check(ONE)
        assert not isinstance(raised.value, RateLimited | LookupPaused)
    with pytest.raises(LookupPaused):
        client.check(ONE)
    assert len(xon.requests) == 3


def test_down_is_unavailable():
    with pytest.raises(LookupUnavailable) as raised:
        XonClient(CLOSED_PORT, timeout=0.5).check(ONE)
    assert ONE not in str(raised.value)  # the address goes into the request only


# --- which service: HIBP with a key, XposedOrNot without, or off ---
@pytest.mark.parametrize(("env", "service"), [
    ({}, "xon"),
    ({"HIBP_API_KEY": "k"}, "hibp"),
    ({"HIBP_API_KEY": "k", "BREACH_EMAIL_SOURCE": "xon"}, "xon"),
    ({"BREACH_EMAIL_SOURCE": "OFF"}, "off"),
    ({"HIBP_API_KEY": "k", "BREACH_EMAIL_SOURCE": "off"}, "off"),
    ({"BREACH_EMAIL_SOURCE": "hibp"}, "off"),  # HIBP cannot answer without a key
])
def test_the_source_follows_the_settings(tmp_path, env, service):
    chosen = Settings.from_env({"BOT_DB": str(tmp_path / "bot.db"), "BOT_SECRET": "s", **env})
    assert chosen.email_service == service
    source = build_email_source(chosen, None)  # type: ignore[arg-type]
    assert (source.name if source else "off") == service


def test_an_unknown_source_is_refused_at_start(tmp_path):
    with pytest.raises(ValueError, match="BREACH_EMAIL_SOURCE"):
        _ = Settings.from_env({"BOT_DB": str(tmp_path / "bot.db"), "BREACH_EMAIL_SOURCE": "leakcheck"}).email_service


# --- the bar: no HIBP key, XON_API_URL pointed at the stand-in ---
def test_a_breached_address_gets_its_breaches_and_what_was_exposed(tmp_path, xon, hibp):
    bot = build_bot(settings(tmp_path, xon_api_url=xon.url, hibp_api_url=hibp.url))
    text = say(bot, f"was {ONE} leaked?")
    assert text.startswith("s***@example.org was found in one known data breach:")
    assert "Checked with XposedOrNot (xposedornot.com)." in text
    assert "- Daraz (September 2020, 1.2 million accounts): phone numbers, home addresses, names" in text
    assert "SIMs on your CNIC" in text and "scam calls" in text  # the steps for an address and a phone number
    assert len(xon.requests) == 1 and hibp.requests == []


def test_two_steps_at_least_when_the_data_calls_for_one(tmp_path, content):
    with FakeXon({ONE: ["Newsletter"]}) as xon:
        text = say(build_bot(settings(tmp_path, xon_api_url=xon.url)), f"was {ONE} leaked")
    assert "- Newsletter (June 2022, 40 thousand accounts): names" in text
    steps = text.split(content.text("breach_steps", "en"))[1].strip().splitlines()
    assert steps == [f"- {content.text('breach_step_email', 'en')}", f"- {content.text('breach_step_general', 'en')}"]


def test_a_clean_address_is_told_so(tmp_path, xon):
    text = say(build_bot(settings(tmp_path, xon_api_url=xon.url)), f"check {CLEAN} for leaks")
    assert "was not found in the breaches we know" in text and "Checked with XposedOrNot" in text


@pytest.mark.parametrize(("lang", "ask", "header", "daraz"), [
    ("ur", "کیا میرا ڈیٹا لیک ہوا ہے", "ایک معلوم ڈیٹا لیک میں ملا",
     "- Daraz (ستمبر 2020، 12 لاکھ اکاؤنٹس): فون نمبر، گھر کا پتہ، نام"),
    ("roman_ur", "kya mera data leak hua hai", "ek maloom data leak mein mila",
     "- Daraz (September 2020, 12 lakh accounts): phone numbers, ghar ka pata, naam"),
])
def test_the_whole_report_is_in_the_conversations_language(tmp_path, xon, lang, ask, header, daraz):
    """Asked in Urdu or Roman Urdu, then a bare address (no language of its own: issue 23): the
    report is in that language, kinds of data and dates included."""
    bot = build_bot(settings(tmp_path, xon_api_url=xon.url))
    (question,) = bot.respond(Incoming("test", "u1", ask))
    (reply,) = bot.respond(Incoming("test", "u1", ONE))
    assert question.lang == reply.lang == lang
    assert header in reply.text and daraz in reply.text
    assert reply.text.splitlines()[1] == bot.content.text("breach_checked_xon", lang)
    assert bot.content.text("breach_steps", lang) in reply.text
    assert not ISO_DATE.search(reply.text)


@pytest.mark.parametrize("lang", ["ur", "roman_ur"])
def test_no_english_data_type_name_and_no_iso_date_in_any_report(tmp_path, xon, lang):
    bot = build_bot(settings(tmp_path, xon_api_url=xon.url))
    bot.respond(Incoming("test", "u1", {"ur": "میرا ای میل چیک کریں", "roman_ur": "mera email check kro"}[lang]))
    (reply,) = bot.respond(Incoming("test", "u1", EVERYWHERE))
    assert reply.lang == lang and not ISO_DATE.search(reply.text)
    assert not [kind for kind in RAW_KINDS if kind in reply.text]  # "Trip details" is "other details"
    if lang == "ur":  # Latin letters only in what has no Urdu: breach names, the address, the service
        bare = reply.text.replace("XposedOrNot (xposedornot.com)", "").replace("a***@example.com", "")
        for name in SEVEN:
            bare = bare.replace(name, "")
        assert not re.search(r"[A-Za-z]", bare), bare


@pytest.mark.parametrize("lang", ["en", "ur", "roman_ur"])
def test_a_long_report_fits_a_phone_screen_with_the_five_most_recent(tmp_path, xon, lang):
    bot = build_bot(settings(tmp_path, xon_api_url=xon.url))
    question = {"en": "was {} leaked", "ur": "کیا {} لیک ہوا", "roman_ur": "kya {} leak hua hai"}[lang]
    (reply,) = bot.respond(Incoming("test", "u1", question.format(EVERYWHERE)))
    assert reply.lang == lang and len(reply.text) <= 700
    listed = [line for line in reply.text.splitlines() if line.startswith("- ") and "(" in line]
    assert [line.split(" (")[0][2:] for line in listed] == ["Foodpanda", "Daraz", "Canva", "Careem", "Zomato"]
    assert bot.content.text("breach_more", lang, count="2") in reply.text  # Adobe and the undated one


def test_a_429_and_an_unreachable_service_get_a_clear_answer_naming_haveibeenpwned(tmp_path, xon):
    bot = build_bot(settings(tmp_path, xon_api_url=xon.url))
    xon.fail_next(429, {"retry-after": "3600"})
    busy = say(bot, f"was {ONE} leaked", user="u1")
    assert busy == bot.content.text("breach_busy", "en") and "haveibeenpwned.com" in busy
    paused = say(bot, f"was {ONE} leaked", user="u2")  # within the hour: not asked again
    assert paused == bot.content.text("breach_paused", "en") and len(xon.requests) == 1
    down = build_bot(settings(tmp_path / "down", xon_api_url=CLOSED_PORT))
    unavailable = say(down, f"was {ONE} leaked")
    assert unavailable == down.content.text("breach_unavailable", "en") and "haveibeenpwned.com" in unavailable


def test_a_time_out_gets_a_clear_answer(store, content, xon):
    bot = Bot(content, store, b"s", lookup=BreachLookup(store, b"s", None, XonClient(xon.url, timeout=0.3)))
    xon.slow_next(1.0)
    text = say(bot, f"was {ONE} leaked")
    assert text == content.text("breach_unavailable", "en") and "haveibeenpwned.com" in text


def test_with_a_hibp_key_hibp_answers_and_xposedornot_is_not_called(tmp_path, xon, hibp):
    bot = build_bot(settings(tmp_path, hibp_api_key=KEY, hibp_api_url=hibp.url, xon_api_url=xon.url))
    text = say(bot, f"was {EVERYWHERE} leaked")
    assert "Checked with Have I Been Pwned (haveibeenpwned.com)" in text and "Adobe (October 2013" in text
    assert any(r["path"].startswith("/breachedaccount/") for r in hibp.requests) and xon.requests == []


def test_with_email_checks_off_nothing_is_sent_anywhere(tmp_path, xon, hibp):
    bot = build_bot(settings(tmp_path, email_source="off", hibp_api_key=KEY, hibp_api_url=hibp.url,
                             xon_api_url=xon.url))
    text = say(bot, f"was {EVERYWHERE} leaked")
    assert text == bot.content.text("breach_no_key", "en") and "haveibeenpwned.com" in text
    assert xon.requests == [] and hibp.requests == []


def test_the_address_is_in_no_database_file(tmp_path, xon):
    bot = build_bot(settings(tmp_path, xon_api_url=xon.url))
    for n, address in enumerate((EVERYWHERE, ONE, CLEAN)):
        say(bot, f"was {address} leaked", user=f"u{n}")
    bot.store.db.conn.execute("PRAGMA wal_checkpoint(FULL)")
    raw = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()).lower()
    for address in (EVERYWHERE, ONE, CLEAN):
        for part in (address, address.split("@")[0], address.replace("@", "%40")):
            assert part.encode() not in raw


def test_a_phone_number_never_leaves(tmp_path, xon, hibp):
    """/privacy: the leak lists kept here answer the person's own number; it is never sent out."""
    for changes in ({}, {"hibp_api_key": KEY}):
        bot = build_bot(settings(tmp_path / str(len(changes)), xon_api_url=xon.url, hibp_api_url=hibp.url, **changes))
        (reply,) = bot.respond(Incoming("test", "u1", "was my number leaked", verified_phone="+923001234567"))
        assert reply.intent == "check_breach" and "Checked with" not in reply.text
    assert xon.requests == [] and hibp.requests == []


@pytest.mark.parametrize("lang", ["en", "ur", "roman_ur"])
@pytest.mark.parametrize(("changes", "service"), [
    ({}, "xon"), ({"hibp_api_key": KEY}, "hibp"), ({"email_source": "off"}, "off")])
def test_privacy_says_where_an_email_goes_and_nowhere_else(tmp_path, content, lang, changes, service):
    """/privacy names the service the settings chose (the tests above check that the address
    goes there and nowhere else, and that a phone number never leaves)."""
    bot = build_bot(settings(tmp_path, xon_api_url=CLOSED_PORT, **changes))
    question = {"en": "what do you store about me", "ur": "آپ میرے بارے میں کیا محفوظ کرتے ہیں",
                "roman_ur": "ap mere bare mein kya save krte ho"}[lang]
    (summary,) = bot.respond(Incoming("test", "u1", question))
    assert summary.intent == "bot_privacy" and summary.lang == lang
    (reply,) = bot.respond(Incoming("test", "u1", "", choice="more:bot_privacy"))  # the full statement
    assert reply.intent == "bot_privacy" and reply.lang == lang
    (full,) = bot.respond(Incoming("test", "u1", "", choice="more:bot_privacy"))  # the full statement says it
    assert content.text(f"privacy_email_{service}", lang) in full.text and "{email_service}" not in full.text
    named = {"xon": "XposedOrNot", "hibp": "Have I Been Pwned"}
    assert [name for key, name in named.items() if name in full.text] == ([named[service]] if service != "off" else [])


# --- the report's words ---
@pytest.mark.parametrize(("count", "en", "roman_ur", "ur"), [
    (1_200_000, "1.2 million", "12 lakh", "12 لاکھ"),
    (152_445_165, "152 million", "15 crore", "15 کروڑ"),
    (850_000, "850 thousand", "8.5 lakh", "8.5 لاکھ"),
    (999_999, "1 million", "10 lakh", "10 لاکھ"),
    (2_700_000_000, "2.7 billion", "2.7 arab", "2.7 ارب"),
    (640, "640", "640", "640"),
])
def test_counts_in_the_words_people_use(content, count, en, roman_ur, ur):
    assert [breach_report.in_words(content, lang, count) for lang in ("en", "roman_ur", "ur")] == [en, roman_ur, ur]


@pytest.mark.parametrize(("date", "en", "ur"), [
    ("2024-03-27", "March 2024", "مارچ 2024"), ("2013-10", "October 2013", "اکتوبر 2013"),
    ("2013-10-04T00:00:00+00:00", "October 2013", "اکتوبر 2013"), ("Fri, 04 Oct 2013 00:00:00 GMT", "October 2013", "اکتوبر 2013"),
    ("2019", "2019", "2019"), ("", "", ""), ("soon", "", ""),
])
def test_dates_as_month_and_year(content, date, en, ur):
    assert breach_report.month_year(content, "en", date) == en
    assert breach_report.month_year(content, "roman_ur", date) == en
    assert breach_report.month_year(content, "ur", date) == ur


def test_every_kind_the_services_name_in_the_stand_ins_is_worded_or_other(content):
    """The table knows both services' spellings (HIBP: "Password hints"; XposedOrNot: "Password Hints")."""
    assert breach_report.data_words(content, "ur", ["Password hints"]) == breach_report.data_words(
        content, "ur", ["Password Hints"]) == ["پاس ورڈ کے اشارے"]
    assert breach_report.data_words(content, "roman_ur", ["Trip details"]) == ["aur maloomat"]
    assert breach_report.data_words(content, "en", ["Trip details", "IMSI numbers"]) == ["trip details", "IMSI numbers"]


# --- the service: a slow XposedOrNot holds up nobody else ---
TOKEN, SECRET, AUTH, PUBLIC = "123:test-token", "webhook-secret", "twilio-auth-token", "https://bot.example.org"


def whatsapp(client: httpx.Client, body: str, sid: str, sender: str) -> httpx.Response:
    form = {"MessageSid": message_sid(sid), "AccountSid": ACCOUNT_SID, "From": sender,
            "To": "whatsapp:+14155238886", "Body": body, "NumMedia": "0"}
    signature = RequestValidator(AUTH).compute_signature(f"{PUBLIC}/whatsapp", form)
    return client.post("/whatsapp", content=urlencode(form), headers={
        "content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})


def test_while_a_lookup_waits_on_xposedornot_others_are_answered(tmp_path, xon):
    with FakeTelegram(TOKEN) as telegram:
        app = create_app(settings(tmp_path, xon_api_url=xon.url, telegram_token=TOKEN, telegram_secret=SECRET,
                                  telegram_api_url=telegram.url, twilio_auth_token=AUTH,
                                  twilio_account_sid=ACCOUNT_SID, public_url=PUBLIC))
        with serve_asgi(app) as url, httpx.Client(base_url=url, timeout=30) as client:
            xon.hold()  # XposedOrNot takes the request and does not answer yet
            answers: list[httpx.Response] = []
            lookup = threading.Thread(target=lambda: answers.append(
                whatsapp(client, f"was {ONE} leaked", "SMx1", "whatsapp:+923001110001")))
            lookup.start()
            assert xon.received.wait(10)
            other = whatsapp(client, "how do i stop marketing calls", "SMx2", "whatsapp:+923001110002")
            number = app.state.core.content.fact_value("dncr.number")
            assert other.status_code == 200 and number in other.text and not answers  # the lookup still waits
            xon.release()
            lookup.join(30)
    assert answers and "Daraz (September 2020" in answers[0].text


def test_intents_check_reads_the_report_table(tmp_path):
    """report.yaml is content like any other: a kind without its Urdu word, a step that is no
    text, a month missing and a typed number are each reported."""
    folder = tmp_path / "intents"
    shutil.copytree(DEFAULT_DIR, folder)
    path = folder / "breaches" / "report.yaml"
    table = yaml.safe_load(path.read_text(encoding="utf-8"))
    del table["data_types"]["passwords"]["ur"]
    table["data_types"]["phones"]["step"] = "breach_step_nowhere"
    table["data_types"]["names"]["en"] = "names (42 fields)"
    table["months"]["ur"] = table["months"]["ur"][:11]
    path.write_text(yaml.safe_dump(table, allow_unicode=True), encoding="utf-8")
    problems, _ = check(folder)
    assert any("data_types: passwords: no word in 'ur'" in p for p in problems)
    assert any("step 'breach_step_nowhere' is not a text" in p for p in problems)
    assert any("months: twelve names in 'ur'" in p for p in problems)
    assert any("data_types: names (en): the number '42'" in p for p in problems)
