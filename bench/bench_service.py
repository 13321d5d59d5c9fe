"""Load on the web service over loopback: signed Twilio posts to `/whatsapp` and Telegram
updates to `/telegram`, then the same load on a bare Starlette endpoint that returns a fixed
TwiML reply (the ceiling: what uvicorn and Starlette alone cost on this machine).

    .venv/bin/python bench/bench_service.py [--rate 200 --seconds 20]
    .venv/bin/python bench/bench_service.py --profile service.prof   # also cProfile the service
    .venv/bin/python bench/bench_service.py --unique-texts --empty-core  # and the channels alone

Everything runs on 127.0.0.1, each server in a process of its own so that none shares a GIL
with the load generator (this process, httpx.AsyncClient):
- the service: `bot.service.create_app` with a temporary SQLite file, both channels on, under
  uvicorn with one worker as `python -m bot serve` runs it (log level info, access log on;
  the output goes to a file);
- the ceiling: a bare Starlette app under the same uvicorn settings;
- the local Bot API server of `bot.testing`, which the Telegram handler sends its replies
  to; here with keep-alive and TCP_NODELAY, as the real API has, and a counter in place of
  its call log, so that it stays cheap for thousands of calls.

Phases, each bounded in requests and in time; the run stops by itself:
1. open loop, per target (whatsapp, telegram, ceiling): `--rate` requests a second for
   `--seconds`, each sent at its scheduled time whether or not earlier ones were answered,
   at most `--in-flight` on the wire at once. Latency runs from the scheduled time, so a late
   client or a queue in the server both show (no coordinated omission). Every request has
   its own sender or user and its own MessageSid or update_id; texts are English, Roman Urdu
   and Urdu. The ceiling gets the WhatsApp requests.
2. closed loop: `--clients` clients, each sending as soon as its last answer came, for
   `--closed-seconds`, `--rounds` times, the targets interleaved round by round; the
   median round is quoted.

`--empty-core` adds a second service, the same app with a core that does nothing (every
message gets one fixed reply: no database, matching or scam check) and two targets on it,
`wa:empty` and `tg:empty`: what the channels, the web layer and uvicorn cost on their own,
the floor under any core.

Printed per target: requests sent, ok (2xx), non-2xx, errors (timeouts, refused, and
"unanswered": still waiting when the phase's time bound ran out), achieved rate, p50/p99
latency, max throughput and its ratio to the ceiling's; also each server's CPU use (100% =
one core, from /proc), CPU time per request and "capacity", 2xx answers per CPU second of
the server. On a small machine the load generator can limit the ceiling's closed loop (its
CPU use is printed); capacity is the comparison that does not depend on it. Other work on
the machine slows everything: the load average is printed too."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123:bench-token"
SECRET = "bench-webhook-secret"
AUTH = "bench-twilio-auth-token"
PUBLIC_URL = "https://bot.example.org"
CEILING_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks, we got your message.'
    "</Message></Response>"
)

# What people send, the way they text: English, Roman Urdu and Urdu script (no personal data,
# so none of it takes the sensitive-data path).
TEXTS = [
    "hi",
    "how do i stop marketing calls",
    "someone called pretending to be from my bank",
    "was my data leaked",
    "how can i check if my email was in a breach",
    "my whatsapp got hacked what should i do",
    "how many sims are registered on my cnic",
    "is it safe to use public wifi at the airport",
    "how do i turn on two factor authentication",
    "i got an sms saying i won a prize, is it a scam?",
    "where can i complain against my mobile operator",
    "thank you so much",
    "what do you store about me",
    "whats the weather in lahore tomorrow",
    "salam",
    "marketing calls kese band karun",
    "mere naam pe kitni sim hain",
    "mera whatsapp hack ho gaya hai",
    "kya mera data leak hua hai",
    "pta ko shikayat kaise karun",
    "password kaise strong banaun",
    "shukriya bhai",
    "fraud ki report kahan karun",
    "meri maloomat kisi ne bech di hai kya",
    "public wifi pe banking karna theek hai?",
    "السلام علیکم",
    "مارکیٹنگ کالز کیسے بند کروں",
    "کیا میرا ڈیٹا لیک ہوا ہے",
    "میرے شناختی کارڈ پر کتنی سمیں ہیں",
    "میرا واٹس ایپ ہیک ہو گیا ہے",
    "پی ٹی اے کو شکایت کیسے کروں",
    "آن لائن فراڈ کی رپورٹ کہاں کروں",
    "پاس ورڈ کیسے مضبوط بناؤں",
    "شکریہ",
]


# --- the requests -------------------------------------------------------------------------
@dataclass(frozen=True)
class Req:
    path: str
    body: bytes
    headers: dict[str, str]


def _word(n: int) -> str:
    """A letters-only word for n (digits would all normalise to the same stand-in)."""
    letters = ""
    while True:
        n, rest = divmod(n, 26)
        letters += chr(ord("a") + rest)
        if not n:
            return "zq" + letters


class Traffic:
    """Endless requests, each from a new sender (or Telegram user) with a new MessageSid (or
    update_id); the texts take turns. `unique`: each text gets a made-up word of its own, so
    that no text repeats and the matcher's cache of short messages never helps (worst case)."""

    def __init__(self, unique: bool = False) -> None:
        self.n = 0
        self.unique = unique
        self.validator = RequestValidator(AUTH)

    def _next(self) -> tuple[int, str]:
        self.n += 1
        text = TEXTS[self.n % len(TEXTS)]
        return self.n, f"{text} {_word(self.n)}" if self.unique else text


    def whatsapp(self) -> Req:
        n, text = self._next()
        sid = f"SM{n:032x}"
        sender = f"whatsapp:+92300{n % 10_000_000:07d}"
        form = {
            "SmsMessageSid": sid, "NumMedia": "0", "ProfileName": f"User {n}", "MessageType": "text",
            "SmsSid": sid, "WaId": sender.removeprefix("whatsapp:+"), "SmsStatus": "received",
            "Body": text, "To": "whatsapp:+14155238886", "NumSegments": "1", "ReferralNumMedia": "0",
            "MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender, "ApiVersion": "2010-04-01",
        }
        signature = self.validator.compute_signature(f"{PUBLIC_URL}/whatsapp", form)
        return Req("/whatsapp", urlencode(form).encode(), {
            "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature,
        })

    def telegram(self) -> Req:
        from bot.testing.fake_telegram import text_update

        n, text = self._next()
        update = text_update(n, 100_000_000 + n, text)
        update["message"]["from"].update(first_name="User", language_code="en")
        return Req("/telegram", json.dumps(update, ensure_ascii=False).encode(), {
            "content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET,
        })


# --- measuring ----------------------------------------------------------------------------
@dataclass
class Tally:
    sent: int = 0
    ok: int = 0
    non_2xx: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, of the 2xx answers
    statuses: dict[str, int] = field(default_factory=dict)  # non-2xx codes and error kinds
    elapsed: float = 0.0
    cpu: float = 0.0  # CPU seconds the server used during the phase
    client_cpu: float = 0.0  # and this process, the load generator

    def add(self, outcome: int | str, latency: float) -> None:
        if isinstance(outcome, int) and 200 <= outcome < 300:
            self.ok += 1
            self.latencies.append(latency)
            return
        if isinstance(outcome, int):
            self.non_2xx += 1
        else:
            self.errors += 1
        self.statuses[str(outcome)] = self.statuses.get(str(outcome), 0) + 1

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Connections:
    """`size` httpx.AsyncClients of one connection each, lent out last-in first-out.

    One client of many connections would do, but httpcore's pool scans every connection for
    every waiting request on each event: once a server falls behind and requests pile up, the
    load generator spends its CPU there and becomes the bottleneck it is meant to measure.
    With one connection per client each request costs the same however many are waiting
    (they wait here, for a free connection, and that wait counts in their latency)."""

    def __init__(self, url: str, size: int, timeout: float):
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        tls = ssl.create_default_context()  # unused on http://, but each client would build its own
        self.clients = [httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits, verify=tls)
                        for _ in range(size)]
        self.free: asyncio.LifoQueue[httpx.AsyncClient] = asyncio.LifoQueue()
        for client in self.clients:
            self.free.put_nowait(client)

    async def send(self, req: Req) -> int | str:
        client = await self.free.get()
        try:
            response = await client.post(req.path, content=req.body, headers=req.headers)
            await response.aread()
            return response.status_code
        except httpx.TimeoutException:
            return "timeout"
        except httpx.HTTPError as exc:
            return type(exc).__name__
        finally:
            self.free.put_nowait(client)

    async def close(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self.clients))


async def open_loop(url: str, make: Callable[[], Req], rate: float, seconds: float, timeout: float,
                    in_flight: int) -> Tally:
    """`rate` a second for `seconds`, each at its scheduled time, never waiting for answers;
    at most `in_flight` on the wire at once, the rest wait for a connection."""
    loop = asyncio.get_running_loop()
    count = max(1, int(rate * seconds))
    requests = [make() for _ in range(count)]  # built beforehand: sending costs only sending
    tally = Tally()
    connections = Connections(url, in_flight, timeout)

    async def one(req: Req, at: float) -> None:
        tally.add(await connections.send(req), loop.time() - at)

    start = loop.time() + 0.05
    tasks = []
    for index, req in enumerate(requests):
        at = start + index / rate
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(req, at)))
        tally.sent += 1
    done, pending = await asyncio.wait(tasks, timeout=timeout + seconds + 5)
    for task in pending:  # bounded in time, whatever the server does
        task.cancel()
        tally.add("unanswered", 0.0)
    tally.elapsed = loop.time() - start
    await connections.close()
    return tally


async def closed_loop(url: str, make: Callable[[], Req], clients: int, seconds: float,
                      timeout: float) -> Tally:
    """`clients` loops, each sending its next request as soon as the last one is answered."""
    loop = asyncio.get_running_loop()
    tally = Tally()
    connections = Connections(url, clients, timeout)
    start = loop.time()
    deadline = start + seconds
    cap = 200_000  # a bound on the count, whatever the speed

    async def worker() -> None:
        while loop.time() < deadline and tally.sent < cap:
            req = make()
            tally.sent += 1
            began = loop.time()
            tally.add(await connections.send(req), loop.time() - began)

    await asyncio.gather(*(worker() for _ in range(clients)))
    tally.elapsed = loop.time() - start
    await connections.close()
    return tally


def spare_the_client_failed_imports() -> None:
    """httpcore 1.0.9 tries `import sniffio` each time it sets up a lock, and anyio >= 4.11 no
    longer installs sniffio, so every try searches sys.path again (encode/httpcore#1103). In
    the load generator only, never in a server, make that import fail at once."""
    try:
        import sniffio  # noqa: F401
    except ImportError:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the processes ------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Child:
    """One of our server processes: started with this file in a server role, stopped with
    SIGINT (uvicorn's graceful shutdown, lifespan included)."""

    def __init__(self, args: list[str], log_path: Path):
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *args], cwd=ROOT,
            stdout=subprocess.PIPE, stderr=self.log,
        )
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.process.pid

    def first_line(self, timeout: float = 30) -> str:
        assert self.process.stdout is not None
        result: list[bytes] = []
        reader = threading.Thread(target=lambda: result.append(self.process.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(timeout)
        if not result or not result[0]:
            self.log.flush()
            tail = self.log_path.read_text(errors="replace").splitlines()[-15:]
            raise RuntimeError("a server did not start:\n" + "\n".join(tail))
        return result[0].decode().strip()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()


def wait_until_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def serve_mehfooz(port: int, db: str, telegram_url: str, profile: str, inline: bool = False,
                  empty_core: bool = False) -> None:
    from bot.config import Settings
    from bot.content.load import DEFAULT_DIR
    from bot.service import create_app

    settings = Settings(
        db_path=Path(db), secret=b"bench-secret", content_dir=DEFAULT_DIR,
        telegram_token=TOKEN, telegram_secret=SECRET, telegram_api_url=telegram_url,
        twilio_account_sid="AC" + "0" * 32, twilio_auth_token=AUTH, public_url=PUBLIC_URL,
        telegram_inline=inline,
    )
    app = create_app(settings)
    if empty_core:
        empty_the_core(app.state.core)
    run_uvicorn(app, port, profile)


def empty_the_core(core: Any) -> None:
    """The core's `handle` replaced by one that does nothing: one fixed reply of an answer's
    length, no store (so no delivery to confirm), no matching, no scam check."""
    from bot.dialogue.core import Outcome
    from bot.dialogue.messages import Reply

    text = "A fixed reply from a core that does nothing, about as long as a short answer. " * 5

    def handle(msg: Any) -> Outcome:
        return Outcome([Reply(text, intent="menu")], "answered", "menu", "en")

    core.handle = handle


def serve_ceiling(port: int, profile: str) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    async def reply(request: Request) -> Response:
        await request.body()  # a real webhook reads what it was sent
        return Response(CEILING_TWIML, media_type="application/xml")

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    app = Starlette(routes=[
        Route("/whatsapp", reply, methods=["POST"]), Route("/telegram", reply, methods=["POST"]),
        Route("/healthz", healthz),
    ])
    run_uvicorn(app, port, profile)


def ready_line(text: str = "starting") -> None:
    """Tell the parent (one line on stdout, a pipe it stops reading), then send stdout where
    stderr goes, the log file: uvicorn's access log is on stdout and would fill the pipe."""
    print(text, flush=True)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())


def run_uvicorn(app: Any, port: int, profile: str) -> None:
    """As `python -m bot serve` runs it: one worker, JSON logs at level info (one line per
    request from our service), uvicorn's access log off."""
    import uvicorn

    from bot.ops import logs

    logs.setup()
    ready_line()
    profiler = cProfile.Profile(time.process_time) if profile else None  # CPU, not waits
    if profiler:
        profiler.enable()
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False, workers=1)
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)


def serve_fake_telegram() -> None:
    """The Bot API stand-in of `bot.testing`, with keep-alive (as the real API has) and a
    counter in place of its per-call scan of the log, so it stays cheap for thousands of
    calls; `benchStats` answers how many calls of each method it got."""
    from bot.testing.fake_telegram import FakeTelegram

    class BenchTelegram(FakeTelegram):
        def __init__(self, token: str):
            super().__init__(token)
            self.counts: dict[str, int] = {}

        def _result(self, method: str, params: dict[str, Any]) -> Any:
            with self.lock:
                self.counts[method] = self.counts.get(method, 0) + 1
                self.log.clear()  # nothing reads it here; keep memory flat
                sent = self.counts[method]
            if method == "benchStats":
                return dict(self.counts)
            if method == "sendMessage":
                return {
                    "message_id": 1000 + sent, "date": int(time.time()), "text": params.get("text", ""),
                    "chat": {"id": int(params["chat_id"]), "type": "private"},
                }
            return super()._result(method, params)

        def _handler(self) -> type[BaseHTTPRequestHandler]:
            base = super()._handler()

            class KeepAlive(base):  # type: ignore[misc, valid-type]
                protocol_version = "HTTP/1.1"
                disable_nagle_algorithm = True  # else headers and body wait on delayed ACKs

            return KeepAlive

    serve_until_stopped(BenchTelegram(TOKEN))


def serve_until_stopped(fake: Any) -> None:
    """Serve a fake (a `bot.testing` LocalServer) until SIGINT or SIGTERM; its URL is the
    first line on stdout."""
    ThreadingHTTPServer.request_queue_size = 1024  # the stdlib's 5 drops bursts of connects
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with fake:
        ready_line(fake.url)
        stop.wait()


def telegram_stats(url: str) -> dict[str, int]:
    try:
        return httpx.post(f"{url}/bot{TOKEN}/benchStats", timeout=5).json()["result"]
    except (httpx.HTTPError, ValueError, KeyError):
        return {}


@dataclass
class Target:
    name: str
    url: str
    pid: int
    make: Callable[[], Req]
    open: Tally = field(default_factory=Tally)
    rounds: list[Tally] = field(default_factory=list)

    @property
    def max_rate(self) -> float:
        return statistics.median(t.ok / t.elapsed for t in self.rounds) if self.rounds else 0.0

    @property
    def capacity(self) -> float:
        """Requests a CPU second of the server, median over the closed-loop rounds."""
        rates = [t.ok / t.cpu for t in self.rounds if t.cpu > 0]
        return statistics.median(rates) if rates else 0.0

    @property
    def busy(self) -> float:
        return statistics.median(t.cpu / t.elapsed for t in self.rounds) if self.rounds else 0.0


# --- the run ------------------------------------------------------------------------------
async def measure(target: Target, phase: Callable[[], Awaitable[Tally]]) -> Tally:
    """One phase against one target, with the server's CPU time over it."""
    before, client_before = cpu_seconds(target.pid), time.process_time()
    tally = await phase()
    tally.cpu = cpu_seconds(target.pid) - before
    tally.client_cpu = time.process_time() - client_before
    return tally


async def load(targets: list[Target], args: argparse.Namespace) -> None:
    for target in targets:  # warm up: first requests pay for imports and caches; not counted
        await closed_loop(target.url, target.make, 2, 0.5, args.timeout)
    for target in targets:
        print(f"open loop: {target.name}, {args.rate:g}/s for {args.seconds:g} s ...", file=sys.stderr)
        target.open = await measure(target, lambda t=target: open_loop(
            t.url, t.make, args.rate, args.seconds, args.timeout, args.in_flight))
        await asyncio.sleep(1)
    for number in range(1, args.rounds + 1):
        for target in targets:
            print(f"closed loop {number}/{args.rounds}: {target.name}, {args.clients} clients for "
                  f"{args.closed_seconds:g} s ...", file=sys.stderr)
            target.rounds.append(await measure(target, lambda t=target: closed_loop(
                t.url, t.make, args.clients, args.closed_seconds, args.timeout)))
            await asyncio.sleep(0.5)


def report(targets: list[Target], args: argparse.Namespace, telegram: dict[str, int],
           load_before: float) -> None:
    ceiling = next(t for t in targets if t.name == "ceiling")
    print(f"\nOpen loop: {args.rate:g} requests/s for {args.seconds:g} s per target "
          f"(latency from the scheduled send time). Closed loop: {args.clients} clients, "
          f"{args.rounds} rounds of {args.closed_seconds:g} s, median round quoted. Texts: "
          f"{'each one unique (no cache helps)' if args.unique_texts else f'{len(TEXTS)} that repeat'}; "
          f"Telegram replies {'in the webhook response' if args.telegram_inline else 'by sendMessage'}. "
          f"One uvicorn worker each, loopback, {os.cpu_count()} CPUs; load average at the start "
          f"{load_before:.1f}, at the end {os.getloadavg()[0]:.1f} (other work skews it all).\n")
    head = (f"{'target':<9}{'sent':>7}{'ok':>7}{'non-2xx':>8}{'errors':>7}{'rate/s':>8}{'p50 ms':>9}"
            f"{'p99 ms':>9}{'cpu%':>6}{'cpu ms/req':>11}  |{'max/s':>7}{'vs ceil':>8}{'cpu%':>6}"
            f"{'capacity/s':>11}{'vs ceil':>8}")
    print(head)
    print("-" * len(head))
    for t in targets:
        o = t.open
        rate = o.ok / o.elapsed if o.elapsed else 0.0
        cpu_req = o.cpu / o.ok * 1000 if o.ok else float("nan")
        ratio = t.max_rate / ceiling.max_rate if ceiling.max_rate else float("nan")
        cap_ratio = t.capacity / ceiling.capacity if ceiling.capacity else float("nan")
        print(f"{t.name:<9}{o.sent:>7}{o.ok:>7}{o.non_2xx:>8}{o.errors:>7}{rate:>8.1f}{o.pct(0.5):>9.1f}"
              f"{o.pct(0.99):>9.1f}{o.cpu / o.elapsed * 100:>6.0f}{cpu_req:>11.2f}  |{t.max_rate:>7.0f}"
              f"{ratio:>8.2f}{t.busy * 100:>6.0f}{t.capacity:>11.0f}{cap_ratio:>8.2f}")
    print("\nrate/s: 2xx answers a second; cpu%: the server's CPU over the phase (100 = one core); "
          "max/s: 2xx a second, closed loop;\ncapacity/s: 2xx per CPU second of the server, "
          "closed loop (independent of how fast the client is).")
    for t in targets:
        problems = {**t.open.statuses}
        for r in t.rounds:
            for key, value in r.statuses.items():
                problems[key] = problems.get(key, 0) + value
        if problems:
            print(f"{t.name}: not 2xx: {problems}")
        rounds = ", ".join(f"{r.ok / r.elapsed:.0f}" for r in t.rounds)
        lat = statistics.median(r.pct(0.5) for r in t.rounds) if t.rounds else float("nan")
        client = statistics.median(r.client_cpu / r.elapsed for r in t.rounds) if t.rounds else 0.0
        print(f"{t.name}: closed-loop rounds {rounds} /s; p50 under closed loop {lat:.1f} ms; "
              f"the load generator used {client * 100:.0f}% of a core")
    if telegram:
        print(f"telegram: the local Bot API got {telegram.get('sendMessage', 0)} sendMessage calls "
              f"(one per update handled, warm-up and given-up requests included)")

    print("\nGoals")
    for t in targets:
        if t.name == "ceiling":
            continue
        ratio = t.max_rate / ceiling.max_rate if ceiling.max_rate else 0.0
        cap_ratio = t.capacity / ceiling.capacity if ceiling.capacity else 0.0
        p99 = t.open.pct(0.99)
        fast = p99 < 20 and t.open.ok == t.open.sent
        print(f"  {t.name}: max throughput {ratio:.2f} of the ceiling (capacity {cap_ratio:.2f}), "
              f"goal >= 0.5: {'met' if ratio >= 0.5 else 'NOT met'}; "
              f"p99 {p99:.1f} ms at {args.rate:g}/s, goal < 20 ms: {'met' if fast else 'NOT met'}")
    for t in targets:
        if t.name == "ceiling" or not (t.open.ok and ceiling.open.ok):
            continue
        ratio = (t.open.cpu / t.open.ok) / (ceiling.open.cpu / ceiling.open.ok)
        goal = f", goal <= 3: {'met' if ratio <= 3 else 'NOT met'}" if ":" not in t.name else " (the floor)"
        print(f"  {t.name}: server CPU a message {ratio:.1f}x the ceiling's, open loop{goal}")
    print("  one uvicorn worker: yes (each server is one process, workers=1)")
    if ceiling.busy < 0.9:
        print(f"  note: the ceiling's server used {ceiling.busy * 100:.0f}% of a core in the closed loop, "
              "so the client limited it; the throughput ratio flatters us, the capacity ratio does not.")


def print_profile(path: Path, limit: int = 30) -> None:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("tottime").print_stats(limit)
    ours = r"(bot/|starlette|telegram/|twilio|uvicorn|httpx|sqlite|prometheus)"
    stats.sort_stats("cumulative").print_stats(ours, limit)
    print("\nService profile (cProfile; figures above are slowed by it):")
    print(out.getvalue())


def service_child(folder: Path, name: str, port: int, telegram_url: str, args: argparse.Namespace,
                  profile: str, empty_core: bool = False) -> Child:
    """Our service in a process of its own, its database and log in `folder` under `name`."""
    return Child(["--serve", "mehfooz", "--port", str(port), "--db", str(folder / f"{name}.db"),
                  "--telegram-url", telegram_url, "--profile", profile,
                  *(["--telegram-inline"] if args.telegram_inline else []),
                  *(["--empty-core"] if empty_core else [])], folder / f"{name}.log")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200, help="open loop requests a second (200)")
    parser.add_argument("--seconds", type=float, default=20, help="open loop seconds per target (20)")
    parser.add_argument("--clients", type=int, default=32, help="closed loop concurrent clients (32)")
    parser.add_argument("--closed-seconds", type=float, default=5, help="closed loop seconds per round (5)")
    parser.add_argument("--rounds", type=int, default=3, help="closed loop rounds per target (3)")
    parser.add_argument("--in-flight", type=int, default=128,
                        help="open loop: most requests on the wire at once (128)")
    parser.add_argument("--timeout", type=float, default=10,
                        help="seconds before a request counts as an error (10)")
    parser.add_argument("--telegram-inline", action="store_true",
                        help="TELEGRAM_INLINE_REPLIES: answer Telegram in the webhook's response")
    parser.add_argument("--empty-core", action="store_true",
                        help="also load the service with a core that does nothing (the channels alone)")
    parser.add_argument("--unique-texts", action="store_true",
                        help="make every text unique (no message repeats: the matcher's cache never helps)")
    parser.add_argument("--profile", metavar="FILE", default="",
                        help="run the service under cProfile, save the stats to FILE and print the top")
    parser.add_argument("--serve", choices=["mehfooz", "ceiling", "fake-telegram"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--db", default="", help=argparse.SUPPRESS)
    parser.add_argument("--telegram-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "mehfooz":
        serve_mehfooz(args.port, args.db, args.telegram_url, args.profile, args.telegram_inline,
                      args.empty_core)
        return 0
    if args.serve == "ceiling":
        serve_ceiling(args.port, "")
        return 0
    if args.serve == "fake-telegram":
        serve_fake_telegram()
        return 0
    if not (0 < args.rate <= 5000 and 0 < args.seconds <= 600 and 0 < args.closed_seconds <= 60
            and 1 <= args.clients <= 512 and 1 <= args.rounds <= 10 and 1 <= args.in_flight <= 1024
            and 0 < args.timeout <= 60):
        parser.error("keep --rate <= 5000, --seconds <= 600, --closed-seconds <= 60, --clients <= 512, "
                     "--rounds <= 10, --in-flight <= 1024, --timeout <= 60")

    spare_the_client_failed_imports()
    load_before = os.getloadavg()[0]
    traffic = Traffic(args.unique_texts)
    children: list[Child] = []
    with tempfile.TemporaryDirectory(prefix="mehfooz-bench-") as tmp:
        folder = Path(tmp)
        try:
            fake = Child(["--serve", "fake-telegram"], folder / "telegram.log")
            children.append(fake)
            telegram_url = fake.first_line()
            ours_port, ceiling_port = free_port(), free_port()
            profile = str(Path(args.profile).resolve()) if args.profile else ""
            ours = service_child(folder, "service", ours_port, telegram_url, args, profile)
            children.append(ours)
            ceiling = Child(["--serve", "ceiling", "--port", str(ceiling_port)], folder / "ceiling.log")
            children.append(ceiling)
            ours_url, ceiling_url = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{ceiling_port}"
            servers = [(ours, ours_url), (ceiling, ceiling_url)]
            if args.empty_core:
                empty_port = free_port()
                empty = service_child(folder, "empty", empty_port, telegram_url, args, "", empty_core=True)
                children.append(empty)
                servers.append((empty, f"http://127.0.0.1:{empty_port}"))
            for child, url in servers:
                child.first_line()
                wait_until_up(url)
            targets = [
                Target("whatsapp", ours_url, ours.pid, traffic.whatsapp),
                Target("telegram", ours_url, ours.pid, traffic.telegram),
                Target("ceiling", ceiling_url, ceiling.pid, traffic.whatsapp),
            ]
            if args.empty_core:
                empty_child, empty_url = servers[-1]
                targets[2:2] = [Target("wa:empty", empty_url, empty_child.pid, traffic.whatsapp),
                                Target("tg:empty", empty_url, empty_child.pid, traffic.telegram)]
            asyncio.run(load(targets, args))
            stats = telegram_stats(telegram_url)
        finally:
            for child in reversed(children):
                child.stop()
        log_lines = (folder / "service.log").read_text(errors="replace").splitlines()
    errors = [n for n, line in enumerate(log_lines) if '"level": "error"' in line or line.startswith("ERROR")]
    report(targets, args, stats, load_before)
    if errors:
        block = [log_lines[errors[0]]]
        for line in log_lines[errors[0] + 1:]:
            if line.startswith("{"):  # the next log record
                break
            block.append(line)
        shown = block if len(block) <= 4 else [block[0], "  ...", *block[-3:]]
        print(f"\nservice log: {len(errors)} errors; the first:\n" + "\n".join(shown))
    if profile:
        print_profile(Path(profile))
    return 0

if __name__ == "__main__":
    sys.exit(main())
