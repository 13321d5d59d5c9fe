"""Retention is configurable and `python -m bot purge` applies it (Store.purge itself, for both
backends: tests/test_state.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from bot.state.sqlite_store import DAY, Store, UserState


def test_retention_is_configurable_and_the_cli_purges(tmp_path):
    db = tmp_path / "bot.db"
    store = Store(db)
    store.save_user("k", UserState(lang="en"), now=time.time() - 8 * DAY)
    store.close()
    env = {"BOT_DB": str(db), "BOT_SECRET": "x", "BOT_KEEP_STATE_DAYS": "7", "PATH": ""}
    out = subprocess.run([sys.executable, "-m", "bot", "purge"], env=env, capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout)["removed"]["users"] == 1
