"""How python-telegram-bot talks to the Bot API: over aiohttp instead of its default httpx.

Sending a reply is most of what a Telegram update costs. Measured on this project's machine,
an httpx request took about 1.1 ms of CPU and an aiohttp one 0.3 ms (`bench/bench_service.py`
shows the effect on the whole webhook). The bot sends no files, so only JSON bodies are
supported.

A reply must not be lost to a passing failure of the Bot API, so a request is sent again:
after a 429 (flood control) once its `retry_after` has passed, when that is short; after a 5xx
or a lost connection, with exponential backoff. The waiting is bounded (MAX_WAITING in all),
and then the error is raised as before. Timeouts are not retried: the request may have
arrived, and it has already cost `read_timeout` seconds."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

USER_AGENT = "Mehfooz (python-telegram-bot over aiohttp)"
BACKOFF = (0.2, 0.4, 0.8)  # seconds before each retry after a 5xx or a lost connection
MAX_RETRY_AFTER = 5.0  # a longer 429 retry_after is not waited for: the error is raised at once
MAX_WAITING = 6.0  # seconds of waiting, all retries of one request together
log = logging.getLogger(__name__)


class AiohttpRequest(BaseRequest):
    def __init__(self, connections: int = 16, read_timeout: float = 5.0, connect_timeout: float = 5.0,
                 backoff: tuple[float, ...] = BACKOFF, max_retry_after: float = MAX_RETRY_AFTER,
                 max_waiting: float = MAX_WAITING):
        self.backoff, self.max_retry_after, self.max_waiting = backoff, max_retry_after, max_waiting
        self._connections = connections
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                headers={"User-Agent": USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        if request_data is not None and request_data.multipart_data:
            raise NetworkError("file uploads are not supported by this bot's Bot API client")
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        timeout = aiohttp.ClientTimeout(sock_read=read, sock_connect=connect)
        # A JSON body: url-encoding a form, as httpx does, costs more than the rest of the
        # request for a reply in Urdu (every byte is percent-escaped in Python).
        body = json.dumps(request_data.parameters).encode() if request_data else None
        headers = {"Content-Type": "application/json"} if body else None
        waited = 0.0
        for attempt in range(len(self.backoff) + 1):
            error: aiohttp.ClientError | None = None
            status, payload = 0, b""
            try:
                status, payload = await self._send(method, url, body, headers, timeout)
            except (TimeoutError, aiohttp.ServerTimeoutError) as err:
                raise TimedOut from err
            except aiohttp.ClientError as err:
                error = err
            wait = self._retry_wait(status, payload, attempt)
            if wait is None or waited + wait > self.max_waiting:
                break
            log.info("Bot API %s: %s, retry %d in %.1f s", url.rsplit("/", 1)[-1],
                     f"HTTP {status}" if status else type(error).__name__, attempt + 1, wait)
            await asyncio.sleep(wait)
            waited += wait
        if error is not None:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error
        return status, payload

    async def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str] | None,
                    timeout: aiohttp.ClientTimeout) -> tuple[int, bytes]:
        assert self._session is not None
        async with self._session.request(method, url, data=body, headers=headers, timeout=timeout) as res:
            return res.status, await res.read()

    def _retry_wait(self, status: int, payload: bytes, attempt: int) -> float | None:
        """Seconds to wait before sending again, or None to give up; status 0: no answer."""
        if attempt >= len(self.backoff):
            return None
        if status == 429:
            after = _retry_after(payload)
            return after if after is not None and after <= self.max_retry_after else None
        return self.backoff[attempt] if status == 0 or status >= 500 else None


def _retry_after(payload: bytes) -> float | None:
    """`parameters.retry_after` of a Bot API error answer, in seconds."""
    try:
        after = json.loads(payload)["parameters"]["retry_after"]
    except (ValueError, KeyError, TypeError):
        return None
    return float(after) if isinstance(after, int | float) and after >= 0 else None
