"""`python -m bench ui`: log in through the UI's websocket as browsers do, and time a probe.

`--users` tabs (default 16) each submit the login form (LoginState.submit with the form
dict, as Chromium sends it) in a closed loop; a login counts when the update carrying the
navigation to /auth/session?ticket=… arrives (the client does not follow it). Meanwhile one
probe tab sends a trivial event every 10 ms and times its answer. Before that, the probe runs
alone (its unloaded latency and CPU cost), and argon2id verify is timed in-process just before
and just after the loaded run: hash-bound limit = cores / verify time.

Throttles stay on. Every user owns an account (a success clears its per-account count), and
every tab has its own client IP through one trusted proxy hop (X-Forwarded-For), which Reflex
reads once per websocket; a tab is replaced by a new one (new IP, new page load) before it
reaches the per-IP limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import uvloop

from bench.reflex_client import ProtocolError, Tab
from tests.app_server import ROOT, AppServer

UI_LATEST_MD = Path(__file__).resolve().parent / "UI_LATEST.md"
LOGIN_STATE = "reflex___state____state.pwapp___state___login____login_state"
REGISTER_STATE = "reflex___state____state.pwapp___state___register____register_state"
SUBMIT = f"{LOGIN_STATE}.submit"
NAVIGATION = "/auth/session?ticket="
# Probe events: (page, event, payload). `load` runs on the event loop; `measure` (the strength
# meter, fed a 3-letter password) hops to a thread for zxcvbn, like a user typing.
PROBES = {
    "load": ("/auth/login", f"{LOGIN_STATE}.load", {}),
    "measure": ("/auth/register", f"{REGISTER_STATE}.measure", {"value": "abc"}),
}
LOGINS_PER_TAB = 90  # per client IP; the limit is 100 per 15 minutes
TARGET_RATIO = 0.85
TARGET_PROBE_P99_MS = 50.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench ui", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=16, help="tabs logging in, each with its own account (default 16)")
    parser.add_argument("--seconds", type=float, default=20, help="length of the loaded run (default 20)")
    parser.add_argument("--logins", type=int, default=None, help="stop after this many logins instead of --seconds")
    parser.add_argument("--probe", choices=sorted(PROBES), default="load", help="the probe's event (default load)")
    parser.add_argument("--probe-interval-ms", type=float, default=10, help="probe period (default 10)")
    parser.add_argument("--probe-alone-seconds", type=float, default=3, help="probe on the idle server first (default 3; 0 skips)")
    parser.add_argument("--rest-seconds", type=float, default=10, help="then the same users over POST /api/login/ for comparison (default 10; 0 skips)")
    parser.add_argument("--hash-samples", type=int, default=20, help="argon2id verify samples, before and after (default 20)")
    parser.add_argument("--workers", type=int, default=1, help="server processes (PWAPP_WORKERS; more than 1 needs --database-url and --redis-url)")
    parser.add_argument("--database-url", default="", help="PWAPP_DATABASE_URL (default: a fresh SQLite file)")
    parser.add_argument("--redis-url", default="", help="PWAPP_REDIS_URL, a database the bench empties first (default: none, in-memory state)")
    parser.add_argument("--start-timeout", type=float, default=600, help="seconds to wait for the server")
    parser.add_argument("--no-markdown", action="store_true", help=f"do not rewrite {UI_LATEST_MD.relative_to(ROOT)}")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (DB, mail, app.log)")
    args = parser.parse_args(argv)
    if args.users < 1 or args.seconds <= 0 or args.hash_samples < 1 or args.probe_interval_ms <= 0 or args.workers < 1:
        parser.error("--users, --seconds, --hash-samples, --probe-interval-ms and --workers must be positive")
    return args


# --- the load -------------------------------------------------------------------------------


@dataclass
class Timings:
    """Latencies in seconds and outcomes of one kind of event."""

    latencies: list[float] = field(default_factory=list)
    first_update: list[float] = field(default_factory=list)  # logins: when the "busy" delta came
    failures: dict[str, int] = field(default_factory=dict)

    def fail(self, why: str) -> None:
        self.failures[why] = self.failures.get(why, 0) + 1

    def summary(self) -> dict:
        from bench.load import ms, percentile

        lat, first = sorted(self.latencies), sorted(self.first_update)
        out = {
            "count": len(lat),
            "failures": self.failures,
            "p50_ms": ms(percentile(lat, 50)),
            "p99_ms": ms(percentile(lat, 99)),
            "max_ms": ms(lat[-1]) if lat else None,
            "mean_ms": ms(statistics.fmean(lat)) if lat else None,
        }
        if first:
            out["first_update_p50_ms"] = ms(percentile(first, 50))
            out["first_update_p99_ms"] = ms(percentile(first, 99))
        return out


class Run:
    """Shared clock and counters of one measured window."""

    def __init__(self, seconds: float, logins: int | None):
        self.seconds, self.logins_wanted = seconds, logins
        self.started = self.ended = 0.0
        self.done = asyncio.Event()
        self.logins_in_window = 0

    def start(self) -> None:
        self.started = time.perf_counter()
        if self.logins_wanted is None:
            asyncio.get_running_loop().call_later(self.seconds, self.finish)

    def finish(self) -> None:
        if not self.done.is_set():
            self.ended = time.perf_counter()
            self.done.set()

    def counted(self) -> None:
        if self.done.is_set():
            return
        self.logins_in_window += 1
        if self.logins_wanted is not None and self.logins_in_window >= self.logins_wanted:
            self.finish()


async def new_tab(base_url: str, path: str) -> Tab:
    from bench.__main__ import forwarded_for

    tab = Tab(base_url, forwarded_for()["X-Forwarded-For"])
    try:
        await tab.open(path)
    except BaseException:
        await tab.close()
        raise
    return tab


async def log_in(tab: Tab, email: str, password: str, timings: Timings | None) -> bool:
    """Submit the login form once; True when the navigation to the ticket arrived."""
    form = {"__reflex_form_data__": [["email", email], ["password", password]]}  # as the page encodes it
    sent = await tab.send(SUBMIT, {"form": form})
    first = None
    while True:
        update = await tab.next_update()
        first = first or update.at
        if any(NAVIGATION in target for target in update.navigations()):
            if timings is not None:
                timings.latencies.append(update.at - sent)
                timings.first_update.append(first - sent)
            return True
        state = update.delta.get(LOGIN_STATE, {})
        if state.get("busy_rx_state_") is False:  # the form is idle again: refused
            if timings is not None:
                errors = state.get("errors_rx_state_") or {}
                timings.fail("; ".join(m for msgs in errors.values() for m in msgs) or "refused")
            return False


async def user(base_url: str, email: str, password: str, run: Run, timings: Timings, ready: asyncio.Barrier) -> int:
    """One tab logging in back to back until the window closes; returns the tabs it used."""
    tab = await new_tab(base_url, "/auth/login")
    tabs, on_tab = 1, 0
    try:
        await log_in(tab, email, password, None)  # warm-up, not measured
        on_tab += 1
        await ready.wait()
        while not run.done.is_set():
            if on_tab >= LOGINS_PER_TAB:  # next login would pass the per-IP limit: a new client
                await tab.close()
                tab, tabs, on_tab = await new_tab(base_url, "/auth/login"), tabs + 1, 0
            try:
                ok = await log_in(tab, email, password, timings)
            except (ProtocolError, TimeoutError) as exc:
                timings.fail(f"{type(exc).__name__}: {exc}")
                await tab.close()
                tab, tabs, on_tab = await new_tab(base_url, "/auth/login"), tabs + 1, 0
                continue
            on_tab += 1
            if ok:
                run.counted()
    finally:
        await tab.close()
    return tabs


async def probe(tab: Tab, kind: str, interval: float, until: asyncio.Event, timings: Timings) -> None:
    """Send the probe event every `interval` seconds (right after the answer when it is late)."""
    _, name, payload = PROBES[kind]
    next_at = time.perf_counter()
    while not until.is_set():
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        sent = await tab.send(name, payload)
        update = await tab.next_update()
        timings.latencies.append(update.at - sent)
        next_at = max(next_at + interval, time.perf_counter())


async def rest_user(client, email: str, password: str, run: Run, timings: Timings, ready: asyncio.Barrier) -> int:
    """The same account logging in over POST /api/login/ back to back, a new client IP each time."""
    from bench.__main__ import forwarded_for

    await ready.wait()
    body = {"email": email, "password": password}
    while not run.done.is_set():
        sent = time.perf_counter()
        reply = await client.post("/api/login/", json=body, headers=forwarded_for())
        if reply.status_code == 200:
            timings.latencies.append(time.perf_counter() - sent)
            run.counted()
        else:
            timings.fail(f"HTTP {reply.status_code}")
    return 0


async def loaded_window(args, probe_tab: Tab, users, usage, threads) -> tuple[dict, dict, dict]:
    """Run `users(run, timings, ready)` coroutines with the probe beside them for one window;
    returns the logins' series, the probe's, and the server's CPU per login."""
    run, logins, probed = Run(args.seconds, args.logins), Timings(), Timings()
    ready = asyncio.Barrier(args.users + 1)
    tasks = [asyncio.create_task(one) for one in users(run, logins, ready)]
    await ready.wait()  # every user connected (and logged in once, on the websocket)
    used, per_thread = usage(), threads()
    run.start()
    probing = asyncio.create_task(probe(probe_tab, args.probe, args.probe_interval_ms / 1000, run.done, probed))
    await run.done.wait()
    cpu = used.summary(run.logins_in_window) | {
        "threads_ms_per_login": per_event_ms(per_thread, threads(), run.logins_in_window)
    }
    tabs = await asyncio.gather(*tasks)
    await probing
    window = run.ended - run.started
    series = logins.summary() | {
        "users": args.users,
        "window_s": round(window, 2),
        "logins_in_window": run.logins_in_window,
        "logins_per_s": round(run.logins_in_window / window, 2),
        "tabs_used": sum(tabs),
    }
    return series, probed.summary(), cpu


async def measure(
    args: argparse.Namespace, base_url: str, emails: list[str], password: str, usage, threads
) -> tuple[dict, dict]:
    """Probe alone, users + probe, then (--rest-seconds) the same over POST /api/login/;
    returns (series, cpu). `usage()` starts a bench.load.Usage, `threads()` samples the
    server's CPU per kind of thread (thread_cpu)."""
    from bench.load import Client

    interval = args.probe_interval_ms / 1000
    probe_tab = await new_tab(base_url, PROBES[args.probe][0])
    series, cpu = {}, {}
    try:
        warm = Timings()
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.5, stop.set)
        await probe(probe_tab, args.probe, interval, stop, warm)

        if args.probe_alone_seconds > 0:
            alone, stop, used, per_thread = Timings(), asyncio.Event(), usage(), threads()
            asyncio.get_running_loop().call_later(args.probe_alone_seconds, stop.set)
            await probe(probe_tab, args.probe, interval, stop, alone)
            series["probe_alone"] = alone.summary() | {"events_per_s": round(len(alone.latencies) / args.probe_alone_seconds, 1)}
            cpu["probe_alone"] = used.summary(len(alone.latencies)) | {
                "threads_ms_per_event": per_event_ms(per_thread, threads(), len(alone.latencies))
            }

        def tabs(run, timings, ready):
            return [user(base_url, e, password, run, timings, ready) for e in emails]

        series["login"], series["probe_loaded"], cpu["loaded"] = await loaded_window(args, probe_tab, tabs, usage, threads)

        if args.rest_seconds > 0:
            async with Client(base_url, connections=len(emails) + 2) as client:

                def rest(run, timings, ready):
                    return [rest_user(client, e, password, run, timings, ready) for e in emails]

                rest_args = argparse.Namespace(**{**vars(args), "seconds": args.rest_seconds})
                series["rest_login"], series["probe_with_rest_logins"], cpu["rest_loaded"] = await loaded_window(
                    rest_args, probe_tab, rest, usage, threads
                )
    finally:
        await probe_tab.close()
    return series, cpu


def thread_cpu(group: int) -> dict[str, float]:
    """CPU seconds so far of each kind of thread in process group `group`: the worker's main
    thread (Reflex's event loop), then by OS thread name (Python 3.11's threads, the argon2 and
    in_db pools, keep the process's name; granian's are tokio-rt-worker). From /proc: time on
    a core, not time waiting for one."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[str, float] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            tasks = list((proc / "task").iterdir())
            if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[2]) != group:
                continue
        except (OSError, ValueError, IndexError):
            continue
        for task in tasks:
            try:
                head, tail = task.joinpath("stat").read_text().rsplit(")", 1)
            except OSError:
                continue
            fields = tail.split()
            name = head.split("(", 1)[1].rstrip("0123456789_-")
            if task.name == proc.name:
                name = "leader process" if int(proc.name) == group else "event loop (main thread)"
            found[name] = found.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return found


def per_event_ms(before: dict[str, float], after: dict[str, float], events: int) -> dict[str, float]:
    """CPU ms per event of each kind of thread between two thread_cpu() samples."""
    spent = {k: after[k] - before.get(k, 0.0) for k in after}
    return {k: round(v * 1000 / max(1, events), 2) for k, v in sorted(spent.items(), key=lambda kv: -kv[1]) if v > 0}


# --- serving --------------------------------------------------------------------------------

def served(args: argparse.Namespace) -> str:
    """The server set-up in words, for the report."""
    processes = "one process (one granian worker)" if args.workers == 1 else f"{args.workers} granian worker processes"
    state = "Redis state" if args.redis_url else "in-memory state"
    database = "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite"  # the two pwapp runs on
    return f"{processes}, {state}, {database}"


def serve(args: argparse.Namespace, workdir: Path, settings: dict[str, str]) -> AppServer:
    """What the load goes to: one address (base_url), its CPU (cpu_seconds, every worker's), stop()."""
    if args.redis_url:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()  # no earlier run's throttles or states
    shared = {"PWAPP_WORKERS": str(args.workers), "PWAPP_REDIS_URL": args.redis_url}
    if args.database_url:
        shared["PWAPP_DATABASE_URL"] = args.database_url
    return AppServer(workdir, settings | shared, start_timeout=args.start_timeout, loglevel="warning")


# --- report ---------------------------------------------------------------------------------


def without_probe(cpu: dict, series: dict, probe_ms: float | None) -> float | None:
    """Server CPU ms per login in a window, less the probe events' share at their cost alone."""
    per_login = cpu.get("server_cpu_ms_per_request")
    if per_login is None or probe_ms is None:
        return per_login
    return round(per_login - probe_ms * series["probe"]["count"] / max(1, series["login"]["logins_in_window"]), 2)


def report(args, machine, series, cpu, verify, hash_bound, served_label) -> dict:
    login, loaded = series["login"], series["probe_loaded"]
    ratio = round(login["logins_per_s"] / hash_bound, 3) if hash_bound else None
    probe_ms = (cpu.get("probe_alone") or {}).get("server_cpu_ms_per_request")
    ui_cpu = without_probe(cpu["loaded"], {"login": login, "probe": loaded}, probe_ms)
    rest_cpu = (
        without_probe(cpu["rest_loaded"], {"login": series["rest_login"], "probe": series["probe_with_rest_logins"]}, probe_ms)
        if "rest_login" in series else None
    )
    return {
        "machine": machine,
        "served": served_label,
        "argon2id_verify_ms": verify,
        "hash_bound_logins_per_s": hash_bound,
        "series": series,
        "cpu": cpu,
        "server_cpu_ms_per_login": {
            "ui": ui_cpu,
            "rest": rest_cpu,
            "ui_minus_rest": round(ui_cpu - rest_cpu, 2) if ui_cpu is not None and rest_cpu is not None else None,
            "ui_besides_verify": round(ui_cpu - verify["cpu"], 2) if ui_cpu is not None else None,
        },
        "targets_detail": {
            "logins_ratio_to_hash_bound": ratio,
            "probe_p99_ms": loaded["p99_ms"],
            # Contention-free view: the share of the server's CPU per login that is argon2id.
            "ratio_if_server_had_every_core": round(verify["cpu"] / ui_cpu, 3) if ui_cpu else None,
        },
        "targets": {
            f"logins_per_s>={TARGET_RATIO}x_hash_bound": ratio is not None and ratio >= TARGET_RATIO
            and not login["failures"],
            f"probe_p99_ms<{TARGET_PROBE_P99_MS:g}": loaded["p99_ms"] is not None and loaded["p99_ms"] < TARGET_PROBE_P99_MS,
        },
        "settings": {
            "users": args.users, "probe": args.probe, "probe_interval_ms": args.probe_interval_ms,
            "seconds": args.seconds, "logins": args.logins, "rest_seconds": args.rest_seconds,
        },
        "notes": [
            "hash_bound_logins_per_s = cores / argon2id verify (median wall time in-process, single thread, "
            "sampled just before and just after the runs with the server idle). On a busy machine that wall "
            "time grows with the other load; ratio_if_server_had_every_core = verify CPU / server CPU per UI "
            "login is the contention-free projection (not a measurement).",
            "A login is timed from sending LoginState.submit to the update carrying the navigation to "
            "/auth/session?ticket=…; first_update is the form's \"busy\" delta. logins_per_s counts the "
            "logins completed inside the window; logins in flight when it closes are timed but not counted.",
            "server_cpu_ms_per_login is the server process group's CPU during a window over the logins in it, "
            "less the probe's events at their cost when the probe ran alone. rest is the same users and "
            "concurrency over POST /api/login/ (same service, a session instead of a ticket) with the probe "
            "beside it: ui_minus_rest is what the websocket path adds, with argon2's cost (which grows when "
            "the machine is busy) in both. threads_ms_per_login splits the CPU by thread: Reflex's event "
            "loop, Python's worker threads (argon2 and in_db), granian's tokio threads.",
            "Each tab is a fresh page load (cookies kept in its own jar and sent on the websocket upgrade) and "
            "its own client IP through one trusted proxy hop; the hydrate omits the initial-state hashes, so "
            "each connection gets the full initial delta once (not in any timed event).",
            "Client and server share this machine's cores (see cores_busy.bench_client) and other processes "
            "may be running (cores_busy.other_processes, loadavg): compare runs, not digits.",
        ],
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def markdown(r: dict) -> str:
    m, s, cpu = r["machine"], r["series"], r["server_cpu_ms_per_login"]
    login, loaded, alone, rest = s["login"], s["probe_loaded"], s.get("probe_alone"), s.get("rest_login")
    ok = lambda b: "met" if b else "**missed**"  # noqa: E731
    t, d = r["targets"], r["targets_detail"]

    def row(name: str, x: dict, rate, per_cpu=None) -> str:
        fails = ", ".join(f"{k}: {v}" for k, v in x.get("failures", {}).items()) or "0"
        threads = r["cpu"].get(per_cpu, {}).get("threads_ms_per_login") or r["cpu"].get(per_cpu, {}).get("threads_ms_per_event") or {}
        split = ", ".join(f"{k} {v}" for k, v in threads.items())
        busy = r["cpu"].get(per_cpu, {}).get("cores_busy", {}).get("other_processes", "")
        count = f"{x['logins_in_window']} in {x['window_s']} s" if "logins_in_window" in x else x["count"]
        return (
            f"| {name} | {count} | {rate if rate is not None else ''} | {x['p50_ms']} | {x['p99_ms']} | {x['max_ms']} "
            f"| {fails} | {split} | {busy} |\n"
        )

    return (
        f"<!-- written by `python -m bench ui` ({r['finished_at']}) -->\n"
        f"Measured {r['finished_at'][:10]} on {m['cores']} cores ({m['cpu']}), Python {m['python']}, "
        f"load average before {m['loadavg_before']}, after {m['loadavg_after']}; {r['served']}; "
        f"{login['users']} users, probe `{r['settings']['probe']}` every {r['settings']['probe_interval_ms']:g} ms.\n\n"
        "| Series | Count | Rate /s | p50 ms | p99 ms | max ms | Failures | Server CPU ms per login (or probe event), by thread | Other processes' cores |\n"
        "|---|---:|---:|---:|---:|---:|---|---|---:|\n"
        + (row("Probe alone", alone, alone["events_per_s"], "probe_alone") if alone else "")
        + row("Login over the websocket (submit → navigation)", login, login["logins_per_s"], "loaded")
        + f"| … its first update (\"busy\") | | | {login.get('first_update_p50_ms')} | {login.get('first_update_p99_ms')} | | | | |\n"
        + row("Probe during the websocket logins", loaded, None)
        + (row("Login over REST (POST /api/login/)", rest, rest["logins_per_s"], "rest_loaded") if rest else "")
        + (row("Probe during the REST logins", s["probe_with_rest_logins"], None) if rest else "")
        + f"\nargon2id verify {r['argon2id_verify_ms']['wall']} ms wall, {r['argon2id_verify_ms']['cpu']} ms CPU "
        f"({r['argon2id_verify_ms']['before']} ms before, {r['argon2id_verify_ms']['after']} ms after the runs): "
        f"hash-bound limit = {m['cores']} cores / verify = {r['hash_bound_logins_per_s']} logins/s. "
        f"Server CPU per login, the probe's share removed: websocket {cpu['ui']} ms, REST {cpu['rest']} ms "
        f"(websocket − REST = {cpu['ui_minus_rest']} ms); websocket besides verify's CPU: {cpu['ui_besides_verify']} ms.\n\n"
        "| Target | Measured | Result | For context (not the target) |\n|---|---:|---|---|\n"
        f"| logins/s ≥ {TARGET_RATIO} × hash-bound ({login['users']} users) | {d['logins_ratio_to_hash_bound']} "
        f"| {ok(t[f'logins_per_s>={TARGET_RATIO}x_hash_bound'])} | {d['ratio_if_server_had_every_core']} projected "
        "from server CPU per login |\n"
        f"| probe p99 < {TARGET_PROBE_P99_MS:g} ms | {d['probe_p99_ms']} | {ok(t[f'probe_p99_ms<{TARGET_PROBE_P99_MS:g}'])} "
        f"| {alone['p99_ms'] if alone else ''} ms with the server idle |\n"
    )


# --- main -----------------------------------------------------------------------------------


def verify_ms(samples: int, email: str) -> dict:
    """Median wall and CPU ms of argon2id verify, in-process (time_hashing samples all three)."""
    from bench.__main__ import time_hashing

    times = time_hashing(samples, email)["verify"]
    return {
        "wall": round(statistics.median(w for w, _ in times) * 1000, 2),
        "cpu": round(statistics.median(c for _, c in times) * 1000, 2),
    }


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import (
        PASSWORD_A,
        cpu_model,
        loadavg,
        log,
        machine_busy_seconds,
        register_users,
        server_settings,
    )
    from bench.load import Usage

    args = parse_args(argv)
    run_id = os.urandom(3).hex()
    workdir = Path(tempfile.mkdtemp(prefix="pwapp-bench-ui-"))
    server = serve(args, workdir, server_settings(workdir))
    os.environ.clear()  # this process registers users in the server's database
    os.environ.update(server.env)

    def on_term(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    machine = {"cores": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(), "loadavg_before": loadavg()}
    cores = os.cpu_count() or 1
    try:
        log(f"temp dir {workdir}; starting the production server on port {server.port} (builds the frontend first)")
        server.launch()
        emails, _ = register_users(args.users, f"ui-{run_id}")
        log(f"registered {len(emails)} users; server answered after {server.wait_ready():.1f} s")
        before = verify_ms(args.hash_samples, emails[0])

        async def go():
            return await measure(
                args, server.base_url, emails, PASSWORD_A,
                lambda: Usage(server.cpu_seconds, machine_busy_seconds), lambda: thread_cpu(server.process.pid),
            )

        log(f"probe `{args.probe}` alone for {args.probe_alone_seconds} s, then {args.users} users logging in "
            f"for {args.logins or ''}{' logins' if args.logins else f'{args.seconds} s'} with the probe")
        series, cpu = uvloop.run(go())
        machine["loadavg_after"] = loadavg()
        after = verify_ms(args.hash_samples, emails[0])
    except KeyboardInterrupt:
        log("interrupted; stopping the server")
        return 130
    except Exception as exc:
        log(f"failed: {type(exc).__name__}: {exc}")
        traceback.print_exc(file=sys.stderr)
        log(f"--- tail of the server log ---\n{server.log_tail()}")
        return 1
    finally:
        server.stop()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    verify = {
        "wall": round((before["wall"] + after["wall"]) / 2, 2),
        "cpu": round((before["cpu"] + after["cpu"]) / 2, 2),
        "before": before["wall"],
        "after": after["wall"],
    }
    hash_bound = round(cores / (verify["wall"] / 1000), 2)
    result = report(args, machine, series, cpu, verify, hash_bound, served(args))
    print(json.dumps(result, indent=2))
    if not args.no_markdown:
        UI_LATEST_MD.write_text(markdown(result))
        log(f"wrote {UI_LATEST_MD.relative_to(ROOT)}")
    return 0
