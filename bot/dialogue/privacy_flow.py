"""What the bot keeps about a person (`/privacy`), and deleting it on request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.content.load import Intent
from bot.dialogue import details_flow
from bot.dialogue.messages import Option, Reply
from bot.dialogue.registry import CHOICES, ON_DELETE, PENDING, action, has_any, is_one_of

if TYPE_CHECKING:
    from bot.dialogue.turn import Turn


@action("privacy")
def privacy(turn: Turn, intent: Intent) -> list[Reply]:
    if has_any(turn, intent.extra.get("delete_words", [])):
        return _confirm_delete(turn)
    # The retention the operator configured, not a number written in the text; the summary
    # first, the full statement on "More".
    text = turn.bot.content.answer(intent.id, turn.lang, turn.bot.values(turn.lang))
    return [turn.bot.reply(turn, text, details_flow.more_option(turn, intent) + _delete_button(turn))]


def _delete_button(turn: Turn) -> list[Option]:
    return [Option(turn.bot.content.text("delete_button", turn.lang), "delete:ask")]


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
        turn.bot.store.delete_user(turn.key, turn.tag)
        for forget in ON_DELETE:  # what other flows keep under the person's key
            forget(turn)
        turn.forget = True
        return [turn.bot.reply(turn, turn.bot.content.text("deleted", turn.lang))]
    if answer == "no":
        return [turn.bot.reply(turn, turn.bot.content.text("delete_kept", turn.lang))]
    return None


def _pending_delete(turn: Turn) -> list[Reply] | None:
    """Only a plain yes or no answers the question; anything else is a new message."""
    content = turn.bot.content
    if is_one_of(turn, content.words("yes_words")):
        return _choose_delete(turn, "yes")
    if is_one_of(turn, content.words("no_words")):
        return _choose_delete(turn, "no")
    return None


details_flow.FOLLOW_UPS["privacy"] = _delete_button
CHOICES["delete"] = _choose_delete
PENDING["confirm_delete"] = _pending_delete
