"""`python -m bot alerts ...`: deliver and count breach alerts.

    alerts send [--wait S]     send the queued alerts that are due (and those falling due
                               within S seconds: retries, a rate-limit pause), and the
                               tipline's follow-ups (staff's verdict, to those who asked)
    alerts stats [--json]      subscribers, queued, sent and failed alerts

Subscriptions and the queue are in BOT_ALERTS_DB (default beside BOT_DB: var/alerts.db);
addresses are decrypted with BOT_ALERTS_KEY. The web service also sends every minute."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from bot.breaches.alerts import AlertsOff, AlertStore
from bot.config import Settings


def cmd_send(args: argparse.Namespace) -> int:
    from bot.channels.alert_sender import build_sender, content_sids
    from bot.channels.tipline_queue import TiplineFollowups
    from bot.content.load import load_content
    from bot.runtime import build_tipline
    from bot.state.backend import open_store

    settings = Settings.from_env()
    if not settings.alerts_key:
        print("Set BOT_ALERTS_KEY first (see the README): the addresses cannot be read without it.",
              file=sys.stderr)
        return 2
    try:
        store = AlertStore(settings.alerts_db, settings.breach_pepper, settings.alerts_key,
                           settings.alerts_lease)
    except AlertsOff as exc:
        print(str(exc), file=sys.stderr)
        return 2
    content = load_content(settings.content_dir)
    state = open_store(settings)  # the tipline's follow-ups: staff's verdict for those who asked
    sids = content_sids(settings.twilio_tipline_content_sid)
    followups = TiplineFollowups(build_tipline(settings, state), sids)
    sender = build_sender(settings, store, lambda: content, queues=(followups,))

    async def send() -> dict[str, int]:
        if sender.telegram is not None:
            async with sender.telegram:  # getMe first, and the connections closed at the end
                return (await sender.run(args.wait)).as_dict()
        return (await sender.run(args.wait)).as_dict()

    try:
        print(json.dumps(asyncio.run(send())))
    finally:
        store.close()
        state.close()
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if settings.alerts_db.exists():
        store = AlertStore(settings.alerts_db, settings.breach_pepper)
        stats = store.stats()
        store.close()
    else:
        stats = {"subscribers": 0, "queued": 0, "sent": 0, "failed": 0}
    if args.json:
        print(json.dumps(stats))
    else:
        print("\n".join(f"{name}\t{count}" for name, count in stats.items()))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    alerts = sub.add_parser("alerts", help="deliver and count breach alerts")
    asub = alerts.add_subparsers(dest="alerts_command", required=True)
    send = asub.add_parser("send", help="send the queued alerts that are due")
    send.add_argument("--wait", type=float, default=0.0,
                      help="also send what falls due within this many seconds (retries, pauses)")
    send.set_defaults(func=cmd_send)
    stats = asub.add_parser("stats", help="subscribers and alerts queued, sent, failed")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_stats)
