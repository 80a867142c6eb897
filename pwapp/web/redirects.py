"""Redirects that stay on PWAPP_BASE_URL, whatever the request's Host says.

Starlette's StaticFiles, which serves the built pages in production, answers `/auth/login`
with `307 http://<Host>/auth/login/`: it builds the URL from the request's `Host` and always
says http. `serve_pages_directly` serves such a page at once (no round trip), and
`locations_on_base_url` turns any other absolute Location that is not on PWAPP_BASE_URL's
origin into a path on the site the browser is already on.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from starlette.datastructures import MutableHeaders

from pwapp.settings import settings

# A page route as the app spells it: lower-case segments, no dots, no empty segment.
PAGE_PATH = re.compile(r"(/[a-z0-9_-]+)+")
# Browsers drop these anywhere in a URL, so "/\t/evil.com" would become "//evil.com".
IGNORED_IN_URLS = re.compile(r"[\t\n\r]")


@cache
def _built_pages() -> Path:
    """Where Reflex's production build keeps the prerendered pages (REFLEX_WEB_WORKDIR aware)."""
    from reflex.utils.prerequisites import get_web_dir
    from reflex_base import constants

    return get_web_dir() / constants.Dirs.STATIC


def _is_built_page(path: str) -> bool:
    # os.path.isfile is False, not an error, for a name too long for the file system.
    return PAGE_PATH.fullmatch(path) is not None and os.path.isfile(_built_pages() / path.lstrip("/") / "index.html")


def serve_pages_directly(app):
    """Serve `/auth/login` as `/auth/login/` (the form the build has), instead of a redirect.

    It wraps Reflex's own app (first in api_transformer), so pwapp's HTTP routes still see
    every path as sent and a page path is rewritten only when no route took it.
    """

    async def wrapped(scope, receive, send):
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and _is_built_page(scope["path"]):
            path = scope["path"] + "/"
            scope = dict(scope, path=path, raw_path=path.encode())
        return await app(scope, receive, send)

    return wrapped


def local_location(location: str) -> str:
    """`location` when it is a path or on PWAPP_BASE_URL's origin; otherwise its path, query and
    fragment, never starting with two slashes (which would name a host)."""
    parts = urlsplit(IGNORED_IN_URLS.sub("", location).lstrip())
    base = urlsplit(settings.base_url)
    if (parts.scheme, parts.netloc) == (base.scheme, base.netloc):
        return location
    if not parts.scheme and not parts.netloc and not parts.path.startswith(("//", "/\\", "\\")):
        return location
    return urlunsplit(("", "", "/" + parts.path.lstrip("/\\"), parts.query, parts.fragment))


def locations_on_base_url(app):
    """Rewrite every response's Location with `local_location`."""

    async def wrapped(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)

        async def send_local_location(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "location" in headers:
                    headers["location"] = local_location(headers["location"])
            await send(message)

        await app(scope, receive, send_local_location)

    return wrapped
