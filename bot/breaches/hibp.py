"""Have I Been Pwned API v3: which breaches hold an email address, and the breach catalogue.

    GET {root}/breachedaccount/{email}?truncateResponse=false   (hibp-api-key, User-Agent)
    GET {root}/breaches                                          (no key)

404 means not found; 429 carries `retry-after` (we wait once, if the wait is short); timeouts,
5xx and 429s we cannot wait out become `LookupUnavailable`, and count towards a circuit
breaker: after a few in a row HIBP is not called for a while and calls raise `LookupPaused`
at once. The email goes into the request and nowhere else.

Why the time limits are small: a lookup runs in a worker thread after the message's
transaction (the person got "checking…"), so it holds up nobody else, but the person waits.
One call stays within about BUDGET seconds: a first attempt (connect at most CONNECT_TIMEOUT,
then each read at most TIMEOUT), and a retry only after a 429 whose retry-after is at most
MAX_WAIT and only if that wait plus a whole retry fits in BUDGET. An answer slower than SLOW
counts as a failure for the breaker too (it is still used): a HIBP that answers slowly is
paused like one that does not answer."""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import quote

import httpx

from bot.breaches.breaker import Breaker
from bot.ops import logs

# httpx logs every URL it calls at INFO, and ours carry the email: never below WARNING.
logs.quiet("httpx", logging.WARNING)

DEFAULT_URL = "https://haveibeenpwned.com/api/v3"
USER_AGENT = "Mehfooz-privacy-helpline-bot"
TIMEOUT = 3.0  # seconds for each read (and write) of a request
CONNECT_TIMEOUT = 1.5  # seconds to connect; HIBP sits behind a CDN, so a slow connect means trouble
MAX_WAIT = 2.0  # the longest 429 retry-after we wait out before telling the person to try later
BUDGET = 6.0  # seconds one call may take, the retry after a 429 included
SLOW = 2.0  # seconds: an answer slower than this counts as a failure for the breaker
BREAKER_FAILURES = 3  # failed calls in a row that pause calls to HIBP...
BREAKER_COOLDOWN = 60.0  # ...for this many seconds, before one trial call


class LookupUnavailable(Exception):
    """HIBP cannot answer now (timeout, 5xx, or still rate-limited after one wait)."""


class LookupPaused(LookupUnavailable):
    """HIBP failed several times in a row: calls are paused for a while (the breaker is open)."""


class HibpClient:
    def __init__(self, api_key: str, base_url: str = DEFAULT_URL, timeout: float = TIMEOUT,
                 sleep: Any = time.sleep, breaker: Breaker | None = None, budget: float = BUDGET):
        self.api_key = api_key
        self.timeout, self.budget = timeout, budget
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), headers={"user-agent": USER_AGENT},
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
        )
        self._sleep = sleep
        self.breaker = breaker or Breaker(BREAKER_FAILURES, BREAKER_COOLDOWN)

    @property
    def has_key(self) -> bool:
        return bool(self.api_key)

    def breached_account(self, email: str) -> list[dict[str, Any]]:
        """The breaches that hold `email` (full breach objects); [] when HIBP has none."""
        path = f"/breachedaccount/{quote(email, safe='')}"
        response = self._get(path, {"truncateResponse": "false"}, {"hibp-api-key": self.api_key})
        if response.status_code == 404:
            return []
        return _json_list(response)

    def breaches(self) -> list[dict[str, Any]]:
        """The whole breach catalogue (names, dates, descriptions, data classes)."""
        return _json_list(self._get("/breaches", {}, {}))

    def _get(self, path: str, params: dict[str, str], headers: dict[str, str]) -> httpx.Response:
        """One call, through the breaker: 404 and success are answers; the rest raise."""
        if not self.breaker.allow():
            raise LookupPaused("calls to HIBP are paused")
        started = time.monotonic()
        try:
            response = self._attempts(path, params, headers)
        except LookupUnavailable:
            self.breaker.failure()
            raise
        status = response.status_code
        if status == 429 or status >= 500:
            self.breaker.failure()
            raise LookupUnavailable("rate limited" if status == 429 else f"HTTP {status}")
        if time.monotonic() - started > SLOW:
            self.breaker.failure()  # answered, but slowly: enough of these pause HIBP
        else:
            self.breaker.success()  # HIBP answered, even if it refused (e.g. 401: a bad key is no outage)
        if status == 404 or response.is_success:
            return response
        raise LookupUnavailable(f"HTTP {status}")

    def _attempts(self, path: str, params: dict[str, str], headers: dict[str, str]) -> httpx.Response:
        """The answer of HIBP, after one wait on a short 429 when it fits in the budget."""
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
            raise LookupUnavailable(type(exc).__name__) from exc

    def close(self) -> None:
        self.http.close()


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


def _json_list(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        data = response.json()
    except ValueError as exc:
        raise LookupUnavailable("not JSON") from exc
    if not isinstance(data, list):
        raise LookupUnavailable("unexpected answer")
    return [item for item in data if isinstance(item, dict)]
