"""Forgot / reset password in Chromium, from the emailed link to the new log-in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from pwapp.security.password_policy import problems
from tests.e2e.conftest import OTHER_STRONG_PASSWORD, STRONG_PASSWORD, text_of, whole_message

pytestmark = pytest.mark.e2e

RESET_PAGE_URL = re.compile(r"^[^?]*/auth/reset-password/?$")
LINK_PAGE_URL = re.compile(r"^[^?]*/auth/reset-password\?token=.+$")
RESET_NOTICE = "Your password has been reset. Log in with your new password."
SERVER_ERROR = re.compile(r"Traceback|Internal Server Error|Exception|stack trace", re.IGNORECASE)


def _request_reset(page, email: str) -> str:
    """Submit the forgot-password form; return the page's whole visible text afterwards."""
    page.goto("/auth/forgot-password")
    page.get_by_label("Email", exact=True).fill(email)
    button = page.get_by_role("button", name="Send reset link")
    expect(button).to_be_enabled()
    button.click()
    expect(page.get_by_role("status")).to_be_visible()
    expect(button).to_be_enabled()
    return page.locator("body").inner_text()


def _reset_link(mailbox, email: str, base_url: str) -> str:
    [message] = mailbox.wait_for(email, subject="Reset your pwapp password")
    assert message["To"] == email
    links = re.findall(r"https?://\S+", text_of(message))
    resets = [link for link in links if "/auth/reset-password" in link]
    assert len(resets) == 1, links
    assert resets[0].startswith(base_url + "/auth/reset-password?token="), resets[0]
    return resets[0]


def _fill_new_password(page, password: str) -> None:
    page.get_by_label("New password", exact=True).fill(password)
    page.get_by_label("Confirm new password", exact=True).fill(password)
    button = page.get_by_role("button", name="Reset password")
    expect(button).to_be_enabled()
    button.click()


def _link_page_names(page, email: str) -> None:
    """The link's own page: whose password it resets, a Continue button, no form to fill yet."""
    expect(page).to_have_url(LINK_PAGE_URL)
    expect(page.get_by_text(f"You are about to choose a new password for {email}.")).to_be_visible()
    expect(page.get_by_role("button", name="Continue")).to_be_visible()
    expect(page.get_by_label("New password", exact=True)).to_have_count(0)


def _link_page_refuses(page, message: str) -> None:
    expect(page.get_by_role("alert").filter(has_text=message)).to_be_visible()
    expect(page.get_by_role("link", name="Request a new link")).to_have_attribute("href", "/auth/forgot-password")
    expect(page.get_by_role("button", name="Continue")).to_have_count(0)
    assert not SERVER_ERROR.search(page.locator("body").inner_text())


def _reset_cookies(context) -> list[dict]:
    return [c for c in context.cookies() if c["name"].endswith("pwapp_reset")]


def _tamper(link: str) -> str:
    """Flip one character in the middle of the token's signature."""
    prefix, token = link.split("token=", 1)
    head, _, signature = token.rpartition(".")
    i = len(signature) // 2
    flipped = "A" if signature[i] != "A" else "B"
    return f"{prefix}token={head}.{signature[:i]}{flipped}{signature[i + 1:]}"


def test_forgot_password_answer_is_the_same_for_unknown_addresses(new_context, ui, unique_email, mailbox):
    known = unique_email("known")
    unknown = unique_email("unknown")
    ui.register(new_context().new_page(), known)

    page = new_context().new_page()
    answer_known = _request_reset(page, known)
    answer_unknown = _request_reset(new_context().new_page(), unknown)

    assert answer_known.encode() == answer_unknown.encode()
    assert "If an account exists for that address, we've sent a link to reset its password." in answer_known
    assert known not in answer_known and unknown not in answer_unknown
    mailbox.wait_for(known, subject="Reset your pwapp password")
    assert mailbox.for_address(unknown) == []


def test_reset_link_end_to_end(new_context, ui, unique_email, mailbox, base_url):
    email = unique_email("reset")
    ui.register(new_context().new_page(), email, STRONG_PASSWORD)
    elsewhere = new_context().new_page()
    ui.login(elsewhere, email, STRONG_PASSWORD)  # a session that the reset must end

    page = new_context().new_page()
    _request_reset(page, email)
    link = _reset_link(mailbox, email, base_url)

    # Opening the link only shows whose password it resets: no cookie yet, nothing used up,
    # and the page loads nothing from other origins (nobody else sees a request from it).
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    response = page.goto(link)
    assert response is not None and response.status == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    _link_page_names(page, email)
    assert _reset_cookies(page.context) == []
    origin = base_url.rstrip("/")
    assert requested and all(url.startswith((origin, origin.replace("http", "ws", 1))) for url in requested)
    stylesheet = page.context.request.get("/auth/plain-page.css")
    assert stylesheet.status == 200 and stylesheet.headers["content-type"].startswith("text/css")

    # Continue moves the token into an HttpOnly cookie and leaves it out of the form page's address.
    statuses: list[int] = []
    page.on("response", lambda answer: statuses.append(answer.status))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(RESET_PAGE_URL)
    assert "token" not in page.url
    assert statuses[:2] == [303, 200]  # straight to the form, no trailing-slash detour via Host
    expect(page.get_by_text(f"Choose a new password for {email}.")).to_be_visible()
    assert all(url.startswith((origin, origin.replace("http", "ws", 1))) for url in requested)
    token = link.split("token=", 1)[1]
    assert token not in page.content()
    assert token not in page.evaluate("document.cookie")
    [cookie] = _reset_cookies(page.context)
    assert cookie["httpOnly"] is True

    # A weak password is refused with the policy's reasons; the link stays usable.
    weak = "password1234"
    _fill_new_password(page, weak)
    errors = page.locator("#new_password-error")
    for reason in problems(weak, email=email, min_length=12, max_length=1024):
        expect(errors).to_contain_text(reason)
    expect(page).to_have_url(RESET_PAGE_URL)

    # A strong one resets it and sends us to log in.
    _fill_new_password(page, OTHER_STRONG_PASSWORD)
    expect(page).to_have_url(re.compile(r"^[^?]*/auth/login/?\?notice=reset$"))
    expect(page.get_by_role("status").filter(has_text=RESET_NOTICE)).to_be_visible()
    assert "pwapp_reset" not in {c["name"] for c in page.context.cookies()}

    ui.expect_signed_out(elsewhere)

    # The link works once.
    page.goto(link)
    _link_page_refuses(page, "This link was already used")

    ui.expect_login_refused(new_context().new_page(), email, STRONG_PASSWORD)
    ui.login(new_context().new_page(), email, OTHER_STRONG_PASSWORD)

    [done] = mailbox.wait_for(email, subject="password was reset")
    assert done["To"] == email
    content = whole_message(done)
    assert OTHER_STRONG_PASSWORD not in content and token not in content


def test_tampered_reset_link_is_refused_plainly(new_context, ui, unique_email, mailbox, base_url):
    email = unique_email("tamper")
    ui.register(new_context().new_page(), email)
    page = new_context().new_page()
    _request_reset(page, email)
    link = _reset_link(mailbox, email, base_url)
    tampered = _tamper(link)
    assert tampered != link

    response = page.goto(tampered)
    assert response is not None and response.status == 200
    _link_page_refuses(page, "This link is not valid")
    assert _reset_cookies(page.context) == []

    # The real link still works after the failed attempt (nothing was used up).
    page.goto(link)
    _link_page_names(page, email)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text(f"Choose a new password for {email}.")).to_be_visible()


@pytest.mark.parametrize("token", ["%E2%98%83", "%F0%9F%92%A5", "%E2%80%AE", "%FF%FE"])
def test_malformed_reset_link_is_not_valid_never_a_500(page, token):
    response = page.goto(f"/auth/reset-password?token={token}")
    assert response is not None and response.status == 200
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"]
    _link_page_refuses(page, "This link is not valid")
    assert _reset_cookies(page.context) == []


@pytest.mark.parametrize("path", ["/auth/reset-password", "/auth/reset-password/"])
def test_the_bare_reset_page_without_a_cookie_says_the_link_is_not_valid(page, path):
    response = page.goto(path)
    assert response is not None and response.status == 200
    expect(page).to_have_url(RESET_PAGE_URL)
    expect(page.get_by_role("alert").filter(has_text="This link is not valid")).to_be_visible()
    expect(page.get_by_role("button", name="Request a new link")).to_be_visible()
