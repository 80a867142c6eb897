"""Retention: rows nobody can use any more are deleted after their cut-off, in batches, by the
worker; live sessions, usable links and mail still to be sent are kept."""

from __future__ import annotations

import secrets
import threading
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, update
from sqlmodel import Session, SQLModel

from pwapp import worker
from pwapp.db import make_engine, utcnow
from pwapp.models import User
from pwapp.models.outbox import DISCARDED, FAILED, PENDING, SENDING, SENT
from pwapp.security.tokens import digest
from pwapp.services.accounts import active_sessions, create_ticket, current_session, find_user, redeem_ticket
from pwapp.services.passwords import check_reset_link
from pwapp.services.retention import BATCH, LOCK_KEY, TICKET_MARGIN, outbox, purge, resets, sessions
from pwapp.services.signup import request_sign_up
from pwapp.settings import get_settings, settings
from pwapp.worker import Every, work_once
from tests.factories import CLIENT, NEW, make_user, request_link, run_together, sign_in
from tests.services import service_url

RETENTION = timedelta(days=30)
IDLE = timedelta(minutes=settings.session_idle_minutes)
SECOND = timedelta(seconds=1)


def add(db: Session, table, **values) -> int:
    """Insert one row and return its id."""
    return db.execute(insert(table).values(**values).returning(table.c.id)).scalar_one()


def add_session(db: Session, user_id: int, now: datetime, **values) -> int:
    """A signed-in session row, live unless `values` say otherwise."""
    defaults = {
        "user_id": user_id,
        "token_hash": secrets.token_hex(32),
        "created_at": now - timedelta(days=1),
        "last_seen_at": now,
        "expires_at": now + timedelta(days=1),
    }
    return add(db, sessions, **{**defaults, **values})


def add_ticket(db: Session, user_id: int, expires_at: datetime) -> int:
    """A login ticket never redeemed, made a minute before it expires."""
    return add_session(
        db, user_id, expires_at - timedelta(minutes=1), token_hash=None, ticket_hash=secrets.token_hex(32), ticket_expires_at=expires_at
    )


def add_reset(db: Session, user_id: int | None, created_at: datetime, **values) -> int:
    """A reset record made at `created_at`, valid for an hour unless `values` say otherwise."""
    defaults = {"user_id": user_id, "token_hash": "0" * 64, "created_at": created_at, "expires_at": created_at + timedelta(hours=1)}
    return add(db, resets, **{**defaults, **values})


def add_mail(db: Session, status: str, at: datetime, **values) -> int:
    """An outbox row created, due and (when SENT) sent at `at`."""
    defaults = {
        "recipient": "alice@example.org",
        "template": "password_changed",
        "subject": "Your password was changed",
        "text_body": "",
        "html_body": "",
        "status": status,
        "attempts": 0,
        "next_attempt_at": at,
        "created_at": at,
        "sent_at": at if status == SENT else None,
    }
    return add(db, outbox, **{**defaults, **values})


def ids(db: Session, table) -> set[int]:
    return set(db.scalars(select(table.c.id)))


def dead_sessions(engine, count: int) -> list[int]:
    """`count` sessions revoked before the cut-off, of a new user."""
    now = utcnow()
    with Session(engine) as db:
        user = make_user(db, f"user{secrets.token_hex(4)}@example.org")
        row = {"user_id": user.id, "created_at": now, "last_seen_at": now, "expires_at": now,
               "revoked_at": now - RETENTION - SECOND}
        db.execute(insert(sessions), [{**row, "token_hash": secrets.token_hex(32)} for _ in range(count)])
        db.commit()
        return sorted(ids(db, sessions))


def test_dead_sessions_go_after_retention_and_unredeemed_tickets_soon_after_expiry(engine, db, alice):
    now = utcnow()
    cutoff = now - RETENTION
    token = sign_in(db, alice)
    ticket = create_ticket(db, alice, CLIENT)
    live = ids(db, sessions)
    kept = live | {
        add_session(db, alice.id, now, revoked_at=cutoff + SECOND),
        add_session(db, alice.id, now, expires_at=cutoff + SECOND),
        add_session(db, alice.id, now, last_seen_at=cutoff - IDLE + SECOND),
        add_session(db, alice.id, now, last_seen_at=now - IDLE + timedelta(minutes=5)),  # idle, but alive for the test
        add_ticket(db, alice.id, now - TICKET_MARGIN + SECOND),
    }
    for gone in (
        {"revoked_at": cutoff - SECOND},
        {"expires_at": cutoff - SECOND},
        {"last_seen_at": cutoff - IDLE - SECOND},
    ):
        add_session(db, alice.id, now, **gone)
    add_ticket(db, alice.id, now - TICKET_MARGIN - SECOND)
    db.commit()
    listed = [s.id for s in active_sessions(db, alice)]

    result = purge(engine, retention=RETENTION, idle=IDLE, now=now)

    assert result.deleted == {"tickets": 1, "sessions": 3, "resets": 0, "mail": 0, "challenges": 0, "recovery_codes": 0,
                              "verify_links": 0, "unverified_accounts": 0}
    assert result.finished
    assert ids(db, sessions) == kept
    assert [s.id for s in active_sessions(db, alice)] == listed
    assert current_session(db, digest(token)) is not None
    assert redeem_ticket(db, ticket, CLIENT.binding) is not None


def test_spent_reset_records_go_after_retention_and_a_usable_link_stays(engine, db, alice):
    now = utcnow()
    cutoff = now - RETENTION
    token = request_link(db, alice.email)
    before = cutoff - timedelta(minutes=10)  # made ten minutes before the cut-off, so not yet expired at it
    kept = ids(db, resets) | {
        add_reset(db, alice.id, before, used_at=cutoff + SECOND),
        add_reset(db, alice.id, before, superseded_at=cutoff + SECOND),
        add_reset(db, alice.id, cutoff - timedelta(hours=1) + SECOND),
    }
    add_reset(db, alice.id, before, used_at=cutoff - SECOND)
    add_reset(db, alice.id, before, superseded_at=cutoff - SECOND)
    add_reset(db, alice.id, cutoff - timedelta(hours=1) - SECOND)
    add_reset(db, None, cutoff - timedelta(hours=1) - SECOND)  # asked for an unknown address
    db.commit()

    result = purge(engine, retention=RETENTION, idle=IDLE, now=now)

    assert result.deleted["resets"] == 4
    assert ids(db, resets) == kept
    record, user = check_reset_link(db, token)
    assert user.id == alice.id


def test_sent_failed_and_discarded_mail_go_after_retention_and_unsent_mail_stays(engine, db):
    now = utcnow()
    cutoff = now - RETENTION
    long_ago = now - timedelta(days=365)
    kept = {
        add_mail(db, SENT, cutoff + SECOND),
        add_mail(db, FAILED, cutoff + SECOND),
        add_mail(db, DISCARDED, cutoff + SECOND),
        add_mail(db, PENDING, long_ago),
        add_mail(db, SENDING, long_ago, claimed_until=long_ago),
        add_mail(db, SENT, long_ago, sent_at=cutoff + SECOND),  # delivered late, after many retries
    }
    for status in (SENT, FAILED, DISCARDED):
        add_mail(db, status, cutoff - SECOND)
    db.commit()

    result = purge(engine, retention=RETENTION, idle=IDLE, now=now)

    assert result.deleted["mail"] == 3
    assert ids(db, outbox) == kept


def test_purge_works_in_batches_and_stops_at_its_cap(engine, db, alice):
    now = utcnow()
    for _ in range(17):
        add_session(db, alice.id, now, revoked_at=now - RETENTION - SECOND)
    db.commit()

    first = purge(engine, retention=RETENTION, idle=IDLE, now=now, batch=5, max_batches=3)
    assert first.deleted["sessions"] == 10 and not first.finished  # a (empty) batch of tickets, then two
    assert len(ids(db, sessions)) == 7

    rest = purge(engine, retention=RETENTION, idle=IDLE, now=now, batch=5)
    assert rest.deleted["sessions"] == 7 and rest.finished
    assert ids(db, sessions) == set()


def test_two_purges_at_once_delete_each_row_once(engine):
    dead_sessions(engine, 1200)
    results = []

    run_together(lambda: results.append(purge(engine, retention=RETENTION, idle=IDLE, batch=50)))

    assert sum(r.deleted["sessions"] for r in results) == 1200
    with Session(engine) as db:
        assert db.scalar(select(func.count()).select_from(sessions)) == 0


def test_the_worker_purges_when_due_with_the_configured_retention(engine, db, alice):
    now = utcnow()
    bob = make_user(db, "bob@example.org")
    old = add_session(db, alice.id, now, revoked_at=now - timedelta(days=3))
    recent = add_session(db, alice.id, now, revoked_at=now - timedelta(days=1))
    db.commit()
    two_days = replace(get_settings(), retention_days=2)
    schedule = Every(300)

    work_once(engine, settings=two_days, schedule=schedule)
    assert old not in ids(db, sessions) and recent in ids(db, sessions)

    later = add_session(db, bob.id, now, revoked_at=now - timedelta(days=3))
    db.commit()
    work_once(engine, settings=two_days, schedule=schedule)  # the next tick: not due yet
    assert later in ids(db, sessions)


def test_the_worker_handles_sign_ups_and_purges_unconfirmed_accounts_after_the_configured_hours(engine, db):
    request_sign_up(db, "carol@example.org", NEW, NEW, CLIENT)
    db.commit()
    work_once(engine, schedule=Every(300))  # makes the unconfirmed account; too young to purge
    assert find_user(db, "carol@example.org") is not None
    none_left = replace(get_settings(), unverified_account_hours=1)
    db.execute(update(User).values(created_at=utcnow() - timedelta(hours=2)))
    db.commit()
    work_once(engine, settings=none_left, schedule=Every(300))
    db.expire_all()
    assert find_user(db, "carol@example.org") is None


def test_a_backlog_keeps_the_worker_purging_at_every_tick(engine, monkeypatch):
    monkeypatch.setattr(worker, "PURGE_BATCHES", 2)  # one (empty) batch of tickets, one of sessions
    dead_sessions(engine, BATCH + 3)
    schedule = Every(300)

    work_once(engine, schedule=schedule)
    with Session(engine) as db:
        assert len(ids(db, sessions)) == 3
    work_once(engine, schedule=schedule)
    with Session(engine) as db:
        assert ids(db, sessions) == set()


@pytest.fixture
def postgres():
    """An empty PostgreSQL database with every table."""
    eng = make_engine(service_url("PWAPP_TEST_POSTGRES_URL"))
    SQLModel.metadata.drop_all(eng)
    SQLModel.metadata.create_all(eng)
    yield eng
    eng.dispose()


def test_postgres_purge_skips_a_row_a_request_has_locked_instead_of_waiting(postgres):
    locked, _ = dead_sessions(postgres, 2)
    results = []
    with postgres.connect() as request:  # e.g. a password change revoking that user's sessions
        request.execute(select(sessions.c.id).where(sessions.c.id == locked).with_for_update())
        purging = threading.Thread(target=lambda: results.append(purge(postgres, retention=RETENTION, idle=IDLE)))
        purging.start()
        purging.join(timeout=10)
        request.rollback()
    purging.join()
    assert results and results[0].deleted["sessions"] == 1
    with Session(postgres) as db:
        assert ids(db, sessions) == {locked}


def test_postgres_purge_stops_while_another_process_is_purging(postgres):
    made = dead_sessions(postgres, 3)
    with postgres.connect() as other_process:
        other_process.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))
        busy = purge(postgres, retention=RETENTION, idle=IDLE)
        other_process.rollback()
    assert busy.deleted["sessions"] == 0 and busy.finished
    with Session(postgres) as db:
        assert ids(db, sessions) == set(made)
    assert purge(postgres, retention=RETENTION, idle=IDLE).deleted["sessions"] == 3
