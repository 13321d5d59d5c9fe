"""Where the bot keeps its state, as an interface: the core, the lookups and the service
call a `StateStore` and never learn which engine is behind it.

Two implementations, chosen by configuration only (`open_store`):
- `bot.state.sqlite_store.Store`: one SQLite file (`BOT_DB`), the default: one machine, one process;
- `bot.state.redis_store.RedisStore`: a Redis server (`BOT_STATE_URL=redis://host:6379/0`), shared
  by any number of worker processes on any number of machines.

Both keep the same things for the same time (`bot.state.sqlite_store.Retention`): per-user state under
a keyed hash, seen message ids, rate-limit counters, per-day lookup counts, the HIBP
catalogue, scam-check fingerprints, and the anonymous counts, feedback and misses."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bot.state.sqlite_store import Retention, Store, UserState

if TYPE_CHECKING:
    from bot.config import Settings

KEEP = Retention()  # the default retention
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


@runtime_checkable
class StateStore(Protocol):
    """What the bot needs from its storage. Nothing passed in is ever a raw channel id,
    phone number or email: callers hand over keyed hashes and redacted text."""

    def transaction(self) -> AbstractContextManager[None]:
        """The writes of one message, applied together or not at all (each backend says
        exactly what it guarantees)."""
        ...

    # --- per-user state ---
    def get_user(self, key: str) -> UserState | None: ...

    def save_user(self, key: str, state: UserState, now: float | None = None) -> None: ...

    def wipe(self) -> None:
        """After a person was deleted: leave no copy of their rows anywhere (WAL pages)."""

    def hold_replies(self, key: str, replies: str, now: float | None = None) -> None:
        """Keep a message's replies until `delivered`, for a re-delivery after a crash."""

    def held_replies(self, key: str, held_since: float) -> str | None: ...

    def delivered(self, key: str) -> None: ...

    def delete_user(self, key: str, tag: str = "") -> None:
        """Everything tied to a person: state, and the misses and scam checks marked with
        `tag`. Not the rate counter and lookup counts: they are kept under another key (the
        limit key), so that deleting cannot reset them, and expire within a day."""
        ...

    # --- guards ---
    def first_delivery(self, key: str, now: float | None = None) -> bool:
        """Record a delivered message id; False when it was seen before."""
        ...

    def hit(self, key: str, window: int) -> int:
        """Count one message of a person in a time window; the count so far."""
        ...

    # --- breach lookups ---
    def lookups(self, key: str, day: int) -> tuple[int, set[str]]: ...

    def add_lookup(self, key: str, day: int, target: str, kind: str) -> None: ...

    def hibp_catalogue(self) -> tuple[dict[str, dict], float]: ...

    def save_hibp_catalogue(self, items: dict[str, dict], now: float) -> None: ...

    def checked_message(self, fingerprint: str, checker: str, now: float | None = None) -> int: ...

    # --- anonymous records ---
    def count(self, intent: str, lang: str, now: float | None = None) -> None: ...

    def add_miss(self, text: str, lang: str, now: float | None = None, who: str = "") -> None: ...

    def add_feedback(self, intent: str, lang: str, helpful: bool, now: float | None = None) -> None: ...

    def daily_counts(self, since_day: str) -> list[tuple[str, str, str, int]]: ...

    def daily_feedback(self, since_day: str) -> list[tuple[str, str, str, int, int]]: ...

    def recent_misses(self, since: float) -> list[tuple[int, str, str]]: ...

    # --- upkeep ---
    def ping(self) -> None:
        """Raise when the storage does not answer."""
        ...

    def purge(self, retention: Retention = KEEP, now: float | None = None) -> dict[str, int]: ...

    def close(self) -> None: ...


def open_store(settings: Settings) -> StateStore:
    """The store the settings ask for: Redis when `BOT_STATE_URL` is a redis:// (rediss://,
    unix://) URL, else the SQLite file `BOT_DB`."""
    url = settings.state_url.strip()
    if not url:
        return Store(settings.db_path)
    if url.startswith(REDIS_SCHEMES):
        from bot.state.redis_store import RedisStore  # the redis package is needed only here

        return RedisStore(url, settings.retention)
    raise ValueError(f"BOT_STATE_URL must be a redis:// URL or empty (SQLite), not {url.split(':')[0]}:...")
