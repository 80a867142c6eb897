"""Who sent an HTTP request, by the same rule Reflex applies to websockets."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from pwapp.services.accounts import Client
from pwapp.settings import settings
from pwapp.web.cookies import binding_of


def client_ip(conn: HTTPConnection) -> str:
    """The peer address; X-Forwarded-For counts only through PWAPP_TRUSTED_PROXY_HOPS proxies."""
    ip = conn.client.host if conn.client else ""
    hops = settings.trusted_proxy_hops
    if hops:
        forwarded = [p.strip() for p in conn.headers.get("x-forwarded-for", "").split(",") if p.strip()]
        if len(forwarded) >= hops:
            ip = forwarded[-hops]
    return ip


def client_of(conn: HTTPConnection) -> Client:
    """IP, user agent and browser binding of an HTTP request."""
    headers = conn.headers
    return Client(
        ip=client_ip(conn), user_agent=headers.get("user-agent", "")[:512], binding=binding_of(headers.get("cookie", ""))
    )
