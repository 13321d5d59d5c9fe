"""WhatsApp through Twilio: a signed form POST in, TwiML out.

Options become a numbered list; "1" in the next message picks option 1 (the core keeps
the options offered last). The sender's own number is passed on as channel-verified."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.channels.media import MediaReader
from bot.channels.render import numbered, split
from bot.dialogue.core import Bot, Outcome
from bot.dialogue.messages import Incoming

CHANNEL = "whatsapp"
MAX_MESSAGE = 1600
# Characters XML 1.0 forbids; ElementTree writes them as they are, and Twilio refuses the
# TwiML. They reach a reply when the scam check quotes a forwarded message back.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class BadForm(ValueError):
    """The form is not a Twilio message webhook."""


class WhatsAppChannel:
    def __init__(self, core: Bot, auth_token: str, public_url: str, media: MediaReader | None = None):
        self.core = core
        self.media = media or MediaReader()  # pictures: MediaUrl0, fetched only from TWILIO_API_URL
        self.validator = RequestValidator(auth_token)
        self.public_url = public_url

    def signed(self, path: str, form: Mapping[str, str], signature: str) -> bool:
        """Twilio signs the URL it called: behind a proxy that is PUBLIC_URL, not ours."""
        return bool(signature) and self.validator.validate(f"{self.public_url}{path}", dict(form), signature)

    def incoming(self, form: Mapping[str, str]) -> Incoming:
        sender, sid = form.get("From", ""), form.get("MessageSid") or form.get("SmsMessageSid", "")
        if not sender or not sid:
            raise BadForm("From and MessageSid are required")
        phone = sender.removeprefix("whatsapp:")
        return Incoming(CHANNEL, sender, form.get("Body", ""), verified_phone=phone, message_id=sid)

    async def handle(self, form: Mapping[str, str]) -> tuple[Outcome, str]:
        incoming = self.incoming(form)
        attachment = await self.media.twilio(form)  # a picture is read off the event loop
        if attachment is not None:
            incoming = replace(incoming, **attachment.fields())
        outcome = self.core.handle(incoming)
        return outcome, twiml(outcome)


def twiml(outcome: Outcome) -> str:
    """Each reply as one or more <Message> elements of at most 1600 characters."""
    response = MessagingResponse()
    for reply in outcome.replies:
        for part in split(_NOT_XML.sub("", numbered(reply)), MAX_MESSAGE):
            response.message(part)
    return str(response)
