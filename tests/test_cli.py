"""The command line end to end, in a subprocess, as a maintainer or a script would use it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def run(args, tmp_path, stdin="", env=None):
    environment = {**os.environ, "BOT_DB": str(tmp_path / "var" / "bot.db"), **(env or {})}
    environment.pop("BOT_SECRET", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
        cwd=ROOT, env=environment, timeout=120,
    )


def test_chat_piped_gives_one_block_per_line(tmp_path):
    result = run(["chat"], tmp_path, stdin="hi\nhow do i stop marketing calls\n1\n")
    assert result.returncode == 0, result.stderr
    blocks = [b.strip() for b in result.stdout.split("---") if b.strip()]
    assert len(blocks) == 3
    assert "3627" in blocks[1] and "1. " in blocks[1] and "Reply with a number" in blocks[1]
    # a secret was generated beside the database, so the chat needed no setup
    assert (tmp_path / "var" / "secret.key").stat().st_mode & 0o077 == 0


def test_piped_chat_answers_every_line_with_no_rate_limit(tmp_path):
    questions = ["hi", "how do i stop marketing calls", "mera whatsapp hack ho gaya", "was i leaked",
                 "پی ٹی اے کو شکایت کیسے کریں", "thanks"] * 7
    result = run(["chat"], tmp_path, stdin="\n".join(questions[:40]) + "\n")
    assert result.returncode == 0, result.stderr
    blocks = result.stdout.split("---")[:-1]
    assert len(blocks) == 40 and all(block.strip() for block in blocks)
    assert "wait a minute" not in result.stdout


def test_chat_state_survives_restarts(tmp_path):
    run(["chat"], tmp_path, stdin="urdu mein jawab do\n")
    result = run(["chat"], tmp_path, stdin="how do i stop marketing calls\n")
    assert "ایس ایم ایس" in result.stdout


def test_match_json_one_object_per_line(tmp_path):
    stdin = "was i leaked\nکیا میرا ڈیٹا لیک ہوا ہے\nwhat is the weather in lahore\n"
    result = run(["match", "--json"], tmp_path, stdin=stdin)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["intent"] for r in rows] == ["check_breach", "check_breach", None]
    assert [r["lang"] for r in rows] == ["en", "ur", "en"]
    assert all(set(r) == {"text", "intent", "score", "lang"} for r in rows)
    assert rows[1]["text"] == "کیا میرا ڈیٹا لیک ہوا ہے"


def test_match_text_argument(tmp_path):
    result = run(["match", "--json", "marketing calls kese band karun"], tmp_path)
    assert json.loads(result.stdout)["intent"] == "stop_marketing_calls"


def test_intents_check_passes_on_the_shipped_content(tmp_path):
    result = run(["intents", "check"], tmp_path)
    assert result.returncode == 0, result.stdout
    assert "OK" in result.stdout


@pytest.fixture
def broken_intents(tmp_path) -> Path:
    directory = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", directory)
    thanks = directory / "thanks.yaml"
    text = thanks.read_text(encoding="utf-8")
    text = text.replace("answer:\n  en: |\n", "answer:\n  en: |\n    Call {no.such_fact}.\n", 1)
    thanks.write_text(text, encoding="utf-8")
    goodbye = directory / "goodbye.yaml"
    goodbye.write_text(goodbye.read_text(encoding="utf-8").replace("  ur:", "  urdu_typo:"), encoding="utf-8")
    (directory / "copycat.yaml").write_text(
        "id: copycat\nreviewed: 2026-11-22\n"
        "title: {en: Copy, roman_ur: Copy, ur: نقل}\n"
        "examples:\n  en: [how do i stop marketing calls]\n  roman_ur: [copy wala]\n  ur: [نقل والا]\n"
        "answer: {en: x, roman_ur: x, ur: x}\n",
        encoding="utf-8",
    )
    return directory


def test_intents_check_reports_each_problem(tmp_path, broken_intents):
    result = run(["intents", "check"], tmp_path, env={"BOT_INTENTS": str(broken_intents)})
    assert result.returncode == 1
    out = result.stdout
    assert "unknown fact key '{no.such_fact}'" in out
    assert "goodbye.yaml: no examples in 'ur'" in out
    assert "'how do i stop marketing calls' is in several intents" in out


def test_intents_eval_prints_accuracy_per_language(tmp_path):
    csv = tmp_path / "set.csv"
    csv.write_text("text,intent,lang\nwas i leaked,check_breach,en\nweather in karachi,none,en\n"
                   "mera whatsapp hack ho gaya,account_hacked,roman_ur\n", encoding="utf-8")
    result = run(["intents", "eval", str(csv), "--json"], tmp_path)
    data = json.loads(result.stdout)
    assert data["accuracy"] == 1.0 and data["rejection"] == 1.0
    assert set(data["by_lang"]) == {"en", "roman_ur"}
    assert data["yardstick"]["accuracy"] is not None
    text = run(["intents", "eval", str(csv)], tmp_path).stdout
    assert "in-scope accuracy" in text and "roman_ur" in text
    assert "yardstick" in text and "margin over the yardstick" in text


def test_intents_export_and_new(tmp_path):
    exported = json.loads(run(["intents", "export"], tmp_path).stdout)
    ids = {item["id"] for item in exported}
    assert "stop_marketing_calls" in ids
    first = exported[0]["examples"][0]
    assert set(first) == {"text", "lang"}
    directory = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", directory)
    env = {"BOT_INTENTS": str(directory)}
    assert run(["intents", "new", "sim_recovery"], tmp_path, env=env).returncode == 0
    assert (directory / "sim_recovery.yaml").exists()
    # the skeleton loads, and the check asks for it to be filled in (duplicate TODO examples)
    check = run(["intents", "check"], tmp_path, env=env)
    assert check.returncode == 1 and "sim_recovery" in check.stdout
