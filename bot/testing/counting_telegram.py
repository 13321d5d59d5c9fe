"""The local Bot API server of fake_telegram.py, made for long runs and for counting replies:
it keeps no call log (its memory stays flat over a soak), only how many calls of each method
it got and, for every sendMessage, the chat, the time it arrived (time.monotonic(), which on
Linux is one clock for all processes) and the text.

    with CountingTelegram(token) as tg:
        ...
        tg.take_sent()           # [(chat_id, at, text), ...] since the last take, then forgotten

Out of process, the method `takeSent` does the same over HTTP (texts left out, to stay cheap):
`POST {url}/bot<token>/takeSent` answers `{"ok": true, "result": [[chat_id, at], ...]}`."""

from __future__ import annotations

import time
from typing import Any

from bot.testing.fake_telegram import FakeTelegram


class CountingTelegram(FakeTelegram):
    def __init__(self, token: str = "123:test-token"):
        super().__init__(token)
        self.counts: dict[str, int] = {}
        self.sent: list[tuple[int, float, str]] = []

    def take_sent(self) -> list[tuple[int, float, str]]:
        with self.lock:
            taken, self.sent = self.sent, []
        return taken

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        at = time.monotonic()
        with self.lock:
            self.log.clear()  # nothing reads these; the counts and `sent` are the record
            self.answered.clear()
            self.counts[method] = self.counts.get(method, 0) + 1
            number = self.counts[method]
            if method == "sendMessage":
                self.sent.append((int(params["chat_id"]), at, str(params.get("text", ""))))
        if method == "takeSent":
            return [[chat, when] for chat, when, _ in self.take_sent()]
        if method == "sendMessage":
            return {
                "message_id": 1000 + number, "date": int(time.time()), "text": params.get("text", ""),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
            }
        return super()._result(method, params)
