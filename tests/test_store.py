"""Retention: rows expire on time, by `Store.purge` and by `python -m bot purge`."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from bot.store import DAY, Retention, Store, UserState


def test_rows_expire_after_their_retention(store: Store):
    now = time.time()
    store.save_user("old", UserState(lang="ur"), now=now - 31 * DAY)
    store.save_user("new", UserState(lang="en"), now=now - 29 * DAY)
    store.first_delivery("seen-old", now=now - 3 * DAY)
    store.first_delivery("seen-new", now=now - DAY)
    store.add_miss("old miss", "en", now=now - 91 * DAY)
    store.add_miss("new miss", "en", now=now - 89 * DAY)
    store.add_lookup("someone", int(now // DAY) - 3, "t", "email")
    removed = store.purge(Retention(), now=now)
    assert removed == {"users": 1, "seen": 1, "misses": 1, "rates": 0, "lookups": 1, "scam_checks": 0, "outbox": 0}
    assert store.get_user("old") is None and store.get_user("new") is not None
    assert [r["text"] for r in store.db["misses"].rows] == ["new miss"]


def test_retention_is_configurable_and_the_cli_purges(tmp_path):
    db = tmp_path / "bot.db"
    store = Store(db)
    store.save_user("k", UserState(lang="en"), now=time.time() - 8 * DAY)
    store.close()
    env = {"BOT_DB": str(db), "BOT_SECRET": "x", "BOT_KEEP_STATE_DAYS": "7", "PATH": ""}
    out = subprocess.run([sys.executable, "-m", "bot", "purge"], env=env, capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout)["removed"]["users"] == 1
