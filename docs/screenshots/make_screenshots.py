"""Screenshots of every page, at 375 px and desktop width, light and dark.

    .venv/bin/python docs/screenshots/make_screenshots.py

Starts the app the way the e2e tests do (production build, fresh SQLite file, SMTP sink),
walks through the pages with Chromium and writes docs/screenshots/<page>-<variant>.png:
`mobile` (375 px), `desktop` (1280 px) and `dark-mobile` (375 px, prefers-color-scheme: dark).
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

OUT = Path(__file__).resolve().parent
ROOT = OUT.parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright

from tests.e2e.conftest import STRONG_PASSWORD, UI, Mailbox, e2e_server, launch_browser, text_of
from tests.mail_server import MailServer

VARIANTS = {
    "mobile": {"viewport": {"width": 375, "height": 812}, "color_scheme": "light"},
    "desktop": {"viewport": {"width": 1280, "height": 800}, "color_scheme": "light"},
    "dark-mobile": {"viewport": {"width": 375, "height": 812}, "color_scheme": "dark"},
}


def reset_link(page, mailbox: Mailbox, email: str) -> str:
    page.goto("/auth/forgot-password")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("status")).to_be_visible()
    [message] = mailbox.wait_for(email, subject="Reset your pwapp password")
    return re.search(r"http\S+/auth/reset-password\?token=\S+", text_of(message)).group(0)


def shoot(page, name: str, variant: str) -> None:
    page.wait_for_load_state("networkidle")
    path = OUT / f"{name}-{variant}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"wrote {path.relative_to(ROOT)}")


def capture(browser, base_url: str, mailbox: Mailbox, variant: str, options: dict) -> None:
    email = f"ada-{uuid.uuid4().hex[:6]}@example.com"
    other = browser.new_context(base_url=base_url, user_agent="Mozilla/5.0 (iPhone) Mobile Safari")
    context = browser.new_context(base_url=base_url, **options)
    try:
        page = context.new_page()

        page.goto("/auth/register")
        page.get_by_label("Email", exact=True).fill(email)
        page.get_by_label("Password", exact=True).fill(STRONG_PASSWORD)
        expect(page.get_by_text("Strength:")).to_be_visible()
        shoot(page, "register", variant)

        ui = UI(base_url, mailbox)
        ui.register(page, email)
        ui.login(other.new_page(), email)  # a second session for the list
        page.goto("/account")
        expect(page.locator(".session-row")).to_have_count(2)
        shoot(page, "account", variant)

        page.goto("/account/change-password")
        expect(page.get_by_label("Current password", exact=True)).to_be_visible()
        shoot(page, "change-password", variant)

        page.goto("/account")
        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_text("You have been logged out.")).to_be_visible()
        shoot(page, "login", variant)

        link = reset_link(page, mailbox, email)
        shoot(page, "forgot-password", variant)

        page.goto(link)
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_text(f"Choose a new password for {email}.")).to_be_visible()
        shoot(page, "reset-password", variant)
    finally:
        context.close()
        other.close()


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="pwapp-shots-"))
    try:
        with MailServer() as smtp, e2e_server(workdir, smtp.port) as app:
            mailbox = Mailbox(smtp)
            with sync_playwright() as playwright:
                browser = launch_browser(playwright)
                expect.set_options(timeout=15_000)
                for variant, options in VARIANTS.items():
                    capture(browser, app.base_url, mailbox, variant, options)
                browser.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
