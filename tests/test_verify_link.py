"""The emailed confirmation link over HTTP: opening it uses nothing up; only a same-origin
Confirm with the sign-up's password does, and it signs that browser in through the ticket handoff."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session

from pwapp.db import utcnow
from pwapp.services.accounts import find_user
from pwapp.services.errors import WrongSignUpPassword
from pwapp.services.signup import request_sign_up
from pwapp.settings import settings
from pwapp.web.cookies import session_cookie
from tests.factories import BOB, CLIENT, NEW, newest_verify_link
from tests.test_reset_link import CROSS_SITE, assert_plain_page, browser_client

CAROL = "carol@example.org"
PAGE = "/auth/verify-email"


@pytest.fixture
async def page_client(engine, monkeypatch):
    async with browser_client(engine, monkeypatch) as c:
        yield c


@pytest.fixture
def token(db) -> str:
    request_sign_up(db, CAROL, BOB, BOB, CLIENT)
    db.commit()
    return newest_verify_link(db, CAROL)


def verified(engine) -> bool:
    with Session(engine) as s:
        return find_user(s, CAROL).email_verified_at is not None


async def test_opening_the_link_shows_the_address_and_uses_nothing_up(page_client, token, engine):
    for _ in range(2):
        r = await page_client.get(PAGE, params={"token": token})
        text = assert_plain_page(r)
        assert CAROL in text and 'action="/auth/verify-email"' in text and ">Confirm</button>" in text
        assert 'name="password" type="password" autocomplete="current-password" required' in text
    assert not verified(engine)


async def test_confirming_signs_this_browser_in_and_the_link_is_then_used(page_client, token, engine):
    r = await page_client.post(PAGE, data={"token": token, "password": BOB}, headers={"sec-fetch-site": "same-origin"})
    assert r.status_code == 303 and "token" not in r.headers["location"]
    handoff = urlsplit(r.headers["location"])
    assert handoff.path == "/auth/session" and parse_qs(handoff.query)["next"] == ["/account"]
    assert verified(engine)
    r = await page_client.get(r.headers["location"], headers={"sec-fetch-site": "same-origin"})
    assert r.status_code == 303 and session_cookie() in r.cookies
    r = await page_client.get(PAGE, params={"token": token})
    assert "already used" in assert_plain_page(r)
    r = await page_client.post(PAGE, data={"token": token, "password": BOB}, headers={"sec-fetch-site": "same-origin"})
    assert "already used" in assert_plain_page(r, 400)


async def test_a_browser_without_its_binding_cookie_is_sent_to_log_in(page_client, token, engine):
    page_client.cookies.clear()
    r = await page_client.post(PAGE, data={"token": token, "password": BOB})
    assert r.status_code == 303 and r.headers["location"] == "/auth/login?notice=verified"
    assert verified(engine)


@pytest.mark.parametrize("headers", CROSS_SITE)
async def test_a_cross_site_confirm_changes_nothing(page_client, token, engine, headers):
    r = await page_client.post(PAGE, data={"token": token, "password": BOB}, headers=headers)
    assert "another site" in assert_plain_page(r, 403)
    assert not verified(engine)


async def test_expired_used_and_invalid_links_say_why_and_offer_a_way_on(page_client, token, engine, db, monkeypatch):
    r = await page_client.get(PAGE, params={"token": token + "x"})
    text = assert_plain_page(r)
    assert "not valid" in text and 'href="/auth/login"' in text and 'href="/auth/register"' in text
    assert 'data-reason="invalid"' in assert_plain_page(await page_client.get(PAGE))
    later = utcnow() + timedelta(seconds=settings.verify_token_max_age + 5)
    monkeypatch.setattr("pwapp.services.signup.utcnow", lambda: later)
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later.timestamp())
    text = assert_plain_page(await page_client.get(PAGE, params={"token": token}))
    assert "expired" in text and "Log in to get a new link" in text
    assert not verified(engine)


async def test_another_password_keeps_the_link_and_says_what_to_do(page_client, token, engine):
    same_origin = {"sec-fetch-site": "same-origin"}
    for password in (NEW, ""):
        r = await page_client.post(PAGE, data={"token": token, "password": password}, headers=same_origin)
        text = assert_plain_page(r, 400)
        assert WrongSignUpPassword.message in text and 'aria-invalid="true"' in text
        assert 'href="/auth/forgot-password"' in text and CAROL in text and NEW not in text
    assert not verified(engine)
    r = await page_client.post(PAGE, data={"token": token, "password": BOB}, headers=same_origin)
    assert r.status_code == 303 and verified(engine)


async def test_an_oversized_confirm_is_refused(page_client, token, engine):
    r = await page_client.post(PAGE, content=b"token=" + b"x" * 5000, headers={"content-type": "application/x-www-form-urlencoded"})
    assert_plain_page(r, 413)
    assert not verified(engine)
