"""A local Have I Been Pwned API v3 server: the endpoints the bot uses, as documented.

    GET /breachedaccount/{account}?truncateResponse=false   needs hibp-api-key; 404 = not found
    GET /breaches                                            no key

Requests without a User-Agent get 403 and without the key 401, as the real API answers.

    with FakeHibp(accounts={"ali@example.com": ["Adobe"]}) as hibp:   # hibp.url = HIBP_API_URL
        hibp.fail_next(429, {"retry-after": "1"})                     # or 500, or slow(2.0)
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bot.testing.http import LocalServer

KEY = "test-hibp-key"
BREACHES: dict[str, dict[str, Any]] = {
    "Adobe": {"Name": "Adobe", "Title": "Adobe", "Domain": "adobe.com", "BreachDate": "2013-10-04",
              "PwnCount": 152445165,
              "Description": "In October 2013, 153 million Adobe accounts were breached.",
              "DataClasses": ["Email addresses", "Password hints", "Passwords", "Usernames"]},
    "Canva": {"Name": "Canva", "Title": "Canva", "Domain": "canva.com", "BreachDate": "2019-05-24",
              "PwnCount": 137272116, "Description": "In May 2019, Canva suffered a data breach.",
              "DataClasses": ["Email addresses", "Geographic locations", "Names", "Passwords", "Usernames"]},
}


class FakeHibp(LocalServer):
    def __init__(self, accounts: dict[str, list[str]] | None = None, key: str = KEY):
        self.accounts = {k.lower(): v for k, v in (accounts or {}).items()}
        self.key = key
        self.requests: list[dict[str, Any]] = []  # path, query and headers of every request
        self._failures: list[tuple[int, dict[str, str], float]] = []
        self._lock = threading.Lock()
        self.delay = 0.0  # seconds every breachedaccount answer waits (a slow HIBP)

    def fail_next(self, status: int, headers: dict[str, str] | None = None, delay: float = 0.0) -> None:
        """Answer the next request with `status` (after `delay` seconds)."""
        with self._lock:
            self._failures.append((status, headers or {}, delay))

    def slow_next(self, delay: float) -> None:
        """Answer the next request correctly, but only after `delay` seconds."""
        self.fail_next(0, {}, delay)

    def _answer(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, Any]:
        if not headers.get("user-agent"):
            return 403, {"statusCode": 403, "message": "User-Agent required"}
        if path == "/breaches":
            return 200, list(BREACHES.values())
        if path.startswith("/breachedaccount/"):
            if headers.get("hibp-api-key") != self.key:
                return 401, {"statusCode": 401, "message": "Access denied due to missing hibp-api-key."}
            names = self.accounts.get(unquote(path.split("/", 2)[2]).lower())
            if not names:
                return 404, None
            truncated = query.get("truncateResponse", ["true"])[0].lower() != "false"
            return 200, [{"Name": n} if truncated else BREACHES[n] for n in names]
        return 404, None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                url = urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with fake._lock:
                    fake.requests.append({"path": url.path, "query": url.query, "headers": headers})
                    failure = fake._failures.pop(0) if fake._failures else None
                if failure:
                    status, extra, delay = failure
                    time.sleep(delay)
                    if status:
                        return self._send(status, {"statusCode": status}, extra)
                if url.path.startswith("/breachedaccount/"):
                    time.sleep(fake.delay)
                status, body = fake._answer(url.path, parse_qs(url.query), headers)
                self._send(status, body)

            def _send(self, status: int, body: Any, extra: dict[str, str] | None = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
