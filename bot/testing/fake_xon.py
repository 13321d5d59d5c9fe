"""A local XposedOrNot API server: the endpoint the bot uses, as its open-source code answers.

    GET /check-email/{email}?details=true
        200 {"breaches": [[names]], "email": ..., "status": "success", "breach_details": [...]}
        404 {"Error": "No breaches found", "email": ..., "status": "failed"}
        200 {"Error": "Not found"} for an address it does not take (as the real one does)
        429 Retry-After past `per_day` calls (the free API allows 100 a day per address)

    with FakeXon(accounts={"ali@example.com": ["Adobe"]}) as xon:   # xon.url = XON_API_URL
        xon.fail_next(429, {"retry-after": "3600"})                  # or 500, or slow_next(2.0)
        xon.hold(); ...; xon.release()                               # answers wait until released
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bot.testing.http import LocalServer

# As the API's `breach_details` gives them: dates in two of the shapes seen, one left empty.
BREACHES: dict[str, dict[str, Any]] = {
    "Adobe": {"name": "Adobe", "breach_date": "2013-10-04T00:00:00+00:00", "records_exposed": 152445165,
              "description": "In October 2013, 153 million Adobe accounts were breached.",
              "exposed_data": ["Email addresses", "Password Hints", "Passwords", "Usernames"]},
    "Canva": {"name": "Canva", "breach_date": "2019-05-24", "records_exposed": 137272116,
              "description": "In May 2019, Canva suffered a data breach.",
              "exposed_data": ["Email addresses", "Geographic locations", "Names", "Passwords", "Usernames"]},
    "Zomato": {"name": "Zomato", "breach_date": "2017-05-17", "records_exposed": 16500000,
               "description": "In May 2017, Zomato was breached.",
               "exposed_data": ["Email addresses", "Passwords", "Usernames"]},
    "Careem": {"name": "Careem", "breach_date": "2018-01-14", "records_exposed": 14000000,
               "description": "In January 2018, Careem announced a breach.",
               "exposed_data": ["Email addresses", "Names", "Phone numbers", "Trip details"]},
    "Daraz": {"name": "Daraz", "breach_date": "2020-09-01", "records_exposed": 1200000,
              "description": "In 2020, Daraz accounts were leaked.",
              "exposed_data": ["Email addresses", "Names", "Phone numbers", "Physical addresses"]},
    "Foodpanda": {"name": "Foodpanda", "breach_date": "2021-03", "records_exposed": 850000,
                  "description": "Foodpanda accounts.",
                  "exposed_data": ["Email addresses", "Phone numbers", "Dates of birth", "Genders"]},
    "Newsletter": {"name": "Newsletter", "breach_date": "2022-06-30", "records_exposed": 40210,
                   "description": "A mailing list.", "exposed_data": ["Email addresses", "Names"]},
    "Combolist": {"name": "Combolist", "breach_date": "", "records_exposed": 0, "description": "",
                  "exposed_data": ["Email addresses", "Passwords"]},
}


class FakeXon(LocalServer):
    def __init__(self, accounts: dict[str, list[str]] | None = None, per_day: int | None = None):
        self.accounts = {k.lower(): v for k, v in (accounts or {}).items()}
        self.per_day = per_day  # calls answered before 429s (None: no limit)
        self.requests: list[dict[str, Any]] = []  # path, query and headers of every request
        self._failures: list[tuple[int, dict[str, str], float]] = []
        self._lock = threading.Lock()
        self.delay = 0.0  # seconds every answer waits (a slow XposedOrNot)
        self.received = threading.Event()  # set by every request as it comes in
        self._gate = threading.Event()
        self._gate.set()

    def hold(self) -> None:
        """Answers wait (requests are taken, not answered) until `release()`."""
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def fail_next(self, status: int, headers: dict[str, str] | None = None, delay: float = 0.0) -> None:
        """Answer the next request with `status` (after `delay` seconds)."""
        with self._lock:
            self._failures.append((status, headers or {}, delay))

    def slow_next(self, delay: float) -> None:
        """Answer the next request correctly, but only after `delay` seconds."""
        self.fail_next(0, {}, delay)

    def _answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        if self.per_day is not None and len(self.requests) > self.per_day:
            return 429, {"Error": "Rate limit exceeded", "retry_after": 3600}, {"retry-after": "3600"}
        if not path.startswith("/check-email/"):
            return 404, {"Error": "Not found"}, {}
        email = unquote(path.split("/", 2)[2]).lower()
        if "@" not in email or "." not in email.rpartition("@")[2]:
            return 200, {"Error": "Not found"}, {}
        names = self.accounts.get(email)
        if not names:
            return 404, {"Error": "No breaches found", "email": email, "status": "failed"}, {}
        body: dict[str, Any] = {"breaches": [names], "email": email, "status": "success"}
        if query.get("details", ["false"])[0].lower() in {"true", "yes", "1"}:
            body["breach_details"] = [BREACHES[n] for n in names if n in BREACHES]
        return 200, body, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                url = urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with fake._lock:
                    fake.requests.append({"path": url.path, "query": url.query, "headers": headers})
                    failure = fake._failures.pop(0) if fake._failures else None
                fake.received.set()
                fake._gate.wait(30)
                if failure:
                    status, extra, delay = failure
                    time.sleep(delay)
                    if status:
                        return self._send(status, {"Error": f"HTTP {status}"}, extra)
                time.sleep(fake.delay)
                status, body, extra = fake._answer(url.path, parse_qs(url.query))
                self._send(status, body, extra)

            def _send(self, status: int, body: Any, extra: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
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
