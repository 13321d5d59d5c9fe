"""What every email breach source is: a client of an outside HTTP service (Have I Been Pwned or
XposedOrNot) that says which breaches hold an email address, as `Found` items.

    source.check(email) -> list[Found]     # [] when the service knows none
    raises RateLimited (429), LookupPaused (the breaker is open) or LookupUnavailable (the rest)

`HttpSource` holds what the clients share. One call stays within about BUDGET seconds: a first
attempt (connect at most CONNECT_TIMEOUT, then each read at most TIMEOUT), and a retry only
after a 429 whose retry-after is at most MAX_WAIT and only if that wait plus a whole retry fits
in BUDGET. Timeouts, 5xx, 429s we cannot wait out and answers slower than SLOW count towards a
circuit breaker: after a few in a row the service is not called for a while. A service whose
429 asks for a long wait (XposedOrNot's hourly and daily limits) is not called again until
then (`hold_429`). The email goes into the request and nowhere else: not into logs (httpx
logs every URL at INFO, so it is kept at WARNING) and not into the exceptions' messages.

Why the limits are small: a lookup runs in a worker thread after the message's transaction
(the person got "checking…"), so it holds up nobody else, but the person waits."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from bot.breaches.breaker import Breaker
from bot.ops import logs

logs.quiet("httpx", logging.WARNING)

TIMEOUT = 3.0  # seconds for each read (and write) of a request
CONNECT_TIMEOUT = 1.5  # seconds to connect; both services sit behind a CDN: a slow connect means trouble
MAX_WAIT = 2.0  # the longest 429 retry-after we wait out before telling the person to try later
BUDGET = 6.0  # seconds one call may take, the retry after a 429 included
SLOW = 2.0  # seconds: an answer slower than this counts as a failure for the breaker
BREAKER_FAILURES = 3  # failed calls in a row that pause calls to the service...
BREAKER_COOLDOWN = 60.0  # ...for this many seconds, before one trial call
LONGEST_HOLD = 86400.0  # a 429 never stops calls for longer than a day
USER_AGENT = "Mehfooz-privacy-helpline-bot"


@dataclass(frozen=True)
class Found:
    """One breach that holds the identifier. `date`: "YYYY-MM-DD", "YYYY-MM", "YYYY" or "";
    `records`: how many accounts the breach held (0: not known)."""

    name: str
    date: str
    data: tuple[str, ...]
    slug: str = ""  # the index's id: a catalogue incident is then worded in the person's language
    records: int = 0


class LookupUnavailable(Exception):
    """The service cannot answer now (timeout, 5xx, an answer we cannot read)."""


class RateLimited(LookupUnavailable):
    """The service refused with 429: too many lookups from this bot for now."""


class LookupPaused(LookupUnavailable):
    """The service failed several times in a row, or asked us to wait: calls are paused."""


class EmailSource(Protocol):
    name: str  # "hibp" or "xon": the report says which service checked, with its link
    breaker: Breaker

    def check(self, email: str) -> list[Found]: ...

    def close(self) -> None: ...


class HttpSource:
    """The HTTP call, time limits, 429 handling and circuit breaker both clients share."""

    name = ""
    hold_429 = False  # a 429's retry-after (up to a day) pauses every call for that long

    def __init__(self, base_url: str, timeout: float = TIMEOUT, sleep: Any = time.sleep,
                 breaker: Breaker | None = None, budget: float = BUDGET,
                 headers: dict[str, str] | None = None):
        self.timeout, self.budget = timeout, budget
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), headers={"user-agent": USER_AGENT, **(headers or {})},
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
        )
        self._sleep = sleep
        self.breaker = breaker or Breaker(BREAKER_FAILURES, BREAKER_COOLDOWN)

    def _get(self, path: str, params: dict[str, str], headers: dict[str, str]) -> httpx.Response:
        """One call, through the breaker: 404 and success are answers; the rest raise."""
        if not self.breaker.allow():
            raise LookupPaused(f"calls to {self.name} are paused")
        started = time.monotonic()
        try:
            response = self._attempts(path, params, headers)
        except LookupUnavailable:
            self.breaker.failure()
            raise
        status = response.status_code
        if status == 429:
            wait = _retry_after(response)
            if self.hold_429 and wait:
                self.breaker.hold(min(wait, LONGEST_HOLD))
            else:
                self.breaker.failure()
            raise RateLimited(f"{self.name}: rate limited")
        if status >= 500:
            self.breaker.failure()
            raise LookupUnavailable(f"{self.name}: HTTP {status}")
        if time.monotonic() - started > SLOW:
            self.breaker.failure()  # answered, but slowly: enough of these pause the service
        else:
            self.breaker.success()  # it answered, even if it refused (a bad key is no outage)
        if status == 404 or response.is_success:
            return response
        raise LookupUnavailable(f"{self.name}: HTTP {status}")

    def _attempts(self, path: str, params: dict[str, str], headers: dict[str, str]) -> httpx.Response:
        """The service's answer, after one wait on a short 429 when it fits in the budget."""
        started = time.monotonic()
        response = self._request(path, params, headers)
        if response.status_code == 429:
            wait = _retry_after(response)
            spent = time.monotonic() - started
            if wait is not None and wait <= MAX_WAIT and spent + wait + self.timeout <= self.budget:
                self._sleep(wait)
                response = self._request(path, params, headers)
        return response

    def _request(self, path: str, params: dict[str, str], headers: dict[str, str]) -> httpx.Response:
        try:
            return self.http.get(path, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise LookupUnavailable(f"{self.name}: {type(exc).__name__}") from exc

    def close(self) -> None:
        self.http.close()


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


def json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise LookupUnavailable("not JSON") from exc


def records(value: Any) -> int:
    """A breach's size as the service gave it (a number, or digits in a string); 0 if none."""
    try:
        return max(0, int(str(value).replace(",", "").strip() or 0))
    except ValueError:
        return 0
