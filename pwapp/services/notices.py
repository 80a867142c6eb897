"""The built-in notice mails: default hooks (see pwapp.hooks), replaceable without editing pwapp."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from pwapp import mail, routes
from pwapp.events import PasswordChanged, ResetCompleted, TwoStepChanged
from pwapp.settings import settings

TWO_STEP_TEMPLATES = {
    "enabled": "two_step_enabled",
    "disabled": "two_step_disabled",
    "codes_regenerated": "recovery_codes_regenerated",
}


def _context(at: datetime, ip: str, browser: str) -> dict:
    return {
        "when": at.strftime("%Y-%m-%d %H:%M UTC"),
        "ip": ip or "unknown",
        "browser": browser,
        "forgot_url": settings.base_url + routes.current().forgot_password,
    }


def _event_context(event: PasswordChanged | ResetCompleted | TwoStepChanged) -> dict:
    return _context(event.at, event.ip, event.browser)


def password_changed(db: Session, event: PasswordChanged) -> None:
    """Queue "Your password was changed" (no password, no token)."""
    mail.queue(db, to=event.email, template="password_changed", context=_event_context(event))


def password_reset_done(db: Session, event: ResetCompleted) -> None:
    """Queue "Your password was reset"."""
    mail.queue(db, to=event.email, template="password_reset_done", context=_event_context(event))


def two_step_changed(db: Session, event: TwoStepChanged) -> None:
    """Queue a mail saying two-step sign-in was turned on, off, or its recovery codes replaced."""
    mail.queue(db, to=event.email, template=TWO_STEP_TEMPLATES[event.change], context=_event_context(event))


def verify_link(db: Session, email: str, url: str) -> None:
    """Queue the link that confirms a new account's address."""
    context = {"verify_url": url, "expires_hours": max(1, settings.verify_token_max_age // 3600)}
    mail.queue(db, to=email, template="verify_email", context=context)


def sign_up_attempt(db: Session, email: str, ip: str, browser: str, at: datetime) -> None:
    """Queue "someone tried to sign up with this address" to the account's owner."""
    context = _context(at, ip, browser) | {"login_url": settings.base_url + routes.current().login}
    mail.queue(db, to=email, template="sign_up_attempt", context=context)


def reset_link(db: Session, email: str, reset_url: str, has_account: bool) -> None:
    """Queue the reset link; for an address without an account, the same mail is rendered and
    stored but never sent, so both cases do the same work."""
    context = {"reset_url": reset_url, "expires_minutes": settings.reset_token_max_age // 60}
    mail.queue(db, to=email, template="password_reset", context=context, discard=not has_account)
