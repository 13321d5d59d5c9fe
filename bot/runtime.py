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
from bot.dialogue.desk import Desk, DeskConfig, parse_hours
from bot.dialogue.tipline import Tipline
from bot.state.backend import StateStore, open_store
from bot.state.cases import case_store
from bot.state.sqlite_store import Store
from bot.state.tipline import tipline_store

log = logging.getLogger("mehfooz.runtime")


def build_bot(settings: Settings | None = None, limits: Limits | None = None, desk_key: str = "") -> Bot:
    """`limits`: the per-person limits; by default the settings' rate per minute. `desk_key`: a
    Fernet key that turns the desk on without a staff group (the terminal's `chat --desk`)."""
    settings = settings or Settings.from_env()
    store = open_store(settings)  # SQLite, or Redis when BOT_STATE_URL says so
    limits = limits or Limits(per_minute=settings.rate_per_minute)
    return Bot(load_content(settings.content_dir), store, settings.secret, limits,
               build_lookup(settings, store), settings.retention, build_alerts(settings),
               build_desk(settings, store, desk_key), build_tipline(settings, store))


def build_tipline(settings: Settings, store: StateStore) -> Tipline:
    """Scams grouped for staff, in the state store; people can ask to be told staff's verdict
    when their addresses can be encrypted (BOT_ALERTS_KEY)."""
    return Tipline(tipline_store(store), settings.secret, settings.alerts_key, settings.retention)


def build_desk(settings: Settings, store: StateStore, key: str = "") -> Desk | None:
    """The desk, when a staff group is set (STAFF_TELEGRAM_CHAT_ID) and relay addresses can be
    encrypted (BOT_ALERTS_KEY); otherwise human_help gives the numbers to call."""
    keys = key or (settings.alerts_key if settings.staff_chat_id else "")
    if not keys:
        return None
    config = DeskConfig(settings.desk_wait_minutes, parse_hours(settings.desk_hours),
                        settings.desk_staff_lang)
    return Desk(case_store(store), keys, settings.secret, config)


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
