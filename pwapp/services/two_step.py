"""Two-step sign-in: enrol an authenticator app, sign in with its codes or recovery codes.

The password step of a two-step account yields only a short-lived challenge; a valid code
completes it into the usual session handoff. Every code check is throttled (counted before it
is checked), each authenticator code works once, each recovery code works once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, update
from sqlmodel import Session, select

from pwapp import hooks
from pwapp.db import utcnow
from pwapp.events import TwoStepChanged
from pwapp.models import RecoveryCode, RecoveryCodesToShow, SignInChallenge, TwoStep, User, UserSession
from pwapp.security import throttle, totp
from pwapp.security.sealing import seal, unseal
from pwapp.security.tokens import digest, new_token
from pwapp.services.accounts import (
    OPERATOR,
    Client,
    authenticate,
    count_attempt,
    create_session,
    create_ticket,
    has_two_step,
    logged_in,
    login_failed,
    password_matches,
    require_binding,
    revoke_all_sessions,
)
from pwapp.services.errors import (
    ChallengeExpired,
    IncorrectCurrentPassword,
    InvalidCode,
    InvalidInput,
    TooManyAttempts,
    TwoStepAlreadyOn,
    TwoStepOff,
)
from pwapp.settings import settings

CHALLENGE_SECONDS = 300
CODES_SHOWN_SECONDS = 300  # new recovery codes not shown by then are never shown


@dataclass(frozen=True)
class SignIn:
    """What a correct password yields: a ticket (no second step) or a challenge and its expiry."""

    ticket: str = ""
    challenge: str = ""
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Enrolment:
    """What the owner's app needs to add the account: the secret as text and as a QR code."""

    secret: str
    qr_svg: str


@dataclass(frozen=True)
class Status:
    enabled: bool
    codes_left: int


# --- signing in ------------------------------------------------------------------------------


def log_in(db: Session, email: str, password: str, client: Client, *, now: datetime | None = None) -> SignIn:
    """The browser's log-in: a session ticket, or for a two-step account a challenge bound to this browser."""
    require_binding(client)
    user = authenticate(db, email, password, client)
    if has_two_step(db, user):
        return start_challenge(db, user, client, now=now)
    logged_in(db, user, client)
    return SignIn(ticket=create_ticket(db, user, client))


def log_in_api(db: Session, email: str, password: str, client: Client) -> SignIn | tuple[UserSession, str]:
    """The API's log-in: (session record, bearer token), or for a two-step account a challenge
    that the caller completes with `complete_for_api`."""
    user = authenticate(db, email, password, client)
    if has_two_step(db, user):
        return start_challenge(db, user, api_client(client))
    logged_in(db, user, client)
    return create_session(db, user, client)


def start_challenge(db: Session, user: User, client: Client, *, now: datetime | None = None) -> SignIn:
    """A challenge that only `client` (its browser binding, or "" for an API client) can complete."""
    now = now or utcnow()
    challenge = new_token()
    expires_at = now + timedelta(seconds=CHALLENGE_SECONDS)
    db.execute(
        insert(SignInChallenge).values(
            user_id=user.id, challenge_hash=digest(challenge), binding_hash=client.binding, created_at=now,
            expires_at=expires_at,
        )
    )
    return SignIn(challenge=challenge, expires_at=expires_at)


def api_client(client: Client) -> Client:
    """An API caller: its challenges are held by the caller, not bound to a browser cookie."""
    return dataclasses.replace(client, binding="")


def pending_user(db: Session, challenge: str, client: Client, *, now: datetime | None = None) -> User:
    """The account a live challenge of this client's belongs to; ChallengeExpired otherwise."""
    now = now or utcnow()
    found = db.exec(
        select(User)
        .join(SignInChallenge, SignInChallenge.user_id == User.id)
        .where(
            SignInChallenge.challenge_hash == digest(challenge),
            SignInChallenge.binding_hash == client.binding,
            SignInChallenge.expires_at > now,
            User.is_active.is_(True),
        )
    ).first()
    if found is None:
        raise ChallengeExpired()
    return found


def complete(db: Session, challenge: str, code: str, client: Client, *, now: datetime | None = None) -> User:
    """Check the second step of a pending sign-in and use the challenge up; returns its account.

    Counted per IP before the challenge is looked at, and per account before the code is
    checked. The challenge is consumed by one conditional DELETE, so it completes once. Emits
    LoggedIn, or LoginFailed (`second_step`) for a wrong or throttled code.
    """
    now = now or utcnow()
    count_attempt(throttle.TWO_STEP_PER_IP, client.ip)
    user = pending_user(db, challenge, client, now=now)
    try:
        check_code(db, user, code, now=now)
    except (InvalidCode, TooManyAttempts) as exc:
        login_failed(user.email, client, throttled=isinstance(exc, TooManyAttempts), second_step=True)
        raise
    consumed = db.execute(
        delete(SignInChallenge).where(
            SignInChallenge.challenge_hash == digest(challenge), SignInChallenge.expires_at > now
        )
    )
    if consumed.rowcount != 1:
        raise ChallengeExpired()
    logged_in(db, user, client)
    return user


def complete_in_browser(db: Session, challenge: str, code: str, client: Client, *, now: datetime | None = None) -> str:
    """`complete`, then the session ticket for this browser."""
    require_binding(client)
    return create_ticket(db, complete(db, challenge, code, client, now=now), client, two_step=True)


def complete_for_api(
    db: Session, challenge: str, code: str, client: Client, *, now: datetime | None = None
) -> tuple[UserSession, str]:
    """`complete` for an API client: (session record, bearer token)."""
    client = api_client(client)
    return create_session(db, complete(db, challenge, code, client, now=now), client, two_step=True)


# --- checking codes --------------------------------------------------------------------------


def check_code(db: Session, user: User, code: str, *, now: datetime | None = None, recovery: bool = True) -> None:
    """Accept a current authenticator code (once) or, when `recovery`, an unused recovery code
    (using it up); InvalidCode otherwise. Counted per account first; a good code clears the count."""
    now = now or utcnow()
    count_attempt(throttle.TWO_STEP_PER_ACCOUNT, str(user.id))
    record = _record(db, user)
    if record is None:
        raise InvalidCode()
    code = code.strip().replace(" ", "")
    if not (_use_totp(db, record, code, now) or (recovery and record.enabled_at and _use_recovery(db, user, code, now))):
        raise InvalidCode()
    throttle.TWO_STEP_PER_ACCOUNT.clear(str(user.id))


def _record(db: Session, user: User) -> TwoStep | None:
    """The user's two-step row as the database has it now (codes update it with plain UPDATEs)."""
    return db.get(TwoStep, user.id, populate_existing=True)


def _use_totp(db: Session, record: TwoStep, code: str, now: datetime) -> bool:
    """Whether `code` is the app's code of a step within the window and later than any used: the
    step is recorded by a conditional UPDATE, so two requests with one code cannot both pass."""
    step = totp.matching_step(unseal(record.secret_sealed), code, now, record.last_step)
    if step is None:
        return False
    recorded = db.execute(
        update(TwoStep)
        .where(TwoStep.user_id == record.user_id, or_(TwoStep.last_step.is_(None), TwoStep.last_step < step))
        .values(last_step=step)
        .execution_options(synchronize_session=False)
    )
    return recorded.rowcount == 1


def _use_recovery(db: Session, user: User, code: str, now: datetime) -> bool:
    """Whether `code` is an unused recovery code of `user`'s, using it up (one conditional UPDATE)."""
    if not code or totp.is_totp_shaped(code) or len(code) > 64:
        return False
    used = db.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == totp.recovery_digest(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return used.rowcount == 1


def _check_password(user: User, password: str) -> None:
    """The account's password, counted like change-password's current password."""
    if not password_matches(throttle.CURRENT_PASSWORD_PER_USER, str(user.id), password, user.password_hash):
        raise IncorrectCurrentPassword()


def _check_password_and_code(db: Session, user: User, password: str, code: str, now: datetime) -> None:
    """Both proofs a change to an enabled two-step needs; every problem at once."""
    if not has_two_step(db, user):
        raise TwoStepOff()
    errors: dict[str, list[str]] = {}
    try:
        _check_password(user, password)
    except IncorrectCurrentPassword as exc:
        errors.update(exc.errors)
    if not errors:  # no code is spent (nor counted) behind a wrong password
        try:
            check_code(db, user, code, now=now)
        except InvalidCode as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidInput(errors)


# --- enrolment and changes -------------------------------------------------------------------


def status(db: Session, user: User) -> Status:
    """Whether two-step is on, and how many recovery codes are left."""
    enabled = has_two_step(db, user)
    left = db.exec(select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))
    return Status(enabled=enabled, codes_left=len(left.all()) if enabled else 0)


def start_enrolment(db: Session, user: User, password: str) -> None:
    """After the password: a new secret kept sealed in a pending row (`pending_enrolment` shows it)."""
    if has_two_step(db, user):
        raise TwoStepAlreadyOn()
    _check_password(user, password)
    db.execute(delete(TwoStep).where(TwoStep.user_id == user.id))
    db.execute(insert(TwoStep).values(user_id=user.id, secret_sealed=seal(totp.new_secret()), created_at=utcnow()))


def _pending_record(db: Session, user: User) -> TwoStep:
    """The row of an enrolment not yet confirmed; TwoStepOff or TwoStepAlreadyOn otherwise."""
    record = _record(db, user)
    if record is None:
        raise TwoStepOff()
    if record.enabled_at is not None:
        raise TwoStepAlreadyOn()
    return record


def pending_enrolment(db: Session, user: User) -> Enrolment:
    """The secret of an enrolment waiting for its first code, as text and QR code; TwoStepOff
    when none was started, TwoStepAlreadyOn once it is confirmed."""
    secret = unseal(_pending_record(db, user).secret_sealed)
    return Enrolment(secret=secret, qr_svg=totp.qr_svg(totp.setup_uri(secret, user.email, settings.product_name)))


def confirm_enrolment(
    db: Session, user: User, code: str, client: Client, *, current_session_id: int | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Turn two-step on with a first code from the app; returns the ten recovery codes, also kept
    sealed for `take_recovery_codes` to show the current session once.

    Every session but the current one is signed out (they never passed a second step); the
    current one counts as having passed it. A mail tells the owner.
    """
    now = now or utcnow()
    _pending_record(db, user)
    check_code(db, user, code, now=now, recovery=False)
    db.execute(update(TwoStep).where(TwoStep.user_id == user.id).values(enabled_at=now))
    codes = _replace_recovery_codes(db, user, current_session_id, now)
    _keep_only(db, user, current_session_id)
    _changed(db, user, "enabled", client, now)
    return codes


def _keep_only(db: Session, user: User, session_id: int | None) -> None:
    """Sign out every session of `user` except `session_id`, which is marked as past two-step."""
    keep = db.get(UserSession, session_id) if session_id is not None else None
    revoke_all_sessions(db, user, keep=keep, reason="two_step_enabled")
    if keep is not None:
        keep.two_step = True
        db.add(keep)


def regenerate_codes(
    db: Session, user: User, password: str, code: str, client: Client, *, current_session_id: int | None = None,
    now: datetime | None = None,
) -> list[str]:
    """New recovery codes (the old ones stop working), with the password and a current code;
    kept for the current session like `confirm_enrolment`'s."""
    now = now or utcnow()
    _check_password_and_code(db, user, password, code, now)
    codes = _replace_recovery_codes(db, user, current_session_id, now)
    _changed(db, user, "codes_regenerated", client, now)
    return codes


def disable(db: Session, user: User, password: str, code: str, client: Client, *, now: datetime | None = None) -> None:
    """Turn two-step off, with the password and a current code (or a recovery code)."""
    _check_password_and_code(db, user, password, code, now or utcnow())
    _turn_off(db, user, client)


def turn_off_by_operator(db: Session, user: User) -> None:
    """`users two-step-off`: for an owner who lost both the app and the codes; TwoStepOff when off."""
    if not has_two_step(db, user):
        raise TwoStepOff()
    _turn_off(db, user, OPERATOR)


def _turn_off(db: Session, user: User, client: Client) -> None:
    """Forget the secret, the codes (shown or not) and pending sign-ins; a mail tells the owner."""
    sessions = select(UserSession.id).where(UserSession.user_id == user.id)
    db.execute(delete(RecoveryCodesToShow).where(RecoveryCodesToShow.session_id.in_(sessions)))
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.execute(delete(TwoStep).where(TwoStep.user_id == user.id))
    db.execute(delete(SignInChallenge).where(SignInChallenge.user_id == user.id))
    _changed(db, user, "disabled", client, utcnow())


def _changed(db: Session, user: User, change: str, client: Client, at: datetime) -> None:
    """Emit TwoStepChanged (its default hook mails the owner)."""
    hooks.emit(db, TwoStepChanged(user_id=user.id, email=user.email, change=change, ip=client.ip, browser=client.browser, at=at))


def _replace_recovery_codes(db: Session, user: User, show_to: int | None, now: datetime) -> list[str]:
    """Ten new codes in place of the old ones, kept sealed for session `show_to` (when given)."""
    codes = totp.new_recovery_codes()
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.execute(insert(RecoveryCode), [{"user_id": user.id, "code_hash": totp.recovery_digest(c)} for c in codes])
    if show_to is not None:
        db.execute(delete(RecoveryCodesToShow).where(RecoveryCodesToShow.session_id == show_to))
        db.execute(
            insert(RecoveryCodesToShow).values(
                session_id=show_to, codes_sealed=seal("\n".join(codes)),
                expires_at=now + timedelta(seconds=CODES_SHOWN_SECONDS),
            )
        )
    return codes


def take_recovery_codes(db: Session, session: UserSession, *, now: datetime | None = None) -> list[str]:
    """The new codes waiting for `session`, deleted as they are taken (one conditional DELETE, so
    they are shown once); [] when none are waiting or they expired unseen."""
    waiting = db.exec(
        select(RecoveryCodesToShow).where(
            RecoveryCodesToShow.session_id == session.id, RecoveryCodesToShow.expires_at > (now or utcnow())
        )
    ).first()
    if waiting is None:
        return []
    taken = db.execute(delete(RecoveryCodesToShow).where(RecoveryCodesToShow.id == waiting.id))
    return unseal(waiting.codes_sealed).split("\n") if taken.rowcount == 1 else []
