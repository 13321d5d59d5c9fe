"""Intents that run code: an intent file names one of these by `action:`.

An action gets the turn and its intent and returns the replies. Option values that are
not intent ids ('lang:ur', 'delete:yes') are routed here by their prefix."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.content import Intent
from bot.messages import Option, Reply
from bot.normalise import LANGS
from bot.store import DAY

if TYPE_CHECKING:
    from bot.core import Turn
    from bot.matcher import Match

Action = Callable[["Turn", Intent], list[Reply]]
ACTIONS: dict[str, Action] = {}
CHOICES: dict[str, Callable[[Turn, str], list[Reply] | None]] = {}
PENDING: dict[str, Callable[[Turn], list[Reply] | None]] = {}
# Run after matching, before the answer: each may take the message over (a pasted scam).
INTERCEPTORS: list[Callable[[Turn, Match], list[Reply] | None]] = []


def action(name: str) -> Callable[[Action], Action]:
    def register(func: Action) -> Action:
        ACTIONS[name] = func
        return func

    return register


def run(name: str, turn: Turn, intent: Intent) -> list[Reply]:
    return ACTIONS[name](turn, intent)


def choose(turn: Turn, value: str) -> list[Reply] | None:
    prefix, _, arg = value.partition(":")
    handler = CHOICES.get(prefix)
    return handler(turn, arg) if handler else None


def intercept(turn: Turn, match: Match) -> list[Reply] | None:
    for interceptor in INTERCEPTORS:
        replies = interceptor(turn, match)
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
    normaliser = turn.bot.matcher.normaliser
    padded = f" {turn.normalised} "
    return any(f" {normaliser.normalise(w)} " in padded for w in words)


def _is_one_of(turn: Turn, words: list[str]) -> bool:
    normalise = turn.bot.matcher.normaliser.normalise
    return normalise(turn.text) in {normalise(w) for w in words}


# --- language ---
@action("set_language")
def set_language(turn: Turn, intent: Intent) -> list[Reply]:
    targets = intent.extra.get("targets", {})
    negations = intent.extra.get("negations", [])
    named = {t for words in targets.values() for w in words for t in _tokens(turn, w)}
    for lang in ("roman_ur", "ur", "en"):  # "roman urdu" names Urdu too: Roman Urdu first
        if _named_not_negated(turn, targets.get(lang, []), negations, named):
            return _switch_language(turn, lang)
    names = turn.bot.content.system["language_names"]
    options = [Option(names[lang], f"lang:{lang}") for lang in LANGS]
    return [turn.bot.reply(turn, turn.bot.content.answer(intent.id, turn.lang), options)]


def _tokens(turn: Turn, text: str) -> list[str]:
    return turn.bot.matcher.normaliser.normalise(text).split()


def _named_not_negated(turn: Turn, words: list[str], negations: dict[str, list[str]],
                       named: set[str]) -> bool:
    """One of `words` is in the message and not negated ("not urdu" before it, "urdu nahi"
    after it): "i don't read urdu, english please" asks for English. A negation before
    another language's name does not reach past it."""
    tokens = _tokens(turn, turn.text)
    before = {t for n in negations.get("before", []) for t in _tokens(turn, n)}
    after = {t for n in negations.get("after", []) for t in _tokens(turn, n)}
    for word in (_tokens(turn, w) for w in words):
        for start in range(len(tokens) - len(word) + 1):
            end = start + len(word)
            if tokens[start:end] != word:
                continue
            window = tokens[max(0, start - 3):start]
            cut = max((i + 1 for i, t in enumerate(window) if t in named), default=0)
            if not (before.intersection(window[cut:]) or after.intersection(tokens[end:end + 2])):
                return True
    return False


def _switch_language(turn: Turn, lang: str) -> list[Reply]:
    turn.lang = lang
    turn.state.lang, turn.state.pinned = lang, True
    return [turn.bot.reply(turn, turn.bot.content.text("language_set", lang))]


CHOICES["lang"] = lambda turn, lang: _switch_language(turn, lang) if lang in LANGS else None


# --- what the bot keeps, and deleting it ---
@action("privacy")
def privacy(turn: Turn, intent: Intent) -> list[Reply]:
    if has_any(turn, intent.extra.get("delete_words", [])):
        return _confirm_delete(turn)
    content = turn.bot.content
    button = Option(content.text("delete_button", turn.lang), "delete:ask")
    # The retention the operator configured, not a number written in the text.
    kept = turn.bot.retention
    days = {f"{name}_days": str(getattr(kept, name) // DAY) for name in ("state", "seen", "misses")}
    return [turn.bot.reply(turn, content.answer(intent.id, turn.lang).format(**days), [button])]


def _confirm_delete(turn: Turn) -> list[Reply]:
    content = turn.bot.content
    options = [
        Option(content.text("delete_yes", turn.lang), "delete:yes"),
        Option(content.text("delete_no", turn.lang), "delete:no"),
    ]
    reply = turn.bot.reply(turn, content.text("delete_confirm", turn.lang), options)
    turn.state.pending = "confirm_delete"
    return [reply]


def _choose_delete(turn: Turn, answer: str) -> list[Reply] | None:
    turn.intent = "bot_privacy"
    if answer == "ask":
        return _confirm_delete(turn)
    if answer == "yes":
        turn.bot.store.delete_user(turn.key)
        turn.forget = True
        return [turn.bot.reply(turn, turn.bot.content.text("deleted", turn.lang))]
    if answer == "no":
        return [turn.bot.reply(turn, turn.bot.content.text("delete_kept", turn.lang))]
    return None


def _pending_delete(turn: Turn) -> list[Reply] | None:
    """Only a plain yes or no answers the question; anything else is a new message."""
    content = turn.bot.content
    if _is_one_of(turn, content.words("yes_words")):
        return _choose_delete(turn, "yes")
    if _is_one_of(turn, content.words("no_words")):
        return _choose_delete(turn, "no")
    return None


CHOICES["delete"] = _choose_delete
PENDING["confirm_delete"] = _pending_delete


# Actions that live in modules of their own register themselves on import.
from bot import breach_flow, feedback_flow, scam_flow  # noqa: E402, F401
