"""The terminal chat: the same core as Telegram and WhatsApp, with no accounts at all.

With a terminal, an interactive prompt; piped, one reply block per input line, so it can
be scripted: `printf 'hi\\n1\\n' | python -m bot chat`."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.channels.render import numbered
from bot.dialogue.core import Bot
from bot.dialogue.messages import Incoming

CHANNEL = "terminal"


def run_chat(bot: Bot, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
             user: str = "local", phone: str | None = None) -> None:
    interactive = stdin.isatty()
    if interactive:
        print("Mehfooz: ask in English, Urdu or Roman Urdu. Ctrl-D to leave.", file=stdout)
    while True:
        if interactive:
            print("> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            break
        if not line.strip():
            continue
        message = Incoming(CHANNEL, user, line.rstrip("\n"), verified_phone=phone)
        blocks = [numbered(reply) for reply in bot.respond(message)]
        try:
            print("\n\n".join(blocks), file=stdout)
            print("" if interactive else "---", file=stdout, flush=True)
        except BrokenPipeError:  # the reader went away (`... | head`): nothing more to say
            return
