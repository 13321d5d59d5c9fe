"""How python-telegram-bot talks to the Bot API: over aiohttp instead of its default httpx.

Sending a reply is most of what a Telegram update costs. Measured on this project's machine,
an httpx request took about 1.1 ms of CPU and an aiohttp one 0.3 ms (`bench/bench_service.py`
shows the effect on the whole webhook). The bot sends no files, so only JSON bodies are
supported."""

from __future__ import annotations

import json

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

USER_AGENT = "Mehfooz (python-telegram-bot over aiohttp)"


class AiohttpRequest(BaseRequest):
    def __init__(self, connections: int = 16, read_timeout: float = 5.0, connect_timeout: float = 5.0):
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
        try:
            async with self._session.request(method, url, data=body, headers=headers, timeout=timeout) as res:
                return res.status, await res.read()
        except (TimeoutError, aiohttp.ServerTimeoutError) as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err
