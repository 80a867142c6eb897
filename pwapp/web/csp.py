"""Content-Security-Policy: scripts only from this origin, or the inline ones of this build.

The prerendered Reflex pages hold a few inline scripts (colour mode, React Router's context
and module imports, React's streaming glue). Their SHA-256 hashes are read once from the
build's HTML files, so a script injected into a page, or into an answer, never runs.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from pathlib import Path

from reflex.utils import prerequisites
from reflex_base import constants
from reflex_base.config import get_config
from starlette.datastructures import MutableHeaders

# style-src keeps 'unsafe-inline': emotion (Reflex's CSS-in-JS) writes <style> elements and
# React writes style attributes at run time, with contents no build step can know.
BASE_POLICY = (
    "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
CONTENT_SECURITY_POLICY = BASE_POLICY.format(hashes="")

# An inline script: a <script> start tag without src, then its text up to the first </script.
INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\ssrc\s*=)(?:\s[^>]*)?>(.*?)</script", re.IGNORECASE | re.DOTALL)


def script_hash(text: bytes) -> str:
    """The CSP source expression allowing one inline script."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text).digest()).decode() + "'"


def build_script_hashes(static_dir: Path) -> list[str]:
    """The hashes of every inline script in the build's HTML files, sorted."""
    found = set()
    for page in static_dir.rglob("*.html"):
        found.update(script_hash(text) for text in INLINE_SCRIPT.findall(page.read_bytes()))
    return sorted(found)


def _static_dir() -> Path:
    """Where the production server serves the compiled frontend from (as reflex.utils.exec does)."""
    frontend_path = get_config().frontend_path.strip("/")
    return prerequisites.get_web_dir() / constants.Dirs.STATIC / frontend_path


@functools.cache
def page_policy() -> str:
    """The policy of HTML answers, read from the build on first use (the build precedes the server)."""
    return BASE_POLICY.format(hashes="".join(" " + h for h in build_script_hashes(_static_dir())))


def build_script_policy(app):
    """HTML answers get the policy with the build's inline-script hashes; the others keep the base one."""

    async def wrapped(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)

        async def send_with_policy(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    headers["content-security-policy"] = page_policy()
            await send(message)

        await app(scope, receive, send_with_policy)

    return wrapped
