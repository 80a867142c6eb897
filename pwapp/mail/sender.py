"""Drain the outbox: claim due rows atomically, send them, record the outcome.

A claim sets status SENDING and `claimed_until`; a sender that dies leaves rows whose
claim expires, and the next sender takes them again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from pwapp import db as pwdb
from pwapp.mail.backends import Backend, DeliveryError, get_backend
from pwapp.mail.compose import build_message
from pwapp.models.outbox import FAILED, PENDING, SENDING, SENT, OutboxMessage
from pwapp.settings import Settings
from pwapp.settings import settings as default_settings

log = logging.getLogger("pwapp.mail")

CLAIM = timedelta(minutes=5)
BATCH_BUDGET_SECONDS = 120
MAX_ATTEMPTS = 8
outbox = OutboxMessage.__table__


def retry_delay(attempts: int) -> timedelta:
    """Back-off after the `attempts`-th failure: 30 s doubling, at most an hour."""
    return timedelta(seconds=min(30 * 2**attempts, 3600))


def _due(now: datetime):
    return or_(
        and_(outbox.c.status == PENDING, outbox.c.next_attempt_at <= now),
        and_(outbox.c.status == SENDING, outbox.c.claimed_until < now),
    )


def _claim(engine: Engine, limit: int, now: datetime) -> list[OutboxMessage]:
    """Mark up to `limit` due rows SENDING for this sender and return them, in one statement.

    SQLite runs one writer at a time; on PostgreSQL, SKIP LOCKED leaves rows that another
    sender is claiming to it, and a row it claimed first is no longer due when re-checked.
    """
    due = select(outbox.c.id).where(_due(now)).order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit)
    if engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claim = (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due))
        .values(status=SENDING, claimed_until=now + CLAIM)
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )
    with Session(engine, expire_on_commit=False) as db:
        rows = db.scalars(claim).all()
        db.commit()
    return sorted(rows, key=lambda row: (row.next_attempt_at, row.id))


def _release(engine: Engine, ids: list[int]) -> None:
    """Give claimed rows back untouched (this batch stopped early)."""
    if ids:
        with engine.begin() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(ids), outbox.c.status == SENDING)
                .values(status=PENDING, claimed_until=None)
            )


def _record(engine: Engine, row_id: int, **values) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(outbox).where(outbox.c.id == row_id).values(claimed_until=None, **values)
        )


def _failure(row: OutboxMessage, error: DeliveryError, now: datetime) -> dict:
    attempts = row.attempts + 1
    if error.permanent or attempts >= MAX_ATTEMPTS:
        return {"status": FAILED, "attempts": attempts, "last_error": error.reason}
    return {
        "status": PENDING,
        "attempts": attempts,
        "last_error": error.reason,
        "next_attempt_at": now + retry_delay(attempts),
    }


def _deliver(engine: Engine, row: OutboxMessage, backend: Backend, settings: Settings, now: datetime) -> str:
    """Send one claimed row, record the outcome and return the row's new status."""
    row_id = row.id
    try:
        backend.send(build_message(row, settings))
    except DeliveryError as exc:
        error = exc
    except Exception as exc:  # a bug in a backend must not leave the row claimed forever
        log.exception("mail %s: unexpected error while sending", row_id)
        error = DeliveryError(f"unexpected {type(exc).__name__}", permanent=False)
    else:
        _record(engine, row_id, status=SENT, sent_at=now, last_error=None)
        log.info("mail %s (%s) sent", row_id, row.template)
        return SENT
    outcome = _failure(row, error, now)
    _record(engine, row_id, **outcome)
    log.warning(
        "mail %s (%s) not sent, now %s: %s", row_id, row.template, outcome["status"], error.reason
    )
    return outcome["status"]


def send_pending(
    engine: Engine | None = None,
    *,
    limit: int = 50,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> int:
    """Send up to `limit` due messages; returns how many rows were claimed and handled.

    A temporary failure ends the batch (the server is unlikely to do better for the
    next row), and rows still unsent are handed back as they were.
    """
    engine = engine or pwdb.engine()
    settings = settings or default_settings
    now = now or pwdb.utcnow()
    rows = _claim(engine, limit, now)
    backend = get_backend(settings)
    started = time.monotonic()
    for done, row in enumerate(rows):
        if time.monotonic() - started > BATCH_BUDGET_SECONDS:
            _release(engine, [r.id for r in rows[done:]])
            return done
        if _deliver(engine, row, backend, settings, now) == PENDING:
            _release(engine, [r.id for r in rows[done + 1 :]])
            return done + 1
    return len(rows)


async def run_forever(
    poll_seconds: float = 2.0,
    *,
    engine: Engine | None = None,
    settings: Settings | None = None,
    limit: int = 50,
    work: Callable[..., int] = send_pending,
) -> None:
    """Run `work` (by default: send due mail) every `poll_seconds` until cancelled; errors are logged.

    Polling (not waking on each commit) keeps this work unrelated to any one request,
    so response times cannot tell whether a reset request found an account.
    """
    while True:
        try:
            handled = await asyncio.to_thread(work, engine, limit=limit, settings=settings)
        except Exception:
            log.exception("background work failed; trying again in %s s", poll_seconds)
            handled = 0
        if handled < limit:
            await asyncio.sleep(poll_seconds)
