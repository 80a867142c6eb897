"""Reset-link fixation, as the probe tried it: an attacker's page on another site hands the
victim's browser the attacker's own reset link. The victim must stay herself."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.e2e.test_reset_password_e2e import _request_reset, _reset_cookies, _reset_link

pytestmark = pytest.mark.e2e

VICTIM_PASSWORD = "Saffron-Keel-Meadow-4410-Brisk"


class AttackerSite:
    """An HTTP server on 127.0.0.1 (another site than the app's localhost) serving set pages."""

    def __init__(self):
        pages: dict[str, str] = {}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = pages.get(self.path, "not found").encode()
                self.send_response(200 if self.path in pages else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.pages = pages
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"

    def serve(self, path: str, body: str) -> str:
        self.pages[path] = f"<!doctype html><html><body>{body}</body></html>"
        return self.origin + path


@pytest.fixture
def attacker_site() -> Iterator[AttackerSite]:
    site = AttackerSite()
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def attacker_link(new_context, ui, unique_email, mailbox, base_url) -> tuple[str, str]:
    """(attacker's address, a live reset link for it), made in the attacker's own browser."""
    attacker = unique_email("attacker")
    page = new_context().new_page()
    ui.register(page, attacker)
    _request_reset(page, attacker)
    return attacker, _reset_link(mailbox, attacker, base_url)


def test_attackers_link_opened_from_another_site_sets_nothing(new_context, ui, unique_email, attacker_site,
                                                              attacker_link):
    attacker, link = attacker_link
    victim = unique_email("victim")
    page = new_context().new_page()
    ui.register(page, victim, VICTIM_PASSWORD)

    lure = attacker_site.serve("/prize", f'<a id="prize" href="{html.escape(link)}">Claim your prize</a>')
    page.goto(lure)
    page.locator("#prize").click()

    # The link's page says plainly whose account it is for, and nothing was handed over.
    expect(page.get_by_text(f"You are about to choose a new password for {attacker}.")).to_be_visible()
    assert _reset_cookies(page.context) == []
    page.goto("/auth/reset-password")
    expect(page.get_by_role("alert").filter(has_text="This link is not valid")).to_be_visible()
    expect(page.get_by_text(attacker)).to_have_count(0)
    ui.expect_signed_in(page, victim)


def test_cross_site_post_of_attackers_token_is_refused(new_context, ui, unique_email, attacker_site, attacker_link,
                                                       base_url):
    attacker, link = attacker_link
    token = link.split("token=", 1)[1]
    victim = unique_email("victim")
    page = new_context().new_page()
    ui.register(page, victim, VICTIM_PASSWORD)

    form = (
        f'<form method="post" action="{html.escape(base_url)}/auth/reset-password">'
        f'<input type="hidden" name="token" value="{html.escape(token)}"></form>'
        "<script>document.forms[0].submit()</script>"
    )
    with page.expect_response(re.compile(r"^[^?]*/auth/reset-password$")) as answer:
        page.goto(attacker_site.serve("/auto", form))
    assert answer.value.status == 403
    expect(page.get_by_text("This request came from another site, so nothing was changed.")).to_be_visible()
    assert _reset_cookies(page.context) == []

    page.goto("/auth/reset-password")
    expect(page.get_by_role("alert").filter(has_text="This link is not valid")).to_be_visible()
    assert attacker not in page.locator("body").inner_text()
    ui.expect_signed_in(page, victim)
