"""HttpOnly cookies, which only HTTP responses (never Reflex's JS) can set."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

from starlette.requests import Request, cookie_parser
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.routing import Route

from pwapp import routes
from pwapp.db import in_db, utcnow
from pwapp.security.tokens import digest
from pwapp.services import accounts
from pwapp.settings import settings
from pwapp.web.origin import is_same_origin
from pwapp.web.plain import render

BINDING_FORM = re.compile(r"[A-Za-z0-9_-]{43}")  # what tokens.new_token makes
CROSS_SITE = "This request came from another site, so nothing was changed."
TICKET_REFUSED = (
    "This sign-in cannot be completed in this browser: it has expired, was already used, "
    "or was started somewhere else. Nothing was changed."
)


def session_cookie() -> str:
    """The session cookie's name (`__Host-` on https)."""
    return settings.session_cookie_name


def reset_cookie() -> str:
    """The reset cookie's name (`__Host-` on https)."""
    return ("__Host-" if settings.secure_cookies else "") + "pwapp_reset"


def binding_cookie() -> str:
    """The browser-binding cookie's name (`__Host-` on https)."""
    return ("__Host-" if settings.secure_cookies else "") + "pwapp_binding"


def read_cookie(header: str, name: str) -> str | None:
    """One cookie's value from a Cookie header, read as browsers send it: another app's odd
    cookie on the same host (JSON, spaces) does not hide ours, as it would from SimpleCookie."""
    return cookie_parser(header or "").get(name)


def binding_digest(value: str | None) -> str:
    """SHA-256 of a browser-binding cookie's value; "" when absent or malformed."""
    return digest(value) if value and BINDING_FORM.fullmatch(value) else ""


def binding_of(cookie_header: str) -> str:
    """SHA-256 of the browser-binding cookie in an HTTP request's Cookie header ("" when absent or malformed)."""
    return binding_digest(read_cookie(cookie_header, binding_cookie()))


def session_hash_of(cookie_header: str) -> str | None:
    """SHA-256 of the session cookie in an HTTP request's Cookie header: how services name a session."""
    token = read_cookie(cookie_header, session_cookie())
    return digest(token) if token else None


def binding_set_cookie(value: str) -> str:
    """The Set-Cookie header value giving a browser its binding cookie (lives as long as the browser)."""
    return f"{binding_cookie()}={value}; HttpOnly; Path=/; SameSite=Lax" + ("; Secure" if settings.secure_cookies else "")


def safe_next(target: str | None, default: str | None = None) -> str:
    """`target` when it is a local path (no scheme, no host, no backslash tricks); else `default`
    (the account page when not given)."""
    default = default or routes.current().account
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


def refusal(message: str, link: str, label: str) -> HTMLResponse:
    """A plain 403 page saying why nothing happened, with a way back into the app."""
    return render("refusal.html", 403, message=message, link=link, label=label)


async def start_session(request: Request) -> HTMLResponse | RedirectResponse:
    """Swap a one-time login ticket for the session cookie, then go to `next`; only a
    same-origin request from the browser that asked for the ticket may do so."""
    if not is_same_origin(request.headers):
        return refusal(CROSS_SITE, routes.current().login, "Log in")
    ticket = request.query_params.get("ticket", "")
    binding = binding_of(request.headers.get("cookie", ""))
    issued = await in_db(accounts.redeem_ticket, ticket, binding) if ticket and binding else None
    if issued is None:
        return refusal(TICKET_REFUSED, routes.current().login, "Log in")
    token, expires_at = issued
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    set_cookie(response, session_cookie(), token, _seconds_until(expires_at))
    return response


async def end_session(request: Request) -> HTMLResponse | RedirectResponse:
    """Drop the reset cookie, and the session cookie once its session is dead (the state revokes
    it first), then go on; a live session stays and goes to /account; cross-site changes nothing."""
    if not is_same_origin(request.headers):
        return refusal(CROSS_SITE, routes.current().account, "Go to your account")
    token_hash = session_hash_of(request.headers.get("cookie", ""))
    live = bool(token_hash) and await in_db(accounts.current_session, token_hash) is not None
    target = routes.current().account if live else safe_next(request.query_params.get("next"), routes.current().login)
    response = RedirectResponse(target, status_code=303)
    if not live:
        clear_cookie(response, session_cookie())
    clear_cookie(response, reset_cookie())
    return response


def http_routes() -> list[Route]:
    """The cookie routes at the current paths."""
    return [
        Route(routes.current().session_start, start_session, methods=["GET"]),
        Route(routes.current().session_end, end_session, methods=["GET"]),
    ]
