"""Every statement the bot makes about what it keeps or erases, checked against what the code
does. Each statement is named by the words that make it in each language, in the text that
makes it (the greeting, the /privacy summary, the delete texts), and by a test of the behaviour.

One person talks to a real bot over a real SQLite file, with breach alerts on, as WhatsApp would
deliver it: a name, a number and an email in their messages, a miss, a scam check, a subscription.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.breaches.alerts import YEAR, AlertStore
from bot.config import keyed, user_key
from bot.dialogue.core import Bot
from bot.dialogue.kept import figures
from bot.dialogue.messages import Incoming
from bot.state.sqlite_store import DAY, Retention, Store
from bot.understanding.normalise import LANGS

SECRET = b"statements-secret"
SENDER = "whatsapp:+923001234567"
NAME, EMAIL, OTHER_NUMBER = "Sara Ahmed", "sara.ahmed@example.com", "03219876543"
RETENTION = Retention()


@dataclass
class Person:
    bot: Bot
    store: Store
    alerts: AlertStore
    db_path: Path
    key: str
    tag: str
    limits: str

    def say(self, text: str = "", message_id: str | None = None, **kwargs: str) -> list:
        msg = Incoming("whatsapp", SENDER, text, verified_phone="+923001234567", message_id=message_id, **kwargs)
        outcome = self.bot.handle(msg)
        self.bot.delivered(outcome)
        return outcome.later() if outcome.later else outcome.replies

    def rows(self, table: str) -> list[tuple]:
        return self.store.db.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 - a fixed name


@pytest.fixture
def person(content, tmp_path) -> Person:
    store = Store(tmp_path / "bot.db")
    alerts = AlertStore(tmp_path / "alerts.db", b"pepper", Fernet.generate_key().decode())
    bot = Bot(content, store, SECRET, alerts=alerts)
    key = user_key(SECRET, "whatsapp", SENDER)
    who = Person(bot, store, alerts, tmp_path / "bot.db", key, keyed(SECRET, "records", key, size=16),
                 keyed(SECRET, "limits", "whatsapp", SENDER))
    who.say("salam", message_id="SM1")
    who.say(f"my name is {NAME}, write to {EMAIL} or {OTHER_NUMBER} about the weather in the hills "
            "tomorrow zzz qqq", message_id="SM2")  # a miss
    who.say("URGENT: your JazzCash account is blocked. Verify now at http://jazzcash-verify.example.top "
            "or call 03001112233 to keep your money", message_id="SM3")  # a scam check
    who.say("notify me if my number leaks", message_id="SM4")
    who.say("yes", message_id="SM5")  # a breach-alert subscription
    yield who
    alerts.close()
    store.close()


def _said(content, where: str, lang: str, phrases: list[str]) -> None:
    """The text `where` ('answer:greeting', 'more:bot_privacy', 'system:deleted') says each phrase."""
    kind, _, name = where.partition(":")
    values = figures(RETENTION)
    text = {"answer": lambda: content.answer(name, lang, values), "more": lambda: content.more(name, lang, values),
            "system": lambda: content.text(name, lang)}[kind]()
    missing = [p for p in phrases if p.format(**values).casefold() not in text.casefold()]
    assert not missing, (where, lang, missing)


# --- 1. "never your name; never a phone number, email or chat id in readable form" ---
NEVER_READABLE = {
    "answer:bot_privacy": {"en": ["never keep your name", "never a phone number, email or chat id in readable form"],
                           "roman_ur": ["naam kabhi nahi", "parhne ke qabil shakal mein kabhi nahi"],
                           "ur": ["نام کبھی نہیں", "پڑھنے کے قابل شکل میں کبھی نہیں"]},
    "answer:greeting": {"en": ["never your name"], "roman_ur": ["naam kabhi nahi"], "ur": ["نام کبھی نہیں"]},
}


@pytest.mark.parametrize("lang", LANGS)
def test_never_readable_is_said(content, lang):
    for where, phrases in NEVER_READABLE.items():
        _said(content, where, lang, phrases[lang])


def test_never_readable_is_true_of_every_database_file(person):
    person.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = b"".join(p.read_bytes() for p in person.db_path.parent.iterdir() if p.is_file())
    for secret in (NAME, "Sara", EMAIL, "3001234567", "03001234567", OTHER_NUMBER, SENDER):
        assert secret.encode() not in raw, secret


# --- 2. "under a coded key: your language and chat state, {state_days} days after the last message" ---
@pytest.mark.parametrize("lang", LANGS)
def test_state_under_a_coded_key_is_said(content, lang):
    _said(content, "answer:bot_privacy", lang, {"en": ["coded key", "{state_days} days after your last message"],
                                                 "roman_ur": ["coded key", "aakhri message ke {state_days} din"],
                                                 "ur": ["کوڈ شدہ کلید", "آخری پیغام کے {state_days} دن"]}[lang])


def test_state_is_under_a_coded_key_and_goes_after_the_retention(person):
    (row,) = person.rows("users")
    assert row[0] == person.key and SENDER not in repr(row)
    updated = person.store.db.execute("SELECT updated FROM users").fetchone()[0]
    assert person.store.purge(RETENTION, now=updated + RETENTION.state - 60)["users"] == 0
    assert person.store.purge(RETENTION, now=updated + RETENTION.state + 60)["users"] == 1


# --- 3. misses masked for {misses_days} days, scam marks for {scam_days} days, both tagged ---
@pytest.mark.parametrize("lang", LANGS)
def test_misses_and_scam_marks_are_said(content, lang):
    _said(content, "answer:bot_privacy", lang, {
        "en": ["masked questions", "{misses_days} days", "coded marks of messages", "{scam_days} days", "tagged"],
        "roman_ur": ["chhupa kr, {misses_days} din", "coded nishan ({scam_days} din", "tag ke saath"],
        "ur": ["چھپا کر، {misses_days} دن", "کوڈ شدہ نشان ({scam_days} دن", "ٹیگ کے ساتھ"]}[lang])


def test_misses_are_masked_and_scam_checks_kept_as_marks_both_tagged(person):
    (miss,) = person.rows("misses")
    text, who = miss[3], miss[4]
    assert who == person.tag and "<name>" in text and "<email>" in text
    assert not any(s in text for s in ("Sara", EMAIL, OTHER_NUMBER))
    (check,) = person.rows("scam_checks")
    assert check[1] == person.tag and "jazzcash" not in check[0].lower() and len(check[0]) <= 64
    now = time.time()
    assert person.store.purge(RETENTION, now=now + RETENTION.scam + 60)["scam_checks"] == 1
    assert person.store.purge(RETENTION, now=now + RETENTION.misses + 60)["misses"] == 1


# --- 4. breach alerts, only if turned on: the chat address encrypted, for a year ---
@pytest.mark.parametrize("lang", LANGS)
def test_alerts_are_said(content, lang):
    _said(content, "answer:bot_privacy", lang, {"en": ["only if you turn them on", "encrypted", "for a year"],
                                                 "roman_ur": ["sirf agar ap on krein", "encrypted", "ek saal"],
                                                 "ur": ["صرف اگر آپ آن کریں", "خفیہ", "ایک سال"]}[lang])


def test_alerts_keep_the_address_encrypted_for_a_year_only_after_a_yes(person, content, tmp_path):
    (created, expires, address) = person.alerts.db.execute(
        "SELECT created, expires, address FROM subscriptions").fetchone()
    assert expires - created == YEAR and SENDER.encode() not in address
    fresh = AlertStore(tmp_path / "fresh.db", b"pepper", Fernet.generate_key().decode())
    try:
        asker = Bot(content, Store(tmp_path / "fresh-bot.db"), SECRET, alerts=fresh)
        asker.respond(Incoming("whatsapp", SENDER, "notify me if my number leaks", verified_phone="+923001234567"))
        assert fresh.stats()["subscribers"] == 0  # asked, not turned on: nothing kept
    finally:
        asker.store.close()
        fresh.close()


# --- 5. "delete my data" erases all of the above; the limits stay apart and expire within a day ---
@pytest.mark.parametrize("lang", LANGS)
def test_delete_and_the_limits_are_said(content, lang):
    words = {"en": (["erases all of this", "kept apart", "expire within a day"],
                    ["language and chat state", "unanswered questions", "scam checks", "breach alerts",
                     "kept apart", "expire within a day"], ["everything linked to you is erased", "within a day"]),
             "roman_ur": (["ye sab mita deta hai", "alag", "ek din"],
                          ["zaban aur chat ki haalat", "na samjhe gaye sawal", "fraud checks", "leak alerts",
                           "alag rakhe jate hain", "ek din ke andar"], ["sab kuch mita diya gaya", "ek din ke andar"]),
             "ur": (["یہ سب مٹا دیتا ہے", "الگ", "ایک دن"],
                    ["زبان اور چیٹ کی حالت", "نہ سمجھے گئے سوال", "فراڈ چیک", "لیک الرٹس", "الگ رکھے جاتے ہیں",
                     "ایک دن کے اندر"], ["سب کچھ مٹا دیا گیا", "ایک دن کے اندر"])}[lang]
    for where, phrases in zip(("answer:bot_privacy", "system:delete_confirm", "system:deleted"), words, strict=True):
        _said(content, where, lang, phrases)


def test_delete_erases_all_of_it_and_the_limits_expire_within_a_day(person):
    assert person.rows("rates") and person.rows("lookups") == []  # no lookup yet: make one
    person.say("check my number", message_id="SM6")
    assert person.rows("lookups")
    person.say("delete my data", message_id="SM7")
    (done,) = person.say("yes", message_id="SM8")
    assert done.text == person.bot.content.text("deleted", "en")
    assert person.rows("users") == [] and person.rows("misses") == [] and person.rows("scam_checks") == []
    assert person.alerts.stats()["subscribers"] == 0
    limits = [r for t in ("rates", "lookups") for r in person.rows(t) if person.limits in repr(r)]
    assert limits  # kept apart, so that deleting cannot reset them...
    later = time.time() + 2 * DAY  # ...and gone within a day (a lookup counts until the next day ends)
    removed = person.store.purge(RETENTION, now=later)
    assert removed["rates"] >= 1 and removed["lookups"] >= 1
    assert [r for t in ("rates", "lookups") for r in person.rows(t) if person.limits in repr(r)] == []


# --- the full statement: message ids, the outbox and counts are not linked to anyone ---
def test_message_ids_replies_and_counts_are_not_linked_to_the_person(person):
    assert person.rows("seen") and all(person.key not in repr(r) and SENDER not in repr(r) for r in person.rows("seen"))
    assert person.rows("outbox") == []  # every reply was confirmed delivered: none held
    counts = person.store.db.execute("SELECT * FROM counts").fetchall()
    assert counts and all(len(r) == 4 for r in counts)  # day, intent, language, number: nothing else
    outcome = person.bot.handle(Incoming("whatsapp", SENDER, "hi", message_id="SM9"))  # not yet delivered
    assert len(person.rows("outbox")) == 1
    assert person.store.purge(RETENTION, now=time.time() + RETENTION.outbox + 60)["outbox"] == 1
    assert outcome.delivery and person.store.purge(RETENTION, now=time.time() + RETENTION.seen + 60)["seen"] >= 1


# --- 8. staff: the question masked until the next message; after a yes, the messages masked in
# the staff group, a case under a coded key, the address encrypted while open; {case_days} days
# after it ends the messages (its topic) go, times and counts stay; "delete my data" erases it ---
STAFF_SAID = {
    "en": ["your question, masked, until your next message", "after a yes, your messages, masked, in the staff's "
           "telegram group", "a case under a coded key", "encrypted while open",
           "{case_days} days after it ends, the messages go; times and counts stay",
           "erases the first and fifth to eighth points at once"],
    "roman_ur": ["ap ka sawal, chhupa kr, agle message tak", "haan ke baad ap ke messages, chhupa kr, staff ke "
                 "telegram group mein", "coded key ke neeche ek case", "encrypted jab tak khula hai",
                 "band hone ke {case_days} din baad messages mit jate hain; waqt aur ginti rehti hai",
                 "pehla aur panchwan se aathwan point foran mita deta hai"],
    "ur": ["آپ کا سوال، چھپا کر، اگلے پیغام تک", "ہاں کے بعد آپ کے پیغامات، چھپا کر، عملے کے ٹیلی گرام گروپ میں",
           "کوڈ شدہ کلید کے تحت ایک کیس", "چیٹ کا پتہ خفیہ جب تک کھلا ہے",
           "بند ہونے کے {case_days} دن بعد پیغامات مٹ جاتے ہیں؛ صرف وقت اور گنتی رہتی ہے",
           "پہلا اور پانچواں سے آٹھواں نکتہ فوراً مٹا دیتا ہے"],
}


@pytest.mark.parametrize("lang", LANGS)
def test_staff_is_said(content, lang):
    _said(content, "more:bot_privacy", lang, STAFF_SAID[lang])


class _Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_staff_is_true_of_what_the_code_keeps_and_erases(content, tmp_path):
    from bot.dialogue.desk import Desk
    from bot.state.cases import case_store

    store, clock = Store(tmp_path / "bot.db"), _Clock()
    desk = Desk(case_store(store), Fernet.generate_key().decode(), SECRET, clock=clock)
    bot = Bot(content, store, SECRET, desk=desk)
    key = user_key(SECRET, "whatsapp", SENDER)

    def say(text: str, who: str = SENDER) -> object:
        outcome = bot.handle(Incoming("whatsapp", who, text, verified_phone=who.removeprefix("whatsapp:")))
        for post in outcome.staff:
            if post.kind == "open":
                desk.cases.set_topic(post.case, "2")
        return outcome

    # the question, masked, until the next message
    say(f"my name is {NAME}, call {OTHER_NUMBER}: i need to talk to a real person")
    pending = store.get_user(key).pending
    assert "<name>" in pending and "<phone>" in pending and NAME not in pending and OTHER_NUMBER not in pending
    say("yes")
    assert store.get_user(key).pending is None
    # after a yes: a case under a coded key, the chat address encrypted while open
    (row,) = store.db.execute("SELECT person, address FROM cases").fetchall()
    assert row[0] == desk.ref(key) and row[0] != key and SENDER not in row[0]
    assert desk.unseal(row[1]) == SENDER and SENDER not in row[1]
    say("he threatens me")
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    for secret in (SENDER, "3001234567", NAME, OTHER_NUMBER, "he threatens me"):  # no message text kept either
        assert secret.encode() not in raw, secret
    say("end chat")
    (case,) = desk.cases.listing()
    assert case.address is None and case.state == "closed"
    # {case_days} days after it ends: unlinked, its topic listed for deletion; times and counts stay
    from bot.dialogue import desk_flow

    clock.now += RETENTION.cases - 60
    assert desk_flow.expired(bot) == []
    clock.now += 120
    (expired,) = desk_flow.expired(bot)
    assert expired.topic == "2"
    desk.cases.anonymise(expired)
    (left,) = desk.cases.listing()
    assert (left.person, left.topic, left.opened, left.closed, left.from_person) == \
        (None, None, case.opened, case.closed, 1)
    # "delete my data" erases a case at once, with its topic
    other = "whatsapp:+923217654321"
    say("talk to a real person", other)
    say("yes", other)
    say("delete my data", other)
    erased = say("yes", other)
    assert [p.kind for p in erased.staff] == ["erase"]
    assert [c.number for c in desk.cases.listing()] == [left.number]
    store.close()


# --- 6 and 4. the tipline: a scam's text masked, tagged, for {tipline_days} days; "tell me" keeps the
# chat address, encrypted, until staff decide, {tell_days} days at most; "delete my data" erases both ---
TIPLINE_SAID = {
    "answer:bot_privacy": {
        "en": ["a scam's text, masked, {tipline_days} days", "staff's verdict on a scam, only if you ask",
               "{tell_days} days at most"],
        "roman_ur": ["fraud ka text chhupa kr {tipline_days} din", "staff ka faisla sunne ko, sirf agar ap kahein",
                     "{tell_days} din tak"],
        "ur": ["فراڈ کا متن چھپا کر {tipline_days} دن", "عملے کا فیصلہ سننے کے لیے، صرف اگر آپ کہیں",
               "زیادہ سے زیادہ {tell_days} دن"]},
    "more:bot_privacy": {
        "en": ["with red flags, the text masked (no numbers, links, names), your tag, staff's verdict: "
               "{tipline_days} days after the last forward",
               "\"tell me\": your chat address, encrypted, till staff decide ({tell_days} days at most)"],
        "roman_ur": ["khatre ki nishani ho to text chhupa kr (number, link, naam nahi), tag, staff ka faisla: "
                     "aakhri forward se {tipline_days} din",
                     "\"mujhe batana\": chat address encrypted, faisle tak ({tell_days} din tak)"],
        "ur": ["خطرے کی نشانی ہو تو متن چھپا کر (نمبر، لنک، نام نہیں)، ٹیگ اور عملے کا فیصلہ: آخری فارورڈ کے "
               "{tipline_days} دن بعد تک", "\"مجھے بتائیں\": چیٹ کا پتہ خفیہ، فیصلے تک ({tell_days} دن تک)"]},
    "system:tipline_will_tell": {
        "en": ["only your chat address, encrypted", "at most {tell_days} days", "\"delete my data\" erases it"],
        "roman_ur": ["sirf ap ka chat address", "encrypted", "zyada se zyada {tell_days} din"],
        "ur": ["صرف آپ کا چیٹ کا پتہ", "خفیہ", "زیادہ سے زیادہ {tell_days} دن"]},
}
SCAMMER = "03451234567"
FORWARDED = ("URGENT: Dear Sara Ahmed, your JazzCash account will be blocked today. Verify your CNIC now at "
             "http://jazzcash-verify.example.top/login or call " + SCAMMER)


@pytest.mark.parametrize("lang", LANGS)
def test_tipline_is_said(content, lang):
    values = {**figures(RETENTION), "tell_days": str(RETENTION.tell // DAY)}
    for where, phrases in TIPLINE_SAID.items():
        if where.startswith("system:"):
            text = content.text(where[7:], lang, tell_days=values["tell_days"])
            assert all(p.format(**values).casefold() in text.casefold() for p in phrases[lang]), (where, lang)
        else:
            _said(content, where, lang, phrases[lang])


@pytest.fixture
def teller(content, tmp_path):
    """A bot on WhatsApp whose tipline can tell people later (BOT_ALERTS_KEY), and its store."""
    from bot.dialogue.tipline import Tipline
    from bot.state.tipline import tipline_store

    store = Store(tmp_path / "bot.db")
    bot = Bot(content, store, SECRET, tipline=Tipline(tipline_store(store), SECRET, Fernet.generate_key().decode()))
    yield bot, store
    store.close()


def _tell_row(store: Store) -> tuple | None:
    return store.db.execute("SELECT address, asked, expires, who FROM scam_followups").fetchone()


def test_the_scam_text_is_kept_masked_and_tagged_then_goes_after_its_retention(teller):
    bot, store = teller
    bot.respond(Incoming("whatsapp", SENDER, FORWARDED))
    (text,) = store.db.execute("SELECT text FROM scam_groups").fetchone()
    assert "<link>" in text and "<phone>" in text and "Dear <name>" in text
    for secret in (SCAMMER, "jazzcash-verify.example.top", "Sara", "Ahmed"):
        assert secret not in text, secret
    tag = keyed(SECRET, "records", user_key(SECRET, "whatsapp", SENDER), size=16)
    assert store.db.execute("SELECT who FROM scam_reports").fetchall() == [(tag,)]
    assert _tell_row(store) is None  # nothing to tell anyone: no address kept
    tipline = bot.tipline.store
    assert tipline.purge(RETENTION, now=time.time() + RETENTION.tipline - 60)["scam_groups"] == 0
    assert tipline.purge(RETENTION, now=time.time() + RETENTION.tipline + 60)["scam_groups"] == 1
    assert store.db.execute("SELECT count(*) FROM scam_reports").fetchone()[0] == 0


def test_tell_me_keeps_the_address_encrypted_only_after_asking_for_at_most_the_retention(teller):
    bot, store = teller
    (verdict, _) = bot.respond(Incoming("whatsapp", SENDER, FORWARDED))
    assert _tell_row(store) is None  # offered, not asked: nothing kept
    assert any(o.value.startswith("tipline:") for o in verdict.options)
    (done,) = bot.respond(Incoming("whatsapp", SENDER, "tell me"))
    assert done.text.startswith("Done:")
    address, asked, expires, who = _tell_row(store)
    assert SENDER not in address and "3001234567" not in address and bot.tipline.address(address) == SENDER
    assert expires - asked == RETENTION.tell
    assert bot.tipline.store.purge(RETENTION, now=asked + RETENTION.tell - 60)["scam_followups"] == 0
    assert bot.tipline.store.purge(RETENTION, now=asked + RETENTION.tell + 60)["scam_followups"] == 1
    assert _tell_row(store) is None


def test_a_follow_up_once_sent_is_forgotten(teller):
    bot, store = teller
    bot.respond(Incoming("whatsapp", SENDER, FORWARDED))
    bot.respond(Incoming("whatsapp", SENDER, "mujhe batana"))
    (group,) = bot.tipline.trending(1)
    assert bot.tipline.decide(group.id, "scam") == 1
    (followup,) = bot.tipline.store.claim(5, time.time())
    assert bot.tipline.store.start(followup, time.time())
    bot.tipline.store.sent(followup)
    assert _tell_row(store) is None and bot.tipline.store.counts()["followups_sent"] == 1


def test_delete_my_data_erases_the_tag_the_address_and_a_scam_only_they_forwarded(teller):
    bot, store = teller
    other = "whatsapp:+923217654321"
    bot.respond(Incoming("whatsapp", SENDER, FORWARDED))
    bot.respond(Incoming("whatsapp", SENDER, "tell me"))
    bot.respond(Incoming("whatsapp", SENDER, "Your Easypaisa wallet will be closed today, send your PIN to "
                                             "agent 03001112233 at once to keep it open, this is your final notice"))
    bot.respond(Incoming("whatsapp", other, FORWARDED.replace(SCAMMER, "03119998877")))
    assert [g.people for g in bot.tipline.trending(1)] == [2, 1]
    bot.respond(Incoming("whatsapp", SENDER, "delete my data"))
    bot.respond(Incoming("whatsapp", SENDER, "yes"))
    (left,) = bot.tipline.trending(1)
    assert left.people == 1 and "JazzCash" in left.text  # the other person's forward stays, unlinked to them
    assert _tell_row(store) is None
    assert store.db.execute("SELECT count(*) FROM scam_groups").fetchone()[0] == 1  # only theirs: gone
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert b"Easypaisa wallet will be closed" not in store.path.read_bytes()
