"""End-to-end fixtures: one production build of the app, one SMTP sink, one Chromium.

All three are session-scoped (the Reflex build is the slow part); every test gets a
fresh browser context and its own email addresses, so tests never share an account.

`e2e_server`, `launch_browser` and `UI` are also used by docs/screenshots/make_screenshots.py.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

import pytest

from pwapp.services.signup import SIGN_UP_REQUESTED
from tests import ROOT
from tests.app_server import AppServer
from tests.mail_server import MailServer

CHROMIUM = os.environ.get("PWAPP_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT = float(os.environ.get("PWAPP_E2E_START_TIMEOUT", "300"))

# A password zxcvbn scores 4 and that shares nothing with the test addresses.
STRONG_PASSWORD = "Granite-Harbor-Violet-58-Quill"
OTHER_STRONG_PASSWORD = "Lantern?Mosaic!Orbit-2291-Fjord"


def e2e_server(workdir: Path, smtp_port: int, **extra: str) -> AppServer:
    """The app as the e2e tests and the screenshot tour run it: its mail goes to the SMTP sink
    (`extra`: more variables, e.g. PWAPP_WORKERS)."""
    settings = {
        "PWAPP_ENV": "development",
        "PWAPP_MAIL_BACKEND": "smtp",
        "PWAPP_SMTP_HOST": "127.0.0.1",
        "PWAPP_SMTP_PORT": str(smtp_port),
        "PWAPP_SMTP_SECURITY": "none",
        "PWAPP_SMTP_TIMEOUT": "5",
    } | extra
    return AppServer(workdir, settings, start_timeout=START_TIMEOUT)


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class Mailbox:
    """The session's SMTP sink, read by recipient (each test uses its own addresses)."""

    def __init__(self, server: MailServer):
        self.server = server

    def for_address(self, address: str) -> list[EmailMessage]:
        return [m for m in self.server.received() if address.lower() in str(m.get("To", "")).lower()]

    def wait_for(self, address: str, *, subject: str = "", count: int = 1, timeout: float = 30.0) -> list[EmailMessage]:
        """At least `count` messages to `address` whose subject contains `subject`, or fail."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.for_address(address) if subject.lower() in str(m.get("Subject", "")).lower()]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                seen = [(m.get("To"), m.get("Subject")) for m in self.server.received()]
                pytest.fail(f"no mail {subject!r} to {address} within {timeout:.0f} s; received: {seen}")
            time.sleep(0.05)


def text_of(message: EmailMessage) -> str:
    """Plain-text body of a message."""
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def whole_message(message: EmailMessage) -> str:
    """Every decoded part of a message plus its headers, for "never contains" checks."""
    chunks = [str(k) + ": " + str(v) for k, v in message.items()]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            chunks.append(part.get_content())
    chunks.append(message.as_string())
    return "\n".join(chunks)


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def smtp_sink():
    with MailServer() as server:
        yield server


@pytest.fixture(scope="session")
def mailbox(smtp_sink) -> Mailbox:
    return Mailbox(smtp_sink)


@contextmanager
def running(server: AppServer):
    """`server` started (a server that cannot start fails the test with its reason), then stopped
    and its folder removed (kept, and named, with PWAPP_E2E_KEEP set)."""
    try:
        try:
            server.start()
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield server
    finally:
        server.stop()
        if os.environ.get("PWAPP_E2E_KEEP"):
            print(f"\npwapp e2e files kept in {server.workdir}", file=sys.stderr)
        else:
            shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def app_server(smtp_sink):
    with running(e2e_server(Path(tempfile.mkdtemp(prefix="pwapp-e2e-")), smtp_sink.port)) as server:
        yield server


@pytest.fixture(scope="session")
def base_url(app_server) -> str:
    return app_server.base_url


class LazyBrowser:
    """One Chromium, started on first use and stopped as soon as the e2e tests are done.

    While a sync Playwright is open, asyncio believes a loop is running in this thread, so
    pytest-asyncio tests collected after the e2e ones would fail ("Runner.run() cannot be
    called from a running event loop"); `pytest_runtest_teardown` below closes it in time.
    """

    def __init__(self):
        self._manager = None
        self._browser = None

    def get(self):
        if self._browser is None:
            from playwright.sync_api import sync_playwright

            self._manager = sync_playwright()
            self._browser = launch_browser(self._manager.__enter__())
        return self._browser

    def close(self) -> None:
        if self._manager is not None:
            try:
                self._browser.close()
            finally:
                self._manager.__exit__(None, None, None)
                self._manager = self._browser = None


_BROWSER = LazyBrowser()


@pytest.fixture(scope="session")
def _browser_lifetime():
    yield _BROWSER
    _BROWSER.close()


@pytest.fixture
def browser(app_server, _browser_lifetime):
    return _browser_lifetime.get()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After the last e2e test in a row (contexts already closed), stop Playwright."""
    try:
        return (yield)
    finally:
        if nextitem is None or nextitem.get_closest_marker("e2e") is None:
            _BROWSER.close()


@pytest.fixture
def new_context(browser, base_url, app_server, request):
    """Make browser contexts (all closed after the test); the app log tail is printed on failure."""
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    contexts = []
    problems: list[str] = []  # browser-side errors, printed when the test fails

    def watch(page):
        page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"requestfailed: {r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))

    def make(**options):
        context = browser.new_context(**{"base_url": base_url, **options})
        context.set_default_timeout(15_000)
        context.set_default_navigation_timeout(30_000)
        context.on("page", watch)
        contexts.append(context)
        return context

    yield make
    report = getattr(request.node, "rep_call", None)
    failed = report is not None and report.failed
    if failed:
        shots = ROOT / "test-results" / "e2e"  # git-ignored
        shots.mkdir(parents=True, exist_ok=True)
        for i, context in enumerate(contexts):
            for j, open_page in enumerate(context.pages):
                target = shots / f"{request.node.name}-{i}-{j}.png"
                try:
                    open_page.screenshot(path=str(target), full_page=True)
                    print(f"\npage {i}/{j} at {open_page.url}: {target}")
                    print(open_page.locator("body").inner_text(timeout=2_000)[:800])
                except Exception as exc:  # noqa: BLE001  (diagnostics only)
                    print(f"\npage {i}/{j}: no screenshot ({exc})")
    for context in contexts:
        context.close()
    if failed:
        print("\n--- browser problems ---\n" + "\n".join(problems[-30:]))
        print(f"\n--- tail of {app_server.log_path} ---\n{app_server.log_tail(40)}")


@pytest.fixture
def page(new_context):
    return new_context().new_page()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


@pytest.fixture
def unique_email():
    """A fresh address per call: `unique_email("alice")` -> alice-3f9c…@example.com."""

    def make(prefix: str = "user") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"

    return make


# ----------------------------------------------------------------------- UI helpers

ACCOUNT_URL = re.compile(r"^[^?]*/account/?$")
LOGIN_URL = re.compile(r"^[^?]*/auth/login/?(\?.*)?$")


class UI:
    """What a user does, in the words of the pages."""

    def __init__(self, base_url: str, mailbox: Mailbox):
        self.base_url = base_url
        self.mailbox = mailbox

    def sign_up(self, page, email: str, password: str = STRONG_PASSWORD) -> None:
        """Submit the sign-up form and see the answer every address gets."""
        from playwright.sync_api import expect

        page.goto("/auth/register")
        page.get_by_label("Email", exact=True).fill(email)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_label("Confirm password", exact=True).fill(password)
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_text(SIGN_UP_REQUESTED)).to_be_visible()

    def verify_link(self, email: str, count: int = 1) -> str:
        """The confirmation link of the `count`-th "Finish creating" mail to `email`."""
        message = self.mailbox.wait_for(email, subject="Finish creating", count=count)[count - 1]
        (link,) = re.findall(r"https?://\S+/verify-email\?token=\S+", text_of(message))
        return link

    @staticmethod
    def confirm(page, password: str = STRONG_PASSWORD) -> None:
        """On an opened confirmation link: give the sign-up's password and click Confirm."""
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name="Confirm").click()

    def register(self, page, email: str, password: str = STRONG_PASSWORD) -> None:
        """Sign up, open the emailed link, confirm, and land signed in."""
        from playwright.sync_api import expect

        self.sign_up(page, email, password)
        page.goto(self.verify_link(email))
        self.confirm(page, password)
        expect(page).to_have_url(ACCOUNT_URL)
        expect(page.locator("#signed-in-email")).to_have_text(email)

    def submit_login(self, page, email: str, password: str, path: str = "/auth/login") -> None:
        from playwright.sync_api import expect

        if path is not None:
            page.goto(path)
        page.get_by_label("Email", exact=True).fill(email)
        page.get_by_label("Password", exact=True).fill(password)
        button = page.get_by_role("button", name="Log in")
        expect(button).to_be_enabled()
        button.click()

    def log_out(self, page) -> None:
        """From the account page, click Log out and wait for the signed-out login page."""
        from playwright.sync_api import expect

        page.goto("/account")
        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(LOGIN_URL)
        expect(page.get_by_role("status").filter(has_text="You have been logged out.")).to_be_visible()

    def login(self, page, email: str, password: str = STRONG_PASSWORD) -> None:
        from playwright.sync_api import expect

        self.submit_login(page, email, password)
        expect(page).to_have_url(ACCOUNT_URL)
        expect(page.locator("#signed-in-email")).to_have_text(email)

    def expect_login_refused(self, page, email: str, password: str) -> None:
        from playwright.sync_api import expect

        self.submit_login(page, email, password)
        expect(page.get_by_text("Email or password is incorrect.")).to_be_visible()
        expect(page).to_have_url(LOGIN_URL)

    def expect_signed_out(self, page) -> None:
        """The next visit to /account ends on the login page."""
        from playwright.sync_api import expect

        page.goto("/account")
        expect(page).to_have_url(LOGIN_URL)
        expect(page.get_by_role("button", name="Log in")).to_be_visible()

    def expect_signed_in(self, page, email: str) -> None:
        from playwright.sync_api import expect

        page.goto("/account")
        expect(page.locator("#signed-in-email")).to_have_text(email)
        expect(page).to_have_url(ACCOUNT_URL)


@pytest.fixture(scope="session")
def ui(base_url, mailbox) -> UI:
    return UI(base_url, mailbox)
