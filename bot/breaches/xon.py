"""XposedOrNot's free public API (open source: github.com/XposedOrNot/XposedOrNot-API): which
breaches hold an email address, with no key.

    GET {root}/check-email/{email}?details=true
    200 {"breaches": [["Adobe", "Canva"]], "email": ..., "status": "success",
         "breach_details": [{"name": "Adobe", "breach_date": ..., "records_exposed": 152445165,
                             "exposed_data": ["Email addresses", "Passwords"], ...}]}
    404 {"Error": "No breaches found", ...}        (200 {"Error": "Not found"} for some addresses)
    429 Retry-After: seconds                         (2 a second, 25 an hour, 100 a day per address)

Its limits are per calling address and hourly or daily, so a 429 stops every call until its
retry-after has passed (`hold_429`) rather than asking again in a minute. Time limits, the
circuit breaker and the errors are `source.HttpSource`'s. The email goes into the request and
nowhere else."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from bot.breaches.breaker import Breaker
from bot.breaches.source import BUDGET, TIMEOUT, Found, HttpSource, LookupUnavailable, json_body, records

DEFAULT_URL = "https://api.xposedornot.com/v1"


class XonClient(HttpSource):
    name = "xon"
    hold_429 = True

    def __init__(self, base_url: str = DEFAULT_URL, timeout: float = TIMEOUT, sleep: Any = time.sleep,
                 breaker: Breaker | None = None, budget: float = BUDGET):
        super().__init__(base_url, timeout, sleep, breaker, budget, headers={"accept": "application/json"})

    def check(self, email: str) -> list[Found]:
        response = self._get(f"/check-email/{quote(email, safe='')}", {"details": "true"}, {})
        if response.status_code == 404:
            return []
        data = json_body(response)
        if not isinstance(data, dict):
            raise LookupUnavailable("unexpected answer")
        return _found(data)


def _found(data: dict[str, Any]) -> list[Found]:
    """The breaches of an answer: every name in `breaches`, described by `breach_details`."""
    details = {str(d.get("name")): d for d in data.get("breach_details") or () if isinstance(d, dict)}
    names = list(details)
    for group in data.get("breaches") or ():  # a list of lists of names (or, leniently, names)
        names += [str(n) for n in (group if isinstance(group, list) else [group]) if n]
    found = []
    for name in dict.fromkeys(names):  # each once, in order
        detail = details.get(name, {})
        exposed = detail.get("exposed_data") or ()
        if isinstance(exposed, str):
            exposed = exposed.split(";")
        found.append(Found(name, str(detail.get("breach_date") or ""),
                           tuple(str(x).strip() for x in exposed if str(x).strip()),
                           records=records(detail.get("records_exposed"))))
    return found
