"""The command line: `python -m bot COMMAND` (installed as `mehfooz` too)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

from bot.breaches import alerts_cli
from bot.breaches import cli as breach_cli
from bot.config import Settings
from bot.ops import scams_cli
from bot.ops.cli_shared import days_arg, print_rows, when


def _inputs(text: list[str]) -> Iterator[str]:
    """The TEXT argument if given, else one message per stdin line."""
    if text:
        yield " ".join(text)
        return
    for line in sys.stdin:
        if line.strip():
            yield line.rstrip("\n")


def cmd_chat(args: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    from bot.channels.terminal import TerminalDesk, run_chat
    from bot.dialogue.core import Limits
    from bot.runtime import build_bot

    settings = Settings.from_env()
    # --desk: the desk on, with this screen as the staff group; relay addresses encrypted
    # under BOT_ALERTS_KEY, or a key made for this session only.
    key = (settings.alerts_key or Fernet.generate_key().decode()) if args.desk else ""
    # No rate limit at the terminal: it protects nothing there, and piped test questions
    # would go unanswered after the first twenty.
    bot = build_bot(settings, limits=Limits(per_minute=None), desk_key=key)
    run_chat(bot, phone=args.as_phone, desk=TerminalDesk(bot) if args.desk else None)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.ops import logs

    # The service runs on asyncio. httpcore imports trio whenever it is installed (selenium,
    # a test tool, brings it in): 14 MB of a 120 MB budget for nothing, and not what a
    # production install loads. Marked absent, the import fails and httpcore goes without.
    sys.modules.setdefault("trio", None)  # type: ignore[arg-type]
    logs.setup()
    # Each worker builds the app (with JSON logs) from the factory. Our JSON request line
    # replaces uvicorn's access log, which would also print client addresses.
    uvicorn.run("bot.service:logged_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_config=None, access_log=False,
                proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips)
    return 0


def cmd_telegram(args: argparse.Namespace) -> int:
    import asyncio

    from bot.channels.telegram import TelegramChannel
    from bot.ops import logs
    from bot.runtime import build_bot

    settings = Settings.from_env()
    if not settings.telegram_token:
        print("Set TELEGRAM_BOT_TOKEN first (see the README).", file=sys.stderr)
        return 2
    logs.setup()
    if args.action == "set-webhook":
        if not (settings.public_url and settings.telegram_secret):
            print("Set PUBLIC_URL and TELEGRAM_WEBHOOK_SECRET first.", file=sys.stderr)
            return 2
        channel = TelegramChannel(build_bot(settings), settings.telegram_token, settings.telegram_api_url)
        url = f"{settings.public_url}/telegram"

        async def register() -> bool:
            async with channel.app:
                return await channel.app.bot.set_webhook(url, secret_token=settings.telegram_secret)

        ok = asyncio.run(register())
        print(f"webhook {'set to ' + url if ok else 'NOT set'}")
        return 0 if ok else 1
    from bot.channels.alert_sender import content_sids
    from bot.channels.desk import TelegramDesk, staff_chat_of, tick_every
    from bot.channels.twilio_api import TwilioApi

    core = build_bot(settings)
    staff_chat = staff_chat_of(settings, core)
    channel = TelegramChannel(core, settings.telegram_token, settings.telegram_api_url, polling=True,
                              staff_chat=staff_chat)
    if staff_chat is not None:  # the desk, with its clock started once the loop runs
        twilio = TwilioApi(settings.twilio_account_sid, settings.twilio_auth_token,
                           settings.twilio_whatsapp_from, settings.twilio_api_url)
        desk = channel.desk = TelegramDesk(core, channel.app.bot, staff_chat, channel.work, twilio,
                                           content_sids(settings.twilio_desk_content_sid))

        async def start_clock(app) -> None:  # noqa: ANN001 - the Application
            app.create_task(desk.run_every(tick_every(settings.desk_wait_minutes)))

        channel.app.post_init = start_clock
    # run_polling deletes any webhook first, then long-polls getUpdates until Ctrl-C.
    channel.app.run_polling(allowed_updates=["message", "callback_query"])
    return 0


def cmd_cases_list(args: argparse.Namespace) -> int:
    """The desk's cases, newest first: number, state, language, times and counts; never who."""
    from bot.state.backend import open_store
    from bot.state.cases import case_store

    store = open_store(Settings.from_env())
    try:
        cases = case_store(store).listing(args.limit)
    finally:
        store.close()
    rows = [{"case": c.number, "state": c.state, "lang": c.lang, "about": c.about, "opened": when(c.opened),
             "closed": when(c.closed), "from_person": c.from_person, "from_staff": c.from_staff,
             "first_reply_seconds": None if c.first_reply is None else round(c.first_reply)} for c in cases]
    print_rows(rows, args.json, {"case": "case", "state": "state", "lang": "lang", "opened": "opened (UTC)",
                                 "closed": "closed (UTC)", "from_person": "in", "from_staff": "out",
                                 "first_reply_seconds": "first reply (s)"})
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from bot.state.backend import open_store

    settings = Settings.from_env()
    from bot.state.tipline import tipline_store

    store = open_store(settings)
    removed = {**store.purge(settings.retention), **tipline_store(store).purge(settings.retention)}
    store.close()
    print(json.dumps({"removed": removed}))
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from bot.content.load import load_content
    from bot.understanding.matcher import Matcher

    matcher = Matcher(load_content(Settings.from_env().content_dir))
    for text in _inputs(args.text):
        m = matcher.match(text)
        if args.json:
            row = {"text": text, "intent": m.intent, "score": m.score, "lang": m.lang or "en"}
            print(json.dumps(row, ensure_ascii=False), flush=True)
        else:
            shown = m.intent or (f"ask: {' / '.join(m.candidates)}" if m.candidates else "none")
            print(f"{shown}\t{m.score:.0f}\t{m.lang or 'en'}\t{text}", flush=True)
    return 0


def cmd_scam_check(args: argparse.Namespace) -> int:
    from bot.understanding.scam import ScamRules

    rules = ScamRules.load(Settings.from_env().content_dir)
    if args.image:
        return _scam_check_image(rules, Path(args.image), args.json)
    for text in _inputs(args.text):
        if args.explain:
            print(format_trace(rules.trace(text)), flush=True)
            continue
        verdict = rules.check(text)
        if args.json:
            print(json.dumps(verdict.as_dict(), ensure_ascii=False), flush=True)
        else:
            print(f"{verdict.verdict}\t{','.join(verdict.flags) or '-'}", flush=True)
    return 0


def _scam_check_image(rules, path: Path, as_json: bool) -> int:  # noqa: ANN001 - ScamRules
    """The verdict on what a picture says; with --json, "text" is what was read."""
    from bot.understanding.ocr import ImageRefused, read_image

    try:
        text = read_image(path.read_bytes()).text
    except (ImageRefused, OSError) as exc:
        reason = exc.reason if isinstance(exc, ImageRefused) else "cannot_open"
        print(json.dumps({"error": reason}) if as_json else f"not read: {reason}", file=sys.stderr)
        return 1
    verdict = rules.check(text)
    if as_json:
        print(json.dumps({**verdict.as_dict(), "text": text}, ensure_ascii=False))
    else:
        print(f"{verdict.verdict}\t{','.join(verdict.flags) or '-'}")
    return 0


def cmd_scam_eval(args: argparse.Namespace) -> int:
    from bot.content.scam_eval import Yardstick, evaluate, format_comparison, format_report, read
    from bot.understanding.scam import ScamRules

    try:
        rows = read(Path(args.csv))
    except (OSError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    rules = ScamRules.load(Settings.from_env().content_dir)
    ours = evaluate(lambda text: rules.check(text).verdict, rows)
    theirs = None if args.no_yardstick else evaluate(Yardstick().verdict, rows)
    if args.json:
        print(json.dumps({"checker": ours, "yardstick": theirs}, indent=2))
        return 0
    lines = format_report("scam checker (rules and model)", ours)
    if theirs:
        name = "yardstick (character n-gram TF-IDF + logistic regression, same training data)"
        lines += format_report(name, theirs)
        lines += format_comparison(ours, theirs)
    print("\n".join(lines))
    return 0


def format_trace(trace: dict) -> str:
    """`scam-check --explain`: the text as the rules read it, and how each flag fared."""
    chance = f"  probability {trace['probability']:.2f}" if "probability" in trace else ""
    lines = [f"{trace['verdict']}  score {trace['score']:g}{chance}  flags {','.join(trace['flags']) or '-'}",
             f"  read as: {trace['text']}"]
    for flag in trace["trace"]:
        state = f"+{flag['weight']:g}" if flag["fired"] else "no"
        lines.append(f"  {state:>4} {flag['id']}: matched {flag['matched']!r}")
        for part in ("requires", "unless", "boost"):
            if flag[part]:
                lines.append(f"         {part} {flag[part]!r}")
        if not flag["fired"] and not flag["unless"]:
            lines.append("         requires: nothing matched")
    lines += [f"  capped by {cap}" for cap in trace["caps"]]
    return "\n".join(lines)


def cmd_intents_check(args: argparse.Namespace) -> int:
    from bot.content.check import check

    directory = Settings.from_env().content_dir
    problems, warnings = check(directory)
    for warning in warnings:
        print(f"warning: {warning}")
    for problem in problems:
        print(f"error: {problem}")
    if problems:
        print(f"{len(problems)} problem(s) in {directory}")
        return 1
    print(f"intents check: OK ({directory}, {len(warnings)} warning(s))")
    return 0


def cmd_intents_review(args: argparse.Namespace) -> int:
    from bot.content.review import write_review

    settings = Settings.from_env()
    out = write_review(settings.content_dir, Path(args.out), settings.retention)
    print(f"wrote {out}")
    return 0


def cmd_intents_eval(args: argparse.Namespace) -> int:
    from bot.content.evaluate import evaluate, format_comparison, format_report
    from bot.content.load import load_content
    from bot.content.yardstick import Yardstick
    from bot.understanding.matcher import Matcher

    content = load_content(Settings.from_env().content_dir)
    report = evaluate(Matcher(content), Path(args.csv))
    yardstick = None if args.no_yardstick else evaluate(Yardstick(content).predict, Path(args.csv))
    if args.json:
        data = report.as_dict()
        print(json.dumps({**data, "yardstick": yardstick.as_dict() if yardstick else None},
                         ensure_ascii=False, indent=2))
    else:
        print(format_report(report))
        if yardstick:
            print(format_comparison(report, yardstick))
    return 0


def cmd_intents_export(args: argparse.Namespace) -> int:
    from bot.content.load import load_content

    content = load_content(Settings.from_env().content_dir)
    data = [
        {"id": i.id, "examples": [{"text": t, "lang": lang} for lang, ts in i.examples.items() for t in ts]}
        for i in content.intents.values()
    ]
    print(json.dumps(data, ensure_ascii=False, indent=2))
    return 0


def cmd_intents_new(args: argparse.Namespace) -> int:
    import datetime as dt

    path = Settings.from_env().content_dir / f"{args.id}.yaml"
    if path.exists():
        print(f"{path} exists already", file=sys.stderr)
        return 1
    langs = ("en", "roman_ur", "ur")
    skeleton = {
        "id": args.id,
        "reviewed": dt.date.today().isoformat(),
        "title": {lang: "TODO short label" for lang in langs},
        "options": [],
        "examples": {lang: ["TODO an example", "TODO another"] for lang in langs},
        "answer": {lang: "TODO the answer; facts by key, e.g. {pta.helpline}\n" for lang in langs},
    }
    path.write_text(yaml.safe_dump(skeleton, allow_unicode=True, sort_keys=False), encoding="utf-8")
    print(f"wrote {path}: fill it in, then run `python -m bot intents check`")
    return 0


def cmd_intents_misses(args: argparse.Namespace) -> int:
    from bot.content.load import load_content
    from bot.ops.misses import format_misses, miss_report
    from bot.state.backend import open_store

    settings = Settings.from_env()
    content = load_content(settings.content_dir)
    store = open_store(settings)
    try:
        groups = miss_report(store, content, args.days)
    finally:
        store.close()
    if args.json:
        shown = [g.as_dict() for g in groups if args.all or not g.covered]
        print(json.dumps({"days": args.days, "hidden": len(groups) - len(shown), "groups": shown},
                         ensure_ascii=False, indent=2))
    else:
        print(format_misses(groups, args.days, show_covered=args.all))
    return 0


def cmd_intents_stats(args: argparse.Namespace) -> int:
    from bot.ops.stats import format_stats, stats
    from bot.state.backend import open_store

    store = open_store(Settings.from_env())
    try:
        report = stats(store, args.days, args.by)
    finally:
        store.close()
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) if args.json else format_stats(report))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mehfooz", description="Mehfooz, a privacy-help bot.")
    sub = p.add_subparsers(dest="command", required=True)

    chat = sub.add_parser("chat", help="talk to the bot in the terminal")
    chat.add_argument("--as-phone", help="simulate a channel-verified phone number")
    chat.add_argument("--desk", action="store_true",
                      help='simulate the desk: staff posts shown here, a line "staff: ..." is a staff reply')
    chat.set_defaults(func=cmd_chat)

    serve = sub.add_parser("serve", help="run the web service (Telegram and WhatsApp webhooks)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1,
                       help="worker processes (on one machine they can share the SQLite file; "
                            "across machines they need BOT_STATE_URL: see docs/deploy.md)")
    serve.add_argument("--forwarded-allow-ips", default=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
                       help="the proxies whose X-Forwarded-For gives the client's address (the admin "
                            "throttle counts per client), comma separated addresses or networks, '*' for "
                            "any (env FORWARDED_ALLOW_IPS; default 127.0.0.1; '' trusts none)")
    serve.set_defaults(func=cmd_serve)

    telegram = sub.add_parser("telegram", help="Telegram long polling, or register the webhook")
    telegram.add_argument("action", nargs="?", choices=["poll", "set-webhook"], default="poll")
    telegram.set_defaults(func=cmd_telegram)

    cases = sub.add_parser("cases", help="the desk's cases (chats handed to helpline staff)")
    csub = cases.add_subparsers(dest="cases_command", required=True)
    clist = csub.add_parser("list", help="number, state, language, opened, closed, messages in and out")
    clist.add_argument("--json", action="store_true")
    clist.add_argument("--limit", type=int, default=0, help="the newest N only")
    clist.set_defaults(func=cmd_cases_list)

    purge = sub.add_parser("purge", help="delete rows past their retention (the service does it hourly)")
    purge.set_defaults(func=cmd_purge)

    match = sub.add_parser("match", help="match messages to intents")
    match.add_argument("text", nargs="*", help="a message (default: one per stdin line)")
    match.add_argument("--json", action="store_true", help="one JSON object per message")
    match.set_defaults(func=cmd_match)

    scam = sub.add_parser("scam-check", help="red flags of a scam in messages (verdict and flags)")
    scam.add_argument("text", nargs="*", help="a message (default: one per stdin line)")
    scam.add_argument("--json", action="store_true", help='one {"verdict", "score", "flags"} per message')
    scam.add_argument("--explain", action="store_true", help="how each flag fired (for tuning the rules)")
    scam.add_argument("--image", metavar="FILE",
                      help='read a screenshot (PNG, JPEG, WebP) first; --json adds "text": what was read')
    scam.set_defaults(func=cmd_scam_check)

    scam_cmd = sub.add_parser("scam", help="evaluate the scam checker")
    scam_sub = scam_cmd.add_subparsers(dest="scam_command", required=True)
    scam_ev = scam_sub.add_parser("eval", help="flagged and likely_scam rates per label (CSV: text,label)")
    scam_ev.add_argument("csv")
    scam_ev.add_argument("--json", action="store_true")
    scam_ev.add_argument("--no-yardstick", action="store_true",
                         help="skip the TF-IDF + logistic regression yardstick (it trains for seconds)")
    scam_ev.set_defaults(func=cmd_scam_eval)

    breach_cli.register(sub)
    alerts_cli.register(sub)
    scams_cli.register(sub)

    intents = sub.add_parser("intents", help="check, evaluate, export or add intents; misses and stats")
    isub = intents.add_subparsers(dest="intents_command", required=True)
    isub.add_parser("check", help="validate intent files and facts").set_defaults(func=cmd_intents_check)
    review = isub.add_parser("review", help="one HTML page: answers side by side, facts, warnings")
    review.add_argument("--out", default="var/content-review.html", help="where to write the page")
    review.set_defaults(func=cmd_intents_review)
    ev = isub.add_parser("eval", help="accuracy on a labelled CSV (text,intent,lang)")
    ev.add_argument("csv")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--no-yardstick", action="store_true",
                    help="skip the TF-IDF + logistic regression yardstick (it takes seconds to train)")
    ev.set_defaults(func=cmd_intents_eval)
    isub.add_parser("export", help="all intents and examples as JSON").set_defaults(func=cmd_intents_export)
    new = isub.add_parser("new", help="write a skeleton intent file")
    new.add_argument("id")
    new.set_defaults(func=cmd_intents_new)
    misses = isub.add_parser("misses", help="messages the bot did not understand, grouped by similarity")
    misses.add_argument("--days", type=days_arg, default=30, help="look back this many days (default 30)")
    misses.add_argument("--json", action="store_true")
    misses.add_argument("--all", action="store_true", help="also the groups the current content now answers")
    misses.set_defaults(func=cmd_intents_misses)
    st = isub.add_parser("stats", help="messages, fallback rate and helpfulness per intent and language")
    st.add_argument("--days", type=days_arg, default=30, help="look back this many days (default 30)")
    st.add_argument("--by", choices=["day", "week"], default="day", help="one row per day or per week")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_intents_stats)
    return p


def main(argv: list[str] | None = None) -> int:
    from bot.content.load import ContentError

    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ContentError as exc:
        print("The content in intents/ has problems (run `python -m bot intents check`):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
