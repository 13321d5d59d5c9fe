"""A local Telegram Bot API server: the methods this bot uses, per the Bot API docs
(`POST {root}/bot<token>/<method>`, answers `{"ok": true, "result": ...}`). It records every
call, so tests can assert on what the bot sent; `queue_update` feeds `getUpdates`.

    with FakeTelegram() as tg:          # tg.url is the TELEGRAM_API_URL to use
        ...
        tg.calls("sendMessage")         # [{"chat_id": ..., "text": ...}, ...]
        tg.fail_next("sendMessage", 429, {"ok": False, "error_code": 429, "description": "Too Many Requests",
                                          "parameters": {"retry_after": 1}})
        tg.disconnect_next("sendMessage")   # close the connection without an answer
        tg.succeeded("sendMessage")     # only the calls answered 200
        file_id = tg.add_file(png_bytes)  # for a photo update; getFile and the download serve it
        tg.downloads                    # file paths fetched from /file/bot<token>/...
        tg.calls("createForumTopic")    # topics made in a forum supergroup (the desk's staff group)

Forum topics, as the Bot API documents them: `createForumTopic(chat_id, name[, icon_color])`
answers a ForumTopic `{"message_thread_id", "name", "icon_color"}` (thread ids count up from
2, as in a real forum, whose General topic is 1); `closeForumTopic`, `reopenForumTopic` and
`deleteForumTopic(chat_id, message_thread_id)` answer true, or 400 for a topic the chat does
not have (`TOPIC_ID_INVALID`), a closed topic closed again (`TOPIC_NOT_MODIFIED`); and
`sendMessage` with `message_thread_id` answers a message with that `message_thread_id` and
`is_topic_message: true` in a supergroup chat (`"type": "supergroup", "is_forum": true`), or
400 (`message thread not found`) for a deleted topic. `topic_update` builds a member's message
in a topic, as Telegram delivers it to the bot.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

from bot.testing.http import LocalServer

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Mehfooz", "username": "mehfooz_test_bot"}


class FakeTelegram(LocalServer):
    def __init__(self, token: str = "123:test-token"):
        self.token = token
        self.log: list[tuple[str, dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []
        self.failures: dict[str, list[tuple[int, dict[str, Any]]]] = {}  # method -> queued errors
        self.disconnects: dict[str, int] = {}  # method -> calls still to be answered by hanging up
        self.answered: list[tuple[str, int, dict[str, Any]]] = []  # method, HTTP status, params
        self.files: dict[str, bytes] = {}  # file_id -> content, served by getFile and /file/
        self.downloads: list[str] = []  # file paths fetched, in order
        self.paths: dict[str, str] = {}  # file_id -> the file_path getFile gives, when not the usual
        self.delays: dict[str, float] = {}  # method -> seconds each answer waits
        self.topics: dict[tuple[int, int], dict[str, Any]] = {}  # (chat, thread) -> {"name", "closed"}
        self.lock = threading.Condition()

    # --- what tests use ---
    def add_file(self, data: bytes, path: str | None = None) -> str:
        """Keep a file as if a person had sent it; returns its file_id. `path`: the file_path
        getFile answers for it (a hostile Bot API's, say), instead of photos/<file_id>.jpg."""
        with self.lock:
            file_id = f"file{len(self.files) + 1}"
            self.files[file_id] = data
            if path is not None:
                self.paths[file_id] = path
        return file_id

    def calls(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [params for name, params in self.log if name == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self.lock:
            while len([1 for name, _ in self.log if name == method]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.lock.wait(left)
        return self.calls(method)

    def queue_update(self, update: dict[str, Any]) -> None:
        with self.lock:
            self.updates.append(update)
            self.lock.notify_all()

    def succeeded(self, method: str) -> list[dict[str, Any]]:
        """The calls of `method` that were answered 200 (`calls` also has the failed ones)."""
        with self.lock:
            return [params for name, status, params in self.answered if name == method and status == 200]

    def slow(self, method: str, seconds: float) -> None:
        """Answer every call of `method` only after `seconds` (a slow Bot API)."""
        self.delays[method] = seconds

    def disconnect_next(self, method: str, times: int = 1) -> None:
        """Close the connection of the next `times` calls of `method` without answering."""
        with self.lock:
            self.disconnects[method] = self.disconnects.get(method, 0) + times

    def fail_next(self, method: str, status: int, body: dict[str, Any]) -> None:
        """Answer the next call of `method` with an error (e.g. 429 with retry_after)."""
        with self.lock:
            self.failures.setdefault(method, []).append((status, body))

    def sent_to(self, chat_id: int, thread: int | None = None) -> list[str]:
        """The texts of the messages sent to a chat (to one of its topics, when given)."""
        return [str(p.get("text", "")) for p in self.succeeded("sendMessage") if int(p["chat_id"]) == chat_id
                and (thread is None or int(p.get("message_thread_id") or 0) == thread)]

    # --- the API ---
    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "sendMessage":
            with self.lock:
                sent = len(self.calls("sendMessage"))
            chat = int(params["chat_id"])
            message = {
                "message_id": 1000 + sent, "date": int(time.time()), "text": params.get("text", ""),
                "chat": {"id": chat, "type": "private"} if chat > 0 else
                        {"id": chat, "type": "supergroup", "title": "Staff", "is_forum": True},
                "from": BOT_USER,
            }
            if params.get("message_thread_id"):
                message |= {"message_thread_id": int(params["message_thread_id"]), "is_topic_message": True}
            return message
        if method == "createForumTopic":
            with self.lock:
                thread = 2 + sum(1 for chat, _ in self.topics if chat == int(params["chat_id"]))
                self.topics[(int(params["chat_id"]), thread)] = {"name": params["name"], "closed": False}
            return {"message_thread_id": thread, "name": params["name"], "icon_color": 7322096}
        if method in {"closeForumTopic", "reopenForumTopic"}:
            with self.lock:
                self.topics[_topic(params)]["closed"] = method == "closeForumTopic"
            return True
        if method == "deleteForumTopic":
            with self.lock:
                del self.topics[_topic(params)]
            return True
        if method == "getUpdates":
            return self._take_updates(float(params.get("timeout") or 0), int(params.get("offset") or 0))
        if method in {"answerCallbackQuery", "setWebhook", "deleteWebhook", "deleteMessage", "setMyCommands"}:
            return True
        if method == "getFile":
            with self.lock:
                data = self.files[str(params["file_id"])]
                path = self.paths.get(str(params["file_id"]), f"photos/{params['file_id']}.jpg")
            return {"file_id": params["file_id"], "file_unique_id": f"u{params['file_id']}",
                    "file_size": len(data), "file_path": path}
        if method == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        return None

    def _topic_error(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """The Bot API's refusals for topics that do not exist or are closed already (call under
        the lock)."""
        if method in {"closeForumTopic", "reopenForumTopic", "deleteForumTopic"}:
            topic = self.topics.get(_topic(params))
            if topic is None:
                return _bad_request("TOPIC_ID_INVALID")
            if topic["closed"] == (method == "closeForumTopic") and method != "deleteForumTopic":
                return _bad_request("TOPIC_NOT_MODIFIED")
        if method == "sendMessage" and params.get("message_thread_id") and _topic(params) not in self.topics:
            return _bad_request("message thread not found")
        return None

    def _take_updates(self, timeout: float, offset: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + min(timeout, 1.0)
        with self.lock:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and time.monotonic() < deadline:
                self.lock.wait(max(0.0, deadline - time.monotonic()))
            return list(self.updates)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real Bot API server
            disable_nagle_algorithm = True
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                if self.path.startswith(f"/file/bot{fake.token}/"):
                    return self._file(self.path[len(f"/file/bot{fake.token}/"):])
                prefix = f"/bot{fake.token}/"
                if not self.path.startswith(prefix):
                    return self._send(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                method = self.path[len(prefix):]
                params = _params(self.headers.get("content-type", ""), self._body())
                with fake.lock:
                    fake.log.append((method, params))
                    fake.lock.notify_all()
                    failure = fake.failures.get(method, []).pop(0) if fake.failures.get(method) else None
                    if method == "getFile" and str(params.get("file_id")) not in fake.files:
                        failure = (400, {"ok": False, "error_code": 400,
                                         "description": "Bad Request: invalid file_id"})
                    failure = failure or fake._topic_error(method, params)
                    hang_up = not failure and fake.disconnects.get(method, 0) > 0
                    if hang_up:
                        fake.disconnects[method] -= 1
                if hang_up:
                    self.close_connection = True
                    return None
                time.sleep(fake.delays.get(method, 0.0))
                status, body = failure or (200, {"ok": True, "result": fake._result(method, params)})
                with fake.lock:
                    fake.answered.append((method, status, params))
                self._send(status, body)

            do_GET = do_POST  # noqa: N815

            def _file(self, path: str) -> None:
                """A file download, as the Bot API serves it: `file_path` from getFile."""
                with fake.lock:
                    fake.downloads.append(path)
                    file_id = path.removeprefix("photos/").removesuffix(".jpg")
                    data = fake.files.get(file_id)
                if data is None:
                    return self._send(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                self.send_response(200)
                self.send_header("content-type", "application/octet-stream")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return None

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("content-length") or 0))

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _topic(params: dict[str, Any]) -> tuple[int, int]:
    return int(params["chat_id"]), int(params["message_thread_id"])


def _bad_request(description: str) -> tuple[int, dict[str, Any]]:
    return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}


def _params(content_type: str, body: bytes) -> dict[str, Any]:
    """Bot API parameters arrive as a form (nested values JSON-encoded) or as JSON."""
    if not body:
        return {}
    if "json" in content_type:
        return json.loads(body)
    params: dict[str, Any] = dict(parse_qsl(body.decode()))
    for key, value in params.items():
        if value[:1] in "[{":
            params[key] = json.loads(value)
    return params


def text_update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    """A private-chat text message update, as Telegram sends it."""
    user = {"id": user_id, "is_bot": False, "first_name": "Test"}
    message = {"message_id": update_id, "date": int(time.time()), "chat": {"id": user_id, "type": "private"},
               "from": user, "text": text}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def photo_update(update_id: int, user_id: int, file_id: str, size: tuple[int, int], file_size: int,
                 caption: str | None = None) -> dict[str, Any]:
    """A photo message, as Telegram sends it: the picture in several sizes (the largest is the
    file given; smaller ones name files that do not exist, so fetching them fails)."""
    user = {"id": user_id, "is_bot": False, "first_name": "Test"}
    width, height = size
    sizes = [{"file_id": f"{file_id}-thumb", "file_unique_id": f"t{file_id}", "width": width // 4,
              "height": height // 4, "file_size": max(1, file_size // 16)},
             {"file_id": file_id, "file_unique_id": f"u{file_id}", "width": width, "height": height,
              "file_size": file_size}]
    message = {"message_id": update_id, "date": int(time.time()), "chat": {"id": user_id, "type": "private"},
               "from": user, "photo": sizes, **({"caption": caption} if caption else {})}
    return {"update_id": update_id, "message": message}


def message_update(update_id: int, user_id: int, **fields: Any) -> dict[str, Any]:
    """A private-chat message with any other fields: `voice={...}`, `location={...}`..."""
    user = {"id": user_id, "is_bot": False, "first_name": "Test"}
    message = {"message_id": update_id, "date": int(time.time()), "chat": {"id": user_id, "type": "private"},
               "from": user, **fields}
    return {"update_id": update_id, "message": message}


def button_update(update_id: int, user_id: int, data: str) -> dict[str, Any]:
    """A press of an inline keyboard button carrying `data`."""
    user = {"id": user_id, "is_bot": False, "first_name": "Test"}
    message = {"message_id": 1, "date": int(time.time()), "chat": {"id": user_id, "type": "private"},
               "from": BOT_USER, "text": "..."}
    return {"update_id": update_id, "callback_query": {
        "id": f"cb{update_id}", "from": user, "chat_instance": "1", "data": data, "message": message,
    }}


def contact_update(update_id: int, user_id: int, phone: str, contact_user_id: int | None) -> dict[str, Any]:
    """A message sharing a contact; `contact_user_id` is whose Telegram account it is."""
    user = {"id": user_id, "is_bot": False, "first_name": "Test"}
    contact: dict[str, Any] = {"phone_number": phone, "first_name": "Test"}
    if contact_user_id is not None:
        contact["user_id"] = contact_user_id
    message = {"message_id": update_id, "date": int(time.time()), "chat": {"id": user_id, "type": "private"},
               "from": user, "contact": contact}
    return {"update_id": update_id, "message": message}


def topic_update(update_id: int, chat_id: int, thread: int | None, user_id: int, text: str | None = None,
                 first_name: str = "Staff", is_bot: bool = False, **fields: Any) -> dict[str, Any]:
    """A member's message in a forum topic of a supergroup (`thread` None: the General topic,
    which carries no thread id), as Telegram delivers it; `fields` adds e.g. `photo=[...]`,
    `forum_topic_closed={}` or `sender_chat={...}`."""
    user = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    message: dict[str, Any] = {
        "message_id": update_id, "date": int(time.time()), "from": user,
        "chat": {"id": chat_id, "type": "supergroup", "title": "Staff", "is_forum": True}, **fields}
    if thread is not None:
        message |= {"message_thread_id": thread, "is_topic_message": True}
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}
