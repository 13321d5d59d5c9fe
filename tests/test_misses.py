"""Misses grouped by similarity, usage stats, content review warnings, and the `intents misses`
and `intents stats` commands, including the maintainer's path: a message that fell back
disappears from `intents misses` once a new intent covers it."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bot.content.check import (
    _fact_agreement_problems,
    _staleness_warnings,
    _translation_warnings,
    stale_facts,
    stale_intents,
)
from bot.content.load import FACT_REF, shown_texts
from bot.dialogue.core import Bot
from bot.dialogue.messages import Incoming
from bot.ops.misses import format_misses, group_misses, mark_covered, miss_report
from bot.ops.stats import compute, format_stats, period_of, stats
from bot.state.sqlite_store import DAY, Store

ROOT = Path(__file__).resolve().parent.parent

NOW = time.time()

PASSPORT = """\
id: passport_renewal
reviewed: {today}
title: {{en: Passport renewal, roman_ur: Passport renew, ur: پاسپورٹ کی تجدید}}
examples:
  en: [how do i renew my passport, renew passport online, passport renewal, my passport expired what do i do]
  roman_ur: [passport renew kaise karun, passport renew karna hai, passport expire ho gaya]
  ur: [پاسپورٹ کی تجدید کیسے کروں, پاسپورٹ کی میعاد ختم ہو گئی, پاسپورٹ تجدید]
answer:
  en: Mehfooz helps with privacy and scams, not passports; ask the passport office.
  roman_ur: Mehfooz privacy aur scams mein madad karta hai, passport mein nahi; passport office se poochein.
  ur: محفوظ پرائیویسی اور فراڈ میں مدد کرتا ہے، پاسپورٹ میں نہیں؛ پاسپورٹ دفتر سے پوچھیں۔
"""


def rows(*items: tuple[str, str]) -> list[tuple[int, str, str]]:
    return [(int(NOW) + i, lang, text) for i, (text, lang) in enumerate(items)]


# --- grouping ---
def test_alike_misses_form_one_group_with_count_examples_and_languages(matcher):
    misses = rows(
        *[("how do i renew my passport", "en")] * 3,
        ("how can i renew my passport online", "en"),
        ("How do I renew my passport??", "en"),
        ("what is the weather in lahore", "en"),
        ("weather in lahore today", "en"),
        ("lahore ka mausam kaisa hai", "roman_ur"),
    )
    groups = group_misses(misses, matcher.normaliser.normalise)
    passport, weather, mausam = groups
    assert passport.representative == "how do i renew my passport"
    assert passport.count == 5 and passport.langs == {"en": 5}
    assert set(passport.examples) == {"how can i renew my passport online", "How do I renew my passport??"}
    assert (weather.count, set([weather.representative, *weather.examples])) == (
        2, {"what is the weather in lahore", "weather in lahore today"})
    assert (mausam.count, mausam.langs) == (1, {"roman_ur": 1})
    assert passport.first_seen == misses[0][0] and passport.last_seen == misses[4][0]


def test_a_short_frequent_miss_does_not_swallow_longer_ones(matcher):
    misses = rows(*[("help", "en")] * 5, ("help me with my visa application form", "en"))
    groups = group_misses(misses, matcher.normaliser.normalise)
    assert [(g.representative, g.count) for g in groups] == [
        ("help", 5), ("help me with my visa application form", 1)]


def test_texts_without_words_group_together_apart_from_the_others(matcher):
    groups = group_misses(rows(("👍👍", "en"), ("🙏", "en"), ("ok thanks 👍", "en")), matcher.normaliser.normalise)
    assert [(g.count, g.representative) for g in groups] == [(2, "👍👍"), (1, "ok thanks 👍")]


def test_groups_are_marked_with_what_the_content_now_answers(matcher):
    groups = group_misses(rows(("marketing calls kese band karun", "roman_ur"),
                               ("how do i renew my passport", "en")), matcher.normaliser.normalise)
    by_text = {g.representative: g for g in mark_covered(groups, matcher)}
    assert by_text["marketing calls kese band karun"].answered_by == "stop_marketing_calls"
    assert by_text["marketing calls kese band karun"].covered
    assert not by_text["how do i renew my passport"].covered


def test_miss_report_reads_the_window_from_the_store(store, content, matcher):
    store.add_miss("how do i renew my passport", "en", now=NOW - 2 * DAY)
    store.add_miss("how to renew my passport", "en", now=NOW - 40 * DAY)
    assert [g.count for g in miss_report(store, content, days=7, matcher=matcher)] == [1]
    assert [g.count for g in miss_report(store, content, days=60, matcher=matcher)] == [2]


def test_the_terminal_report_strips_control_characters(matcher):
    groups = group_misses(rows(("evil \x1b[2J\x1b]0;title\x07 text\u202e", "en")), matcher.normaliser.normalise)
    text = format_misses(groups, 30, show_covered=True)
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "evil" in text


# --- stats ---
def test_stats_per_day_fill_the_window_and_compute_rates():
    since, until = dt.date(2026, 11, 1), dt.date(2026, 11, 7)
    counts = [
        ("2026-10-31", "greeting", "en", 50),  # before the window
        ("2026-11-02", "greeting", "en", 6), ("2026-11-02", "fallback", "en", 2),
        ("2026-11-02", "fallback", "ur", 2), ("2026-11-05", "check_breach", "roman_ur", 10),
    ]
    feedback = [("2026-11-02", "greeting", "en", 3, 1), ("2026-11-05", "check_breach", "roman_ur", 1, 4)]
    s = compute(counts, feedback, since, until)
    assert [p for p, _ in s.periods] == [f"2026-11-0{d}" for d in range(1, 8)]
    day = dict(s.periods)["2026-11-02"]
    assert (day.messages, day.fallback, day.fallback_rate, day.helpful) == (10, 4, 0.4, 0.75)
    assert dict(s.periods)["2026-11-01"].fallback_rate is None
    assert (s.total.messages, s.total.fallback, s.total.up, s.total.down) == (20, 4, 4, 5)
    assert [i for i, _ in s.intents] == ["check_breach", "greeting", "fallback"]
    assert dict(s.intents)["check_breach"].helpful == 0.2
    assert dict(s.langs)["en"].fallback_rate == 0.25 and dict(s.langs)["ur"].fallback_rate == 1.0
    assert ("2026-11-02", "fallback", "ur") in {r[:3] for r in s.rows}
    text = format_stats(s)
    assert "40.0%" in text and "75.0% (3/1)" in text and "check_breach" in text


def test_stats_per_week_start_on_mondays():
    assert period_of("2026-11-23", "week") == "2026-11-23"  # a Monday
    assert period_of("2026-11-29", "week") == "2026-11-23"
    s = compute([("2026-11-20", "greeting", "en", 1), ("2026-11-24", "greeting", "en", 2)], [],
                dt.date(2026, 11, 16), dt.date(2026, 11, 29), by="week")
    assert [(p, f.messages) for p, f in s.periods] == [("2026-11-16", 1), ("2026-11-23", 2)]


def test_stats_read_the_store(store):
    for _ in range(3):
        store.count("fallback", "en", now=NOW - DAY)
    store.count("greeting", "en", now=NOW - DAY)
    store.count("greeting", "en", now=NOW - 10 * DAY)
    store.add_feedback("greeting", "en", True, now=NOW)
    s = stats(store, days=7, now=NOW)
    assert (s.total.messages, s.total.fallback, s.total.fallback_rate, s.total.helpful) == (4, 3, 0.75, 1.0)
    assert len(s.periods) == 7


# --- content review ---
def test_review_warns_about_old_facts_and_old_or_missing_reviews(content):
    some = next(iter(content.intents.values()))
    unreviewed = replace(some, reviewed=None)
    later = replace(content, intents={**content.intents, some.id: unreviewed})
    today = max(f.checked for f in content.facts.values()) + dt.timedelta(days=181)
    assert stale_facts(later, today) and {f.key for f in stale_facts(later, today)} <= set(content.facts)
    assert stale_intents(later, today) == [unreviewed]  # the others were reviewed within the year
    warnings = _staleness_warnings(later, today)
    assert any("was last checked" in w and "over 180 days" in w for w in warnings)
    assert f"{some.path}: no 'reviewed: YYYY-MM-DD' date: review it and add one" in warnings
    assert stale_facts(content, min(f.checked for f in content.facts.values())) == []


def test_review_warns_about_thin_or_unequal_translations(content):
    intent = content.intents["stop_marketing_calls"]
    thin = replace(intent, examples={**intent.examples, "ur": intent.examples["ur"][:3]},
                   answer={**intent.answer, "ur": "بس رجسٹر کریں"})
    warnings = _translation_warnings(replace(content, intents={intent.id: thin}))
    assert any("only 3 example(s) in 'ur'" in w for w in warnings)
    assert _translation_warnings(replace(content, intents={intent.id: intent})) == []
    # an answer that leaves out a fact the other languages give is no longer a warning but a problem
    texts = shown_texts(replace(content, intents={intent.id: thin}, system={}, catalogue={}))
    assert _fact_agreement_problems(texts) == [
        f"{intent.path}: answer: the 'ur' text leaves out "
        + ", ".join(f"{{{k}}}" for k in sorted(set(FACT_REF.findall(intent.answer["en"]))))
    ]


# --- the commands ---
def run(args: list[str], db: Path, intents: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "BOT_DB": str(db), "BOT_SECRET": "test"}
    if intents:
        env["BOT_INTENTS"] = str(intents)
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)


def test_stats_command_text_and_json(tmp_path):
    store = Store(tmp_path / "bot.db")
    for _ in range(4):
        store.count("check_breach", "ur")
    store.count("fallback", "ur")
    store.add_feedback("check_breach", "ur", False)
    store.close()
    data = json.loads(run(["intents", "stats", "--days", "3", "--json"], tmp_path / "bot.db").stdout)
    assert len(data["periods"]) == 3
    assert data["total"] == {"messages": 5, "fallback": 1, "up": 0, "down": 1, "fallback_rate": 0.2,
                             "helpful": 0.0}
    assert data["intents"][0] == {"intent": "check_breach", "messages": 4, "fallback": 0, "up": 0, "down": 1,
                                  "fallback_rate": 0.0, "helpful": 0.0}
    text = run(["intents", "stats", "--by", "week"], tmp_path / "bot.db")
    assert text.returncode == 0 and "per week" in text.stdout and "20.0%" in text.stdout
    assert run(["intents", "stats", "--days", "0"], tmp_path / "bot.db").returncode == 2


@pytest.fixture
def fallen_back(tmp_path, content) -> Path:
    """A database where real messages fell back through the bot's core."""
    store = Store(tmp_path / "bot.db")
    bot = Bot(content, store, b"test-secret")
    texts = ["how do i renew my passport", "How do I renew my passport?", "how can i renew my passport online",
             "what is the weather in lahore", "marketing calls kese band karun"]
    for n, text in enumerate(texts):
        bot.handle(Incoming("terminal", f"user{n}", text))
    store.close()
    return tmp_path / "bot.db"


def test_a_new_intent_takes_its_misses_off_the_report(tmp_path, fallen_back):
    before = json.loads(run(["intents", "misses", "--json"], fallen_back).stdout)
    assert [(g["count"], "passport" in g["representative"]) for g in before["groups"]] == [(3, True), (1, False)]
    assert before["groups"][1]["representative"] == "what is the weather in lahore"
    assert before["hidden"] == 0  # "marketing calls kese band karun" was answered: never a miss
    # the maintainer adds an intent for the largest group; the check passes
    intents = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", intents)
    (intents / "passport_renewal.yaml").write_text(PASSPORT.format(today=dt.date.today()), encoding="utf-8")
    check = run(["intents", "check"], fallen_back, intents)
    assert check.returncode == 0, check.stdout
    after = json.loads(run(["intents", "misses", "--json"], fallen_back, intents).stdout)
    assert [g["representative"] for g in after["groups"]] == ["what is the weather in lahore"]
    assert after["hidden"] == 1
    everything = json.loads(run(["intents", "misses", "--json", "--all"], fallen_back, intents).stdout)
    passport = next(g for g in everything["groups"] if g["count"] == 3)
    assert passport["covered"] and passport["answered_by"] == "passport_renewal"
    text = run(["intents", "misses", "--all"], fallen_back, intents).stdout
    assert "now: passport_renewal" in text and "weather in lahore" in text
    hidden = run(["intents", "misses"], fallen_back, intents).stdout
    assert "passport" not in hidden and "1 group(s) that the current content now answers are hidden" in hidden


def test_check_warns_but_passes_on_stale_content(tmp_path):
    intents = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", intents)
    facts = intents / "facts.yaml"
    text = facts.read_text(encoding="utf-8")
    facts.write_text(re.sub(r"(?m)^  checked: .*$", "  checked: 2020-01-01", text, count=1), encoding="utf-8")
    thanks = intents / "thanks.yaml"
    text = thanks.read_text(encoding="utf-8")
    thanks.write_text(re.sub(r"(?m)^reviewed: .*$", "reviewed: 2020-01-01", text, count=1), encoding="utf-8")
    result = run(["intents", "check"], tmp_path / "bot.db", intents)
    assert result.returncode == 0, result.stdout
    assert "warning: facts.yaml: dncr.number was last checked 2020-01-01 (over 180 days ago)" in result.stdout
    assert "warning: thanks.yaml: last reviewed 2020-01-01 (over a year ago)" in result.stdout
    assert "2 warning(s)" in result.stdout
