"""The desk: a chat handed to helpline staff when the bot is not enough, and what flows between
the core and the staff side. The conversation itself is `desk_flow.py`; the staff's Telegram
group and the relay to the person's channel are `bot/channels/desk.py`.

Nothing here knows Telegram or Twilio: the flow says what the staff group should get
(`StaffPost`), the staff side turns a staff update into a `StaffMessage`, and what goes back to
the person is a `Relay` (replies, the person's channel and address)."""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken

from bot.breaches.alerts import fernet
from bot.config import keyed
from bot.dialogue.messages import Reply
from bot.state.cases import Case, CaseStore

PKT = dt.timezone(dt.timedelta(hours=5), "PKT")  # Pakistan time, no daylight saving
# Channels that take free text only for a while after the person's last message (WhatsApp:
# 24 hours, with five minutes' margin); later only an approved template may go.
WINDOWS = {"whatsapp": 24 * 3600 - 300}


@dataclass(frozen=True)
class DeskConfig:
    wait_minutes: float = 10.0  # no staff reply this long: the person is told, with numbers to call
    hours: tuple[dt.time, dt.time] | None = None  # when staff are in, Pakistan time; None: not said
    staff_lang: str = "en"  # the language of the bot's notes to staff


def parse_hours(setting: str) -> tuple[dt.time, dt.time] | None:
    """BOT_DESK_HOURS, "09:00-17:00" (Pakistan time); empty: None. Raises ValueError."""
    if not setting.strip():
        return None
    start, sep, end = setting.replace(" ", "").partition("-")
    if not sep:
        raise ValueError("BOT_DESK_HOURS must look like 09:00-17:00")
    return dt.time.fromisoformat(start), dt.time.fromisoformat(end)


@dataclass(frozen=True)
class StaffPost:
    """Something for the staff group, about case `case`: `open` creates the case's topic (named
    `title`) and posts `text` in it; `text` posts into the topic; `close` posts `text`, then
    closes the topic; `erase` deletes the topic with all its messages. `topic`: the case's
    topic when known (an erased case has no record left to find it in)."""

    case: int
    kind: str
    text: str = ""
    title: str = ""
    topic: str | None = None


@dataclass(frozen=True)
class StaffMessage:
    """A staff member's message in a topic of the staff group, as the staff side read it."""

    topic: str
    text: str
    message_id: str  # the update's id: a re-delivered update is relayed once
    close: bool = False  # /close, or the topic closed in the app
    closed_in_app: bool = False  # the topic is closed already: do not close it again
    other: bool = False  # not text (a photo, a sticker): not relayed


@dataclass(frozen=True)
class Relay:
    """Replies for the person of a case, on their own channel. `template`: the channel's window
    has passed, so only a template asking the person to reply may go (WhatsApp)."""

    case: int
    channel: str
    address: str
    lang: str
    replies: list[Reply]
    template: bool = False


@dataclass
class StaffResult:
    """What a staff message (or the desk's clock) leads to: a relay to the person, notes to staff."""

    relay: Relay | None = None
    posts: list[StaffPost] = field(default_factory=list)


class Desk:
    """The desk's records (cases in the state store), its keys and settings."""

    def __init__(self, cases: CaseStore, keys: str, secret: bytes, config: DeskConfig | None = None,
                 clock: Callable[[], float] = time.time):
        self.cases = cases
        self.fernet = fernet(keys)  # AlertsOff when BOT_ALERTS_KEY is not a Fernet key
        self.secret = secret
        self.config = config or DeskConfig()
        self.clock = clock

    def ref(self, key: str) -> str:
        """The person's reference in a case: a keyed hash of their key (itself a keyed hash)."""
        return keyed(self.secret, "case", key)

    def live(self, key: str) -> Case | None:
        return self.cases.live(self.ref(key))

    def seal(self, text: str) -> str:
        return self.fernet.encrypt(text.encode()).decode()

    def unseal(self, token: str | None) -> str | None:
        """The text of a token; None when there is none or the key that made it is gone."""
        if not token:
            return None
        try:
            return self.fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            return None

    def held(self, case: Case) -> list[str]:
        """Staff replies waiting for the person's window, oldest first."""
        return json.loads(self.unseal(case.held) or "[]")

    def seal_held(self, texts: list[str]) -> str | None:
        return self.seal(json.dumps(texts, ensure_ascii=False)) if texts else None

    def staff_in(self, now: float | None = None) -> bool | None:
        """Whether staff are in now (None: the hours are not set)."""
        hours = self.config.hours
        if hours is None:
            return None
        moment = dt.datetime.fromtimestamp(now or self.clock(), PKT).time()
        start, end = hours
        return start <= moment < end if start <= end else (moment >= start or moment < end)

    def overview(self, days: int = 30) -> dict:
        """For /admin: the open cases, and how soon staff first answered the cases opened in
        the last `days` days (seconds: median, 90th percentile)."""
        now = self.clock()
        cases = self.cases.listing()
        open_cases = [{"case": c.number, "lang": c.lang, "opened": c.opened, "from_person": c.from_person,
                       "from_staff": c.from_staff,
                       "waiting_minutes": round((now - c.waiting) / 60, 1) if c.waiting else None}
                      for c in cases if c.is_open]
        recent = [c for c in cases if c.opened >= now - days * 86400]
        firsts = sorted(c.first_reply for c in recent if c.first_reply is not None)
        p90 = firsts[min(len(firsts) - 1, int(0.9 * len(firsts)))] if firsts else None
        response = {"days": days, "answered": len(firsts), "unanswered": len(recent) - len(firsts),
                    "median_seconds": round(statistics.median(firsts)) if firsts else None,
                    "p90_seconds": None if p90 is None else round(p90)}
        return {"open": open_cases, "first_response": response}


def local_time(when: float) -> str:
    """A time as staff and the person read it: Pakistan time."""
    return dt.datetime.fromtimestamp(when, PKT).strftime("%Y-%m-%d %H:%M")
