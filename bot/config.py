"""Settings from the environment, with defaults that let the terminal chat run with no setup."""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from bot.content.load import DEFAULT_DIR
from bot.state.sqlite_store import DAY, Retention

DEFAULT_DB = Path("var") / "mehfooz.db"
# Seen message ids are kept this long: a captured Twilio request stays validly signed until the
# auth token changes, so a replay is refused as long as the id is kept (SECURITY.md: rotate the
# token at least this often).
SEEN_DAYS = 30
EMAIL_SERVICES = ("hibp", "xon", "off")


@dataclass(frozen=True)
class Settings:
    db_path: Path
    secret: bytes
    content_dir: Path
    rate_per_minute: int = 20
    telegram_token: str = ""
    telegram_secret: str = ""
    telegram_api_url: str = "https://api.telegram.org"
    telegram_inline: bool = False  # answer in the webhook's response when a reply is one message
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_api_url: str = "https://api.twilio.com"  # the REST API: messages sent later, media
    twilio_whatsapp_from: str = ""  # our WhatsApp sender for messages sent later ("whatsapp:+1...")
    public_url: str = ""
    hibp_api_key: str = ""
    hibp_api_url: str = "https://haveibeenpwned.com/api/v3"
    # BREACH_EMAIL_SOURCE: where emails are checked: "hibp", "xon" or "off"; "" (the default):
    # Have I Been Pwned when HIBP_API_KEY is set, XposedOrNot's free API otherwise
    email_source: str = ""
    xon_api_url: str = "https://api.xposedornot.com/v1"  # XON_API_URL
    breach_db: Path = Path("var") / "breaches.db"
    breach_pepper: bytes = b""
    lookups_per_day: int = 5
    retention: Retention = Retention()
    watch_content: bool = True  # reload intents/ when its files change
    admin_token: str = ""
    metrics_token: str = ""  # METRICS_TOKEN: bearer token for /metrics (ADMIN_TOKEN also works)
    state_url: str = ""  # BOT_STATE_URL: redis://... to share state between workers; empty: SQLite
    alerts_key: str = ""  # BOT_ALERTS_KEY: Fernet key(s) for alert addresses; empty: alerts are off
    alerts_db: Path = Path("var") / "alerts.db"  # BOT_ALERTS_DB: subscriptions and queued alerts
    alerts_lease: float = 60.0  # BOT_ALERTS_LEASE: seconds a sender's claim on alerts lasts
    twilio_alert_content_sid: str = ""  # WhatsApp template(s) for alerts: "HX.." or "en=HX..,ur=HX.."
    # The desk (a chat handed to helpline staff): the staff's Telegram supergroup with topics;
    # empty: no desk, human_help gives numbers to call.
    staff_chat_id: str = ""
    desk_wait_minutes: float = 10.0  # no staff reply this long: the person gets the numbers meanwhile
    desk_hours: str = ""  # BOT_DESK_HOURS "09:00-17:00", Pakistan time: when staff are in
    desk_staff_lang: str = "en"  # the language of the bot's notes in the staff group
    twilio_desk_content_sid: str = ""  # WhatsApp template(s) asking the person to reply, outside the window
    twilio_tipline_content_sid: str = ""  # WhatsApp template(s) for staff's verdict, outside the window

    @property
    def email_service(self) -> str:
        """The service emails are checked with: 'hibp', 'xon' or 'off'. HIBP without a key
        cannot answer, so it is 'off' (the start-up log says so)."""
        chosen = self.email_source or ("hibp" if self.hibp_api_key else "xon")
        if chosen not in EMAIL_SERVICES:
            known = ", ".join(EMAIL_SERVICES)
            raise ValueError(f"BREACH_EMAIL_SOURCE must be one of {known}, not {chosen!r}")
        return "off" if chosen == "hibp" and not self.hibp_api_key else chosen

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        db_path = Path(env.get("BOT_DB") or DEFAULT_DB)
        breach_db = Path(env.get("BREACH_DB") or db_path.parent / "breaches.db")
        return cls(
            db_path=db_path,
            secret=env.get("BOT_SECRET", "").encode() or _saved_secret(db_path),
            content_dir=Path(env.get("BOT_INTENTS") or DEFAULT_DIR),
            rate_per_minute=int(env.get("BOT_RATE_PER_MINUTE") or 20),
            telegram_token=env.get("TELEGRAM_BOT_TOKEN", ""),
            telegram_secret=env.get("TELEGRAM_WEBHOOK_SECRET", ""),
            telegram_api_url=(env.get("TELEGRAM_API_URL") or "https://api.telegram.org").rstrip("/"),
            telegram_inline=env.get("TELEGRAM_INLINE_REPLIES", "") in {"1", "true", "yes"},
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID", ""),
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN", ""),
            twilio_api_url=(env.get("TWILIO_API_URL") or "https://api.twilio.com").rstrip("/"),
            twilio_whatsapp_from=env.get("TWILIO_WHATSAPP_FROM", ""),
            public_url=env.get("PUBLIC_URL", "").rstrip("/"),
            hibp_api_key=env.get("HIBP_API_KEY", ""),
            hibp_api_url=(env.get("HIBP_API_URL") or "https://haveibeenpwned.com/api/v3").rstrip("/"),
            email_source=env.get("BREACH_EMAIL_SOURCE", "").strip().lower(),
            xon_api_url=(env.get("XON_API_URL") or "https://api.xposedornot.com/v1").rstrip("/"),
            breach_db=breach_db,
            breach_pepper=env.get("BREACH_PEPPER", "").encode() or _saved_secret(breach_db, "pepper.key"),
            lookups_per_day=int(env.get("BOT_LOOKUPS_PER_DAY") or 5),
            watch_content=env.get("BOT_WATCH_INTENTS", "1") not in {"0", "false", "no"},
            admin_token=env.get("ADMIN_TOKEN", ""),
            metrics_token=env.get("METRICS_TOKEN", ""),
            retention=Retention(
                state=DAY * int(env.get("BOT_KEEP_STATE_DAYS") or 30),
                seen=DAY * int(env.get("BOT_KEEP_SEEN_DAYS") or SEEN_DAYS),
                misses=DAY * int(env.get("BOT_KEEP_MISSES_DAYS") or 90),
                cases=DAY * int(env.get("BOT_KEEP_CASES_DAYS") or 30),
                tipline=DAY * int(env.get("BOT_KEEP_TIPLINE_DAYS") or 30),
            ),
            state_url=env.get("BOT_STATE_URL", ""),
            alerts_key=env.get("BOT_ALERTS_KEY", ""),
            alerts_db=Path(env.get("BOT_ALERTS_DB") or db_path.parent / "alerts.db"),
            twilio_alert_content_sid=env.get("TWILIO_ALERT_CONTENT_SID", ""),
            staff_chat_id=env.get("STAFF_TELEGRAM_CHAT_ID", "").strip(),
            desk_wait_minutes=float(env.get("BOT_DESK_WAIT_MINUTES") or 10),
            desk_hours=env.get("BOT_DESK_HOURS", "").strip(),
            desk_staff_lang=env.get("BOT_DESK_STAFF_LANG") or "en",
            twilio_desk_content_sid=env.get("TWILIO_DESK_CONTENT_SID", ""),
            alerts_lease=float(env.get("BOT_ALERTS_LEASE") or 60),
            twilio_tipline_content_sid=env.get("TWILIO_TIPLINE_CONTENT_SID", ""),
        )


def _saved_secret(db_path: Path, name: str = "secret.key") -> bytes:
    """A random secret kept beside the database (readable by its owner only), made once."""
    path = db_path.parent / name
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip().encode()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def keyed(secret: bytes, *parts: str, size: int = 32) -> str:
    """A keyed hash (HMAC-SHA256, hex, `size` characters) of the parts joined by ':': how
    anything tied to a person or a message is stored, never the thing itself."""
    return hmac.digest(secret, ":".join(parts).encode(), "sha256").hex()[:size]  # one C call


def user_key(secret: bytes, channel: str, user_id: str) -> str:
    """The only form in which a person is stored: a keyed hash of channel and channel id."""
    return keyed(secret, channel, user_id)
