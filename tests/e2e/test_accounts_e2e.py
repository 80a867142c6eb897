"""Register, log in and out, protected pages, sessions, security headers — in Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ACCOUNT_URL, LOGIN_URL, STRONG_PASSWORD

pytestmark = pytest.mark.e2e

SESSION_COOKIE = "pwapp_session"  # http:// base URL, so no __Host- prefix


def _record_websocket_frames(page) -> list[str]:
    """Everything the server pushes to this page over Reflex's websocket."""
    frames: list[str] = []

    def on_socket(ws):
        ws.on("framereceived", lambda payload: frames.append(
            payload if isinstance(payload, str) else payload.decode("utf-8", "replace")))

    page.on("websocket", on_socket)
    return frames


def test_register_cookie_logout_wrong_and_right_password(new_context, ui, unique_email):
    context = new_context()
    page = context.new_page()
    frames = _record_websocket_frames(page)
    email = unique_email("register")

    ui.register(page, email)
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()

    # The session cookie is HttpOnly and its value is nowhere a script or the page can see.
    cookies = {c["name"]: c for c in context.cookies()}
    assert SESSION_COOKIE in cookies, cookies.keys()
    session = cookies[SESSION_COOKIE]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    assert session["path"] == "/"
    token = session["value"]
    assert len(token) >= 32
    assert token not in page.content()
    assert token not in page.evaluate("document.cookie")
    assert SESSION_COOKIE not in page.evaluate("document.cookie")
    assert frames, "the page never received anything over the state websocket"
    assert not any(token in frame for frame in frames), "session token sent to the browser's JS"

    # Log out: back on the login page, cookie gone, /account closed again.
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(LOGIN_URL)
    expect(page.get_by_text("You have been logged out.")).to_be_visible()
    assert SESSION_COOKIE not in {c["name"] for c in context.cookies()}
    ui.expect_signed_out(page)

    # Wrong password: a plain message, still on the login page.
    ui.expect_login_refused(page, email, STRONG_PASSWORD + "x")
    assert SESSION_COOKIE not in {c["name"] for c in context.cookies()}

    # Right password: the account page again.
    ui.login(page, email)

    # Same tab, signed out again: the forms it already submitted are usable, not stuck "busy".
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(LOGIN_URL)
    expect(page.get_by_role("button", name="Log in")).to_be_enabled()
    page.goto("/auth/register")
    expect(page.get_by_role("button", name="Create account")).to_be_enabled()


def test_protected_page_sends_anonymous_visitor_to_login_and_back(page, ui, unique_email, new_context):
    email = unique_email("next")
    ui.register(new_context().new_page(), email)  # the account exists; this page is anonymous

    page.goto("/account/change-password")
    expect(page).to_have_url(re.compile(r"/auth/login/?\?next=(/|%2F)account(/|%2F)change-password"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()

    ui.submit_login(page, email, STRONG_PASSWORD, path=None)
    expect(page).to_have_url(re.compile(r"^[^?]*/account/change-password/?$"))
    expect(page.get_by_role("heading", name="Change password")).to_be_visible()
    expect(page.get_by_label("Current password", exact=True)).to_be_visible()


def test_signing_out_another_session_ends_it(new_context, ui, unique_email):
    email = unique_email("sessions")
    page_a = new_context().new_page()
    page_b = new_context().new_page()
    ui.register(page_a, email)
    ui.login(page_b, email)

    page_a.goto("/account")
    rows = page_a.locator(".session-row")
    expect(rows).to_have_count(2)
    expect(page_a.get_by_text("This device")).to_have_count(1)
    sign_out = page_a.get_by_role("button", name=re.compile(r"^Sign out Headless Chrome on Linux at "))
    expect(sign_out).to_have_count(1)  # never offered for this device; named so each button is distinct

    sign_out.click()
    expect(rows).to_have_count(1)
    expect(page_a.get_by_text("This device")).to_be_visible()

    ui.expect_signed_out(page_b)
    ui.expect_signed_in(page_a, email)


def test_security_headers_on_pages(new_context, ui, unique_email):
    page = new_context().new_page()
    ui.register(page, unique_email("headers"))

    for path in ("/auth/login", "/account"):
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        headers = response.headers  # lower-cased names
        assert headers.get("referrer-policy") == "no-referrer", (path, headers)
        assert headers.get("x-content-type-options") == "nosniff", (path, headers)
        assert headers.get("x-frame-options") == "DENY", (path, headers)
        assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), (path, headers)
        if path == "/account":
            assert "no-store" in headers.get("cache-control", ""), headers
    expect(page).to_have_url(ACCOUNT_URL)


def test_the_app_works_at_127_0_0_1_as_well_as_localhost(new_context, ui, unique_email, base_url):
    """`make run` prints 0.0.0.0:3000; a developer opening 127.0.0.1 gets a working app."""
    page = new_context(base_url=base_url.replace("localhost", "127.0.0.1")).new_page()
    email = unique_email("loopback")
    ui.sign_up(page, email)
    page.goto(ui.verify_link(email).replace("//localhost:", "//127.0.0.1:"))  # mailed for PWAPP_BASE_URL
    ui.confirm(page)
    expect(page.locator("#signed-in-email")).to_have_text(email)
    assert page.url.startswith("http://127.0.0.1:")


def test_log_in_and_out_with_the_keyboard_only(new_context, ui, unique_email):
    email = unique_email("keyboard")
    ui.register(new_context().new_page(), email)
    page = new_context().new_page()
    page.goto("/auth/login")
    page.get_by_label("Email", exact=True).focus()
    page.keyboard.type(email)
    page.keyboard.press("Tab")  # to the password field
    page.keyboard.type(STRONG_PASSWORD)
    page.keyboard.press("Tab")  # to its Show button, which reveals the password
    page.keyboard.press("Enter")
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("type", "text")
    page.keyboard.press("Shift+Tab")  # back to the password field
    page.keyboard.press("Enter")  # submits the form
    expect(page).to_have_url(ACCOUNT_URL)
    for _ in range(10):  # Tab through the page until "Log out" has the focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Log out":
            break
    page.keyboard.press("Enter")
    expect(page).to_have_url(LOGIN_URL)
