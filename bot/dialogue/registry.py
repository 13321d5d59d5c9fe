"""The registry of flows: intents that run code (an intent file names one by `action:`),
choices, pending questions and interceptors. Flows register here; the core calls here.
This module imports no flow and not the core, so the arrows point one way.

An action gets the turn and its intent and returns the replies. Option values that are
not intent ids ('lang:ur', 'delete:yes') are routed here by their prefix."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.content.load import Intent
from bot.dialogue.messages import Reply

if TYPE_CHECKING:
    from bot.dialogue.turn import Turn
    from bot.understanding.matcher import Match

Action = Callable[["Turn", Intent], list[Reply]]
ACTIONS: dict[str, Action] = {}
CHOICES: dict[str, Callable[[Turn, str], list[Reply] | None]] = {}
PENDING: dict[str, Callable[[Turn], list[Reply] | None]] = {}
# Run after matching, before the answer: each may take the message over (a pasted scam).
INTERCEPTORS: list[Callable[[Turn, Match], list[Reply] | None]] = []
# A shared contact goes to the flow whose pending question asked for it, before 'contact:'.
CONTACT_PENDING: dict[str, Callable[[Turn, str], list[Reply] | None]] = {}
# Run on "delete my data", beside the state store's own deletion (e.g. alert subscriptions).
ON_DELETE: list[Callable[[Turn], None]] = []
# Option prefixes a person may pick by typing a word instead of its number ("tell me"), with the
# system.yaml word list for each (the core's own: "more").
WORDED: dict[str, str] = {}
# Run before anything else, even a picture: each may take the message over (a chat handed to
# helpline staff takes the person's messages while it is open).
BEFORE: list[Callable[[Turn], list[Reply] | None]] = []


def action(name: str) -> Callable[[Action], Action]:
    def register(func: Action) -> Action:
        ACTIONS[name] = func
        return func

    return register


def run(name: str, turn: Turn, intent: Intent) -> list[Reply]:
    return ACTIONS[name](turn, intent)


def choose(turn: Turn, value: str) -> list[Reply] | None:
    prefix, _, arg = value.partition(":")
    waiting = CONTACT_PENDING.get(turn.state.pending or "") if prefix == "contact" else None
    if waiting:
        turn.state.pending = None
        return waiting(turn, arg)
    handler = CHOICES.get(prefix)
    return handler(turn, arg) if handler else None


def intercept(turn: Turn, match: Match) -> list[Reply] | None:
    for interceptor in INTERCEPTORS:
        replies = interceptor(turn, match)
        if replies is not None:
            return replies
    return None


def before(turn: Turn) -> list[Reply] | None:
    for take in BEFORE:
        replies = take(turn)
        if replies is not None:
            return replies
    return None


def continue_pending(turn: Turn) -> list[Reply] | None:
    """The answer to a question the bot asked; None when the message is something else. A
    pending question may carry a value after a colon ('feedback:sim_check'): the handler
    finds it in `turn.extra["pending"]`."""
    name, _, value = (turn.state.pending or "").partition(":")
    handler = PENDING.get(name)
    turn.state.pending = None
    turn.extra["pending"] = value
    return handler(turn) if handler else None


def has_any(turn: Turn, words: list[str]) -> bool:
    """One of the words (or phrases) is in the message, as the normaliser folds both."""
    padded = f" {turn.normalised} "
    return any(f" {form} " in padded for form in turn.bot.matcher.normaliser.forms(words))


def is_one_of(turn: Turn, words: list[str]) -> bool:
    """The whole message is one of the words, as the normaliser folds both (`turn.normalised`
    is the normalised `turn.text`)."""
    return turn.normalised in turn.bot.matcher.normaliser.forms(words)
