"""The Content-Security-Policy in Chromium: every page works under it, none breaks it, and
a script injected into a page never runs."""

from __future__ import annotations

import re
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.csp_checks import InlineScripts, allowed, directives
from tests.e2e.conftest import ACCOUNT_URL, OTHER_STRONG_PASSWORD, STRONG_PASSWORD, text_of

pytestmark = pytest.mark.e2e

THIRD_PASSWORD = "Copper-Meadow-Falcon-73-Birch"
PAGES = ("/", "/auth/login", "/auth/register", "/auth/forgot-password", "/auth/reset-password",
         "/account", "/account/change-password", "/auth/two-step", "/account/two-step")

# Test code, not app code: report every violation to Python, whatever page it happens on.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) =>
  window.reportCspViolation(`${location.pathname}: ${e.violatedDirective} ${e.blockedURI} ${e.sample}`));
"""


def _watch_csp(context) -> list[str]:
    """Every CSP violation in the context's pages: the DOM event and Chromium's console line."""
    violations: list[str] = []
    context.expose_function("reportCspViolation", lambda text: violations.append(text))
    context.add_init_script(REPORT_VIOLATIONS)
    context.on("console", lambda m: re.search(r"Content Security Policy|Refused to", m.text)
               and violations.append(f"console: {m.text}"))
    return violations


def test_each_page_allows_its_inline_scripts_by_hash_and_nothing_unsafe(base_url):
    for path in PAGES:
        with urllib.request.urlopen(base_url + path) as response:
            policy = directives(response.headers["Content-Security-Policy"])
            html = response.read().decode()
        assert policy.get("default-src") == ["'self'"], (path, policy)
        sources = policy.get("script-src", [])
        assert "'self'" in sources and not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(sources), policy
        scripts = InlineScripts(html).scripts
        assert scripts, path  # the prerendered pages do carry inline scripts
        for script in scripts:
            assert allowed(script) in sources, (path, script[:80])


def test_every_page_works_under_the_csp_without_a_violation(new_context, ui, unique_email, mailbox, base_url):
    context = new_context()
    violations = _watch_csp(context)
    policies: dict[str, str] = {}  # every page the browser loaded -> its policy
    context.on("response", lambda r: r.request.resource_type == "document" and r.status == 200
               and policies.setdefault(r.url, r.headers.get("content-security-policy", "")))
    page = context.new_page()
    email = unique_email("csp")

    # Signed out: each form page renders and its live parts (the websocket) answer.
    page.goto("/auth/reset-password")  # no link
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    page.goto("/auth/login")
    expect(page.get_by_role("button", name="Log in")).to_be_enabled()

    # Register (the cookie route is reached through a full page load), then change the password.
    ui.register(page, email, STRONG_PASSWORD)
    page.go_back()  # the handoff left no entry with the ticket in the history: back is the (used) link
    expect(page).to_have_url(re.compile(r"^[^?]*/auth/verify-email/?\?token="))
    page.goto("/account/change-password")
    page.get_by_label("Current password", exact=True).fill(STRONG_PASSWORD)
    page.get_by_label("New password", exact=True).fill(OTHER_STRONG_PASSWORD)
    page.get_by_label("Confirm new password", exact=True).fill(OTHER_STRONG_PASSWORD)
    expect(page.get_by_text(re.compile(r"^Strength: "))).to_be_visible()  # the server's live meter
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status").filter(has_text="Password changed.")).to_be_visible()

    # Log out, and in again with the new password.
    ui.log_out(page)
    ui.login(page, email, OTHER_STRONG_PASSWORD)

    # Forgot, then the emailed link, then log in with the reset password.
    page.goto("/auth/forgot-password")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("status")).to_be_visible()
    [message] = mailbox.wait_for(email, subject="Reset your pwapp password")
    [link] = [u for u in re.findall(r"https?://\S+", text_of(message)) if "/auth/reset-password" in u]
    page.goto(link)  # the link's own page (served by pwapp, under the same policy), then Continue
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("New password", exact=True).fill(THIRD_PASSWORD)
    page.get_by_label("Confirm new password", exact=True).fill(THIRD_PASSWORD)
    page.get_by_role("button", name="Reset password").click()
    expect(page).to_have_url(re.compile(r"^[^?]*/auth/login/?\?notice=reset$"))
    expect(page.get_by_role("status").filter(has_text="Your password has been reset.")).to_be_visible()
    ui.login(page, email, THIRD_PASSWORD)
    expect(page).to_have_url(ACCOUNT_URL)

    assert violations == []
    assert len(policies) >= 6, policies.keys()
    for url, policy in policies.items():
        sources = directives(policy).get("script-src", [])
        assert "'self'" in sources and "'unsafe-inline'" not in sources, (url, policy)


def test_a_script_injected_into_a_page_does_not_run(new_context):
    page = new_context().new_page()
    page.goto("/auth/login")
    expect(page.get_by_role("button", name="Log in")).to_be_enabled()

    # An inline script added to the DOM (as an XSS would) runs at once, or is refused.
    outcome = page.evaluate("""() => new Promise((resolve) => {
        document.addEventListener("securitypolicyviolation", (e) => resolve(e.violatedDirective), {once: true});
        const script = document.createElement("script");
        script.textContent = "document.body.dataset.injected = 'ran'";
        document.body.append(script);
        if (document.body.dataset.injected) resolve("ran");
    })""")
    assert outcome == "script-src-elem"
    assert page.evaluate("document.body.dataset.injected") is None

    # Nor does an inline event handler.
    outcome = page.evaluate("""() => new Promise((resolve) => {
        document.addEventListener("securitypolicyviolation", (e) => resolve(e.violatedDirective), {once: true});
        const button = document.createElement("button");
        button.setAttribute("onclick", "document.body.dataset.injected = 'ran'");
        document.body.append(button);
        button.click();
        if (document.body.dataset.injected) resolve("ran");
    })""")
    assert outcome == "script-src-attr"
    assert page.evaluate("document.body.dataset.injected") is None


def test_the_handoff_page_never_reloads_itself(page):
    """navigate() reaches the cookie routes through a page that loads its URL from the server
    once; served by itself (here /auth/session/, which the cookie route does not answer) it stays."""
    loads: list[str] = []
    page.on("request", lambda r: r.is_navigation_request() and loads.append(r.url))
    page.goto("/auth/session/")
    expect(page.get_by_role("heading", name="One moment…")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert [url for url in loads if "/auth/session" in url] == [page.url]
