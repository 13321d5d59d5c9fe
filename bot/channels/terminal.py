"""The terminal chat: the same core as Telegram and WhatsApp, with no accounts at all.

With a terminal, an interactive prompt; piped, one reply block per input line, so it can
be scripted: `printf 'hi\\n1\\n' | python -m bot chat`.

`chat --desk` simulates the desk on the same screen: what the staff group would get is shown
with "[staff group · case N]" before it, and a line starting with "staff:" is a staff member's
reply in the topic of the latest case ("staff: /close" closes it):

    printf 'talk to a real person\\nyes\\nhe has my photos\\nstaff: We are here.\\nstaff: /close\\n' \\
        | python -m bot chat --desk"""

from __future__ import annotations

import sys
from dataclasses import replace
from itertools import count
from typing import TextIO

from bot.channels.render import numbered
from bot.dialogue import desk_flow
from bot.dialogue.core import Bot, Outcome
from bot.dialogue.desk import StaffMessage, StaffPost, StaffResult
from bot.dialogue.messages import Incoming, Reply

CHANNEL = "terminal"
STAFF = "staff:"  # with --desk, a line that starts so is a staff reply


class TerminalDesk:
    """The staff group, simulated: topics are numbers, posts are printed."""

    def __init__(self, bot: Bot):
        self.bot = bot
        self.topics = count(2)  # as a forum's: the General topic is 1
        self.topic: str | None = None  # the latest case's topic: where "staff:" lines go
        self.updates = count(1)

    def post(self, outcome: Outcome) -> list[str]:
        """What the staff group gets of a person's message, as lines to print."""
        return [line for post in outcome.staff for line in self._post(post)]

    def _post(self, post: StaffPost) -> list[str]:
        head = f"[staff group · case {post.case}]"
        if post.kind == "erase":
            return [f"{head} (topic deleted)"]
        if post.kind == "open":
            self.topic = str(next(self.topics))
            assert self.bot.desk is not None
            self.bot.desk.cases.set_topic(post.case, self.topic)
            return [f"{head} new topic: {post.title}", _indent(post.text)]
        return [f"{head} {post.text}" + (" (topic closed)" if post.kind == "close" else "")]

    def staff(self, text: str) -> list[str]:
        """A staff reply typed in the latest case's topic: what the person and staff then see."""
        if self.topic is None:
            return ["[staff group] no case yet: nothing to reply to"]
        close = text.split(maxsplit=1)[0].lower() == "/close" if text.strip() else False
        update = f"terminal-staff-{next(self.updates)}"
        message = StaffMessage(self.topic, "" if close else text, update, close=close)
        result = desk_flow.from_staff(self.bot, message)
        return self._deliver(result) if result is not None else []

    def tick(self) -> list[str]:
        """Wait notices that fell due."""
        return [line for result in desk_flow.due_waits(self.bot) for line in self._deliver(result)]

    def _deliver(self, result: StaffResult) -> list[str]:
        shown = [numbered(reply) for reply in result.relay.replies] if result.relay else []
        return shown + [line for post in result.posts for line in self._post(post)]


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


def run_chat(bot: Bot, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
             user: str = "local", phone: str | None = None, desk: TerminalDesk | None = None) -> None:
    interactive = stdin.isatty()
    if interactive:
        print("Mehfooz: ask in English, Urdu or Roman Urdu. Ctrl-D to leave.", file=stdout)
        if desk is not None:
            print(f'Desk simulation: "{STAFF} ..." replies as staff in the latest case; '
                  f'"{STAFF} /close" closes it.', file=stdout)
    while True:
        if interactive:
            print("> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            break
        if not line.strip():
            continue
        text = line.rstrip("\n")
        if desk is not None and text.lower().startswith(STAFF):
            blocks = desk.staff(text[len(STAFF):].strip())
        else:
            blocks = _person(bot, Incoming(CHANNEL, user, text, verified_phone=phone), desk)
        try:
            print("\n\n".join(blocks), file=stdout)
            print("" if interactive else "---", file=stdout, flush=True)
        except BrokenPipeError:  # the reader went away (`... | head`): nothing more to say
            return


def _person(bot: Bot, message: Incoming, desk: TerminalDesk | None) -> list[str]:
    if desk is None:
        return [numbered(reply) for reply in bot.respond(message)]
    outcome = bot.handle(message)
    replies: list[Reply] = outcome.later() if outcome.later else outcome.replies
    outcome = replace(outcome, replies=replies)
    staff = desk.post(outcome)
    return [*desk.tick(), *staff, *(numbered(reply) for reply in outcome.replies)]
