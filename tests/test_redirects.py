"""Behind a TLS proxy (PWAPP_BASE_URL https, the app itself spoken to in plain http), every
redirect a browser follows stays on https and on PWAPP_BASE_URL's host, whatever `Host` says.

In process, with an https Settings (a second production build would cost minutes): Starlette's
StaticFiles, which serves the built pages in production, is the redirect under test, behind
`locations_on_base_url` as in pwapp.pwapp. tests/e2e/test_http_fuzz.py checks the real server.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from starlette.staticfiles import StaticFiles

from pwapp.settings import get_settings
from pwapp.web import redirects

BASE_URL = "https://app.example"


@pytest.fixture
def https_settings(monkeypatch):
    monkeypatch.setattr(redirects, "settings", dataclasses.replace(get_settings(), base_url=BASE_URL))


def followed(location: str, page: str = BASE_URL + "/auth/login") -> str:
    """Where a browser on `page` goes when told `Location: location` (it drops tabs and newlines,
    and reads a backslash as a slash)."""
    for ignored in "\t\n\r":
        location = location.replace(ignored, "")
    return urljoin(page, location.strip().replace("\\", "/"))


@pytest.mark.parametrize("host", ["app.example", "evil.example", "app.example:80"])
async def test_a_directory_redirect_keeps_https_and_the_base_host(tmp_path, https_settings, host):
    (tmp_path / "auth" / "login").mkdir(parents=True)
    (tmp_path / "auth" / "login" / "index.html").write_text("<p>log in</p>")
    app = redirects.locations_on_base_url(StaticFiles(directory=tmp_path, html=True))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.example") as client:
        answer = await client.get("/auth/login?notice=reset", headers={"host": host})
    assert answer.status_code == 307
    assert followed(answer.headers["location"]) == BASE_URL + "/auth/login/?notice=reset"


@pytest.mark.parametrize(
    "location",
    [
        "http://app.example/auth/login/",
        "http://evil.example/auth/login/",
        "https://evil.example/auth/login/",
        "//evil.example/auth/login/",
        "/\\evil.example/auth/login/",
        "\\\\evil.example/auth/login/",
        "/\t/evil.example/auth/login/",
        "http:evil.example/auth/login/",
        " https://evil.example/auth/login/",
        "HTTP://EVIL.EXAMPLE/auth/login/",
    ],
)
def test_a_location_off_the_base_url_becomes_a_path_on_it(https_settings, location):
    target = urlsplit(followed(redirects.local_location(location)))
    assert (target.scheme, target.netloc) == ("https", "app.example")


@pytest.mark.parametrize("location", ["https://app.example/account?x=1", "/auth/login?notice=reset", "account"])
def test_a_location_on_the_base_url_is_kept(https_settings, location):
    assert redirects.local_location(location) == location
