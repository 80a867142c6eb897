"""The app under test: `alembic upgrade head` + `reflex run --env prod --single-port` on a temp DB."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"


def log(message: str) -> None:
    """Progress goes to stderr; stdout is for the JSON result only."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(workdir: Path, port: int) -> dict[str, str]:
    """The PWAPP_* settings of the bench: a fresh DB, file mail, one trusted proxy hop.

    PWAPP_REDIS_URL is set empty (not just unset) so a developer's `.env` cannot turn the
    throttles' storage into a shared Redis holding counts from earlier runs.
    """
    return {
        "PWAPP_ENV": "production",
        "PWAPP_DATABASE_URL": f"sqlite:///{workdir}/bench.db",
        "PWAPP_BASE_URL": f"http://localhost:{port}",
        "PWAPP_SECRET_KEY": secrets.token_urlsafe(48),
        "PWAPP_REDIS_URL": "",
        "PWAPP_TRUSTED_PROXY_HOPS": "1",
        "PWAPP_MAIL_BACKEND": "file",
        "PWAPP_MAIL_DIR": str(workdir / "mail"),
        "REFLEX_CHECK_LATEST_VERSION": "0",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_BUN_PATH": str(ROOT / ".tools" / "node_modules" / ".bin" / "bun"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine spent busy (not idle, not waiting on I/O) since boot."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    guest = sum(values[8:10])  # already counted in user and nice
    return (sum(values) - guest - idle) / os.sysconf("SC_CLK_TCK")


class AppServer:
    """The production server in its own process group, killed as a group on stop()."""

    def __init__(self, workdir: Path, port: int, env: dict[str, str], start_timeout: float):
        self.workdir = workdir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PWAPP_")} | env
        self.start_timeout = start_timeout
        self.log_path = workdir / "app.log"
        self.process: subprocess.Popen | None = None
        self._log = None
        self._started = 0.0

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _fail(self, why: str) -> None:
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"pwapp did not start: {why}\n--- tail of {self.log_path} ---\n{tail}")

    def migrate(self) -> None:
        self._log = self._log or open(self.log_path, "ab")
        done = subprocess.run(
            [str(VENV_BIN / "alembic"), "upgrade", "head"],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, timeout=120,
        )
        if done.returncode != 0:
            self._fail(f"alembic exited with {done.returncode}")

    def launch(self) -> None:
        """Start reflex (it builds the frontend first); wait_ready() waits for it."""
        self._log = self._log or open(self.log_path, "ab")
        self._started = time.monotonic()
        self.process = subprocess.Popen(
            [
                str(VENV_BIN / "reflex"), "run", "--env", "prod", "--single-port",
                "--frontend-port", str(self.port), "--backend-port", str(self.port),
                "--loglevel", "warning",
            ],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )

    def wait_ready(self) -> float:
        """Wait until /ping answers; returns the seconds since launch()."""
        deadline = self._started + self.start_timeout
        while not self._answers("/ping"):
            if self.process.poll() is not None:
                self._fail(f"reflex exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                self._fail(f"no answer on {self.url}/ping within {self.start_timeout:.0f} s")
            time.sleep(0.25)  # polling interval, not a guess at readiness
        return time.monotonic() - self._started

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the live processes of the server's group.

        Sampled before and after a series, the difference is what the server spent on it
        (the granian worker lives through the whole bench, so nothing is lost to reaping).
        """
        if self.process is None:
            return 0.0
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # after "pid (comm)": state ppid pgrp … utime is the 12th, stime the 13th
            if int(fields[2]) == self.process.pid:
                total += int(fields[11]) + int(fields[12])
        return total / ticks

    def _answers(self, path: str) -> bool:
        try:
            with urllib.request.urlopen(self.url + path, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """SIGTERM the whole process group (reflex, granian worker, bun), then SIGKILL leftovers."""
        if self.process is not None:
            pid = self.process.pid
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if self.process.poll() is None:
                self.process.wait(timeout=10)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
