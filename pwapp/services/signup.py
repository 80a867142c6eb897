"""Sign-up with address verification: every rule of the sign-up, confirm and new-link flows.

A sign-up is one queued row whatever the address (its password hashed in the request either
way); the worker decides: a new address gets an unconfirmed account and a link, a taken one a
mail to its owner. Only the link, with the password chosen at sign-up, makes the account usable,
so the answer reveals nothing.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from pwapp import routes
from pwapp.db import utcnow
from pwapp.models import EmailVerification, SignUpRequest, User
from pwapp.security import throttle
from pwapp.security.passwords import hash_password
from pwapp.security.tokens import (
    VERIFY_SALT,
    BadResetToken,
    ExpiredResetToken,
    digest,
    is_well_formed_reset,
    load_reset,
    new_token,
    sign_reset,
)
from pwapp.services import notices
from pwapp.services.accounts import (
    Client,
    mark_verified,
    new_account_errors,
    password_matches,
    register,
    valid_email,
)
from pwapp.services.errors import (
    InvalidInput,
    VerifyLinkExpired,
    VerifyLinkInvalid,
    VerifyLinkUsed,
    WrongSignUpPassword,
)
from pwapp.settings import settings

SIGN_UP_REQUESTED = "Check your inbox to finish creating your account."
LINK_REQUESTED = "If that address is waiting to be confirmed, we've sent it a new link."


def sign_up(db: Session, email: str, password: str, confirm: str | None, client: Client) -> User | None:
    """Queue a sign-up and return None (verification on, the default); with verification off,
    create the account at once and return it (a taken address is refused: EmailTaken)."""
    if not settings.require_email_verification:
        return register(db, email, password, confirm, client=client)
    request_sign_up(db, email, password, confirm, client)
    return None


def request_sign_up(
    db: Session, email: str, password: str, confirm: str | None, client: Client, *, now: datetime | None = None
) -> None:
    """Accept a sign-up: InvalidInput for the fields' own problems, else the same work for every
    address (hash the password, count the throttles, queue one row; nothing past a limit)."""
    address, errors = new_account_errors(email, password, confirm)
    if errors:
        raise InvalidInput(errors)
    _queue(db, address, hash_password(password), client, now or utcnow())


def request_verification_link(db: Session, email: str, client: Client, *, now: datetime | None = None) -> None:
    """Ask for a new link for `email`; the worker mails one only when it names an unconfirmed account."""
    _queue(db, valid_email(email), None, client, now or utcnow())


def _queue(db: Session, address: str, password_hash: str | None, client: Client, now: datetime) -> None:
    """One queued row unless the address or the IP is over its hourly limit (then silently nothing)."""
    allowed = throttle.SIGN_UP_PER_EMAIL.hit(address)
    allowed = throttle.SIGN_UP_PER_IP.hit(client.ip) and allowed
    if allowed:
        db.execute(insert(SignUpRequest).values(
            email=address, password_hash=password_hash, ip=client.ip[:64], browser=client.browser[:64], requested_at=now
        ))


def handle_sign_up_requests(db: Session, *, limit: int = 20) -> int:
    """Handle up to `limit` queued sign-ups and link requests, in request order; returns how many.
    Each is claimed by deleting its row, so two workers never handle the same one."""
    claim = select(SignUpRequest.id).order_by(SignUpRequest.id).limit(limit)
    if db.get_bind().dialect.name == "postgresql":
        claim = claim.with_for_update(skip_locked=True)
    table = SignUpRequest.__table__
    claimed = db.execute(delete(table).where(table.c.id.in_(claim)).returning(*table.c)).all()
    for request in sorted(claimed, key=lambda r: r.id):
        _handle(db, request)
    return len(claimed)


def _handle(db: Session, request) -> None:
    """A new address: an unconfirmed account and its link. A taken one: a mail to its owner (for
    a sign-up) or a new link (when asked for one and still unconfirmed); its account unchanged."""
    user = db.exec(select(User).where(User.email == request.email)).first()
    if request.password_hash is None:
        if user is not None and user.is_active and user.email_verified_at is None:
            _send_link(db, user, request.requested_at)
        return
    if user is None:
        user = _new_account(db, request)
        if user is not None:
            _send_link(db, user, request.requested_at)
            return
    notices.sign_up_attempt(db, request.email, request.ip, request.browser, request.requested_at)


def _new_account(db: Session, request) -> User | None:
    """The unconfirmed account, or None when another worker just made one for the address."""
    user = User(
        email=request.email, password_hash=request.password_hash, created_at=request.requested_at,
        password_changed_at=request.requested_at,
    )
    try:
        with db.begin_nested():
            db.add(user)
    except IntegrityError:
        return None
    return user


def _send_link(db: Session, user: User, now: datetime) -> None:
    secret = new_token()
    record = insert(EmailVerification).values(
        user_id=user.id, token_hash=digest(secret), created_at=now,
        expires_at=now + timedelta(seconds=settings.verify_token_max_age),
    )
    record_id = db.execute(record.returning(EmailVerification.id)).scalar_one()
    token = sign_reset(settings.secret_key, record_id, secret, salt=VERIFY_SALT)
    notices.verify_link(db, user.email, f"{settings.base_url}{routes.current().verify_email}?token={token}")


def check_verify_link(db: Session, token: str, *, now: datetime | None = None) -> tuple[EmailVerification, User]:
    """The link's record and account, or the VerifyLinkError saying why not. Only reads: opening
    a link (or a mail scanner prefetching it) never uses it up."""
    if not is_well_formed_reset(token):
        raise VerifyLinkInvalid()
    try:
        record_id, secret = load_reset(
            settings.secret_key, token, settings.verify_token_max_age, salt=VERIFY_SALT
        )
    except ExpiredResetToken:
        raise VerifyLinkExpired() from None
    except BadResetToken:
        raise VerifyLinkInvalid() from None
    row = db.exec(
        select(EmailVerification, User)
        .join(User, User.id == EmailVerification.user_id)
        .where(EmailVerification.id == record_id)
    ).first()
    if row is None or not hmac.compare_digest(row[0].token_hash, digest(secret)) or not row[1].is_active:
        raise VerifyLinkInvalid()
    record, user = row
    if record.used_at is not None or user.email_verified_at is not None:
        raise VerifyLinkUsed()
    if record.expires_at <= (now or utcnow()):
        raise VerifyLinkExpired()
    return record, user


def verify_email(db: Session, token: str, password: str, client: Client, *, now: datetime | None = None) -> User:
    """Use a link up and confirm its account's address (Registered); the caller signs the user in.

    The password chosen at sign-up must come with the link (WrongSignUpPassword, the link kept
    otherwise; counted like a log-in): whoever signed up first with someone else's address cannot
    have the owner confirm an account whose password they chose. The owner resets it instead.
    """
    now = now or utcnow()
    record, user = check_verify_link(db, token, now=now)
    if not password_matches(throttle.LOGIN_PER_ACCOUNT, user.email, password, user.password_hash):
        raise WrongSignUpPassword()
    used = db.execute(
        update(EmailVerification)
        .where(EmailVerification.id == record.id, EmailVerification.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1 or not mark_verified(db, user, client, now):
        raise VerifyLinkUsed()
    return user
