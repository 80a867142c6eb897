"""Two-step sign-in in Chromium: enrol by reading the setup key off the server's page, see the
recovery codes once, sign in with an app code and with a recovery code, and reset the password by the emailed link: the next log-in
still asks for the code."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ACCOUNT_URL, OTHER_STRONG_PASSWORD, STRONG_PASSWORD
from tests.e2e.test_csp_e2e import _watch_csp
from tests.e2e.test_reset_password_e2e import _fill_new_password, _request_reset, _reset_link

pytestmark = pytest.mark.e2e

CODE_PAGE_URL = re.compile(r"^[^?]*/auth/two-step/?\?challenge=[^&]+&next=")
SETUP_URL = re.compile(r"^[^?]*/account/two-step/setup$")
CODES_URL = re.compile(r"^[^?]*/account/two-step/recovery-codes$")


def set_up_two_step(page, password: str) -> pyotp.TOTP:
    """On /account/two-step: give the password, reach the set-up page and read its key."""
    page.get_by_label("Current password", exact=True).fill(password)
    page.get_by_role("button", name="Set up two-step sign-in").click()
    expect(page).to_have_url(SETUP_URL)
    key = page.locator("#setup-key")
    expect(key).to_have_text(re.compile(r"^[A-Z2-7]{32}$"))
    return pyotp.TOTP(key.inner_text())


def turn_on_two_step(page, totp: pyotp.TOTP) -> list[str]:
    """On the set-up page: a first code turns two-step on; returns the ten recovery codes shown."""
    page.get_by_label("Code from your app", exact=True).fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    expect(page).to_have_url(CODES_URL)
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    return codes.all_inner_texts()
SESSION_COOKIE = "pwapp_session"


def _has_session_cookie(page) -> bool:
    return SESSION_COOKIE in {c["name"] for c in page.context.cookies()}


def _log_in_to_code_page(page, ui, email: str, password: str) -> None:
    """The password step: the code page, and still no session cookie."""
    ui.submit_login(page, email, password)
    expect(page).to_have_url(CODE_PAGE_URL)
    expect(page.get_by_role("heading", name="Two-step sign-in")).to_be_visible()
    assert not _has_session_cookie(page)


def _enter_code(page, code: str) -> None:
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Verify").click()


def test_two_step_enrol_sign_in_and_a_reset_that_cannot_bypass_it(new_context, ui, unique_email, mailbox, base_url):
    email = unique_email("twostep")
    context = new_context()
    violations = _watch_csp(context)  # the QR code is inline SVG: no CSP violation
    page = context.new_page()
    ui.register(page, email)

    # Enrol: the password, then the server's own page with the key (read off it) and a first code.
    page.get_by_role("link", name="Two-step sign-in").click()
    totp = set_up_two_step(page, STRONG_PASSWORD)
    expect(page.locator("svg")).to_have_count(1)
    recovery = turn_on_two_step(page, totp)
    page.reload()  # shown once
    expect(page.get_by_role("alert")).to_contain_text("already shown")
    page.goto("/account/two-step/setup")
    expect(page.locator("#setup-key")).to_have_count(0)  # the key is shown no more
    mailbox.wait_for(email, subject="Two-step sign-in was turned on")

    # Sign in with an app code (the next step's: the current one was used to enrol).
    assert violations == []
    ui.log_out(page)
    _log_in_to_code_page(page, ui, email, STRONG_PASSWORD)
    _enter_code(page, totp.at(time.time() + 30))
    expect(page).to_have_url(ACCOUNT_URL)
    expect(page.locator(".session-row").filter(has_text="This device")).to_contain_text("Signed in with two-step")

    # Sign in with a recovery code; it works once.
    ui.log_out(page)
    _log_in_to_code_page(page, ui, email, STRONG_PASSWORD)
    _enter_code(page, recovery[0])
    expect(page).to_have_url(ACCOUNT_URL)
    ui.log_out(page)
    _log_in_to_code_page(page, ui, email, STRONG_PASSWORD)
    _enter_code(page, recovery[0])
    expect(page.get_by_text("That code is not valid.")).to_be_visible()
    assert not _has_session_cookie(page)

    # Reset the password by the emailed link: no sign-in, and the next log-in still needs the code.
    reset_page = new_context().new_page()
    _request_reset(reset_page, email)
    reset_page.goto(_reset_link(mailbox, email, base_url))
    reset_page.get_by_role("button", name="Continue").click()
    _fill_new_password(reset_page, OTHER_STRONG_PASSWORD)
    expect(reset_page).to_have_url(re.compile(r"^[^?]*/auth/login/?\?notice=reset$"))
    assert not _has_session_cookie(reset_page)
    _log_in_to_code_page(reset_page, ui, email, OTHER_STRONG_PASSWORD)
    ui.expect_signed_out(new_context().new_page())
    _enter_code(reset_page, recovery[1])
    expect(reset_page).to_have_url(ACCOUNT_URL)
    expect(reset_page.locator("#signed-in-email")).to_have_text(email)
