"""Phone screenshots drawn with Pillow, for tests and benchmarks of reading pictures: a status
bar, a message bubble with the text wrapped to the screen, and the bubble's timestamp; light or
dark, English or Urdu script (right to left, shaped), at any size.

    png = screenshot("Your account is blocked...", dark=True, width=1080)
    png = screenshot("آپ کا انعام...", lang="ur", font="naskh")

Fonts come from Debian's fonts-noto-core (`fonts_available()` says whether they are here)."""

from __future__ import annotations

import io
from pathlib import Path

FONT_DIR = Path("/usr/share/fonts/truetype/noto")
FONTS = {
    "sans": "NotoSans-Regular.ttf",  # Latin: Android's default look
    "naskh": "NotoNaskhArabic-Regular.ttf",  # Urdu as most phones show it
    "arabic_sans": "NotoSansArabic-Regular.ttf",
    "nastaliq": "NotoNastaliqUrdu-Regular.ttf",  # Urdu as Urdu keyboards and some apps show it
}
STATUS_TIME = "10:42"
BUBBLE_TIME = "10:41 AM"

# Sample messages: what the tests and `scam-check --image` checks are about.
SCAM_EN = ("Dear customer, your HBL account has been blocked. Verify your CNIC and ATM PIN "
           "within 24 hours at http://hbl-verify.xyz or your account will be closed.")
SCAM_UR = ("مبارک ہو! آپ کا نمبر بینظیر انکم سپورٹ پروگرام میں 25000 روپے کے انعام کے لیے منتخب ہوا ہے۔ "
           "رقم وصول کرنے کے لیے فوراً اس لنک پر کلک کریں اور اپنا شناختی کارڈ نمبر بھیجیں: http://bisp-gov.top")
OTP_NOTICE = ("Your Easypaisa one-time password is 482913. It is valid for 5 minutes. "
              "Do not share this code with anyone.")


def fonts_available(*names: str) -> bool:
    return all((FONT_DIR / FONTS[name]).exists() for name in names or FONTS)


def _wrap(draw: object, text: str, font: object, width: float, rtl: bool) -> list[str]:
    kwargs = {"direction": "rtl", "language": "ur"} if rtl else {}
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if line and draw.textlength(candidate, font=font, **kwargs) > width:  # type: ignore[attr-defined]
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return lines


def screenshot(text: str, lang: str = "en", dark: bool = False, width: int = 1080,
               height: int | None = None, font: str | None = None, fmt: str = "PNG",
               quality: int = 85, text_size: float = 0.039) -> bytes:
    """A chat screenshot of `text`, as PNG (or JPEG with `fmt="JPEG"`) bytes; the letters are
    `text_size` of the width high (0.039: 16 sp on a 1080-pixel-wide phone, 42 px)."""
    from PIL import Image, ImageDraw, ImageFont

    height = height or round(width * 20 / 9)  # a modern phone's 20:9
    rtl = lang == "ur"
    size = max(12, round(width * text_size))
    face = ImageFont.truetype(str(FONT_DIR / FONTS[font or ("naskh" if rtl else "sans")]), size)
    small = ImageFont.truetype(str(FONT_DIR / FONTS["sans"]), round(size * 0.7))
    background, ink, bubble = ((17, 27, 33), (233, 237, 239), (32, 44, 51)) if dark else \
        ((236, 229, 221), (17, 27, 33), (255, 255, 255))
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    bar = round(size * 1.4)
    draw.rectangle((0, 0, width, bar), fill=(0, 0, 0) if dark else (7, 94, 84))
    draw.text((size // 2, bar // 2), STATUS_TIME, font=small, fill="white", anchor="lm")
    draw.text((width - size // 2, bar // 2), "4G 85%", font=small, fill="white", anchor="rm")
    margin, pad = round(width * 0.05), round(size * 0.6)
    lines = _wrap(draw, text, face, width - 2 * (margin + pad), rtl)
    ascent, descent = face.getmetrics()
    step = round((ascent + descent) * (1.25 if font == "nastaliq" else 1.1))
    top = bar + 3 * size
    bottom = top + pad * 2 + step * len(lines) + round(size * 1.2)
    draw.rounded_rectangle((margin, top, width - margin, bottom), radius=size // 2, fill=bubble)
    y = top + pad
    for line in lines:
        if rtl:
            draw.text((width - margin - pad, y), line, font=face, fill=ink, anchor="ra",
                      direction="rtl", language="ur")
        else:
            draw.text((margin + pad, y), line, font=face, fill=ink)
        y += step
    draw.text((width - margin - pad, bottom - pad // 2), BUBBLE_TIME, font=small, fill=ink, anchor="rd")
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return out.getvalue()
