"""WhatsApp through Twilio: a signed form POST in, TwiML out.

Options become a numbered list; "1" in the next message picks option 1 (the core keeps
the options offered last). The sender's own number is passed on as channel-verified, and
only a `whatsapp:` sender's. A slow lookup's result goes out later through Twilio's
Messages API (`TWILIO_ACCOUNT_SID`, `TWILIO_WHATSAPP_FROM`); without them it is waited for.

Twilio's signature is over the URL and the form's names and values run together without
separators, so a boundary between them can be moved and the signature still holds
(`MessageSid=SMx` + `NumMedia=0` signs as `MessageSid=SMxNumMedia0`). Every field whose
format Twilio fixes is therefore checked against it: a moved boundary breaks one."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from xml.sax.saxutils import escape

from twilio.request_validator import RequestValidator

from bot.channels.desk import TelegramDesk
from bot.channels.followups import settle
from bot.channels.media import MediaReader
from bot.channels.render import numbered, split
from bot.channels.twilio_api import TwilioApi
from bot.dialogue.core import Bot, Outcome
from bot.dialogue.messages import Incoming, Reply
from bot.ops.work_queue import WorkQueue

CHANNEL = "whatsapp"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
MAX_MESSAGE = 1600
# Characters XML 1.0 forbids; ElementTree writes them as they are, and Twilio refuses the
# TwiML. They reach a reply when the scam check quotes a forwarded message back.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Twilio's formats: a message SID (SM, or MM with media), an account SID, a WhatsApp address.
MESSAGE_SID = re.compile(r"(?:SM|MM)[0-9a-f]{32}")
ACCOUNT_SID = re.compile(r"AC[0-9a-f]{32}")
WHATSAPP_SENDER = re.compile(r"whatsapp:\+[1-9][0-9]{6,14}")
FORMATS = {"MessageSid": MESSAGE_SID, "SmsMessageSid": MESSAGE_SID, "SmsSid": MESSAGE_SID,
           "AccountSid": ACCOUNT_SID, "NumMedia": re.compile(r"[0-9]{1,2}"),
           "ApiVersion": re.compile(r"2010-04-01")}


class BadForm(ValueError):
    """The form is not a Twilio message webhook."""


class WhatsAppChannel:
    def __init__(self, core: Bot, auth_token: str, public_url: str, account_sid: str = "",
                 api: TwilioApi | None = None, work: WorkQueue | None = None,
                 media: MediaReader | None = None):
        self.core = core
        self.media = media or MediaReader()  # pictures: MediaUrl0, fetched only from TWILIO_API_URL
        self.validator = RequestValidator(auth_token)
        self.public_url = public_url
        self.account_sid = account_sid
        self.api = api if api is not None and api.configured else None
        self.work = work or WorkQueue()
        self.desk: TelegramDesk | None = None  # the desk's staff side, set by the service

    def signed(self, path: str, query: str, form: Mapping[str, str], signature: str) -> bool:
        """Twilio signs the whole URL it called, query included: behind a proxy that is
        PUBLIC_URL, not ours."""
        url = f"{self.public_url}{path}" + (f"?{query}" if query else "")
        if not signature:
            return False
        # The URL as given is one of the two forms (with and without the port) `validate`
        # accepts: most requests are checked with one HMAC instead of two, and with a
        # MultiDict-like form (`getall`), which the library reads without an exception a field.
        computed = self.validator.compute_signature(url, _Fields(form))
        if hmac.compare_digest(computed.encode(), signature.encode()):  # bytes: any header text
            return True
        return self.validator.validate(url, dict(form), signature)

    def incoming(self, form: Mapping[str, str]) -> Incoming:
        for name, pattern in FORMATS.items():
            if name in form and not pattern.fullmatch(form[name]):
                raise BadForm(f"{name} is not in Twilio's format")
        sender, sid = form.get("From", ""), form.get("MessageSid") or form.get("SmsMessageSid", "")
        if not sender or not sid:
            raise BadForm("From and MessageSid are required")
        if self.account_sid and form.get("AccountSid") != self.account_sid:
            raise BadForm("not our Twilio account")
        # Only WhatsApp vouches for the number; an SMS or Messenger sender is not verified.
        phone = sender.removeprefix("whatsapp:") if WHATSAPP_SENDER.fullmatch(sender) else None
        return Incoming(CHANNEL, sender, form.get("Body", ""), verified_phone=phone, message_id=sid)

    async def handle(self, form: Mapping[str, str]) -> tuple[Outcome, str]:
        """The core in a thread, the person's messages one at a time (see WorkQueue); a
        picture is counted in the rate limit, then fetched and read off the event loop."""
        incoming = self.incoming(form)
        who = f"{CHANNEL}:{incoming.user_id}"
        send_later = partial(self.send, incoming.user_id) if self.api else None

        async def admit() -> bool:  # a picture counts in the rate limit before it is fetched
            nonlocal incoming
            incoming = await self.work.core(self.core.count_ahead, incoming)
            return not self.core.over_limit(incoming)

        async with self.work.person(who):  # a person's pictures are read one at a time
            attachment = await self.media.twilio(form, admit)
            if attachment is not None:
                incoming = replace(incoming, **attachment.fields())
            outcome = await self.work.core(self.core.handle, incoming)
            outcome = replace(outcome, replies=await settle(self.work, who, outcome, send_later))
            if outcome.staff and self.desk is not None:  # to the staff group, in the person's turn
                outcome = await self.desk.post(outcome)
        return outcome, twiml(outcome)

    async def send(self, to: str, replies: list[Reply]) -> None:
        """Replies as messages of their own, through Twilio's Messages API."""
        assert self.api is not None
        async with self.api.client() as client:
            for reply in replies:
                for part in split(_NOT_XML.sub("", numbered(reply)), MAX_MESSAGE):
                    await self.api.send(to, part, client=client)


class _Fields(dict):
    """A form as the twilio library reads a MultiDict: one value a name."""

    def getall(self, name: str) -> list[str]:
        return [self[name]]


def twiml(outcome: Outcome) -> str:
    """Each reply as one or more <Message> elements of at most 1600 characters: the document
    twilio's MessagingResponse writes (tests/test_channels.py compares them), written directly
    because ElementTree cost more than the rest of the response."""
    messages = "".join(f"<Message>{escape(part)}</Message>" for reply in outcome.replies
                       for part in split(_NOT_XML.sub("", numbered(reply)), MAX_MESSAGE))
    body = f"<Response>{messages}</Response>" if messages else "<Response />"
    return XML_DECLARATION + body
