"""Reading request bodies with limits on size, time and how many may be slow at once, for
every route: `BodyLimit` wraps the whole app, so no route (the webhooks, /admin/login, any
added later) can forget them.

A body that has not arrived whole within SLOW_AFTER seconds is slow (a webhook's body comes
with its headers, a login form too): at most MAX_SLOW are read at once, the rest are refused
at once with 408, and none is waited for longer than BODY_TIMEOUT. So clients that dribble a
byte a second cannot hold the service's connections and files. A client that goes away
mid-body is `ClientGone`: worth a debug line, not an error."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

MAX_BODY = 64 * 1024
SLOW_AFTER = 0.5  # seconds
MAX_SLOW = 32  # slow bodies read at once
BODY_TIMEOUT = 10.0  # seconds for a whole body

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Refused(Exception):
    """A request refused with a status code; `reason` is counted in the metrics."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


class ClientGone(Refused):
    """The client closed the connection before its body arrived."""

    def __init__(self) -> None:
        super().__init__(400, "client_gone")


class BodyLimit:
    """ASGI middleware: each HTTP request's body is read whole, within the limits, before the
    app sees the request; the app then reads it from memory. A refused body gets its status
    (408 with the connection closed, 413) here, and `refused(path, Refused)` is told, for the
    metrics and the log."""

    def __init__(self, app: Any, limit: int = MAX_BODY, max_slow: int = MAX_SLOW,
                 slow_after: float = SLOW_AFTER, timeout: float = BODY_TIMEOUT,
                 refused: Callable[[str, Refused], None] | None = None):
        self.app, self.limit, self.max_slow = app, limit, max_slow
        self.slow_after, self.timeout, self.refused = slow_after, timeout, refused
        self.slow = 0  # slow bodies being read now

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or []) if scope["type"] == "http" else {}
        if b"content-length" not in headers and b"transfer-encoding" not in headers:
            return await self.app(scope, receive, send)  # no body (HTTP/1.1): nothing to wait for
        try:
            body = await self.read(scope, receive)
        except Refused as refused:
            if self.refused is not None:
                self.refused(scope.get("path", ""), refused)
            with contextlib.suppress(Exception):  # a client that went away cannot be answered
                await _answer(send, refused)
            return
        await self.app(scope, _replay(body, receive), send)

    async def read(self, scope: Message, receive: Receive) -> bytes:
        """The body; 413 past `limit`, 408 when too slow or too many are slow."""
        declared = dict(scope.get("headers") or []).get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > self.limit:
            raise Refused(413, "too_large")
        # Read in the request's own task (a task of its own cost more than the rest of the
        # reading): a webhook's body comes with its headers, so this is done at once. Past
        # `slow_after` the read is cut (what was read is kept in `body`; uvicorn's `receive`
        # waits before it takes a chunk, so a cut loses none) and, if there is room among the
        # slow ones, goes on until `timeout`.
        body = bytearray()
        try:
            async with asyncio.timeout(self.slow_after):
                return await self._collect(receive, body)
        except TimeoutError:
            pass
        if self.slow >= self.max_slow:
            raise Refused(408, "slow_body")
        self.slow += 1
        try:
            async with asyncio.timeout(self.timeout - self.slow_after):
                return await self._collect(receive, body)
        except TimeoutError:
            raise Refused(408, "body_timeout") from None
        finally:
            self.slow -= 1

    async def _collect(self, receive: Receive, body: bytearray) -> bytes:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            body += message.get("body", b"")
            if len(body) > self.limit:
                raise Refused(413, "too_large")
            if not message.get("more_body", False):
                return bytes(body)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body read, then waits on the client (for its disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _answer(send: Send, refused: Refused) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    if refused.status == 408:  # a body too slow to wait for: close the connection the client holds
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": refused.reason.encode()})
