"""N pwapp replicas behind HAProxy on one address: `make replicas N=2` (Ctrl-C stops them all).

The production frontend is built once (`reflex export`); each replica is then what
`reflex run --env prod --single-port` serves (pages + backend) on a port of its own, all on
one PostgreSQL (`PWAPP_DATABASE_URL`) and one Redis (`PWAPP_REDIS_URL`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import suppress
from pathlib import Path
from typing import IO, Self

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HAPROXY_CFG = ROOT / "deploy" / "haproxy.cfg"
# What `reflex run --env prod` does once its build is done (REFLEX_SKIP_COMPILE is set).
SERVE = (
    "import sys; from reflex.utils.exec import run_backend_prod; from reflex_base.config import get_config; "
    "run_backend_prod(sys.argv[1], int(sys.argv[2]), get_config().loglevel.subprocess_level(), True)"
)


class Cluster:
    """`start()` migrates, builds and serves; `kill(i)` SIGKILLs replica i; `stop()` ends them all."""

    def __init__(
        self, replica_ports: list[int], proxy_port: int, *, env: dict[str, str] | None = None,
        host: str = "127.0.0.1", log: IO | None = None, start_timeout: float = 300,
    ):
        env = dict(os.environ if env is None else env)
        database, redis = env.get("PWAPP_DATABASE_URL", "").strip(), env.get("PWAPP_REDIS_URL", "").strip()
        if not database or database.startswith("sqlite"):
            raise SystemExit("PWAPP_DATABASE_URL must name a PostgreSQL database: the replicas share it")
        if not redis:
            raise SystemExit("PWAPP_REDIS_URL must be set: the replicas share Reflex's state and the throttles there")
        self.base_url = env.setdefault("PWAPP_BASE_URL", f"http://localhost:{proxy_port}")
        env.setdefault("PWAPP_TRUSTED_PROXY_HOPS", "1")
        # rxconfig.py turns PWAPP_REDIS_URL and PWAPP_WORKERS into Reflex's state store and workers;
        # the built pages open their socket on the public URL.
        env |= {"REFLEX_API_URL": self.base_url, "REFLEX_ENV_MODE": "prod", "PYTHONUNBUFFERED": "1"}
        self.env, self.host, self.log, self.start_timeout = env, host, log, start_timeout
        self.replica_urls = [f"http://{host}:{port}" for port in replica_ports]
        self.proxy_bind = f"{host}:{proxy_port}"
        self.replicas: list[subprocess.Popen | None] = []
        self.proxy: subprocess.Popen | None = None
        self._proxy_dir = Path(tempfile.mkdtemp(prefix="pwapp-haproxy-"))
        self.admin_socket = self._proxy_dir / "admin.sock"  # HAProxy's runtime API

    def start(self) -> Self:
        try:
            self._run([BIN / "alembic", "upgrade", "head"])
            self._run([BIN / "reflex", "export", "--frontend-only", "--no-zip", "--env", "prod"])
            for url in self.replica_urls:
                port = url.rsplit(":", 1)[1]
                self.replicas.append(self._spawn([sys.executable, "-c", SERVE, self.host, port], REFLEX_SKIP_COMPILE="true"))
            for url in self.replica_urls:
                self._wait_for(url)
            self.proxy = self._spawn(
                ["haproxy", "-db", "-f", self._proxy_config()],
                PWAPP_PROXY_BIND=self.proxy_bind, PWAPP_PROXY_ADMIN=str(self.admin_socket),
            )
            self._wait_for(f"http://{self.proxy_bind}")
        except BaseException:
            self.stop()
            raise
        return self

    def kill(self, index: int) -> None:
        """SIGKILL replica `index` and its workers, as a crash would."""
        process, self.replicas[index] = self.replicas[index], None
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        for process in [self.proxy, *self.replicas]:
            if process is not None:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in [self.proxy, *self.replicas]:
            if process is not None:
                with suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=20)
                with suppress(ProcessLookupError):  # workers that outlived their server
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.proxy, self.replicas = None, []
        shutil.rmtree(self._proxy_dir, ignore_errors=True)

    def _proxy_config(self) -> Path:
        """deploy/haproxy.cfg with one `server` line per replica (its last section is the backend)."""
        servers = "".join(f"    server replica{i + 1} {url.removeprefix('http://')}\n" for i, url in enumerate(self.replica_urls))
        config = self._proxy_dir / "haproxy.cfg"
        config.write_text(HAPROXY_CFG.read_text().rstrip("\n") + "\n" + servers)
        return config

    def _run(self, command: list) -> None:
        result = subprocess.run([str(c) for c in command], cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} {command[1]} exited with {result.returncode}")

    def _spawn(self, command: list, **extra: str) -> subprocess.Popen:
        return subprocess.Popen(
            [str(c) for c in command], cwd=ROOT, env=self.env | extra, stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,  # its own group: Ctrl-C and kill() reach its workers
        )

    def _wait_for(self, url: str) -> None:
        deadline = time.monotonic() + self.start_timeout
        while not (_answers(url + "/ping") and _answers(url + "/auth/login")):
            if any(p is not None and p.poll() is not None for p in [self.proxy, *self.replicas]):
                raise RuntimeError(f"a server exited before {url} answered")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no answer on {url}/ping within {self.start_timeout:.0f} s")
            time.sleep(0.25)  # polling interval

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, nargs="?", default=2, help="replicas (default 2)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")), help="HAProxy's port (replicas: the next ones)")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even when started in the background
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stops the servers like Ctrl-C
    cluster = Cluster([args.port + 1 + i for i in range(args.count)], args.port, host=args.host)
    with cluster:
        print(f"{args.count} replicas ({', '.join(cluster.replica_urls)}) behind {cluster.base_url}; Ctrl-C stops them", flush=True)
        with suppress(KeyboardInterrupt):
            while cluster.proxy.poll() is None:
                time.sleep(1)


if __name__ == "__main__":
    main()
