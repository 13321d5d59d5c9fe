"""Store work stays on the event loop while a lock is held only for a moment (the soak's
stall: handing it to threads at once made a convoy on the store's lock, see work_queue.py)."""

from __future__ import annotations

import asyncio
import threading
import time

from bot.ops.work_queue import INLINE_WAIT, WorkQueue
from bot.state.sqlite_store import Store, UserState


def where_it_ran(store: Store, work: WorkQueue, hold: float) -> str:
    """The thread that ran a message's store work while another thread held the store's
    lock for `hold` seconds (as the checkpointer's last step does)."""
    held = threading.Event()

    def holder() -> None:
        with store.lock:
            held.set()
            time.sleep(hold)

    def save() -> str:
        with store.transaction():
            store.save_user("k", UserState(lang="ur"))
        return threading.current_thread().name

    async def run() -> str:
        thread = threading.Thread(target=holder)
        thread.start()
        held.wait()
        try:
            return await work.core(save)
        finally:
            thread.join()

    return asyncio.run(run())


def test_a_lock_held_for_a_moment_is_waited_out_on_the_loop(tmp_path):
    store = Store(tmp_path / "bot.db")
    work = WorkQueue(store)
    try:
        assert where_it_ran(store, work, 0.02) == threading.current_thread().name
        assert work.handed_off == 0 and work.waits > 0
        assert store.get_user("k") == UserState(lang="ur")
    finally:
        work.close()
        store.close()


def test_a_lock_held_long_hands_the_work_to_a_thread(tmp_path):
    store = Store(tmp_path / "bot.db")
    work = WorkQueue(store)
    try:
        assert where_it_ran(store, work, INLINE_WAIT + 0.3).startswith("core")
        assert work.handed_off == 1 and store.get_user("k") == UserState(lang="ur")
    finally:
        work.close()
        store.close()
