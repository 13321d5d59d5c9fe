"""Reading the text of a screenshot: Tesseract (through tesserocr) in English and Urdu script,
with the preprocessing screenshots need and hard limits on what is read.

`read_image(data)` is the whole job for one picture, in memory only (tesserocr hands the
pixels to Tesseract's C API; nothing is written to disk). It runs in a worker process
(`OcrPool`), so a picture never holds up the event loop or the GIL of the web service, and
the Tesseract models stay out of the service's memory."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

MAX_BYTES = 5 * 1024 * 1024  # Telegram compresses photos far below this; WhatsApp's limit is 5 MB
MAX_PIXELS = 25_000_000  # a 4K phone screenshot is under 10 million
MAX_SECONDS = 8.0  # Tesseract's own time limit per pass; Twilio waits 15 s for the webhook
FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")  # what phones send; other decoders are never tried
MIN_WIDTH = 720  # narrower pictures are scaled up (Tesseract wants letters ~20+ px high)
MAX_WIDTH = 2000  # wider ones are scaled down: time grows with pixels, accuracy does not
TESSDATA_GLOBS = ("/usr/share/tesseract-ocr/*/tessdata", "/usr/share/tessdata", "/usr/local/share/tessdata")

log = logging.getLogger(__name__)
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_URDU = re.compile(r"[\u0600-\u06ff]")
_LETTER = re.compile(r"[^\W\d_]")
_TIME = r"\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?"
# A line that is only a timestamp ("10:42 PM", "Yesterday 9:15") or a status bar ("10:42 4G 85%").
_JUNK_LINE = re.compile(
    rf"^\W*(?:(?:today|yesterday)\s+)?{_TIME}(?:\s+(?:[^\sa-z]{{1,4}}|\dG|LTE|VoLTE|Vo|Wi-?Fi|\d{{1,3}}\s?%))*\W*$"
    r"|^[\W_]*$",
    re.IGNORECASE,
)


class ImageRefused(Exception):
    """A picture that is not read. `reason`: 'too_large' (bytes), 'too_many_pixels' (a
    decompression bomb, or just huge), 'not_an_image' (unknown or truncated file),
    'timeout', 'busy' (too many pictures waiting) or 'failed' (the reader broke)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Reading:
    text: str  # what was read, cleaned: an empty string when the picture has no text
    script: str  # "urdu" when most letters read are Urdu script, else "latin"
    confidence: int  # Tesseract's mean word confidence, 0-100


def tessdata_dir() -> str:
    """Where the traineddata files are: TESSDATA_PREFIX, else Debian's folder."""
    if os.environ.get("TESSDATA_PREFIX"):
        return os.environ["TESSDATA_PREFIX"]
    for pattern in TESSDATA_GLOBS:
        for folder in sorted(Path("/").glob(pattern.lstrip("/")), reverse=True):
            if (folder / "eng.traineddata").exists() and (folder / "urd.traineddata").exists():
                return str(folder)
    raise RuntimeError("no Tesseract data for eng and urd (Debian: tesseract-ocr-eng, tesseract-ocr-urd)")


def available() -> bool:
    """Whether pictures can be read here (tesserocr and the English and Urdu data)."""
    try:
        import tesserocr  # noqa: F401

        tessdata_dir()
    except (ImportError, RuntimeError):
        return False
    return True


def open_image(data: bytes, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> Any:
    """The decoded first frame, checked against the limits before any pixel is decoded."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > max_bytes:
        raise ImageRefused("too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)  # reads the header only
            if image.width * image.height > max_pixels:
                raise ImageRefused("too_many_pixels")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRefused("too_many_pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRefused("not_an_image") from exc  # truncated or broken files land here too
    return image


def prepare(image: Any) -> Any:
    """Grey, dark text on a light background, at a width Tesseract reads well."""
    from PIL import Image, ImageOps, ImageStat

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        flat = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(flat, image)
    grey = ImageOps.exif_transpose(image).convert("L")
    if ImageStat.Stat(grey).mean[0] < 110:  # dark mode: light text on a dark background
        grey = ImageOps.invert(grey)
    width = grey.width
    target = MIN_WIDTH if width < MIN_WIDTH else MAX_WIDTH if width > MAX_WIDTH else width
    if target != width:
        scale = min(target / width, 3.0)
        size = (round(width * scale), max(1, round(grey.height * scale)))
        grey = grey.resize(size, Image.Resampling.LANCZOS)
    return grey


def clean(text: str) -> str:
    """Bidi marks, timestamps, status-bar lines and blank runs removed."""
    lines = (" ".join(_BIDI.sub("", line).split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line and not _JUNK_LINE.match(line))


class Reader:
    """A Tesseract engine kept loaded with English and Urdu together: one pass reads either
    script and messages that mix them (Urdu with an English link or bank name)."""

    def __init__(self, seconds: float = MAX_SECONDS):
        import tesserocr

        self.timeout_ms = int(seconds * 1000)
        self.api = tesserocr.PyTessBaseAPI(path=tessdata_dir(), lang="eng+urd", psm=tesserocr.PSM.AUTO)

    def read(self, image: Any) -> Reading:
        api = self.api
        api.SetImage(image)
        try:
            if not api.Recognize(self.timeout_ms):
                raise ImageRefused("timeout")
            text, confidence = clean(api.GetUTF8Text()), api.MeanTextConf()
        finally:
            api.Clear()  # the picture is not kept past this call
        letters = len(_LETTER.findall(text))
        urdu = letters and len(_URDU.findall(text)) / letters >= 0.5
        return Reading(text, "urdu" if urdu else "latin", confidence)


_reader: Reader | None = None


def read_image(data: bytes, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> Reading:
    """The text of one picture (bytes of a PNG, JPEG, WebP...). Raises `ImageRefused`."""
    global _reader
    image = prepare(open_image(data, max_bytes, max_pixels))
    if _reader is None:  # one per process: loading the models takes ~0.2 s
        _reader = Reader()
    return _reader.read(image)


def _worker_start() -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"  # one core per worker: the pool is the parallelism


def worker_count() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class OcrPool:
    """Worker processes that read pictures, one per core, started on first use. At most
    `backlog` pictures wait at once; more are refused as 'busy' rather than queued for
    minutes. A worker that dies (out of memory, a crash in Tesseract) is replaced."""

    def __init__(self, workers: int | None = None, backlog: int | None = None,
                 max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS):
        self.workers = workers or worker_count()
        self.backlog = backlog or self.workers * 4
        self.max_bytes, self.max_pixels = max_bytes, max_pixels
        self._pool: ProcessPoolExecutor | None = None
        self._waiting = 0

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # forkserver: the workers do not inherit the service's threads, sockets or memory
            self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("forkserver"),
                                             initializer=_worker_start)
        return self._pool

    async def read(self, data: bytes) -> Reading:
        if len(data) > self.max_bytes:
            raise ImageRefused("too_large")
        if self._waiting >= self.backlog:
            raise ImageRefused("busy")
        self._waiting += 1
        try:
            future = asyncio.get_running_loop().run_in_executor(
                self._executor(), read_image, data, self.max_bytes, self.max_pixels)
            # Tesseract stops itself after MAX_SECONDS a pass; this is the backstop.
            return await asyncio.wait_for(future, MAX_SECONDS * 2 + 10)
        except TimeoutError as exc:
            raise ImageRefused("timeout") from exc
        except BrokenProcessPool as exc:
            self.close()
            raise ImageRefused("failed") from exc
        except ImageRefused:
            raise
        except Exception as exc:  # Tesseract or Pillow broke on this picture: say so, never a 5xx
            log.warning("reading a picture failed: %s", type(exc).__name__)
            raise ImageRefused("failed") from exc
        finally:
            self._waiting -= 1

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
