"""pwapp under other prefixes: install() puts every page and route there, and every link,
redirect and emailed URL follows."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from types import SimpleNamespace

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount

import pwapp.db
from pwapp import routes
from pwapp.mail.compose import render
from pwapp.security.tokens import new_token
from pwapp.services.passwords import change_password, request_password_reset
from pwapp.settings import get_settings, settings
from pwapp.web.cookies import binding_cookie
from pwapp.web.middleware import security_headers
from pwapp.wiring import _transformers
from tests import ROOT
from tests.factories import ALICE, CLIENT, NEW, OLD, mails, sign_in, whoami

INSTALL = """
import json, reflex as rx
from pwapp import install
from pwapp.wiring import SecuredApp
app = install(rx.App(), prefix="/accounts", account_prefix="/me", settings={"secret_key": "s" * 40})
paths = [r.path for t in app.api_transformer if hasattr(t, "routes") for r in t.routes]
print(json.dumps({"pages": sorted(app._unevaluated_pages), "routes": paths,
                  "secured": isinstance(app, SecuredApp), "tasks": len(app.lifespan_tasks)}))
"""


@pytest.fixture
def moved():
    """pwapp's pages at /accounts and /me for one test."""
    yield routes.use("/accounts", "/me")
    routes.use()


def test_install_registers_every_page_and_route_under_its_prefixes():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PWAPP_")}
    result = subprocess.run([sys.executable, "-c", INSTALL], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["pages"] == ["accounts/forgot-password", "accounts/login", "accounts/register",
                              "accounts/reset-password", "accounts/session", "accounts/session/end",
                              "accounts/two-step", "me", "me/change-password", "me/two-step",
                              "me/two-step/recovery-codes", "me/two-step/setup"]
    assert {"/accounts/session", "/accounts/session/end", "/api/login/"} <= set(found["routes"])
    assert not any("/auth" in path for path in found["routes"])
    assert found["secured"] and found["tasks"] >= 1


def test_a_prefix_moves_the_emailed_links(db, alice, moved):
    change_password(db, alice, whoami(db, sign_in(db, alice))[1], OLD, NEW, NEW, client=CLIENT)
    db.commit()
    request_password_reset(db, ALICE, CLIENT)
    db.commit()
    changed = mails(db, template="password_changed")[-1].text()
    reset = mails(db, template="password_reset")[-1].text()
    assert f"{settings.base_url}/accounts/forgot-password" in changed
    assert re.search(re.escape(f"{settings.base_url}/accounts/reset-password?token=") + r"\S+", reset)
    assert "/auth/" not in changed + reset


async def reflex_pages(scope, receive, send):
    await PlainTextResponse("the Reflex page")(scope, receive, send)


@pytest.fixture
async def client(engine, monkeypatch, moved):
    """install()'s api_transformer chain, as Reflex applies it, around a stand-in for the pages."""
    monkeypatch.setattr(pwapp.db, "engine", lambda: engine)
    asgi = reflex_pages
    for transform in _transformers(SimpleNamespace(api_transformer=None)):
        asgi = Starlette(routes=[*transform.routes, Mount("", asgi)]) if isinstance(transform, Starlette) else \
            transform(asgi)
    transport = httpx.ASGITransport(app=security_headers(asgi), raise_app_exceptions=False)
    jar = {binding_cookie(): new_token()}
    async with httpx.AsyncClient(transport=transport, base_url=settings.base_url, cookies=jar) as c:
        yield c


async def test_a_prefix_moves_the_http_routes_and_their_links(client):
    link = await client.get("/accounts/reset-password?token=%FF")
    assert 'href="/accounts/forgot-password"' in link.text and 'href="/accounts/login"' in link.text
    assert 'href="/accounts/plain-page.css"' in link.text
    stylesheet = await client.get("/accounts/plain-page.css")  # pwapp serves it: no copy in the app's assets
    assert stylesheet.status_code == 200 and stylesheet.headers["content-type"].startswith("text/css")
    assert "/auth/" not in link.text
    go_on = await client.post("/accounts/reset-password", data={"token": "a" * 40},
                              headers={"sec-fetch-site": "same-origin"})
    assert go_on.status_code == 303 and go_on.headers["location"] == "/accounts/reset-password/"
    refused = await client.get("/accounts/session?ticket=x", headers={"sec-fetch-site": "cross-site"})
    assert refused.status_code == 403 and 'href="/accounts/login"' in refused.text
    ended = await client.get("/accounts/session/end")
    assert ended.status_code == 303 and ended.headers["location"] == "/accounts/login"
    assert (await client.get("/auth/session")).text == "the Reflex page"  # the old path is not pwapp's now
    for path in ("/me/two-step/setup", "/me/two-step/recovery-codes"):  # the two-step secrets' pages
        signed_out = await client.get(path)
        assert signed_out.status_code == 403 and 'href="/accounts/login?next=/me/two-step"' in signed_out.text


LOOK = """
import reflex as rx
from pwapp import install

def acme_layout(heading, *children, intro=""):
    return rx.el.main(rx.heading(heading), *children, id="acme-layout")

app = install(rx.App(), product_name="Acme", layout=acme_layout, settings={"secret_key": "s" * 40})
page = app._unevaluated_pages["auth/login"]
print(page.title, "|", "acme-layout" in str(page.component()))
"""


def test_the_product_name_and_the_layout_can_be_replaced():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PWAPP_")}
    result = subprocess.run([sys.executable, "-c", LOOK], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "Log in · Acme | True"


def test_mail_names_the_product():
    acme = dataclasses.replace(get_settings(), product_name="Acme")
    rendered = render("password_reset", {"reset_url": "https://x.example/r", "expires_minutes": 60}, acme)
    assert rendered.subject == "Reset your Acme password"
    assert "Acme" in rendered.text
