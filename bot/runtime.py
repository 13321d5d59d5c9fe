"""Building the bot from settings: the one place that wires content, storage and core."""

from __future__ import annotations

from bot.breaches.alerts import AlertStore
from bot.breaches.hibp import HibpClient
from bot.breaches.index import BreachIndex
from bot.breaches.lookup import BreachLookup, LookupLimits
from bot.config import Settings
from bot.content.load import load_content
from bot.dialogue.core import Bot, Limits
from bot.state.backend import open_store
from bot.state.sqlite_store import Store


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
    return AlertStore(settings.alerts_db, settings.breach_pepper, settings.alerts_key,
                      settings.alerts_lease)


def build_lookup(settings: Settings, store: Store) -> BreachLookup:
    """The breach index is read-only here (built by `breaches import`); absent, none is used."""
    index = (
        BreachIndex(settings.breach_db, settings.breach_pepper, readonly=True)
        if settings.breach_db.exists() else None
    )
    hibp = HibpClient(settings.hibp_api_key, settings.hibp_api_url)
    limits = LookupLimits(per_day=settings.lookups_per_day)
    return BreachLookup(store, settings.secret, index, hibp, limits)
