"""Sign-up in Chromium (issue 15): the emailed link, read from the SMTP sink, confirms the
address and signs in; a second sign-up with the same address mails the owner, changes nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from pwapp.services.errors import EmailNotVerified, WrongSignUpPassword
from pwapp.services.signup import LINK_REQUESTED
from tests.e2e.conftest import ACCOUNT_URL, OTHER_STRONG_PASSWORD, STRONG_PASSWORD, text_of

pytestmark = pytest.mark.e2e


def test_sign_up_confirm_by_mail_and_a_second_sign_up_changes_nothing(new_context, ui, mailbox, unique_email):
    email = unique_email("signup")
    page = new_context().new_page()
    ui.sign_up(page, email)
    expect(page.get_by_role("button", name="Create account")).to_have_count(0)  # the form is gone
    link = ui.verify_link(email)

    page.goto(link)  # opening it (as a mail scanner would) uses nothing up
    expect(page.locator("#link-email")).to_have_text(email)
    page.reload()
    ui.confirm(page)
    expect(page).to_have_url(ACCOUNT_URL)  # the token is out of the address bar
    expect(page.locator("#signed-in-email")).to_have_text(email)

    other = new_context().new_page()
    ui.sign_up(other, email, OTHER_STRONG_PASSWORD)  # the same words as for a new address
    [attempt] = mailbox.wait_for(email, subject="Someone tried to sign up")
    assert "/auth/login" in text_of(attempt) and "/auth/forgot-password" in text_of(attempt)
    assert len(mailbox.wait_for(email, subject="Finish creating")) == 1
    ui.expect_login_refused(other, email, OTHER_STRONG_PASSWORD)
    ui.login(other, email, STRONG_PASSWORD)

    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("already used")


def test_an_unconfirmed_account_cannot_log_in_and_can_ask_for_a_new_link(page, ui, mailbox, unique_email):
    email = unique_email("unconfirmed")
    ui.sign_up(page, email)
    ui.verify_link(email)  # the worker made the account
    ui.expect_login_refused(page, email, OTHER_STRONG_PASSWORD)
    ui.submit_login(page, email, STRONG_PASSWORD)
    expect(page.get_by_text(EmailNotVerified.message)).to_be_visible()
    page.get_by_role("button", name="Send a new link").click()
    expect(page.get_by_text(LINK_REQUESTED)).to_be_visible()
    page.goto(ui.verify_link(email, count=2))
    ui.confirm(page, OTHER_STRONG_PASSWORD)  # not the sign-up's: the link is kept, a reset offered
    expect(page.get_by_role("alert")).to_contain_text(WrongSignUpPassword.message)
    expect(page.get_by_role("link", name="Reset the password")).to_be_visible()
    ui.confirm(page)
    expect(page).to_have_url(ACCOUNT_URL)
    expect(page).not_to_have_url(re.compile("token="))
