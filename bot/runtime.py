"""Building the bot from settings: the one place that wires content, storage and core."""

from __future__ import annotations

import logging

from bot.breaches.alerts import AlertStore
from bot.breaches.hibp import HibpClient
from bot.breaches.index import BreachIndex
from bot.breaches.lookup import BreachLookup, LookupLimits
from bot.breaches.source import EmailSource
from bot.breaches.xon import XonClient
from bot.config import Settings
from bot.content.load import load_content
from bot.dialogue.core import Bot, Limits
from bot.state.backend import open_store
from bot.state.sqlite_store import Store

log = logging.getLogger("mehfooz.runtime")


def build_bot(settings: Settings | None = None, limits: Limits | None = None) -> Bot:
    """`limits`: the per-person limits; by default the settings' rate per minute."""
    settings = settings or Settings.from_env()
    store = open_store(settings)  # SQLite, or Redis when BOT_STATE_URL says so
    limits = limits or Limits(per_minute=settings.rate_per_minute)
    return Bot(load_content(settings.content_dir), store, settings.secret, limits,
               build_lookup(settings, store), settings.retention, build_alerts(settings))


def build_alerts(settings: Settings) -> AlertStore | None:
    """Breach-alert subscriptions, when BOT_ALERTS_KEY is set; otherwise alerts are off."""
    if not settings.alerts_key:
        return None
    return AlertStore(settings.alerts_db, settings.breach_pepper, settings.alerts_key)


def build_lookup(settings: Settings, store: Store) -> BreachLookup:
    """The breach index is read-only here (built by `breaches import`); absent, none is used."""
    index = (
        BreachIndex(settings.breach_db, settings.breach_pepper, readonly=True)
        if settings.breach_db.exists() else None
    )
    limits = LookupLimits(per_day=settings.lookups_per_day)
    return BreachLookup(store, settings.secret, index, build_email_source(settings, store), limits)


def build_email_source(settings: Settings, store: Store) -> EmailSource | None:
    """The one service emails are checked with (BREACH_EMAIL_SOURCE); None: email checks off."""
    service = settings.email_service
    if service == "hibp":
        return HibpClient(settings.hibp_api_key, settings.hibp_api_url, store=store)
    if service == "xon":
        return XonClient(settings.xon_api_url)
    if settings.email_source == "hibp":
        log.warning("BREACH_EMAIL_SOURCE=hibp but no HIBP_API_KEY: email checks are off")
    return None
