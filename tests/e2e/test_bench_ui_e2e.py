"""The UI bench's websocket client speaks the browser's protocol to the production build.

A smoke test, not a timing: two tabs register through the form, then a tiny run of
`python -m bench ui` (2 users, 5 logins, the probe) must complete with every login answered
by the navigation to its ticket.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.reflex_client import Tab
from bench.ui_load import NAVIGATION, REGISTER_STATE, measure, parse_args
from tests.e2e.conftest import STRONG_PASSWORD

pytestmark = pytest.mark.e2e


async def register(base_url: str, email: str) -> None:
    tab = Tab(base_url, "10.0.0.1")
    try:
        await tab.open("/auth/register")
        fields = [["email", email], ["new_password", STRONG_PASSWORD], ["confirm_password", STRONG_PASSWORD]]
        await tab.send(f"{REGISTER_STATE}.submit", {"form": {"__reflex_form_data__": fields}})
        while not any(NAVIGATION in script for script in (await tab.next_update()).scripts()):
            pass
    finally:
        await tab.close()


async def tiny_run(base_url: str, emails: list[str]) -> dict:
    for email in emails:
        await register(base_url, email)
    args = parse_args(["--users", "2", "--logins", "5", "--probe-alone-seconds", "0.2", "--rest-seconds", "0"])

    def usage():
        from bench.load import Usage

        return Usage(lambda: 0.0, lambda: 0.0)

    series, _ = await measure(args, base_url, emails, STRONG_PASSWORD, usage, dict)
    return series


def test_ui_bench_client_logs_in_over_the_websocket(base_url, unique_email):
    emails = [unique_email("bench-ui"), unique_email("bench-ui")]
    # Its own thread and loop: a sync Playwright left open by an earlier e2e test owns this one's.
    with ThreadPoolExecutor(1) as pool:
        series = pool.submit(asyncio.run, tiny_run(base_url, emails)).result(timeout=120)
    login = series["login"]
    assert login["failures"] == {}
    assert login["logins_in_window"] == 5
    assert series["probe_alone"]["count"] > 0 and series["probe_loaded"]["count"] > 0
