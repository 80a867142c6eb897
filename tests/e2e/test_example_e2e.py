"""examples/acme in Chromium: another Reflex app with pwapp installed under /accounts and /me,
and a page of its own behind the log-in (one more production build)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.app_server import AppServer
from tests.e2e.conftest import (
    OTHER_STRONG_PASSWORD,
    ROOT,
    START_TIMEOUT,
    STRONG_PASSWORD,
    UI,
    running,
    text_of,
)

pytestmark = pytest.mark.e2e

EXAMPLE = ROOT / "examples" / "acme"


@pytest.fixture(scope="module")
def acme(smtp_sink):
    workdir = Path(tempfile.mkdtemp(prefix="pwapp-acme-"))
    server = AppServer(
        workdir,
        {
            "PWAPP_MAIL_BACKEND": "smtp", "PWAPP_SMTP_HOST": "127.0.0.1", "PWAPP_SMTP_PORT": str(smtp_sink.port),
            "PWAPP_SMTP_SECURITY": "none", "PYTHONPATH": str(ROOT),  # pwapp, as `pip install -e` would provide it
            "ACME_EVENT_LOG": str(workdir / "events.log"),
        },
        app_dir=EXAMPLE, ready_path="/accounts/login", start_timeout=START_TIMEOUT,
    )
    with running(server):
        yield server


def test_sign_up_reach_the_protected_page_and_change_the_password(browser, acme, mailbox, unique_email):
    email = unique_email("acme")
    context = browser.new_context(base_url=acme.base_url)
    context.set_default_timeout(15_000)
    page = context.new_page()

    page.goto("/dashboard")  # anonymous: sent to log in, and back afterwards
    expect(page).to_have_url(re.compile(r"^[^?]*/accounts/login/?\?next=/dashboard$"))
    expect(page).to_have_title("Log in · Acme")
    page.get_by_role("link", name="Create an account").click()
    expect(page).to_have_url(re.compile(r"^[^?]*/accounts/register/?$"))
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(STRONG_PASSWORD)
    page.get_by_label("Confirm password", exact=True).fill(STRONG_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Check your inbox to finish creating your account")).to_be_visible()
    [welcome] = mailbox.wait_for(email, subject="Finish creating your Acme account")
    (link,) = re.findall(r"https?://\S+/accounts/verify-email\?token=\S+", text_of(welcome))
    page.goto(link)
    UI.confirm(page, STRONG_PASSWORD)
    expect(page).to_have_url(re.compile(r"^[^?]*/me/?$"))
    expect(page.locator("#signed-in-email")).to_have_text(email)

    page.goto("/dashboard")
    expect(page.locator("#dashboard-email")).to_have_text(email)
    expect(page.locator("#dashboard-user-id")).not_to_have_text("0")

    page.get_by_role("link", name="Change your password").click()
    expect(page).to_have_url(re.compile(r"^[^?]*/me/change-password/?$"))
    # Acme's own password rule speaks on pwapp's form like the built-in ones.
    page.get_by_label("Current password", exact=True).fill(STRONG_PASSWORD)
    page.get_by_label("New password", exact=True).fill("Acme-" + OTHER_STRONG_PASSWORD)
    page.get_by_label("Confirm new password", exact=True).fill("Acme-" + OTHER_STRONG_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    # On the field itself: the strength meter may show the same words as a tip.
    expect(page.locator("#new_password-error")).to_contain_text('Your password must not contain "acme".')
    page.get_by_label("Current password", exact=True).fill(STRONG_PASSWORD)
    page.get_by_label("New password", exact=True).fill(OTHER_STRONG_PASSWORD)
    page.get_by_label("Confirm new password", exact=True).fill(OTHER_STRONG_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page).to_have_url(re.compile(r"^[^?]*/me/change-password/?\?changed=1$"))
    expect(page.get_by_role("status").filter(has_text="Password changed.")).to_be_visible()

    [notice] = mailbox.wait_for(email, subject="Acme password was changed")
    assert f"{acme.base_url}/accounts/forgot-password" in text_of(notice)

    page.goto("/me")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"^[^?]*/accounts/login/?\?notice=signed-out$"))
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"^[^?]*/accounts/login/?\?next=/dashboard$"))
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(OTHER_STRONG_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"^[^?]*/dashboard/?$"))  # back where the visitor was going
    expect(page.locator("#dashboard-email")).to_have_text(email)
    # Acme's hook saw the sign-up, the change and the log-in, each after it committed.
    logged = [line.split()[1:] for line in (acme.workdir / "events.log").read_text().splitlines()]
    assert [kind for kind, who in logged if who == email] == ["Registered", "PasswordChanged", "LoggedIn"]
    context.close()
