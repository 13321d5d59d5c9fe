"""One TLS context for the outgoing HTTP clients made per call (Twilio follow-ups, picture
downloads). Given none, httpx builds a context for every client, loading the CA certificates:
86 ms of CPU each on this project's machine, on the event loop, so three follow-ups at once
held everyone's replies for a quarter of a second. Built once at import, with httpx's own
defaults (certifi's certificates, SSL_CERT_FILE honoured)."""

from __future__ import annotations

import httpx

TLS = httpx.create_ssl_context()
