"""The account events pwapp's services emit: small frozen records for hooks (see pwapp.hooks).

No event holds a password, a hash or a token; `ip` and `browser` describe the client
("the pwapp command line" for operators), `at` is aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Registered:
    """An account really exists: its address was confirmed (its emailed link or a reset link was
    used), or it was made at once (`users create`, sign-up with verification off)."""

    user_id: int
    email: str
    ip: str
    browser: str
    at: datetime


@dataclass(frozen=True)
class LoggedIn:
    """A log-in succeeded (page or API): its password was accepted and, for a two-step account,
    its code too; its session is made in the same transaction."""

    user_id: int
    email: str
    ip: str
    browser: str
    at: datetime


@dataclass(frozen=True)
class LoginFailed:
    """A log-in was refused: wrong password, unknown or inactive account alike, throttled, or
    (right password) an address not confirmed yet.
    `email` is the address as typed (normalized); nothing says whether it has an account.
    `second_step`: the password was right, and the code that followed was wrong or throttled."""

    email: str
    ip: str
    browser: str
    at: datetime
    throttled: bool
    second_step: bool = False


@dataclass(frozen=True)
class PasswordChanged:
    """A signed-in user (page or API) or an operator (`users set-password`) set a new password."""

    user_id: int
    email: str
    ip: str
    browser: str
    at: datetime


@dataclass(frozen=True)
class ResetRequested:
    """Someone asked for a reset link (page or API). The same record for every address, known
    or not; `queued` is False when the request was throttled (per address or IP)."""

    email: str
    ip: str
    browser: str
    at: datetime
    queued: bool


@dataclass(frozen=True)
class ResetRequestHandled:
    """The worker handled a queued reset request: a link was mailed (`user_id` set), or, for an
    address without an active account, the same work was done and nothing sent (`user_id` None)."""

    email: str
    user_id: int | None
    requested_at: datetime

    @property
    def has_account(self) -> bool:
        return self.user_id is not None


@dataclass(frozen=True)
class ResetCompleted:
    """A password was set through a reset link."""

    user_id: int
    email: str
    ip: str
    browser: str
    at: datetime


@dataclass(frozen=True)
class TwoStepChanged:
    """Two-step sign-in was turned on or off, or its recovery codes replaced. `change`: "enabled",
    "disabled" (by the owner, or by an operator: ip "" and browser "operator") or "codes_regenerated"."""

    user_id: int
    email: str
    change: str
    ip: str
    browser: str
    at: datetime


@dataclass(frozen=True)
class SessionRevoked:
    """A session (or a log-in not yet finished) was signed out. `reason`: "logout" (by itself),
    "revoked" (from the account page), "password_changed", "password_reset", "operator" or
    "two_step_enabled" (the sessions that never passed a second step)."""

    user_id: int
    session_id: int
    reason: str
    at: datetime


EVENTS = (
    Registered,
    LoggedIn,
    LoginFailed,
    PasswordChanged,
    ResetRequested,
    ResetRequestHandled,
    ResetCompleted,
    TwoStepChanged,
    SessionRevoked,
)
