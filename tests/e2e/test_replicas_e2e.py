"""Two replicas behind HAProxy (deploy/), on one PostgreSQL and one Redis, driven in Chromium.

`only(A)` takes replica B out through HAProxy's runtime API, so the next page loads on A;
a websocket already open stays on its replica, as it would in production.
"""

from __future__ import annotations

import csv
import re
import shutil
import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis
from playwright.sync_api import expect
from sqlalchemy import text
from sqlmodel import SQLModel

from deploy.replicas import Cluster
from pwapp.db import make_engine
from tests.e2e.conftest import (
    OTHER_STRONG_PASSWORD,
    START_TIMEOUT,
    STRONG_PASSWORD,
    UI,
    e2e_server,
    text_of,
)
from tests.e2e.test_change_password_e2e import CHANGED_URL, _fill_change_form, _submit
from tests.e2e.test_reset_password_e2e import (
    RESET_NOTICE,
    RESET_PAGE_URL,
    _fill_new_password,
    _link_page_refuses,
    _request_reset,
    _reset_link,
)
from tests.mail_server import free_port
from tests.services import REQUIRE_SERVICES, service_url

pytestmark = pytest.mark.e2e

A, B = 0, 1
THIRD_STRONG_PASSWORD = "Pelican-Saffron-Tundra-7342-Wick"
RESET_DONE_URL = re.compile(r"^[^?]*/auth/login/?\?notice=reset$")
ALREADY_USED = "This link was already used"


class Replicas:
    """What the e2e fixtures need of an app server (base_url, log), plus HAProxy's runtime API."""

    def __init__(self, cluster: Cluster, log_path):
        self.cluster, self.log_path = cluster, log_path
        self.base_url = cluster.base_url
        self.database_url = cluster.env["PWAPP_DATABASE_URL"]
        self.names = [f"replica{i + 1}" for i in range(len(cluster.replica_urls))]

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def admin(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.cluster.admin_socket))
            sock.sendall(command.encode() + b"\n")
            return b"".join(iter(lambda: sock.recv(65536), b"")).decode()

    def servers(self) -> dict[str, dict[str, str]]:
        """HAProxy's view of each replica: `status` (UP, DOWN, MAINT…), `stot` (requests served)…"""
        rows = csv.DictReader(self.admin("show stat").removeprefix("# ").splitlines())
        return {row["svname"]: row for row in rows if row["svname"] in self.names}

    def only(self, index: int | None) -> None:
        """New connections go to replica `index` only (None: to all); waits until HAProxy agrees."""
        for i, name in enumerate(self.names):
            self.admin(f"set server replicas/{name} state {'ready' if index in (None, i) else 'maint'}")
        wanted = self.names if index is None else [self.names[index]]
        self.wait_status(wanted, "UP")

    def wait_status(self, names: list[str], status: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while (seen := {n: self.servers()[n]["status"] for n in names}) != dict.fromkeys(names, status):
            assert time.monotonic() < deadline, f"HAProxy sees {seen}, not {status}"
            time.sleep(0.1)

    def outbox(self, addresses: list[str]) -> list[tuple[str, str]]:
        """(recipient, status) of every outbox row to these addresses."""
        engine = make_engine(self.database_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT recipient, status FROM outbox_message WHERE recipient = ANY(:a)"),
                    {"a": addresses},
                )
                return [tuple(row) for row in rows]
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def app_server(smtp_sink, tmp_path_factory):
    """Overrides the e2e app server: replicas A and B behind HAProxy, on PostgreSQL and Redis."""
    database, redis_url = service_url("PWAPP_TEST_POSTGRES_URL"), service_url("PWAPP_TEST_REDIS_URL")
    if shutil.which("haproxy") is None:
        (pytest.fail if REQUIRE_SERVICES else pytest.skip)("haproxy is not installed (`make haproxy`)")
    engine = make_engine(database)
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    redis.Redis.from_url(redis_url).flushdb()  # throttles counted by earlier runs, all from 127.0.0.1
    workdir = tmp_path_factory.mktemp("replicas")
    port = free_port()
    env = e2e_server(workdir, smtp_sink.port).env | {
        "PWAPP_DATABASE_URL": database, "PWAPP_REDIS_URL": redis_url, "PWAPP_BASE_URL": f"http://localhost:{port}",
        "PWAPP_WORKERS": "1",  # two replicas on this machine's two cores
    }
    log_path = workdir / "replicas.log"
    with open(log_path, "ab") as log:
        cluster = Cluster([free_port(), free_port()], port, env=env, log=log, start_timeout=START_TIMEOUT)
        replicas = Replicas(cluster, log_path)
        try:
            cluster.start()
        except RuntimeError as exc:
            pytest.fail(f"{exc}\n--- tail of {log_path} ---\n{replicas.log_tail()}", pytrace=False)
        try:
            yield replicas
        finally:
            cluster.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def base_url(app_server) -> str:
    return app_server.base_url


@pytest.fixture(scope="module")
def ui(base_url, mailbox) -> UI:
    return UI(base_url, mailbox)


def _open_reset_form(page, link: str) -> None:
    page.goto(link)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(RESET_PAGE_URL)


def _wait_until(condition, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.1)
    return result


def test_password_changed_on_b_signs_out_a_browser_signed_in_on_a(app_server, new_context, ui, unique_email, mailbox):
    email = unique_email("a-to-b")
    app_server.only(A)
    # A client that claims another address: HAProxy drops its X-Forwarded-For and adds the real one.
    me = new_context(extra_http_headers={"X-Forwarded-For": "203.0.113.9"}).new_page()
    ui.register(me, email)
    other = new_context().new_page()
    ui.login(other, email)

    app_server.only(B)
    _fill_change_form(me, STRONG_PASSWORD, OTHER_STRONG_PASSWORD)
    _submit(me)
    expect(me).to_have_url(CHANGED_URL)
    ui.expect_signed_in(me, email)

    app_server.only(A)
    ui.expect_signed_out(other)
    ui.expect_login_refused(other, email, STRONG_PASSWORD)
    ui.login(other, email, OTHER_STRONG_PASSWORD)

    [notice] = mailbox.wait_for(email, subject="password was changed")
    assert re.search(r"IP:\s+127\.0\.0\.1\s", text_of(notice)) and "203.0.113.9" not in text_of(notice)


def test_reset_requested_via_a_is_used_via_b_once(app_server, new_context, ui, unique_email, mailbox, base_url):
    email = unique_email("reset-a-b")
    app_server.only(A)
    ui.register(new_context().new_page(), email)
    page = new_context().new_page()
    _request_reset(page, email)
    link = _reset_link(mailbox, email, base_url)

    app_server.only(B)
    _open_reset_form(page, link)
    _fill_new_password(page, OTHER_STRONG_PASSWORD)
    expect(page).to_have_url(RESET_DONE_URL)
    expect(page.get_by_role("status").filter(has_text=RESET_NOTICE)).to_be_visible()

    app_server.only(A)
    page.goto(link)
    _link_page_refuses(page, ALREADY_USED)
    ui.login(new_context().new_page(), email, OTHER_STRONG_PASSWORD)


def test_two_confirms_of_one_link_on_a_and_b_exactly_one_wins(app_server, new_context, ui, unique_email, mailbox, base_url):
    email = unique_email("race")
    app_server.only(A)
    ui.register(new_context().new_page(), email)
    _request_reset(new_context().new_page(), email)
    link = _reset_link(mailbox, email, base_url)
    on_a, on_b = new_context().new_page(), new_context().new_page()
    _open_reset_form(on_a, link)
    app_server.only(B)
    _open_reset_form(on_b, link)
    app_server.only(None)

    passwords = {id(on_a): OTHER_STRONG_PASSWORD, id(on_b): THIRD_STRONG_PASSWORD}
    for page in (on_a, on_b):
        page.get_by_label("New password", exact=True).fill(passwords[id(page)])
        page.get_by_label("Confirm new password", exact=True).fill(passwords[id(page)])
    buttons = [page.get_by_role("button", name="Reset password") for page in (on_a, on_b)]
    for button in buttons:
        expect(button).to_be_enabled()
    for button in buttons:
        button.click()

    def outcome(page) -> str | None:
        if RESET_DONE_URL.match(page.url):
            return "reset"
        return "refused" if page.locator("#link-error").filter(has_text=ALREADY_USED).count() else None

    outcomes = _wait_until(lambda: all(outcome(p) for p in (on_a, on_b)) and [outcome(p) for p in (on_a, on_b)],
                           "both submits answered")
    assert sorted(outcomes) == ["refused", "reset"]
    winner, loser = (on_a, on_b) if outcomes[0] == "reset" else (on_b, on_a)
    ui.expect_login_refused(new_context().new_page(), email, passwords[id(loser)])
    ui.login(new_context().new_page(), email, passwords[id(winner)])
    assert len(mailbox.wait_for(email, subject="password was reset")) == 1


def test_a_burst_of_wrong_logins_over_both_replicas_stays_within_the_throttle(
    app_server, new_context, ui, unique_email, base_url,
):
    email = unique_email("burst")
    ui.register(new_context().new_page(), email)
    before = {name: int(row["stot"]) for name, row in app_server.servers().items()}

    def wrong_login(_) -> int:
        return httpx.post(f"{base_url}/api/login/", json={"email": email, "password": "not-the-password"}, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = Counter(pool.map(wrong_login, range(24)))
    served = {name: int(row["stot"]) - before[name] for name, row in app_server.servers().items()}
    assert all(count >= 6 for count in served.values()), served  # round robin spread them
    assert statuses == {400: 10, 429: 14}
    # The account is paused for the right password too, on either replica.
    page = new_context().new_page()
    ui.submit_login(page, email, STRONG_PASSWORD)
    expect(page.get_by_text(re.compile(r"Too many attempts\. Try again in \d+ minutes?\."))).to_be_visible()


def test_users_mid_flow_carry_on_through_the_other_replica_when_one_is_killed(
    app_server, new_context, ui, unique_email, mailbox, base_url,
):
    changer, signed_in, resetter, queued, racer = (unique_email(p) for p in ("changer", "signed-in", "resetter", "queued", "racer"))
    app_server.only(A)
    pages = {}
    for email in (changer, signed_in, resetter, queued, racer):
        pages[email] = new_context().new_page()
        ui.register(pages[email], email)
    racer_elsewhere = new_context().new_page()
    ui.login(racer_elsewhere, racer)
    # Mid-flow on A: the change form open, a reset link opened, a reset request just answered.
    pages[changer].goto("/account/change-password")
    expect(pages[changer].get_by_role("heading", name="Change password")).to_be_visible()
    _request_reset(pages[resetter], resetter)
    _open_reset_form(pages[resetter], _reset_link(mailbox, resetter, base_url))
    _fill_change_form(pages[racer], STRONG_PASSWORD, OTHER_STRONG_PASSWORD)
    _request_reset(pages[queued], queued)
    app_server.only(None)
    # A password change on its way when A dies (its browser then gives up): it happens with
    # all its effects, or not at all.
    _submit(pages[racer])
    app_server.cluster.kill(A)
    pages[racer].context.close()

    # The page reloads first: a form sent while its page reconnects can lose to the page's
    # sign-in check, which still sees the cookie the change replaced (README, Deployment).
    _fill_change_form(pages[changer], STRONG_PASSWORD, OTHER_STRONG_PASSWORD)
    _submit(pages[changer])
    expect(pages[changer]).to_have_url(CHANGED_URL)
    ui.expect_signed_in(pages[changer], changer)
    ui.expect_signed_in(pages[signed_in], signed_in)
    _fill_new_password(pages[resetter], OTHER_STRONG_PASSWORD)
    expect(pages[resetter]).to_have_url(RESET_DONE_URL)
    ui.login(new_context().new_page(), resetter, OTHER_STRONG_PASSWORD)
    assert len(mailbox.wait_for(queued, subject="Reset your")) == 1

    # The racer's change: either the new password and every effect, or the old one and none.
    everyone = [changer, signed_in, resetter, queued, racer]
    _wait_until(lambda: all(status in ("sent", "discarded") for _, status in app_server.outbox(everyone)),
                "every queued mail delivered")
    check = new_context().new_page()
    changed = _logs_in(check, racer, OTHER_STRONG_PASSWORD)
    assert changed != _logs_in(new_context().new_page(), racer, STRONG_PASSWORD)
    notices = [m for m in mailbox.for_address(racer) if "password was changed" in str(m["Subject"])]
    assert len(notices) == (1 if changed else 0)
    if changed:
        ui.expect_signed_out(racer_elsewhere)
    else:
        ui.expect_signed_in(racer_elsewhere, racer)

    # Every mail queued was sent exactly once: none lost, none doubled.
    sent = Counter(recipient for recipient, status in app_server.outbox(everyone) if status == "sent")
    received = Counter(email for email in everyone for _ in mailbox.for_address(email))
    assert received == sent
    expected = {changer: 2, signed_in: 1, resetter: 3, queued: 2, racer: 1 + changed}  # sign-up link + flows
    assert received == expected


def _logs_in(page, email: str, password: str) -> bool:
    """Submit the login form; True when it lands on the account page, False when refused."""
    ui_login = page.get_by_role("button", name="Log in")
    page.goto("/auth/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    expect(ui_login).to_be_enabled()
    ui_login.click()
    refused = page.get_by_text("Email or password is incorrect.")
    expect(page.locator("#signed-in-email").or_(refused)).to_be_visible()
    return refused.count() == 0
