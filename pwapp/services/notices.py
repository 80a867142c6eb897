"""The emails account events queue: override these to change what users are told."""

from __future__ import annotations

from sqlmodel import Session

from pwapp import mail, routes
from pwapp.db import utcnow
from pwapp.models import User
from pwapp.services.accounts import Client
from pwapp.settings import settings


def _event_context(client: Client) -> dict:
    return {
        "when": utcnow().strftime("%Y-%m-%d %H:%M UTC"),
        "ip": client.ip or "unknown",
        "browser": client.browser,
        "forgot_url": settings.base_url + routes.current().forgot_password,
    }


def password_changed(db: Session, user: User, client: Client) -> None:
    """Queue "Your password was changed" (no password, no token)."""
    mail.queue(db, to=user.email, template="password_changed", context=_event_context(client))


def password_reset_done(db: Session, user: User, client: Client) -> None:
    """Queue "Your password was reset"."""
    mail.queue(db, to=user.email, template="password_reset_done", context=_event_context(client))


def two_step_changed(db: Session, user: User, client: Client, template: str) -> None:
    """Queue a mail saying two-step sign-in was turned on (`two_step_enabled`), off
    (`two_step_disabled`), or its recovery codes replaced (`recovery_codes_regenerated`)."""
    mail.queue(db, to=user.email, template=template, context=_event_context(client))


def reset_link(db: Session, email: str, reset_url: str, *, has_account: bool) -> None:
    """Queue the reset link; for an address without an account, the same mail is rendered and
    stored but never sent, so both cases do the same work."""
    context = {"reset_url": reset_url, "expires_minutes": settings.reset_token_max_age // 60}
    mail.queue(db, to=email, template="password_reset", context=context, discard=not has_account)
