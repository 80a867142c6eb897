"""Every path pwapp serves, in one place: pages and HTTP routes under two prefixes, and the API.

`install()` calls `use(auth_prefix=…, account_prefix=…)` before it registers anything; pages,
states, services, web and mail read `current()`, so a prefix moves every link, redirect and
emailed URL together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

# A prefix as pages spell it: one or more lower-case segments, no trailing slash.
PREFIX = re.compile(r"(/[a-z0-9_-]+)+")

# The REST API's paths: the seed's contract, not moved by the prefixes.
API_LOGIN = "/api/login/"
API_LOGIN_TWO_STEP = "/api/login/two-step/"
API_LOGOUT = "/api/logout/"
API_REGISTER = "/api/register/"
API_VERIFY_EMAIL = "/api/verify-email/"
API_CHANGE_PASSWORD = "/change-password/"
API_RESET_PASSWORD = "/reset-password/"
API_RESET_PASSWORD_CONFIRM = "/reset-password-confirm/"
API_OPENAPI = "/api/openapi.json"


@dataclass(frozen=True)
class Routes:
    """The paths of pwapp's pages and HTTP routes under `auth_prefix` and `account_prefix`."""

    auth_prefix: str = "/auth"
    account_prefix: str = "/account"

    def __post_init__(self) -> None:
        for name in ("auth_prefix", "account_prefix"):
            if not PREFIX.fullmatch(getattr(self, name)):
                raise ValueError(f"{name} must look like /auth (lower-case segments, no trailing slash)")
        if self.auth_prefix == self.account_prefix:
            raise ValueError("auth_prefix and account_prefix must differ")

    @property
    def login(self) -> str:
        return f"{self.auth_prefix}/login"

    @property
    def register(self) -> str:
        return f"{self.auth_prefix}/register"

    @property
    def verify_email(self) -> str:
        """The emailed address-confirmation link's page (HTTP)."""
        return f"{self.auth_prefix}/verify-email"

    @property
    def forgot_password(self) -> str:
        return f"{self.auth_prefix}/forgot-password"

    @property
    def reset_password(self) -> str:
        """The emailed link's page (HTTP) and, without a token, the form (Reflex)."""
        return f"{self.auth_prefix}/reset-password"

    @property
    def two_step(self) -> str:
        """The code page that completes a two-step sign-in."""
        return f"{self.auth_prefix}/two-step"

    @property
    def session_start(self) -> str:
        """HTTP route swapping a login ticket for the session cookie."""
        return f"{self.auth_prefix}/session"

    @property
    def session_end(self) -> str:
        """HTTP route clearing the session and reset cookies."""
        return f"{self.auth_prefix}/session/end"

    @property
    def plain_stylesheet(self) -> str:
        """The stylesheet of the server-rendered pages (reset link, two-step set-up and codes, refusals)."""
        return f"{self.auth_prefix}/plain-page.css"

    @property
    def account(self) -> str:
        return self.account_prefix

    @property
    def change_password(self) -> str:
        return f"{self.account_prefix}/change-password"

    @property
    def account_two_step(self) -> str:
        return f"{self.account_prefix}/two-step"

    @property
    def two_step_setup(self) -> str:
        """HTTP page showing a new secret (QR code and text) and taking its first code."""
        return f"{self.account_prefix}/two-step/setup"

    @property
    def recovery_codes(self) -> str:
        """HTTP page showing new recovery codes once."""
        return f"{self.account_prefix}/two-step/recovery-codes"

    def two_step_then(self, challenge: str, then: str) -> str:
        """The code page for `challenge`, going on to `then` (a local path, quoted here)."""
        return f"{self.two_step}?challenge={quote(challenge, safe='')}&next={quote(then, safe='/')}"

    def login_then(self, path: str) -> str:
        """The log-in page, coming back to `path` afterwards."""
        return f"{self.login}?next={quote(path, safe='/')}"

    def start_session(self, ticket: str, then: str) -> str:
        """The ticket swap, going on to `then` (a local path, quoted here)."""
        return f"{self.session_start}?ticket={quote(ticket, safe='')}&next={quote(then, safe='/')}"

    def end_session(self, then: str) -> str:
        """The cookie clean-up, going on to `then` (a local path whose one query parameter, if
        any, needs no quoting: `/auth/login?notice=reset`)."""
        return f"{self.session_end}?next={then}"


_current = Routes()


def current() -> Routes:
    """The routes in use (the defaults until `use` is called)."""
    return _current


def use(auth_prefix: str = "/auth", account_prefix: str = "/account") -> Routes:
    """Serve pwapp's pages under these prefixes from now on (ValueError for a malformed one)."""
    global _current
    _current = Routes(auth_prefix, account_prefix)
    return _current
