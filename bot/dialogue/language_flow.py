"""Changing the reply language: "urdu mein jawab do", or a language button."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.content.load import Intent
from bot.dialogue.messages import Option, Reply
from bot.dialogue.registry import CHOICES, action
from bot.understanding.normalise import LANGS

if TYPE_CHECKING:
    from bot.dialogue.turn import Turn


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
