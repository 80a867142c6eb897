"""ASGI middleware around the whole app, static pages included."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders

SECURITY_HEADERS = {
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
    "cross-origin-opener-policy": "same-origin",
}


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
