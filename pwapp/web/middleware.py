"""ASGI middleware around the whole app, static pages included."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.datastructures import MutableHeaders
from starlette.responses import RedirectResponse

from pwapp.settings import settings
from pwapp.web.cookies import RESET_COOKIE, set_cookie
from pwapp.web.csp import CONTENT_SECURITY_POLICY

SECURITY_HEADERS = {
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "cross-origin-opener-policy": "same-origin",
}
RESET_PAGE = "/auth/reset-password"


def security_headers(app):
    """Add the security headers to every HTTP response; never cache pages or API answers."""

    async def wrapped(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                kind = headers.get("content-type", "")
                if kind.startswith(("text/html", "application/json")) or not kind:
                    headers["cache-control"] = "no-store"
            await send(message)

        await app(scope, receive, send_with_headers)

    return wrapped


def reset_link_to_cookie(app):
    """Move a reset link's token from the address bar into an HttpOnly cookie.

    `/auth/reset-password?token=…` answers 303 to the bare page with the token in a cookie,
    so the token leaves the URL (history, screenshots, Referer) before any page renders.
    """

    async def wrapped(scope, receive, send):
        if scope["type"] == "http" and scope["path"].rstrip("/") == RESET_PAGE and scope.get("query_string"):
            query = parse_qs(scope["query_string"].decode("latin-1"))
            token = (query.get("token") or [""])[0]
            if token:
                response = RedirectResponse(RESET_PAGE, status_code=303)
                set_cookie(response, RESET_COOKIE, token[:1024], settings.reset_token_max_age)
                return await response(scope, receive, send)
        return await app(scope, receive, send)

    return wrapped
