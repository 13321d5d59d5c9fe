"""Twilio's REST API, for what a webhook's response cannot carry: messages sent later (a
lookup's result, a breach alert) through the Messages API, and media a person sent.

`POST {TWILIO_API_URL}/2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP basic auth
(account SID and auth token) and a form: `To`, `From`, and `Body`, or `ContentSid` with
`ContentVariables` (JSON) for an approved template outside the 24-hour session window.
Twilio answers 201 with the message's `sid`; errors carry `code`, `message` and `status`."""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from bot.channels.tls import TLS

DEFAULT_API_URL = "https://api.twilio.com"
TIMEOUT = httpx.Timeout(5.0, connect=3.0)


class TwilioError(Exception):
    """Twilio refused or could not be reached; `retry` says whether trying later may help."""

    def __init__(self, status: int, message: str, retry: bool):
        super().__init__(f"Twilio answered {status}: {message}")
        self.status, self.retry = status, retry


@dataclass(frozen=True)
class TwilioApi:
    account_sid: str
    auth_token: str
    sender: str  # our own WhatsApp address, "whatsapp:+1415..."
    base_url: str = DEFAULT_API_URL

    @property
    def configured(self) -> bool:
        return bool(self.account_sid and self.auth_token and self.sender)

    @property
    def account_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/{self.account_sid}"

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(auth=(self.account_sid, self.auth_token), timeout=TIMEOUT, verify=TLS)

    async def send(self, to: str, body: str | None = None, content_sid: str | None = None,
                   variables: dict[str, str] | None = None,
                   client: httpx.AsyncClient | None = None) -> str:
        """Send one message; returns its SID. Raises `TwilioError`."""
        form = {"To": to, "From": self.sender}
        if content_sid:
            form |= {"ContentSid": content_sid, "ContentVariables": json.dumps(variables or {})}
        else:
            form["Body"] = body or ""
        try:
            if client is None:
                async with self.client() as own:
                    response = await own.post(f"{self.account_url}/Messages.json", data=form)
            else:
                response = await client.post(f"{self.account_url}/Messages.json", data=form)
        except httpx.HTTPError as error:
            raise TwilioError(0, type(error).__name__, retry=True) from None
        if response.status_code in (200, 201):
            return str(response.json().get("sid", ""))
        raise TwilioError(response.status_code, _message(response),
                          retry=response.status_code == 429 or response.status_code >= 500)


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", ""))
    except ValueError:
        return response.reason_phrase
