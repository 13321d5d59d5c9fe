"""SQLite storage (through sqlite-utils): per-user state under a keyed hash, anonymous
counts, redacted misses. Nothing here ever sees a raw channel id or phone number."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from bot.state.checkpointer import ROUND_BYTES, Checkpointer
from bot.understanding.redact import redact

DAY = 86400


@dataclass
class UserState:
    lang: str | None = None
    pinned: bool = False  # the person chose the language; do not follow detection
    pending: str | None = None  # a question the bot asked and awaits an answer to
    options: list[str] = field(default_factory=list)  # values of the last options offered
    answers: int = 0  # answers given, to ask "did this help?" only now and then


@dataclass(frozen=True)
class Retention:
    """How long rows live, in seconds."""

    state: int = 30 * DAY
    seen: int = 30 * DAY  # a replay of a captured request is refused for this long
    misses: int = 90 * DAY
    scam: int = 7 * DAY  # a scam fingerprint counts (and is kept) for a week
    outbox: int = 3600  # replies never confirmed delivered: channels stop re-delivering within the hour
    cases: int = 30 * DAY  # a closed desk case stays tied to its person (and its staff topic) this long
    tipline: int = 30 * DAY  # a scam group (masked text, who forwarded it) after its last forward
    tell: int = 7 * DAY  # an address kept to tell a person staff's verdict, at most


# Small rows written by (nearly) every message, keyed by text: see `Store._create`.
KEYED = {
    "users": "[key] TEXT PRIMARY KEY, [lang] TEXT, [pinned] INTEGER, [pending] TEXT, [options] TEXT,"
             " [answers] INTEGER, [updated] INTEGER",
    "seen": "[key] TEXT PRIMARY KEY, [at] INTEGER",
    "rates": "[key] TEXT PRIMARY KEY, [window] INTEGER, [n] INTEGER",
    "counts": "[day] TEXT, [intent] TEXT, [lang] TEXT, [n] INTEGER, PRIMARY KEY ([day], [intent], [lang])",
    "scam_checks": "[print] TEXT, [checker] TEXT, [at] INTEGER, PRIMARY KEY ([print], [checker])",
    "feedback": "[day] TEXT, [intent] TEXT, [lang] TEXT, [up] INTEGER, [down] INTEGER,"
                " PRIMARY KEY ([day], [intent], [lang])",
    "outbox": "[key] TEXT PRIMARY KEY, [at] FLOAT, [replies] TEXT",  # written and deleted by each message
}


class StoreBusy(sqlite3.OperationalError):
    """Another connection held the write lock past the busy timeout and the retries: nothing
    was done; the webhook should answer 503 so that the message is delivered again."""


class WouldWait(Exception):
    """Inside `Store.without_waiting`: the store would have had to wait for a lock."""


def private_file(path: Path) -> None:
    """Create `path` readable by its owner only (0600) if it is not there; SQLite gives its
    -wal and -shm files the same mode as the database file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def into_wal(conn: sqlite3.Connection, waits: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4, 0.8)) -> None:
    """Put the database in WAL mode. Two processes opening a new database at once (two alert
    senders) both need the whole file for that, and SQLite answers "locked" to one of them at
    once, without its busy wait (which would deadlock them): that one tries again."""
    for wait in (*waits, None):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if wait is None or ("locked" not in str(exc) and "busy" not in str(exc)):
                raise
            time.sleep(wait)


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        if str(path) != ":memory:":
            private_file(self.path)
        conn = sqlite3.connect(str(path), timeout=1.5, isolation_level=None, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        # One connection, used by the service's worker threads: a transaction holds this lock,
        # so that another thread's statements never slip into it.
        self.lock = threading.RLock()
        self.checkpointer: Checkpointer | None = None  # set by `checkpoint_in_background`
        self._no_wait = False  # inside `without_waiting` (its thread holds `lock`)
        into_wal(conn)
        # Durability trade-off (SECURITY.md): in WAL mode NORMAL syncs only at checkpoints, so a
        # power cut can lose the last commits since the last checkpoint, never corrupt the file.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten, not left in pages
        # Short: a wait blocks the event loop; past it (and two retries) the webhook answers 503.
        self.db.execute("PRAGMA busy_timeout=1500")
        self._create()

    def _create(self) -> None:
        db = self.db
        # The tables written by every message are keyed by text and WITHOUT ROWID: a rowid table
        # keyed by text is two b-trees (the rows and the key's index), so each write touched two
        # pages; here the rows sit in the key's b-tree. A database made before keeps its tables,
        # which take the same statements.
        for name, columns in KEYED.items():
            db.execute(f"CREATE TABLE IF NOT EXISTS [{name}] ({columns}) WITHOUT ROWID")
        if "answers" not in db["users"].columns_dict:  # a database from before feedback
            db["users"].add_column("answers", int, not_null_default=0)
        db["lookups"].create(
            {"id": int, "key": str, "day": int, "target": str, "kind": str}, pk="id", if_not_exists=True
        )
        db["hibp_catalogue"].create({"name": str, "item": str, "fetched": int}, pk="name",
                                    if_not_exists=True)
        db["misses"].create(
            {"id": int, "at": int, "lang": str, "text": str, "who": str}, pk="id", if_not_exists=True
        )
        if "who" not in db["misses"].columns_dict:  # a database from before "delete my data" took misses
            db["misses"].add_column("who", str)

    @contextmanager
    def transaction(self, backoff: tuple[float, ...] = (0.05, 0.1)) -> Iterator[None]:
        """All writes of one message commit together or not at all.

        The write lock is taken first (BEGIN IMMEDIATE), waiting up to the busy timeout; if
        another connection still holds it, BEGIN is tried again after each wait of `backoff`,
        then `StoreBusy` is raised before anything is read or written, so the message can be
        delivered again and handled whole."""
        with self.lock:
            if self.db.conn.in_transaction:  # nested (this thread holds the lock): part of it
                yield
                return
            yield from self._transaction(backoff)

    @contextmanager
    def without_waiting(self) -> Iterator[None]:
        """Run the block only if no lock must be waited for: another thread's transaction
        or another connection's write lock raises `WouldWait` at once, before anything is
        written. What the event loop uses, so that the common case costs no thread hop."""
        if not self.lock.acquire(blocking=False):
            raise WouldWait()
        try:
            self.db.execute("PRAGMA busy_timeout=0")
            self._no_wait = True
            try:
                yield
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise WouldWait() from exc
                raise
            finally:
                self._no_wait = False
                self.db.execute("PRAGMA busy_timeout=1500")
        finally:
            self.lock.release()

    def _transaction(self, backoff: tuple[float, ...]) -> Iterator[None]:
        conn = self.db.conn
        for wait in (*backoff, None):
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if self._no_wait:
                    raise WouldWait() from exc
                if wait is None:
                    raise StoreBusy(str(exc)) from exc
                time.sleep(wait)
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # a failed COMMIT must not leave the transaction open
                conn.execute("ROLLBACK")
            raise

    # --- per-user state ---
    def get_user(self, key: str) -> UserState | None:
        row = self.db.execute(
            "SELECT lang, pinned, pending, options, answers FROM users WHERE key = ?", [key]
        ).fetchone()
        if row is None:
            return None
        return UserState(row[0], bool(row[1]), row[2], json.loads(row[3] or "[]"), row[4] or 0)

    def save_user(self, key: str, state: UserState, now: float | None = None) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO users (key, lang, pinned, pending, options, answers, updated)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [key, state.lang, int(state.pinned), state.pending, json.dumps(state.options),
             state.answers, int(now or time.time())],
        )

    def delete_user(self, key: str, tag: str = "") -> None:
        """Remove everything tied to a person: their state, and the misses and scam checks
        marked with their `tag`. Not the limits (rate counter, lookup counts): those live under
        a key of their own, so that deleting cannot reset them, and expire by themselves.
        `wipe()` after the transaction also clears the old pages from the WAL file."""
        self.db.execute("DELETE FROM users WHERE key = ?", [key])
        if tag:
            self.db.execute("DELETE FROM misses WHERE who = ?", [tag])
            self.db.execute("DELETE FROM scam_checks WHERE checker = ?", [tag])

    def wipe(self) -> None:
        """Copy the WAL into the database and empty it, so deleted rows survive nowhere. With
        a background checkpointer, it retries until no reader holds the old pages; without
        one, it is tried here, once."""
        if self.checkpointer is not None:
            self.checkpointer.truncate_soon()
            return
        with self.lock:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def checkpoint_in_background(self, every: float = 1.0) -> Checkpointer:
        """Turn SQLite's automatic checkpoint off (it ran inside a commit, on the request
        path) and checkpoint from a thread of its own instead."""
        self.db.execute("PRAGMA wal_autocheckpoint=0")
        # A rewind cuts the WAL file back to a round's size: bounded on disk, and a file grown
        # past it is what tells the checkpointer a burst needs a round early.
        self.db.execute(f"PRAGMA journal_size_limit={ROUND_BYTES}")
        self.checkpointer = Checkpointer(self.path, every, hold=self.lock).start()
        return self.checkpointer

    # --- guards ---
    def first_delivery(self, key: str, now: float | None = None) -> bool:
        """Record a delivered message id; False when it was seen before."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO seen (key, at) VALUES (?, ?)", [key, int(now or time.time())]
        )
        return cursor.rowcount == 1

    def hit(self, key: str, window: int) -> int:
        """Count one message of a person in a time window; returns the count so far."""
        row = self.db.execute(
            "INSERT INTO rates (key, window, n) VALUES (?, ?, 1) ON CONFLICT(key) DO UPDATE SET"
            " n = CASE WHEN window = excluded.window THEN n + 1 ELSE 1 END, window = excluded.window"
            " RETURNING n",
            [key, window],
        ).fetchone()
        return int(row[0])

    # --- replies not yet delivered (the outbox) ---
    def hold_replies(self, key: str, replies: str, now: float | None = None) -> None:
        """Keep a message's replies (JSON) until the channel says they went out, so that a
        re-delivery after a crash gets them again instead of nothing."""
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO outbox (key, at, replies) VALUES (?, ?, ?)",
                            [key, now or time.time(), replies])

    def held_replies(self, key: str, held_since: float) -> str | None:
        """The replies held for a message since `held_since` or earlier (a younger hold is
        a delivery still under way, not one a crash left behind)."""
        row = self.db.execute(
            "SELECT replies FROM outbox WHERE key = ? AND at <= ?", [key, held_since]
        ).fetchone()
        return None if row is None else row[0]

    def delivered(self, key: str) -> None:
        with self.lock:
            self.db.execute("DELETE FROM outbox WHERE key = ?", [key])

    # --- breach lookups ---
    def lookups(self, key: str, day: int) -> tuple[int, set[str]]:
        """How many lookups a person made on `day`, and the (hashed) emails among them."""
        rows = self.db.execute(
            "SELECT target, kind FROM lookups WHERE key = ? AND day = ?", [key, day]
        ).fetchall()
        return len(rows), {target for target, kind in rows if kind == "email"}

    def add_lookup(self, key: str, day: int, target: str, kind: str) -> None:
        self.db.execute(
            "INSERT INTO lookups (key, day, target, kind) VALUES (?, ?, ?, ?)", [key, day, target, kind]
        )

    def hibp_catalogue(self) -> tuple[dict[str, dict], float]:
        """The cached HIBP breach catalogue by name, and when it was fetched (0: never)."""
        rows = self.db.execute("SELECT name, item, fetched FROM hibp_catalogue").fetchall()
        return {name: json.loads(item) for name, item, _ in rows}, min((r[2] for r in rows), default=0)

    def save_hibp_catalogue(self, items: dict[str, dict], now: float) -> None:
        with self.transaction():  # reentrant: alone (from a lookup's thread) or in a message's
            self.db.execute("DELETE FROM hibp_catalogue")
            self.db.conn.executemany(
                "INSERT INTO hibp_catalogue (name, item, fetched) VALUES (?, ?, ?)",
                [(name, json.dumps(item), int(now)) for name, item in items.items()],
            )

    def checked_message(self, fingerprint: str, checker: str, now: float | None = None) -> int:
        """Record a check of a message (by its fingerprint; `checker` is a keyed tag of the
        person and message); how many others checked it in the last 7 days."""
        now = int(now or time.time())
        self.db.execute(
            "INSERT INTO scam_checks (print, checker, at) VALUES (?, ?, ?)"
            " ON CONFLICT(print, checker) DO UPDATE SET at = excluded.at",
            [fingerprint, checker, now],
        )
        row = self.db.execute(
            "SELECT count(*) FROM scam_checks WHERE print = ? AND checker != ? AND at >= ?",
            [fingerprint, checker, now - Retention.scam],
        ).fetchone()
        return int(row[0])

    # --- anonymous records ---
    def count(self, intent: str, lang: str, now: float | None = None) -> None:
        self.db.execute(
            "INSERT INTO counts (day, intent, lang, n) VALUES (?, ?, ?, 1)"
            " ON CONFLICT(day, intent, lang) DO UPDATE SET n = n + 1",
            [_day(now), intent, lang],
        )

    def add_miss(self, text: str, lang: str, now: float | None = None, who: str = "") -> None:
        """`text` is masked here (`redact`, the one masker), whatever the caller did. `who`: the
        person's tag (a keyed hash, not their key), so "delete my data" takes it."""
        self.db.execute(
            "INSERT INTO misses (at, lang, text, who) VALUES (?, ?, ?, ?)",
            [int(now or time.time()), lang, redact(text), who or None],
        )

    def add_feedback(self, intent: str, lang: str, helpful: bool, now: float | None = None) -> None:
        """Count one 👍 or 👎 for an intent's answer; never tied to a person."""
        up, down = (1, 0) if helpful else (0, 1)
        self.db.execute(
            "INSERT INTO feedback (day, intent, lang, up, down) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(day, intent, lang) DO UPDATE SET up = up + excluded.up,"
            " down = down + excluded.down",
            [_day(now), intent, lang, up, down],
        )

    # --- reading the anonymous records (stats, misses, the admin page) ---
    def daily_counts(self, since_day: str) -> list[tuple[str, str, str, int]]:
        """(day, intent, lang, messages) from `since_day` (YYYY-MM-DD) on."""
        return self.db.execute(
            "SELECT day, intent, lang, n FROM counts WHERE day >= ? ORDER BY day, intent, lang", [since_day]
        ).fetchall()

    def daily_feedback(self, since_day: str) -> list[tuple[str, str, str, int, int]]:
        """(day, intent, lang, helpful, unhelpful) from `since_day` on."""
        return self.db.execute(
            "SELECT day, intent, lang, up, down FROM feedback WHERE day >= ? ORDER BY day, intent, lang",
            [since_day],
        ).fetchall()

    def recent_misses(self, since: float) -> list[tuple[int, str, str]]:
        """(time, lang, redacted text) of the messages not understood since `since`."""
        return self.db.execute(
            "SELECT at, lang, text FROM misses WHERE at >= ? ORDER BY at", [int(since)]
        ).fetchall()

    def ping(self) -> None:
        """Raise when the database does not answer."""
        self.db.execute("SELECT 1").fetchone()

    def purge(self, retention: Retention = Retention(), now: float | None = None) -> dict[str, int]:
        """Delete rows older than their retention; returns how many went from each table."""
        now = now or time.time()
        removed = {}
        with self.transaction():
            for table, column, age in (
                ("users", "updated", retention.state),
                ("seen", "at", retention.seen),
                ("misses", "at", retention.misses),
                ("rates", "window * 60", 3600),
                ("lookups", "(day + 1) * 86400", DAY),
                ("scam_checks", "at", retention.scam),
                ("outbox", "at", retention.outbox),
            ):
                cursor = self.db.execute(f"DELETE FROM {table} WHERE {column} < ?", [int(now - age)])
                removed[table] = cursor.rowcount
        return removed

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.db.conn.close()


def _day(now: float | None = None) -> str:
    """The UTC day, YYYY-MM-DD: how anonymous counts are bucketed."""
    return time.strftime("%Y-%m-%d", time.gmtime(now or time.time()))
