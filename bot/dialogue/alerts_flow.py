"""Breach alerts: the `breach_alerts` action ("notify me if my number leaks", "stop alerts",
Telegram's /alerts).

Only the person's own number, as the channel vouches for it, can be subscribed: on WhatsApp
the sender, on Telegram a shared contact whose `user_id` is the sender's. One confirmation
(WhatsApp: yes; Telegram: sharing the contact is it), then a reply that says exactly what is
kept. "Stop alerts" and "delete my data" end the subscription at once."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bot.breaches.alerts import AlertsOff
from bot.content.load import Intent
from bot.dialogue.messages import Option, Reply
from bot.dialogue.registry import CHOICES, CONTACT_PENDING, ON_DELETE, PENDING, action, has_any, is_one_of

if TYPE_CHECKING:
    from bot.dialogue.turn import Turn

INTENT = "breach_alerts"
# Channels that can deliver an alert later, with the name the confirmation uses.
DELIVERS = {"telegram": "Telegram", "whatsapp": "WhatsApp"}
CONFIRM, CONTACT = "alerts_confirm", "alerts_contact"


@action("breach_alerts")
def breach_alerts(turn: Turn, intent: Intent) -> list[Reply]:
    if has_any(turn, intent.extra.get("stop_words", [])):
        return _stop(turn)
    return _start(turn)


def text(turn: Turn, key: str, **values: str) -> str:
    """One of the flow's own texts (`texts:` in intents/breach_alerts.yaml)."""
    content = turn.bot.content
    template = content.render(content.intents[INTENT].extra["texts"][key][turn.lang])
    return template.format(**values) if values else template


def _start(turn: Turn) -> list[Reply]:
    alerts = turn.bot.alerts
    if alerts is None or not alerts.enabled:
        return [turn.bot.reply(turn, text(turn, "unavailable"))]
    if turn.msg.channel not in DELIVERS:
        return [turn.bot.reply(turn, text(turn, "no_channel"))]
    until = alerts.renew(turn.key, turn.lang)
    if until is not None:
        return [turn.bot.reply(turn, text(turn, "renewed", until=_date(until)), [_stop_option(turn)])]
    about = turn.bot.content.answer(INTENT, turn.lang)
    if turn.msg.verified_phone:  # WhatsApp: the sender is the number; ask once
        options = [Option(text(turn, f"{answer}_button"), f"alerts:{answer}") for answer in ("yes", "no")]
        reply = turn.bot.reply(turn, f"{about}\n\n{text(turn, 'confirm')}", options)
        turn.state.pending = CONFIRM
        return [reply]
    if turn.msg.can_share_contact:  # Telegram: sharing one's own contact is the confirmation
        turn.state.pending = CONTACT
        return [turn.bot.reply(turn, f"{about}\n\n{text(turn, 'share_contact')}",
                               ask_contact=text(turn, "share_button"))]
    return [turn.bot.reply(turn, text(turn, "no_channel"))]


def _subscribe(turn: Turn) -> list[Reply]:
    turn.intent = INTENT
    alerts, phone = turn.bot.alerts, turn.msg.verified_phone
    if alerts is None or not phone or turn.msg.channel not in DELIVERS:
        return _start(turn)
    try:
        until = alerts.subscribe(turn.key, turn.msg.channel, turn.msg.user_id, phone, turn.lang)
    except (AlertsOff, ValueError):  # no key, or a contact whose number is not a phone number
        return [turn.bot.reply(turn, text(turn, "unavailable"))]
    kept = text(turn, "subscribed", until=_date(until), channel=DELIVERS[turn.msg.channel])
    return [turn.bot.reply(turn, kept, [_stop_option(turn)])]


def _stop(turn: Turn) -> list[Reply]:
    turn.intent = INTENT
    alerts = turn.bot.alerts
    stopped = alerts is not None and alerts.unsubscribe(turn.key)
    return [turn.bot.reply(turn, text(turn, "stopped" if stopped else "none"))]


def _stop_option(turn: Turn) -> Option:
    return Option(text(turn, "stop_button"), "alerts:stop")


def _date(when: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(when))


def _choose(turn: Turn, value: str) -> list[Reply] | None:
    turn.intent = INTENT
    if value == "yes":
        return _subscribe(turn)
    if value == "no":
        return [turn.bot.reply(turn, text(turn, "declined"))]
    if value == "stop":
        return _stop(turn)
    return None


def _pending_confirm(turn: Turn) -> list[Reply] | None:
    """Only a plain yes or no answers the question; anything else is a new message."""
    content = turn.bot.content
    if is_one_of(turn, content.words("yes_words")):
        return _choose(turn, "yes")
    if is_one_of(turn, content.words("no_words")):
        return _choose(turn, "no")
    return None


def _contact(turn: Turn, whose: str) -> list[Reply] | None:
    """The contact asked for: one's own subscribes; anyone else's is refused, and asked again."""
    turn.intent = INTENT
    if whose == "own" and turn.msg.verified_phone:
        return _subscribe(turn)
    turn.state.pending = CONTACT
    return [turn.bot.reply(turn, text(turn, "not_yours"), ask_contact=text(turn, "share_button"))]


def forget(turn: Turn) -> None:
    """'Delete my data': the subscription goes with the rest."""
    if turn.bot.alerts is not None:
        turn.bot.alerts.unsubscribe(turn.key)


CHOICES["alerts"] = _choose
PENDING[CONFIRM] = _pending_confirm
CONTACT_PENDING[CONTACT] = _contact
ON_DELETE.append(forget)
