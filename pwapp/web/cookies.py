"""HttpOnly cookies, which only HTTP responses (never Reflex's JS) can set."""

from __future__ import annotations

from datetime import datetime
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from pwapp.db import in_db, utcnow
from pwapp.services import accounts
from pwapp.settings import settings

SESSION_COOKIE = settings.session_cookie_name
RESET_COOKIE = ("__Host-" if settings.secure_cookies else "") + "pwapp_reset"


def read_cookie(header: str, name: str) -> str | None:
    """One cookie's value from a Cookie header."""
    jar = SimpleCookie()
    try:
        jar.load(header or "")
    except Exception:  # a malformed Cookie header is just no cookie
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


def safe_next(target: str | None, default: str = "/account") -> str:
    """`target` when it is a local path (no scheme, no host, no backslash tricks)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def set_cookie(response, name: str, value: str, max_age: int) -> None:
    """HttpOnly, SameSite=Lax, Path=/; Secure when the site is https."""
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, samesite="lax", secure=settings.secure_cookies
    )


def clear_cookie(response, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=settings.secure_cookies)


def _seconds_until(moment: datetime) -> int:
    return max(0, int((moment - utcnow()).total_seconds()))


async def start_session(request: Request) -> RedirectResponse:
    """Swap a one-time login ticket for the session cookie, then go to `next`."""
    ticket = request.query_params.get("ticket", "")
    issued = await in_db(accounts.redeem_ticket, ticket) if ticket else None
    if issued is None:
        return RedirectResponse("/auth/login", status_code=303)
    token, expires_at = issued
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    set_cookie(response, SESSION_COOKIE, token, _seconds_until(expires_at))
    return response


async def end_session(request: Request) -> RedirectResponse:
    """Drop the session and reset cookies (the state revoked the session first), then go on."""
    response = RedirectResponse(safe_next(request.query_params.get("next"), "/auth/login"), status_code=303)
    clear_cookie(response, SESSION_COOKIE)
    clear_cookie(response, RESET_COOKIE)
    return response


routes = [
    Route("/auth/session", start_session, methods=["GET"]),
    Route("/auth/session/end", end_session, methods=["GET"]),
]
