"""The local breach index: lists of leaked identifiers that the bot's operator imports (for
example from a national CERT), kept only as keyed hashes.

An identifier (a phone in E.164, or a lowercased email) is stored as HMAC-SHA256(pepper, id)
cut to 16 bytes. Pakistani mobile numbers are a small space (about 10^9): a plain hash
could be reversed by trying them all, a keyed one cannot without the pepper, which is not
in the file. The index is its own SQLite file, built by `breaches import` and then only read,
so it can be copied to every machine that runs the bot."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import phonenumbers
import sqlite_utils

HASH_BYTES = 16
BATCH = 20_000_000  # identifiers hashed, sorted and inserted together (320 MB)
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
# No email is longer (RFC 5321) nor any phone number, however written; _EMAIL takes time
# quadratic in the length of a long line with many dots, so longer fields are not tried.
MAX_IDENTIFIER = 254
_PHONE_JUNK = re.compile(r"[\s\-().]")
_DIGIT = re.compile(r"\d")
# The usual shapes of a Pakistani mobile number: 03001234567, 3001234567, 923001234567,
# +923001234567, 00923001234567. Anything else goes through phonenumbers.
_PK_MOBILE = re.compile(r"^(?:\+92|0092|92|0)?(3\d{9})$")


def normalise_identifier(raw: str) -> str | None:
    """E.164 for a phone number, lowercase for an email; None when it is neither."""
    text = raw.strip().strip("\"'")
    if len(text) > MAX_IDENTIFIER:
        return None
    if "@" in text:
        email = text.lower()
        return email if _EMAIL.match(email) else None
    mobile = _PK_MOBILE.match(text)  # most lines of a list are a bare number: skip the sub
    if mobile:
        return "+92" + mobile.group(1)
    compact = _PHONE_JUNK.sub("", text)
    mobile = _PK_MOBILE.match(compact)
    if mobile:
        return "+92" + mobile.group(1)
    return _phone_by_library(compact) if _DIGIT.search(compact) else None


def _phone_by_library(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, "PK")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def keyed_hash(pepper: bytes, identifier: str) -> bytes:
    return hmac.digest(pepper, identifier.encode(), hashlib.sha256)[:HASH_BYTES]


def keyed_hasher(pepper: bytes) -> Callable[[str], bytes]:
    """`keyed_hash` with the pepper's HMAC pads hashed once: a third of the cost per call,
    which the importer pays millions of times (HMAC as in RFC 2104, over SHA-256)."""
    key = hashlib.sha256(pepper).digest() if len(pepper) > 64 else pepper
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key.ljust(64, b"\0")))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key.ljust(64, b"\0")))

    def digest(identifier: str) -> bytes:
        first = inner.copy()
        first.update(identifier.encode())
        second = outer.copy()
        second.update(first.digest())
        return second.digest()[:HASH_BYTES]

    return digest


@dataclass(frozen=True)
class Breach:
    slug: str
    name: str
    date: str = ""
    data: tuple[str, ...] = ()
    description: str = ""
    source: str = ""


@dataclass
class ImportReport:
    read: int = 0
    imported: int = 0
    duplicate: int = 0
    rejected: int = 0
    # Watched hashes (alert subscribers) this import added to the breach: not printed.
    watched: list[bytes] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if k != "watched"}


class BreachIndex:
    def __init__(self, path: str | Path, pepper: bytes, readonly: bool = False):
        self.path = Path(path)
        self.pepper = pepper
        self._hash = keyed_hasher(pepper)
        if readonly:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        if not readonly:
            self._create()

    def _create(self) -> None:
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS breaches (id INTEGER PRIMARY KEY, slug TEXT UNIQUE NOT NULL,"
            " name TEXT NOT NULL, date TEXT, data TEXT, description TEXT, source TEXT)"
        )
        # WITHOUT ROWID: the 16-byte hash is the key itself, so a row costs little more than it.
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS hits (hash BLOB NOT NULL, breach INTEGER NOT NULL,"
            " PRIMARY KEY (hash, breach)) WITHOUT ROWID"
        )

    # --- the catalogue ---
    def add_breach(self, breach: Breach, replace: bool = False) -> int:
        """Register a breach (or keep the one with that slug); returns its row id."""
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        with self.db.conn:
            self.db.execute(
                f"{verb} INTO breaches (slug, name, date, data, description, source)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [breach.slug, breach.name, breach.date, json.dumps(list(breach.data)),
                 breach.description, breach.source],
            )
        return self.db.execute("SELECT id FROM breaches WHERE slug = ?", [breach.slug]).fetchone()[0]

    def breaches(self) -> list[tuple[Breach, int]]:
        """Every breach with the number of identifiers imported for it."""
        rows = self.db.execute(
            "SELECT b.slug, b.name, b.date, b.data, b.description, b.source,"
            " (SELECT count(*) FROM hits h WHERE h.breach = b.id) FROM breaches b ORDER BY b.date, b.slug"
        ).fetchall()
        return [(_breach(row), row[6]) for row in rows]

    def breach(self, slug: str) -> Breach:
        row = self.db.execute("SELECT slug, name, date, data, description, source FROM breaches"
                              " WHERE slug = ?", [slug]).fetchone()
        return _breach(row) if row else Breach(slug, slug)

    # --- import ---
    def import_lines(self, slug: str, lines: Iterable[str], watch: np.ndarray | None = None) -> ImportReport:
        """Import a CSV or one-identifier-per-line text. Every field of a row that is a phone
        number or an email is imported; a row with none is rejected. Safe to run twice.

        `watch`: hashes to look out for (alert subscribers; sorted rows of two big-endian
        64-bit halves): those this import adds to the breach end up in `report.watched`."""
        breach_id = self.db.execute("SELECT id FROM breaches WHERE slug = ?", [slug]).fetchone()
        breach_id = breach_id[0] if breach_id else self.add_breach(Breach(slug, slug))
        # The index is rebuilt from its source files if need be: trade durability for speed.
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA cache_size=-262144")  # 256 MiB of pages: the B-tree stays in memory
        report, read, rejected = ImportReport(), 0, 0
        hashes, pending = bytearray(), 0  # 16 bytes an identifier, sorted when written
        hash_, normalise = self._hash, normalise_identifier  # locals: this loop runs per row
        for line in lines:
            line = line.strip().lstrip("\ufeff")
            if not line:
                continue
            read += 1
            if _SEPARATED(line):
                found = [hash_(i) for i in map(normalise, _fields(line)) if i]
            else:  # one value a line, the usual shape: no list of fields to build
                one = normalise(line)
                found = [hash_(one)] if one else []
            if not found:
                rejected += 1
                continue
            for digest in found:
                hashes += digest
            pending += len(found)
            if pending >= BATCH:
                self._write(breach_id, hashes, report, watch)
                hashes, pending = bytearray(), 0
        self._write(breach_id, hashes, report, watch)
        report.read, report.rejected = read, rejected
        return report

    def _write(self, breach_id: int, hashes: bytearray, report: ImportReport,
               watch: np.ndarray | None = None) -> None:
        """Insert a batch of hashes in key order, each once: into a new index that is an
        append at the end of the B-tree, the cheapest insert SQLite has."""
        if not hashes:
            return
        keys = np.frombuffer(hashes, dtype=">u8").reshape(-1, 2)  # big-endian: byte order kept
        keys = keys[np.lexsort((keys[:, 1], keys[:, 0]))]
        unique = keys[np.r_[True, (keys[1:] != keys[:-1]).any(axis=1)]]
        found = common_rows(unique, watch) if watch is not None and len(watch) else []
        distinct = unique.tobytes()
        conn = self.db.conn
        with conn:
            report.watched += self._new_to(breach_id, found) if found else []
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO hits (hash, breach) VALUES (?, ?)",
                ((distinct[i:i + HASH_BYTES], breach_id) for i in range(0, len(distinct), HASH_BYTES)),
            )
            inserted = conn.total_changes - before
        report.imported += inserted
        report.duplicate += len(keys) - inserted

    def _new_to(self, breach_id: int, hashes: list[bytes]) -> list[bytes]:
        """Those of `hashes` the breach does not hold yet (one query, not one per hash)."""
        conn = self.db.conn
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS probe (hash BLOB PRIMARY KEY) WITHOUT ROWID")
        conn.executemany("INSERT OR IGNORE INTO temp.probe VALUES (?)", ((h,) for h in hashes))
        new = [row[0] for row in conn.execute(
            "SELECT p.hash FROM temp.probe p WHERE NOT EXISTS"
            " (SELECT 1 FROM hits h WHERE h.hash = p.hash AND h.breach = ?)", [breach_id])]
        conn.execute("DELETE FROM temp.probe")
        return new

    # --- lookup ---
    def lookup(self, identifier: str) -> list[Breach]:
        """The breaches whose lists hold this (already normalised) identifier."""
        rows = self.db.execute(
            "SELECT b.slug, b.name, b.date, b.data, b.description, b.source FROM hits h"
            " JOIN breaches b ON b.id = h.breach WHERE h.hash = ? ORDER BY b.date",
            [self._hash(identifier)],
        ).fetchall()
        return [_breach(row) for row in rows]

    def stats(self) -> dict[str, Any]:
        identifiers = self.db.execute("SELECT count(*) FROM hits").fetchone()[0]
        size = self.path.stat().st_size if self.path.exists() else 0
        return {
            "breaches": self.db.execute("SELECT count(*) FROM breaches").fetchone()[0],
            "identifiers": identifiers,
            "bytes": size,
            "bytes_per_identifier": round(size / identifiers, 1) if identifiers else None,
        }

    def close(self) -> None:
        self.db.conn.close()


def common_rows(keys: np.ndarray, watch: np.ndarray) -> list[bytes]:
    """The hashes of `watch` that are in `keys` (both sorted rows of two 64-bit halves).
    Each watched hash is looked up by binary search on the first half: for 100,000
    subscribers against millions of keys that is milliseconds, not a pass over the keys."""
    first = np.ascontiguousarray(keys[:, 0])
    low = np.searchsorted(first, watch[:, 0], "left")
    high = np.searchsorted(first, watch[:, 0], "right")
    found = []
    for i in np.nonzero(high > low)[0]:  # a shared first half is rare: almost always one row
        if (keys[low[i]:high[i], 1] == watch[i, 1]).any():
            found.append(watch[i].tobytes())
    return found


def _breach(row: tuple[Any, ...]) -> Breach:
    return Breach(row[0], row[1], row[2] or "", tuple(json.loads(row[3] or "[]")), row[4] or "", row[5] or "")


def _fields(line: str) -> list[str]:
    """The fields of a CSV line: comma, semicolon or tab separated, quotes allowed."""
    if '"' in line:
        try:
            return next(csv.reader(io.StringIO(line), delimiter=_delimiter(line)), [])
        except csv.Error:  # e.g. a quoted field over csv's 128 KiB limit: split it plainly
            pass
    return _FIELD_SEP.split(line)


_FIELD_SEP = re.compile(r"[,;\t]")
_SEPARATED = re.compile(r"[,;\t\"]").search


def _delimiter(line: str) -> str:
    return max(",;\t", key=line.count)
