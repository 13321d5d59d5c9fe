"""Breach alerts: who asked to be told when their own number shows up in a list imported
later, and the alerts queued for them. Its own SQLite file (BOT_ALERTS_DB).

A subscription keeps the least that lets us match and deliver, and nothing readable alone:
- the person's key (the keyed hash under BOT_SECRET the state store uses), to find the
  subscription again for "stop alerts" and "delete my data";
- the number as the breach index's keyed hash (HMAC under BREACH_PEPPER, 16 bytes), so that
  an import can match it without the number ever being stored;
- the channel address (Telegram chat id, WhatsApp address) encrypted with Fernet under
  BOT_ALERTS_KEY, which is not in the file;
- the language and the end date (a year after subscribing or renewing).

Each alert is one row per (subscription, breach): queued, claimed a few at a time by one
sender inside a write transaction (so two senders never take the same row) under a lease,
marked 'sending' just before it goes, then sent, retried later or failed. A sender starts an
alert only while its lease holds; a claim whose lease ran out (its sender died) is taken back
by the next claim: alerts never started go back to the queue, and the one that was going
(it may have gone) is sent again, so a crash loses none and doubles at most one."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.breaches.index import HASH_BYTES, Breach, keyed_hasher, normalise_identifier
from bot.state.sqlite_store import into_wal

DAY = 86400
YEAR = 365 * DAY  # a subscription ends this long after it was made or last renewed
LEASE = 60.0  # seconds a sender's claim lasts: after that another sender takes the alerts back
MAX_ATTEMPTS = 5


class AlertsOff(RuntimeError):
    """BOT_ALERTS_KEY is not set (or not a Fernet key): nothing can be encrypted."""


def fernet(keys: str) -> MultiFernet:
    """BOT_ALERTS_KEY: one Fernet key, or several separated by commas (the first encrypts,
    all decrypt), so that a key can be rotated without losing the subscriptions."""
    try:
        return MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])
    except ValueError as exc:  # not 32 url-safe base64-encoded bytes, or no key at all
        raise AlertsOff("BOT_ALERTS_KEY is not a Fernet key (see the README)") from exc


@dataclass(frozen=True)
class Subscription:
    channel: str
    lang: str
    expires: int


@dataclass(frozen=True)
class Due:
    """A claimed alert, ready to send: the address decrypted, only in memory."""

    id: int
    channel: str
    address: str
    lang: str
    breach: Breach
    attempts: int
    claimed: float = 0.0  # the claim's time stamp: the sender's proof that the alert is its own


class AlertStore:
    def __init__(self, path: str | Path, pepper: bytes, keys: str = "", lease: float = LEASE):
        self.path = Path(path)
        self.lease = lease
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._hash = keyed_hasher(pepper)
        self._fernet = fernet(keys) if keys else None
        self.db = sqlite3.connect(str(self.path), timeout=5.0, isolation_level=None, check_same_thread=False)
        into_wal(self.db)
        self.db.execute("PRAGMA synchronous=NORMAL")  # as the state store: no fsync per commit in WAL
        self.db.execute("PRAGMA secure_delete=ON")  # a deleted subscription is overwritten
        self._create()

    def _create(self) -> None:
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS subscriptions (id INTEGER PRIMARY KEY, person TEXT UNIQUE NOT NULL,
                number BLOB NOT NULL, channel TEXT NOT NULL, address BLOB NOT NULL, lang TEXT NOT NULL,
                created INTEGER NOT NULL, expires INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS subscriptions_number ON subscriptions (number);
            CREATE TABLE IF NOT EXISTS breaches (slug TEXT PRIMARY KEY, name TEXT NOT NULL, date TEXT,
                data TEXT);
            CREATE TABLE IF NOT EXISTS alerts (id INTEGER PRIMARY KEY, subscription INTEGER NOT NULL,
                breach TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'queued', attempts INTEGER NOT NULL
                DEFAULT 0, due REAL NOT NULL, claimed REAL, UNIQUE (subscription, breach));
            CREATE INDEX IF NOT EXISTS alerts_due ON alerts (state, due);
        """)

    @property
    def enabled(self) -> bool:
        return self._fernet is not None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, the lock taken first (BEGIN IMMEDIATE): what another sender
        claims in between is never seen half-done."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise

    # --- subscriptions ---
    def subscribe(self, person: str, channel: str, address: str, phone: str, lang: str,
                  now: float | None = None) -> int:
        """Subscribe (or renew, with this number) for a year; returns the end time."""
        if self._fernet is None:
            raise AlertsOff("BOT_ALERTS_KEY is not set")
        e164 = normalise_identifier(phone)
        if e164 is None:
            raise ValueError("not a phone number")
        now = int(now or time.time())
        token = self._fernet.encrypt(address.encode())
        with self._write() as db:
            db.execute(
                "INSERT INTO subscriptions (person, number, channel, address, lang, created, expires)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(person) DO UPDATE SET number = excluded.number,"
                " channel = excluded.channel, address = excluded.address, lang = excluded.lang,"
                " expires = excluded.expires",
                [person, self._hash(e164), channel, token, lang, now, now + YEAR],
            )
        return now + YEAR

    def renew(self, person: str, lang: str, now: float | None = None) -> int | None:
        """Another year for a live subscription; None when there is none."""
        now = int(now or time.time())
        cursor = self.db.execute(
            "UPDATE subscriptions SET expires = ?, lang = ? WHERE person = ? AND expires > ?",
            [now + YEAR, lang, person, now],
        )
        return now + YEAR if cursor.rowcount else None

    def subscription(self, person: str, now: float | None = None) -> Subscription | None:
        row = self.db.execute(
            "SELECT channel, lang, expires FROM subscriptions WHERE person = ? AND expires > ?",
            [person, int(now or time.time())],
        ).fetchone()
        return Subscription(*row) if row else None

    def unsubscribe(self, person: str) -> bool:
        """End a subscription at once, with its alerts; the freed pages are overwritten
        (secure_delete) and the WAL emptied, so the rows survive in neither file."""
        with self._write() as db:
            row = db.execute("SELECT id FROM subscriptions WHERE person = ?", [person]).fetchone()
            if row:
                db.execute("DELETE FROM alerts WHERE subscription = ?", [row[0]])
                db.execute("DELETE FROM subscriptions WHERE id = ?", [row[0]])
        if row:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return row is not None

    def purge(self, now: float | None = None) -> int:
        """Delete the subscriptions past their end, with their alerts; how many went."""
        now = int(now or time.time())
        with self._write() as db:
            db.execute("DELETE FROM alerts WHERE subscription IN"
                       " (SELECT id FROM subscriptions WHERE expires <= ?)", [now])
            gone = db.execute("DELETE FROM subscriptions WHERE expires <= ?", [now]).rowcount
        return gone

    # --- matching an import ---
    def watched(self, now: float | None = None) -> np.ndarray:
        """The live subscribers' number hashes as sorted rows of two big-endian 64-bit
        halves: what `BreachIndex.import_lines` looks for in each batch it writes."""
        rows = self.db.execute(
            "SELECT number FROM subscriptions WHERE expires > ?", [int(now or time.time())]
        ).fetchall()
        keys = np.frombuffer(b"".join(r[0] for r in rows), dtype=">u8").reshape(-1, 2)
        keys = keys[np.lexsort((keys[:, 1], keys[:, 0]))]
        return keys[np.r_[True, (keys[1:] != keys[:-1]).any(axis=1)]] if len(keys) else keys

    def queue(self, breach: Breach, numbers: Iterable[bytes], now: float | None = None) -> int:
        """One alert for each live subscriber of these number hashes, for this breach (never
        two for the same breach); returns how many were queued."""
        now = time.time() if now is None else now
        hashes = [(h,) for h in numbers if len(h) == HASH_BYTES]
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO breaches (slug, name, date, data) VALUES (?, ?, ?, ?)",
                       [breach.slug, breach.name, breach.date, "\n".join(breach.data)])
            db.execute("CREATE TEMP TABLE IF NOT EXISTS found (number BLOB PRIMARY KEY)")
            db.execute("DELETE FROM temp.found")
            db.executemany("INSERT OR IGNORE INTO temp.found VALUES (?)", hashes)
            before = db.total_changes
            db.execute(
                "INSERT OR IGNORE INTO alerts (subscription, breach, due) SELECT s.id, ?, ?"
                " FROM subscriptions s JOIN temp.found f ON f.number = s.number WHERE s.expires > ?",
                [breach.slug, now, int(now)],
            )
            queued = db.total_changes - before
            db.execute("DELETE FROM temp.found")
        return queued

    # --- sending ---
    def claim(self, limit: int, now: float | None = None) -> list[Due]:
        """Take up to `limit` due alerts for this sender, for `lease` seconds. Runs in one write
        transaction: a row another sender claimed is no longer 'queued' when this one looks.
        Claims whose lease ran out are taken back first."""
        now = time.time() if now is None else now
        with self._write() as db:
            expired = now - self.lease
            # Never started: back in the queue, the attempt given back.
            db.execute("UPDATE alerts SET state = 'queued', claimed = NULL, attempts = attempts - 1"
                       " WHERE state = 'claimed' AND claimed < ?", [expired])
            # Started by a sender that died: it may have gone; sent again (a lost alert is worse).
            db.execute("UPDATE alerts SET state = CASE WHEN attempts >= ? THEN 'failed' ELSE 'queued' END,"
                       " claimed = NULL WHERE state = 'sending' AND claimed < ?", [MAX_ATTEMPTS, expired])
            rows = db.execute(
                "UPDATE alerts SET state = 'claimed', claimed = ?, attempts = attempts + 1 WHERE id IN"
                " (SELECT a.id FROM alerts a JOIN subscriptions s ON s.id = a.subscription"
                "  WHERE a.state = 'queued' AND a.due <= ? AND s.expires > ? ORDER BY a.due LIMIT ?)"
                " RETURNING id, subscription, breach, attempts",
                [now, now, int(now), limit],
            ).fetchall()
            due = [self._due(db, *row, claimed=now) for row in rows]
        return [d for d in due if d is not None]

    def start(self, due: Due, now: float | None = None) -> bool:
        """Mark a claimed alert as going now: only if it is still this sender's (its lease
        holds). False: the lease ran out and the alert is another sender's to take back."""
        now = time.time() if now is None else now
        if now >= due.claimed + self.lease:
            return False
        done = self.db.execute(
            "UPDATE alerts SET state = 'sending', claimed = ? WHERE id = ? AND state = 'claimed'"
            " AND claimed = ?", [now, due.id, due.claimed])
        return done.rowcount == 1

    def _due(self, db: sqlite3.Connection, alert: int, subscription: int, slug: str,
             attempts: int, claimed: float) -> Due | None:
        channel, token, lang = db.execute(
            "SELECT channel, address, lang FROM subscriptions WHERE id = ?", [subscription]).fetchone()
        name, date, data = db.execute(
            "SELECT name, date, data FROM breaches WHERE slug = ?", [slug]).fetchone() or (slug, "", "")
        try:
            address = self._fernet.decrypt(token).decode() if self._fernet else None
        except InvalidToken:  # encrypted under a key no longer given: cannot be delivered
            address = None
        if address is None:
            db.execute("UPDATE alerts SET state = 'failed' WHERE id = ?", [alert])
            return None
        breach = Breach(slug, name, date or "", tuple(d for d in (data or "").split("\n") if d))
        return Due(alert, channel, address, lang, breach, attempts, claimed)

    def sent(self, alert: int) -> None:
        self.db.execute("UPDATE alerts SET state = 'sent', claimed = NULL WHERE id = ?", [alert])

    def later(self, alert: int, due: float, count: bool = True) -> bool:
        """Back in the queue until `due`; `count=False` gives back the attempt (a pause for
        the channel's rate limit, not a failure). Past MAX_ATTEMPTS it has failed: False."""
        rows = self.db.execute(
            "UPDATE alerts SET state = CASE WHEN ? AND attempts >= ? THEN 'failed' ELSE 'queued' END,"
            " attempts = attempts - ?, due = ?, claimed = NULL WHERE id = ? RETURNING state",
            [int(count), MAX_ATTEMPTS, 0 if count else 1, due, alert],
        ).fetchall()  # read to the end: the statement is done and its write lock let go
        return rows == [("queued",)]

    def failed(self, alert: int) -> None:
        self.db.execute("UPDATE alerts SET state = 'failed', claimed = NULL WHERE id = ?", [alert])

    def next_due(self) -> float | None:
        """When the next alert falls due: a queued one, or a claim whose lease runs out."""
        row = self.db.execute(
            "SELECT min(CASE WHEN state = 'queued' THEN due ELSE claimed + ? END) FROM alerts"
            " WHERE state IN ('queued', 'claimed', 'sending')", [self.lease]).fetchone()
        return row[0]

    # --- for operators ---
    def stats(self, now: float | None = None) -> dict[str, int]:
        """{"subscribers", "queued", "sent", "failed"}: counts only (claimed and sending count as
        queued)."""
        subscribers = self.db.execute("SELECT count(*) FROM subscriptions WHERE expires > ?",
                                      [int(now or time.time())]).fetchone()[0]
        states = dict(self.db.execute("SELECT state, count(*) FROM alerts GROUP BY state").fetchall())
        queued = states.get("queued", 0) + states.get("claimed", 0) + states.get("sending", 0)
        return {"subscribers": subscribers, "queued": queued,
                "sent": states.get("sent", 0), "failed": states.get("failed", 0)}

    def close(self) -> None:
        self.db.close()
