"""The scam tipline: forwarded scams grouped, staff's verdict recorded once, and everyone who
asked told. The conversation is `tipline_flow.py` (and `scam_flow.py`, which files each pasted
message here); the records are `bot/state/tipline.py`; the follow-ups go out through the
breach-alert sender (`bot/channels/alert_sender.py`, `Followups`).

A message is filed under a group by the keyed fingerprint of its key (`scam_group.key_text`),
or, failing that, by the most alike key among recent groups (`NearDuplicates`). A message with
red flags that belongs to no group starts one; a message without joins one only if it exists
(its text is kept only when someone's message was flagged)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from cryptography.fernet import InvalidToken, MultiFernet

from bot.breaches.alerts import fernet
from bot.config import keyed
from bot.state.sqlite_store import Retention
from bot.state.tipline import VERDICTS, Group, TiplineStore
from bot.understanding import scam_group
from bot.understanding.scam_fold import Spelling
from bot.understanding.scam_group import NearDuplicates, key_text, masked


@dataclass(frozen=True)
class Filed:
    """A message filed under its group. `group.people` counts this person too. `covered`:
    staff's verdict applies to this copy (a "not a scam" does not cover a copy with a link host
    or number that the group had not shown when staff decided)."""

    group: Group
    covered: bool
    asked: bool  # the person asked to be told already

    @property
    def verdict(self) -> str | None:
        return self.group.staff if self.covered else None


class Tipline:
    def __init__(self, store: TiplineStore, secret: bytes, keys: str = "", retention: Retention | None = None,
                 clock: Callable[[], float] = time.time):
        self.store = store
        self.secret = secret
        self.fernet: MultiFernet | None = fernet(keys) if keys else None  # None: nobody can be told later
        self.retention = retention or Retention()
        self.clock = clock
        self.index = NearDuplicates()

    @property
    def can_tell(self) -> bool:
        return self.fernet is not None

    def file(self, message: str, verdict: str, tag: str, spelling: Spelling, flagged: bool) -> Filed | None:
        """Count the person (their keyed tag) in the message's group; start one for a flagged
        message that has none. None: no group, and none started."""
        shown = masked(message)
        key = key_text(shown, spelling)
        if not key:
            return None
        now = self.clock()
        fingerprint = keyed(self.secret, "tipline", key)
        contacts = sorted(keyed(self.secret, "contact", c, size=16) for c in scam_group.contacts(message))
        found = self.store.find(fingerprint) or self._near(key)
        group = self.store.get(found) if found else None
        if group is not None:
            before = self.store.reported(group.id, tag)
            if self.store.join(group.id, tag, fingerprint, verdict, contacts, now):
                covered = group.staff == "scam" or (group.staff == "not_scam" and self.store.known_contacts(
                    group.id, contacts, group.decided or 0))
                return Filed(replace(group, people=group.people + (0 if before else 1)), covered,
                             self.store.asked(group.id, tag))
        if found:  # gone (purged, or its only forwarder deleted their data)
            self.index.drop(found)
        if not flagged:
            return None
        made = self.store.create(fingerprint, shown, key, verdict, tag, contacts, now)
        self.index.add(made, key)
        group = self.store.get(made)
        if group is None:  # another worker's, not yet applied: as this message made it
            group = Group(made, shown, now, now, verdict)
        people = group.people + (0 if self.store.reported(made, tag) else 1)
        return Filed(replace(group, people=people), group.staff == "scam", self.store.asked(made, tag))

    def lookup(self, message: str, spelling: Spelling) -> Group | None:
        """The message's group, if it has one; nothing is written."""
        key = key_text(masked(message), spelling)
        if not key:
            return None
        found = self.store.find(keyed(self.secret, "tipline", key)) or self._near(key)
        return self.store.get(found) if found else None

    def _near(self, key: str) -> int | None:
        """The recent group whose key is most like this one (the index first learns of the
        groups other workers made)."""
        for group, known in self.store.keys_since(self.index.newest):
            self.index.add(group, known)
        return self.index.best(key)

    def ask(self, group: int, tag: str, channel: str, address: str, lang: str) -> bool:
        """Keep the person's address, encrypted, until staff decide (Retention.tell at most)."""
        if self.fernet is None:
            return False
        now = self.clock()
        token = self.fernet.encrypt(address.encode()).decode()
        self.store.ask(group, tag, channel, token, lang, now, now + self.retention.tell)
        return True

    def address(self, token: str) -> str | None:
        """A follow-up's address; None when the key that sealed it is gone."""
        if self.fernet is None:
            return None
        try:
            return self.fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            return None

    def decide(self, group: int, verdict: str, note: str = "") -> int | None:
        """Staff's verdict; the follow-ups it queues (None: no such group)."""
        if verdict not in VERDICTS:
            raise ValueError(f"the verdict is one of {', '.join(VERDICTS)}")
        return self.store.decide(group, verdict, " ".join(note.split())[:500], self.clock())

    def trending(self, days: int, limit: int = 0) -> list[Group]:
        return self.store.trending(self.clock() - days * 86400, limit)
