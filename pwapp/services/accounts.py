"""Register, log in, sessions and log out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from email_validator import validate_email
from sqlalchemy import update
from sqlmodel import Session, select

from pwapp import hooks
from pwapp.db import utcnow
from pwapp.events import LoggedIn, LoginFailed, Registered, SessionRevoked
from pwapp.models import TwoStep, User, UserSession
from pwapp.security import password_policy, throttle
from pwapp.security.passwords import hash_password, is_storable, normalize, verify_dummy, verify_password
from pwapp.security.tokens import digest, new_token
from pwapp.services.errors import (
    AccountNotFound,
    BrowserNotBound,
    EmailNotVerified,
    EmailTaken,
    InvalidCredentials,
    InvalidEmail,
    InvalidInput,
    NotAuthenticated,
    PasswordsDoNotMatch,
    SessionNotFound,
    TooManyAttempts,
    TwoStepRequired,
    WeakPassword,
)
from pwapp.settings import settings

T = TypeVar("T")
TICKET_SECONDS = 60
LAST_SEEN_GRANULARITY = timedelta(minutes=1)
BROWSERS = ("Edg", "OPR", "Firefox", "HeadlessChrome", "Chrome", "Safari")
SYSTEMS = ("Android", "iPhone", "iPad", "Windows", "Mac OS X", "Linux")


def browser_name(user_agent: str) -> str:
    """A short "Firefox on Linux" from a user-agent string (the first known names it contains)."""
    browser = next((b for b in BROWSERS if b in user_agent), "")
    system = next((s for s in SYSTEMS if s in user_agent), "")
    names = {"Edg": "Edge", "OPR": "Opera", "Mac OS X": "macOS", "HeadlessChrome": "Headless Chrome"}
    if not browser:
        return user_agent[:40] or "Unknown browser"
    return names.get(browser, browser) + (f" on {names.get(system, system)}" if system else "")


@dataclass(frozen=True)
class Client:
    """Who is asking: IP (as Reflex/Starlette resolved it), browser, and the SHA-256 of the
    browser's binding cookie ("" when it sent none)."""

    ip: str = ""
    user_agent: str = ""
    binding: str = ""

    @property
    def browser(self) -> str:
        return browser_name(self.user_agent)


OPERATOR = Client(user_agent="the pwapp command line")


def valid_email(email: str) -> str:
    """The stored form of an address: email-validator's normal form, lower-cased, so neither
    case nor Unicode/IDNA spelling makes two accounts; InvalidEmail when it is no address."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except ValueError:  # EmailNotValidError, or text no address can hold
        raise InvalidEmail() from None


def normalize_email(email: str) -> str:
    """`valid_email`, or for text that is no address, just trimmed and lower-cased (for lookups)."""
    try:
        return valid_email(email)
    except InvalidEmail:
        return email.strip().lower()


def check_password(password: str, email: str, rated: dict | None = None) -> list[str]:
    """Every reason to refuse `password` for the account `email` (`rated`: its strength, if known):
    the built-in policy's, then the extra rules' (pwapp.hooks.add_password_rule), which see only
    passwords that can be stored and are no longer than the maximum."""
    reasons = password_policy.problems(
        password,
        email=email,
        min_length=settings.password_min_length,
        max_length=settings.password_max_length,
        rated=rated,
    )
    if is_storable(password) and len(normalize(password)) <= settings.password_max_length:
        reasons += hooks.password_problems(password, email)
    return reasons


def password_field_errors(new: str, confirm: str | None, email: str) -> dict[str, list[str]]:
    """Policy and confirmation errors for a new password, keyed by form field."""
    errors: dict[str, list[str]] = {}
    reasons = check_password(new, email)
    if reasons:
        errors.update(WeakPassword(reasons).errors)
    if confirm is not None and confirm != new:
        errors.update(PasswordsDoNotMatch().errors)
    return errors


def find_user(db: Session, email: str) -> User | None:
    """The account for `email`, whatever its case."""
    if not is_storable(email):
        return None
    return db.exec(select(User).where(User.email == normalize_email(email))).first()


def user_by_email(db: Session, email: str) -> User:
    """The account for `email`; InvalidEmail when it is no address, AccountNotFound when no account has it."""
    user = find_user(db, valid_email(email))
    if user is None:
        raise AccountNotFound()
    return user


def list_users(db: Session) -> list[User]:
    """Every account, oldest first."""
    return list(db.exec(select(User).order_by(User.id)).all())


def new_account_errors(email: str, password: str, confirm: str | None) -> tuple[str, dict[str, list[str]]]:
    """The address's stored form and every field's problem with it and the password (no lookup)."""
    errors: dict[str, list[str]] = {}
    try:
        email = valid_email(email)
    except InvalidEmail as exc:
        errors.update(exc.errors)
    errors.update(password_field_errors(password, confirm, email))
    return email, errors


def register(
    db: Session, email: str, password: str, confirm: str | None = None, *, client: Client = Client()
) -> User:
    """Create a verified account at once (operators, or sign-up without verification), or raise
    InvalidInput with every field's problems: EmailTaken tells a taken address apart."""
    email, errors = new_account_errors(email, password, confirm)
    if not errors and find_user(db, email):
        errors.update(EmailTaken().errors)
    if errors:
        raise InvalidInput(errors)
    user = User(email=email, password_hash=hash_password(password))
    db.add(user)
    db.flush()
    mark_verified(db, user, client)
    return user


def mark_verified(db: Session, user: User, client: Client, now: datetime | None = None) -> bool:
    """Confirm `user`'s address, once: the account now really exists, so Registered is emitted.
    False (nothing emitted) when it was confirmed already."""
    now = now or utcnow()
    query = update(User).where(User.id == user.id, User.email_verified_at.is_(None))
    if db.execute(query.values(email_verified_at=now).execution_options(synchronize_session=False)).rowcount != 1:
        return False
    user.email_verified_at = now
    hooks.emit(db, Registered(user_id=user.id, email=user.email, ip=client.ip, browser=client.browser, at=now))
    return True


def count_attempt(limit: throttle.Throttle, key: str) -> None:
    """Count one attempt on `limit` for `key`, or raise TooManyAttempts when it is used up."""
    try:
        limit.attempt(key)
    except throttle.Throttled as exc:
        raise TooManyAttempts(exc.retry_after) from None


def password_matches(limit: throttle.Throttle, key: str, password: str, stored_hash: str) -> bool:
    """Count one guess on `limit` for `key` (TooManyAttempts past it), then verify it; a right one
    clears the count. Counting first means a burst of guesses gets no more verifies than the limit."""
    count_attempt(limit, key)
    if not password or not verify_password(password, stored_hash)[0]:
        return False
    limit.clear(key)
    return True


def authenticate(db: Session, email: str, password: str, client: Client) -> User:
    """The active, confirmed account whose password this is, with throttling and constant work
    (EmailNotVerified: the right password, the address not confirmed yet); the caller emits
    `logged_in` once no second step is missing.

    Every attempt is counted (per IP, then per account) before the password is verified, so
    simultaneous requests get no more verifies than the limits; a success clears the account's
    count. Unknown emails verify against a dummy hash so they take as long as wrong passwords.
    """
    account_key = normalize_email(email)
    try:
        count_attempt(throttle.LOGIN_PER_IP, client.ip)
        count_attempt(throttle.LOGIN_PER_ACCOUNT, account_key)
    except TooManyAttempts:
        login_failed(account_key, client, throttled=True)
        raise
    user = find_user(db, email)
    if user is None:
        verify_dummy(password)
        ok, new_hash = False, None
    else:
        ok, new_hash = verify_password(password, user.password_hash)
    if not ok or not user.is_active:
        login_failed(account_key, client, throttled=False)
        raise InvalidCredentials()
    if user.email_verified_at is None:  # only who chose this password learns it is unconfirmed
        login_failed(account_key, client, throttled=False)
        raise EmailNotVerified()
    if new_hash:
        user.password_hash = new_hash
        db.add(user)
    throttle.LOGIN_PER_ACCOUNT.clear(account_key)
    return user


def logged_in(db: Session, user: User, client: Client) -> None:
    """Emit LoggedIn: the password was right and, for a two-step account, its code too."""
    hooks.emit(db, LoggedIn(user_id=user.id, email=user.email, ip=client.ip, browser=client.browser, at=utcnow()))


def login_failed(email: str, client: Client, *, throttled: bool, second_step: bool = False) -> None:
    """Emit LoginFailed (at once: a refusal commits nothing)."""
    hooks.notify(LoginFailed(email=email, ip=client.ip, browser=client.browser, at=utcnow(), throttled=throttled,
                             second_step=second_step))


def _new_session(user: User, client: Client, now: datetime, two_step: bool) -> UserSession:
    return UserSession(
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_max_hours),
        ip=client.ip[:64],
        user_agent=client.user_agent[:512],
        two_step=two_step,
    )


def has_two_step(db: Session, user: User) -> bool:
    """Whether signing in to `user` takes a second-step code."""
    enabled_at = db.execute(select(TwoStep.enabled_at).where(TwoStep.user_id == user.id)).scalar()
    return enabled_at is not None


def _check_second_step(db: Session, user: User, two_step: bool) -> None:
    """TwoStepRequired when a session would be made for a two-step account without its code:
    every way to a session passes here, so a password alone can never yield one."""
    if not two_step and has_two_step(db, user):
        raise TwoStepRequired()


def create_session(db: Session, user: User, client: Client, *, two_step: bool = False) -> tuple[UserSession, str]:
    """A live session and its raw token (for API clients, which keep it themselves);
    `two_step`: the caller checked a second-step code (required when the account has two-step)."""
    _check_second_step(db, user, two_step)
    token = new_token()
    record = _new_session(user, client, utcnow(), two_step)
    record.token_hash = digest(token)
    db.add(record)
    db.flush()
    return record, token


def require_binding(client: Client) -> None:
    """BrowserNotBound unless the client's browser holds a binding cookie (check before any password)."""
    if not client.binding:
        raise BrowserNotBound()


def create_ticket(db: Session, user: User, client: Client, *, two_step: bool = False) -> str:
    """A one-minute, one-time ticket that only this client's browser can swap for a session cookie
    (`two_step` as for `create_session`)."""
    require_binding(client)
    _check_second_step(db, user, two_step)
    ticket = new_token()
    now = utcnow()
    record = _new_session(user, client, now, two_step)
    record.ticket_hash = digest(ticket)
    record.ticket_binding_hash = client.binding
    record.ticket_expires_at = now + timedelta(seconds=TICKET_SECONDS)
    db.add(record)
    db.flush()
    return ticket


def redeem_ticket(db: Session, ticket: str, binding: str) -> tuple[str, datetime] | None:
    """Swap a ticket for a fresh session token (once), only for the browser whose binding digest
    the ticket holds; None when unknown, expired or asked by another browser (nothing changes)."""
    if not binding:
        return None
    now = utcnow()
    token = new_token()
    result = db.execute(
        update(UserSession)
        .where(
            UserSession.ticket_hash == digest(ticket),
            UserSession.ticket_binding_hash == binding,
            UserSession.ticket_expires_at > now,
            UserSession.revoked_at.is_(None),
        )
        .values(
            token_hash=digest(token), ticket_hash=None, ticket_binding_hash=None, ticket_expires_at=None, last_seen_at=now
        )
        .returning(UserSession.expires_at)
    ).first()
    return (token, result[0]) if result else None


def _live(record: UserSession, now: datetime) -> bool:
    idle_limit = record.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    return record.revoked_at is None and record.expires_at > now and idle_limit > now


def current_session(db: Session, token_hash: str | None) -> tuple[User, UserSession] | None:
    """The user and session behind a session token's SHA-256 (`tokens.digest`), if it is live;
    touches last-seen. Sessions are named by that digest only: the raw token stays in its cookie."""
    if not token_hash:
        return None
    now = utcnow()
    row = db.exec(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == token_hash)
    ).first()
    if row is None:
        return None
    record, user = row
    if not _live(record, now) or not user.is_active:
        return None
    if now - record.last_seen_at > LAST_SEEN_GRANULARITY:
        record.last_seen_at = now
        db.add(record)
    return user, record


@dataclass(frozen=True)
class UserInfo:
    """Who is signed in, as a page of yours needs it: no hash, no token."""

    id: int
    email: str


def as_session_owner(db: Session, token_hash: str | None, fn: Callable[..., T], *args: Any) -> T:
    """`fn(db, user, session, *args)` for the owner of a live session (named by its token's digest),
    else NotAuthenticated."""
    found = current_session(db, token_hash)
    if found is None:
        raise NotAuthenticated()
    return fn(db, *found, *args)


def current_user_info(db: Session, token_hash: str | None) -> UserInfo | None:
    """The signed-in user behind a session token's digest (None when the session is not live)."""
    found = current_session(db, token_hash)
    return None if found is None else UserInfo(id=found[0].id, email=found[0].email)


def logout(db: Session, token_hash: str | None) -> None:
    """Revoke the session behind a token's digest (a no-op for unknown ones)."""
    if token_hash:
        query = update(UserSession).where(UserSession.token_hash == token_hash, UserSession.revoked_at.is_(None))
        _revoke(db, query, "logout")


def active_sessions(db: Session, user: User) -> list[UserSession]:
    """The user's live sessions, newest activity first."""
    now = utcnow()
    rows = db.exec(
        select(UserSession)
        .where(
            UserSession.user_id == user.id,
            UserSession.revoked_at.is_(None),
            UserSession.token_hash.is_not(None),
            UserSession.expires_at > now,
        )
        .order_by(UserSession.last_seen_at.desc())
    ).all()
    return [r for r in rows if _live(r, now)]


def revoke_session(db: Session, user: User, session_id: int) -> None:
    """Sign out one of the user's own sessions; other users' sessions are not found."""
    query = update(UserSession).where(
        UserSession.id == session_id,
        UserSession.user_id == user.id,
        UserSession.revoked_at.is_(None),
    )
    if _revoke(db, query, "revoked") != 1:
        raise SessionNotFound()


def revoke_all_sessions(db: Session, user: User, *, reason: str, keep: UserSession | None = None) -> int:
    """Revoke every session of `user` but `keep` (SessionRevoked says `reason`); returns how many."""
    query = update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    return _revoke(db, query, reason)


def _revoke(db: Session, query, reason: str) -> int:
    """Run a sessions UPDATE that revokes, emitting SessionRevoked for each row; returns how many."""
    now = utcnow()
    rows = db.execute(query.values(revoked_at=now).returning(UserSession.id, UserSession.user_id)).all()
    for session_id, user_id in rows:
        hooks.emit(db, SessionRevoked(user_id=user_id, session_id=session_id, reason=reason, at=now))
    return len(rows)


def sign_out_everywhere(db: Session, user: User, *, reason: str = "operator") -> int:
    """Revoke every session of `user` (pending log-ins too); returns how many were live."""
    live = len(active_sessions(db, user))
    revoke_all_sessions(db, user, reason=reason)
    return live


def deactivate(db: Session, user: User) -> int:
    """Refuse the account's log-ins and sign out its sessions (for good: activating does not
    revive them); returns how many sessions were live."""
    user.is_active = False
    db.add(user)
    return sign_out_everywhere(db, user)


def activate(db: Session, user: User) -> None:
    """Let the account log in again."""
    user.is_active = True
    db.add(user)
