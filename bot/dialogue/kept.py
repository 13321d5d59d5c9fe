"""How long the bot keeps things, as figures its texts quote: `{state_days}` in the greeting or
the privacy answer becomes the period the store really keeps, as the settings configure it.

One list: a new retention (a setting or a field of `Retention`) is one more `Figure` here, and
`intents check` then accepts `{its_name}` in answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.state.sqlite_store import DAY, Retention


@dataclass(frozen=True)
class Figure:
    name: str  # as written in texts, in braces
    seconds: Callable[[Retention], int]
    unit: int  # seconds in one unit of the figure (DAY for "_days")
    about: str


FIGURES: tuple[Figure, ...] = (
    Figure("state_days", lambda r: r.state, DAY, "per-person state, keyed hash (BOT_KEEP_STATE_DAYS)"),
    Figure("seen_days", lambda r: r.seen, DAY, "ids of answered messages (BOT_KEEP_SEEN_DAYS)"),
    Figure("misses_days", lambda r: r.misses, DAY, "masked questions not understood (BOT_KEEP_MISSES_DAYS)"),
    Figure("scam_days", lambda r: r.scam, DAY, "fingerprints of messages checked for scams"),
    Figure("case_days", lambda r: r.cases, DAY,
           "a closed desk case: its tie to the person, its staff topic (BOT_KEEP_CASES_DAYS)"),
    Figure("tipline_days", lambda r: r.tipline, DAY,
           "a scam group: masked text, forwarders' tags, staff's verdict (BOT_KEEP_TIPLINE_DAYS)"),
    Figure("tell_days", lambda r: r.tell, DAY, "a chat address kept, encrypted, to tell staff's verdict"),
)
# Sentences the code fills in from the configuration, not from a retention: where an email to
# check goes (`privacy_flow`, one of system.yaml's privacy_email_* texts).
SENTENCES = {"email_service": "where emails are checked (BREACH_EMAIL_SOURCE): privacy_email_<service>"}
NAMES = frozenset(f.name for f in FIGURES) | frozenset(SENTENCES)


def figures(retention: Retention) -> dict[str, str]:
    """Each figure's value under `retention`, as text: {"state_days": "30", ...}."""
    return {f.name: str(f.seconds(retention) // f.unit) for f in FIGURES}
