"""What a message carries besides text, and pictures fetched and read for the core.

Downloads stream into memory with a byte limit and are never written anywhere. WhatsApp
media is fetched only from under TWILIO_API_URL (any other MediaUrl0 is refused without a
request: no server-side request forgery), with HTTP basic auth, following Twilio's redirect
to its media store (httpx drops the credentials when a redirect leaves Twilio's host).
Telegram files come from `getFile` and `{TELEGRAM_API_URL}/file/bot<token>/<file_path>`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx

from bot.channels.tls import TLS
from bot.understanding.ocr import MAX_BYTES, MAX_PIXELS, ImageRefused, OcrPool

TIMEOUT = httpx.Timeout(10.0, connect=3.0)
MAX_REDIRECTS = 3
# WhatsApp media types by their first part; a WhatsApp sticker is an image/webp and is read.
_TWILIO_KINDS = {"image": "image", "audio": "voice", "video": "video"}


Admit = Callable[[], Awaitable[bool]]  # asked before a picture is fetched: False, not at all


class MediaRefused(Exception):
    """An attachment that is not fetched: 'forbidden_url', 'too_large', 'download_failed'."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Attachment:
    """What the core is told: the kind ('image', 'voice', 'audio', 'video', 'sticker',
    'location', 'file'), what was read from a picture, or why it was not read."""

    kind: str
    text: str = ""
    problem: str | None = None

    def fields(self) -> dict[str, Any]:
        """The attachment as `Incoming` fields."""
        return {"media": self.kind, "media_text": self.text, "media_problem": self.problem}


async def download(url: str, max_bytes: int = MAX_BYTES, auth: tuple[str, str] | None = None) -> bytes:
    """The body of `url`, refused past `max_bytes` without reading further."""
    try:
        async with (
            httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=True, max_redirects=MAX_REDIRECTS,
                              verify=TLS) as client,
            client.stream("GET", url, auth=auth) as response,
        ):
            if response.status_code != 200:
                raise MediaRefused("download_failed")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise MediaRefused("too_large")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise MediaRefused("too_large")
            return bytes(body)
    except httpx.HTTPError as exc:
        raise MediaRefused("download_failed") from exc


class MediaReader:
    """Fetches a picture from a channel and reads it in the OCR pool; every failure becomes
    an `Attachment` with a `problem`, so the person gets a clear answer, never a 5xx."""

    def __init__(self, pool: OcrPool | None = None, twilio_api_url: str = "https://api.twilio.com",
                 twilio_account_sid: str = "", twilio_auth_token: str = ""):
        self.pool = pool or OcrPool()
        self.twilio_api_url = twilio_api_url.rstrip("/")
        self.twilio_auth = (twilio_account_sid, twilio_auth_token)

    async def read(self, fetch: Callable[[], Awaitable[bytes]], kind: str = "image",
                   admit: Admit | None = None) -> Attachment:
        """`fetch`: gives the picture's bytes. `admit`, when given, is asked first: a picture
        it refuses (over the person's rate limit) is neither fetched nor read."""
        if admit is not None and not await admit():
            return Attachment(kind, problem="rate_limited")
        try:
            data = await fetch()
            reading = await self.pool.read(data)
        except (MediaRefused, ImageRefused) as refused:
            return Attachment(kind, problem=refused.reason)
        return Attachment(kind, text=reading.text, problem=None if reading.text.strip() else "no_text")

    @classmethod
    def from_settings(cls, settings: Any) -> MediaReader:
        return cls(OcrPool(), settings.twilio_api_url, settings.twilio_account_sid,
                   settings.twilio_auth_token)

    def close(self) -> None:
        self.pool.close()

    # --- WhatsApp (Twilio) ---
    def twilio_allowed(self, url: str) -> bool:
        """Only URLs on TWILIO_API_URL's scheme, host and port, under its path, no userinfo."""
        try:
            wanted, given = httpx.URL(self.twilio_api_url), httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError):
            return False
        media_path = f"{wanted.path.rstrip('/')}/2010-04-01/Accounts/"  # the Media API's resources
        return (given.scheme == wanted.scheme and given.host == wanted.host and given.port == wanted.port
                and not given.userinfo and given.path.startswith(media_path) and ".." not in url)

    async def twilio(self, form: Mapping[str, str], admit: Admit | None = None) -> Attachment | None:
        """The first attachment of a Twilio webhook (`NumMedia`, `MediaUrl0`,
        `MediaContentType0`; a shared location is `Latitude`/`Longitude`), or None."""
        if form.get("Latitude") or form.get("Longitude"):
            return Attachment("location")
        count = form.get("NumMedia", "0")
        if not count.isdigit() or int(count) < 1:
            return None
        kind = _TWILIO_KINDS.get(form.get("MediaContentType0", "").split("/")[0].strip().lower(), "file")
        if kind != "image":
            return Attachment(kind)
        url = form.get("MediaUrl0", "")
        if not self.twilio_allowed(url):
            return Attachment(kind, problem="forbidden_url")
        return await self.read(partial(download, url, self.pool.max_bytes, self.twilio_auth), kind, admit)

    # --- Telegram ---
    async def telegram(self, message: Any, bot: Any, file_prefix: str,
                       admit: Admit | None = None) -> Attachment | None:
        """The attachment of a Telegram message, or None. `file_prefix` is
        `{TELEGRAM_API_URL}/file/bot<token>/`: the only place files are fetched from."""
        kind, file_id = telegram_kind(message, self.pool.max_bytes, self.pool.max_pixels)
        if kind is None:
            return None
        if kind != "image":
            return Attachment(kind)
        if file_id is None:
            return Attachment(kind, problem="too_large")
        return await self.read(partial(self._telegram_file, bot, file_id, file_prefix), kind, admit)

    async def _telegram_file(self, bot: Any, file_id: str, file_prefix: str) -> bytes:
        from telegram.error import TelegramError

        try:
            file = await bot.get_file(file_id)
        except TelegramError as exc:  # e.g. "file is too big" (over 20 MB): nothing to fetch
            raise MediaRefused("download_failed") from exc
        if file.file_size and file.file_size > self.pool.max_bytes:
            raise MediaRefused("too_large")
        url = under_prefix(str(file.file_path or ""), file_prefix)
        if url is None:
            raise MediaRefused("forbidden_url")
        return await download(url, self.pool.max_bytes)


def under_prefix(url: str, prefix: str) -> str | None:
    """`url` as it will be fetched, when that is under `prefix` (same scheme, host and port,
    no user info); else None. Checked after parsing, which folds dot segments ("/a/../b" is
    "/b"): a path that only starts with the prefix as written may leave it once folded. Dot
    segments written with percent escapes or backslashes are refused outright."""
    lowered = url.lower()
    if "%2e" in lowered or "%2f" in lowered or "%5c" in lowered or "\\" in url:
        return None
    try:
        wanted, given = httpx.URL(prefix), httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return None
    if (given.scheme, given.host, given.port) != (wanted.scheme, wanted.host, wanted.port) or given.userinfo:
        return None
    return str(given) if given.path.startswith(wanted.path) and ".." not in given.path else None


def telegram_kind(message: Any, max_bytes: int = MAX_BYTES,
                  max_pixels: int = MAX_PIXELS) -> tuple[str | None, str | None]:
    """What a Telegram message carries, and for a picture the file to fetch: the largest
    photo size within the limits (None when none is), or an image sent as a document."""
    for attribute, kind in (("voice", "voice"), ("audio", "audio"), ("video", "video"),
                            ("video_note", "video"), ("animation", "video"), ("sticker", "sticker"),
                            ("location", "location"), ("venue", "location")):
        if getattr(message, attribute, None) is not None:  # before `document`: a GIF is both
            return kind, None
    if message.photo:
        fitting = [p for p in message.photo
                   if (p.file_size or 0) <= max_bytes and p.width * p.height <= max_pixels]
        best = max(fitting, key=lambda p: p.width * p.height, default=None)
        return "image", best.file_id if best else None
    document = message.document
    if document is not None:
        if (document.mime_type or "").startswith("image/"):
            too_big = (document.file_size or 0) > max_bytes
            return "image", None if too_big else document.file_id
        return "file", None
    return None, None
