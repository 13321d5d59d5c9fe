"""Logs as JSON lines: one per webhook request (channel, status, outcome, intent, latency) and
one per event of the service. No personal data goes in: no text, no ids, no numbers."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from bot.understanding.redact import redact

requests_log = logging.getLogger("mehfooz.requests")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),  # the one masker: whatever a library logs
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def setup(level: int = logging.INFO) -> None:
    """Everything, uvicorn's own lines included, as JSON on standard error."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class _Below(logging.Filter):
    def __init__(self, level: int):
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


def quiet(name: str, level: int) -> None:
    """Drop a library logger's records below `level`, whatever level anyone sets: for
    libraries that log personal data (URLs with an email in them, a call's parameters)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, _Below) for f in logger.filters):
        logger.addFilter(_Below(level))


def log_request(channel: str, status: int, latency: float, outcome: Any = None,
                reason: str | None = None) -> None:
    """One line per webhook request. `outcome` is the core's Outcome, when there was one."""
    if not requests_log.isEnabledFor(logging.INFO):
        return
    fields: dict[str, Any] = {"channel": channel, "status": status, "latency_ms": round(latency * 1000, 2)}
    if outcome is not None:
        fields.update(outcome=outcome.status, intent=outcome.intent, lang=outcome.lang)
    if reason:
        fields["reason"] = reason
    requests_log.info("request", extra={"fields": fields})
