"""Have I Been Pwned API v3: which breaches hold an email address, and the breach catalogue.

    GET {root}/breachedaccount/{email}?truncateResponse=false   (hibp-api-key, User-Agent)
    GET {root}/breaches                                          (no key)

404 means not found; 429 carries `retry-after` (we wait once, if the wait is short); timeouts
and 5xx become `LookupUnavailable`. The email goes into the request and nowhere else."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx

DEFAULT_URL = "https://haveibeenpwned.com/api/v3"
USER_AGENT = "Mehfooz-privacy-helpline-bot"
MAX_WAIT = 5.0  # seconds we are willing to wait on a 429 before telling the person to try later


class LookupUnavailable(Exception):
    """HIBP cannot answer now (timeout, 5xx, or still rate-limited after one wait)."""


class HibpClient:
    def __init__(self, api_key: str, base_url: str = DEFAULT_URL, timeout: float = 6.0,
                 sleep: Any = time.sleep):
        self.api_key = api_key
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=httpx.Timeout(timeout, connect=3.0),
            headers={"user-agent": USER_AGENT},
        )
        self._sleep = sleep

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
        for attempt in range(2):
            try:
                response = self.http.get(path, params=params, headers=headers)
            except httpx.HTTPError as exc:
                raise LookupUnavailable(type(exc).__name__) from exc
            if response.status_code == 429 and attempt == 0:
                wait = _retry_after(response)
                if wait is not None and wait <= MAX_WAIT:
                    self._sleep(wait)
                    continue
            if response.status_code == 404 or response.is_success:
                return response
            raise LookupUnavailable(f"HTTP {response.status_code}")
        raise LookupUnavailable("rate limited")

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
