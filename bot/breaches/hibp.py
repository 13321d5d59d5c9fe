"""Have I Been Pwned API v3: which breaches hold an email address, and the breach catalogue.

    GET {root}/breachedaccount/{email}?truncateResponse=false   (hibp-api-key, User-Agent)
    GET {root}/breaches                                          (no key)

404 means not found; 429 carries `retry-after` (we wait once, if the wait is short). Time
limits, the circuit breaker and the errors are `source.HttpSource`'s. The email goes into the
request and nowhere else."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from bot.breaches.breaker import Breaker
from bot.breaches.source import (  # noqa: F401  (re-exported: the names callers know)
    BREAKER_COOLDOWN,
    BREAKER_FAILURES,
    BUDGET,
    CONNECT_TIMEOUT,
    MAX_WAIT,
    SLOW,
    TIMEOUT,
    USER_AGENT,
    Found,
    HttpSource,
    LookupPaused,
    LookupUnavailable,
    RateLimited,
    json_body,
    records,
)

DEFAULT_URL = "https://haveibeenpwned.com/api/v3"
CATALOGUE_MAX_AGE = 86400.0  # the breach catalogue is fetched again after a day


class HibpClient(HttpSource):
    name = "hibp"

    def __init__(self, api_key: str, base_url: str = DEFAULT_URL, timeout: float = TIMEOUT,
                 sleep: Any = time.sleep, breaker: Breaker | None = None, budget: float = BUDGET,
                 store: Any = None):
        super().__init__(base_url, timeout, sleep, breaker, budget)
        self.api_key = api_key
        self.store = store  # where the breach catalogue is kept between lookups (a StateStore)

    @property
    def has_key(self) -> bool:
        return bool(self.api_key)

    def check(self, email: str) -> list[Found]:
        answer = self.breached_account(email)
        catalogue = self.catalogue() if answer else {}
        return [_describe(item, catalogue) for item in answer]

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

    def catalogue(self, now: float | None = None,
                  clock: Callable[[], float] = time.time) -> dict[str, dict[str, Any]]:
        """The breach catalogue by name, from the store, fetched again once a day."""
        if self.store is None:
            return {}
        now = now or clock()
        cached, fetched = self.store.hibp_catalogue()
        if now - fetched > CATALOGUE_MAX_AGE:
            try:
                cached = {str(b.get("Name")): b for b in self.breaches()}
                self.store.save_hibp_catalogue(cached, now)
            except LookupUnavailable:
                pass  # the old copy will do until HIBP answers again
        return cached


def _describe(item: dict[str, Any], catalogue: dict[str, dict[str, Any]]) -> Found:
    """A breach of an HIBP answer, completed from the catalogue where the answer is short."""
    item = {**catalogue.get(str(item.get("Name", "")), {}), **item}
    return Found(str(item.get("Title") or item.get("Name", "")), str(item.get("BreachDate") or ""),
                 tuple(str(c) for c in item.get("DataClasses") or ()), records=records(item.get("PwnCount")))


def _json_list(response: httpx.Response) -> list[dict[str, Any]]:
    data = json_body(response)
    if not isinstance(data, list):
        raise LookupUnavailable("unexpected answer")
    return [item for item in data if isinstance(item, dict)]
