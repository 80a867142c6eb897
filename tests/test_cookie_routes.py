"""The cookie routes over HTTP: the browser-binding cookie, /auth/session and /auth/session/end.

The app is what pwapp.py mounts (cookie and API routes) inside the same middleware as production,
driven in-process with httpx on SQLite and PostgreSQL. Each request names its cookies itself
(the client's jar is emptied first), as the attacker's and the victim's browsers would.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

import httpx
import pytest
from sqlmodel import Session
from starlette.applications import Starlette

import pwapp.db
from pwapp.security.tokens import digest, new_token
from pwapp.services.accounts import Client, create_session, create_ticket, current_session, logout
from pwapp.web import api, cookies
from pwapp.web.cookies import binding_cookie, session_cookie
from pwapp.web.middleware import browser_binding, security_headers
from tests.factories import BOB, make_user

SAME_ORIGIN = {"sec-fetch-site": "same-origin"}
CROSS_SITE = [
    {"sec-fetch-site": "cross-site"},
    {"sec-fetch-site": "same-site"},
    {"sec-fetch-site": "none"},  # typed or pasted into the address bar
    {"origin": "https://evil.example"},
]


class Browser:
    """One browser's cookies: its binding cookie and, once signed in, its session cookie."""

    def __init__(self, session: str = ""):
        self.binding = new_token()
        self.session = session

    @property
    def client(self) -> Client:
        return Client(ip="203.0.113.7", user_agent="pytest", binding=digest(self.binding))

    def cookie(self) -> str:
        jar = {binding_cookie(): self.binding, session_cookie(): self.session}
        return "; ".join(f"{k}={v}" for k, v in jar.items() if v)


@pytest.fixture
def app(engine, monkeypatch):
    monkeypatch.setattr(pwapp.db, "engine", lambda: engine)
    return browser_binding(security_headers(Starlette(routes=cookies.http_routes() + api.http_routes())))


@pytest.fixture
async def http(app):
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def users(engine):
    """Alice (the victim) and Mallory (the attacker), committed."""
    with Session(engine, expire_on_commit=False) as s:
        return make_user(s, "alice@example.org"), make_user(s, "mallory@example.org", BOB)


async def get(http: httpx.AsyncClient, url: str, cookie: str = "", headers: dict | None = None) -> httpx.Response:
    http.cookies.clear()
    return await http.get(url, headers={**(headers or {}), **({"cookie": cookie} if cookie else {})})


def set_cookies(r: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie of a response: name -> the whole header."""
    found = {}
    for header in r.headers.get_list("set-cookie"):
        jar = SimpleCookie()
        jar.load(header)
        found.update({name: header for name in jar})
    return found


def ticket_for(engine, user, browser: Browser) -> str:
    with Session(engine, expire_on_commit=False) as s:
        ticket = create_ticket(s, user, browser.client)
        s.commit()
    return ticket


def signed_in(engine, user) -> Browser:
    with Session(engine, expire_on_commit=False) as s:
        _, token = create_session(s, user, Client(ip="203.0.113.7"))
        s.commit()
    return Browser(session=token)


def email_behind(engine, token: str) -> str | None:
    with Session(engine, expire_on_commit=False) as s:
        found = current_session(s, digest(token))
        s.commit()
    return found[0].email if found else None


# --- the binding cookie -----------------------------------------------------------------------


@pytest.mark.parametrize("cookie", ["", f"{binding_cookie()}=short", f"{binding_cookie()}={'a' * 42}!", "junk;;=="])
async def test_a_browser_without_a_well_formed_binding_gets_a_new_one(http, cookie):
    r = await get(http, "/auth/session/end", cookie)
    header = set_cookies(r)[binding_cookie()]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Max-Age" not in header and "expires" not in header.lower()
    value = SimpleCookie(header)[binding_cookie()].value
    assert cookies.BINDING_FORM.fullmatch(value)
    again = await get(http, "/api/openapi.json", f"{binding_cookie()}={value}")
    assert again.status_code == 200 and binding_cookie() not in set_cookies(again)


async def test_every_new_binding_is_different(http):
    first = set_cookies(await get(http, "/api/openapi.json"))[binding_cookie()]
    second = set_cookies(await get(http, "/api/openapi.json"))[binding_cookie()]
    assert first != second


# --- /auth/session: only the browser that asked, only from this site ----------------------------


async def test_the_browser_that_asked_redeems_its_ticket(http, engine, users):
    alice, _ = users
    browser = Browser()
    ticket = ticket_for(engine, alice, browser)
    r = await get(http, f"/auth/session?ticket={ticket}&next=/account/change-password", browser.cookie(), SAME_ORIGIN)
    assert r.status_code == 303 and r.headers["location"] == "/account/change-password"
    session = SimpleCookie(set_cookies(r)[session_cookie()])[session_cookie()].value
    assert email_behind(engine, session) == "alice@example.org"


async def test_another_browser_cannot_redeem_a_ticket_and_keeps_its_own_session(http, engine, users):
    alice, mallory = users
    attacker = Browser()
    ticket = ticket_for(engine, mallory, attacker)
    victim = signed_in(engine, alice)
    for cookie in (victim.cookie(), f"{session_cookie()}={victim.session}", ""):
        r = await get(http, f"/auth/session?ticket={ticket}", cookie, SAME_ORIGIN)
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
        assert 'href="/auth/login"' in r.text
        assert session_cookie() not in set_cookies(r)
    assert email_behind(engine, victim.session) == "alice@example.org"
    # The refused attempts changed nothing: the attacker's own browser can still redeem it.
    r = await get(http, f"/auth/session?ticket={ticket}", attacker.cookie(), SAME_ORIGIN)
    assert r.status_code == 303 and session_cookie() in set_cookies(r)


async def test_another_apps_odd_cookies_on_the_same_host_do_not_hide_the_binding(http, engine, users):
    alice, _ = users
    browser = Browser()
    ticket = ticket_for(engine, alice, browser)
    cookie = 'prefs={"theme":"dark"}; greeting=hello world; ' + browser.cookie()
    r = await get(http, f"/auth/session?ticket={ticket}", cookie, SAME_ORIGIN)
    assert r.status_code == 303 and session_cookie() in set_cookies(r) and binding_cookie() not in set_cookies(r)


@pytest.mark.parametrize("headers", CROSS_SITE)
async def test_a_cross_site_request_redeems_nothing(http, engine, users, headers):
    alice, _ = users
    browser = Browser()
    ticket = ticket_for(engine, alice, browser)
    r = await get(http, f"/auth/session?ticket={ticket}", browser.cookie(), headers)
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert 'href="/auth/login"' in r.text and session_cookie() not in set_cookies(r)
    r = await get(http, f"/auth/session?ticket={ticket}", browser.cookie(), SAME_ORIGIN)
    assert r.status_code == 303 and session_cookie() in set_cookies(r)


@pytest.mark.parametrize("query", ["", "?ticket=", "?ticket=made-up", "?ticket=%E2%98%83", "?ticket=%00"])
async def test_unknown_tickets_get_a_page_not_an_error(http, users, query):
    r = await get(http, f"/auth/session{query}", Browser().cookie(), SAME_ORIGIN)
    assert r.status_code == 403 and session_cookie() not in set_cookies(r)


async def test_the_server_pages_layout_can_be_replaced(http, users, tmp_path, monkeypatch):
    (tmp_path / "_page.html").write_text(
        "<!doctype html><html lang=en><title>Acme</title><main class=acme>{% block main %}{% endblock %}</main></html>"
    )
    monkeypatch.setenv("PWAPP_PAGE_TEMPLATES", str(tmp_path))
    r = await get(http, "/auth/session?ticket=made-up", Browser().cookie(), SAME_ORIGIN)
    assert r.status_code == 403 and '<main class=acme>' in r.text and "Request refused" in r.text


# --- /auth/session/end: no log-out from another site, none of a live session -------------------


@pytest.mark.parametrize("headers", CROSS_SITE)
async def test_a_cross_site_logout_changes_nothing(http, engine, users, headers):
    alice, _ = users
    victim = signed_in(engine, alice)
    r = await get(http, "/auth/session/end?next=/auth/login", victim.cookie(), headers)
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert set(set_cookies(r)) <= {binding_cookie()}
    assert email_behind(engine, victim.session) == "alice@example.org"


async def test_a_live_session_keeps_its_cookie(http, engine, users):
    alice, _ = users
    victim = signed_in(engine, alice)
    r = await get(http, "/auth/session/end?next=/auth/login", victim.cookie(), SAME_ORIGIN)
    assert r.status_code == 303 and r.headers["location"] == "/account"
    assert session_cookie() not in set_cookies(r)
    assert email_behind(engine, victim.session) == "alice@example.org"


async def test_the_cookie_of_a_revoked_session_is_cleared(http, engine, users):
    alice, _ = users
    browser = signed_in(engine, alice)
    with Session(engine) as s:
        logout(s, digest(browser.session))
        s.commit()
    r = await get(http, "/auth/session/end?next=/auth/login%3Fnotice%3Dsigned-out", browser.cookie(), SAME_ORIGIN)
    assert r.status_code == 303 and r.headers["location"] == "/auth/login?notice=signed-out"
    cleared = SimpleCookie(set_cookies(r)[session_cookie()])[session_cookie()]
    assert cleared.value == "" and cleared["max-age"] == "0"
