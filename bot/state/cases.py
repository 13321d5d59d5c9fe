"""Desk cases (a chat handed to helpline staff, bot/dialogue/desk_flow.py) in the state store:
the same SQLite file or Redis as everything else, so that any worker can relay a staff reply.

A case keeps the least that lets the desk work, and nothing readable alone:
- `person`: a keyed hash of the person's key (never the chat id), to find their open case
  and to erase it on "delete my data"; dropped when the case's retention ends;
- `address`: where to relay staff replies (Telegram chat id, WhatsApp address), a Fernet
  token under BOT_ALERTS_KEY; dropped when the case closes;
- `held`: staff replies waiting for WhatsApp's window to open again (Fernet too);
- the staff group's topic id, the language, the topic of the question (an intent id), times
  and counts. No message text: the messages live in the staff group's topic, which the desk
  deletes when the retention ends.

Writes made while a message is handled join its transaction (SQLite: the same connection;
Redis: the same MULTI/EXEC), so a case opens, counts and closes with the message or not at all."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Protocol

from bot.state.sqlite_store import Store

if TYPE_CHECKING:
    from bot.state.redis_store import RedisStore

CLAIM_KEEP = 86400  # seconds a wait notice's claim lives (Redis): longer than any wait


@dataclass(frozen=True)
class Case:
    number: int
    person: str | None  # keyed reference to the person; None once the retention ended
    channel: str
    address: str | None  # Fernet token of the relay address; None once closed
    lang: str
    about: str  # the intent that led here
    state: str  # "open" or "closed"
    opened: float
    closed: float | None = None
    topic: str | None = None  # the staff group's message_thread_id
    last_person: float | None = None  # the person's last message (WhatsApp's 24-hour window)
    waiting: float | None = None  # since when the person waits for a staff reply
    from_person: int = 0
    from_staff: int = 0
    first_reply: float | None = None  # seconds from opening to the first staff reply
    held: str | None = None  # Fernet token of staff replies not yet delivered

    @property
    def is_open(self) -> bool:
        return self.state == "open"


FIELDS = [f.name for f in fields(Case)]


class CaseStore(Protocol):
    def open(self, person: str, channel: str, address: str, lang: str, about: str, now: float) -> int: ...

    def live(self, person: str) -> Case | None:
        """The person's open case, if any."""

    def of_person(self, person: str) -> list[Case]: ...

    def by_topic(self, topic: str) -> Case | None: ...

    def get(self, number: int) -> Case | None: ...

    def set_topic(self, number: int, topic: str) -> None: ...

    def person_wrote(self, number: int, now: float) -> None: ...

    def staff_wrote(self, case: Case, now: float) -> None: ...

    def hold(self, number: int, held: str | None) -> None: ...

    def close(self, number: int, now: float) -> None: ...

    def erase(self, case: Case) -> None: ...

    def due_waits(self, before: float) -> list[Case]:
        """Open cases whose person has waited since `before` or longer, not yet told."""

    def claim_wait(self, case: Case) -> bool:
        """Mark this wait as told; False when another worker told it first."""

    def expired(self, before: float) -> list[Case]:
        """Closed cases, closed at `before` or earlier, still tied to their person."""

    def anonymise(self, case: Case) -> None:
        """Past the retention: only the number, language, topic of the question, times and
        counts stay (for `cases list` and response times)."""

    def listing(self, limit: int = 0) -> list[Case]: ...


def case_store(store: object) -> CaseStore:
    """The cases of the store the bot uses."""
    if isinstance(store, Store):
        return SqliteCases(store)
    from bot.state.redis_store import RedisStore  # the redis package is needed only here

    if isinstance(store, RedisStore):
        return RedisCases(store)
    raise TypeError(f"no case store for {type(store).__name__}")


class SqliteCases:
    def __init__(self, store: Store):
        self.store, self.db = store, store.db
        with store.transaction():
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS cases (number INTEGER PRIMARY KEY AUTOINCREMENT, person TEXT,"
                " channel TEXT NOT NULL, address TEXT, lang TEXT NOT NULL, about TEXT NOT NULL,"
                " state TEXT NOT NULL,"
                " opened REAL NOT NULL, closed REAL, topic TEXT, last_person REAL, waiting REAL, told REAL,"
                " from_person INTEGER NOT NULL DEFAULT 0, from_staff INTEGER NOT NULL DEFAULT 0,"
                " first_reply REAL, held TEXT)")
            self.db.execute("CREATE INDEX IF NOT EXISTS cases_person ON cases (person)")
            self.db.execute("CREATE INDEX IF NOT EXISTS cases_topic ON cases (topic)")

    def _rows(self, where: str, params: list[object]) -> list[Case]:
        rows = self.db.execute(f"SELECT {', '.join(FIELDS)} FROM cases WHERE {where}", params).fetchall()  # noqa: S608
        return [Case(*row) for row in rows]

    def _write(self, sql: str, params: list[object]) -> None:
        with self.store.transaction():  # joins the message's transaction, or one of its own
            self.db.execute(sql, params)

    def open(self, person: str, channel: str, address: str, lang: str, about: str, now: float) -> int:
        with self.store.transaction():
            row = self.db.execute(
                "INSERT INTO cases (person, channel, address, lang, about, state, opened, last_person)"
                " VALUES (?, ?, ?, ?, ?, 'open', ?, ?) RETURNING number",
                [person, channel, address, lang, about, now, now]).fetchone()
        return int(row[0])

    def live(self, person: str) -> Case | None:
        found = self._rows("person = ? AND state = 'open' ORDER BY number DESC LIMIT 1", [person])
        return found[0] if found else None

    def of_person(self, person: str) -> list[Case]:
        return self._rows("person = ?", [person])

    def by_topic(self, topic: str) -> Case | None:
        found = self._rows("topic = ? ORDER BY number DESC LIMIT 1", [topic])
        return found[0] if found else None

    def get(self, number: int) -> Case | None:
        found = self._rows("number = ?", [number])
        return found[0] if found else None

    def set_topic(self, number: int, topic: str) -> None:
        self._write("UPDATE cases SET topic = ? WHERE number = ?", [topic, number])

    def person_wrote(self, number: int, now: float) -> None:
        self._write("UPDATE cases SET from_person = from_person + 1, last_person = ?,"
                    " waiting = coalesce(waiting, ?) WHERE number = ?", [now, now, number])

    def staff_wrote(self, case: Case, now: float) -> None:
        self._write("UPDATE cases SET from_staff = from_staff + 1, waiting = NULL,"
                    " first_reply = coalesce(first_reply, ?) WHERE number = ?",
                    [now - case.opened, case.number])

    def hold(self, number: int, held: str | None) -> None:
        self._write("UPDATE cases SET held = ? WHERE number = ?", [held, number])

    def close(self, number: int, now: float) -> None:
        self._write("UPDATE cases SET state = 'closed', closed = ?, address = NULL, held = NULL,"
                    " waiting = NULL WHERE number = ?", [now, number])

    def erase(self, case: Case) -> None:
        self._write("DELETE FROM cases WHERE number = ?", [case.number])

    def due_waits(self, before: float) -> list[Case]:
        return self._rows("state = 'open' AND waiting <= ? AND (told IS NULL OR told != waiting)", [before])

    def claim_wait(self, case: Case) -> bool:
        with self.store.transaction():
            cursor = self.db.execute("UPDATE cases SET told = waiting WHERE number = ? AND waiting = ?"
                                     " AND (told IS NULL OR told != waiting)", [case.number, case.waiting])
        return cursor.rowcount == 1

    def expired(self, before: float) -> list[Case]:
        return self._rows("state = 'closed' AND closed <= ? AND person IS NOT NULL", [before])

    def anonymise(self, case: Case) -> None:
        self._write("UPDATE cases SET person = NULL, topic = NULL, address = NULL, held = NULL"
                    " WHERE number = ?", [case.number])

    def listing(self, limit: int = 0) -> list[Case]:
        return self._rows("1 ORDER BY number DESC" + (f" LIMIT {int(limit)}" if limit else ""), [])


class RedisCases:
    """Keys (under the store's prefix): `case:n` the last number; `case:{n}` a hash of the
    case's fields; `case:p:{person}` the person's case numbers; `case:t:{topic}` the case of a
    topic; `cases` all numbers by opening time; `cases:open` the open ones; `cases:closed` the
    closed ones still tied to their person, by closing time; `case:told:{n}:{waiting}` the
    claim of a wait notice. Counters change with HINCRBY, so a person's message and a staff
    reply handled by two workers at once both count."""

    def __init__(self, store: RedisStore):
        self.store, self.r = store, store.r

    def _k(self, *parts: object) -> str:
        return self.store._k(*parts)

    def _load(self, number: int | str | None) -> Case | None:
        if number is None:
            return None
        raw = self.r.hgetall(self._k("case", number))
        if not raw:
            return None
        floats = {"opened", "closed", "last_person", "waiting", "first_reply"}
        values = {name: None if raw.get(name, "") == "" else float(raw[name]) if name in floats else raw[name]
                  for name in FIELDS}
        for name in ("number", "from_person", "from_staff"):
            values[name] = int(raw.get(name) or 0)
        return Case(**values)

    def _many(self, numbers: list[str]) -> list[Case]:
        return [case for n in numbers if (case := self._load(n)) is not None]

    def open(self, person: str, channel: str, address: str, lang: str, about: str, now: float) -> int:
        number = int(self.r.incr(self._k("case", "n")))  # at once: a number is never given twice
        with self.store._writes() as pipe:
            pipe.hset(self._k("case", number), mapping={
                "number": number, "person": person, "channel": channel, "address": address, "lang": lang,
                "about": about, "state": "open", "opened": now, "last_person": now,
                "from_person": 0, "from_staff": 0})
            pipe.sadd(self._k("case", "p", person), number)
            pipe.zadd(self._k("cases"), {number: now})
            pipe.zadd(self._k("cases", "open"), {number: now})
        return number

    def live(self, person: str) -> Case | None:
        cases = self.of_person(person)
        return next((c for c in sorted(cases, key=lambda c: -c.number) if c.is_open), None)

    def of_person(self, person: str) -> list[Case]:
        return self._many(sorted(self.r.smembers(self._k("case", "p", person))))

    def by_topic(self, topic: str) -> Case | None:
        return self._load(self.r.get(self._k("case", "t", topic)))

    def get(self, number: int) -> Case | None:
        return self._load(number)

    def set_topic(self, number: int, topic: str) -> None:
        with self.store._writes() as pipe:
            pipe.hset(self._k("case", number), "topic", topic)
            pipe.set(self._k("case", "t", topic), number)

    def person_wrote(self, number: int, now: float) -> None:
        with self.store._writes() as pipe:
            name = self._k("case", number)
            pipe.hincrby(name, "from_person", 1)
            pipe.hset(name, "last_person", now)
            pipe.hsetnx(name, "waiting", now)

    def staff_wrote(self, case: Case, now: float) -> None:
        with self.store._writes() as pipe:
            name = self._k("case", case.number)
            pipe.hincrby(name, "from_staff", 1)
            pipe.hdel(name, "waiting")
            pipe.hsetnx(name, "first_reply", now - case.opened)

    def hold(self, number: int, held: str | None) -> None:
        with self.store._writes() as pipe:
            if held is None:
                pipe.hdel(self._k("case", number), "held")
            else:
                pipe.hset(self._k("case", number), "held", held)

    def close(self, number: int, now: float) -> None:
        with self.store._writes() as pipe:
            name = self._k("case", number)
            pipe.hset(name, mapping={"state": "closed", "closed": now})
            pipe.hdel(name, "address", "held", "waiting")
            pipe.zrem(self._k("cases", "open"), number)
            pipe.zadd(self._k("cases", "closed"), {number: now})

    def erase(self, case: Case) -> None:
        with self.store._writes() as pipe:
            pipe.delete(self._k("case", case.number))
            if case.person:
                pipe.srem(self._k("case", "p", case.person), case.number)
            if case.topic:
                pipe.delete(self._k("case", "t", case.topic))
            for index in (("cases",), ("cases", "open"), ("cases", "closed")):
                pipe.zrem(self._k(*index), case.number)

    def due_waits(self, before: float) -> list[Case]:
        cases = self._many(self.r.zrange(self._k("cases", "open"), 0, -1))
        return [c for c in cases if c.is_open and c.waiting is not None and c.waiting <= before
                and not self.r.exists(self._claim(c))]

    def _claim(self, case: Case) -> str:
        return self._k("case", "told", case.number, f"{case.waiting:.6f}")

    def claim_wait(self, case: Case) -> bool:
        return bool(self.r.set(self._claim(case), 1, nx=True, ex=CLAIM_KEEP))

    def expired(self, before: float) -> list[Case]:
        return self._many(self.r.zrangebyscore(self._k("cases", "closed"), "-inf", before))

    def anonymise(self, case: Case) -> None:
        with self.store._writes() as pipe:
            pipe.hdel(self._k("case", case.number), "person", "topic", "address", "held")
            if case.person:
                pipe.srem(self._k("case", "p", case.person), case.number)
            if case.topic:
                pipe.delete(self._k("case", "t", case.topic))
            pipe.zrem(self._k("cases", "closed"), case.number)

    def listing(self, limit: int = 0) -> list[Case]:
        return self._many(self.r.zrevrange(self._k("cases"), 0, (limit or 0) - 1))
