"""The tipline's follow-ups as a queue of the alert sender (bot/channels/alert_sender.py): one
message to each person who asked to be told staff's verdict on a scam they forwarded, in their
language, then forgotten (bot/state/tipline.py deletes the row, address and all).

On WhatsApp, free text goes only within 24 hours of the person's last message: the "tell me"
was one, so a follow-up within that window is free text; later it is the approved template of
TWILIO_TIPLINE_CONTENT_SID ({{1}} the message, masked and cut; {{2}} staff's verdict and how many
reported it), or, without one, free text that WhatsApp will refuse (failed)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.content.load import Content
from bot.dialogue.desk import WINDOWS
from bot.dialogue.tipline import Tipline
from bot.state.tipline import Followup, Group

EXCERPT = 80  # characters of the masked message quoted to remind the person which one


@dataclass(frozen=True)
class Told:
    """A claimed follow-up with its address decrypted (in memory only) and its group."""

    followup: Followup
    address: str
    group: Group

    @property
    def id(self) -> str:
        return self.followup.id

    @property
    def channel(self) -> str:
        return self.followup.channel

    @property
    def lang(self) -> str:
        return self.followup.lang

    @property
    def attempts(self) -> int:
        return self.followup.attempts


class TiplineFollowups:
    def __init__(self, tipline: Tipline, content_sids: dict[str, str] | None = None):
        self.tipline, self.store = tipline, tipline.store
        self.content_sids = content_sids or {}

    def purge(self, now: float) -> None:
        """Expired follow-ups are not claimed; the store's purge deletes them."""

    def claim(self, limit: int, now: float) -> list[Told]:
        found = []
        for followup in self.store.claim(limit, now):
            address = self.tipline.address(followup.address)
            group = self.store.get(followup.group)
            if address is None or group is None or group.staff is None:  # key gone, group gone
                self.store.failed(followup)
                continue
            found.append(Told(followup, address, group))
        return found

    def start(self, item: Told, now: float) -> bool:
        return self.store.start(item.followup, now)

    def sent(self, item: Told) -> None:
        self.store.sent(item.followup)

    def later(self, item: Told, due: float, count: bool = True) -> bool:
        return self.store.later(item.followup, due, count)

    def failed(self, item: Told) -> None:
        self.store.failed(item.followup)

    def next_due(self) -> float | None:
        return self.store.next_due()

    def text(self, item: Told, content: Content) -> str:
        return content.text(f"tipline_followup_{item.group.staff}", item.lang, excerpt=excerpt(item.group),
                            count=str(item.group.people))

    def template(self, item: Told, content: Content, now: float) -> tuple[str, dict[str, str]] | None:
        window = WINDOWS.get(item.channel)
        sid = self.content_sids.get(item.lang) or self.content_sids.get("*")
        if window is None or now - item.followup.asked < window or not sid:
            return None
        count = str(item.group.people)
        verdict = content.text(f"tipline_confirmed_{item.group.staff}", item.lang, count=count)
        return sid, {"1": excerpt(item.group), "2": " ".join(verdict.split())}


def excerpt(group: Group) -> str:
    """The start of the group's masked text, on one line, without quotes of its own."""
    text = " ".join(group.text.replace('"', "'").split())
    return text if len(text) <= EXCERPT else text[:EXCERPT].rsplit(" ", 1)[0].rstrip(",.;:") + "…"
