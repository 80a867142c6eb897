"""Strict-Transport-Security: on every HTTP answer when PWAPP_BASE_URL is https, never over http
(a browser would then refuse a plain-http development site for two years)."""

from __future__ import annotations

import dataclasses

import httpx
from starlette.applications import Starlette

from pwapp.settings import get_settings
from pwapp.web import api, cookies, middleware, reset_link

REQUESTS = [
    ("GET", "/api/openapi.json", {}),
    ("GET", "/no/such/page", {}),
    ("POST", "/api/login/", {"content": b"not json", "headers": {"content-type": "text/plain"}}),
    ("GET", "/auth/reset-password?token=abc", {}),
]


async def answers(monkeypatch, base_url: str) -> list[httpx.Response]:
    """What the app wrapped like production answers to REQUESTS with PWAPP_BASE_URL=`base_url`."""
    monkeypatch.setattr(middleware, "settings", dataclasses.replace(get_settings(), base_url=base_url))
    app = middleware.security_headers(
        reset_link.reset_link_page(Starlette(routes=cookies.http_routes() + api.http_routes()))
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        return [await client.request(method, path, **extra) for method, path, extra in REQUESTS]


async def test_hsts_on_every_answer_of_an_https_site_and_never_over_http(monkeypatch):
    responses = await answers(monkeypatch, "https://pw.example.test")
    assert {r.status_code for r in responses} >= {200, 404}
    for r in responses:
        assert r.headers.get("strict-transport-security") == "max-age=63072000; includeSubDomains", (
            r.request.url, r.status_code,
        )
    for base_url in ("http://localhost:3000", "http://pw.example.test"):
        for r in await answers(monkeypatch, base_url):
            assert "strict-transport-security" not in r.headers, (r.request.url, r.status_code)
            assert r.headers["x-content-type-options"] == "nosniff"  # the other headers still come
