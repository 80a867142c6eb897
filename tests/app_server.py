"""The production app in a subprocess on a fresh database.

    with AppServer(workdir, {"PWAPP_ENV": "development", ...}) as app:
        ...app.base_url...

`alembic upgrade head` on a new SQLite file in `workdir`, then `reflex run --env prod
--single-port` in its own process group, building into a private folder under `workdir`.
Used by the e2e tests, docs/screenshots/make_screenshots.py and the bench.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import suppress
from pathlib import Path
from typing import Self

from tests import ROOT
from tests.mail_server import free_port

VENV_BIN = ROOT / ".venv" / "bin"


class AppServer:
    """start() (or launch() then wait_ready()) runs the server; stop() kills its process group."""

    def __init__(
        self, workdir: Path, settings: dict[str, str], *, port: int | None = None,
        start_timeout: float = 300, loglevel: str = "info", app_dir: Path = ROOT, ready_path: str = "/auth/login",
    ):
        self.workdir = Path(workdir)
        self.app_dir, self.ready_path = Path(app_dir), ready_path  # another Reflex app that installs pwapp
        self.port = port or free_port()
        self.base_url = f"http://localhost:{self.port}"
        self.start_timeout, self.loglevel = start_timeout, loglevel
        self.log_path = self.workdir / "app.log"
        # Every PWAPP_* the server sees comes from here, none from the caller's environment.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PWAPP_")} | {
            "PWAPP_DATABASE_URL": f"sqlite:///{self.workdir}/app.db",
            "PWAPP_BASE_URL": self.base_url,
            "PWAPP_SECRET_KEY": secrets.token_urlsafe(36),  # 48 characters
            "PWAPP_REDIS_URL": "",  # empty, not unset: a developer's `.env` cannot add a shared Redis
            "REFLEX_CHECK_LATEST_VERSION": "0",
            "REFLEX_TELEMETRY_ENABLED": "false",
            "REFLEX_BUN_PATH": str(ROOT / ".tools" / "node_modules" / ".bin" / "bun"),
            # A private build: a `make run` in this checkout rebuilds .web/build (new chunk
            # hashes) and would pull the JS from under a browser.
            "REFLEX_WEB_WORKDIR": str(self.workdir / "web"),
            "REFLEX_STATES_WORKDIR": str(self.workdir / "states"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
        } | settings
        self.process: subprocess.Popen | None = None
        self._log = None
        self._started = 0.0

    def launch(self) -> None:
        """Migrate, then start reflex (it builds the frontend first); wait_ready() waits for it."""
        self._log = self._log or open(self.log_path, "ab")  # noqa: SIM115  (open while the server runs)
        migrate = subprocess.run(
            [str(VENV_BIN / "alembic"), "upgrade", "head"],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, timeout=120, check=False,
        )
        if migrate.returncode != 0:
            self._fail(f"alembic exited with {migrate.returncode}")
        self._started = time.monotonic()
        self.process = subprocess.Popen(
            [
                str(VENV_BIN / "reflex"), "run", "--env", "prod", "--single-port",
                "--frontend-port", str(self.port), "--backend-port", str(self.port),
                "--loglevel", self.loglevel,
            ],
            cwd=self.app_dir, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self) -> float:
        """Wait until /ping and the login page answer; returns the seconds since launch()."""
        deadline = self._started + self.start_timeout
        while not (self._answers("/ping") and self._answers(self.ready_path)):
            if self.process.poll() is not None:
                self._fail(f"reflex exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                self._fail(f"no answer on {self.base_url}/ping within {self.start_timeout:.0f} s")
            time.sleep(0.25)  # polling interval, not a guess at readiness
        return time.monotonic() - self._started

    def start(self) -> Self:
        self.launch()
        self.wait_ready()
        return self

    def _answers(self, path: str) -> bool:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _fail(self, why: str):
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"pwapp did not start: {why}\n--- tail of {self.log_path} ---\n{tail}")

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the live processes of the server's group.

        Sampled before and after a series, the difference is what the server spent on it
        (the granian worker lives as long as the server, so nothing is lost to reaping).
        """
        if self.process is None:
            return 0.0
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
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGTERM the whole process group (reflex, granian worker, bun), then SIGKILL leftovers."""
        if self.process is not None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
            with suppress(ProcessLookupError):  # anything of the group still alive (workers outliving the leader)
                os.killpg(self.process.pid, signal.SIGKILL)
            if self.process.poll() is None:
                self.process.wait(timeout=10)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
