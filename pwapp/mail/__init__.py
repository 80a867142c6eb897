"""Outgoing email: `queue()` a mail inside your transaction; the sender delivers it later.

Start the sender with `app.register_lifespan_task(pwapp.mail.run_forever)` or
`python -m pwapp mail send-pending --loop`.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlmodel import Session

from pwapp.db import utcnow
from pwapp.mail.compose import check_recipient, render
from pwapp.mail.sender import run_forever, send_pending
from pwapp.models.outbox import DISCARDED, PENDING, OutboxMessage
from pwapp.security.sealing import seal
from pwapp.settings import Settings
from pwapp.settings import settings as default_settings

__all__ = ["queue", "run_forever", "send_pending"]


def queue(
    db: Session,
    *,
    to: str,
    template: str,
    context: dict,
    discard: bool = False,
    settings: Settings | None = None,
) -> int:
    """Render `template` for `to` and add it to the outbox in `db` (not committed); returns its id.

    `discard=True` stores the row as DISCARDED: same work, never sent. The sender's next
    poll (every 2 s in the app) delivers the others.
    """
    rendered = render(template, context, settings or default_settings)
    now = utcnow()
    row = insert(OutboxMessage.__table__).values(
        recipient=check_recipient(to),
        template=template,
        subject=rendered.subject,
        text_body=seal(rendered.text),
        html_body=seal(rendered.html),
        status=DISCARDED if discard else PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    return db.execute(row.returning(OutboxMessage.__table__.c.id)).scalar_one()
