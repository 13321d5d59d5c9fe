"""A circuit breaker: stop calling an outside service that keeps failing, for a while.

Closed (normal): every call goes through; `failures` failures in a row open the breaker.
Open: no call goes through for `cooldown` seconds, so a down or rate-limiting service costs
nothing and is not hammered. Half-open (after the cooldown): one trial call goes through;
its success closes the breaker, its failure opens it for another cooldown. `hold(seconds)`
opens it at once for as long as the service asked (a 429's retry-after).

    breaker = Breaker(failures=3, cooldown=60.0)
    if not breaker.allow():
        ...                     # answer at once without the service
    try: call(); breaker.success()
    except Failure: breaker.failure()
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class Breaker:
    def __init__(self, failures: int = 3, cooldown: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        if failures < 1 or cooldown < 0:
            raise ValueError("failures must be at least 1 and cooldown not negative")
        self.failures, self.cooldown, self._clock = failures, cooldown, clock
        self._failed = 0  # failures in a row
        self._opened_at: float | None = None
        self._open_for = cooldown  # how long this opening lasts: the cooldown, or a hold
        self._trial_at: float | None = None  # when the half-open trial call went through
        self._lock = threading.Lock()  # the CLI and tests may call from several threads

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return CLOSED
        return OPEN if self._clock() - self._opened_at < self._open_for else HALF_OPEN

    def allow(self) -> bool:
        """May a call go through now? In half-open, only the first caller's may (the trial)."""
        with self._lock:
            state = self._state()
            if state == CLOSED:
                return True
            # A trial that never reported back (the caller died) must not block for ever.
            now = self._clock()
            if state == HALF_OPEN and (self._trial_at is None or now - self._trial_at >= self.cooldown):
                self._trial_at = now
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self._failed, self._opened_at, self._trial_at = 0, None, None

    def failure(self) -> None:
        with self._lock:
            self._failed += 1
            if self._trial_at is not None or self._failed >= self.failures:
                self._opened_at, self._trial_at, self._open_for = self._clock(), None, self.cooldown

    def hold(self, seconds: float) -> None:
        """Open now for `seconds`: the service said when to come back (a 429's retry-after)."""
        with self._lock:
            self._opened_at, self._trial_at, self._open_for = self._clock(), None, max(0.0, seconds)
