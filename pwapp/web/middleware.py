"""ASGI middleware around the whole app, static pages included."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders

from pwapp.security.tokens import new_token
from pwapp.settings import settings
from pwapp.web.cookies import binding_of, binding_set_cookie
from pwapp.web.csp import CONTENT_SECURITY_POLICY

SECURITY_HEADERS = {
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "cross-origin-opener-policy": "same-origin",
}
HSTS = "max-age=63072000; includeSubDomains"  # two years; sent only when PWAPP_BASE_URL is https


def security_headers(app):
    """Add the security headers to every HTTP response; never cache pages or API answers."""

    https = settings.secure_cookies  # the site is served over https

    async def wrapped(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if https:
                    headers.setdefault("strict-transport-security", HSTS)
                kind = headers.get("content-type", "")
                if kind.startswith(("text/html", "application/json")) or not kind:
                    headers["cache-control"] = "no-store"
            await send(message)

        await app(scope, receive, send_with_headers)

    return wrapped


def browser_binding(app):
    """Give a browser that lacks a well-formed binding cookie a new random one on every HTTP answer.

    The websocket upgrade then carries it, so a login ticket can record which browser asked.
    """

    async def wrapped(scope, receive, send):
        if scope["type"] != "http" or binding_of(Headers(scope=scope).get("cookie", "")):
            return await app(scope, receive, send)
        cookie = binding_set_cookie(new_token())

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await app(scope, receive, send_with_cookie)

    return wrapped
