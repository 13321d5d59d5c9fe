"""The web service as a child process, exactly as deployed (`python -m bot serve`), for tests
and benchmarks that kill it mid-stream, restart it on the same database or watch its memory.

    service = ServiceProcess(env, log_path).start()   # waits until /healthz answers 200
    service.kill()                                     # SIGKILL: no shutdown code runs
    service.start()                                    # again, same port, same database
    service.stop()                                     # SIGINT: uvicorn's graceful shutdown
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Self

import httpx

from bot.testing.http import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


class ServiceProcess:
    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None):
        self.env = env
        self.log_path = log_path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def start(self, timeout: float = 60.0) -> Self:
        """Start the service (stdout and stderr appended to the log) and wait for /healthz."""
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed when the process ends
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)  # polling with a deadline: the child gives no other signal
        self.kill()
        raise RuntimeError(f"the service did not come up in {timeout:g} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: no cleanup, no flush."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self._reap(10)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGINT (graceful: in-flight requests and background tasks finish), SIGKILL if stuck."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._reap(10)

    def _reap(self, timeout: float) -> None:
        if self.process is not None:
            self.process.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def memory_kb(self) -> tuple[int, int]:
        """(current RSS, peak RSS) in kB, from /proc (Linux); (0, 0) when unavailable."""
        values = {"VmRSS": 0, "VmHWM": 0}
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                name, _, rest = line.partition(":")
                if name in values:
                    values[name] = int(rest.split()[0])
        except (OSError, ValueError):
            pass
        return values["VmRSS"], values["VmHWM"]

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def service_env(db: Path, telegram_url: str, *, token: str, webhook_secret: str, twilio_token: str,
                public_url: str, secret: str = "test-secret", **extra: str) -> dict[str, str]:
    """The environment for `python -m bot serve` with both channels on and no outside service:
    the inherited environment minus any setting of ours, then these."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BOT_", "TELEGRAM_", "TWILIO_", "HIBP_", "BREACH_", "XON_", "PUBLIC_URL"))}
    env.update({
        # No outside service: with no HIBP key emails would go to XposedOrNot, so it is pointed
        # at a closed loopback port unless a test gives its stand-in.
        "XON_API_URL": "http://127.0.0.1:9",
        "BOT_DB": str(db), "BOT_SECRET": secret, "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_WEBHOOK_SECRET": webhook_secret, "TELEGRAM_API_URL": telegram_url,
        "TWILIO_AUTH_TOKEN": twilio_token, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "PUBLIC_URL": public_url, "PYTHONUNBUFFERED": "1", **extra,
    })
    return env
