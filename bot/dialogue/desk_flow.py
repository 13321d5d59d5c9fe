"""The desk, as a conversation: "talk to a real person" hands the chat to helpline staff, when
an organisation runs a desk (STAFF_TELEGRAM_CHAT_ID). Without one, human_help answers with the
numbers to call, as its intent file says.

1. Asking first: the bot says what staff will see and for how long, and the desk's hours, and
   asks. Nothing is opened before a yes (the question that led here waits, masked, in the
   person's pending question until the answer).
2. Yes opens a case: a topic in the staff group with an opening note (language, the question
   masked, the time). From then on the person's messages go there, masked (CNIC, card
   numbers, codes, passwords, phone numbers, names given outright); a picture never goes, only
   the text read in it, masked, with a note (a screenshot can hold a face, a name or a number
   that no reading finds); other attachments do not go.
3. Staff replies come back through `from_staff`; each is relayed to the person.
4. "end chat" (a button too), /close in the topic, or the topic closed in the app ends the case;
   "delete my data" ends it and erases it, with its topic. No staff reply in N minutes: the
   person is told, with numbers to call meanwhile (`due_waits`).

Buttons and commands stay the bot's during a case (/privacy, /delete); typed words and pictures
go to staff."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from bot.config import keyed
from bot.content.load import Intent
from bot.dialogue.desk import WINDOWS, Relay, StaffMessage, StaffPost, StaffResult, local_time
from bot.dialogue.messages import Option, Reply
from bot.dialogue.registry import BEFORE, CHOICES, ON_DELETE, PENDING, action, has_any, is_one_of
from bot.state.cases import Case
from bot.understanding.normalise import DIGITS
from bot.understanding.redact import PASSWORD, find_sensitive, redact

if TYPE_CHECKING:
    from bot.dialogue.turn import BotApi as Bot
    from bot.dialogue.turn import Turn

CONFIRM = "desk_confirm"  # the pending question: "desk_confirm:<intent>|<question, masked>"
PRIVACY = "bot_privacy"  # the intent whose delete words end a case too (after the usual "sure?")
QUESTION_MAX = 300  # characters of the earlier question kept for the opening note
SHOWN_MAX = 1000  # characters of text read in a picture passed on


def mask(text: str) -> str:
    """What staff may see of a text: passwords, then everything `redact` masks (emails, links,
    CNICs, phone numbers, names and addresses given outright, any run of four or more digits:
    card numbers and codes among them)."""
    return redact(PASSWORD.sub("<password>", text)).strip()


@action("desk")
def desk(turn: Turn, intent: Intent) -> list[Reply]:
    """human_help: with a desk, offer staff; without one (or in a group), the numbers to call."""
    bot = turn.bot
    if bot.desk is None or turn.msg.group_link:
        return bot.plain_answer(turn, intent)
    case = bot.desk.live(turn.key)
    if case is not None:
        return _already(turn, case)
    question = "" if turn.msg.choice else mask(turn.text)[:QUESTION_MAX]
    text = bot.content.text("desk_offer", turn.lang, hours=_hours(turn.bot, turn.lang),
                            days=str(bot.retention.cases // 86400))
    options = [Option(bot.content.text("desk_yes_button", turn.lang), "desk:yes"),
               Option(bot.content.text("desk_no_button", turn.lang), "desk:no")]
    turn.state.pending = f"{CONFIRM}:{intent.id}|{question}"
    return [bot.reply(turn, text, options)]


def _hours(bot: Bot, lang: str) -> str:
    """When staff are in, and a word if they are not in now."""
    desk, content = bot.desk, bot.content
    assert desk is not None
    if desk.config.hours is None:
        return content.text("desk_hours_unset", lang)
    start, end = (t.strftime("%H:%M") for t in desk.config.hours)
    line = content.text("desk_hours", lang, start=start, end=end)
    return line if desk.staff_in() else f"{line} {content.text('desk_out_now', lang)}"


def _end_option(turn: Turn) -> Option:
    return Option(turn.bot.content.text("desk_end_button", turn.lang), "desk:end")


def _offered(turn: Turn) -> str:
    """The offer's "<intent>|<question>", while it is the pending question (a button's answer)."""
    name, _, value = (turn.state.pending or "").partition(":")
    return value if name == CONFIRM else ""


def _open(turn: Turn, offered: str) -> list[Reply]:
    bot, desk, lang = turn.bot, turn.bot.desk, turn.lang
    assert desk is not None
    about, _, question = offered.partition("|")
    about = about if about in bot.content.intents else "human_help"
    turn.state.pending = None
    turn.intent = "desk_open"
    case = desk.live(turn.key)
    if case is not None:  # a second yes
        return _already(turn, case)
    now = desk.clock()
    address = desk.seal(turn.msg.user_id)  # a private chat's id is its person's id
    number = desk.cases.open(desk.ref(turn.key), turn.msg.channel, address, lang, about, now)
    staff = desk.config.staff_lang
    names = bot.content.system.get("language_names", {})
    title = staff_text(bot, "desk_topic", case=str(number), language=names.get(lang, lang),
                       about=bot.content.title(about, staff))
    note = staff_text(bot, "desk_note", case=str(number), time=local_time(now),
                      language=names.get(lang, lang), question=question or "-")
    turn.staff.append(StaffPost(number, "open", note, title=title[:128]))
    text = bot.content.text("desk_opened", lang, case=str(number))
    return [bot.reply(turn, text, [_end_option(turn)])]


def _already(turn: Turn, case: Case) -> list[Reply]:
    text = turn.bot.content.text("desk_already", turn.lang, case=str(case.number))
    return [turn.bot.reply(turn, text, [_end_option(turn)])]


def _declined(turn: Turn, offered: str) -> list[Reply]:
    about = offered.partition("|")[0]
    turn.state.pending = None
    intent = turn.bot.content.intents.get(about) or turn.bot.content.intents["human_help"]
    turn.intent = intent.id
    return turn.bot.plain_answer(turn, intent)


def _choose(turn: Turn, value: str) -> list[Reply] | None:
    bot = turn.bot
    if bot.desk is None or turn.msg.group_link:
        return None
    if value == "yes":
        return _open(turn, _offered(turn))
    if value == "no":
        return _declined(turn, _offered(turn))
    if value == "end":
        case = bot.desk.live(turn.key)
        if case is None:
            turn.intent = "desk_end"
            return [bot.reply(turn, bot.content.text("desk_ended_already", turn.lang))]
        return _end(turn, case)
    return None


def _pending_confirm(turn: Turn) -> list[Reply] | None:
    """Only a plain yes or no answers the offer; anything else is a new message."""
    content, offered = turn.bot.content, turn.extra.get("pending", "")
    if turn.bot.desk is None:
        return None
    if is_one_of(turn, content.words("yes_words")):
        return _open(turn, offered)
    if is_one_of(turn, content.words("no_words")):
        return _declined(turn, offered)
    return None


# --- while a case is open ---
def take(turn: Turn) -> list[Reply] | None:
    """The person's typed words and pictures go to staff while their case is open; buttons and
    commands, "end chat" and "delete my data" stay the bot's."""
    desk = turn.bot.desk
    if desk is None or turn.msg.group_link or turn.msg.choice or turn.msg.shared_contact:
        return None
    case = desk.live(turn.key)
    if case is None or (turn.state.pending or "").startswith("confirm_delete"):
        return None
    if is_one_of(turn, turn.bot.content.words("desk_end_words")):
        return _end(turn, case)
    if _asks_to_delete(turn) or _picks_option(turn):
        return None
    return _relay(turn, case)


def _picks_option(turn: Turn) -> bool:
    """A bare number that picks one of the options just offered ("1": End chat); any other
    number is something said to staff."""
    number = turn.text.strip().translate(DIGITS)
    return number.isdecimal() and 0 < int(number) <= len(turn.state.options)


def _asks_to_delete(turn: Turn) -> bool:
    intent = turn.bot.content.intents.get(PRIVACY)
    if intent is None or not has_any(turn, intent.extra.get("delete_words", [])):
        return False
    return turn.bot.matcher.match(turn.text, turn.normalised).intent == PRIVACY


def _relay(turn: Turn, case: Case) -> list[Reply]:
    bot, desk = turn.bot, turn.bot.desk
    assert desk is not None
    turn.intent = "desk"
    turn.lang = case.lang  # the case's language, whatever this message is written in
    replies = [bot.reply(turn, bot.content.text("desk_staff_says", case.lang, text=text), keep=True)
               for text in desk.held(case)]  # staff replies that waited for WhatsApp's window
    if replies:
        desk.cases.hold(case.number, None)
    turn.state.options = []  # past options are stale now: a number is said to staff
    passed, note = _for_staff(turn)
    if passed:
        turn.staff.append(StaffPost(case.number, "text", passed, topic=case.topic))
        desk.cases.person_wrote(case.number, desk.clock())
    if note is not None:
        replies.append(note)
    return replies


def _for_staff(turn: Turn) -> tuple[str, Reply | None]:
    """What goes to staff of this message, and a word for the person if something was held back."""
    bot, msg, lang = turn.bot, turn.msg, turn.lang
    caption = mask(turn.text)
    if msg.media == "image":
        read = mask(" ".join(msg.media_text.split()))[:SHOWN_MAX] if not msg.media_problem else ""
        picture = (staff_text(bot, "desk_staff_picture", text=read) if read
                   else staff_text(bot, "desk_staff_picture_empty"))
        note = bot.reply(turn, bot.content.text("desk_picture", lang), keep=True)
        return "\n".join(p for p in (picture, caption) if p), _sensitive(note, msg.media_text + turn.text)
    if msg.media:
        note = bot.reply(turn, bot.content.text("desk_media", lang), keep=True)
        return "\n".join(p for p in (staff_text(bot, "desk_staff_media"), caption) if p), note
    if not caption:
        return "", None
    kind = find_sensitive(turn.text)
    if kind is None:
        return caption, None
    return caption, _sensitive(bot.reply(turn, bot.content.text("desk_masked", lang), keep=True), turn.text)


def _sensitive(reply: Reply, text: str) -> Reply:
    """As for any secret sent: the channel deletes the person's message (Telegram)."""
    kind = find_sensitive(text)
    return replace(reply, meta={**reply.meta, "sensitive": kind}) if kind else reply


def _end(turn: Turn, case: Case) -> list[Reply]:
    bot, desk = turn.bot, turn.bot.desk
    assert desk is not None
    turn.intent, turn.lang = "desk_end", case.lang
    desk.cases.close(case.number, desk.clock())
    turn.staff.append(StaffPost(case.number, "close", staff_text(bot, "desk_staff_closed_by_person"),
                                topic=case.topic))
    return [bot.reply(turn, bot.content.text("desk_closed_you", case.lang, case=str(case.number)))]


def forget(turn: Turn) -> None:
    """'Delete my data': the person's cases end and go, with their topics in the staff group."""
    desk = turn.bot.desk
    if desk is None:
        return
    for case in desk.cases.of_person(desk.ref(turn.key)):
        desk.cases.erase(case)
        turn.staff.append(StaffPost(case.number, "erase", topic=case.topic))


# --- the staff side: replies, the clock, the channel's failures ---
def staff_text(bot: Bot, key: str, **values: str) -> str:
    """One of the bot's notes to staff, in the staff's language."""
    lang = bot.desk.config.staff_lang if bot.desk else "en"
    return bot.content.text(key, lang, **values)


def _result(bot: Bot, case: Case, replies: list[Reply], posts: list[StaffPost] | None = None,
            template: bool = False) -> StaffResult:
    """Replies for the person of `case`, with notes for staff; an address that cannot be read
    (encrypted under a key no longer given) is said to staff instead."""
    address = bot.desk.unseal(case.address) if bot.desk else None
    if address is None:
        return StaffResult(posts=[*(posts or []), _note(bot, case, "desk_staff_undelivered")])
    if not template and _window_passed(bot, case):  # free text would be refused: say so, send nothing
        return StaffResult(posts=[*(posts or []), _note(bot, case, "desk_staff_window_passed")])
    return StaffResult(Relay(case.number, case.channel, address, case.lang, replies, template), posts or [])


def _window_passed(bot: Bot, case: Case) -> bool:
    """The person's channel takes only a template now (WhatsApp, a day after their last message)."""
    window = WINDOWS.get(case.channel)
    return bool(window and bot.desk and bot.desk.clock() - (case.last_person or case.opened) > window)


def from_staff(bot: Bot, msg: StaffMessage) -> StaffResult | None:
    """A staff member's message in a topic: relayed to the person of its case, or the case
    closed. None for an update seen before; an empty result for a topic that is no case's."""
    desk = bot.desk
    if desk is None:
        return StaffResult()
    with bot.store.transaction():
        if not bot.store.first_delivery(keyed(bot.secret, "desk", "staff", msg.message_id)):
            return None
        case = desk.cases.by_topic(msg.topic)
        if case is None:
            return StaffResult()
        if not case.is_open:
            return StaffResult(posts=[] if msg.close else [_note(bot, case, "desk_staff_case_closed")])
        now = desk.clock()
        if msg.close:
            desk.cases.close(case.number, now)
            closing = bot.content.text("desk_closed_staff", case.lang, case=str(case.number))
            said = Reply(closing, lang=case.lang, intent="desk_end")
            kind = "text" if msg.closed_in_app else "close"
            closed = StaffPost(case.number, kind, staff_text(bot, "desk_staff_closed"), topic=case.topic)
            return _result(bot, case, [said], [closed])
        if msg.other or not msg.text.strip():
            return StaffResult(posts=[_note(bot, case, "desk_staff_text_only")])
        desk.cases.staff_wrote(case, now)
        if _window_passed(bot, case):  # only a template may go now; the reply waits for the person
            desk.cases.hold(case.number, desk.seal_held([*desk.held(case), msg.text]))
            return _result(bot, case, [], template=True)
        text = bot.content.text("desk_staff_says", case.lang, text=msg.text)
        said = Reply(text, lang=case.lang, intent="desk")
        return _result(bot, case, [said])


def _note(bot: Bot, case: Case, key: str, **values: str) -> StaffPost:
    return StaffPost(case.number, "text", staff_text(bot, key, **values), topic=case.topic)


def due_waits(bot: Bot) -> list[StaffResult]:
    """People who have waited over the desk's wait for a staff reply: told once per wait, with
    numbers to call meanwhile (each wait claimed, so that two workers tell it once)."""
    desk = bot.desk
    if desk is None:
        return []
    now = desk.clock()
    results = []
    for case in desk.cases.due_waits(now - desk.config.wait_minutes * 60):
        if case.waiting is None or not desk.cases.claim_wait(case):
            continue
        minutes = str(max(1, round((now - case.waiting) / 60)))
        text = bot.content.text("desk_waiting", case.lang, minutes=minutes, hours=_hours(bot, case.lang))
        said = Reply(text, lang=case.lang, intent="desk_wait")
        results.append(_result(bot, case, [said], [_note(bot, case, "desk_staff_waited", minutes=minutes)]))
    return results


def expired(bot: Bot) -> list[Case]:
    """Closed cases past the retention, still tied to their person and topic."""
    if bot.desk is None:
        return []
    return bot.desk.cases.expired(bot.desk.clock() - bot.retention.cases)


def not_posted(bot: Bot, post: StaffPost, lang: str) -> list[Reply]:
    """The staff group did not take a post: what to tell the person. A case whose topic could
    not be made is closed at once, so that nothing goes nowhere."""
    if post.kind == "open" and bot.desk is not None:
        with bot.store.transaction():
            bot.desk.cases.close(post.case, bot.desk.clock())
        return [Reply(bot.content.text("desk_unreachable", lang), lang=lang, intent="desk_open")]
    if post.kind == "text":
        return [Reply(bot.content.text("desk_not_passed", lang), lang=lang, intent="desk")]
    return []


CHOICES["desk"] = _choose
PENDING[CONFIRM] = _pending_confirm
BEFORE.append(take)
ON_DELETE.append(forget)
