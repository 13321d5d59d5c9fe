"""A throwaway `redis-server` on loopback for tests and benchmarks: no persistence, a free
port, stopped on exit. Debian: `apt-get install redis-server` (the service need not run)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bot.testing.http import free_port


class RedisMissing(RuntimeError):
    """No redis-server on PATH."""


@dataclass(frozen=True)
class RedisServer:
    url: str  # redis://127.0.0.1:PORT/0
    pid: int


def redis_server_path() -> str | None:
    return shutil.which("redis-server")


@contextmanager
def run_redis(timeout: float = 20.0) -> Iterator[RedisServer]:
    """Start `redis-server --port P --save '' --appendonly no` and yield it (URL and pid)
    once it answers PING; stop it (and wait) on exit."""
    import redis

    binary = redis_server_path()
    if binary is None:
        raise RedisMissing("redis-server is not installed (apt-get install -y redis-server)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="mehfooz-redis-") as folder:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", folder, "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            _wait_for_ping(redis.Redis.from_url(url, socket_timeout=1), process, timeout)
            yield RedisServer(url, process.pid)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            if process.stderr:
                process.stderr.close()


def _wait_for_ping(client, process: subprocess.Popen, timeout: float) -> None:  # noqa: ANN001
    import redis

    deadline = time.monotonic() + timeout
    while True:
        try:
            if client.ping():
                client.close()
                return
        except redis.ConnectionError:
            pass
        if process.poll() is not None:
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"redis-server exited ({process.returncode}): {error.strip()}")
        if time.monotonic() > deadline:
            raise RuntimeError("redis-server did not answer PING in time")
        time.sleep(0.02)
