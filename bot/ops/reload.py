"""Content changes reach the running service without a restart.

The service reloads `intents/` when a file there changes (watchfiles), on SIGHUP, or when an
admin asks. New content is checked with the same checks as `intents check` and built off the
event loop; only if it passes is it swapped in, between two messages. A broken file is logged
with its problems and the running content stays."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

import watchfiles

from bot.content.check import check
from bot.content.load import load_content
from bot.dialogue.core import Bot, Loaded
from bot.ops.heap import freeze_long_lived

log = logging.getLogger("mehfooz.reload")


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    problems: list[str] = field(default_factory=list)
    intents: int = 0


class ContentReloader:
    def __init__(self, core: Bot, directory: Path):
        self.core, self.directory = core, Path(directory)
        self._lock = asyncio.Lock()  # one reload at a time; a second waits and sees the newest files

    async def reload(self) -> ReloadResult:
        async with self._lock:
            problems, _ = await asyncio.to_thread(check, self.directory)
            if problems:
                log.error("content not reloaded: %d problem(s); the running content stays",
                          len(problems), extra={"fields": {"problems": problems}})
                return ReloadResult(False, problems)
            loaded = await asyncio.to_thread(lambda: Loaded.build(load_content(self.directory)))
            self.core.use(loaded)
            freeze_long_lived()  # one full collection (tens of ms) per reload; short ones after
            log.info("content reloaded: %d intents", len(loaded.content.intents))
            return ReloadResult(True, intents=len(loaded.content.intents))

    async def watch(self, stop: asyncio.Event | None = None) -> None:
        """Reload after each burst of changes to the content folder, until `stop` is set."""
        async for _ in watchfiles.awatch(self.directory, stop_event=stop, recursive=True):
            try:
                await self.reload()
            except Exception:  # a reload must never take the service down
                log.exception("content reload failed; the running content stays")
