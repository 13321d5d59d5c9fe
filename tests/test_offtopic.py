"""Off-topic messages that share our words are not answered as ours: telecom services that are
not about safety (bundles, caller tunes, a phone's PTA tax), how-tos that share a word (a call
recorder app, a café's Wi-Fi password, unsending a message), language lessons ("password ko urdu
me kya kehte hain"), shops, cricket records, exams, jobs and loans. Messages that are ours and
share those words ("someone recorded my call and blackmails me") still are.

Measured on held-out sets written for this work, apart from the intent files, in three
languages: `holdout_offtopic.csv` (the bar) before any tuning, a smaller
`holdout_offtopic2.csv` after the first round of examples, and `holdout_offtopic3.csv`, written
before the second round (issue 29) and measured only before it (88.7% rejected) and after. Their
lines are never copied into `intents/`; that round was tuned on `tune_offtopic.csv` instead."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.content.evaluate import Tally, evaluate
from bot.understanding.matcher import OOS_MARGIN, asking_sentence
from tests.conftest import ROOT, SHARED

DATA = ROOT / "tests" / "data"
DEV_REAL = SHARED / "eval" / "dev_real.csv"
IN_SCOPE = 218 / 220  # in-scope accuracy on dev_real.csv before this work
# (file, off-topic rejected over all languages, in each language). Measured after issue 29's round:
# 97.5%, 98.8% and 99.3% (the lowest language 95.4%).
HOLDOUTS = [(DATA / f"holdout_offtopic{n}.csv", 0.95, 0.90) for n in ("", "2", "3")]


@pytest.mark.parametrize(("holdout", "rejected", "each_language"), HOLDOUTS, ids=[h.name for h, *_ in HOLDOUTS])
def test_near_misses_are_rejected_and_ours_still_answered(matcher, holdout: Path, rejected, each_language):
    report = evaluate(matcher, holdout)
    mistakes = report.confusions.most_common(10)
    assert _rejected(report.overall) >= rejected, mistakes
    assert _accuracy(report.overall) >= IN_SCOPE, mistakes
    for lang, tally in report.by_lang.items():
        if tally.out_of_scope:
            assert _rejected(tally) >= each_language, (lang, tally, mistakes)


@pytest.mark.skipif(not DEV_REAL.exists(), reason="../shared/eval/dev_real.csv is not beside the project")
def test_realistic_in_scope_accuracy_is_not_lost(matcher):
    report = evaluate(matcher, DEV_REAL)
    assert _accuracy(report.overall) >= IN_SCOPE, report.confusions.most_common(10)
    assert _rejected(report.overall) == 1.0, report.confusions.most_common(10)


def _accuracy(tally: Tally) -> float:
    return tally.correct / tally.in_scope


def _rejected(tally: Tally) -> float:
    return tally.rejected / tally.out_of_scope


def test_an_intent_must_be_clearly_ahead_of_out_of_scope(matcher):
    scores = np.full(len(matcher.intent_ids), -1.0, dtype=np.float32)
    vpn, off_topic = matcher.intent_ids.index("vpn_wifi"), matcher.intent_ids.index("out_of_scope")
    scores[vpn], scores[off_topic] = 0.3, 0.3 - OOS_MARGIN / 2
    assert matcher._near_miss(scores, 0.3)
    scores[off_topic] = 0.3 - OOS_MARGIN * 2
    assert not matcher._near_miss(scores, 0.3)


def test_the_asking_sentence_keeps_its_question_mark():
    # Urdu often asks with ؟ alone, without کیا: the question is still the asking sentence.
    assert asking_sentence("میرا نمبر کسی لیک میں آیا ہے؟ آج کل عجیب کالیں آ رہی ہیں") == "میرا نمبر کسی لیک میں آیا ہے؟"
    assert asking_sentence("my number got leaked? everyone in my family says so") == "my number got leaked?"
    assert asking_sentence("is public wifi safe?") is None


def test_a_short_follow_up_does_not_displace_the_question():
    text = "zong walon ko meri location kaise mili, franchise se nikali hogi? sach me?"
    assert asking_sentence(text) == "zong walon ko meri location kaise mili, franchise se nikali hogi?"
