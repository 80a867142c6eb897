"""The mail subsystem against a real SMTP server and real databases (SQLite; PostgreSQL too
when PWAPP_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import logging
import os
import re
import subprocess
import sys
import threading
import time
from datetime import timedelta
from urllib.parse import urlsplit

import jinja2
import pytest
from sqlalchemy import update
from sqlmodel import Session, SQLModel, select

import pwapp.db
import pwapp.models  # noqa: F401  (registers every table)
from pwapp.db import make_engine, utcnow
from pwapp.mail import cli, queue, run_forever, send_pending
from pwapp.mail.compose import render
from pwapp.mail.sender import CLAIM, MAX_ATTEMPTS, retry_delay
from pwapp.models import ResetRequest
from pwapp.models.outbox import DISCARDED, FAILED, PENDING, SENDING, SENT, OutboxMessage
from pwapp.services.passwords import request_password_reset
from pwapp.settings import get_settings
from pwapp.worker import work_once
from tests import ROOT
from tests.factories import CLIENT, NEW, make_user, run_together
from tests.mail_server import MailServer

BASE_URL = "https://pw.example.test"
TOKEN = "tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0ZYXWVU"
RESET_URL = f"{BASE_URL}/auth/reset-password?token={TOKEN}"
POSTGRES_URL = os.environ.get("PWAPP_TEST_POSTGRES_URL")

RESET_CONTEXT = {"reset_url": RESET_URL, "expires_minutes": 30}
NOTICE_CONTEXT = {
    "when": "2030-01-02 03:04 UTC",
    "ip": "203.0.113.7",
    "browser": "Firefox <script>alert(1)</script>",
    "forgot_url": f"{BASE_URL}/auth/forgot-password",
}


def mail_settings(**changes):
    """The process settings with mail pointed where a test wants it."""
    defaults = {
        "env": "development",
        "base_url": BASE_URL,
        "mail_from": "pwapp <no-reply@pw.example.test>",
        "mail_backend": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_security": "none",
        "smtp_username": "",
        "smtp_password": "",
        "smtp_timeout": 5,
    }
    return dataclasses.replace(get_settings(), **{**defaults, **changes})


def smtp_settings(server: MailServer, **changes):
    return mail_settings(smtp_port=server.port, **changes)


@pytest.fixture
def engine(tmp_path):
    """A fresh SQLite database file with every table."""
    eng = make_engine(f"sqlite:///{tmp_path}/mail.db")
    SQLModel.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_engine_url(request, tmp_path):
    """A database URL with an empty outbox table: SQLite, then PostgreSQL when configured."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/mail.db"
    elif not POSTGRES_URL:
        pytest.skip("PWAPP_TEST_POSTGRES_URL is not set: PostgreSQL variant skipped")
    else:
        url = POSTGRES_URL
    eng = make_engine(url)
    OutboxMessage.__table__.drop(eng, checkfirst=True)
    OutboxMessage.__table__.create(eng)
    eng.dispose()
    return url


def queue_mails(engine, settings, recipients, template="password_reset", context=RESET_CONTEXT):
    """Queue one mail per recipient in one committed transaction; returns the row ids."""
    with Session(engine, expire_on_commit=False) as db:
        ids = [queue(db, to=to, template=template, context=context, settings=settings) for to in recipients]
        db.commit()
    return ids


def outbox_rows(engine) -> list[OutboxMessage]:
    with Session(engine) as db:
        return list(db.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def outbox_row(engine, row_id: int) -> OutboxMessage:
    with Session(engine) as db:
        return db.get(OutboxMessage, row_id)


async def async_wait_until(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


# --- templates and queueing -------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "context", "subject"),
    [
        ("password_reset", RESET_CONTEXT, "Reset your pwapp password"),
        ("password_changed", NOTICE_CONTEXT, "Your pwapp password was changed"),
        ("password_reset_done", NOTICE_CONTEXT, "Your pwapp password was reset"),
    ],
)
def test_every_template_renders_text_and_html(template, context, subject):
    rendered = render(template, context, mail_settings())
    assert rendered.subject.startswith(subject) and "\n" not in rendered.subject
    assert BASE_URL in rendered.text and BASE_URL in rendered.html
    for value in context.values():
        assert str(value) in rendered.text
    if "forgot_url" in context:
        notice = f"If this wasn't you, reset your password now: {context['forgot_url']}"
        assert notice in rendered.text
        assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html


@pytest.mark.parametrize(
    ("template", "context", "subject", "words"),
    [
        ("verify_email", {"verify_url": RESET_URL, "expires_hours": 24}, "Finish creating your pwapp account",
         "expires in 24 hours"),
        ("sign_up_attempt", NOTICE_CONTEXT | {"login_url": f"{BASE_URL}/auth/login"},
         "Someone tried to sign up for pwapp with your address", "Nothing was changed."),
    ],
)
def test_sign_up_mails_render_text_and_html(template, context, subject, words):
    rendered = render(template, context, mail_settings())
    assert rendered.subject == subject and words in rendered.text
    for value in context.values():
        assert str(value) in rendered.text
    assert "<script>" not in rendered.html


def test_reset_mail_says_once_expiry_and_ignore():
    text = render("password_reset", RESET_CONTEXT, mail_settings()).text
    assert "works once" in text and "expires in 30 minutes" in text and "ignore" in text


def test_missing_context_is_an_error_not_a_blank():
    with pytest.raises(jinja2.UndefinedError):
        render("password_reset", {"expires_minutes": 30}, mail_settings())


def test_template_folder_override_is_searched_first(tmp_path, monkeypatch):
    (tmp_path / "password_reset.subject.txt").write_text("Custom {{ product }} reset")
    monkeypatch.setenv("PWAPP_MAIL_TEMPLATES", str(tmp_path))
    rendered = render("password_reset", RESET_CONTEXT, mail_settings())
    assert rendered.subject == "Custom pwapp reset"
    assert RESET_URL in rendered.text  # the other parts fall back to the built-in ones


def test_queue_adds_a_row_without_committing(engine):
    with Session(engine) as db:
        row_id = queue(db, to="a@example.com", template="password_reset", context=RESET_CONTEXT)
        assert db.get(OutboxMessage, row_id).status == PENDING
        db.rollback()
    assert outbox_rows(engine) == []


@pytest.mark.parametrize(
    "to", ["a@example.com\r\nBcc: b@example.com", "a@example.com, b@example.com", "", "no-at-sign"]
)
def test_queue_refuses_anything_but_one_address(engine, to):
    with Session(engine) as db, pytest.raises(ValueError):
        queue(db, to=to, template="password_reset", context=RESET_CONTEXT)


def test_discarded_rows_are_never_sent(engine, mail_server):
    s = smtp_settings(mail_server)
    with Session(engine) as db:
        queue(db, to="ghost@example.com", template="password_reset", context=RESET_CONTEXT,
              discard=True, settings=s)
        db.commit()
    assert send_pending(engine, settings=s) == 0
    assert [r.status for r in outbox_rows(engine)] == [DISCARDED]
    assert mail_server.received() == []


# --- SMTP delivery ------------------------------------------------------------------------


def test_smtp_message_has_headers_text_html_and_links_on_base_url(engine, mail_server):
    s = smtp_settings(mail_server)
    [row_id] = queue_mails(engine, s, ["alice@example.com"])
    assert send_pending(engine, settings=s) == 1

    [msg] = mail_server.received()
    assert msg["From"] == s.mail_from
    assert msg["To"] == "alice@example.com"
    assert msg["Subject"] == "Reset your pwapp password"
    assert msg["Date"] and msg["Message-ID"].endswith("@pw.example.test>")
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert RESET_URL in text and RESET_URL in html
    links = re.findall(r"https?://[^\s\"'<>]+", text + html)
    assert links and {urlsplit(link).hostname for link in links} == {"pw.example.test"}

    row = outbox_row(engine, row_id)
    assert (row.status, row.attempts, row.last_error) == (SENT, 0, None)
    assert row.sent_at is not None and row.claimed_until is None


def test_international_names_addresses_and_subject_arrive_intact(engine, mail_server):
    s = smtp_settings(mail_server, mail_from="Zoë at pwapp <no-reply@pw.example.test>")
    queue_mails(engine, s, ["ana@bücher.example", "jörg@example.com"])
    with engine.begin() as conn:
        conn.execute(update(OutboxMessage).values(subject="Réinitialisez votre mot de passe"))
    assert send_pending(engine, settings=s) == 2

    idn_domain, utf8_local_part = mail_server.received()
    # The domain goes out in its ASCII form, which any server takes; a non-ASCII local part
    # has no ASCII form and goes out as UTF-8 under SMTPUTF8.
    assert idn_domain["To"] == "ana@xn--bcher-kva.example"
    assert utf8_local_part["To"] == "jörg@example.com"
    for msg in (idn_domain, utf8_local_part):
        assert msg["From"] == "Zoë at pwapp <no-reply@pw.example.test>"
        assert msg["Subject"] == "Réinitialisez votre mot de passe"
        assert RESET_URL in msg.get_body(("plain",)).get_content()
    assert {r.status for r in outbox_rows(engine)} == {SENT}


def test_smtp_down_then_up_delivers_exactly_once(engine):
    server = MailServer()  # not started: nothing listens on its port
    s = smtp_settings(server, smtp_password="hunter2-smtp-secret")
    started = time.monotonic()
    [row_id] = queue_mails(engine, s, ["bob@example.com"])
    assert time.monotonic() - started < 1  # queueing never touches the network

    now = utcnow()
    assert send_pending(engine, settings=s, now=now) == 1
    row = outbox_row(engine, row_id)
    assert (row.status, row.attempts) == (PENDING, 1)
    assert row.next_attempt_at == now + retry_delay(1) and row.next_attempt_at > now
    assert row.last_error and "hunter2" not in row.last_error and TOKEN not in row.last_error
    assert send_pending(engine, settings=s, now=now) == 0  # not due yet

    with server:
        later = row.next_attempt_at + retry_delay(0)
        assert send_pending(engine, settings=s, now=later) == 1
        assert send_pending(engine, settings=s, now=later) == 0
        [msg] = server.received()
    assert msg["To"] == "bob@example.com"
    row = outbox_row(engine, row_id)
    assert (row.status, row.attempts, row.last_error) == (SENT, 1, None)


def test_starttls_never_falls_back_to_plain_text(engine, mail_server):
    s = smtp_settings(mail_server, smtp_security="starttls")  # the test server has no TLS
    [row_id] = queue_mails(engine, s, ["tls@example.com"])
    assert send_pending(engine, settings=s) == 1
    row = outbox_row(engine, row_id)
    assert (row.status, row.attempts) == (PENDING, 1) and "STARTTLS" in row.last_error
    assert mail_server.received() == []


def test_temporary_failures_back_off_then_give_up(engine):
    s = smtp_settings(MailServer())  # never started
    [row_id] = queue_mails(engine, s, ["carol@example.com"])
    now = utcnow()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert send_pending(engine, settings=s, now=now) == 1
        row = outbox_row(engine, row_id)
        assert row.attempts == attempt
        now = row.next_attempt_at
    assert row.status == FAILED
    assert retry_delay(1).total_seconds() == 60 and retry_delay(20).total_seconds() == 3600
    assert send_pending(engine, settings=s, now=now + retry_delay(20)) == 0


def test_rejected_recipient_fails_at_once_and_is_not_retried(engine):
    with MailServer(reject={"nobody@example.com"}) as server:
        s = smtp_settings(server)
        bad, good = queue_mails(engine, s, ["nobody@example.com", "dave@example.com"])
        assert send_pending(engine, settings=s) == 2
        row = outbox_row(engine, bad)
        assert (row.status, row.attempts) == (FAILED, 1)
        assert row.last_error.startswith("550") and "User unknown" in row.last_error
        assert outbox_row(engine, good).status == SENT

        far_future = utcnow() + retry_delay(99) * 100
        assert send_pending(engine, settings=s, now=far_future) == 0
        assert [m["To"] for m in server.received()] == ["dave@example.com"]
        assert outbox_row(engine, bad).attempts == 1


def test_two_senders_send_each_message_exactly_once(any_engine_url, mail_server):
    s = smtp_settings(mail_server)
    setup = make_engine(any_engine_url)
    recipients = [f"user{i:02d}@example.com" for i in range(30)]
    queue_mails(setup, s, recipients)

    handled: list[int] = []

    def sender():
        own = make_engine(any_engine_url)
        try:
            while count := send_pending(own, limit=3, settings=s):
                handled.append(count)
        finally:
            own.dispose()

    run_together(sender)
    assert sum(handled) == 30
    assert sorted(m["To"] for m in mail_server.received()) == recipients
    assert {r.status for r in outbox_rows(setup)} == {SENT}
    setup.dispose()


def test_a_sender_killed_after_the_server_took_a_mail_sends_it_again_with_the_same_message_id(tmp_path):
    url = f"sqlite:///{tmp_path}/mail.db"
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    answered = threading.Event()
    with MailServer(hold=answered) as server:
        s = smtp_settings(server)
        first, second = queue_mails(engine, s, ["first@example.com", "second@example.com"])
        sender = subprocess.Popen(  # a real sender process, killed once the server has the mail
            [sys.executable, "-m", "pwapp", "mail", "send-pending", "--limit", "1"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=os.environ | {
                "PWAPP_DATABASE_URL": url, "PWAPP_SECRET_KEY": s.secret_key, "PWAPP_BASE_URL": s.base_url,
                "PWAPP_MAIL_FROM": s.mail_from, "PWAPP_MAIL_BACKEND": "smtp", "PWAPP_SMTP_HOST": "127.0.0.1",
                "PWAPP_SMTP_PORT": str(server.port), "PWAPP_SMTP_SECURITY": "none",
            },
        )
        try:
            server.wait_for(1, timeout=60)
            sender.kill()
            sender.wait(timeout=10)
        finally:
            answered.set()
            sender.kill()
        assert outbox_row(engine, first).status == SENDING  # it never learned the server took it

        now = utcnow()
        assert send_pending(engine, settings=s, now=now) == 1  # the other row; the claimed one waits
        assert send_pending(engine, settings=s, now=now + CLAIM + timedelta(seconds=1)) == 1
        copy, other, again = server.wait_for(3)

    assert [m["To"] for m in (copy, other, again)] == [
        "first@example.com", "second@example.com", "first@example.com"
    ]
    assert copy["Message-ID"] == again["Message-ID"] != other["Message-ID"]
    assert copy.get_body(("plain",)).get_content() == again.get_body(("plain",)).get_content()
    assert {r.status for r in outbox_rows(engine)} == {SENT}
    engine.dispose()


@pytest.mark.asyncio
async def test_run_forever_sends_what_a_previous_process_left(engine, mail_server):
    s = smtp_settings(mail_server)
    left = queue_mails(engine, s, [f"left{i}@example.com" for i in range(3)])
    with engine.begin() as conn:  # the last one was being sent when its sender died
        conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == left[-1])
            .values(status=SENDING, claimed_until=utcnow() - retry_delay(0))
        )

    task = asyncio.create_task(run_forever(0.05, engine=engine, settings=s))
    try:
        await async_wait_until(lambda: len(mail_server.received()) >= 3)
        await async_wait_until(lambda: {r.status for r in outbox_rows(engine)} == {SENT})
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    expected = [f"left{i}@example.com" for i in range(3)]
    assert sorted(m["To"] for m in mail_server.received()) == expected


@pytest.mark.asyncio
async def test_the_apps_worker_mails_a_link_requested_before_a_restart(tmp_path, mail_server):
    url = f"sqlite:///{tmp_path}/app.db"
    answering = make_engine(url)
    SQLModel.metadata.create_all(answering)
    with Session(answering) as db:
        make_user(db, "grace@example.com", NEW)
        request_password_reset(db, "grace@example.com", CLIENT)  # answered once this commits
        db.commit()
    answering.dispose()  # that process is gone; the request is a row

    restarted = make_engine(url)
    task = asyncio.create_task(run_forever(0.05, engine=restarted, settings=smtp_settings(mail_server), work=work_once))
    try:
        await async_wait_until(lambda: len(mail_server.received()) >= 1)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    (msg,) = mail_server.received()
    assert msg["To"] == "grace@example.com"
    assert "/auth/reset-password?token=" in msg.get_body(("plain",)).get_content()
    with Session(restarted) as db:
        assert db.exec(select(ResetRequest)).all() == []
    restarted.dispose()


async def test_run_forever_survives_errors(tmp_path, caplog):
    broken = make_engine(f"sqlite:///{tmp_path}/no-tables.db")
    task = asyncio.create_task(run_forever(0.01, engine=broken, settings=mail_settings()))
    try:
        await async_wait_until(lambda: caplog.text.count("background work failed") >= 2)
        assert not task.done()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        broken.dispose()


# --- console and file backends ------------------------------------------------------------


def test_console_backend_hides_tokens_in_production(engine, capsys, caplog):
    caplog.set_level(logging.INFO, logger="pwapp.mail")
    s = mail_settings(env="production", mail_backend="console")
    path_url = f"{BASE_URL}/auth/reset/{TOKEN}"
    queue_mails(engine, s, ["frank@example.com"])
    queue_mails(engine, s, ["grace@example.com"], context={**RESET_CONTEXT, "reset_url": path_url})
    assert send_pending(engine, settings=s) == 2

    out = capsys.readouterr().out
    for shown in (out, caplog.text):
        assert TOKEN not in shown
        assert "Reset your pwapp password" in shown and "frank@example.com" in shown
        assert f"{BASE_URL}/auth/reset-password?[redacted]" in shown
        assert f"{BASE_URL}/auth/reset/[redacted]" in shown


def test_console_backend_prints_the_link_in_development(engine, capsys):
    s = mail_settings(env="development", mail_backend="console")
    queue_mails(engine, s, ["heidi@example.com"])
    with engine.begin() as conn:
        conn.execute(update(OutboxMessage).values(subject="Réinitialisez votre mot de passe"))
    assert send_pending(engine, settings=s) == 1
    out = capsys.readouterr().out
    assert RESET_URL in out and "Subject: Réinitialisez votre mot de passe" in out


def test_file_backend_writes_a_parseable_eml(engine, tmp_path):
    s = mail_settings(mail_backend="file", mail_dir=tmp_path / "mails")
    [row_id] = queue_mails(engine, s, ["ivan@example.com"])
    assert send_pending(engine, settings=s) == 1

    [path] = (tmp_path / "mails").iterdir()
    assert re.fullmatch(r"\d{8}T\d{12}Z-[0-9a-f]{32}\.eml", path.name)
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert (msg["To"], msg["Subject"]) == ("ivan@example.com", "Reset your pwapp password")
    assert RESET_URL in msg.get_body(("plain",)).get_content()
    assert RESET_URL in msg.get_body(("html",)).get_content()
    assert outbox_row(engine, row_id).status == SENT


def test_file_backend_redacts_links_in_production(engine, tmp_path):
    s = mail_settings(env="production", mail_backend="file", mail_dir=tmp_path / "mails")
    queue_mails(engine, s, ["judy@example.com"])
    assert send_pending(engine, settings=s) == 1

    [path] = (tmp_path / "mails").iterdir()
    assert TOKEN.encode() not in path.read_bytes()
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    for kind in ("plain", "html"):
        assert f"{BASE_URL}/auth/reset-password?[redacted]" in msg.get_body((kind,)).get_content()


# --- command line -------------------------------------------------------------------------


def test_cli_lists_without_bodies_and_retries_failed(engine, monkeypatch, capsys):
    monkeypatch.setattr(pwapp.db, "engine", lambda: engine)
    s = mail_settings()
    [row_id] = queue_mails(engine, s, ["judy@example.com"])
    with engine.begin() as conn:
        conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(status=FAILED, attempts=MAX_ATTEMPTS, last_error="550 no such user")
        )

    assert cli.main(["list", "--status", "failed"]) == 0
    out = capsys.readouterr().out
    assert "judy@example.com" in out and "550 no such user" in out and "password_reset" in out
    assert TOKEN not in out and "Hello" not in out

    assert cli.main(["retry", str(row_id)]) == 0
    row = outbox_row(engine, row_id)
    assert (row.status, row.attempts) == (PENDING, 0)
    assert cli.main(["retry", "--all-failed"]) == 0
    assert "0 message(s)" in capsys.readouterr().out.splitlines()[-1]
