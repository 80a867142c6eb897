"""Change password in Chromium: other devices signed out, notice mailed, old password dead."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from pwapp.security.password_policy import problems
from tests.e2e.conftest import OTHER_STRONG_PASSWORD, STRONG_PASSWORD, whole_message

pytestmark = pytest.mark.e2e

CHANGED_URL = re.compile(r"^[^?]*/account/change-password/?\?changed=1$")
PASSWORD_INPUTS = ("Current password", "New password", "Confirm new password")


def _fill_change_form(page, current: str, new: str, confirm: str | None = None) -> None:
    page.goto("/account/change-password")
    expect(page.get_by_role("heading", name="Change password")).to_be_visible()
    page.get_by_label("Current password", exact=True).fill(current)
    page.get_by_label("New password", exact=True).fill(new)
    page.get_by_label("Confirm new password", exact=True).fill(new if confirm is None else confirm)


def _submit(page) -> None:
    button = page.get_by_role("button", name="Change password")
    expect(button).to_be_enabled()
    button.click()


def _expect_fields_empty(page) -> None:
    for label in PASSWORD_INPUTS:
        expect(page.get_by_label(label, exact=True)).to_have_value("")


def test_change_password_signs_out_other_devices_and_mails_a_notice(new_context, ui, unique_email, mailbox):
    email = unique_email("change")
    page_a = new_context().new_page()
    page_b = new_context().new_page()
    ui.register(page_a, email, STRONG_PASSWORD)
    ui.login(page_b, email, STRONG_PASSWORD)

    _fill_change_form(page_a, STRONG_PASSWORD, OTHER_STRONG_PASSWORD)
    expect(page_a.get_by_role("checkbox", name="Also sign out my other devices")).to_be_checked()
    _submit(page_a)

    expect(page_a).to_have_url(CHANGED_URL)
    expect(page_a.get_by_role("status").filter(has_text="Password changed.")).to_be_visible()
    _expect_fields_empty(page_a)
    # The form is usable again (the finished submit must not leave the button spinning).
    expect(page_a.get_by_role("button", name="Change password")).to_be_enabled()
    ui.expect_signed_in(page_a, email)  # this device stays signed in (on a new session)

    ui.expect_signed_out(page_b)  # the other device is not

    [notice] = mailbox.wait_for(email, subject="password was changed")
    assert notice["To"] == email
    content = whole_message(notice)
    assert STRONG_PASSWORD not in content
    assert OTHER_STRONG_PASSWORD not in content

    ui.expect_login_refused(page_b, email, STRONG_PASSWORD)
    ui.login(page_b, email, OTHER_STRONG_PASSWORD)


def test_wrong_current_password_is_refused_and_fields_cleared(new_context, ui, unique_email, mailbox):
    email = unique_email("wrongcurrent")
    page = new_context().new_page()
    ui.register(page, email)

    _fill_change_form(page, STRONG_PASSWORD + "x", OTHER_STRONG_PASSWORD)
    _submit(page)
    expect(page.locator("#current_password-error")).to_have_text("Current password is incorrect.")
    _expect_fields_empty(page)
    expect(page.get_by_text("Password changed.")).to_have_count(0)

    # Nothing changed: the old password still works and no notice was sent.
    ui.expect_signed_in(page, email)
    ui.expect_login_refused(new_context().new_page(), email, OTHER_STRONG_PASSWORD)
    ui.login(new_context().new_page(), email, STRONG_PASSWORD)
    assert [m["Subject"] for m in mailbox.for_address(email)] == ["Finish creating your pwapp account"]  # the sign-up's


def test_weak_new_password_shows_the_policy_reasons(new_context, ui, unique_email):
    email = unique_email("weaknew")
    page = new_context().new_page()
    ui.register(page, email)
    weak = "password1234"
    reasons = problems(weak, email=email, min_length=12, max_length=1024)
    assert "This password is too easy to guess." in reasons

    _fill_change_form(page, STRONG_PASSWORD, weak)
    _submit(page)
    errors = page.locator("#new_password-error")
    for reason in reasons:
        expect(errors).to_contain_text(reason)
    _expect_fields_empty(page)
    expect(page).to_have_url(re.compile(r"^[^?]*/account/change-password/?$"))

    ui.expect_login_refused(new_context().new_page(), email, weak)
