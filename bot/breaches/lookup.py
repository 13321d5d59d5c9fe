"""Breach lookups: the local index and Have I Been Pwned, merged, behind abuse limits.

Only two kinds of identifier are ever looked up: an email the person sends, and their own
phone number as the channel verified it. Neither is stored: the per-day limits keep a keyed
hash of (person, identifier), which expires with the day."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bot.breaches.breaker import OPEN
from bot.breaches.hibp import HibpClient, LookupPaused, LookupUnavailable
from bot.breaches.index import BreachIndex, normalise_identifier
from bot.config import keyed
from bot.state.sqlite_store import DAY, Store

CATALOGUE_MAX_AGE = DAY  # the HIBP breach catalogue is fetched again after a day


@dataclass(frozen=True)
class Found:
    name: str
    date: str
    data: tuple[str, ...]
    slug: str = ""  # the index's id: a catalogue incident is then worded in the person's language


@dataclass(frozen=True)
class Result:
    """`status`: 'found', 'not_found', 'no_key' (email lookups are not set up: HIBP needs a
    key), 'unavailable' (HIBP did not answer) or 'paused' (HIBP failed several times in a row,
    so it is not asked for a few minutes). Index results are kept in every case."""

    status: str
    breaches: tuple[Found, ...] = ()


@dataclass(frozen=True)
class LookupLimits:
    per_day: int = 5
    emails_per_day: int = 3


class BreachLookup:
    def __init__(self, store: Store, secret: bytes, index: BreachIndex | None = None,
                 hibp: HibpClient | None = None, limits: LookupLimits = LookupLimits()):
        self.store, self.secret, self.index, self.hibp, self.limits = store, secret, index, hibp, limits

    # --- abuse limits ---
    def refused(self, user: str, kind: str, identifier: str, now: float | None = None) -> str | None:
        """Why this lookup may not run now ('per_day' or 'emails'), or None; a permitted
        lookup is counted. `user`: the person's limit key (`Bot.limit_key`), which "delete my
        data" does not remove."""
        day = int((now or time.time()) // DAY)
        target = keyed(self.secret, user, identifier)
        done, emails = self.store.lookups(user, day)
        if done >= self.limits.per_day:
            return "per_day"
        if kind == "email" and target not in emails and len(emails) >= self.limits.emails_per_day:
            return "emails"
        self.store.add_lookup(user, day, target, kind)
        return None

    def asks_hibp(self) -> bool:
        """Would an email lookup call HIBP now (a key, and the breaker not open)?"""
        return self.hibp is not None and self.hibp.has_key and self.hibp.breaker.state != OPEN

    # --- lookups ---
    def phone(self, raw: str) -> Result:
        e164 = normalise_identifier(raw)
        found = self.index.lookup(e164) if (self.index and e164) else []
        return _result([Found(b.name, b.date, b.data, b.slug) for b in found])

    def email(self, address: str) -> Result:
        email = address.strip().lower()
        hits = self.index.lookup(email) if self.index else []
        local = [Found(b.name, b.date, b.data, b.slug) for b in hits]
        if self.hibp is None or not self.hibp.has_key:
            return Result("no_key", tuple(local)) if not local else _result(local)
        try:
            answer = self.hibp.breached_account(email)
            catalogue = self.catalogue() if answer else {}
            remote = [_describe(item, catalogue) for item in answer]
        except LookupPaused:
            return Result("paused", tuple(local))
        except LookupUnavailable:
            return Result("unavailable", tuple(local))
        known = {f.name.casefold() for f in local}
        return _result(local + [f for f in remote if f.name.casefold() not in known])

    def catalogue(self, now: float | None = None) -> dict[str, dict[str, Any]]:
        """HIBP's breach catalogue by name, from SQLite, fetched again once a day."""
        now = now or time.time()
        cached, fetched = self.store.hibp_catalogue()
        if self.hibp is not None and now - fetched > CATALOGUE_MAX_AGE:
            try:
                cached = {str(b.get("Name")): b for b in self.hibp.breaches()}
                self.store.save_hibp_catalogue(cached, now)
            except LookupUnavailable:
                pass  # the old copy will do until HIBP answers again
        return cached


def _describe(item: dict[str, Any], catalogue: dict[str, dict[str, Any]]) -> Found:
    """A breach of an HIBP answer, completed from the catalogue where the answer is short."""
    item = {**catalogue.get(str(item.get("Name", "")), {}), **item}
    return Found(str(item.get("Title") or item.get("Name", "")), str(item.get("BreachDate", "")),
                 tuple(str(c) for c in item.get("DataClasses") or ()))


def _result(found: list[Found]) -> Result:
    return Result("found" if found else "not_found", tuple(sorted(found, key=lambda f: f.date)))
