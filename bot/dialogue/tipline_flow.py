"""The tipline in the conversation (bot/dialogue/tipline.py): each pasted message filed under its
group, staff's verdict said first when they have checked it, and "tell me when staff confirm".

The offer is an option under a verdict on a message staff have not checked (its value names the
group, never the message); typing "tell me", "mujhe batana" or "مجھے بتائیں" picks it. Only then
is the person's chat address kept, encrypted under BOT_ALERTS_KEY, for `Retention.tell` at most;
"delete my data" erases it with their forwards."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.dialogue.kept import figures
from bot.dialogue.messages import Option, Reply
from bot.dialogue.registry import CHOICES, ON_DELETE, WORDED
from bot.dialogue.tipline import Filed

if TYPE_CHECKING:
    from bot.dialogue.turn import Turn
    from bot.understanding.scam import ScamVerdict

PREFIX = "tipline"  # option value "tipline:<group id>"
WORDS = "tipline_tell_words"
INTENT = "scam_check"
DELIVERS = ("telegram", "whatsapp")  # channels a follow-up can reach later


def file(turn: Turn, message: str, verdict: ScamVerdict) -> Filed | None:
    """Count the person in the group of a pasted message (in memory until the transaction
    commits with the message); None when the message has no group."""
    tipline = turn.bot.tipline
    if tipline is None:
        return None
    return tipline.file(message, verdict.verdict, turn.tag, turn.bot.scam_rules.spelling, bool(verdict.flags))


def confirmed_scam(turn: Turn, message: str) -> bool:
    """Staff confirmed the group of this message as a scam (read only: filing comes after)."""
    tipline = turn.bot.tipline
    group = tipline.lookup(message, turn.bot.scam_rules.spelling) if tipline else None
    return bool(group and group.staff == "scam")


def staff_said(turn: Turn, filed: Filed) -> str:
    """Staff's verdict on the group, with how many people reported it."""
    count = str(filed.group.people)
    return turn.bot.content.text(f"tipline_confirmed_{filed.verdict}", turn.lang, count=count)


def tell_option(turn: Turn, filed: Filed | None) -> list[Option]:
    """"Tell me when staff confirm", when staff have not checked the group and the person can
    be told later (a channel that delivers, in a private chat, with BOT_ALERTS_KEY set)."""
    if filed is None or filed.group.staff or filed.asked or not _can_tell(turn):
        return []
    return [_option(turn, filed.group.id)]


def carried(turn: Turn) -> list[Option]:
    """The offer made under the last verdict, kept under "why?"'s answer."""
    return [_option(turn, int(value.partition(":")[2])) for value in turn.state.options
            if value.startswith(f"{PREFIX}:") and value.partition(":")[2].isdigit()][:1]


def _option(turn: Turn, group: int) -> Option:
    return Option(turn.bot.content.text("tipline_tell_option", turn.lang), f"{PREFIX}:{group}")


def _can_tell(turn: Turn) -> bool:
    tipline = turn.bot.tipline
    return bool(tipline and tipline.can_tell and turn.msg.channel in DELIVERS and not turn.msg.group_link)


def _tell(turn: Turn, value: str) -> list[Reply] | None:
    """The person asked to be told about a group they forwarded."""
    turn.intent = INTENT
    bot, lang, tipline = turn.bot, turn.lang, turn.bot.tipline
    if not _can_tell(turn):
        return [bot.reply(turn, bot.content.text("tipline_tell_off", lang), keep=True)]
    assert tipline is not None
    group = tipline.store.get(int(value)) if value.isdigit() and len(value) < 12 else None
    if group is None or not tipline.store.reported(group.id, turn.tag):
        return [bot.reply(turn, bot.content.text("tipline_tell_unknown", lang), keep=True)]
    if group.staff:  # checked meanwhile: said now
        said = bot.content.text(f"tipline_confirmed_{group.staff}", lang, count=str(group.people))
        return [bot.reply(turn, said, keep=True)]
    tipline.ask(group.id, turn.tag, turn.msg.channel, turn.msg.user_id, lang)
    days = figures(bot.retention)["tell_days"]
    return [bot.reply(turn, bot.content.text("tipline_will_tell", lang, tell_days=days), keep=True)]


def forget(turn: Turn) -> None:
    """'Delete my data': the person's forwards and the address kept to tell them."""
    if turn.bot.tipline is not None:
        turn.bot.tipline.store.forget(turn.tag)


CHOICES[PREFIX] = _tell
WORDED[PREFIX] = WORDS
ON_DELETE.append(forget)
