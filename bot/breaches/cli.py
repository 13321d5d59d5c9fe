"""`python -m bot breaches ...`: build and inspect the local breach index.

    breaches import --breach ID FILE   import a CSV or one-identifier-per-line file (streamed)
    breaches add ID --name N [--date D --data "a, b" --source URL --description T]
    breaches list                      the catalogue, with identifiers per breach
    breaches stats                     totals and bytes per identifier

The index file is BREACH_DB (default beside BOT_DB: var/breaches.db); identifiers are stored
as HMAC-SHA256 under BREACH_PEPPER (default: a key made once and saved beside the index)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from bot.breaches.alerts import AlertStore
from bot.breaches.index import Breach, BreachIndex
from bot.config import Settings
from bot.content.load import load_content


def open_index(settings: Settings) -> BreachIndex:
    """The index, opened for writing, with the known incidents of the content registered
    (in English, facts filled in: replies word them in the person's language)."""
    index = BreachIndex(settings.breach_db, settings.breach_pepper)
    content = load_content(settings.content_dir)
    for incident in content.catalogue.values():
        index.add_breach(Breach(
            slug=incident.id, name=content.render(incident.name["en"]), date=incident.date,
            data=tuple(content.render(d) for d in incident.data["en"]),
            description=content.render(incident.description["en"]), source=incident.source,
        ))
    return index


def cmd_import(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    index = open_index(settings)
    # Alert subscribers whose number this import adds get one alert each (see alerts.py).
    alerts = AlertStore(settings.alerts_db, settings.breach_pepper) if settings.alerts_db.exists() else None
    path = Path(args.file)
    with open(path, encoding="utf-8", errors="replace") as handle, tqdm(
        total=path.stat().st_size, unit="B", unit_scale=True, disable=args.quiet, file=sys.stderr,
        desc=f"import {args.breach}",
    ) as bar:
        lines = _tracked(handle, bar)
        report = index.import_lines(args.breach, lines, watch=alerts.watched() if alerts else None)
    queued = alerts.queue(index.breach(args.breach), report.watched) if alerts else 0
    index.close()
    if alerts:
        alerts.close()
    queued_field = {"alerts_queued": queued} if alerts else {}
    print(json.dumps({"breach": args.breach, **report.as_dict(), **queued_field}))
    return 0


def _tracked(handle, bar: tqdm, every: int = 10_000):  # noqa: ANN001, ANN202 - file, line generator
    """The lines of `handle`, moving the bar every `every` lines (per line costs too much)."""
    done = 0
    for number, line in enumerate(handle, 1):
        done += len(line)
        if number % every == 0:
            bar.update(done)
            done = 0
        yield line
    bar.update(done)


def cmd_add(args: argparse.Namespace) -> int:
    index = open_index(Settings.from_env())
    data = tuple(d.strip() for d in (args.data or "").split(",") if d.strip())
    index.add_breach(Breach(args.id, args.name, args.date or "", data, args.description or "",
                            args.source or ""), replace=True)
    index.close()
    print(f"breach {args.id} registered")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    index = open_index(Settings.from_env())
    for breach, count in index.breaches():
        print(f"{breach.slug}\t{breach.date or '?'}\t{count} identifiers\t{breach.name}")
    index.close()
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    index = open_index(Settings.from_env())
    print(json.dumps(index.stats()))
    index.close()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    breaches = sub.add_parser("breaches", help="build and inspect the local breach index")
    bsub = breaches.add_subparsers(dest="breaches_command", required=True)
    imp = bsub.add_parser("import", help="import identifiers of one breach from a file")
    imp.add_argument("--breach", required=True, help="breach id (created if new)")
    imp.add_argument("file")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    imp.set_defaults(func=cmd_import)
    add = bsub.add_parser("add", help="register or update a breach")
    add.add_argument("id")
    add.add_argument("--name", required=True)
    add.add_argument("--date", help="YYYY-MM-DD or YYYY-MM")
    add.add_argument("--data", help="what it exposed, comma separated")
    add.add_argument("--source", help="public source link")
    add.add_argument("--description")
    add.set_defaults(func=cmd_add)
    bsub.add_parser("list", help="the breach catalogue").set_defaults(func=cmd_list)
    bsub.add_parser("stats", help="totals and size").set_defaults(func=cmd_stats)
