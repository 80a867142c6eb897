"""The emailed reset link over HTTP: opening it sets nothing; only a same-origin click does.

The app under test is pwapp.py's own `api_transformer` chain (cookie and API routes, the
reset-link route, the security headers) around a stand-in for Reflex's pages, driven with
httpx's ASGI transport; services run on SQLite and PostgreSQL like the other service tests.
"""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount

import pwapp.db
from pwapp.pwapp import app as reflex_app
from pwapp.security.tokens import new_token
from pwapp.services.passwords import reset_password
from pwapp.settings import settings
from pwapp.web.cookies import binding_cookie, reset_cookie
from pwapp.web.middleware import security_headers
from tests.factories import ALICE, CLIENT, NEW, request_link

REFLEX_PAGE = "the Reflex page"
NOT_VALID = "This link is not valid"
MALFORMED = ["%E2%98%83", "%F0%9F%92%A5", "%E2%80%AE", "%FF%FE", "a%0D%0ASet-Cookie:x=1", "%00", "x" * 513]
SAME_ORIGIN = [{"sec-fetch-site": "same-origin"}, {"origin": settings.base_url}, {}]
CROSS_SITE = [
    {"sec-fetch-site": "cross-site"},
    {"sec-fetch-site": "same-site"},
    {"sec-fetch-site": "none"},
    {"origin": "https://evil.example"},
    {"origin": "null"},
]


async def reflex_pages(scope, receive, send):
    """Stands in for the compiled Reflex frontend, which serves the bare page."""
    await PlainTextResponse(REFLEX_PAGE)(scope, receive, send)


def production_stack():
    """pwapp.py's api_transformer list applied as Reflex applies it around `reflex_pages`, inside
    the security headers as pwapp's App puts them."""
    asgi = reflex_pages
    for transform in reflex_app.api_transformer:
        if isinstance(transform, Starlette):
            asgi = Starlette(routes=[*transform.routes, Mount("", asgi)])
        else:
            asgi = transform(asgi)
    return security_headers(asgi)


@pytest.fixture
async def client(engine, monkeypatch):
    async with browser_client(engine, monkeypatch) as c:
        yield c


@asynccontextmanager
async def browser_client(engine, monkeypatch):
    """An HTTP client for `production_stack` on `engine`, holding its binding cookie."""
    monkeypatch.setattr(pwapp.db, "engine", lambda: engine)
    transport = httpx.ASGITransport(app=production_stack(), raise_app_exceptions=False)
    # A browser that already holds its binding cookie (every page answer gives one), so any
    # Set-Cookie seen here comes from the reset-link routes.
    binding = {binding_cookie(): new_token()}
    async with httpx.AsyncClient(transport=transport, base_url=settings.base_url, cookies=binding) as c:
        yield c


@pytest.fixture
def token(db, alice) -> str:
    return request_link(db, ALICE)


def assert_plain_page(r, status: int = 200) -> str:
    """An HTML answer with the security headers and no cookie; returns its text."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    assert "set-cookie" not in r.headers
    assert "<script" not in r.text.lower() and "style=" not in r.text.lower() and "<style" not in r.text.lower()
    return r.text


def assert_link_problem(r, message: str, status: int = 200) -> None:
    text = assert_plain_page(r, status)
    assert message in text
    assert 'href="/auth/forgot-password">Request a new link</a>' in text
    assert "<form" not in text and ALICE not in text


# --- opening the link ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/auth/reset-password", "/auth/reset-password/"])
async def test_opening_the_link_names_the_account_and_sets_no_cookie(client, token, path):
    r = await client.get(f"{path}?token={token}")
    text = assert_plain_page(r)
    assert f'a new password for <strong id="link-email">{ALICE}</strong>' in text
    assert re.search(r'<form method="post" action="/auth/reset-password">', text)
    assert f'<input type="hidden" name="token" value="{token}">' in text
    # Opening it used nothing up (mail scanners): the same link opens again.
    assert ALICE in (await client.get(f"{path}?token={token}")).text


async def test_head_of_the_link_sets_no_cookie(client, token):
    r = await client.head(f"/auth/reset-password?token={token}")
    assert r.status_code == 200 and "set-cookie" not in r.headers


async def test_a_used_link_says_so(client, token):
    with pwapp.db.session() as s:
        reset_password(s, token, NEW, NEW, CLIENT)
    assert_link_problem(await client.get(f"/auth/reset-password?token={token}"), "This link was already used")


async def test_a_superseded_link_says_so(client, db, token):
    request_link(db, ALICE)
    assert_link_problem(await client.get(f"/auth/reset-password?token={token}"), "A newer link was sent")


async def test_a_tampered_link_is_not_valid(client, token):
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert_link_problem(await client.get(f"/auth/reset-password?token={tampered}"), NOT_VALID)


@pytest.mark.parametrize("raw", MALFORMED + ["", "....", "a.b.c"])
async def test_a_malformed_link_is_not_valid_never_a_500(client, alice, raw):
    assert_link_problem(await client.get(f"/auth/reset-password?token={raw}"), NOT_VALID)


@pytest.mark.parametrize("path", ["/auth/reset-password", "/auth/reset-password/", "/auth/reset-password?next=x"])
async def test_the_bare_page_is_reflexs(client, path):
    r = await client.get(path)
    assert r.status_code == 200 and r.text == REFLEX_PAGE
    assert "set-cookie" not in r.headers


# --- the Continue click ---------------------------------------------------------------------


@pytest.mark.parametrize("headers", SAME_ORIGIN)
async def test_continue_from_this_site_sets_the_reset_cookie(client, token, headers):
    r = await client.post("/auth/reset-password", data={"token": token}, headers=headers)
    assert r.status_code == 303
    assert r.headers["location"] == "/auth/reset-password/"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{reset_cookie()}={token};")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert r.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("headers", CROSS_SITE)
async def test_continue_from_another_site_is_refused(client, token, headers):
    r = await client.post("/auth/reset-password", data={"token": token}, headers=headers)
    text = assert_plain_page(r, 403)
    assert "came from another site" in text and ALICE not in text and token not in text


@pytest.mark.parametrize("raw", MALFORMED + ["", "a b"])
async def test_continue_with_a_malformed_token_sets_nothing(client, raw):
    r = await client.post(
        "/auth/reset-password",
        content=f"token={quote(raw, safe='%')}",
        headers={"sec-fetch-site": "same-origin", "content-type": "application/x-www-form-urlencoded"},
    )
    assert_link_problem(r, NOT_VALID, 400)


async def test_continue_without_a_token_sets_nothing(client):
    r = await client.post("/auth/reset-password", data={}, headers={"sec-fetch-site": "same-origin"})
    assert_link_problem(r, NOT_VALID, 400)


async def test_continue_with_a_huge_body_is_refused(client, token):
    r = await client.post("/auth/reset-password", data={"token": token, "pad": "x" * 10_000},
                    headers={"sec-fetch-site": "same-origin"})
    assert_plain_page(r, 413)
