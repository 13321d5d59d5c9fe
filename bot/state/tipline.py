"""The scam tipline's records (bot/dialogue/tipline.py) in the state store: the same SQLite file
or Redis as everything else, so that every worker sees the same groups, and `scams confirm` and
`alerts send` find them from the command line.

A group keeps what staff need and nothing that names anyone:
- its masked text (no phone number, link host or name), and the key its copies share;
- keyed fingerprints of its copies' keys (never a text), to find it again;
- who forwarded it: the person's keyed tag (never their key or id) and when, to count people
  and to erase them on "delete my data";
- keyed hashes of the link hosts and numbers its copies gave, with when each was first seen: a
  copy that gives a new one is not covered by staff's "not a scam";
- the bot's verdict (the worst seen), staff's verdict, a note, when they decided.
All of it goes `Retention.tipline` after the group's last forward (reporters: after their own).

A follow-up ("tell me when staff confirm") keeps the person's tag, channel, language and chat
address as a Fernet token under BOT_ALERTS_KEY, for `Retention.tell` at most. Staff's verdict
queues it; a sender claims a few under a lease, marks each as going just before it goes (a
claim whose lease ran out is taken back: never started, back in the queue; started, sent again,
so a crash loses none), and once it is sent, or has failed, the row is deleted: forgotten.

Writes made while a message is handled join its transaction (SQLite: the same connection;
Redis: the same MULTI/EXEC)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.state.sqlite_store import Retention, Store

if TYPE_CHECKING:
    import redis

    from bot.state.redis_store import RedisStore

VERDICTS = ("scam", "not_scam")  # what staff may decide
SEVERITY = ("no_red_flags", "suspicious", "likely_scam")  # a group keeps the worst bot verdict seen
MAX_CONTACTS = 50  # link hosts and numbers remembered per group
MAX_ATTEMPTS = 5
LEASE = 60.0  # seconds a sender's claim lasts: then another sender takes the follow-up back


@dataclass(frozen=True)
class Group:
    id: int
    text: str  # masked
    first: float
    last: float
    bot: str  # the worst bot verdict seen
    staff: str | None = None  # "scam", "not_scam" or None
    note: str = ""
    decided: float | None = None
    people: int = 0  # distinct people who forwarded it (in the period asked for)
    waiting: int = 0  # people waiting to be told staff's verdict

    def as_dict(self) -> dict:
        return {"id": self.id, "people": self.people, "first_seen": self.first, "last_seen": self.last,
                "text": self.text, "bot_verdict": self.bot, "staff_verdict": self.staff, "note": self.note,
                "decided": self.decided, "waiting": self.waiting}


@dataclass(frozen=True)
class Followup:
    """A claimed follow-up. `address`: the Fernet token (the sender decrypts it)."""

    id: str
    group: int
    channel: str
    address: str
    lang: str
    asked: float
    attempts: int
    claimed: float


class TiplineStore(Protocol):
    def find(self, fingerprint: str) -> int | None: ...

    def create(self, fingerprint: str, text: str, key: str, verdict: str, tag: str, contacts: list[str],
               now: float) -> int:
        """A new group with its first forwarder; the group another worker made for the same
        fingerprint meanwhile, joined, if there is one."""

    def join(self, group: int, tag: str, fingerprint: str, verdict: str, contacts: list[str],
             now: float) -> bool:
        """Count `tag` as a forwarder of `group` (once), remember the copy's fingerprint and
        contacts; False when the group is gone."""

    def keys_since(self, group: int) -> list[tuple[int, str]]:
        """(id, key) of the groups newer than `group`: what near-duplicate matching compares."""

    def get(self, group: int, since: float = 0.0) -> Group | None: ...

    def reported(self, group: int, tag: str) -> bool: ...

    def known_contacts(self, group: int, contacts: list[str], before: float) -> bool:
        """Whether each contact was seen in the group at `before` or earlier."""

    def ask(self, group: int, tag: str, channel: str, address: str, lang: str, now: float,
            until: float) -> None: ...

    def asked(self, group: int, tag: str) -> bool: ...

    def decide(self, group: int, verdict: str, note: str, now: float) -> int | None:
        """Record staff's verdict and queue the follow-ups waiting for it (their number); None
        when there is no such group."""

    def trending(self, since: float, limit: int = 0) -> list[Group]:
        """Groups forwarded since `since`, by the people who did in that time, most first."""

    def forget(self, tag: str) -> None:
        """"Delete my data": the person's forwards and follow-ups."""

    def claim(self, limit: int, now: float, lease: float = LEASE) -> list[Followup]: ...

    def start(self, followup: Followup, now: float, lease: float = LEASE) -> bool: ...

    def sent(self, followup: Followup) -> None: ...

    def later(self, followup: Followup, due: float, count: bool = True) -> bool:
        """Back in the queue until `due` (False: past MAX_ATTEMPTS it has failed, and is gone)."""

    def failed(self, followup: Followup) -> None: ...

    def next_due(self, lease: float = LEASE) -> float | None: ...

    def counts(self) -> dict[str, int]:
        """{"groups", "confirmed", "followups_sent"}: counts only."""

    def purge(self, retention: Retention, now: float | None = None) -> dict[str, int]: ...


def tipline_store(store: object) -> TiplineStore:
    """The tipline records of the store the bot uses (one per store)."""
    found = getattr(store, "_tipline", None)
    if found is not None:
        return found
    if isinstance(store, Store):
        found = SqliteTipline(store)
    else:
        from bot.state.redis_store import RedisStore  # the redis package is needed only here

        if not isinstance(store, RedisStore):
            raise TypeError(f"no tipline store for {type(store).__name__}")
        found = RedisTipline(store)
    store._tipline = found  # type: ignore[attr-defined]
    return found


def worse(verdict: str, than: str | None) -> str:
    """The more severe of two bot verdicts."""
    if than not in SEVERITY:
        return verdict
    return max(verdict, than, key=lambda v: SEVERITY.index(v) if v in SEVERITY else -1)


_SCHEMA = """
    CREATE TABLE IF NOT EXISTS scam_groups (id INTEGER PRIMARY KEY AUTOINCREMENT,
        text TEXT NOT NULL, key TEXT NOT NULL, first REAL NOT NULL, last REAL NOT NULL,
        bot TEXT NOT NULL, staff TEXT, note TEXT, decided REAL);
    CREATE INDEX IF NOT EXISTS scam_groups_last ON scam_groups (last);
    CREATE TABLE IF NOT EXISTS scam_prints (print TEXT PRIMARY KEY, grp INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS scam_prints_grp ON scam_prints (grp);
    CREATE TABLE IF NOT EXISTS scam_reports (grp INTEGER NOT NULL, who TEXT NOT NULL,
        at REAL NOT NULL, PRIMARY KEY (grp, who));
    CREATE INDEX IF NOT EXISTS scam_reports_who ON scam_reports (who);
    CREATE TABLE IF NOT EXISTS scam_contacts (grp INTEGER NOT NULL, contact TEXT NOT NULL,
        first REAL NOT NULL, PRIMARY KEY (grp, contact));
    CREATE TABLE IF NOT EXISTS scam_followups (id INTEGER PRIMARY KEY, grp INTEGER NOT NULL,
        who TEXT NOT NULL, channel TEXT NOT NULL, address TEXT NOT NULL, lang TEXT NOT NULL,
        asked REAL NOT NULL, expires REAL NOT NULL, state TEXT NOT NULL DEFAULT 'waiting',
        attempts INTEGER NOT NULL DEFAULT 0, due REAL, claimed REAL, UNIQUE (grp, who));
    CREATE INDEX IF NOT EXISTS scam_followups_due ON scam_followups (state, due);
    CREATE INDEX IF NOT EXISTS scam_followups_who ON scam_followups (who);
    CREATE TABLE IF NOT EXISTS scam_totals (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""
_GROUP = "id, text, first, last, bot, staff, coalesce(note, ''), decided"
_FOLLOWUP = "id, grp, channel, address, lang, asked, attempts, claimed"


class SqliteTipline:
    def __init__(self, store: Store):
        self.store, self.db = store, store.db
        with store.transaction():  # executescript would commit a transaction under way
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)

    def _one(self, sql: str, params: list[object]) -> tuple | None:
        return self.db.execute(sql, params).fetchone()

    def _write(self, sql: str, params: list[object]) -> int:
        with self.store.transaction():  # joins the message's transaction, or one of its own
            return self.db.execute(sql, params).rowcount

    # --- groups ---
    def find(self, fingerprint: str) -> int | None:
        row = self._one("SELECT grp FROM scam_prints WHERE print = ?", [fingerprint])
        return int(row[0]) if row else None

    def create(self, fingerprint: str, text: str, key: str, verdict: str, tag: str, contacts: list[str],
               now: float) -> int:
        with self.store.transaction():
            row = self._one("INSERT INTO scam_groups (text, key, first, last, bot) VALUES (?, ?, ?, ?, ?)"
                            " RETURNING id", [text, key, now, now, verdict])
            self.join(int(row[0]), tag, fingerprint, verdict, contacts, now)
        return int(row[0])

    def join(self, group: int, tag: str, fingerprint: str, verdict: str, contacts: list[str],
             now: float) -> bool:
        with self.store.transaction():
            row = self._one("SELECT bot FROM scam_groups WHERE id = ?", [group])
            if row is None:
                return False
            self.db.execute("UPDATE scam_groups SET last = max(last, ?), bot = ? WHERE id = ?",
                            [now, worse(verdict, row[0]), group])
            self.db.execute("INSERT OR REPLACE INTO scam_prints (print, grp) VALUES (?, ?)",
                            [fingerprint, group])
            self.db.execute("INSERT INTO scam_reports (grp, who, at) VALUES (?, ?, ?)"
                            " ON CONFLICT (grp, who) DO UPDATE SET at = excluded.at", [group, tag, now])
            known = self._one("SELECT count(*) FROM scam_contacts WHERE grp = ?", [group])[0]
            for contact in contacts[:max(0, MAX_CONTACTS - known)]:
                self.db.execute("INSERT OR IGNORE INTO scam_contacts (grp, contact, first) VALUES (?, ?, ?)",
                                [group, contact, now])
        return True

    def keys_since(self, group: int) -> list[tuple[int, str]]:
        return [(int(i), k) for i, k in self.db.execute(
            "SELECT id, key FROM scam_groups WHERE id > ? ORDER BY id", [group]).fetchall()]

    def get(self, group: int, since: float = 0.0) -> Group | None:
        row = self._one(f"SELECT {_GROUP} FROM scam_groups WHERE id = ?", [group])  # noqa: S608
        return self._group(row, since) if row else None

    def _group(self, row: tuple, since: float) -> Group:
        people = self._one("SELECT count(*) FROM scam_reports WHERE grp = ? AND at >= ?", [row[0], since])[0]
        waiting = self._one("SELECT count(*) FROM scam_followups WHERE grp = ? AND state = 'waiting'",
                            [row[0]])[0]
        return Group(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], row[7], int(people),
                     int(waiting))

    def reported(self, group: int, tag: str) -> bool:
        return self._one("SELECT 1 FROM scam_reports WHERE grp = ? AND who = ?", [group, tag]) is not None

    def known_contacts(self, group: int, contacts: list[str], before: float) -> bool:
        if not contacts:
            return True
        marks = ", ".join("?" * len(contacts))
        row = self._one(f"SELECT count(*) FROM scam_contacts WHERE grp = ? AND first <= ?"  # noqa: S608
                        f" AND contact IN ({marks})", [group, before, *contacts])
        return int(row[0]) == len(set(contacts))

    def trending(self, since: float, limit: int = 0) -> list[Group]:
        rows = self.db.execute(
            "SELECT g.id, g.text, g.first, g.last, g.bot, g.staff, coalesce(g.note, ''), g.decided, count(*),"
            " (SELECT count(*) FROM scam_followups f WHERE f.grp = g.id AND f.state = 'waiting')"
            " FROM scam_groups g JOIN scam_reports r ON r.grp = g.id WHERE r.at >= ?"
            " GROUP BY g.id ORDER BY count(*) DESC, g.last DESC LIMIT ?", [since, limit or -1]).fetchall()
        return [Group(int(r[0]), *r[1:8], int(r[8]), int(r[9])) for r in rows]

    def decide(self, group: int, verdict: str, note: str, now: float) -> int | None:
        with self.store.transaction():
            if not self._write("UPDATE scam_groups SET staff = ?, note = ?, decided = ? WHERE id = ?",
                               [verdict, note, now, group]):
                return None
            return self.db.execute("UPDATE scam_followups SET state = 'queued', due = ? WHERE grp = ?"
                                   " AND state = 'waiting' AND expires > ?", [now, group, now]).rowcount

    # --- follow-ups ---
    def ask(self, group: int, tag: str, channel: str, address: str, lang: str, now: float,
            until: float) -> None:
        self._write("INSERT INTO scam_followups (grp, who, channel, address, lang, asked, expires)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (grp, who) DO UPDATE SET"
                    " channel = excluded.channel, address = excluded.address, lang = excluded.lang,"
                    " state = 'waiting', attempts = 0, due = NULL, claimed = NULL, asked = excluded.asked,"
                    " expires = excluded.expires", [group, tag, channel, address, lang, now, until])

    def asked(self, group: int, tag: str) -> bool:
        return self._one("SELECT 1 FROM scam_followups WHERE grp = ? AND who = ?", [group, tag]) is not None

    def forget(self, tag: str) -> None:
        with self.store.transaction():
            groups = [r[0] for r in self.db.execute("SELECT grp FROM scam_reports WHERE who = ?", [tag])]
            self.db.execute("DELETE FROM scam_reports WHERE who = ?", [tag])
            self.db.execute("DELETE FROM scam_followups WHERE who = ?", [tag])
            alone = [g for g in groups if not self._one("SELECT 1 FROM scam_reports WHERE grp = ?", [g])]
            self._delete(alone)  # a message only this person forwarded goes with them

    def _delete(self, groups: list[int]) -> None:
        for table, column in (("scam_prints", "grp"), ("scam_contacts", "grp"), ("scam_followups", "grp"),
                              ("scam_reports", "grp"), ("scam_groups", "id")):
            self.db.conn.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(g,) for g in groups])  # noqa: S608

    def claim(self, limit: int, now: float, lease: float = LEASE) -> list[Followup]:
        due = self.next_due(lease)
        if due is None or due > now:  # nothing to take: no write lock (the service asks every minute)
            return []
        with self.store.transaction():
            expired = now - lease
            # Never started: back in the queue, the attempt given back.
            self.db.execute("UPDATE scam_followups SET state = 'queued', claimed = NULL,"
                            " attempts = attempts - 1 WHERE state = 'claimed' AND claimed < ?", [expired])
            # Started by a sender that died: it may have gone; sent again (a lost one is worse).
            self.db.execute("DELETE FROM scam_followups WHERE state = 'sending' AND claimed < ?"
                            " AND attempts >= ?", [expired, MAX_ATTEMPTS])
            self.db.execute("UPDATE scam_followups SET state = 'queued', claimed = NULL"
                            " WHERE state = 'sending' AND claimed < ?", [expired])
            rows = self.db.execute(
                "UPDATE scam_followups SET state = 'claimed', claimed = ?, attempts = attempts + 1"
                " WHERE id IN (SELECT id FROM scam_followups WHERE state = 'queued' AND due <= ?"
                "  AND expires > ? ORDER BY due LIMIT ?)"
                f" RETURNING {_FOLLOWUP}", [now, now, now, limit]).fetchall()
        return [Followup(str(r[0]), int(r[1]), r[2], r[3], r[4], r[5], int(r[6]), r[7]) for r in rows]

    def start(self, followup: Followup, now: float, lease: float = LEASE) -> bool:
        if now >= followup.claimed + lease:
            return False
        started = self._write("UPDATE scam_followups SET state = 'sending', claimed = ? WHERE id = ?"
                              " AND state = 'claimed' AND claimed = ?",
                              [now, int(followup.id), followup.claimed])
        return started == 1

    def sent(self, followup: Followup) -> None:
        with self.store.transaction():
            if self.db.execute("DELETE FROM scam_followups WHERE id = ?", [int(followup.id)]).rowcount:
                self.db.execute("INSERT INTO scam_totals (name, n) VALUES ('followups_sent', 1)"
                                " ON CONFLICT (name) DO UPDATE SET n = n + 1")

    def later(self, followup: Followup, due: float, count: bool = True) -> bool:
        if count and followup.attempts >= MAX_ATTEMPTS:
            self.failed(followup)
            return False
        self._write("UPDATE scam_followups SET state = 'queued', due = ?, claimed = NULL,"
                    " attempts = attempts - ? WHERE id = ?", [due, 0 if count else 1, int(followup.id)])
        return True

    def failed(self, followup: Followup) -> None:
        self._write("DELETE FROM scam_followups WHERE id = ?", [int(followup.id)])

    def next_due(self, lease: float = LEASE) -> float | None:
        row = self._one("SELECT min(CASE WHEN state = 'queued' THEN due ELSE claimed + ? END)"
                        " FROM scam_followups WHERE state IN ('queued', 'claimed', 'sending')", [lease])
        return row[0]

    # --- for operators ---
    def counts(self) -> dict[str, int]:
        groups, confirmed = self._one("SELECT count(*), count(staff) FROM scam_groups", [])
        sent = self._one("SELECT n FROM scam_totals WHERE name = 'followups_sent'", [])
        return {"groups": int(groups), "confirmed": int(confirmed),
                "followups_sent": int(sent[0]) if sent else 0}

    def purge(self, retention: Retention, now: float | None = None) -> dict[str, int]:
        now = now or time.time()
        cutoff = now - retention.tipline
        with self.store.transaction():
            gone = [r[0] for r in self.db.execute("SELECT id FROM scam_groups WHERE last < ?", [cutoff])]
            self._delete(gone)
            reports = self.db.execute("DELETE FROM scam_reports WHERE at < ?", [cutoff]).rowcount
            followups = self.db.execute("DELETE FROM scam_followups WHERE expires <= ?", [now]).rowcount
        return {"scam_groups": len(gone), "scam_reports": reports, "scam_followups": followups}


# KEYS[1] the queue; ARGV: now, lease, limit, the follow-ups' key prefix, MAX_ATTEMPTS. Takes
# back claims whose lease ran out and claims what is due, at once: two senders never take the
# same follow-up. Returns the members claimed.
_CLAIM = """
local out = {}
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[3])) do
  local name = ARGV[4] .. member
  local state = redis.call('HGET', name, 'state')
  local attempts = tonumber(redis.call('HGET', name, 'attempts') or '0')
  if state == 'claimed' then attempts = attempts - 1 end
  if not state or state == 'waiting' or (state == 'sending' and attempts >= tonumber(ARGV[5])) then
    redis.call('ZREM', KEYS[1], member)
    if state == 'sending' then redis.call('DEL', name) end
  else
    redis.call('HSET', name, 'state', 'claimed', 'claimed', ARGV[1], 'attempts', attempts + 1)
    redis.call('ZADD', KEYS[1], now + lease, member)
    table.insert(out, member)
  end
end
return out
"""
# KEYS[1] the follow-up, KEYS[2] the queue; ARGV: its claim time, now, lease, member. Marks it
# as going only while this sender's claim holds.
_START = """
if redis.call('HGET', KEYS[1], 'state') ~= 'claimed' or redis.call('HGET', KEYS[1], 'claimed') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'state', 'sending', 'claimed', ARGV[2])
redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]), ARGV[4])
return 1
"""

# KEYS: the fingerprint, the new group, the groups by last forward, the groups by id; ARGV: id,
# text, key, now, verdict, seconds to keep the fingerprint, the groups' key prefix. The group of
# the fingerprint: the one another worker made first, if it is still there, or a new one.
_CREATE = """
local old = redis.call('GET', KEYS[1])
if old and redis.call('EXISTS', ARGV[7] .. old) == 1 then return old end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[6])
redis.call('HSET', KEYS[2], 'text', ARGV[2], 'key', ARGV[3], 'first', ARGV[4], 'last', ARGV[4],
           'bot', ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[1], ARGV[1])
return ARGV[1]
"""


class RedisTipline:
    """Keys (under the store's prefix): `tg:n` the last group id; `tg:g:{id}` a hash of the group;
    `tg:ids` group ids by last forward; `tg:made` group ids by id; `tg:p:{fingerprint}` the group
    of a copy (expires with the retention); `tg:r:{id}` forwarders' tags by time; `tg:c:{id}`
    contact hashes by first time; `tg:w:{tag}` the groups a person forwarded or asked about (for
    deletion); `tg:f:{id}:{tag}` a follow-up (a hash, expiring at `Retention.tell`); `tg:fw:{id}`
    the tags waiting on a group; `tg:q` follow-ups by when they are due (or their lease ends);
    `tg:decided` groups staff decided; `tg:sent` follow-ups sent."""

    def __init__(self, store: RedisStore):
        self.store, self.r = store, store.r
        self._claim = self.r.register_script(_CLAIM)
        self._start = self.r.register_script(_START)
        self._create = self.r.register_script(_CREATE)

    def _k(self, *parts: object) -> str:
        return self.store._k("tg", *parts)

    # --- groups ---
    def find(self, fingerprint: str) -> int | None:
        found = self.r.get(self._k("p", fingerprint))
        return int(found) if found else None

    def create(self, fingerprint: str, text: str, key: str, verdict: str, tag: str, contacts: list[str],
               now: float) -> int:
        # The group at once, not with the message, so that another worker finds it whole; the
        # forwarder with the message. A group left with no forwarder is never listed.
        made = int(self.r.incr(self._k("n")))
        group = int(self._create(keys=[self._k("p", fingerprint), self._k("g", made), self._k("ids"),
                                       self._k("made")],
                                 args=[made, text, key, repr(now), verdict, self.store.retention.tipline,
                                       self._k("g", "")]))
        self.join(group, tag, fingerprint, verdict, contacts, now)
        return group

    def join(self, group: int, tag: str, fingerprint: str, verdict: str, contacts: list[str],
             now: float) -> bool:
        name = self._k("g", group)
        bot, last = self.r.hmget(name, ["bot", "last"])
        if bot is None:
            return False
        keep = self.store.retention.tipline
        room = max(0, MAX_CONTACTS - int(self.r.zcard(self._k("c", group))))
        with self.store._writes() as pipe:
            pipe.hset(name, mapping={"last": max(now, float(last or 0)), "bot": worse(verdict, bot)})
            pipe.zadd(self._k("ids"), {group: now}, gt=True)
            pipe.set(self._k("p", fingerprint), group, ex=keep)
            pipe.zadd(self._k("r", group), {tag: now})
            if contacts[:room]:
                pipe.zadd(self._k("c", group), dict.fromkeys(contacts[:room], now), nx=True)
            pipe.sadd(self._k("w", tag), group)
            pipe.expire(self._k("w", tag), keep)
        return True

    def keys_since(self, group: int) -> list[tuple[int, str]]:
        newer = [int(i) for i in self.r.zrangebyscore(self._k("made"), f"({group}", "+inf")]
        pipe = self.r.pipeline(transaction=False)
        for i in newer:
            pipe.hget(self._k("g", i), "key")
        return [(i, key) for i, key in zip(newer, pipe.execute(), strict=True) if key is not None]

    def get(self, group: int, since: float = 0.0) -> Group | None:
        return next(iter(self._groups([group], since)), None)

    def _groups(self, ids: list[int], since: float) -> list[Group]:
        pipe = self.r.pipeline(transaction=False)
        for group in ids:
            pipe.hgetall(self._k("g", group))
            pipe.zcount(self._k("r", group), since, "+inf")
            pipe.smembers(self._k("fw", group))
        found, answers = [], pipe.execute()
        for group, (raw, people, waiting) in zip(ids, zip(*[iter(answers)] * 3, strict=True), strict=True):
            if not raw:
                continue
            live = sum(self.r.hget(self._k("f", group, tag), "state") == "waiting" for tag in waiting)
            decided = raw.get("decided")
            found.append(Group(group, raw.get("text", ""), float(raw.get("first", 0)),
                               float(raw.get("last", 0)), raw.get("bot", ""), raw.get("staff") or None,
                               raw.get("note", ""),
                               float(decided) if decided else None, int(people), live))
        return found

    def reported(self, group: int, tag: str) -> bool:
        return self.r.zscore(self._k("r", group), tag) is not None

    def known_contacts(self, group: int, contacts: list[str], before: float) -> bool:
        if not contacts:
            return True
        firsts = self.r.zmscore(self._k("c", group), contacts)
        return all(first is not None and first <= before for first in firsts)

    def trending(self, since: float, limit: int = 0) -> list[Group]:
        ids = [int(i) for i in self.r.zrangebyscore(self._k("ids"), since, "+inf")]
        groups = sorted((g for g in self._groups(ids, since) if g.people), key=lambda g: (-g.people, -g.last))
        return groups[:limit] if limit else groups

    def decide(self, group: int, verdict: str, note: str, now: float) -> int | None:
        name = self._k("g", group)
        if not self.r.exists(name):
            return None
        waiting = list(self.r.smembers(self._k("fw", group)))
        states = [self.r.hget(self._k("f", group, tag), "state") for tag in waiting]
        queued = [tag for tag, state in zip(waiting, states, strict=True) if state == "waiting"]
        with self.store._writes() as pipe:
            pipe.hset(name, mapping={"staff": verdict, "note": note, "decided": now})
            pipe.sadd(self._k("decided"), group)
            for tag in queued:
                pipe.hset(self._k("f", group, tag), mapping={"state": "queued", "due": now})
                pipe.zadd(self._k("q"), {f"{group}:{tag}": now})
            pipe.delete(self._k("fw", group))
        return len(queued)

    # --- follow-ups ---
    def ask(self, group: int, tag: str, channel: str, address: str, lang: str, now: float,
            until: float) -> None:
        name = self._k("f", group, tag)
        with self.store._writes() as pipe:
            pipe.delete(name)
            pipe.hset(name, mapping={"group": group, "channel": channel, "address": address, "lang": lang,
                                     "asked": now, "state": "waiting", "attempts": 0})
            pipe.expireat(name, int(until))
            pipe.sadd(self._k("fw", group), tag)
            pipe.expireat(self._k("fw", group), int(until))
            pipe.sadd(self._k("w", tag), group)
            pipe.expire(self._k("w", tag), self.store.retention.tipline)

    def asked(self, group: int, tag: str) -> bool:
        return bool(self.r.exists(self._k("f", group, tag)))

    def forget(self, tag: str) -> None:
        groups = list(self.r.smembers(self._k("w", tag)))
        # a message only this person forwarded goes with them
        alone = [g for g in groups if self.r.zcard(self._k("r", g)) == 1 and self.reported(int(g), tag)]
        with self.store._writes() as pipe:
            for group in groups:
                pipe.zrem(self._k("r", group), tag)
                pipe.delete(self._k("f", group, tag))
                pipe.srem(self._k("fw", group), tag)
                pipe.zrem(self._k("q"), f"{group}:{tag}")
            pipe.delete(self._k("w", tag))
            self._delete(pipe, alone)

    def _delete(self, pipe: redis.client.Pipeline, groups: list[int | str]) -> None:
        for group in groups:
            tags = self.r.smembers(self._k("fw", group))
            pipe.delete(self._k("g", group), self._k("r", group), self._k("c", group), self._k("fw", group),
                        *(self._k("f", group, tag) for tag in tags))
            pipe.zrem(self._k("ids"), group)
            pipe.zrem(self._k("made"), group)
            pipe.srem(self._k("decided"), group)

    def claim(self, limit: int, now: float, lease: float = LEASE) -> list[Followup]:
        members = self._claim(keys=[self._k("q")], args=[repr(now), lease, limit, self._k("f", ""),
                                                          MAX_ATTEMPTS])
        found = []
        for member in members:
            raw = self.r.hgetall(self._k("f", member))
            if raw:
                found.append(Followup(member, int(raw["group"]), raw["channel"], raw["address"], raw["lang"],
                                      float(raw["asked"]), int(raw["attempts"]), float(raw["claimed"])))
        return found

    def start(self, followup: Followup, now: float, lease: float = LEASE) -> bool:
        if now >= followup.claimed + lease:
            return False
        name = self._k("f", followup.id)
        return bool(self._start(keys=[name, self._k("q")],
                                args=[repr(followup.claimed), repr(now), lease, followup.id]))

    def sent(self, followup: Followup) -> None:
        if self.r.delete(self._k("f", followup.id)):
            self.r.incr(self._k("sent"))
        self.r.zrem(self._k("q"), followup.id)

    def later(self, followup: Followup, due: float, count: bool = True) -> bool:
        if count and followup.attempts >= MAX_ATTEMPTS:
            self.failed(followup)
            return False
        name = self._k("f", followup.id)
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(name, mapping={"state": "queued", "due": due})
        pipe.hincrby(name, "attempts", 0 if count else -1)
        pipe.zadd(self._k("q"), {followup.id: due})
        pipe.execute()
        return True

    def failed(self, followup: Followup) -> None:
        self.r.delete(self._k("f", followup.id))
        self.r.zrem(self._k("q"), followup.id)

    def next_due(self, lease: float = LEASE) -> float | None:
        first = self.r.zrange(self._k("q"), 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    # --- for operators ---
    def counts(self) -> dict[str, int]:
        pipe = self.r.pipeline(transaction=False)
        pipe.zcard(self._k("ids"))
        pipe.scard(self._k("decided"))
        pipe.get(self._k("sent"))
        groups, confirmed, sent = pipe.execute()
        return {"groups": int(groups), "confirmed": int(confirmed), "followups_sent": int(sent or 0)}

    def purge(self, retention: Retention, now: float | None = None) -> dict[str, int]:
        """Groups past the retention, with all they hold; forwarders past theirs. Fingerprints,
        follow-ups and the deletion index expire by themselves."""
        now = now or time.time()
        cutoff = now - retention.tipline
        gone = [int(i) for i in self.r.zrangebyscore(self._k("ids"), "-inf", f"({cutoff}")]
        reports = 0
        for group in [int(i) for i in self.r.zrange(self._k("ids"), 0, -1)]:
            if group not in gone:
                reports += int(self.r.zremrangebyscore(self._k("r", group), "-inf", f"({cutoff}"))
        pipe = self.r.pipeline(transaction=True)
        self._delete(pipe, gone)
        pipe.execute()
        return {"scam_groups": len(gone), "scam_reports": reports, "scam_followups": 0}
