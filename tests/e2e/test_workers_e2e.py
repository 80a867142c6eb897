"""The production app on two worker processes, PostgreSQL and Redis: the flows work in Chromium and
leave no credential in Redis; background work and throttles hold across the processes."""

from __future__ import annotations

import os
import re
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from pwapp.db import make_engine
from pwapp.models import OutboxMessage, PasswordReset, ResetRequest, User
from pwapp.models.outbox import SENT
from pwapp.security.tokens import digest
from tests.e2e.conftest import OTHER_STRONG_PASSWORD, STRONG_PASSWORD, UI, Mailbox, e2e_server, running
from tests.e2e.test_change_password_e2e import CHANGED_URL, _fill_change_form, _submit
from tests.e2e.test_reset_password_e2e import _fill_new_password, _request_reset, _reset_link
from tests.e2e.test_two_step_e2e import set_up_two_step, turn_on_two_step
from tests.factories import make_user
from tests.services import service_url

pytestmark = pytest.mark.e2e

THIRD_PASSWORD = "Pelican-Saffron-Quarry-63-Tundra"
WRONG_PASSWORD = "Mistaken-Juniper-Comet-40-Basalt"
CREDENTIAL_COOKIES = ("pwapp_session", "pwapp_binding", "pwapp_reset")
REDIS_TYPES = (b"string", b"hash", b"list", b"set", b"zset", b"stream", b"none")  # "none": expired meanwhile


class Workers:
    """The app on two processes, its own PostgreSQL database, the SMTP sink and what the user does."""

    def __init__(self, server, engine, ui: UI, worker_pids: set[int]):
        self.server, self.engine, self.ui, self.worker_pids = server, engine, ui, worker_pids


def _fresh_database(admin_url: str) -> str:
    """A new, empty database beside the test one (alembic migrates it as `make run` would)."""
    url = make_url(admin_url)
    fresh = url.set(database=f"{url.database}_workers")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{fresh.database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{fresh.database}"')
    admin.dispose()
    return fresh.render_as_string(hide_password=False)


def _drop_database(admin_url: str, url: str) -> None:
    admin = create_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    admin.dispose()


def _process_group(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])
    except (OSError, ValueError, IndexError):
        return None


def _processes_connected(engine, database: str) -> set[int]:
    """The pids of the app processes holding connections to `database` (pwapp names them)."""
    with engine.connect() as conn:
        names = conn.execute(
            text("SELECT application_name FROM pg_stat_activity WHERE datname = :db AND application_name LIKE 'pwapp pid %'"),
            {"db": database},
        ).scalars()
        return {int(name.rsplit(" ", 1)[1]) for name in names} - {os.getpid()}  # this test's own connection aside


@pytest.fixture(scope="module")
def redis_client():
    import redis

    client = redis.Redis.from_url(service_url("PWAPP_TEST_REDIS_URL"))
    client.flushdb()  # this module's Redis database starts empty: every key found is the app's
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def workers(smtp_sink, redis_client):
    admin_url = service_url("PWAPP_TEST_POSTGRES_URL")
    database_url = _fresh_database(admin_url)
    workdir = Path(tempfile.mkdtemp(prefix="pwapp-workers-"))
    server = e2e_server(
        workdir, smtp_sink.port,
        PWAPP_DATABASE_URL=database_url, PWAPP_REDIS_URL=service_url("PWAPP_TEST_REDIS_URL"), PWAPP_WORKERS="2",
    )
    engine = make_engine(database_url)
    try:
        with running(server):
            # Before any request: only the worker loops (a lifespan task) have touched the database.
            deadline, pids = time.monotonic() + 30, set()
            while len(pids) < 2 and time.monotonic() < deadline:
                pids = _processes_connected(engine, make_url(database_url).database)
                time.sleep(0.2)  # polling interval
            yield Workers(server, engine, UI(server.base_url, Mailbox(smtp_sink)), pids)
    finally:
        engine.dispose()
        _drop_database(admin_url, database_url)


@pytest.fixture
def contexts(workers, _browser_lifetime):
    """Make browser contexts on the two-worker app; all are closed after the test."""
    made = []

    def make():
        context = _browser_lifetime.get().new_context(base_url=workers.server.base_url)
        context.set_default_timeout(20_000)
        made.append(context)
        return context

    expect.set_options(timeout=20_000)
    yield make
    for context in made:
        context.close()


def _credentials(context) -> set[str]:
    return {c["value"] for c in context.cookies() if c["name"].removeprefix("__Host-") in CREDENTIAL_COOKIES}


def _redis_contents(client) -> dict[bytes, bytes]:
    """Every key with its whole value, whatever its type."""
    contents = {}
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        assert kind in REDIS_TYPES, (key, kind)
        if kind == b"string":
            parts = [client.get(key) or b""]
        elif kind == b"hash":
            parts = [part for pair in client.hgetall(key).items() for part in pair]
        elif kind == b"list":
            parts = client.lrange(key, 0, -1)
        elif kind == b"set":
            parts = list(client.smembers(key))
        elif kind == b"zset":
            parts = [member for member, _ in client.zrange(key, 0, -1, withscores=True)]
        elif kind == b"stream":
            parts = [repr(entry).encode() for entry in client.xrange(key)]
        else:
            parts = []
        contents[key] = b"\n".join([key, *parts])
    return contents


def _two_step_on_and_off(page, password: str) -> set[str]:
    """Turn two-step on (key read off the server's page) and off again; returns the key and codes."""
    page.goto("/account/two-step")
    totp = set_up_two_step(page, password)
    secrets = {totp.secret, *turn_on_two_step(page, totp)}
    page.goto("/account/two-step")
    turn_off = page.locator("form").filter(has=page.get_by_role("button", name="Turn off two-step sign-in"))
    turn_off.get_by_label("Current password", exact=True).fill(password)
    turn_off.get_by_label("Code from your app or a recovery code", exact=True).fill(totp.at(time.time() + 30))
    turn_off.get_by_role("button", name="Turn off two-step sign-in").click()
    expect(page.get_by_role("button", name="Set up two-step sign-in")).to_be_visible()
    return secrets


def test_every_process_runs_the_worker_loop(workers):
    assert len(workers.worker_pids) >= 2, workers.worker_pids
    assert workers.server.process.pid not in workers.worker_pids  # the workers, not the supervisor
    assert {_process_group(pid) for pid in workers.worker_pids} == {workers.server.process.pid}


def test_the_flows_on_two_processes_leave_no_credential_in_redis(workers, contexts, redis_client):
    ui, mailbox, email = workers.ui, workers.ui.mailbox, f"redis-{uuid.uuid4().hex[:10]}@example.com"
    secrets = {STRONG_PASSWORD, OTHER_STRONG_PASSWORD, THIRD_PASSWORD}
    laptop, phone, other = contexts(), contexts(), contexts()
    page = laptop.new_page()
    ui.register(page, email, STRONG_PASSWORD)  # sign up, the emailed link, the sign-up's password
    secrets |= _credentials(laptop)
    ui.login(phone.new_page(), email, STRONG_PASSWORD)
    secrets |= _credentials(phone)

    secrets |= _two_step_on_and_off(page, STRONG_PASSWORD)
    _fill_change_form(page, STRONG_PASSWORD, OTHER_STRONG_PASSWORD)
    _submit(page)
    expect(page).to_have_url(CHANGED_URL)
    secrets |= _credentials(laptop)

    reset_page = other.new_page()
    _request_reset(reset_page, email)
    link = _reset_link(mailbox, email, workers.server.base_url)
    (token,) = parse_qs(urlsplit(link).query)["token"]
    secrets.add(token)
    reset_page.goto(link)
    reset_page.get_by_role("button", name="Continue").click()
    expect(reset_page.get_by_label("New password", exact=True)).to_be_visible()
    secrets |= _credentials(other)
    _fill_new_password(reset_page, THIRD_PASSWORD)
    expect(reset_page).to_have_url(re.compile(r"^[^?]*/auth/login/?\?notice=reset$"))
    ui.login(reset_page, email, THIRD_PASSWORD)
    last_session = next(c["value"] for c in other.cookies() if c["name"] == "pwapp_session")
    secrets |= _credentials(other)
    assert token in secrets and len(secrets) >= 3 + 2 + 11 + 2  # passwords, cookies, two-step key and codes, link

    contents = _redis_contents(redis_client)
    states = [key for key in contents if b"reflex___state" in key]
    assert states, sorted(contents)[:20]  # Reflex's state is in Redis: the scan is not vacuous
    everything = b"\n".join(contents.values())
    assert email.encode() in everything  # the states of the signed-in pages were stored
    assert digest(last_session).encode() in everything  # their headers too, as the digest
    found = {secret for secret in secrets if secret.encode() in everything}
    assert found == set()


def test_queued_reset_requests_are_issued_and_mailed_once(workers):
    tag = uuid.uuid4().hex[:8]
    addresses = [f"queue-{tag}-{i}@example.com" for i in range(12)]
    with Session(workers.engine) as db:
        for address in addresses:
            make_user(db, address, STRONG_PASSWORD)

    def ask(address: str) -> int:
        with httpx.Client(base_url=workers.server.base_url, timeout=30) as client:
            return client.post("/reset-password/", json={"email": address}).status_code

    with ThreadPoolExecutor(max_workers=len(addresses)) as pool:
        assert set(pool.map(ask, addresses)) == {200}

    deadline = time.monotonic() + 60
    while True:
        with Session(workers.engine) as db:
            rows = db.exec(select(OutboxMessage).where(OutboxMessage.recipient.in_(addresses))).all()
            waiting = db.exec(select(ResetRequest).where(ResetRequest.email.in_(addresses))).all()
        if len(rows) == len(addresses) and not waiting and all(row.status == SENT for row in rows):
            break
        assert time.monotonic() < deadline, [(row.recipient, row.status) for row in rows]
        time.sleep(0.2)  # polling interval
    assert sorted(row.recipient for row in rows) == sorted(addresses)
    with Session(workers.engine) as db:
        links = db.exec(select(PasswordReset).join(User).where(User.email.in_(addresses))).all()
    assert len(links) == len(addresses)
    for address in addresses:  # every row is sent: the sink holds each mail once
        assert len(workers.ui.mailbox.wait_for(address, subject="Reset your pwapp password")) == 1


def test_a_burst_of_wrong_logins_over_both_processes_verifies_at_most_the_limit(workers):
    victim = f"burst-{uuid.uuid4().hex[:8]}@example.com"
    with Session(workers.engine) as db:
        make_user(db, victim, STRONG_PASSWORD)

    def guess(_: int) -> int:
        # A connection per guess, all at once: the kernel hands them to both processes.
        with httpx.Client(base_url=workers.server.base_url, timeout=60) as client:
            return client.post("/api/login/", json={"email": victim, "password": WRONG_PASSWORD}).status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(guess, range(30)))
    verified, throttled = answers.count(400), answers.count(429)
    assert verified + throttled == 30, answers
    assert 1 <= verified <= 10  # LOGIN_PER_ACCOUNT: 10 in 15 minutes, counted in Redis by both
    with httpx.Client(base_url=workers.server.base_url) as client:
        right = client.post("/api/login/", json={"email": victim, "password": STRONG_PASSWORD})
    assert right.status_code == 429  # the account stays paused, whichever process answers
