"""The app's background work: queued sign-ups and reset requests become accounts, links and
mail, due mail is sent, and now and then rows nobody can use any more are deleted."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from pwapp import db as pwdb
from pwapp.mail import send_pending
from pwapp.services.errors import HookFailed
from pwapp.services.passwords import issue_reset_links
from pwapp.services.retention import purge
from pwapp.services.signup import handle_sign_up_requests
from pwapp.settings import Settings
from pwapp.settings import settings as default_settings

QUEUE_BATCH = 20  # requests per transaction: short, so request handlers' inserts are not held up
PURGE_SECONDS = 300
PURGE_BATCHES = 40  # per tick: a backlog drains over several ticks, between the other work
log = logging.getLogger("pwapp.worker")


class Every:
    """When periodic work is due in this process: at the first call, then every `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._next = 0.0

    def due(self) -> bool:
        """True (and the next time is set) when the work is due now."""
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.seconds
        return True

    def soon(self) -> None:
        """Make the work due again at the next call (there is more to do)."""
        self._next = 0.0


PURGE = Every(PURGE_SECONDS)


def purge_if_due(engine: Engine, settings: Settings, schedule: Every = PURGE) -> None:
    """Delete expired rows when `schedule` says so; a backlog makes it due again at once."""
    if not schedule.due():
        return
    result = purge(
        engine,
        retention=timedelta(days=settings.retention_days),
        idle=timedelta(minutes=settings.session_idle_minutes),
        max_batches=PURGE_BATCHES,
        unverified=timedelta(hours=settings.unverified_account_hours),
    )
    if not result.finished:
        schedule.soon()
    if any(result.deleted.values()):
        log.info("retention: deleted %s", ", ".join(f"{n} {kind}" for kind, n in result.deleted.items()))


def work_once(
    engine: Engine | None = None,
    *,
    limit: int = 50,
    settings: Settings | None = None,
    schedule: Every = PURGE,
) -> int:
    """Handle up to `limit` queued sign-ups and as many reset requests, send up to `limit` due
    mails, then purge if due; returns the requests and mails handled. A batch whose hook raised
    stays queued for the next tick."""
    engine = engine or pwdb.engine()
    handled = sum(_drain(engine, queue, limit) for queue in (handle_sign_up_requests, issue_reset_links))
    sent = send_pending(engine, limit=limit, settings=settings)
    purge_if_due(engine, settings or default_settings, schedule)
    return handled + sent


def _drain(engine: Engine, queue, limit: int) -> int:
    """Run `queue(db, limit=…)` in short transactions until it is empty or `limit` are handled."""
    handled = 0
    while handled < limit:
        try:
            with Session(engine, expire_on_commit=False) as db:
                batch = queue(db, limit=min(QUEUE_BATCH, limit - handled))
                db.commit()
        except HookFailed:  # logged by pwapp.hooks; mail already queued still goes out
            break
        handled += batch
        if batch == 0:
            break
    return handled
