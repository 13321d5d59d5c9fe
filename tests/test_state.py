"""One behaviour suite for both state backends: SQLite (`bot.state.sqlite_store.Store`) and Redis
(`bot.state.redis_store.RedisStore`, against a real `redis-server` on loopback started for the
session). Then what only Redis has: TTLs that match the retention rules, claims that a
crashed worker leaves behind, atomicity across connections, and the factory."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.content.load import Content
from bot.dialogue.core import Bot
from bot.dialogue.messages import Incoming
from bot.state.backend import StateStore, open_store
from bot.state.sqlite_store import DAY, Retention, Store, UserState
from bot.testing.redis_server import RedisMissing, RedisServer, run_redis

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    try:
        with run_redis() as server:
            yield server
    except RedisMissing as missing:
        pytest.skip(f"Redis backend not tested: {missing}")


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()  # each test starts empty
    client.close()
    return redis_server.url


def _redis_store(url: str, **kwargs) -> StateStore:
    from bot.state.redis_store import RedisStore

    return RedisStore(url, **kwargs)


@pytest.fixture(params=["sqlite", "redis"])
def state(request, tmp_path: Path) -> Iterator[StateStore]:
    if request.param == "sqlite":
        store: StateStore = Store(tmp_path / "bot.db")
    else:
        store = _redis_store(request.getfixturevalue("redis_url"))
    yield store
    store.close()


def today() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime())


# --- the interface ---------------------------------------------------------------------
PROTOCOL_METHODS = sorted(
    name for name, member in vars(StateStore).items() if callable(member) and not name.startswith("_")
)


def test_both_backends_have_every_method_of_the_protocol_with_its_signature(redis_url):
    from bot.state.redis_store import RedisStore

    assert len(PROTOCOL_METHODS) >= 20
    for name in PROTOCOL_METHODS:
        wanted = inspect.signature(getattr(StateStore, name))
        for backend in (Store, RedisStore):
            given = inspect.signature(getattr(backend, name)).parameters
            # the protocol's parameters, in order; a backend may add its own, with defaults
            assert list(given)[:len(wanted.parameters)] == list(wanted.parameters), (backend.__name__, name)
            extra = list(given.values())[len(wanted.parameters):]
            assert all(p.default is not inspect.Parameter.empty for p in extra), (backend.__name__, name)
    redis_store, sqlite_store = RedisStore(redis_url), Store(":memory:")
    assert isinstance(redis_store, StateStore) and isinstance(sqlite_store, StateStore)
    redis_store.close()
    sqlite_store.close()


# --- per-user state --------------------------------------------------------------------
def test_user_state_round_trip_and_overwrite(state: StateStore):
    assert state.get_user("k1") is None
    state.save_user("k1", UserState(lang="ur", pinned=True, pending="breach:email", options=["a", "lang:ur"]))
    assert state.get_user("k1") == UserState("ur", True, "breach:email", ["a", "lang:ur"])
    state.save_user("k1", UserState(lang="en"))
    assert state.get_user("k1") == UserState("en", False, None, [])
    assert state.get_user("k2") is None


def test_delete_user_removes_state_misses_and_scam_checks_of_that_person_only(state: StateStore):
    day = int(time.time() // DAY)
    for key in ("gone", "kept"):
        state.save_user(key, UserState(lang="en"))
        state.hit("limits-" + key, 100)
        state.add_lookup("limits-" + key, day, "t-" + key, "email")
        state.add_miss(f"miss of {key}", "en", who="tag-" + key)
        state.checked_message("print", "tag-" + key)
    state.delete_user("gone", "tag-gone")
    assert state.get_user("gone") is None
    assert [text for _, _, text in state.recent_misses(0)] == ["miss of kept"]
    assert state.checked_message("print", "tag-other") == 1  # only "kept" checked it before
    # The limits live under their own key: deletion does not reset them.
    assert state.hit("limits-gone", 100) == 2
    assert state.lookups("limits-gone", day) == (1, {"t-gone"})
    assert state.get_user("kept") == UserState(lang="en")
    assert state.hit("limits-kept", 100) == 2
    assert state.lookups("limits-kept", day) == (1, {"t-kept"})


# --- guards ----------------------------------------------------------------------------
def test_first_delivery_is_true_once_per_message_id(state: StateStore):
    assert state.first_delivery("m1") is True
    assert state.first_delivery("m1") is False
    assert state.first_delivery("m2") is True
    with state.transaction():
        assert state.first_delivery("m3") is True
        assert state.first_delivery("m3") is False
    assert state.first_delivery("m3") is False


def test_hit_counts_per_person_and_window(state: StateStore):
    assert [state.hit("a", 7) for _ in range(3)] == [1, 2, 3]
    assert state.hit("b", 7) == 1
    assert state.hit("a", 8) == 1  # a new minute starts again
    assert state.hit("a", 8) == 2


# --- breach lookups --------------------------------------------------------------------
def test_lookups_per_day_with_the_emails_among_them(state: StateStore):
    day = int(time.time() // DAY)
    assert state.lookups("p", day) == (0, set())
    state.add_lookup("p", day, "e1", "email")
    state.add_lookup("p", day, "n1", "phone")
    state.add_lookup("p", day, "e2", "email")
    state.add_lookup("p", day - 1, "e0", "email")
    assert state.lookups("p", day) == (3, {"e1", "e2"})
    assert state.lookups("p", day - 1) == (1, {"e0"})
    assert state.lookups("q", day) == (0, set())


def test_hibp_catalogue_is_empty_then_replaced_whole(state: StateStore):
    assert state.hibp_catalogue() == ({}, 0)
    first = {"Adobe": {"Name": "Adobe", "DataClasses": ["Emails"]}, "LinkedIn": {"Name": "LinkedIn"}}
    state.save_hibp_catalogue(first, 1_700_000_000)
    assert state.hibp_catalogue() == (first, 1_700_000_000)
    second = {"Canva": {"Name": "Canva", "BreachDate": "2019-05-24"}}
    state.save_hibp_catalogue(second, 1_700_086_400)
    assert state.hibp_catalogue() == (second, 1_700_086_400)


def test_checked_message_counts_other_checkers_of_the_last_week(state: StateStore):
    now = time.time()
    assert state.checked_message("print", "alice", now=now - 8 * DAY) == 0
    assert state.checked_message("print", "bob", now=now - 6 * DAY) == 1  # alice, 2 days before
    assert state.checked_message("print", "carol", now=now) == 1  # bob; alice's is too old
    assert state.checked_message("print", "carol", now=now) == 1  # the same person again
    assert state.checked_message("print", "dave", now=now) == 2
    assert state.checked_message("other", "dave", now=now) == 0


# --- anonymous records -----------------------------------------------------------------
def test_counts_by_day_intent_and_language(state: StateStore):
    now = time.time()
    for intent, lang, at in [("greeting", "en", now), ("greeting", "en", now), ("greeting", "ur", now),
                             ("menu", "en", now), ("menu", "en", now - 3 * DAY)]:
        state.count(intent, lang, now=at)
    old = time.strftime("%Y-%m-%d", time.gmtime(now - 3 * DAY))
    assert state.daily_counts(today()) == [
        (today(), "greeting", "en", 2), (today(), "greeting", "ur", 1), (today(), "menu", "en", 1)]
    assert state.daily_counts(old)[0] == (old, "menu", "en", 1)
    assert len(state.daily_counts("0000-00-00")) == 4


def test_feedback_by_day_intent_and_language(state: StateStore):
    state.add_feedback("sim_check", "en", True)
    state.add_feedback("sim_check", "en", True)
    state.add_feedback("sim_check", "en", False)
    state.add_feedback("complain_pta", "ur", False)
    assert state.daily_feedback(today()) == [
        (today(), "complain_pta", "ur", 0, 1), (today(), "sim_check", "en", 2, 1)]
    assert state.daily_feedback("9999-01-01") == []


def test_misses_in_time_order_since_a_time(state: StateStore):
    now = time.time()
    state.add_miss("old one", "en", now=now - 10)
    state.add_miss("mera ### kya hai", "roman_ur", now=now)
    state.add_miss("mera ### kya hai", "roman_ur", now=now)  # the same text twice stays twice
    state.add_miss("a | pipe\tand tab", "en", now=now + 1)
    assert state.recent_misses(now - 5) == [
        (int(now), "roman_ur", "mera ### kya hai"), (int(now), "roman_ur", "mera ### kya hai"),
        (int(now + 1), "en", "a | pipe\tand tab")]
    assert [m[2] for m in state.recent_misses(0)][0] == "old one"


def test_every_store_masks_the_misses_itself(state: StateStore, request: pytest.FixtureRequest):
    """The one masker at the store: whatever a caller hands over, no email spelled out
    reaches the file, or Redis (whose RDB dump and append-only file hold what it holds)."""
    for text in ("x at the rate gmail dot com", "x @ gmail . com", "sara dot ahmed at yahoo dot com"):
        state.add_miss(f"my email {text} please", "en")
    kept = [m[2] for m in state.recent_misses(0)]
    assert len(kept) == 3 and all("<email>" in t for t in kept), kept
    assert not any(word in " ".join(kept) for word in ("gmail", "yahoo", "sara"))
    if type(state).__name__ == "RedisStore":
        import redis

        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        raw = b" ".join(client.dump(key) or b"" for key in client.keys("*"))
        client.close()
        assert b"gmail" not in raw and b"yahoo" not in raw


# --- transactions ----------------------------------------------------------------------
def _one_message(state: StateStore, fail: bool) -> None:
    day = int(time.time() // DAY)
    with state.transaction():
        assert state.first_delivery("msg")
        assert state.hit("person", 5) == 1
        state.save_user("person", UserState(lang="ur", options=["x"]))
        state.add_lookup("person", day, "target", "email")
        state.add_miss("something", "ur")
        state.add_feedback("menu", "ur", True)
        state.count("menu", "ur")
        if fail:
            raise RuntimeError("the core failed half way")


def test_a_failed_message_leaves_nothing_behind(state: StateStore):
    with pytest.raises(RuntimeError):
        _one_message(state, fail=True)
    assert state.get_user("person") is None
    assert state.daily_counts("0000-00-00") == [] and state.daily_feedback("0000-00-00") == []
    assert state.recent_misses(0) == []
    assert state.lookups("person", int(time.time() // DAY)) == (0, set())
    assert state.hit("person", 5) == 1  # the failed message's hit was taken back
    assert state.first_delivery("msg") is True  # so a re-delivery is answered


def test_a_handled_message_leaves_everything(state: StateStore):
    _one_message(state, fail=False)
    assert state.get_user("person") == UserState(lang="ur", options=["x"])
    assert state.daily_counts(today()) == [(today(), "menu", "ur", 1)]
    assert state.daily_feedback(today()) == [(today(), "menu", "ur", 1, 0)]
    assert [m[2] for m in state.recent_misses(0)] == ["something"]
    assert state.lookups("person", int(time.time() // DAY)) == (1, {"target"})
    assert state.hit("person", 5) == 2
    assert state.first_delivery("msg") is False


# --- upkeep ----------------------------------------------------------------------------
def test_retention_rows_and_keys_expire(state: StateStore):
    """tests/test_store.py's retention test, on both backends: what `purge` removes from
    SQLite has expired in Redis (or is purged, for misses)."""
    now = time.time()
    state.save_user("old", UserState(lang="ur"), now=now - 31 * DAY)
    state.save_user("new", UserState(lang="en"), now=now - 29 * DAY)
    state.first_delivery("seen-old", now=now - 31 * DAY)
    state.first_delivery("seen-new", now=now - DAY)
    state.add_miss("old miss", "en", now=now - 91 * DAY)
    state.add_miss("new miss", "en", now=now - 89 * DAY)
    state.add_lookup("someone", int(now // DAY) - 3, "t", "email")
    removed = state.purge(Retention(), now=now)
    assert set(removed) == {"users", "seen", "misses", "rates", "lookups", "scam_checks", "outbox"}
    assert removed["misses"] == 1
    assert state.get_user("old") is None and state.get_user("new") == UserState(lang="en")
    assert state.first_delivery("seen-old") is True and state.first_delivery("seen-new") is False
    assert [m[2] for m in state.recent_misses(0)] == ["new miss"]
    assert state.lookups("someone", int(now // DAY) - 3) == (0, set())


def test_ping_answers_and_close_closes(state: StateStore):
    state.ping()
    state.close()


# --- the core on both backends ---------------------------------------------------------
@pytest.fixture
def core(content: Content, state: StateStore) -> Bot:
    return Bot(content, state, b"test-secret")


def test_core_dialogue_duplicates_and_rate_limit_on_both_backends(core: Bot):
    first = core.handle(Incoming("whatsapp", "+923001234567", "how do i stop marketing calls", message_id="SM1"))
    assert first.status == "answered" and "3627" in first.replies[0].text
    core.delivered(first)  # as the channel does once the reply went out
    assert core.handle(Incoming("whatsapp", "+923001234567", "anything", message_id="SM1")).status == "duplicate"
    picked = core.handle(Incoming("whatsapp", "+923001234567", "2", message_id="SM2"))  # 1 is "more"
    assert "0800-55055" in picked.replies[0].text  # the options offered last were kept
    core.delivered(picked)
    statuses = [core.handle(Incoming("whatsapp", "+923330000000", "hi", message_id=f"R{n}")).status
                for n in range(22)]
    assert statuses == ["answered"] * 20 + ["rate_limited", "silenced"]
    counts = {(intent, lang): n for _, intent, lang, n in core.store.daily_counts(today())}
    assert counts[("stop_marketing_calls", "en")] == 1 and counts[("rate_limited", "en")] == 1


# --- Redis only: TTLs match the retention rules ----------------------------------------
def test_redis_keys_expire_as_the_retention_rules_say(redis_url):
    import redis

    keep = Retention(state=7 * DAY, seen=DAY, misses=10 * DAY)
    store = _redis_store(redis_url, retention=keep)
    with store.transaction():
        store.first_delivery("m")
        store.hit("u", 1)
        store.save_user("u", UserState(lang="en"))
        store.add_lookup("u", int(time.time() // DAY), "t", "phone")
        store.count("greeting", "en")
    store.checked_message("print", "checker")
    store.add_miss("text", "en")
    store.save_hibp_catalogue({"X": {}}, time.time())
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    ttl = {key.removeprefix("mehfooz:").split(":")[0]: r.ttl(key) for key in r.keys("mehfooz:*")}
    assert 7 * DAY - 5 <= ttl["u"] <= 7 * DAY
    assert DAY - 5 <= ttl["s"] <= DAY
    assert 3600 - 5 <= ttl["r"] <= 3600
    end_of_tomorrow = (int(time.time() // DAY) + 2) * DAY - time.time()
    assert abs(ttl["l"] - end_of_tomorrow) <= 5
    assert 7 * DAY - 5 <= ttl["k"] <= 7 * DAY
    assert ttl["c"] == ttl["days"] == ttl["m"] == ttl["hibp"] == -1  # anonymous or public: no TTL
    store.close()
    r.close()


def test_redis_claim_of_a_crashed_worker_expires_then_the_message_is_answered(redis_url):
    """A worker that dies between first_delivery and the commit: no state change is left,
    and its claim blocks duplicates only until it expires."""
    crash = (
        "import os, sys\n"
        "from bot.state.redis_store import RedisStore\n"
        "from bot.state.sqlite_store import UserState\n"
        "store = RedisStore(sys.argv[1], claim_seconds=1)\n"
        "with store.transaction():\n"
        "    assert store.first_delivery('msg')\n"
        "    store.save_user('person', UserState(lang='ur'))\n"
        "    os._exit(3)  # dies here: no commit, no rollback\n"
    )
    done = subprocess.run([sys.executable, "-c", crash, redis_url], cwd=ROOT, capture_output=True, timeout=60)
    assert done.returncode == 3, done.stderr
    store = _redis_store(redis_url)
    assert store.get_user("person") is None  # nothing half applied
    assert store.first_delivery("msg") is False  # the claim still holds a duplicate off
    deadline = time.monotonic() + 10
    while not store.first_delivery("msg"):  # until the claim expires
        assert time.monotonic() < deadline, "the claim did not expire"
        time.sleep(0.05)
    store.close()


def test_redis_first_delivery_and_hit_are_atomic_across_connections(redis_url):
    stores = [_redis_store(redis_url) for _ in range(8)]
    start = threading.Barrier(len(stores))
    won: list[bool] = []
    counts: list[int] = []

    def worker(store: StateStore) -> None:
        start.wait()
        for n in range(50):
            with store.transaction():
                won.append(store.first_delivery(f"sid-{n}"))
            counts.append(store.hit("one-person", 42))

    threads = [threading.Thread(target=worker, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert won.count(True) == 50  # each message id won by exactly one connection
    assert sorted(counts) == list(range(1, 8 * 50 + 1))  # no hit lost or counted twice
    for store in stores:
        store.close()


def test_redis_transaction_does_not_nest_a_second_multi(redis_url):
    store = _redis_store(redis_url)
    with store.transaction():
        store.save_user("a", UserState(lang="en"))
        with store.transaction():
            store.save_user("b", UserState(lang="ur"))
        assert store.get_user("b") is None  # queued with the outer one
    assert store.get_user("a") and store.get_user("b")
    store.close()


# --- choosing the backend --------------------------------------------------------------
def test_open_store_picks_by_bot_state_url(tmp_path, redis_url):
    from bot.state.redis_store import RedisStore

    env = {"BOT_DB": str(tmp_path / "bot.db"), "BOT_SECRET": "x"}
    sqlite = open_store(Settings.from_env(env))
    assert isinstance(sqlite, Store) and (tmp_path / "bot.db").exists()
    sqlite.close()
    shared = open_store(Settings.from_env({**env, "BOT_STATE_URL": redis_url, "BOT_KEEP_STATE_DAYS": "3"}))
    assert isinstance(shared, RedisStore) and shared.retention.state == 3 * DAY
    shared.ping()
    shared.close()
    with pytest.raises(ValueError, match="redis://"):
        open_store(Settings.from_env({**env, "BOT_STATE_URL": "postgres://user:pw@host/db"}))


def test_the_purge_command_purges_redis(tmp_path, redis_url):
    store = _redis_store(redis_url)
    store.add_miss("ancient", "en", now=time.time() - 100 * DAY)
    store.add_miss("recent", "en")
    env = {**os.environ, "BOT_DB": str(tmp_path / "bot.db"), "BOT_SECRET": "x", "BOT_STATE_URL": redis_url}
    out = subprocess.run([sys.executable, "-m", "bot", "purge"], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True, timeout=60)
    assert json.loads(out.stdout)["removed"]["misses"] == 1
    assert [m[2] for m in store.recent_misses(0)] == ["recent"]
    assert not (tmp_path / "bot.db").exists()  # SQLite was not touched
    store.close()
