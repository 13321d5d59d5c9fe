"""SQLite checkpoints off the request path, from a thread with a connection of its own.

SQLite's automatic checkpoint runs inside the commit that crosses 1,000 WAL pages: that one
message waits while the WAL is copied into the database and the file is synced, which on a
slow disk took 100-500 ms (`bench/bench_checkpoints.py`). With it off (`wal_autocheckpoint=0`)
this thread checkpoints instead, every `every` seconds or as soon as the WAL file grows past
ROUND_BYTES (the store's `journal_size_limit`), in two steps:

1. A PASSIVE checkpoint without holding anything: it copies what no reader still needs and
   syncs, while commits go on. This is the bulk of the work.
2. SQLite starts writing the WAL from its beginning again only when a commit begins with
   every frame copied. Under continuous traffic a commit is always under way when step 1
   ends, so that never happened: the WAL grew by gigabytes an hour. So while the WAL holds
   frames, the store's writers are then held (`hold`, the store's lock: its one connection
   waits, the event loop never does) for a last PASSIVE checkpoint, which copies the few
   frames written since step 1 (step 1 repeats, unheld, while many were). The next commit
   rewinds the WAL, and cuts the file back to ROUND_BYTES.

After "delete my data" (`truncate_soon`) a TRUNCATE checkpoint must empty the WAL file, in
which older frames still hold the deleted rows. It runs in step 2, and fails while another
connection reads an old snapshot; it is tried again every `retry` seconds until it succeeds.
It does not wait on the busy handler (busy_timeout 0)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

log = logging.getLogger(__name__)
LOOK_EVERY = 0.1  # seconds between two looks at the WAL's size
ROUND_BYTES = 4 * 1024 * 1024  # a WAL this large is checkpointed at once (SQLite's own 1,000 pages)
HELD_FRAMES = 256  # at most about this many WAL frames (1 MB) are copied while writers wait
CATCH_UP_PASSES = 4  # unheld passes at most, when commits land faster than they are copied


class Checkpointer:
    def __init__(self, path: Path, every: float = 1.0, retry: float = 0.1,
                 hold: AbstractContextManager[object] | None = None):
        self.path, self.every, self.retry = path, every, retry
        self.wal = path.with_name(path.name + "-wal")
        self.hold = hold or nullcontext()  # held around step 2: no commit lands while it runs
        self._wake = threading.Event()
        self._stopping = False
        self._wanted = self._done = 0  # deletions asked for, and the last one a TRUNCATE covered
        self.truncated = threading.Event()  # set each time a wanted TRUNCATE succeeded (tests)
        self.rewinds = 0  # checkpoints that copied the whole WAL, so that it starts over (tests)
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)

    def start(self) -> Checkpointer:
        self._thread.start()
        return self

    def truncate_soon(self) -> None:
        """Empty the WAL file as soon as no reader holds old pages (after a deletion)."""
        self.truncated.clear()
        self._wanted += 1
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(5)

    def _run(self) -> None:
        conn = sqlite3.connect(str(self.path), timeout=0, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=0")
            last = time.monotonic()
            while not self._stopping:
                self._wake.wait(self.retry if self._wanted > self._done else min(self.every, LOOK_EVERY))
                self._wake.clear()
                if self._due(last):
                    self._checkpoint(conn)
                    last = time.monotonic()
            self._checkpoint(conn)  # a deletion just before shutdown is not left in the WAL
        finally:
            conn.close()

    def _due(self, last: float) -> bool:
        """A deletion waits, `every` seconds passed, or the WAL outgrew a round's size (a
        burst: checkpointing it early keeps each round, and its held step, short)."""
        if self._wanted > self._done or time.monotonic() - last >= self.every:
            return True
        try:
            return self.wal.stat().st_size > ROUND_BYTES  # a rewind cuts it back to this
        except FileNotFoundError:
            return False

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        wanted = self._wanted  # a deletion committed before this TRUNCATE is covered by it
        truncate = wanted > self._done
        frames = _catch_up(conn)
        if frames == 0 and not truncate:  # the WAL is empty: nothing to rewind
            return
        # Even when step 1 copied everything, a commit under way lands right after it: only
        # a checkpoint that no commit can follow at once makes the next commit rewind.
        with self.hold:
            frames = _wal_checkpoint(conn, "TRUNCATE" if truncate else "PASSIVE")
        if frames is None:
            return
        self.rewinds += 1
        if truncate:
            self._done = wanted
            if self._done == self._wanted:
                self.truncated.set()


def _catch_up(conn: sqlite3.Connection) -> int | None:
    """PASSIVE checkpoints until few frames were written during the last one (a pass copies
    only the frames new since the one before), so that the held step copies little."""
    frames = _wal_checkpoint(conn, "PASSIVE")
    for _ in range(CATCH_UP_PASSES):
        if frames is None:
            break
        more = _wal_checkpoint(conn, "PASSIVE")
        if more is None or more - frames <= HELD_FRAMES:
            return frames if more is None else more
        frames = more
    return frames


def _wal_checkpoint(conn: sqlite3.Connection, mode: str) -> int | None:
    """Run one checkpoint: the frames in the WAL when it copied them all, else None (readers
    still need some, or it failed)."""
    try:
        busy, frames, copied = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    except sqlite3.Error as exc:  # locked or failing: the next round tries again
        log.debug("checkpoint failed: %s", exc)
        return None
    return frames if not busy and frames == copied else None
