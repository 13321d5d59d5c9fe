"""Reading request bodies with limits on size, time and how many may be slow at once.

A body that has not arrived whole within SLOW_AFTER seconds is slow (a webhook's body comes
with its headers): at most MAX_SLOW are read at once, the rest are refused at once with 408,
and none is waited for longer than BODY_TIMEOUT. So clients that dribble a byte a second
cannot hold the service's connections and files. A client that goes away mid-body is
`ClientGone`: worth a debug line, not an error."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.requests import ClientDisconnect, Request

MAX_BODY = 64 * 1024
SLOW_AFTER = 0.5  # seconds
MAX_SLOW = 32  # slow bodies read at once
BODY_TIMEOUT = 10.0  # seconds for a whole body


class Refused(Exception):
    """A request refused with a status code; `reason` is counted in the metrics."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


class ClientGone(Refused):
    """The client closed the connection before its body arrived."""

    def __init__(self) -> None:
        super().__init__(400, "client_gone")


class BodyReader:
    def __init__(self, limit: int = MAX_BODY, max_slow: int = MAX_SLOW,
                 slow_after: float = SLOW_AFTER, timeout: float = BODY_TIMEOUT):
        self.limit, self.max_slow, self.slow_after, self.timeout = limit, max_slow, slow_after, timeout
        self.slow = 0  # slow bodies being read now

    async def read(self, request: Request) -> bytes:
        """The body; 413 past `limit`, 408 when too slow or too many are slow."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            raise Refused(413, "too_large")
        # A task of its own, waited on without cancelling it, until it is given up for good.
        reading = asyncio.ensure_future(self._collect(request))
        done, _ = await asyncio.wait({reading}, timeout=self.slow_after)
        if not done:
            if self.slow >= self.max_slow:
                return await _give_up(reading, "slow_body")
            self.slow += 1
            try:
                done, _ = await asyncio.wait({reading}, timeout=self.timeout - self.slow_after)
            finally:
                self.slow -= 1
            if not done:
                return await _give_up(reading, "body_timeout")
        return reading.result()

    async def _collect(self, request: Request) -> bytes:
        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > self.limit:
                    raise Refused(413, "too_large")
        except ClientDisconnect:
            raise ClientGone() from None
        return bytes(body)


async def _give_up(reading: asyncio.Future[bytes], reason: str) -> bytes:
    reading.cancel()
    with contextlib.suppress(asyncio.CancelledError, Refused):
        await reading
    raise Refused(408, reason)
