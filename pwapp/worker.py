"""The app's background work: queued reset requests become links, then due mail is sent."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from pwapp import db as pwdb
from pwapp.mail import send_pending
from pwapp.services.passwords import issue_reset_links
from pwapp.settings import Settings

RESET_BATCH = 20  # requests per transaction: short, so request handlers' inserts are not held up


def work_once(engine: Engine | None = None, *, limit: int = 50, settings: Settings | None = None) -> int:
    """Issue up to `limit` queued reset links, then send up to `limit` due mails; returns rows handled."""
    engine = engine or pwdb.engine()
    issued = 0
    while issued < limit:
        with Session(engine, expire_on_commit=False) as db:
            batch = issue_reset_links(db, limit=min(RESET_BATCH, limit - issued))
            db.commit()
        issued += batch
        if batch == 0:
            break
    return issued + send_pending(engine, limit=limit, settings=settings)
