"""Breach lookups behind abuse limits: an email through the one outside service chosen (Have I
Been Pwned or XposedOrNot), the person's own phone number in the local index.

The rule: the operator's imported (non-public) lists answer phone numbers only, and only the
number the channel verified as the person's own; an email goes to the public service and
nowhere else, so nobody can look up someone else's email in the non-public lists. Neither is
stored: the per-day limits keep a keyed hash of (person, identifier), which expires with the day."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.breaches.breaker import OPEN
from bot.breaches.index import BreachIndex, normalise_identifier
from bot.breaches.source import EmailSource, Found, LookupPaused, LookupUnavailable, RateLimited
from bot.config import keyed
from bot.state.sqlite_store import DAY, Store

__all__ = ["BreachLookup", "Found", "LookupLimits", "Result"]


@dataclass(frozen=True)
class Result:
    """`status`: 'found', 'not_found', 'off' (email lookups are switched off), 'busy' (the
    service refused: too many lookups for now), 'unavailable' (it did not answer) or 'paused'
    (it failed several times in a row or asked us to wait, so it is not asked for a while).
    `source`: the service that checked an email ('hibp', 'xon'); '' for a phone number."""

    status: str
    breaches: tuple[Found, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class LookupLimits:
    per_day: int = 5
    emails_per_day: int = 3


class BreachLookup:
    def __init__(self, store: Store, secret: bytes, index: BreachIndex | None = None,
                 source: EmailSource | None = None, limits: LookupLimits = LookupLimits()):
        """`source`: where emails are checked; None: email lookups are off (nothing is sent)."""
        self.store, self.secret, self.index, self.source, self.limits = store, secret, index, source, limits

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

    @property
    def source_name(self) -> str:
        """'hibp', 'xon' or 'off': where an email would go (what /privacy says)."""
        return self.source.name if self.source is not None else "off"

    def asks_service(self) -> bool:
        """Would an email lookup call the outside service now (one chosen, its breaker not open)?"""
        return self.source is not None and self.source.breaker.state != OPEN

    # --- lookups ---
    def phone(self, raw: str) -> Result:
        e164 = normalise_identifier(raw)
        found = self.index.lookup(e164) if (self.index and e164) else []
        return _result([Found(b.name, b.date, b.data, b.slug) for b in found])

    def email(self, address: str) -> Result:
        """The chosen service's answer; the imported lists are not asked (see the module's rule)."""
        if self.source is None:
            return Result("off")
        name = self.source.name
        try:
            found = self.source.check(address.strip().lower())
        except LookupPaused:
            return Result("paused", source=name)
        except RateLimited:
            return Result("busy", source=name)
        except LookupUnavailable:
            return Result("unavailable", source=name)
        return _result(found, name)


def _result(found: list[Found], source: str = "") -> Result:
    return Result("found" if found else "not_found", tuple(sorted(found, key=lambda f: f.date)), source)
