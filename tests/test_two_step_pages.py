"""The server's own two-step pages over HTTP (the production stack of test_reset_link.py): the
set-up page shows the new key and takes its first code, the codes page shows new recovery codes
once, both only to the session that asked, and every other visitor gets a plain message."""

from __future__ import annotations

import re

import httpx
import pyotp
import pytest

import pwapp.db
from pwapp.security import throttle
from pwapp.security.tokens import new_token
from pwapp.services import accounts, two_step
from pwapp.settings import settings
from pwapp.web.cookies import binding_cookie, session_cookie
from pwapp.web.two_step_pages import ALREADY_SHOWN, CROSS_SITE, NOTHING_PENDING, SIGNED_OUT, TOO_LARGE
from tests.factories import CLIENT, OLD, PHONE, sign_in, whoami
from tests.test_reset_link import assert_plain_page, production_stack

SETUP = "/account/two-step/setup"
CODES = "/account/two-step/recovery-codes"
KEY = re.compile(r'<code id="setup-key">([A-Z2-7]{32})</code>')


@pytest.fixture
async def browser(engine, monkeypatch):
    """A browser on the production stack, holding its binding cookie."""
    monkeypatch.setattr(pwapp.db, "engine", lambda: engine)
    transport = httpx.ASGITransport(app=production_stack(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=settings.base_url,
                                 cookies={binding_cookie(): new_token()}) as c:
        yield c


def signed_in(browser: httpx.AsyncClient, token: str) -> httpx.AsyncClient:
    browser.cookies.set(session_cookie(), token)
    return browser


def codes_of(text: str) -> list[str]:
    return re.findall(r"<li><code>([0-9a-z-]{14})</code></li>", text)


async def test_set_up_then_the_codes_once_only_for_the_session_that_asked(browser, db, alice):
    laptop = sign_in(db, alice)
    page = signed_in(browser, laptop)
    assert NOTHING_PENDING in assert_plain_page(await page.get(SETUP), 404)
    two_step.start_enrolment(db, alice, OLD)
    db.commit()

    text = assert_plain_page(await page.get(SETUP))
    secret = KEY.search(text).group(1)
    assert text.count("<svg") == 1 and 'role="img" aria-label="QR code for your authenticator app"' in text
    assert f'<form method="post" action="{SETUP}">' in text and 'autocomplete="one-time-code"' in text
    assert "default-src 'self'" in (await page.get(SETUP + "/")).headers["content-security-policy"]

    crossed = await page.post(SETUP, data={"code": pyotp.TOTP(secret).now()}, headers={"sec-fetch-site": "cross-site"})
    assert CROSS_SITE in assert_plain_page(crossed, 403) and secret not in crossed.text
    assert TOO_LARGE in assert_plain_page(await page.post(SETUP, data={"code": "1" * 5000}), 413)
    wrong = await page.post(SETUP, data={"code": "abcdef"}, headers={"sec-fetch-site": "same-origin"})
    assert "That code is not valid." in assert_plain_page(wrong, 400)
    assert KEY.search(wrong.text).group(1) == secret and 'aria-invalid="true"' in wrong.text
    assert not two_step.status(db, alice).enabled

    done = await page.post(SETUP, data={"code": pyotp.TOTP(secret).now()}, headers={"sec-fetch-site": "same-origin"})
    assert (done.status_code, done.headers["location"]) == (303, CODES)
    assert two_step.status(db, alice).enabled
    assert NOTHING_PENDING in assert_plain_page(await page.get(SETUP), 404)  # the key is shown no more

    with pwapp.db.session() as s:  # another session of alice's, past the second step
        _, other = accounts.create_session(s, accounts.find_user(s, alice.email), PHONE, two_step=True)
    signed_in(browser, other)
    assert ALREADY_SHOWN in assert_plain_page(await browser.get(CODES), 404)
    signed_in(browser, laptop)
    refused = await browser.get(CODES, headers={"sec-fetch-site": "cross-site"})
    assert CROSS_SITE in assert_plain_page(refused, 403)  # and uses nothing up
    codes = codes_of(assert_plain_page(await browser.get(CODES, headers={"sec-fetch-site": "same-origin"})))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert ALREADY_SHOWN in assert_plain_page(await browser.get(CODES), 404)  # once
    assert whoami(db, laptop)[1].two_step


@pytest.mark.parametrize("method, path", [("GET", SETUP), ("POST", SETUP), ("GET", CODES)])
async def test_a_visitor_without_a_session_gets_a_message_and_a_way_to_log_in(browser, method, path):
    signed_in(browser, "not-a-session-token")
    r = await browser.request(method, path, data={"code": "123456"} if method == "POST" else None)
    assert SIGNED_OUT in assert_plain_page(r, 403)
    assert 'href="/auth/login?next=/account/two-step">Log in</a>' in r.text


async def test_other_methods_are_not_these_pages(browser, db, alice):
    page = signed_in(browser, sign_in(db, alice, CLIENT))
    assert (await page.post(CODES)).text == "the Reflex page"
    assert (await page.put(SETUP)).text == "the Reflex page"


async def test_first_codes_are_throttled_with_the_page_and_its_key_kept(browser, db, alice):
    page = signed_in(browser, sign_in(db, alice))
    two_step.start_enrolment(db, alice, OLD)
    db.commit()
    for _ in range(throttle.TWO_STEP_PER_ACCOUNT.item.amount):
        assert (await page.post(SETUP, data={"code": "abcdef"})).status_code == 400
    paused = await page.post(SETUP, data={"code": "abcdef"})
    assert "Too many attempts." in assert_plain_page(paused, 429) and int(paused.headers["retry-after"]) > 0
    assert KEY.search(paused.text) and not two_step.status(db, alice).enabled
