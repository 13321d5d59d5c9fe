"""Blocking work off the event loop, one person at a time.

The core's transaction runs on the event loop when no lock is held (the usual case: a few
ms of CPU, no thread hop), waiting there a moment for a lock held briefly; past that it runs
in a thread, where it may wait on SQLite's write lock. HIBP lookups and other blocking calls
run in threads, so the event loop keeps answering everyone else (and `/healthz`) whatever one
of them waits for. Work is queued per person: a person's messages
run one after another, in arrival order, so someone sending many messages (or many slow
lookups) holds at most one thread of each pool, and a duplicate of a message waits until the
first is delivered instead of racing it.

    work = WorkQueue()
    async with work.person("telegram:42"):
        outcome = await work.core(core.handle, incoming)   # on the loop once no lock is held
    replies = await work.slow("telegram:42", lookup)       # a "slow" thread, queued per person

Person names live in memory only, for as long as the person has work queued."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, TypeVar

from bot.state.sqlite_store import WouldWait

T = TypeVar("T")
CORE_THREADS = 8  # transactions are short; they mostly wait on each other's lock
# A lock held for a moment (a checkpoint's last step, another transaction) is waited out on
# the loop, trying again every POLL_EVERY s, and only past INLINE_WAIT does the work go to a
# thread (where it may wait on SQLite's busy timeout). Handing it to a thread at once made a
# convoy: a thread holding the store's lock needs the GIL back after each statement (up to
# the 5 ms switch interval while the loop runs), so it held the lock for tens of ms, every
# message arriving meanwhile went to a thread too, and replies stalled for a minute or more.
POLL_EVERY = 0.002
INLINE_WAIT = 0.25
SLOW_THREADS = 4  # HIBP lookups in flight at once, over all people


class WorkQueue:
    def __init__(self, store: object = None, core_threads: int = CORE_THREADS,
                 slow_threads: int = SLOW_THREADS):
        # A store that can refuse to wait (SQLite's `without_waiting`): the core runs on the
        # loop when no lock is held (a few ms of CPU, no thread hop), else in a thread.
        self._inline = getattr(store, "without_waiting", None)
        self._core = ThreadPoolExecutor(core_threads, thread_name_prefix="core")
        self._slow = ThreadPoolExecutor(slow_threads, thread_name_prefix="slow")
        self._queues: dict[str, tuple[asyncio.Lock, int]] = {}  # person -> (lock, waiting)
        self._tasks: set[asyncio.Task[Any]] = set()  # follow-ups under way
        self.waits = 0  # polls while a lock was held (for metrics and benches)
        self.handed_off = 0  # store work moved to a thread after INLINE_WAIT (idem)

    @asynccontextmanager
    async def person(self, who: str) -> AsyncIterator[None]:
        """Hold the person's turn: their other work waits until this block ends (FIFO)."""
        lock, waiting = self._queues.get(who, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._queues[who] = (lock, waiting + 1)
        try:
            async with lock:
                yield
        finally:
            lock, waiting = self._queues[who]
            if waiting == 1:
                del self._queues[who]
            else:
                self._queues[who] = (lock, waiting - 1)

    async def core(self, fn: Callable[..., T], *args: Any) -> T:
        """Run store work (`fn` must do nothing before its first lock, as `Bot.handle`) on
        the loop, once no lock is held; in a core thread, where it may wait, only when a
        lock is still held after INLINE_WAIT seconds."""
        if self._inline is not None:
            loop = asyncio.get_running_loop()
            give_up = loop.time() + INLINE_WAIT
            while True:
                try:
                    with self._inline():
                        return fn(*args)
                except WouldWait:
                    if loop.time() >= give_up:
                        break
                    self.waits += 1
                    await asyncio.sleep(POLL_EVERY)
            self.handed_off += 1
        return await self.call(fn, *args)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` in a core thread."""
        return await asyncio.get_running_loop().run_in_executor(self._core, partial(fn, *args))

    async def slow(self, who: str, fn: Callable[[], T]) -> T:
        """Run slow work (an outside service) in a slow thread, one at a time per person."""
        async with self.person(f"slow:{who}"):
            return await asyncio.get_running_loop().run_in_executor(self._slow, fn)

    def keep(self, task: asyncio.Task[Any]) -> None:
        """Hold a background task until it ends (the loop keeps only weak references)."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 10.0) -> None:
        """At shutdown: let follow-ups under way finish, for at most `timeout` seconds."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    def close(self) -> None:
        # Store work already queued finishes (a reply's delivered-mark among it) before the
        # store closes; slow outside calls are dropped.
        self._slow.shutdown(wait=False, cancel_futures=True)
        self._core.shutdown(wait=True)

    @property
    def people(self) -> int:
        """People with work queued or running (for tests and metrics)."""
        return len(self._queues)
