"""Building the bot from settings: the one place that wires content, storage and core."""

from __future__ import annotations

from bot.config import Settings
from bot.content import load_content
from bot.core import Bot, Limits
from bot.store import Store


def build_bot(settings: Settings | None = None) -> Bot:
    settings = settings or Settings.from_env()
    return Bot(
        load_content(settings.content_dir), Store(settings.db_path), settings.secret,
        Limits(per_minute=settings.rate_per_minute),
    )
