"""ASGI middleware around the whole app, static pages included."""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser

from pwapp.security.tokens import digest, new_token, reset_reference
from pwapp.settings import settings
from pwapp.web.cookies import (
    binding_cookie,
    binding_digest,
    binding_of,
    binding_set_cookie,
    reset_cookie,
    session_cookie,
)
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


DROPPED_HEADERS = (b"authorization", b"proxy-authorization")


def _cookie_rewrites() -> dict[str, Callable[[str], str]]:
    """Per credential cookie (both spellings, with and without `__Host-`), what the socket keeps
    of its value instead: "" drops the cookie."""
    rewrites = {
        session_cookie(): digest,
        binding_cookie(): binding_digest,
        reset_cookie(): lambda token: reset_reference(settings.secret_key, token),
    }
    bare = {name.removeprefix("__Host-"): fn for name, fn in rewrites.items()}
    return bare | {f"__Host-{name}": fn for name, fn in bare.items()}


def _rewrite_cookies(header: str, rewrites: dict[str, Callable[[str], str]]) -> str:
    """The Cookie header with each credential cookie's value replaced (or the cookie dropped)."""
    kept = []
    for chunk in filter(None, (c.strip() for c in header.split(";"))):
        name, eq, _ = chunk.partition("=")
        if eq and name.strip() in rewrites:
            value = rewrites[name.strip()](cookie_parser(chunk).get(name.strip(), ""))
            if not value:
                continue
            chunk = f"{name.strip()}={value}"
        kept.append(chunk)
    return "; ".join(kept)


def credential_free_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """A websocket's headers as Reflex may keep them: the session and binding cookies become their
    SHA-256 (the form the database stores), the reset cookie a `tokens.reset_reference`, and
    Authorization is gone, so nothing in Reflex's state store works as a credential."""
    rewrites = _cookie_rewrites()
    kept = []
    for name, value in headers:
        if name.lower() in DROPPED_HEADERS:
            continue
        if name.lower() == b"cookie":
            value = _rewrite_cookies(value.decode("latin-1"), rewrites).encode("latin-1")
        kept.append((name, value))
    return kept


def credential_free_events(app):
    """Hand Reflex's event socket (the app's only websocket) its headers without credentials;
    HTTP requests pass untouched."""

    async def wrapped(scope, receive, send):
        if scope["type"] == "websocket":
            scope = {**scope, "headers": credential_free_headers(list(scope.get("headers", [])))}
        return await app(scope, receive, send)

    return wrapped
