"""A tiny closed-loop load generator: N asyncio workers, each sending its own jobs back to back."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp


class Usage:
    """Who used the CPU during a series: the server's process group, this client, everyone else."""

    def __init__(self, server_cpu: Callable[[], float], machine_busy: Callable[[], float]):
        self.server_cpu, self.machine_busy = server_cpu, machine_busy
        self.start = self.sample()

    def sample(self) -> tuple[float, float, float, float]:
        return time.perf_counter(), self.server_cpu(), time.process_time(), self.machine_busy()

    def summary(self, requests: int) -> dict:
        wall, server, client, machine = (b - a for a, b in zip(self.start, self.sample()))
        if wall <= 0 or requests <= 0:
            return {}
        return {
            "server_cpu_ms_per_request": round(server * 1000 / requests, 2),
            "client_cpu_ms_per_request": round(client * 1000 / requests, 2),
            "cores_busy": {
                "server": round(server / wall, 2),
                "bench_client": round(client / wall, 2),
                "other_processes": round(max(0.0, machine - server - client) / wall, 2),
            },
        }


def mean_usage(rounds: list[dict]) -> dict:
    """Usage.summary() of equal-sized rounds, averaged field by field."""
    rounds = [r for r in rounds if r]
    if not rounds:
        return {}

    def mean(values: list[float]) -> float:
        return round(statistics.fmean(values), 2)

    return {
        "server_cpu_ms_per_request": mean([r["server_cpu_ms_per_request"] for r in rounds]),
        "client_cpu_ms_per_request": mean([r["client_cpu_ms_per_request"] for r in rounds]),
        "cores_busy": {k: mean([r["cores_busy"][k] for r in rounds]) for k in rounds[0]["cores_busy"]},
    }


@dataclass
class Reply:
    """A whole response: status, headers and body, read before the clock stops."""

    status_code: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class Client:
    """Keep-alive HTTP/1.1 on aiohttp: about a tenth of httpx's CPU per request, which matters
    because the client shares the machine's cores with the server it measures."""

    def __init__(self, base_url: str, connections: int, timeout: float = 60):
        self.base_url, self.connections, self.timeout = base_url, connections, timeout

    async def __aenter__(self) -> Client:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.connections),
            timeout=aiohttp.ClientTimeout(total=self.timeout),
        )
        return self

    async def __aexit__(self, *exc) -> None:
        await self.session.close()

    async def request(self, method: str, path: str, *, json=None, headers: dict | None = None) -> Reply:
        async with self.session.request(method, self.base_url + path, json=json, headers=headers) as r:
            return Reply(r.status, dict(r.headers), await r.read())

    async def get(self, path: str, **kwargs) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs) -> Reply:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs) -> Reply:
        return await self.request("PUT", path, **kwargs)


# A job sends one request and returns the response; the worker times it.
Job = Callable[[Client], Awaitable[Reply]]


@dataclass
class Series:
    """Latencies (seconds) and outcomes of one named series."""

    name: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    wall: float = 0.0

    def record(self, seconds: float, outcome: int | str) -> None:
        self.latencies.append(seconds)
        self.statuses[outcome] += 1

    @property
    def errors(self) -> dict[str, int]:
        """Every outcome that is not a 2xx status (including transport exceptions)."""
        return {
            str(k): v for k, v in sorted(self.statuses.items(), key=lambda kv: str(kv[0]))
            if not (isinstance(k, int) and 200 <= k < 300)
        }

    def summary(self) -> dict:
        lat = sorted(self.latencies)
        n = len(lat)
        return {
            "requests": n,
            "concurrency": self.concurrency,
            "ok_2xx": n - sum(self.errors.values()),
            "errors": self.errors,
            "wall_s": round(self.wall, 3),
            "rps": round(n / self.wall, 2) if self.wall else None,
            "p50_ms": ms(percentile(lat, 50)),
            "p95_ms": ms(percentile(lat, 95)),
            "mean_ms": ms(statistics.fmean(lat)) if lat else None,
            "max_ms": ms(lat[-1]) if lat else None,
        }


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Linear-interpolated percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = (len(sorted_values) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


async def timed(series: Series, client: Client, job: Job) -> Reply | None:
    """Run one job, recording its latency and status (or exception type) in `series`."""
    started = time.perf_counter()
    try:
        response = await job(client)
    except (aiohttp.ClientError, TimeoutError) as exc:
        series.record(time.perf_counter() - started, f"exception:{type(exc).__name__}")
        return None
    series.record(time.perf_counter() - started, response.status_code)
    return response


async def run_workers(
    series: Series, worker: Callable[[int, Client], Awaitable[None]], client: Client
) -> Series:
    """Start `series.concurrency` copies of `worker(index, client)` and time the whole run."""
    started = time.perf_counter()
    await asyncio.gather(*(worker(i, client) for i in range(series.concurrency)))
    series.wall = time.perf_counter() - started
    return series


async def run_jobs(jobs: list[tuple[Series, Job]], concurrency: int, client: Client) -> float:
    """Send `jobs` in order with `concurrency` workers pulling from one shared queue.

    Each job is recorded in its own series, so interleaved series share the same load;
    every series involved gets the whole run's wall time. Returns that wall time.
    """
    queue: asyncio.Queue[tuple[Series, Job]] = asyncio.Queue()
    for item in jobs:
        queue.put_nowait(item)

    async def worker(_index: int, c: Client) -> None:
        while True:
            try:
                series, job = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await timed(series, c, job)

    started = time.perf_counter()
    await asyncio.gather(*(worker(i, client) for i in range(concurrency)))
    wall = time.perf_counter() - started
    for series in {id(s): s for s, _ in jobs}.values():
        series.wall = wall
    return wall
