"""A local Twilio REST API: the Messages API (send) and the Media API (with its redirect to a
media store), per Twilio's documentation. It checks HTTP basic auth and records every message.

    with FakeTwilio() as tw:                 # tw.url is the TWILIO_API_URL to use
        media_url = tw.add_media(png_bytes, "image/png")   # a MediaUrl0 for a webhook
        ...
        tw.messages                          # [{"To": ..., "From": ..., "Body": ...}, ...]
        tw.fail_next(429)                    # the next send is refused
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

from bot.testing.http import LocalServer

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "fake-twilio-token"
MESSAGES = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Messages\.json$")
MEDIA = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Messages/(MM[0-9a-f]{32})"
                   r"/Media/(ME[0-9a-f]{32})$")
STORE = re.compile(r"^/media-store/(ME[0-9a-f]{32})$")


def message_sid(name: object) -> str:
    """A MessageSid in Twilio's format (SM and 32 hex digits), the same for the same name."""
    return "SM" + hashlib.sha256(str(name).encode()).hexdigest()[:32]


class FakeTwilio(LocalServer):
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN):
        self.account_sid, self.auth_token = account_sid, auth_token
        self.messages: list[dict[str, str]] = []
        self.media: dict[str, tuple[bytes, str]] = {}  # ME sid -> bytes, content type
        self.fetched: list[str] = []  # paths of media requests, in order
        self.failures: list[int] = []
        self.lock = threading.Condition()
        self._ids = itertools.count(1)

    def add_media(self, data: bytes, content_type: str) -> str:
        """Keep a file as if a person had sent it; returns its MediaUrl0."""
        n = next(self._ids)
        message, media = f"MM{n:032x}", f"ME{n:032x}"
        with self.lock:
            self.media[media] = (data, content_type)
        return f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Messages/{message}/Media/{media}"

    def fail_next(self, status: int, times: int = 1) -> None:
        with self.lock:
            self.failures += [status] * times

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[dict[str, str]]:
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.messages) < count and time.monotonic() < deadline:
                self.lock.wait(max(0.0, deadline - time.monotonic()))
            return list(self.messages)

    def _authorised(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == f"Basic {expected}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                match = MESSAGES.match(self.path)
                if not match or match.group(1) != fake.account_sid:
                    return self._json(404, {"code": 20404, "message": "Not Found", "status": 404})
                if not fake._authorised(self.headers.get("authorization")):
                    return self._json(401, {"code": 20003, "message": "Authenticate", "status": 401})
                length = int(self.headers.get("content-length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                with fake.lock:
                    status = fake.failures.pop(0) if fake.failures else 0
                    if not status:
                        fake.messages.append(form)
                        fake.lock.notify_all()
                if status:
                    return self._json(status, {"code": 20429 if status == 429 else 20500,
                                               "message": "refused by the fake", "status": status})
                sid = f"SM{len(fake.messages):032x}"
                self._json(201, {"sid": sid, "status": "queued", "to": form.get("To"),
                                 "from": form.get("From"), "body": form.get("Body", "")})

            def do_GET(self) -> None:  # noqa: N802
                with fake.lock:
                    fake.fetched.append(self.path)
                media = MEDIA.match(self.path)
                if media:
                    if not fake._authorised(self.headers.get("authorization")):
                        return self._json(401, {"code": 20003, "message": "Authenticate", "status": 401})
                    if media.group(3) not in fake.media:
                        return self._json(404, {"code": 20404, "message": "Not Found", "status": 404})
                    # Twilio redirects to its media store; the store needs no auth.
                    self.send_response(307)
                    self.send_header("Location", f"{fake.url}/media-store/{media.group(3)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                stored = STORE.match(self.path)
                if stored and stored.group(1) in fake.media:
                    data, content_type = fake.media[stored.group(1)]
                    self.send_response(200)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return None
                self._json(404, {"code": 20404, "message": "Not Found", "status": 404})

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
