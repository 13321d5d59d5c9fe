"""The greeting: "Wa alaikum assalam" answers a salaam, and only a salaam ("hi" gets a plain
welcome). The words that make a salaam are the greeting intent's `salaam_words`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.content.load import Intent
from bot.dialogue.messages import Reply
from bot.dialogue.registry import action, has_any

if TYPE_CHECKING:
    from bot.dialogue.turn import Turn


@action("greet")
def greet(turn: Turn, intent: Intent) -> list[Reply]:
    bot, lang = turn.bot, turn.lang
    text = bot.content.answer(intent.id, lang, bot.values(lang))
    if has_any(turn, intent.extra.get("salaam_words", [])):
        text = f"{bot.content.text('salaam_reply', lang)} {text}"
    return [bot.reply(turn, text, bot.intent_options(turn, intent.options))]
