"""Retention: delete rows nobody can use any more, in short batches.

Dead sessions, spent reset records and delivered or abandoned mail go `retention` after they
died; login tickets and two-step challenges never completed go minutes after they expired, and
recovery codes never shown as soon as they expire. Accounts whose address was never confirmed
go `unverified` after sign-up (their links and reset records first). Live sessions, usable
links and mail still to be sent are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Table, and_, delete, exists, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from pwapp.db import utcnow
from pwapp.models import (
    EmailVerification,
    OutboxMessage,
    PasswordReset,
    RecoveryCodesToShow,
    SignInChallenge,
    User,
    UserSession,
)
from pwapp.models.outbox import DISCARDED, FAILED, SENT

BATCH = 500  # rows per transaction: a request waiting behind one batch waits milliseconds
TICKET_MARGIN = timedelta(minutes=10)  # kept past a ticket's expiry, for clocks that disagree a little
LOCK_KEY = 0x707761707265746E  # "pwapretn": PostgreSQL advisory lock taken by each batch

sessions: Table = UserSession.__table__
resets: Table = PasswordReset.__table__
outbox: Table = OutboxMessage.__table__
challenges: Table = SignInChallenge.__table__
codes_to_show: Table = RecoveryCodesToShow.__table__
verifications: Table = EmailVerification.__table__
users: Table = User.__table__
UNVERIFIED = timedelta(hours=48)


@dataclass
class Purged:
    """Rows deleted per kind; `finished` is False when the batch cap stopped the purge early."""

    deleted: dict[str, int] = field(default_factory=dict)
    finished: bool = True


def _expired(
    retention: timedelta, idle: timedelta, unverified: timedelta, now: datetime
) -> list[tuple[str, Table, ColumnElement]]:
    """Each kind of row, its table, and the condition that it is unusable and past retention."""
    cutoff = now - retention
    stale = and_(users.c.email_verified_at.is_(None), users.c.created_at < now - unverified)
    stale_ids = select(users.c.id).where(stale)
    return [
        (
            "tickets",
            sessions,
            and_(sessions.c.token_hash.is_(None), sessions.c.ticket_expires_at < now - TICKET_MARGIN),
        ),
        (
            "sessions",
            sessions,
            or_(
                sessions.c.revoked_at < cutoff,
                sessions.c.expires_at < cutoff,
                sessions.c.last_seen_at < cutoff - idle,  # idle-dead since before the cut-off
            ),
        ),
        (
            "resets",
            resets,
            or_(
                resets.c.used_at < cutoff,
                resets.c.superseded_at < cutoff,
                resets.c.expires_at < cutoff,
                resets.c.user_id.in_(stale_ids),
            ),
        ),
        (
            "verify_links",
            verifications,
            or_(
                verifications.c.used_at < cutoff,
                verifications.c.expires_at < cutoff,
                verifications.c.user_id.in_(stale_ids),
            ),
        ),
        (
            "unverified_accounts",
            users,
            and_(
                stale,
                ~exists().where(verifications.c.user_id == users.c.id),
                ~exists().where(resets.c.user_id == users.c.id),
            ),
        ),
        (
            "mail",
            outbox,
            or_(
                and_(outbox.c.status == SENT, outbox.c.sent_at < cutoff),
                # failed: kept a retention after its last attempt was due, for `mail retry`
                and_(outbox.c.status.in_((FAILED, DISCARDED)), outbox.c.next_attempt_at < cutoff),
            ),
        ),
        ("challenges", challenges, challenges.c.expires_at < now - TICKET_MARGIN),
        ("recovery_codes", codes_to_show, codes_to_show.c.expires_at < now),
    ]


def _delete_batch(engine: Engine, table: Table, condition: ColumnElement, batch: int) -> int | None:
    """Delete up to `batch` rows matching `condition` in one transaction; None when another
    process is purging (PostgreSQL), which then does this work instead."""
    ids = select(table.c.id).where(condition).limit(batch)
    postgres = engine.dialect.name == "postgresql"
    if postgres:  # rows a request has locked are left for the next purge, never waited for
        ids = ids.with_for_update(skip_locked=True)
    with engine.begin() as conn:
        if postgres and not conn.execute(select(func.pg_try_advisory_xact_lock(LOCK_KEY))).scalar():
            return None
        return conn.execute(delete(table).where(table.c.id.in_(ids))).rowcount


def purge(
    engine: Engine,
    *,
    retention: timedelta,
    idle: timedelta,
    now: datetime | None = None,
    batch: int = BATCH,
    max_batches: int | None = None,
    only: frozenset[str] | None = None,
    unverified: timedelta = UNVERIFIED,
) -> Purged:
    """Delete expired rows of every kind (or of the kinds in `only`: tickets, sessions, resets,
    mail, challenges, recovery_codes, verify_links, unverified_accounts), `batch` rows per transaction, in at most
    `max_batches` transactions (unlimited by default); `idle` is how long an unused session lives,
    `unverified` how long an account waits for its address to be confirmed."""
    now = now or utcnow()
    kinds = [kind for kind in _expired(retention, idle, unverified, now) if only is None or kind[0] in only]
    result = Purged(deleted={kind: 0 for kind, _, _ in kinds})
    batches = 0
    for kind, table, condition in kinds:
        deleted = batch
        while deleted == batch:
            if batches == max_batches:
                result.finished = False
                return result
            deleted = _delete_batch(engine, table, condition, batch)
            batches += 1
            if deleted is None:
                return result
            result.deleted[kind] += deleted
    return result
