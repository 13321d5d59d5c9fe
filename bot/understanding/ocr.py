"""Reading the text of a screenshot: Tesseract (through tesserocr) in English and Urdu script,
with the preprocessing screenshots need and hard limits on what is read.

`read_image(data)` is the whole job for one picture, in memory only (tesserocr hands the
pixels to Tesseract's C API; nothing is written to disk). It runs in a worker process
(`OcrPool`), so a picture never holds up the event loop or the GIL of the web service, and
the Tesseract models stay out of the service's memory; one time limit covers the whole job,
decoding included, and a worker that overruns it is killed and replaced."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import signal
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

MAX_BYTES = 5 * 1024 * 1024  # Telegram compresses photos far below this; WhatsApp's limit is 5 MB
MAX_PIXELS = 25_000_000  # a 4K phone screenshot is under 10 million
MAX_SECONDS = 8.0  # for a whole picture: decoding, preparing, Tesseract; Twilio waits 15 s
GRACE = 1.0  # seconds past MAX_SECONDS before a worker that has not stopped itself is killed
# Scans of a progressive JPEG times its pixels: each scan is decoded over the whole picture.
# Phones and apps write about ten scans; 16 of the largest picture allowed is the most.
MAX_SCAN_PIXELS = 16 * MAX_PIXELS
WORKER_NICENESS = 10  # OCR workers run at a lower priority than the web service
FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")  # what phones send; other decoders are never tried
LINE_HEIGHT = 22  # each line of text is scaled to this height in pixels: the model reads it best
INK = 60  # grey levels from the background that count as ink
MARK = 0.35  # a row of ink lower than this share of the usual line is a mark of a line
MIN_LINE = 6  # rows of ink lower than this (in pixels) are too small to be read
TALLEST = 6  # rows of ink taller than this many lines are pictures, not text
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
    """Whether pictures can be read here as shipped: tesserocr, and the English, Urdu and
    Arabic-script data (without the last, `Reader` falls back to English and Urdu)."""
    try:
        import tesserocr  # noqa: F401

        return (Path(tessdata_dir()) / "Arabic.traineddata").exists()
    except (ImportError, RuntimeError):
        return False


def open_image(data: bytes, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS,
               max_scan_pixels: int | None = MAX_SCAN_PIXELS) -> Any:
    """The decoded first frame, checked against the limits before any pixel is decoded."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > max_bytes:
        raise ImageRefused("too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)  # reads the header only
            pixels = image.width * image.height
            if pixels > max_pixels:
                raise ImageRefused("too_many_pixels")
            if image.format == "JPEG" and max_scan_pixels and jpeg_scans(data) * pixels > max_scan_pixels:
                raise ImageRefused("too_many_pixels")  # a decompression bomb in time, not in pixels
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRefused("too_many_pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRefused("not_an_image") from exc  # truncated or broken files land here too
    return image


def prepare(image: Any) -> Any:
    """Grey, dark text on a light background."""
    from PIL import Image, ImageOps, ImageStat

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        flat = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(flat, image)
    grey = ImageOps.exif_transpose(image).convert("L")
    if ImageStat.Stat(grey).mean[0] < 110:  # dark mode: light text on a dark background
        grey = ImageOps.invert(grey)
    return grey


def text_lines(grey: Any) -> list[tuple[int, int]]:
    """The rows of text, top and bottom, from the picture's horizontal ink profile. A chat
    screenshot is lines of text in bubbles: cut into lines, each can be read at the height
    the model reads best, and no line is lost to Tesseract's page layout (which dropped
    whole Urdu lines). Marks above and below a line (Urdu dots) are kept with it."""
    import numpy as np

    pixels = np.asarray(grey, dtype=np.int16)
    ink = (np.abs(pixels - int(np.median(pixels))) > INK).sum(axis=1)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], (ink > 0).astype(np.int8), [0]))))
    runs = [(int(top), int(bottom)) for top, bottom in zip(edges[::2], edges[1::2], strict=True)]
    if not runs:
        return []
    height = float(np.median([bottom - top for top, bottom in runs]))
    lines = [[top, bottom] for top, bottom in runs if bottom - top >= MARK * height]
    for top, bottom in runs:  # marks (Urdu dots, a broken stroke) join the nearest line
        if bottom - top >= MARK * height or not lines:
            continue
        gap, line = min((max(top - b, t - bottom), [t, b]) for t, b in lines)
        if gap < 0.8 * height:
            target = lines[lines.index(line)]
            target[0], target[1] = min(target[0], top), max(target[1], bottom)
    return [(top, bottom) for top, bottom in lines if MIN_LINE <= bottom - top < height * TALLEST]


def clean(text: str) -> str:
    """Bidi marks, timestamps, status-bar lines and blank runs removed."""
    lines = (" ".join(_BIDI.sub("", line).split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line and not _JUNK_LINE.match(line))


class Reader:
    """A Tesseract engine kept loaded, reading one line at a time. The model is Tesseract's
    Arabic-script one (Debian's tesseract-ocr-script-arab), which reads Urdu in the faces
    phones use far better than `urd` and English as well as `eng` (bench/bench_ocr.py);
    without it, English and Urdu together."""

    def __init__(self, seconds: float = MAX_SECONDS):
        import tesserocr

        path = tessdata_dir()
        lang = "Arabic" if (Path(path) / "Arabic.traineddata").exists() else "eng+urd"
        self.seconds = seconds
        self.api = tesserocr.PyTessBaseAPI(path=path, lang=lang, psm=tesserocr.PSM.SINGLE_LINE)

    def read(self, grey: Any) -> Reading:
        import numpy as np

        deadline = time.monotonic() + self.seconds
        pixels = np.asarray(grey, dtype=np.int16)
        background = int(np.median(pixels))
        texts, confidences = [], []
        for top, bottom in text_lines(grey):
            columns = np.flatnonzero((np.abs(pixels[top:bottom] - background) > INK).any(axis=0))
            pad = max(4, (bottom - top) // 4)
            box = (max(0, int(columns[0]) - 2 * pad), max(0, top - pad),
                   min(grey.width, int(columns[-1]) + 2 * pad), min(grey.height, bottom + pad))
            text, confidence = self._line(grey.crop(box), bottom - top, deadline)
            texts.append(text)
            confidences.append(confidence)
        text = clean("\n".join(texts))
        letters = len(_LETTER.findall(text))
        urdu = letters and len(_URDU.findall(text)) / letters >= 0.5
        confidence = round(sum(confidences) / len(confidences)) if confidences else 0
        return Reading(text, "urdu" if urdu else "latin", confidence)

    def _line(self, line: Any, height: int, deadline: float) -> tuple[str, int]:
        """One line, scaled to LINE_HEIGHT; Tesseract's line mode finds no words in some Urdu
        lines, which its raw-line mode then reads."""
        import tesserocr
        from PIL import Image

        scale = LINE_HEIGHT / height
        line = line.resize((max(1, round(line.width * scale)), max(1, round(line.height * scale))),
                           Image.Resampling.LANCZOS)
        text, confidence = "", 0
        for mode in (tesserocr.PSM.SINGLE_LINE, tesserocr.PSM.RAW_LINE):
            left = deadline - time.monotonic()
            self.api.SetPageSegMode(mode)
            self.api.SetImage(line)
            try:
                if left <= 0 or not self.api.Recognize(int(left * 1000)):
                    raise ImageRefused("timeout")
                text, confidence = self.api.GetUTF8Text().strip(), self.api.MeanTextConf()
            finally:
                self.api.Clear()  # the picture is not kept past this call
            if text:
                break
        return text, confidence


_reader: Reader | None = None


def read_image(data: bytes, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS,
               seconds: float | None = None, max_scan_pixels: int | None = MAX_SCAN_PIXELS) -> Reading:
    """The text of one picture (bytes of a PNG, JPEG, WebP...). Raises `ImageRefused`.
    `seconds`: one time limit for decoding, preparing and reading together (the main thread
    of a process only: it uses SIGALRM); Tesseract gets what is left of it."""
    global _reader
    started = time.monotonic()
    with _deadline(seconds):
        image = prepare(open_image(data, max_bytes, max_pixels, max_scan_pixels))
        if _reader is None:  # one per process: loading the models takes ~0.2 s
            _reader = Reader()
        # Tesseract stops itself at what is left of the limit (without one: MAX_SECONDS of its own)
        left = MAX_SECONDS if seconds is None else seconds - (time.monotonic() - started)
        _reader.seconds = max(0.001, left)
        return _reader.read(image)


@contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Raise ImageRefused('timeout') in this thread after `seconds`, wherever Python runs
    next: between two chunks of a decode, two Tesseract lines... A C call that never comes
    back (one chunk of a progressive JPEG can take seconds) is the pool's to end: it kills
    the worker."""
    if not seconds:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise ImageRefused("timeout")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def jpeg_scans(data: bytes) -> int:
    """How many scans a JPEG has (start-of-scan markers: a 0xFF byte in the coded data is
    always followed by 0x00 or a restart marker, so the count is exact but for a thumbnail).
    A progressive JPEG from a phone or an app has about ten; each scan is decoded over the
    whole picture, so thousands of tiny ones make a small file decode for minutes."""
    return data.count(b"\xff\xda") if data[:2] == b"\xff\xd8" else 0


def _worker_start() -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"  # one core per worker: the pool is the parallelism
    os.nice(WORKER_NICENESS)  # text messages first: the event loop wins any fight for a core


def _serve(conn: Connection) -> None:
    """A worker process: read pictures sent on `conn`, one at a time, until it closes."""
    _worker_start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the service's Ctrl-C is the service's to handle
    while True:
        try:
            data, max_bytes, max_pixels, seconds, max_scan_pixels = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reading = read_image(data, max_bytes, max_pixels, seconds, max_scan_pixels)
            answer: tuple[str, Any] = ("read", reading)
        except ImageRefused as refused:
            answer = ("refused", refused.reason)
        except Exception as exc:  # Tesseract or Pillow broke on this picture
            answer = ("failed", type(exc).__name__)
        del data
        conn.send(answer)


def worker_count() -> int:
    """A worker per core this process may use, less one left to the event loop (at least one)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


class _Worker:
    """One worker process and the pipe to it."""

    def __init__(self) -> None:
        # forkserver: the workers do not inherit the service's threads, sockets or memory
        context = get_context("forkserver")
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs,), daemon=True)
        self.process.start()
        theirs.close()

    async def read(self, job: tuple, limit: float, sender: ThreadPoolExecutor) -> tuple[str, Any]:
        """Send one picture; its answer, or ('timeout', None) when none came within `limit`
        seconds, or ('died', None) when the worker ended. The pipe is worked from a thread of
        the pool's own (5 MB through a pipe, then the wait): never on the event loop, and
        never through the loop's reader (uvloop makes the socket non-blocking)."""
        return await asyncio.get_running_loop().run_in_executor(sender, self._round_trip, job, limit)

    def _round_trip(self, job: tuple, limit: float) -> tuple[str, Any]:
        try:
            self.conn.send(job)
            if not self.conn.poll(limit):
                return "timeout", None
            return self.conn.recv()
        except (EOFError, OSError):
            return "died", None

    def stop(self) -> None:
        """End the process now, whatever it is doing (SIGKILL: a decode in C takes no other)."""
        self.process.kill()
        self.conn.close()
        self.process.join(timeout=2)


class OcrPool:
    """Worker processes that read pictures (a core each, one core left to the web service),
    started on first use. At most `backlog` pictures wait or are read at once; more are
    refused as 'busy' rather than queued for minutes. One time limit (`seconds`) covers a
    picture's decoding, preparing and reading, counted from when a worker takes it: the
    worker stops itself when it can, and a worker that overruns the limit (stuck in a
    decode, in C) is killed and replaced, so one picture holds one worker for `seconds` at
    most and never stops the others. A worker that dies (out of memory, a crash in
    Tesseract) is replaced too."""

    def __init__(self, workers: int | None = None, backlog: int | None = None,
                 max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS, seconds: float = MAX_SECONDS,
                 grace: float = GRACE, max_scan_pixels: int | None = MAX_SCAN_PIXELS):
        self.workers = workers or worker_count()
        self.backlog = backlog or self.workers * 4
        self.max_bytes, self.max_pixels, self.seconds = max_bytes, max_pixels, seconds
        self.grace, self.max_scan_pixels = grace, max_scan_pixels  # None: scans not counted (tests)
        self._idle: list[_Worker] = []
        self._free: asyncio.Semaphore | None = None
        self._sender: ThreadPoolExecutor | None = None
        self._waiting = 0
        self.replaced = 0  # workers killed for overrunning (for tests and logs)

    async def read(self, data: bytes) -> Reading:
        if len(data) > self.max_bytes:
            raise ImageRefused("too_large")
        if self._waiting >= self.backlog:
            raise ImageRefused("busy")
        self._waiting += 1
        try:
            if self._free is None:
                self._free = asyncio.Semaphore(self.workers)
                self._sender = ThreadPoolExecutor(self.workers, thread_name_prefix="ocr-send")
            async with self._free:
                worker = self._idle.pop() if self._idle else _Worker()
                try:
                    job = (data, self.max_bytes, self.max_pixels, self.seconds, self.max_scan_pixels)
                    kind, value = await worker.read(job, self.seconds + self.grace, self._sender)
                except BaseException:  # cancelled: its answer would be taken for the next picture's
                    self._stop(worker)
                    raise
                if kind in ("timeout", "died"):
                    self._stop(worker)  # a new one is started when next needed
                    self.replaced += kind == "timeout"
                else:
                    self._idle.append(worker)
        finally:
            self._waiting -= 1
        if kind == "read":
            return value
        if kind == "refused":
            raise ImageRefused(value)
        if kind == "timeout":
            log.warning("a picture overran %.0f s: its worker was replaced", self.seconds)
            raise ImageRefused("timeout")
        log.warning("reading a picture failed: %s", value or "the worker died")
        raise ImageRefused("failed")

    def _stop(self, worker: _Worker) -> None:
        if self._sender is not None:  # the kill and the wait for it off the event loop
            self._sender.submit(worker.stop)
        else:
            worker.stop()

    def close(self) -> None:
        for worker in self._idle:
            worker.stop()
        self._idle = []
        if self._sender is not None:
            self._sender.shutdown(wait=False, cancel_futures=True)
            self._sender = None
        self._free = None
