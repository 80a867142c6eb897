"""Change, forgot and reset password: every rule of the three flows lives here."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, update
from sqlmodel import Session, select

from pwapp import hooks, routes
from pwapp.db import utcnow
from pwapp.events import PasswordChanged, ResetCompleted, ResetRequested, ResetRequestHandled
from pwapp.models import PasswordReset, ResetRequest, User, UserSession
from pwapp.security import throttle
from pwapp.security.passwords import hash_password, normalize
from pwapp.security.tokens import (
    BadResetToken,
    ExpiredResetToken,
    digest,
    is_well_formed_reset,
    load_reset,
    new_token,
    parse_reset_reference,
    sign_reset,
)
from pwapp.services.accounts import (
    OPERATOR,
    Client,
    create_ticket,
    mark_verified,
    password_field_errors,
    password_matches,
    require_binding,
    revoke_all_sessions,
    revoke_session,
    sign_out_everywhere,
    valid_email,
)
from pwapp.services.errors import (
    IncorrectCurrentPassword,
    InvalidInput,
    ResetLinkExpired,
    ResetLinkInvalid,
    ResetLinkStale,
    ResetLinkSuperseded,
    ResetLinkUsed,
    SamePassword,
)
from pwapp.settings import settings

RESET_REQUESTED = "If an account exists for that address, we've sent a link to reset its password."
Issuer = Callable[..., str]  # (db, user, client, *, two_step) -> credential


def change_password(
    db: Session,
    user: User,
    current_session: UserSession | None,
    current: str,
    new: str,
    confirm: str | None = None,
    *,
    client: Client,
    sign_out_others: bool = True,
    issue: Issuer = create_ticket,
) -> str:
    """Replace the password after checking the current one; returns the rotated session's credential.

    The current session is always replaced (its old token dies); other sessions are revoked
    unless `sign_out_others` is False. `issue` makes the new credential (browser ticket or API token).
    Each current password given counts as a guess before it is verified; a right one clears the count.
    """
    if issue is create_ticket:
        require_binding(client)  # before the verify: no password is checked for a sign-in that cannot finish
    errors = password_field_errors(new, confirm, user.email)
    if current and normalize(current) == normalize(new):
        errors.setdefault("new_password", []).extend(SamePassword().messages)
    if not current:
        errors["current_password"] = ["Enter your current password."]
    elif not password_matches(throttle.CURRENT_PASSWORD_PER_USER, str(user.id), current, user.password_hash):
        errors.update(IncorrectCurrentPassword().errors)
    if errors:
        raise InvalidInput(errors)
    _set_password(db, user, new)
    if sign_out_others:
        revoke_all_sessions(db, user, reason="password_changed")
    elif current_session is not None:
        revoke_session(db, user, current_session.id)
    # The new credential replaces the caller's session, so it keeps that session's second step.
    credential = issue(db, user, client, two_step=current_session is not None and current_session.two_step)
    _password_changed(db, user, client)
    return credential


def request_password_reset(db: Session, email: str, client: Client, *, now: datetime | None = None) -> None:
    """Accept a reset request for `email`: one queued row, the same for every address.

    The link is made later by `issue_reset_links`, so the answer cannot depend on whether
    the address has an account. Throttled per address and per IP: past the limit nothing
    is queued, and the caller's answer stays the same.
    """
    address, now = valid_email(email), now or utcnow()
    allowed = throttle.RESET_REQUEST_PER_EMAIL.hit(address)
    allowed = throttle.RESET_REQUEST_PER_IP.hit(client.ip) and allowed
    if allowed:
        db.execute(insert(ResetRequest).values(email=address, requested_at=now))
    hooks.emit(db, ResetRequested(email=address, ip=client.ip, browser=client.browser, at=now, queued=allowed))


def issue_reset_links(db: Session, *, limit: int = 20) -> int:
    """Turn up to `limit` queued requests into links and queued mail; returns how many.

    Each request is claimed by deleting its row, so two workers never issue the same one.
    """
    claim = select(ResetRequest.id).order_by(ResetRequest.id).limit(limit)
    if db.get_bind().dialect.name == "postgresql":
        claim = claim.with_for_update(skip_locked=True)
    claimed = db.execute(
        delete(ResetRequest).where(ResetRequest.id.in_(claim)).returning(ResetRequest.id, ResetRequest.email, ResetRequest.requested_at)
    ).all()
    for _, address, requested_at in sorted(claimed):  # in request order: a later one supersedes
        _issue_reset_link(db, address, requested_at)
    return len(claimed)


def _issue_reset_link(db: Session, address: str, now: datetime) -> None:
    """Queue a link when `address` has an account; identical statements (a record naming no
    account, a mail stored unsent) when it does not. Core statements: the worker's hot path."""
    owner_id = db.execute(select(User.id).where(User.email == address, User.is_active.is_(True))).scalar()
    db.execute(
        update(PasswordReset)
        .where(
            PasswordReset.user_id == (owner_id or 0),
            PasswordReset.used_at.is_(None),
            PasswordReset.superseded_at.is_(None),
        )
        .values(superseded_at=now)
        .execution_options(synchronize_session=False)
    )
    secret = new_token()
    record = insert(PasswordReset).values(
        user_id=owner_id,
        token_hash=digest(secret),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.reset_token_max_age),
    )
    record_id = db.execute(record.returning(PasswordReset.id)).scalar_one()
    token = sign_reset(settings.secret_key, record_id, secret)
    url = f"{settings.base_url}{routes.current().reset_password}?token={token}"
    hooks.send_reset_link(db, address, url, owner_id is not None)
    hooks.emit(db, ResetRequestHandled(email=address, user_id=owner_id, requested_at=now))


def check_reset_link(db: Session, token: str, *, now: datetime | None = None) -> tuple[PasswordReset, User]:
    """The reset record and account a link names, or the ResetLinkError saying why not.

    Only reads: opening a link (or a mail scanner prefetching it) never consumes it.
    """
    if not is_well_formed_reset(token):
        raise ResetLinkInvalid()
    try:
        record_id, secret = load_reset(settings.secret_key, token, settings.reset_token_max_age)
    except ExpiredResetToken:
        raise ResetLinkExpired() from None
    except BadResetToken:
        raise ResetLinkInvalid() from None
    return _reset_target(db, record_id, digest(secret), now)


def check_reset_reference(db: Session, reference: str, *, now: datetime | None = None) -> tuple[PasswordReset, User]:
    """As `check_reset_link`, for the `tokens.reset_reference` of a link (what a Reflex state sees)."""
    try:
        record_id, secret_hash = parse_reset_reference(reference)
    except BadResetToken:
        raise ResetLinkInvalid() from None
    return _reset_target(db, record_id, secret_hash, now)


def _reset_target(db: Session, record_id: int, secret_hash: str, now: datetime | None) -> tuple[PasswordReset, User]:
    """The record and account when the link they name can still be used, else why not."""
    # One SELECT, so the link and the account are seen at the same moment (a concurrent
    # reset commits both together): the loser of a double submit is told "already used".
    row = db.exec(
        select(PasswordReset, User).join(User, User.id == PasswordReset.user_id).where(PasswordReset.id == record_id)
    ).first()
    if row is None or not hmac.compare_digest(row[0].token_hash, secret_hash) or not row[1].is_active:
        raise ResetLinkInvalid()
    record, user = row
    if record.used_at is not None:
        raise ResetLinkUsed()
    if record.superseded_at is not None:
        raise ResetLinkSuperseded()
    if record.expires_at <= (now or utcnow()):
        raise ResetLinkExpired()
    if user.password_changed_at > record.created_at:
        raise ResetLinkStale()
    return record, user


def reset_password(
    db: Session,
    token: str,
    new: str,
    confirm: str | None,
    client: Client,
    *,
    now: datetime | None = None,
) -> User:
    """Set a new password through a reset link: once per link, signing out every session and
    confirming the address of an account that was waiting for its verification link."""
    now = now or utcnow()
    return _reset(db, *check_reset_link(db, token, now=now), new, confirm, client, now)


def reset_password_by_reference(
    db: Session, reference: str, new: str, confirm: str | None, client: Client, *, now: datetime | None = None
) -> User:
    """As `reset_password`, for the `tokens.reset_reference` of a link (what a Reflex state sees)."""
    now = now or utcnow()
    return _reset(db, *check_reset_reference(db, reference, now=now), new, confirm, client, now)


def _reset(db: Session, record: PasswordReset, user: User, new: str, confirm: str | None, client: Client, now: datetime) -> User:
    """Use the checked link once (a conditional UPDATE: one of two racing submits wins) and set the password."""
    errors = password_field_errors(new, confirm, user.email)
    if errors:
        raise InvalidInput(errors)
    new_hash = hash_password(new)
    consumed = db.execute(
        update(PasswordReset)
        .where(
            PasswordReset.id == record.id,
            PasswordReset.used_at.is_(None),
            PasswordReset.superseded_at.is_(None),
        )
        .values(used_at=now)
    )
    if consumed.rowcount != 1:
        raise ResetLinkUsed()
    db.refresh(user)
    if user.password_changed_at > record.created_at:
        raise ResetLinkStale()
    user.password_hash = new_hash
    user.password_changed_at = now
    db.add(user)
    revoke_all_sessions(db, user, reason="password_reset")
    throttle.LOGIN_PER_ACCOUNT.clear(user.email)
    mark_verified(db, user, client, now)  # the link reached the mailbox: an unconfirmed address now is
    hooks.emit(db, ResetCompleted(user_id=user.id, email=user.email, ip=client.ip, browser=client.browser, at=now))
    return user


def set_password(db: Session, user: User, new: str, confirm: str | None = None) -> int:
    """An operator sets the password: the policy applies and, as after a reset, every session is
    signed out and outstanding reset links stop working (they predate `password_changed_at`).
    Returns how many sessions were live."""
    errors = password_field_errors(new, confirm, user.email)
    if errors:
        raise InvalidInput(errors)
    _set_password(db, user, new)
    ended = sign_out_everywhere(db, user, reason="password_changed")
    throttle.LOGIN_PER_ACCOUNT.clear(user.email)
    _password_changed(db, user, OPERATOR)
    return ended


def _set_password(db: Session, user: User, new: str) -> None:
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    db.add(user)


def _password_changed(db: Session, user: User, client: Client) -> None:
    at = user.password_changed_at
    hooks.emit(db, PasswordChanged(user_id=user.id, email=user.email, ip=client.ip, browser=client.browser, at=at))
