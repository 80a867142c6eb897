"""Shared test data and helpers for the service and API tests: clients, passwords, users, mail."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from pwapp.models import OutboxMessage, User
from pwapp.models.outbox import PENDING
from pwapp.security.tokens import digest
from pwapp.services.accounts import Client, create_ticket, current_session, redeem_ticket, register
from pwapp.services.passwords import issue_reset_links, request_password_reset
from pwapp.services.signup import handle_sign_up_requests
from pwapp.settings import settings

CLIENT = Client(ip="203.0.113.7", user_agent="pytest-browser", binding=digest("laptop's binding cookie"))
PHONE = Client(ip="198.51.100.23", user_agent="pytest-phone", binding=digest("phone's binding cookie"))
OLD = "Quartz-Harbor-Tulip-1987!"
NEW = "Velvet-Canyon-Marble-2042?"
BOB = "Orchid-Glacier-Falcon-7731#"
ALICE = "alice@example.org"
LINK_PREFIX = settings.base_url + "/auth/reset-password?token="
RESET_LINK = re.compile(re.escape(LINK_PREFIX) + r"(\S+)")
VERIFY_LINK = re.compile(re.escape(settings.base_url + "/auth/verify-email?token=") + r"(\S+)")


def make_user(db: Session, email: str = ALICE, password: str = OLD) -> User:
    """Register `email` with `password` (confirmed) and commit."""
    user = register(db, email, password, password)
    db.commit()
    return user


def sign_in(db: Session, user: User, client: Client = CLIENT) -> str:
    """A live session token for `user`, the way the browser gets one (ticket, then cookie)."""
    redeemed = redeem_ticket(db, create_ticket(db, user, client), client.binding)
    assert redeemed is not None
    db.commit()
    return redeemed[0]


def whoami(db: Session, token: str):
    """(user, session) as a request carrying `token` would see them."""
    found = current_session(db, digest(token))
    assert found is not None
    return found


def mails(db: Session | Engine, **where) -> list[OutboxMessage]:
    """Outbox messages whose columns equal `where`, oldest first, once the worker has turned
    queued sign-ups and reset requests into mail and committed (an engine gets its own session)."""
    if isinstance(db, Engine):
        with Session(db) as s:
            return mails(s, **where)
    handle_sign_up_requests(db, limit=1000)
    issue_reset_links(db, limit=1000)
    db.commit()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    for column, value in where.items():
        query = query.where(getattr(OutboxMessage, column) == value)
    return list(db.exec(query).all())


def newest_link(db: Session | Engine, email: str = ALICE) -> str:
    """The reset token in the newest pending password_reset mail to `email`."""
    sent = mails(db, template="password_reset", status=PENDING, recipient=email.strip().lower())
    assert sent, "no reset mail was queued"
    (token,) = RESET_LINK.findall(sent[-1].text())
    return token


def newest_verify_link(db: Session | Engine, email: str = ALICE) -> str:
    """The token in the newest pending verify_email mail to `email`."""
    sent = mails(db, template="verify_email", status=PENDING, recipient=email.strip().lower())
    assert sent, "no verification mail was queued"
    (token,) = VERIFY_LINK.findall(sent[-1].text())
    return token


def request_link(db: Session, email: str, client: Client = CLIENT, **kwargs) -> str:
    """Ask the service for a reset link for `email` and return its token."""
    request_password_reset(db, email, client, **kwargs)
    db.commit()
    return newest_link(db, email)


def run_together(work: Callable[[], None], threads: int = 2) -> None:
    """Run `work` in `threads` threads released at the same moment; re-raise the first error."""
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait(timeout=10)
            work()
        except BaseException as exc:  # reported by the calling thread
            errors.append(exc)

    started = [threading.Thread(target=run) for _ in range(threads)]
    for t in started:
        t.start()
    for t in started:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in started), "a thread did not finish"
    if errors:
        raise errors[0]
