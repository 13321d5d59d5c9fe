"""`python -m bot scams ...`: the tipline for staff (bot/dialogue/tipline.py).

    scams trending [--days N] [--json] [--limit N]   groups of forwarded scams by the people who
                                                     forwarded them in the last N days
    scams confirm ID --verdict scam|not_scam [--note TEXT]
                                                     record staff's verdict; the people who asked
                                                     are told by `alerts send` (and the service)

The groups are in the state store (BOT_DB, or Redis with BOT_STATE_URL); nothing here names
anyone: the text is masked, the people are a count."""

from __future__ import annotations

import argparse
import json
import sys

from bot.config import Settings
from bot.ops.cli_shared import days_arg, print_rows, when
from bot.state.tipline import VERDICTS


def _tipline(settings: Settings):  # noqa: ANN202 - (Tipline, store), built here to keep imports light
    from bot.runtime import build_tipline
    from bot.state.backend import open_store

    store = open_store(settings)
    return build_tipline(settings, store), store


def cmd_trending(args: argparse.Namespace) -> int:
    tipline, store = _tipline(Settings.from_env())
    try:
        groups = tipline.trending(args.days, args.limit)
    finally:
        store.close()
    rows = [{**g.as_dict(), "first_seen": when(g.first), "last_seen": when(g.last),
             "decided": when(g.decided)} for g in groups]
    print_rows(rows, args.json, {"id": "id", "people": "people", "first_seen": "first seen (UTC)",
                                 "last_seen": "last seen (UTC)", "bot_verdict": "bot",
                                 "staff_verdict": "staff", "waiting": "waiting", "text": "text (masked)"})
    return 0


def cmd_confirm(args: argparse.Namespace) -> int:
    tipline, store = _tipline(Settings.from_env())
    try:
        queued = tipline.decide(args.id, args.verdict, args.note)
    finally:
        store.close()
    if queued is None:
        print(f"no group {args.id} (see `python -m bot scams trending`)", file=sys.stderr)
        return 1
    print(json.dumps({"id": args.id, "verdict": args.verdict, "followups_queued": queued}))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    scams = sub.add_parser("scams", help="the tipline: scams people forward, and staff's verdict")
    ssub = scams.add_subparsers(dest="scams_command", required=True)
    trending = ssub.add_parser("trending", help="groups of forwarded scams, most people first")
    trending.add_argument("--days", type=days_arg, default=7, help="forwarded in the last N days (default 7)")
    trending.add_argument("--limit", type=int, default=0, help="the first N groups only")
    trending.add_argument("--json", action="store_true")
    trending.set_defaults(func=cmd_trending)
    confirm = ssub.add_parser("confirm", help="record staff's verdict on a group; those who asked are told")
    confirm.add_argument("id", type=int)
    confirm.add_argument("--verdict", required=True, choices=VERDICTS)
    confirm.add_argument("--note", default="", help="for staff: why (shown in trending and on /admin)")
    confirm.set_defaults(func=cmd_confirm)
