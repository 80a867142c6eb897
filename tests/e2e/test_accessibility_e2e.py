"""axe-core audit of every page and its callout states, in light and dark color schemes."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import OTHER_STRONG_PASSWORD, ROOT, STRONG_PASSWORD, text_of

pytestmark = pytest.mark.e2e

# Installed by the Makefile rule `make test` depends on (a pinned axe-core from npm).
AXE = ROOT / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
THIRD_PASSWORD = "Copper-Meadow-Falcon-73-Ridge"


def _violations(page, where: str) -> list[str]:
    """axe-core's violations on the page as it is now, one line each, named by `where`."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{where}: {v['id']} ({v['impact']}) {v['help']} at {[n['target'] for n in v['nodes']]}"
            for v in result["violations"]]


def _reset_link(mailbox, email: str) -> str:
    [message] = mailbox.wait_for(email, subject="Reset your pwapp password")
    return re.search(r"https?://\S+/auth/reset-password\?token=\S+", text_of(message)).group(0)


def _fill(page, fields: dict[str, str]) -> None:
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)


def _submit(page, name: str) -> None:
    button = page.get_by_role("button", name=name)
    expect(button).to_be_enabled()
    button.click()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_passes_axe(scheme, new_context, ui, unique_email, mailbox):
    if not AXE.is_file():
        pytest.fail(f"{AXE.relative_to(ROOT)} is missing: `make test` installs it", pytrace=False)
    found: list[str] = []
    email = unique_email(f"axe-{scheme}")
    # add_script_tag(path=…) inlines axe as a <script>, which a strict CSP (no 'unsafe-inline')
    # would block. This context bypasses CSP so axe can run; the CSP is tested on its own.
    page = new_context(color_scheme=scheme, bypass_csp=True).new_page()

    def audit(where: str) -> None:
        found.extend(_violations(page, where))

    page.goto("/auth/register")
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    expect(page.locator("html")).to_have_class(re.compile(r"\bdark\b" if scheme == "dark" else r"\blight\b"))
    audit("register")
    _fill(page, {"Email": email, "Password": "password1234", "Confirm password": "password12345"})
    expect(page.get_by_text("Strength:")).to_be_visible()
    _submit(page, "Create account")
    expect(page.locator("#confirm_password-error")).not_to_be_empty()
    audit("register, refused")

    ui.sign_up(page, email)
    audit("register, sent")
    link = ui.verify_link(email)
    page.goto(link.replace("token=", "token=x"))
    expect(page.get_by_role("alert").filter(has_text="This link is not valid")).to_be_visible()
    audit("confirmation link, invalid")
    page.goto(link)
    expect(page.locator("#link-email")).to_have_text(email)
    audit("confirmation link")
    ui.confirm(page, "not the sign-up's password")
    expect(page.locator("#password-error")).to_be_visible()
    audit("confirmation link, wrong password")
    ui.confirm(page)
    expect(page.locator("#signed-in-email")).to_have_text(email)
    ui.login(new_context(color_scheme=scheme).new_page(), email)  # a second session: its Sign out button
    page.goto("/account")
    expect(page.locator(".session-row")).to_have_count(2)
    audit("account")

    page.goto("/account/change-password")
    expect(page.get_by_label("Current password", exact=True)).to_be_visible()
    audit("change password")
    _fill(page, {"Current password": STRONG_PASSWORD + "x", "New password": OTHER_STRONG_PASSWORD,
                 "Confirm new password": OTHER_STRONG_PASSWORD})
    _submit(page, "Change password")
    expect(page.locator("#current_password-error")).to_have_text("Current password is incorrect.")
    audit("change password, refused")
    _fill(page, {"Current password": STRONG_PASSWORD, "New password": OTHER_STRONG_PASSWORD,
                 "Confirm new password": OTHER_STRONG_PASSWORD})
    _submit(page, "Change password")
    expect(page.get_by_role("status").filter(has_text="Password changed.")).to_be_visible()
    audit("change password, done")

    page.goto("/account")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status").filter(has_text="You have been logged out.")).to_be_visible()
    audit("log in, after log out")
    page.goto("/auth/login")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    audit("log in")
    ui.submit_login(page, email, STRONG_PASSWORD, path=None)
    expect(page.get_by_text("Email or password is incorrect.")).to_be_visible()
    audit("log in, refused")
    page.goto("/auth/session?ticket=not-a-ticket")  # the cookie routes' refusal page
    expect(page.get_by_role("alert")).to_contain_text(re.compile("nothing was changed", re.IGNORECASE))
    audit("sign-in refused")

    page.goto("/auth/forgot-password")
    expect(page.get_by_role("button", name="Send reset link")).to_be_visible()
    audit("forgot password")
    _fill(page, {"Email": email})
    _submit(page, "Send reset link")
    expect(page.get_by_role("status")).to_be_visible()
    audit("forgot password, sent")
    link = _reset_link(mailbox, email)

    page.goto(link.replace("token=", "token=x"))
    expect(page.get_by_role("alert").filter(has_text="This link is not valid")).to_be_visible()
    audit("reset link, invalid")
    page.goto(link)
    expect(page.locator("#link-email")).to_have_text(email)
    audit("reset link")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text(f"Choose a new password for {email}.")).to_be_visible()
    audit("reset password")
    _fill(page, {"New password": "password1234", "Confirm new password": "password1234"})
    _submit(page, "Reset password")
    expect(page.locator("#new_password-error")).not_to_be_empty()
    audit("reset password, refused")
    _fill(page, {"New password": THIRD_PASSWORD, "Confirm new password": THIRD_PASSWORD})
    _submit(page, "Reset password")
    expect(page.get_by_role("status").filter(has_text="Your password has been reset.")).to_be_visible()
    audit("log in, after reset")
    page.goto(link)
    expect(page.get_by_role("alert").filter(has_text="This link was already used")).to_be_visible()
    audit("reset link, used")

    # Two-step: the settings page, the server's set-up and recovery-codes pages, the code page.
    ui.login(page, email, THIRD_PASSWORD)
    page.goto("/account/two-step")
    expect(page.get_by_role("button", name="Set up two-step sign-in")).to_be_visible()
    audit("two-step settings")
    _fill(page, {"Current password": THIRD_PASSWORD})
    _submit(page, "Set up two-step sign-in")
    key = page.locator("#setup-key")
    expect(key).to_have_text(re.compile(r"^[A-Z2-7]{32}$"))
    audit("two-step set-up")
    _fill(page, {"Code from your app": "abcdef"})
    _submit(page, "Turn on")
    expect(page.locator("#code-error")).to_have_text(re.compile("That code is not valid"))
    audit("two-step set-up, refused")
    _fill(page, {"Code from your app": pyotp.TOTP(key.inner_text()).now()})
    _submit(page, "Turn on")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    audit("recovery codes")
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text("already shown")
    audit("recovery codes, already shown")
    page.get_by_role("link", name="Go to two-step sign-in").click()
    expect(page.locator("#codes-left")).to_have_text("10")
    audit("two-step settings, on")
    ui.log_out(page)
    ui.submit_login(page, email, THIRD_PASSWORD)
    expect(page.get_by_role("button", name="Verify")).to_be_visible()
    audit("two-step code")
    _fill(page, {"Code": "abcdef"})
    _submit(page, "Verify")
    expect(page.get_by_text("That code is not valid.")).to_be_visible()
    audit("two-step code, refused")

    assert found == [], "\n".join(found)
