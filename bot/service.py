"""The web service: Telegram and WhatsApp webhooks, health and metrics, in one ASGI app.

    python -m bot serve --port 8000      (the Procfile's `web:` line)

A channel whose secrets are not set is switched off (404) and the start-up log says so."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update

from bot.channels.alert_sender import content_sids, sending_every
from bot.channels.desk import TelegramDesk, staff_chat_of, tick_every
from bot.channels.media import MediaReader
from bot.channels.telegram import TelegramChannel
from bot.channels.tipline_queue import TiplineFollowups
from bot.channels.twilio_api import TwilioApi
from bot.channels.whatsapp import BadForm, WhatsAppChannel
from bot.config import Settings
from bot.dialogue.core import Bot, Outcome
from bot.ops import logs
from bot.ops.admin import MIN_TOKEN, admin_routes, same_token
from bot.ops.bodies import BodyLimit, ClientGone, Refused
from bot.ops.heap import freeze_long_lived
from bot.ops.logs import log_request
from bot.ops.metrics import Metrics
from bot.ops.reload import ContentReloader
from bot.ops.work_queue import WorkQueue
from bot.runtime import build_bot
from bot.state.sqlite_store import Retention, Store, StoreBusy
from bot.state.tipline import tipline_store

PURGE_EVERY = 3600.0  # seconds between two deletions of expired rows
HEALTH_WAIT = 1.0  # seconds /healthz waits for the database before answering 503
ALERTS_EVERY = 60.0  # seconds between two runs of the breach-alert sender
log = logging.getLogger("mehfooz.service")
EMAIL_SERVICE_LOG = {"hibp": "Have I Been Pwned (HIBP_API_KEY)",
                     "xon": "XposedOrNot's free API (100 a day; set HIBP_API_KEY past a small pilot)",
                     "off": "off (BREACH_EMAIL_SOURCE=off, or hibp with no key)"}


def logged_app() -> Starlette:
    """The app with JSON logs, from the environment: the factory `serve` gives uvicorn, which
    calls it in each worker process."""
    logs.setup()
    return create_app()


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    core = build_bot(settings)
    metrics = Metrics()
    if core.tipline is not None:
        metrics.watch_tipline(core.tipline.store.counts)
    reloader = ContentReloader(core, settings.content_dir)
    media = MediaReader.from_settings(settings)  # one OCR pool for both channels
    work = WorkQueue(core.store)  # the core off the loop when it would wait, one person at a time
    staff_chat = staff_chat_of(settings, core)  # the desk's staff group, if there is a desk
    telegram = (
        TelegramChannel(core, settings.telegram_token, settings.telegram_api_url, metrics,
                        inline=settings.telegram_inline, work=work, media=media, staff_chat=staff_chat)
        if settings.telegram_token and settings.telegram_secret else None
    )
    twilio_api = TwilioApi(settings.twilio_account_sid, settings.twilio_auth_token,
                           settings.twilio_whatsapp_from, settings.twilio_api_url)
    whatsapp = (
        WhatsAppChannel(core, settings.twilio_auth_token, settings.public_url,
                        settings.twilio_account_sid, twilio_api, work, media)
        if settings.twilio_auth_token and settings.public_url else None
    )
    desk = None
    if core.desk is not None and telegram is not None and staff_chat is not None:
        desk = TelegramDesk(core, telegram.app.bot, staff_chat, work, twilio_api,
                            content_sids(settings.twilio_desk_content_sid))
        telegram.desk = desk
        if whatsapp is not None:
            whatsapp.desk = desk
    else:
        core.desk = None  # no staff group to hand a chat to: human_help gives numbers to call

    async def guarded(channel: str, request: Request, handler) -> Response:  # noqa: ANN001
        """Every webhook request: refusals as 4xx/503 with a counted reason, never a 500, and
        one JSON log line (channel, status, outcome, intent, latency; no personal data)."""
        started = time.perf_counter()
        try:
            response = await handler(request)
        except Refused as refused:
            metrics.rejected.labels(channel, refused.reason).inc()
            # A body too slow to wait for: close the connection, which the client still holds.
            closing = {"connection": "close"} if refused.status == 408 else None
            response = PlainTextResponse(refused.reason, status_code=refused.status, headers=closing)
            request.state.reason = refused.reason
        except StoreBusy:  # another connection held the write lock: nothing done; deliver again
            metrics.rejected.labels(channel, "db_locked").inc()
            response = PlainTextResponse("db_locked", status_code=503)
            request.state.reason = "db_locked"
        except Exception:  # a bug must not become a 500 that makes the channel retry forever
            log.exception("%s request failed", channel)
            metrics.rejected.labels(channel, "error").inc()
            response = PlainTextResponse("error", status_code=503)
            request.state.reason = "error"
        latency = time.perf_counter() - started
        metrics.latency.labels(channel).observe(latency)
        log_request(channel, response.status_code, latency, getattr(request.state, "outcome", None),
                    getattr(request.state, "reason", None))
        return response

    async def telegram_update(request: Request) -> Response:
        if telegram is None:
            return PlainTextResponse("telegram is not configured", status_code=404)
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not hmac.compare_digest(given.encode(), settings.telegram_secret.encode()):
            raise Refused(403, "bad_secret")
        update = _parse_update(await request.body(), telegram)  # read whole by BodyLimit
        handled = await telegram.process(update)
        if handled is None:
            return Response(status_code=200)
        if handled.busy:  # the library swallowed the error: answer 503 all the same
            raise StoreBusy("database is locked")
        request.state.outcome = handled.outcome
        if not handled.sent:  # the Bot API did not take the reply: ask Telegram to deliver again
            raise Refused(503, "undelivered")
        if handled.inline is None:
            return Response(status_code=200)
        return JSONResponse(handled.inline, background=BackgroundTask(forget_after, handled.outcome))

    async def forget_after(outcome: Outcome) -> None:
        # After the body is written. A duplicate meanwhile finds replies held for less than
        # REPLAY_AFTER: a delivery under way, which it does not repeat.
        await work.core(core.delivered, outcome)

    async def whatsapp_message(request: Request) -> Response:
        if whatsapp is None:
            return PlainTextResponse("whatsapp is not configured", status_code=404)
        form = _parse_form(await request.body())  # read whole by BodyLimit
        signature = request.headers.get("x-twilio-signature", "")
        if not whatsapp.signed(request.url.path, request.url.query, form, signature):
            raise Refused(403, "bad_signature")
        try:
            outcome, twiml = await whatsapp.handle(form)
        except BadForm as exc:
            raise Refused(400, "bad_form") from exc
        metrics.handled("whatsapp", outcome.status, outcome.intent)
        request.state.outcome = outcome
        # The reply is delivered once the response is written; only then is it forgotten.
        return Response(twiml, media_type="application/xml", background=BackgroundTask(forget_after, outcome))

    async def healthz(request: Request) -> Response:
        try:  # in a thread: a database that waits on a lock must not stall the event loop
            await asyncio.wait_for(asyncio.to_thread(core.store.ping), HEALTH_WAIT)
        except Exception:  # any database failure or wait means not healthy
            return PlainTextResponse("database unavailable", status_code=503)
        return PlainTextResponse("ok")

    metrics_tokens = [t for t in (settings.metrics_token, settings.admin_token) if len(t) >= MIN_TOKEN]

    async def metrics_page(request: Request) -> Response:
        """Behind a bearer token: the counters move with other people's messages (which intent
        they asked for), so they are for the operator only. Off (404) without a token."""
        if not metrics_tokens:
            return PlainTextResponse("metrics are off: set METRICS_TOKEN", status_code=404)
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not any(same_token(given.strip(), t) for t in metrics_tokens):
            return PlainTextResponse("bad token", status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log.info("telegram: %s", "on at /telegram" if telegram else
                 "off (set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET)")
        log.info("whatsapp: %s", "on at /whatsapp" if whatsapp else
                 "off (set TWILIO_AUTH_TOKEN and PUBLIC_URL)")
        log.info("desk: %s", f"on, staff group {staff_chat}" if desk else
                 "off (set STAFF_TELEGRAM_CHAT_ID and BOT_ALERTS_KEY, with Telegram on)")
        log.info("email breach checks: %s", EMAIL_SERVICE_LOG[core.lookup.source_name])
        if telegram:
            await telegram.app.initialize()
            await telegram.app.start()
        if isinstance(core.store, Store):  # checkpoints off the request path (SECURITY.md)
            core.store.checkpoint_in_background()
        freeze_long_lived()  # start-up's objects out of the collector's walks: short pauses
        purging = asyncio.create_task(purge_every(core.store, settings.retention, PURGE_EVERY))
        stop_watching = asyncio.Event()
        watching = asyncio.create_task(reloader.watch(stop_watching)) if settings.watch_content else None
        _reload_on_sighup(reloader)
        every = tick_every(settings.desk_wait_minutes)
        ticking = asyncio.create_task(desk.run_every(every)) if desk else None
        try:
            async with sending_every(ALERTS_EVERY, settings, core.alerts, lambda: core.content,
                                     telegram.app.bot if telegram else None, followups(settings, core)):
                yield
        finally:
            purging.cancel()
            if ticking:
                ticking.cancel()
            stop_watching.set()
            if watching:
                await watching
            await work.drain()  # follow-ups under way go out first
            if telegram:
                await telegram.app.stop()
                await telegram.app.shutdown()
            media.close()
            work.close()
            core.store.close()

    routes = [
        Route("/telegram", partial(guarded, "telegram", handler=telegram_update), methods=["POST"]),
        Route("/whatsapp", partial(guarded, "whatsapp", handler=whatsapp_message), methods=["POST"]),
        Route("/healthz", healthz),
        Route("/metrics", metrics_page),
        # a function for the content, so that the page follows a content reload
        *admin_routes(core.store, lambda: core.content, settings.admin_token, reloader.reload,
                      alerts=core.alerts.stats if core.alerts else None,
                      desk=core.desk.overview if core.desk else None, tipline=core.tipline),
    ]
    def body_refused(path: str, refused: Refused) -> None:
        """A body refused before any route saw it: counted and logged as the route's own."""
        route = path.strip("/").split("/")[0] or "root"
        channel = route if route in ("telegram", "whatsapp", "admin") else "other"
        metrics.rejected.labels(channel, refused.reason).inc()
        if isinstance(refused, ClientGone):  # nobody reads the answer: not an error
            log.debug("%s client went away", channel)
        log_request(channel, refused.status, 0.0, reason=refused.reason)

    # Every route's body within one set of limits (size, slowness): see bot/ops/bodies.py.
    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[Middleware(BodyLimit, refused=body_refused)])
    app.state.core, app.state.metrics, app.state.reloader = core, metrics, reloader
    app.state.telegram = telegram  # None when the channel is off
    app.state.desk = desk  # the desk's staff side; None when there is no desk
    return app


def followups(settings: Settings, core: Bot) -> tuple[TiplineFollowups, ...]:
    """The tipline's follow-ups, when people can ask for them (BOT_ALERTS_KEY)."""
    if core.tipline is None or not core.tipline.can_tell:
        return ()
    return (TiplineFollowups(core.tipline, content_sids(settings.twilio_tipline_content_sid)),)


def _reload_on_sighup(reloader: ContentReloader) -> None:
    """`kill -HUP <pid>` reloads the content (only where the loop may take signals)."""
    try:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(reloader.reload()))
    except (RuntimeError, ValueError, NotImplementedError):  # not the main thread (tests), Windows
        log.info("content reload on SIGHUP: unavailable here")


async def purge_every(store: Store, retention: Retention, seconds: float) -> None:
    """Delete expired rows now and then every `seconds`, for as long as the service runs."""
    tipline = tipline_store(store)
    while True:
        try:
            removed = await asyncio.to_thread(lambda: {**store.purge(retention), **tipline.purge(retention)})
            log.info("purged expired rows: %s", removed)
        except Exception:  # a locked or failing database must not stop the service
            log.exception("purge failed; will try again")
        await asyncio.sleep(seconds)


def _parse_update(body: bytes, telegram: TelegramChannel) -> Update:
    try:
        data = json.loads(body)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise ValueError("not an update")
        update = Update.de_json(data, telegram.app.bot)
        for who in (update.effective_user, update.effective_chat):
            if who is not None and not isinstance(who.id, int):
                raise ValueError("an id that is not a number")
        return update
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError, OverflowError, OSError) as exc:
        raise Refused(400, "bad_update") from exc


def _parse_form(body: bytes) -> dict[str, str]:
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused(400, "bad_form") from exc
