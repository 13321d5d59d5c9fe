"""Reading screenshots: drawn with Pillow (light and dark, English and Urdu, several sizes),
read by the real Tesseract in memory and in the worker pool, and judged by the scam checker;
the limits (bytes, pixels, time) and broken files; `scam-check --image`."""

from __future__ import annotations

import asyncio
import difflib
import io
import json
import struct
import zlib

import pytest

from bot.testing.screenshots import OTP_NOTICE, SCAM_EN, SCAM_UR, fonts_available, screenshot
from bot.understanding import ocr
from bot.understanding.ocr import (
    ImageRefused,
    OcrPool,
    Reader,
    clean,
    open_image,
    prepare,
    read_image,
    text_lines,
)
from bot.understanding.scam import check
from tests.test_cli import run

pytestmark = pytest.mark.skipif(
    not (ocr.available() and fonts_available()),
    reason="needs tesserocr and Debian's tesseract-ocr-eng, tesseract-ocr-urd and fonts-noto-core "
           "(.ci/run installs them)",
)


def similarity(read: str, expected: str) -> float:
    return difflib.SequenceMatcher(None, " ".join(read.split()), " ".join(expected.split())).ratio()


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", [720, 1080, 1440])
def test_english_scam_screenshot_is_read_and_judged_a_scam(dark, width):
    reading = read_image(screenshot(SCAM_EN, dark=dark, width=width))
    assert similarity(reading.text, SCAM_EN) > 0.97, reading.text
    assert reading.script == "latin"
    assert check(reading.text).verdict == "likely_scam"


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize(("width", "font"), [(720, "naskh"), (1080, "naskh"), (1080, "arabic_sans"),
                                             (1440, "naskh")])
def test_urdu_scam_screenshot_is_read_and_judged_a_scam(dark, width, font):
    reading = read_image(screenshot(SCAM_UR, lang="ur", dark=dark, width=width, font=font))
    assert similarity(reading.text, SCAM_UR) > 0.85, reading.text
    assert reading.script == "urdu"
    assert check(reading.text).verdict == "likely_scam"


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_otp_notice_has_no_red_flags(dark):
    reading = read_image(screenshot(OTP_NOTICE, dark=dark))
    assert "482913" in reading.text
    assert check(reading.text).verdict == "no_red_flags"


def test_a_compressed_telegram_photo_is_read():
    """Telegram sends photos as JPEG, at most 1280 pixels on the long side."""
    jpeg = screenshot(SCAM_EN, width=576, height=1280, fmt="JPEG", quality=80)
    reading = read_image(jpeg)
    assert similarity(reading.text, SCAM_EN) > 0.95, reading.text


def test_status_bar_and_timestamps_are_not_part_of_what_is_read():
    text = read_image(screenshot("Call me back on this number please", width=1080)).text
    assert text == "Call me back on this number please"
    assert clean("10:42 4G 85%\n\u200eHello\u200f\n10:41 AM\nYesterday 9:15 pm\n|\n10:42 Call me") == \
        "Hello\n10:42 Call me"


def test_a_picture_without_text_reads_as_empty():
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 120, 200)).save(out, "PNG")
    assert read_image(out.getvalue()).text == ""


def test_dark_mode_is_inverted():
    from PIL import ImageStat

    dark = prepare(open_image(screenshot("hello", dark=True, width=540)))
    assert ImageStat.Stat(dark).mean[0] > 128


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_lines_are_found_one_by_one_with_urdu_marks_kept_with_their_line(lang):
    text = SCAM_UR if lang == "ur" else SCAM_EN
    grey = prepare(open_image(screenshot(text, lang=lang, width=1080)))
    lines = text_lines(grey)
    # the status bar, the lines of the message (four in either language), the bubble's time
    assert len(lines) == 6, lines
    heights = [bottom - top for top, bottom in lines[1:-1]]
    assert max(heights) < 1.6 * min(heights)


# --- limits and broken files ---
def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size in a few bytes: the classic decompression bomb header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, "PNG")  # a real, valid picture: 64 million pixels
    bomb = out.getvalue()
    assert len(bomb) < 100_000
    for data in (bomb, _png_header_only(100_000, 100_000)):
        with pytest.raises(ImageRefused) as refused:
            read_image(data)
        assert refused.value.reason == "too_many_pixels"


def test_more_than_5_mb_is_refused():
    with pytest.raises(ImageRefused) as refused:
        read_image(b"\x89PNG" + b"\0" * ocr.MAX_BYTES)
    assert refused.value.reason == "too_large"


@pytest.mark.parametrize("data", [b"", b"not a picture at all", b"%PDF-1.7\n", b"GIF89a\x01"],
                         ids=["empty", "text", "pdf", "gif-stub"])
def test_files_that_are_not_pictures_are_refused(data):
    with pytest.raises(ImageRefused) as refused:
        read_image(data)
    assert refused.value.reason == "not_an_image"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_truncated_picture_is_refused(fmt):
    data = screenshot(SCAM_EN, fmt=fmt)
    with pytest.raises(ImageRefused) as refused:
        read_image(data[: len(data) // 2])
    assert refused.value.reason == "not_an_image"


def test_reading_stops_at_the_time_limit():
    image = prepare(open_image(screenshot(SCAM_EN * 6, width=1440)))
    with pytest.raises(ImageRefused) as refused:
        Reader(seconds=0.001).read(image)
    assert refused.value.reason == "timeout"


# --- the worker pool ---
def test_the_pool_reads_in_worker_processes_and_refuses_past_its_backlog():
    pool = OcrPool(workers=1, backlog=2)
    pictures = [screenshot(SCAM_EN, width=720)] * 4

    async def read_all():
        return await asyncio.gather(*(pool.read(p) for p in pictures), return_exceptions=True)

    try:
        results = asyncio.run(read_all())
    finally:
        pool.close()
    read = [r for r in results if isinstance(r, ocr.Reading)]
    refused = [r.reason for r in results if isinstance(r, ImageRefused)]
    assert len(read) == 2 and all(similarity(r.text, SCAM_EN) > 0.97 for r in read)
    assert refused == ["busy", "busy"]


def test_the_pool_passes_refusals_on():
    pool = OcrPool(workers=1)
    try:
        with pytest.raises(ImageRefused) as refused:
            asyncio.run(pool.read(_png_header_only(50_000, 50_000)))
    finally:
        pool.close()
    assert refused.value.reason == "too_many_pixels"


# --- python -m bot scam-check --image ---
@pytest.mark.parametrize(("name", "picture", "verdict"), [
    ("en-light", lambda: screenshot(SCAM_EN), "likely_scam"),
    ("en-dark", lambda: screenshot(SCAM_EN, dark=True), "likely_scam"),
    ("ur", lambda: screenshot(SCAM_UR, lang="ur"), "likely_scam"),
    ("otp", lambda: screenshot(OTP_NOTICE), "no_red_flags"),
])
def test_scam_check_image_command(tmp_path, name, picture, verdict):
    path = tmp_path / f"{name}.png"
    path.write_bytes(picture())
    result = run(["scam-check", "--image", str(path), "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["verdict"] == verdict and out["text"]
    plain = run(["scam-check", "--image", str(path)], tmp_path)
    assert plain.stdout.split("\t")[0] == verdict


def test_scam_check_image_command_on_a_broken_file(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    result = run(["scam-check", "--image", str(path), "--json"], tmp_path)
    assert result.returncode == 1 and json.loads(result.stderr) == {"error": "not_an_image"}
