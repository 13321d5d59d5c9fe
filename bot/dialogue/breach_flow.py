"""The "was I leaked?" conversation: the `breach_lookup` action of the `check_breach` intent.

An email in the message is looked up at once (through the one service chosen: HIBP or
XposedOrNot); "my number" looks up the person's own number as the channel verified it, in
the operator's imported lists; a number typed into the chat is refused, with the reason.
Otherwise the bot asks what to check and waits for the answer, unless the next message is
clearly something else (a pasted scam that carries a number, another question).

The report is short enough for a phone and in the person's language (`breach_report`): the
five most recent breaches with what they exposed, "and N more", then the steps that matter."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bot.breaches.lookup import Found, Result
from bot.content.load import Content, Intent
from bot.dialogue import breach_report as words
from bot.dialogue.messages import Option, Reply
from bot.dialogue.registry import CHOICES, PENDING, action, has_any
from bot.state.sqlite_store import DAY
from bot.understanding.normalise import EMAIL, URL
from bot.understanding.redact import PHONE

if TYPE_CHECKING:
    from bot.dialogue.turn import Turn

INTENT = "check_breach"
PENDING_KEY = "breach_target"
ANSWER_WORDS = 4  # a reply to "what should I check?" this short (besides the address) is an answer
# What the identifier itself says was exposed: its steps come with every report.
EXPOSED_BY_KIND = {"email": "Email addresses", "phone": "Phone numbers"}
LIMIT = 700  # characters of a report: the first screen of a phone
# (breaches listed, kinds of data named per breach, steps), fullest first: the first that fits.
LAYOUTS = ((5, 3, 3), (5, 3, 2), (5, 2, 2), (4, 2, 2), (3, 2, 2), (3, 1, 2), (2, 1, 1))


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
    options = bot.intent_options(turn, ["after_leak", "leak_news"])
    if kind == "email" and lookup.source is None:  # switched off: nothing is sent, nothing counted
        return [bot.reply(turn, content.text("breach_no_key", turn.lang), options)]
    refused = lookup.refused(turn.limit_key, kind, target)
    if refused:
        hours = str(max(1, round((DAY - time.time() % DAY) / 3600)))
        limit = lookup.limits.per_day if refused == "per_day" else lookup.limits.emails_per_day
        key = "breach_limit" if refused == "per_day" else "breach_limit_emails"
        return [bot.reply(turn, content.text(key, turn.lang, limit=str(limit), hours=hours))]
    shown = _masked_email(target) if kind == "email" else content.text("breach_your_number", turn.lang)
    if kind == "email" and lookup.asks_service():
        # The service may take seconds: not in the transaction, not on the event loop. The
        # channel runs this afterwards and sends the result, or "checking…" first if it is slow.
        turn.state.options = [o.value for o in options]
        turn.later = lambda: [bot.reply(turn, report(turn, lookup.email(target), shown, kind), options)]
        return [bot.reply(turn, content.text("breach_checking", turn.lang, target=shown), keep=True)]
    result = lookup.email(target) if kind == "email" else lookup.phone(target)
    return [bot.reply(turn, report(turn, result, shown, kind), options)]


def report(turn: Turn, result: Result, shown: str, kind: str) -> str:
    """The answer to a lookup: what was found (or not) and who checked, then the steps; as
    much as fits in a phone's first screen (LIMIT characters)."""
    content, lang = turn.bot.content, turn.lang
    if result.status in ("off", "busy", "unavailable", "paused"):
        return content.text("breach_no_key" if result.status == "off" else f"breach_{result.status}", lang)
    checked = [content.text(f"breach_checked_{result.source}", lang)] if result.source else []
    if not result.breaches:
        head = [content.text("breach_not_found", lang, target=shown), *checked]
        return "\n".join([*head, "", *_steps(content, lang, ["breach_step_general"])])
    found = sorted(result.breaches, key=words.sort_key)
    key = "breach_found_one" if len(found) == 1 else "breach_found"
    head = [content.text(key, lang, target=shown, count=str(len(found))), *checked]
    exposed = [EXPOSED_BY_KIND[kind], *(d for b in found for d in b.data)]
    steps = words.steps(content, exposed)
    steps += ["breach_step_general"] * (len(steps) < 2)  # two steps at least: the data may call for one
    text = ""
    for listed, kinds, stepped in LAYOUTS:  # the fullest that fits
        lines = [_line(content, lang, b, kind, kinds) for b in found[:listed]]
        if len(found) > listed:
            lines.append(content.text("breach_more", lang, count=str(len(found) - listed)))
        text = "\n".join([*head, *lines, "", *_steps(content, lang, steps[:stepped])])
        if len(text) <= LIMIT:
            break
    return text


def _steps(content: Content, lang: str, keys: list[str]) -> list[str]:
    return [content.text("breach_steps", lang), *(f"- {content.text(k, lang)}" for k in keys)]


def _line(content: Content, lang: str, breach: Found, kind: str, kinds: int) -> str:
    """One breach: its name, month and size, and the kinds of data it exposed besides the
    identifier's own (an email is in every breach an email is found in); a known incident of
    the catalogue in the person's language."""
    incident = content.catalogue.get(breach.slug)
    if incident:
        name = content.render(incident.name[lang], lang)
        data = [content.render(item, lang) for item in incident.data[lang]]
    else:
        own = {EXPOSED_BY_KIND[kind].casefold()}
        rest = [d for d in breach.data if d.casefold() not in own and d.strip()]
        name, data = breach.name, words.data_words(content, lang, rest or breach.data, kinds)
    details = [words.month_year(content, lang, breach.date)]
    if breach.records:
        size = words.in_words(content, lang, breach.records)
        details.append(content.text("breach_records", lang, count=size))
    comma = content.system.get("comma", {}).get(lang, ", ")
    shown_data, details_text = comma.join(data) or "?", comma.join(d for d in details if d)
    if details_text:
        return content.text("breach_line", lang, name=name, details=details_text, data=shown_data)
    return content.text("breach_line_bare", lang, name=name, data=shown_data)


def _masked_email(email: str) -> str:
    """a***@example.com: enough for the person to know which address, not for a log reader."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain.lower()}"


def _pending(turn: Turn) -> list[Reply] | None:
    """The answer to "what should I check?": an email, "my number", or a number typed in (which
    is refused). A message that is clearly something else goes its own way: a pasted message
    or a question of another intent, even if it carries a number (None)."""
    if not _is_answer(turn):
        return None
    return _act_on(turn, turn.bot.content.intents[INTENT])


def _is_answer(turn: Turn) -> bool:
    """Short (an address or a number with a few words), or matched to nothing else."""
    rest = PHONE.sub(" ", EMAIL.sub(" ", turn.text))
    if len(rest.split()) <= ANSWER_WORDS and not URL.search(rest):
        return True
    match = turn.bot.matcher.match(turn.text, turn.normalised)
    if match.intent not in (None, INTENT):
        return False
    return not turn.bot.scam_rules.check(turn.text).flags


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
