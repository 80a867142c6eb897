"""The Content-Security-Policy of every answer, through the middleware pwapp.py installs.

Pages may run scripts from this origin and the inline scripts of the build, by hash; nothing
'unsafe-inline' or 'unsafe-eval', and no inline script an answer brings along by itself.
"""

from __future__ import annotations

import gzip

import httpx
import pytest
from reflex.utils.precompressed_staticfiles import PrecompressedStaticFiles
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route

from pwapp.pwapp import app as reflex_app
from pwapp.web import csp
from pwapp.web.middleware import security_headers
from tests.csp_checks import InlineScripts, allowed, directives

PAGE = b"""<!DOCTYPE html><html><head>
<script>document.documentElement.classList.add("dark")</script>
<script type="module" async="">import "/assets/manifest.js";</script>
<script src="/assets/app.js"></script>
</head><body><div id="root"></div><SCRIPT id="_R_">requestAnimationFrame(function(){$RT=1})</SCRIPT></body></html>"""
INJECTED = "<html><body><script>fetch('/steal?c=' + document.cookie)</script></body></html>"


def production_wrapping(inner):
    """`inner` inside the ASGI middleware of pwapp.py, in its order (the mounted routes aside),
    inside the security headers as pwapp's App puts them."""
    for transform in reflex_app.api_transformer:
        if not isinstance(transform, Starlette):
            inner = transform(inner)
    return security_headers(inner)


@pytest.fixture
async def client(tmp_path, monkeypatch):
    """The wrapped app serving a one-page build (plain and gzip) as the production server does."""
    static = tmp_path / "build" / "client"
    static.mkdir(parents=True)
    (static / "page.html").write_bytes(PAGE)
    (static / "page.html.gz").write_bytes(gzip.compress(PAGE))
    monkeypatch.setenv("REFLEX_WEB_WORKDIR", str(tmp_path))
    csp.page_policy.cache_clear()
    inner = Starlette(routes=[
        Route("/echo", lambda request: HTMLResponse(INJECTED)),
        Route("/api/thing", lambda request: JSONResponse({"ok": True})),
        Mount("/", PrecompressedStaticFiles(directory=static, html=True, encodings=["gzip"])),
    ])
    transport = httpx.ASGITransport(app=production_wrapping(inner))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
    csp.page_policy.cache_clear()


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
async def test_a_page_may_run_its_own_inline_scripts_and_nothing_unsafe(client, encoding):
    response = await client.get("/page.html", headers={"accept-encoding": encoding})
    assert response.status_code == 200
    assert response.headers.get("content-encoding", "identity") == encoding
    policy = directives(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'self'"]
    scripts = InlineScripts(response.text).scripts
    assert len(scripts) == 3
    assert sorted(policy["script-src"]) == sorted(["'self'", *map(allowed, scripts)])
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["form-action"] == ["'self'"]


async def test_an_inline_script_that_is_not_the_builds_is_not_allowed(client):
    response = await client.get("/echo")
    [script] = InlineScripts(response.text).scripts
    policy = directives(response.headers["content-security-policy"])
    assert allowed(script) not in policy["script-src"]
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(policy["script-src"])


async def test_other_answers_carry_the_policy_too(client):
    response = await client.get("/api/thing")
    policy = directives(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
