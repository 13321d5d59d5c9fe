"""Scaling out: the web service with 1, 2 and 4 workers sharing one Redis, against the same
load, side by side with one worker on SQLite (the default: one process, one file).

    .venv/bin/python bench/bench_scale.py                     # 10 s per configuration
    .venv/bin/python bench/bench_scale.py --mode workers      # uvicorn --workers N instead
    .venv/bin/python bench/bench_scale.py --seconds 3 --workers 1,2   # a quick look

The load: signed Twilio WhatsApp posts to `/whatsapp`, each from a new sender with a new
MessageSid (bench_service's forms: English, Roman Urdu and Urdu texts), built and signed
before the clock starts; the same list for every configuration. A closed loop of `--clients`
keep-alive connections, each sending its next request as soon as the last one is answered,
for `--seconds` after a warm-up. A worker handles one message at a time (the core is
synchronous), so a few connections a worker keep every worker busy; more only queue (p50 is
about clients / throughput). The client is a bare asyncio HTTP/1.1 one (no httpx): on a
small machine it shares the cores with the servers, so it must cost little.

Workers are uvicorn running `bot.service:create_app`, access log off, on 127.0.0.1, with a
fresh SQLite file or an emptied Redis (`redis-server --save '' --appendonly no`, started
here). Two ways to run N of them (`--mode`):
- processes (default): N one-worker processes on N ports; the client spreads its
  connections over them in turn, as a load balancer spreads requests over dynos;
- workers: one `uvicorn --workers N` on one port, as a dyno's Procfile line runs it. The
  workers share the listening socket, and the kernel gives each new connection to whichever
  worker accepts first: with a few long-lived connections the split can be uneven (the
  "share" column shows it), which then limits throughput, not Redis.

Printed per configuration: answered messages a second, p50 and p99 latency, the CPU used by
the workers, by Redis and by the load generator (100% = one core), CPU milliseconds a message
(workers and Redis), and each worker's share of the work. Then Redis memory: bytes per key of
each kind (MEMORY USAGE) and used memory per message, which docs/deploy.md turns into costs.

Goals (issue "7 of 7"): 2 workers on Redis at least 1.6 times one; p99 under 50 ms. Workers
beyond the number of cores cannot add throughput, and the load generator takes its share of
the cores: `os.cpu_count()` and the load average are printed. Everything is bounded in time
and count and stops by itself."""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import hashlib
import hmac
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_plus, urlencode

from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_service import AUTH, PUBLIC_URL, Traffic, cpu_seconds, free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STAGGER = 0.005  # seconds between opening two connections


# --- the load -----------------------------------------------------------------------------
def build_requests(count: int) -> list[bytes]:
    """`count` raw HTTP/1.1 requests, each from a new sender with a new MessageSid, signed as
    Twilio signs them (the Host header, HOSTPORT here, is filled in per server). The form is
    bench_service's; the signature is computed here, the same way (checked against the
    twilio library), because RequestValidator takes ~150 us a request."""
    validator, traffic = RequestValidator(AUTH), Traffic()
    quote = functools.lru_cache(maxsize=4096)(quote_plus)  # names and most values repeat
    url = f"{PUBLIC_URL}/whatsapp".encode()
    requests = []
    for n in range(count):
        form = _form(traffic)
        signed = url + b"".join(k.encode() + v.encode() for k, v in sorted(form.items()))
        signature = base64.b64encode(hmac.new(AUTH.encode(), signed, hashlib.sha1).digest()).decode()
        body = "&".join(f"{quote(k)}={quote(v)}" for k, v in form.items()).encode()
        if n == 0:
            assert signature == validator.compute_signature(url.decode(), form)
            assert body == urlencode(form).encode()
        head = ("POST /whatsapp HTTP/1.1\r\nHost: HOSTPORT\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        requests.append(head + body)
    return requests


def _form(traffic: Traffic) -> dict[str, str]:
    """The next WhatsApp form of bench_service's traffic (new sender, new MessageSid)."""
    n, text = traffic._next()
    sid, sender = f"SM{n:032x}", f"whatsapp:+92300{n % 10_000_000:07d}"
    return {
        "SmsMessageSid": sid, "NumMedia": "0", "ProfileName": f"User {n}", "MessageType": "text",
        "SmsSid": sid, "WaId": sender.removeprefix("whatsapp:+"), "SmsStatus": "received",
        "Body": text, "To": "whatsapp:+14155238886", "NumSegments": "1", "ReferralNumMedia": "0",
        "MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender, "ApiVersion": "2010-04-01",
    }


@dataclass
class Tally:
    ok: int = 0  # 200 with at least one <Message>: answered
    bad: int = 0  # any other status, an empty answer, or a broken connection
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    exhausted: bool = False  # the prepared requests ran out before the time did
    bytes_in: int = 0  # request bytes sent, and answer bytes received, of the answered ones
    bytes_out: int = 0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


async def one_client(port: int, requests: list[bytes], cursor: list[int], deadline: float,
                     tally: Tally, record: bool) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    host = f"{HOST}:{port}".encode()
    loop = asyncio.get_running_loop()
    try:
        while loop.time() < deadline:
            if cursor[0] >= len(requests):
                tally.exhausted = True
                return
            raw = requests[cursor[0]].replace(b"HOSTPORT", host, 1)
            cursor[0] += 1
            began = loop.time()
            writer.write(raw)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
            length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
            body = await reader.readexactly(length)
            if not record:
                continue
            if head.startswith(b"HTTP/1.1 200") and b"<Message>" in body:
                tally.ok += 1
                tally.latencies.append(loop.time() - began)
                tally.bytes_in += len(raw)
                tally.bytes_out += len(head) + length
            else:
                tally.bad += 1
    except (TimeoutError, OSError, asyncio.IncompleteReadError, IndexError, ValueError):
        tally.bad += 1
    finally:
        writer.close()


async def closed_loop(ports: list[int], requests: list[bytes], cursor: list[int], clients: int,
                      seconds: float, record: bool = True) -> Tally:
    """`clients` connections, spread over `ports` in turn, opened a few milliseconds apart:
    uvicorn's workers share one listening socket and a worker accepts every connection that
    is waiting when it wakes up, so a burst of connects lands on one worker; opened while
    the others already work, each goes to a worker that is free."""
    tally = Tally()
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for n in range(clients):
        tasks.append(asyncio.create_task(
            one_client(ports[n % len(ports)], requests, cursor, start + seconds, tally, record)))
        await asyncio.sleep(STAGGER)
    await asyncio.gather(*tasks)
    tally.elapsed = loop.time() - start
    return tally


# --- the servers --------------------------------------------------------------------------
def descendants(pid: int) -> list[int]:
    """The process and all its children, grandchildren... (Linux /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += parents.get(current, [])
    return found


@dataclass
class Config:
    name: str
    workers: int
    redis_url: str = ""  # empty: SQLite
    processes: bool = False  # N single-worker processes on N ports, not uvicorn --workers N


class Server:
    """`uvicorn bot.service:create_app --factory --workers N`, as the Procfile runs it; or,
    with `processes`, N such servers of one worker each on their own ports (as several
    dynos behind a load balancer, which the client plays by spreading its connections)."""

    def __init__(self, config: Config, folder: Path):
        self.config = config
        env = {**os.environ, "BOT_DB": str(folder / "bot.db"), "BOT_SECRET": "bench-secret",
               "BREACH_PEPPER": "bench-pepper", "TWILIO_AUTH_TOKEN": AUTH,
               "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "PUBLIC_URL": PUBLIC_URL,
               "BOT_STATE_URL": config.redis_url}
        each = 1 if config.processes else config.workers
        self.ports = [free_port() for _ in range(config.workers if config.processes else 1)]
        self.logs = [folder / f"server-{n}.log" for n in range(len(self.ports))]
        self.processes = []
        for port, log_path in zip(self.ports, self.logs, strict=True):
            with open(log_path, "wb") as log:
                self.processes.append(subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", "bot.service:create_app", "--factory", "--host", HOST,
                     "--port", str(port), "--workers", str(each), "--log-level", "info", "--no-access-log"],
                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                ))

    def _log_tail(self) -> str:
        return "\n".join(log.read_text(errors="replace")[-1500:] for log in self.logs)

    def wait_until_up(self, timeout: float = 90) -> None:
        """Up when every worker has said "Application startup complete" and /healthz answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError("a server exited:\n" + self._log_tail())
            started = sum(log.read_text(errors="replace").count("Application startup complete")
                          for log in self.logs)
            if started >= self.config.workers and all(_healthy(port) for port in self.ports):
                return
            time.sleep(0.2)
        raise RuntimeError("the server did not come up:\n" + self._log_tail())

    def worker_pids(self) -> list[int]:
        """The processes that serve: each process of one worker, or the workers under
        uvicorn's supervisor (which only watches them)."""
        pids = []
        for process in self.processes:
            tree = descendants(process.pid)
            pids += [tree[0]] if len(tree) == 1 else [p for p in tree[1:] if _is_worker(p)]
        return pids

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def _rss(pid: int) -> int:
    try:
        line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0
    return int(line.split()[1]) * 1024


def _is_worker(pid: int) -> bool:
    try:
        return b"multiprocessing.resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _healthy(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=2) as sock:
            sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


# --- one configuration --------------------------------------------------------------------
@dataclass
class Result:
    config: Config
    tally: Tally
    worker_cpu: list[float]  # CPU seconds of each worker over the measured phase
    redis_cpu: float
    client_cpu: float
    sent: int  # requests sent in all, warm-up included
    rss: list[int]  # resident memory of each worker at the end, bytes

    @property
    def rate(self) -> float:
        return self.tally.ok / self.tally.elapsed if self.tally.elapsed else 0.0

    @property
    def cpu_ms_per_message(self) -> float:
        if not self.tally.ok:
            return float("nan")
        return (sum(self.worker_cpu) + self.redis_cpu) / self.tally.ok * 1000

    @property
    def spread(self) -> str:
        """Each worker's share of the workers' CPU, in percent."""
        total = sum(self.worker_cpu) or 1.0
        return "/".join(f"{cpu / total * 100:.0f}" for cpu in sorted(self.worker_cpu, reverse=True))


def run_config(config: Config, requests: list[bytes], args: argparse.Namespace, redis_pid: int,
               folder: Path) -> Result:
    server = Server(config, folder)
    try:
        server.wait_until_up()
        pids = server.worker_pids()
        cursor = [0]
        # Warm-up, not counted: first requests pay for imports, caches and connections.
        asyncio.run(closed_loop(server.ports, requests, cursor, args.clients, args.warmup, record=False))
        before = [cpu_seconds(p) for p in pids]
        redis_before, client_before = cpu_seconds(redis_pid) if redis_pid else 0.0, time.process_time()
        tally = asyncio.run(closed_loop(server.ports, requests, cursor, args.clients, args.seconds))
        worker_cpu = [cpu_seconds(p) - b for p, b in zip(pids, before, strict=True)]
        rss = [_rss(p) for p in pids]
        redis_cpu = (cpu_seconds(redis_pid) - redis_before) if redis_pid and config.redis_url else 0.0
        client_cpu = time.process_time() - client_before
        return Result(config, tally, worker_cpu, redis_cpu, client_cpu, cursor[0], rss)
    finally:
        server.stop()


# --- Redis memory -------------------------------------------------------------------------
def redis_memory(url: str, messages: int) -> list[str]:
    """Bytes per key of each kind (MEMORY USAGE over a sample) and used memory per message."""
    import redis

    r = redis.Redis.from_url(url, decode_responses=True)
    lines = []
    kinds: dict[str, list[str]] = {}
    for key in r.scan_iter("mehfooz:*", count=1000):
        kind = key.split(":")[1]
        if len(kinds.setdefault(kind, [])) < 200:
            kinds[kind].append(key)
    counts = {kind: 0 for kind in kinds}
    for key in r.scan_iter("mehfooz:*", count=1000):
        counts[key.split(":")[1]] += 1
    for kind, keys in sorted(kinds.items()):
        sizes = [r.memory_usage(k, samples=0) or 0 for k in keys]
        lines.append(f"  {kind + ':':<6} {counts[kind]:>8} keys, {statistics.mean(sizes):>7.0f} bytes each "
                     f"(MEMORY USAGE, mean of {len(sizes)}), TTL {r.ttl(keys[0])} s")
    info = r.info("memory")
    used = info["used_memory"] - info.get("used_memory_startup", 0)
    if messages:
        lines.append(f"  used_memory above start-up: {used / 1e6:.1f} MB for {messages} messages, "
                     f"{used / messages:.0f} bytes a message (each from a new sender)")
    r.close()
    return lines


def flush(url: str) -> None:
    import redis

    r = redis.Redis.from_url(url)
    r.flushall()
    r.close()


# --- the run ------------------------------------------------------------------------------
def report(results: list[Result], args: argparse.Namespace, load_before: float) -> None:
    print(f"\nClosed loop: {args.clients} connections, {args.seconds:g} s per configuration after "
          f"{args.warmup:g} s of warm-up; {os.cpu_count()} CPUs, load average {load_before:.1f} at the "
          f"start, {os.getloadavg()[0]:.1f} at the end (other work on the machine skews it all).\n")
    head = (f"{'configuration':<20}{'answered':>9}{'bad':>5}{'msg/s':>8}{'vs 1':>6}{'p50 ms':>8}{'p99 ms':>8}"
            f"{'workers%':>9}{'redis%':>7}{'client%':>8}{'cpu ms/msg':>11}  share of workers %")
    print(head)
    print("-" * len(head))
    one = next((r for r in results if r.config.redis_url and r.config.workers == 1), None)
    for r in results:
        t = r.tally
        ratio = r.rate / one.rate if one and one.rate else float("nan")
        busy = [cpu / t.elapsed * 100 for cpu in (sum(r.worker_cpu), r.redis_cpu, r.client_cpu)]
        print(f"{r.config.name:<20}{t.ok:>9}{t.bad:>5}{r.rate:>8.0f}{ratio:>6.2f}{t.pct(0.5):>8.1f}"
              f"{t.pct(0.99):>8.1f}{busy[0]:>9.0f}{busy[1]:>7.0f}{busy[2]:>8.0f}{r.cpu_ms_per_message:>11.2f}"
              f"  {r.spread}"
              + ("  (requests ran out)" if t.exhausted else ""))
    r = results[-1]
    if r.tally.ok:
        print(f"\nper answered message: {r.tally.bytes_in / r.tally.ok:.0f} bytes in, "
              f"{r.tally.bytes_out / r.tally.ok:.0f} bytes out (HTTP, headers included); each worker's "
              f"resident memory: {statistics.mean(r.rss) / 1e6:.0f} MB")
    print("\nmsg/s: answered messages a second; vs 1: against one worker on Redis; workers%, redis%, "
          "client%: CPU over the phase (100 = one core); cpu ms/msg: workers and Redis together.")
    print("\nGoals")
    two = next((r for r in results if r.config.redis_url and r.config.workers == 2), None)
    if one and two:
        ratio = two.rate / one.rate if one.rate else 0.0
        verdict = "met" if ratio >= 1.6 else "NOT met"
        print(f"  2 workers on Redis: {ratio:.2f} times one, goal >= 1.6: {verdict}")
    for r in results:
        p99 = r.tally.pct(0.99)
        print(f"  {r.config.name}: p99 {p99:.1f} ms, goal < 50 ms: {'met' if p99 < 50 else 'NOT met'}"
              + ("" if r.tally.bad == 0 else f"; {r.tally.bad} bad answers"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2,4", help="worker counts on Redis (1,2,4)")
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per configuration (10)")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up seconds, not counted (2)")
    parser.add_argument("--clients", type=int, default=8, help="closed-loop connections (8)")
    parser.add_argument("--no-sqlite", action="store_true", help="leave out one worker on SQLite")
    parser.add_argument("--mode", choices=["processes", "workers"], default="processes",
                        help="processes: N one-worker uvicorn processes on N ports, the client spreading "
                             "its connections over them as a load balancer does over dynos (default); "
                             "workers: one `uvicorn --workers N` on one port")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    if not (0 < args.seconds <= 60 and 0 <= args.warmup <= 10 and 1 <= args.clients <= 256
            and counts and all(1 <= n <= 16 for n in counts)):
        parser.error("keep --seconds <= 60, --warmup <= 10, --clients <= 256, workers 1..16")

    from bot.testing.redis_server import run_redis

    load_before = os.getloadavg()[0]
    # Enough for 3000 messages a second, warm-up included; the same list for every run.
    requests = build_requests(int(3000 * (args.seconds + args.warmup)))
    results: list[Result] = []
    memory: list[str] = []
    with run_redis() as redis_server, tempfile.TemporaryDirectory(prefix="mehfooz-scale-") as tmp:
        configs = [] if args.no_sqlite else [Config("sqlite, 1 worker", 1)]
        unit = ("process", "processes") if args.mode == "processes" else ("worker", "workers")
        configs += [Config(f"redis, {n} {unit[n > 1]}", n, redis_server.url, args.mode == "processes")
                    for n in counts]
        for number, config in enumerate(configs):
            print(f"{config.name}: starting, then {args.seconds:g} s of load ...", file=sys.stderr)
            flush(redis_server.url)
            folder = Path(tmp) / str(number)
            folder.mkdir()
            results.append(run_config(config, requests, args, redis_server.pid, folder))
            if config.redis_url:
                memory = redis_memory(redis_server.url, results[-1].sent)
    report(results, args, load_before)
    if memory:
        print(f"\nRedis memory after the last run ({results[-1].config.name}):")
        print("\n".join(memory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
