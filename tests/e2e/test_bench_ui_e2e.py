"""The UI bench's websocket client speaks the browser's protocol to the production build.

A smoke test, not a timing: two tabs sign up through the form (their emailed links confirm the
addresses), then a tiny run of
`python -m bench ui` (2 users, 5 logins, the probe) must complete with every login answered
by the navigation to its ticket.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from bench.reflex_client import Tab
from bench.ui_load import REGISTER_STATE, measure, parse_args
from tests.e2e.conftest import STRONG_PASSWORD

pytestmark = pytest.mark.e2e


async def register(base_url: str, email: str) -> None:
    tab = Tab(base_url, "10.0.0.1")
    try:
        await tab.open("/auth/register")
        fields = [["email", email], ["new_password", STRONG_PASSWORD], ["confirm_password", STRONG_PASSWORD]]
        await tab.send(f"{REGISTER_STATE}.submit", {"form": {"__reflex_form_data__": fields}})
        while (await tab.next_update()).delta.get(REGISTER_STATE, {}).get("sent_rx_state_") is not True:
            pass  # the form's answer: "Check your inbox…"
    finally:
        await tab.close()


async def sign_up(base_url: str, emails: list[str]) -> None:
    for email in emails:
        await register(base_url, email)


async def tiny_run(base_url: str, emails: list[str]) -> dict:
    args = parse_args(["--users", "2", "--logins", "5", "--probe-alone-seconds", "0.2", "--rest-seconds", "0"])

    def usage():
        from bench.load import Usage

        return Usage(lambda: 0.0, lambda: 0.0)

    series, _ = await measure(args, base_url, emails, STRONG_PASSWORD, usage, dict)
    return series


def test_ui_bench_client_logs_in_over_the_websocket(base_url, ui, unique_email):
    emails = [unique_email("bench-ui"), unique_email("bench-ui")]
    # Its own thread and loop: a sync Playwright left open by an earlier e2e test owns this one's.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, sign_up(base_url, emails)).result(timeout=120)
        for email in emails:
            link = httpx.URL(ui.verify_link(email))
            confirmed = httpx.post(str(link.copy_with(query=None)), data={"token": link.params["token"], "password": STRONG_PASSWORD})
            assert confirmed.status_code == 303 and confirmed.headers["location"] == "/auth/login?notice=verified"
        series = pool.submit(asyncio.run, tiny_run(base_url, emails)).result(timeout=120)
    login = series["login"]
    assert login["failures"] == {}
    assert login["logins_in_window"] == 5
    assert series["probe_alone"]["count"] > 0 and series["probe_loaded"]["count"] > 0
