"""The bot's state in Redis (`BOT_STATE_URL=redis://...`), so that many worker processes on
many machines answer as one bot. Same methods and same retention as the SQLite `Store`.

Keys (under a prefix, `mehfooz:` by default; every id is already a keyed hash):

    u:{user}            user state, a small JSON array     expires Retention.state after the last save
    o:{message}         replies held until delivered       Retention.outbox (an hour), or delivery
    s:{message}         a delivered message id             Retention.seen (a short claim until commit)
    r:{limit key}       rate counter {w: window, n: count} an hour after the last message
    l:{limit key}:{day} that day's lookups, "kind|target"  the end of the next day (as `purge` does)
    k:{fingerprint}     scam checks, checker -> time       7 days after the last check; older
                                                           checkers are dropped on each check
    kw:{tag}, mw:{tag}  a person's scam checks and misses  7 days; Retention.misses (for deletion)
    hibp, hibp:fetched  the HIBP breach catalogue          none (public data, replaced daily)
    c:{day}, f:{day}    anonymous counts and feedback      none, as in SQLite
    days                the days that have counts          none
    m                   misses (redacted), scored by time  `purge` drops those past Retention.misses

What `transaction()` guarantees (the core wraps each message in one):
- Duplicates are answered once, across workers: `first_delivery` is `SET NX` on the message
  id. Inside a transaction it sets a *claim* that lives `claim_seconds` (60); the commit
  turns it into the seen-id for `Retention.seen`. A duplicate arriving meanwhile, at any
  worker, finds the claim and gets no answer.
- The writes of a message are all or nothing: `save_user`, `delete_user`, `count`,
  `add_lookup`, `add_miss`, `add_feedback` and `save_hibp_catalogue` are queued and sent at
  the end as one MULTI/EXEC, together with the seen-id's retention, so Redis applies them
  at once or not at all. A worker that crashes before EXEC leaves no state change, only the
  claim, which expires: a re-delivery after `claim_seconds` is answered (Telegram re-sends
  an update that failed; Twilio only if its webhook is set to retry). An exception in the
  core discards the queue, releases the claim and takes back the rate hit, as SQLite's
  ROLLBACK would.
- `hit` is one Lua script (compare window, increment, expire): atomic, so a rate limit holds
  across workers. `checked_message` is one MULTI/EXEC and is idempotent per checker.
- Reads (`get_user`, `lookups`, `hibp_catalogue`) go to Redis at once and see committed data
  only: unlike SQLite, a transaction does not read its own queued writes. The core reads
  before it writes, so this never shows. Two messages of the same person handled at the same
  instant by two workers both read the same state and the last commit wins (with SQLite the
  second waits); the per-day lookup limit can then be passed by one.
- If the connection fails during EXEC, either Redis applied it all (the seen-id holds "1",
  not the claim's token, so releasing the claim leaves it: a re-delivery is a duplicate) or
  nothing (the claim is released: a re-delivery is answered); never half. A command the
  client retries after a lost connection may count twice (rates, counts), never lose a
  message (`SET NX GET` knows its own claim).
  Durability is Redis's: run it with AOF (appendfsync everysec) if losing a second of state
  in a Redis crash matters. Needs Redis 7 or later (`SET NX GET`).

Outside a transaction every write is applied at once (the CLI, tests, `purge`)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis

from bot.state.sqlite_store import DAY, Retention, UserState, _day
from bot.understanding.redact import redact

RATE_KEEP = 3600  # seconds a rate counter outlives its last message (SQLite's purge: an hour)
SCAM_WINDOW = Retention.scam  # scam checks count for a week
KEEP = Retention()  # the default retention
CLAIM_SECONDS = 60  # longer than a message can take (a slow HIBP: 6 s timeout, one wait of 5 s)

# KEYS[1] the rate key; ARGV: window, delta (+1 a hit, -1 taking one back), seconds to keep.
# A new window starts again at 1, as SQLite's upsert does.
HIT = """
local n
if redis.call('HGET', KEYS[1], 'w') == ARGV[1] then
  n = redis.call('HINCRBY', KEYS[1], 'n', ARGV[2])
elseif tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], 'w', ARGV[1], 'n', ARGV[2])
  n = tonumber(ARGV[2])
else
  return 0
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return n
"""
# Delete the claim only if it is still this worker's (it may have expired and been re-taken).
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass
class _Tx:
    """One open transaction: the queued writes, and how to undo the immediate ones."""

    pipe: redis.client.Pipeline
    seen: list[tuple[str, float]] = field(default_factory=list)  # claims, and when their seen-ids expire
    undo: list[Callable[[], object]] = field(default_factory=list)


class RedisStore:
    def __init__(self, url: str, retention: Retention = KEEP, prefix: str = "mehfooz:",
                 claim_seconds: int = CLAIM_SECONDS):
        # Timeouts: a hung Redis must fail a request, not hang the worker (the URL may override).
        self.r = redis.Redis.from_url(url, decode_responses=True, health_check_interval=30,
                                      socket_timeout=5.0, socket_connect_timeout=5.0)
        self.retention, self.prefix, self.claim_seconds = retention, prefix, claim_seconds
        self._hit = self.r.register_script(HIT)
        self._release = self.r.register_script(RELEASE)
        self._local = threading.local()  # the open transaction, per thread

    def _k(self, *parts: object) -> str:
        return self.prefix + ":".join(str(p) for p in parts)

    # --- transactions ---
    @property
    def _tx(self) -> _Tx | None:
        return getattr(self._local, "tx", None)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The writes of one message in one MULTI/EXEC (see the module docstring)."""
        if self._tx is not None:  # nested: part of the outer one
            yield
            return
        tx = self._local.tx = _Tx(self.r.pipeline(transaction=True))
        try:
            yield
            self._local.tx = None
            for name, until in tx.seen:  # the claim becomes the seen-id ("1": 88 bytes, not 120)
                _set_until(tx.pipe, name, "1", until)
            tx.pipe.execute()
        except BaseException:
            self._local.tx = None
            tx.pipe.reset()
            for step in reversed(tx.undo):
                try:
                    step()
                except redis.RedisError:  # Redis is gone: the claim expires by itself
                    break
            raise

    @contextmanager
    def _writes(self) -> Iterator[redis.client.Pipeline]:
        """Where a write goes: the open transaction's queue, or a MULTI/EXEC of its own."""
        if self._tx is not None:
            yield self._tx.pipe
            return
        pipe = self.r.pipeline(transaction=True)
        yield pipe
        pipe.execute()

    # --- per-user state ---
    def get_user(self, key: str) -> UserState | None:
        raw = self.r.get(self._k("u", key))
        if raw is None:
            return None
        lang, pinned, pending, options, *rest = json.loads(raw)  # `answers` came later
        return UserState(lang, bool(pinned), pending, list(options), int(rest[0]) if rest else 0)

    def save_user(self, key: str, state: UserState, now: float | None = None) -> None:
        value = json.dumps([state.lang, int(state.pinned), state.pending, state.options, state.answers],
                           separators=(",", ":"))
        with self._writes() as pipe:
            _set_until(pipe, self._k("u", key), value, (now or time.time()) + self.retention.state)

    def delete_user(self, key: str, tag: str = "") -> None:
        """State, and the misses and scam checks marked with `tag`; not the limits, which
        live under a key of their own so that deleting cannot reset them (as in SQLite)."""
        misses = list(self.r.smembers(self._k("mw", tag))) if tag else []
        prints = list(self.r.smembers(self._k("kw", tag))) if tag else []
        with self._writes() as pipe:
            pipe.delete(self._k("u", key))
            if misses:
                pipe.zrem(self._k("m"), *misses)
            for fingerprint in prints:
                pipe.zrem(self._k("k", fingerprint), tag)
            if tag:
                pipe.delete(self._k("mw", tag), self._k("kw", tag))

    # --- guards ---
    def first_delivery(self, key: str, now: float | None = None) -> bool:
        """SET NX: one worker wins, whichever gets the message first. With GET, so that a
        retried SET (the reply lost on the way) still knows the key is its own."""
        name = self._k("s", key)
        until = (now or time.time()) + self.retention.seen
        tx = self._tx
        seconds = self.claim_seconds if tx is not None else int(until - time.time())
        if seconds <= 0:  # already past its retention: nothing to keep
            return not self.r.exists(name)
        token = os.urandom(8).hex()
        old = self.r.set(name, token, nx=True, ex=seconds, get=True)
        if old is not None and old != token:
            return False
        if tx is not None:
            tx.seen.append((name, until))
            tx.undo.append(lambda: self._release(keys=[name], args=[token]))
        return True

    def hit(self, key: str, window: int) -> int:
        name = self._k("r", key)
        count = int(self._hit(keys=[name], args=[window, 1, RATE_KEEP]))
        if self._tx is not None:
            self._tx.undo.append(lambda: self._hit(keys=[name], args=[window, -1, RATE_KEEP]))
        return count

    def wipe(self) -> None:
        """Nothing to do: a deleted key leaves nothing behind in Redis's memory."""

    # --- replies not yet delivered (the outbox) ---
    def hold_replies(self, key: str, replies: str, now: float | None = None) -> None:
        now = now or time.time()
        with self._writes() as pipe:
            _set_until(pipe, self._k("o", key), f"{now:.3f}|{replies}", now + self.retention.outbox)

    def held_replies(self, key: str, held_since: float) -> str | None:
        value = self.r.get(self._k("o", key))
        if value is None:
            return None
        at, _, replies = value.partition("|")
        return replies if float(at) <= held_since else None

    def delivered(self, key: str) -> None:
        self.r.delete(self._k("o", key))

    # --- breach lookups ---
    def lookups(self, key: str, day: int) -> tuple[int, set[str]]:
        rows = [row.split("|", 1) for row in self.r.lrange(self._k("l", key, day), 0, -1)]
        return len(rows), {target for kind, target in rows if kind == "email"}

    def add_lookup(self, key: str, day: int, target: str, kind: str) -> None:
        until = (day + 2) * DAY  # `purge` keeps a day's lookups until the next day ends
        if until <= time.time():
            return
        name = self._k("l", key, day)
        with self._writes() as pipe:
            pipe.rpush(name, f"{kind}|{target}")
            pipe.expireat(name, until)

    def hibp_catalogue(self) -> tuple[dict[str, dict], float]:
        pipe = self.r.pipeline(transaction=True)
        pipe.hgetall(self._k("hibp"))
        pipe.get(self._k("hibp", "fetched"))
        items, fetched = pipe.execute()
        if not items:
            return {}, 0
        return {name: json.loads(item) for name, item in items.items()}, float(fetched or 0)

    def save_hibp_catalogue(self, items: dict[str, dict], now: float) -> None:
        with self._writes() as pipe:
            pipe.delete(self._k("hibp"), self._k("hibp", "fetched"))
            if items:
                pipe.hset(self._k("hibp"), mapping={name: json.dumps(i) for name, i in items.items()})
                pipe.set(self._k("hibp", "fetched"), int(now))

    def checked_message(self, fingerprint: str, checker: str, now: float | None = None) -> int:
        """Record a check of a message; how many others checked it in the last 7 days."""
        now = int(now or time.time())
        name = self._k("k", fingerprint)
        pipe = self.r.pipeline(transaction=True)
        # Checks past the window go (those a later check could not count either).
        pipe.zremrangebyscore(name, "-inf", f"({min(now, time.time()) - SCAM_WINDOW}")
        pipe.zadd(name, {checker: now})
        pipe.zcount(name, now - SCAM_WINDOW, "+inf")
        pipe.expire(name, SCAM_WINDOW)
        pipe.sadd(self._k("kw", checker), fingerprint)  # what `delete_user` takes for this checker
        pipe.expire(self._k("kw", checker), SCAM_WINDOW)
        _, _, checked, *_ = pipe.execute()
        return int(checked) - 1  # the person's own check is among them

    # --- anonymous records ---
    def count(self, intent: str, lang: str, now: float | None = None) -> None:
        day = _day(now)
        with self._writes() as pipe:
            pipe.hincrby(self._k("c", day), f"{intent}|{lang}", 1)
            pipe.sadd(self._k("days"), day)

    def add_miss(self, text: str, lang: str, now: float | None = None, who: str = "") -> None:
        at = int(now or time.time())
        # Unique and in arrival order among misses of the same second; masked here (`redact`,
        # the one masker), whatever the caller did: the RDB dump and the AOF hold this.
        member = f"{time.time_ns():020d}{os.urandom(2).hex()}|{lang}|{redact(text)}"
        with self._writes() as pipe:
            pipe.zadd(self._k("m"), {member: at})
            if who:  # the person's misses, for "delete my data"
                pipe.sadd(self._k("mw", who), member)
                pipe.expire(self._k("mw", who), self.retention.misses)

    def add_feedback(self, intent: str, lang: str, helpful: bool, now: float | None = None) -> None:
        day = _day(now)
        with self._writes() as pipe:
            pipe.hincrby(self._k("f", day), f"{intent}|{lang}|{'up' if helpful else 'down'}", 1)
            pipe.sadd(self._k("days"), day)

    # --- reading the anonymous records ---
    def _days_since(self, since_day: str) -> list[str]:
        return sorted(day for day in self.r.smembers(self._k("days")) if day >= since_day)

    def daily_counts(self, since_day: str) -> list[tuple[str, str, str, int]]:
        rows = []
        for day in self._days_since(since_day):
            for field_, n in self.r.hgetall(self._k("c", day)).items():
                intent, lang = field_.rsplit("|", 1)
                rows.append((day, intent, lang, int(n)))
        return sorted(rows)

    def daily_feedback(self, since_day: str) -> list[tuple[str, str, str, int, int]]:
        rows = []
        for day in self._days_since(since_day):
            votes: dict[tuple[str, str], dict[str, int]] = {}
            for field_, n in self.r.hgetall(self._k("f", day)).items():
                intent, lang, vote = field_.rsplit("|", 2)
                votes.setdefault((intent, lang), {})[vote] = int(n)
            rows += [(day, i, lang, v.get("up", 0), v.get("down", 0)) for (i, lang), v in votes.items()]
        return sorted(rows)

    def recent_misses(self, since: float) -> list[tuple[int, str, str]]:
        found = self.r.zrangebyscore(self._k("m"), int(since), "+inf", withscores=True)
        rows = []
        for member, at in found:
            _, lang, text = member.split("|", 2)
            rows.append((int(at), lang, text))
        return rows

    # --- upkeep ---
    def ping(self) -> None:
        self.r.ping()

    def purge(self, retention: Retention = KEEP, now: float | None = None) -> dict[str, int]:
        """Misses past their retention; everything else expires by itself (its TTL), so it
        counts 0 here. The keys match `Store.purge`'s."""
        now = now or time.time()
        misses = self.r.zremrangebyscore(self._k("m"), "-inf", f"({int(now - retention.misses)}")
        return {"users": 0, "seen": 0, "misses": int(misses), "rates": 0, "lookups": 0, "scam_checks": 0,
                "outbox": 0}

    def close(self) -> None:
        self.r.close()


def _set_until(pipe: redis.client.Pipeline, name: str, value: str, until: float) -> None:
    """SET with an expiry time; a value already past it is deleted, as `purge` would."""
    seconds = int(until - time.time())
    if seconds > 0:
        pipe.set(name, value, ex=seconds)
    else:
        pipe.delete(name)

