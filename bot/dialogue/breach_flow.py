"""The "was I leaked?" conversation: the `breach_lookup` action of the `check_breach` intent.

An email in the message is looked up at once; "my number" looks up the person's own number
as the channel verified it; a number typed into the chat is refused, with the reason.
Otherwise the bot asks what to check and waits for the answer."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bot.breaches.lookup import Found, Result
from bot.content.load import Content, Intent
from bot.dialogue.messages import Option, Reply
from bot.dialogue.registry import CHOICES, PENDING, action, has_any
from bot.state.sqlite_store import DAY
from bot.understanding.normalise import EMAIL
from bot.understanding.redact import PHONE

if TYPE_CHECKING:
    from bot.dialogue.core import Turn

INTENT = "check_breach"
PENDING_KEY = "breach_target"


@action("breach_lookup")
def breach_lookup(turn: Turn, intent: Intent) -> list[Reply]:
    return _act_on(turn, intent) or _ask(turn)


def _act_on(turn: Turn, intent: Intent) -> list[Reply] | None:
    """Run the lookup the message asks for, or refuse it; None when it names no target."""
    email = EMAIL.search(turn.text)
    if email:
        return _lookup(turn, "email", email.group())
    if PHONE.search(turn.text):
        return [turn.bot.reply(turn, turn.bot.content.text("breach_typed_number", turn.lang),
                               _phone_options(turn))]
    if has_any(turn, intent.extra.get("phone_words", [])):
        return _phone(turn)
    return None


def _ask(turn: Turn) -> list[Reply]:
    content = turn.bot.content
    reply = turn.bot.reply(turn, content.text("breach_ask", turn.lang), _phone_options(turn),
                           **_contact_button(turn))
    turn.state.pending = PENDING_KEY
    return [reply]


def _phone_options(turn: Turn) -> list[Option]:
    if not turn.msg.verified_phone:
        return []
    return [Option(turn.bot.content.text("breach_my_number", turn.lang), "breach:phone")]


def _contact_button(turn: Turn) -> dict[str, str]:
    """Where the channel can share a verified contact (Telegram), ask for it with a button."""
    if turn.msg.verified_phone or not turn.msg.can_share_contact:
        return {}
    return {"ask_contact": turn.bot.content.text("breach_share_contact", turn.lang)}


def _phone(turn: Turn) -> list[Reply]:
    phone = turn.msg.verified_phone
    if not phone:
        text = turn.bot.content.text("breach_no_verified_number", turn.lang)
        turn.state.pending = PENDING_KEY  # an email may still follow
        return [turn.bot.reply(turn, text, **_contact_button(turn))]
    return _lookup(turn, "phone", phone)


def _lookup(turn: Turn, kind: str, target: str) -> list[Reply]:
    bot, content = turn.bot, turn.bot.content
    turn.intent = INTENT
    lookup = bot.lookup
    refused = lookup.refused(turn.limit_key, kind, target)
    if refused:
        hours = str(max(1, round((DAY - time.time() % DAY) / 3600)))
        limit = lookup.limits.per_day if refused == "per_day" else lookup.limits.emails_per_day
        key = "breach_limit" if refused == "per_day" else "breach_limit_emails"
        return [bot.reply(turn, content.text(key, turn.lang, limit=str(limit), hours=hours))]
    shown = _masked_email(target) if kind == "email" else content.text("breach_your_number", turn.lang)
    options = bot.intent_options(turn, ["after_leak", "leak_news"])
    if kind == "email" and lookup.asks_hibp():
        # HIBP may take seconds: not in the transaction, not on the event loop. The channel
        # runs this afterwards and sends the result, or "checking…" first if it is slow.
        turn.state.options = [o.value for o in options]
        turn.later = lambda: [bot.reply(turn, _report(turn, lookup.email(target), shown), options)]
        return [bot.reply(turn, content.text("breach_checking", turn.lang, target=shown), keep=True)]
    result = lookup.email(target) if kind == "email" else lookup.phone(target)
    return [bot.reply(turn, _report(turn, result, shown), options)]


def _report(turn: Turn, result: Result, shown: str) -> str:
    content, lang = turn.bot.content, turn.lang
    if result.status in ("no_key", "unavailable", "paused") and not result.breaches:
        return content.text(f"breach_{result.status}", lang)
    if result.breaches:
        lines = [content.text("breach_found", lang, target=shown, count=str(len(result.breaches)))]
        lines += [_line(content, lang, b) for b in result.breaches]
        if result.status != "found":  # HIBP could not be asked: say so under what the index found
            lines.append(content.text(f"breach_{result.status}", lang))
        head = "\n".join(lines)
    else:
        head = content.text("breach_not_found", lang, target=shown)
    return f"{head}\n\n{content.answer('after_leak', lang)}"


def _line(content: Content, lang: str, breach: Found) -> str:
    """One breach; a known incident of the catalogue in the person's language."""
    incident = content.catalogue.get(breach.slug)
    name, data = breach.name, list(breach.data)
    if incident:
        name = content.render(incident.name[lang], lang)
        data = [content.render(item, lang) for item in incident.data[lang]]
    comma = content.system.get("comma", {}).get(lang, ", ")
    return content.text("breach_line", lang, name=name, date=breach.date or "?", data=comma.join(data) or "?")


def _masked_email(email: str) -> str:
    """a***@example.com: enough for the person to know which address, not for a log reader."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain.lower()}"


def _pending(turn: Turn) -> list[Reply] | None:
    """The answer to "what should I check?": an email, "my number", or something else."""
    intent = turn.bot.content.intents[INTENT]
    return _act_on(turn, intent)


def _choose(turn: Turn, value: str) -> list[Reply] | None:
    if value == "phone":
        turn.intent = INTENT
        return _phone(turn)
    return None


def _contact(turn: Turn, whose: str) -> list[Reply] | None:
    """A contact shared on Telegram: the person's own is checked, anyone else's refused."""
    turn.intent = INTENT
    if whose == "own" and turn.msg.verified_phone:
        return _phone(turn)
    return [turn.bot.reply(turn, turn.bot.content.text("breach_contact_not_yours", turn.lang),
                           **_contact_button(turn))]


PENDING[PENDING_KEY] = _pending
CHOICES["breach"] = _choose
CHOICES["contact"] = _contact
