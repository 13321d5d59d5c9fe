"""The scam model beside the rules: shipped weights that match the data and rules they were
trained from, `scam eval` with its yardstick, and the service never loading scikit-learn."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.understanding.scam import ScamRules
from bot.understanding.scam_model import MODEL_FILE

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / "data" / "scam" / "model_record.json"
HELDOUT = ROOT / "data" / "scam" / "heldout.csv"


def test_the_shipped_model_was_trained_from_the_data_and_rules_in_the_clone():
    """Change the data or the rules' patterns and retrain (`python -m bot.understanding.scam_train`)."""
    from bot.understanding.scam_train import data_digest

    record = json.loads(RECORD.read_text(encoding="utf-8"))
    assert record["data_digest"] == data_digest()
    assert (ROOT / "intents" / MODEL_FILE).exists() and ScamRules.load().model is not None


def test_the_held_out_split_meets_the_bar_for_scams_and_ordinary_messages():
    report = json.loads(RECORD.read_text(encoding="utf-8"))["report"]["heldout"]["by_label"]
    assert report["scam"]["flagged"] >= 0.95 and report["scam"]["likely_scam"] >= 0.85
    assert report["legit"]["likely_scam"] <= 0.02 and report["legit"]["flagged"] <= 0.15


def test_scam_eval_puts_the_checker_ahead_of_its_yardstick_on_our_held_out_split():
    result = subprocess.run([sys.executable, "-m", "bot", "scam", "eval", str(HELDOUT), "--json"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    ours, theirs = found["checker"]["by_label"], found["yardstick"]["by_label"]
    # more scams flagged and called likely_scam, and no more false alarms on any other kind
    assert ours["scam"]["likely_scam"] > theirs["scam"]["likely_scam"]
    assert ours["scam"]["flagged"] > theirs["scam"]["flagged"]
    assert ours["marketing"]["likely_scam"] <= theirs["marketing"]["likely_scam"]
    assert ours["legit"]["likely_scam"] <= theirs["legit"]["likely_scam"]
    assert found["checker"]["per_verdict"]["likely_scam"]["precision"] >= 0.9


def test_scam_eval_refuses_an_unknown_label(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("text,label\nhello,spam?\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot", "scam", "eval", str(path), "--no-yardstick"],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2 and "label must be scam, marketing or legit" in result.stderr


def test_checking_a_message_loads_no_scikit_learn_or_scipy():
    code = ("import sys; from bot.understanding.scam import ScamRules; ScamRules.load().check('hello there friend');"
            "print(any(m.split('.')[0] in ('sklearn', 'scipy') for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.stdout.strip() == "False", result.stderr
