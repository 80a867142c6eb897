"""The built-in notice mails: default hooks (see pwapp.hooks), replaceable without editing pwapp."""

from __future__ import annotations

from sqlmodel import Session

from pwapp import mail
from pwapp.events import PasswordChanged, ResetCompleted
from pwapp.settings import settings


def _event_context(event: PasswordChanged | ResetCompleted) -> dict:
    return {
        "when": event.at.strftime("%Y-%m-%d %H:%M UTC"),
        "ip": event.ip or "unknown",
        "browser": event.browser,
        "forgot_url": f"{settings.base_url}/auth/forgot-password",
    }


def password_changed(db: Session, event: PasswordChanged) -> None:
    """Queue "Your password was changed" (no password, no token)."""
    mail.queue(db, to=event.email, template="password_changed", context=_event_context(event))


def password_reset_done(db: Session, event: ResetCompleted) -> None:
    """Queue "Your password was reset"."""
    mail.queue(db, to=event.email, template="password_reset_done", context=_event_context(event))


def reset_link(db: Session, email: str, reset_url: str, has_account: bool) -> None:
    """Queue the reset link; for an address without an account, the same mail is rendered and
    stored but never sent, so both cases do the same work."""
    context = {"reset_url": reset_url, "expires_minutes": settings.reset_token_max_age // 60}
    mail.queue(db, to=email, template="password_reset", context=context, discard=not has_account)
