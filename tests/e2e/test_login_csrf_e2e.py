"""Login CSRF and cross-site log-out, tried as the black-box probe did: an attacker's browser
and a victim's, plus a page on another site (127.0.0.1 is another site than localhost)."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ACCOUNT_URL, OTHER_STRONG_PASSWORD

pytestmark = pytest.mark.e2e

HANDOFF = re.compile(r"^[^?]*/auth/session\?ticket=.*")
REFUSED = re.compile("nothing was changed", re.IGNORECASE)


@pytest.fixture
def other_site():
    """A tiny HTTP server on 127.0.0.1: (its base URL, a dict of path -> HTML it serves)."""
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", pages
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def capture_handoff(page, ui, email: str, password: str) -> str:
    """Log in through the UI but stop the browser before it opens the ticket URL; return that URL."""
    page.route(HANDOFF, lambda route: route.abort())
    with page.expect_request(HANDOFF) as handoff:
        ui.submit_login(page, email, password)
    return handoff.value.url


def test_an_attackers_sign_in_link_does_not_sign_the_victim_in_or_out(new_context, ui, unique_email, other_site):
    site, pages = other_site
    alice, mallory = unique_email("victim"), unique_email("attacker")
    victim = new_context().new_page()
    ui.register(victim, alice)
    ui.register(new_context().new_page(), mallory, OTHER_STRONG_PASSWORD)
    attacker = new_context().new_page()
    handoff = capture_handoff(attacker, ui, mallory, OTHER_STRONG_PASSWORD)

    # (a) The victim opens the attacker's URL directly.
    victim.goto(handoff)
    expect(victim.get_by_text(REFUSED)).to_be_visible()
    ui.expect_signed_in(victim, alice)

    # (b) ...or follows it from another site, by a link or by a script.
    pages["/link"] = f'<a id="prize" href="{handoff}">You won</a>'
    pages["/script"] = f"<script>window.location.assign({handoff!r})</script>"
    victim.goto(site + "/link")
    victim.locator("#prize").click()
    expect(victim.get_by_text(REFUSED)).to_be_visible()
    ui.expect_signed_in(victim, alice)
    victim.goto(site + "/script")
    expect(victim.get_by_text(REFUSED)).to_be_visible()
    ui.expect_signed_in(victim, alice)

    # A cross-site navigation to the log-out route leaves her signed in.
    pages["/logout"] = f'<a id="out" href="{ui.base_url}/auth/session/end?next=/auth/login">Log out</a>'
    victim.goto(site + "/logout")
    victim.locator("#out").click()
    expect(victim.get_by_text(REFUSED)).to_be_visible()
    ui.expect_signed_in(victim, alice)

    # The ticket was live all along: the attacker's own browser still swaps it from the site's page
    # (the aborted hand-off left an error page, so load one of the site's first).
    attacker.unroute(HANDOFF)
    attacker.goto("/auth/login")
    attacker.evaluate("url => window.location.assign(url)", handoff)
    expect(attacker).to_have_url(ACCOUNT_URL)
    expect(attacker.locator("#signed-in-email")).to_have_text(mallory)
