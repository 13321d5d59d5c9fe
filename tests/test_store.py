"""Retention is configurable and `python -m bot purge` applies it (Store.purge itself, for both
backends: tests/test_state.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import sqlite_utils

from bot.dialogue.core import Bot
from bot.dialogue.messages import Incoming
from bot.state.sqlite_store import DAY, KEYED, Store, UserState

ROOT = Path(__file__).resolve().parent.parent


def test_retention_is_configurable_and_the_cli_purges(tmp_path):
    db = tmp_path / "bot.db"
    store = Store(db)
    store.save_user("k", UserState(lang="en"), now=time.time() - 8 * DAY)
    store.close()
    env = {"BOT_DB": str(db), "BOT_SECRET": "x", "BOT_KEEP_STATE_DAYS": "7", "PATH": ""}
    out = subprocess.run([sys.executable, "-m", "bot", "purge"], env=env, capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout)["removed"]["users"] == 1


def test_the_wal_stays_bounded_under_writes_that_never_pause(tmp_path):
    """With checkpoints in the background and commits landing all the time, the WAL must
    still start over: before, it only grew (800 MB in 90 s of the soak)."""
    store = Store(tmp_path / "bot.db")
    checkpointer = store.checkpoint_in_background(every=0.05)
    wal = tmp_path / "bot.db-wal"
    rate, seconds = 2000, 3.0  # commits a second, each of a page or more: 24 MB in all
    largest, n, start = 0, 0, time.monotonic()
    while (elapsed := time.monotonic() - start) < seconds:
        while n < rate * elapsed:
            with store.transaction():
                store.db.execute("INSERT INTO seen (key, at) VALUES (?, ?)", [f"{n:06d}" + "x" * 3000, n])
            n += 1
        largest = max(largest, wal.stat().st_size)
        time.sleep(0.001)
    store.close()
    assert n > 0.8 * rate * seconds, "too few commits to show anything"
    assert checkpointer.rewinds > 10, checkpointer.rewinds
    # a rewind every 0.05 s: the WAL holds a few rounds' commits (a few MB; 8.5 MB seen on a
    # busy machine, where the checkpointer waits for a core), not all of them (24 MB or more)
    assert largest < 12 * 1024 * 1024, f"WAL reached {largest / 2**20:.1f} MB after {n} commits"


def test_a_new_database_keeps_each_message_s_rows_in_one_btree_and_an_old_one_still_works(tmp_path, content):
    """The tables every message writes are WITHOUT ROWID in a new database (half the page
    writes: bench/bench_pages.py); a database made before keeps its rowid tables and works."""
    store = Store(tmp_path / "new.db")
    tables = dict(store.db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall())
    assert all("WITHOUT ROWID" in tables[name] for name in KEYED)
    store.close()
    old = sqlite_utils.Database(tmp_path / "old.db")  # the tables as they were made before
    old["users"].create({"key": str, "lang": str, "pinned": int, "pending": str, "options": str,
                         "answers": int, "updated": int}, pk="key")
    old["seen"].create({"key": str, "at": int}, pk="key")
    old["rates"].create({"key": str, "window": int, "n": int}, pk="key")
    old["counts"].create({"day": str, "intent": str, "lang": str, "n": int}, pk=("day", "intent", "lang"))
    old.conn.close()
    store = Store(tmp_path / "old.db")
    bot = Bot(content, store, b"secret")
    outcome = bot.handle(Incoming("whatsapp", "+923001234567", "hi", message_id="SM1"))
    bot.delivered(outcome)
    assert outcome.status == "answered" and bot.handle(Incoming("whatsapp", "+923001234567", "hi",
                                                                message_id="SM1")).status == "duplicate"
    tables = dict(store.db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall())
    assert "WITHOUT ROWID" not in tables["users"] and "WITHOUT ROWID" in tables["scam_checks"]
    assert store.db.execute("SELECT count(*) FROM counts").fetchone()[0] == 1
    store.close()




def test_two_processes_opening_a_new_database_at_once_both_get_it(tmp_path):
    """Both need the whole new file to put it in WAL mode, and SQLite answered "locked" to one
    of them at once, without waiting: the alert sender run twice failed so. Pair after pair
    (two processes to a core), each pair opening its own new file at one instant: on the old
    code about one pair in three failed."""
    opening = ("import sys, time\nfrom bot.state.sqlite_store import Store\n"
               "at = float(sys.argv[2])\nwhile time.time() < at: pass\nStore(sys.argv[1]).close()")
    failed: list[str] = []
    for pair in range(8):
        at = time.time() + 0.8  # after both have imported the store
        both = [subprocess.Popen([sys.executable, "-c", opening, str(tmp_path / f"state{pair}.db"), str(at)],
                                 cwd=ROOT, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        failed += [err for p in both for err in [p.communicate(timeout=60)[1]] if p.returncode]
    assert not failed, failed[0]
