"""Reading a page and its Content-Security-Policy as a browser does (for the CSP tests)."""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser


class InlineScripts(HTMLParser):
    """The text of each <script> without src in `html`, as a browser hashes it."""

    def __init__(self, html: str):
        super().__init__()
        self.scripts: list[str] = []
        self._inside = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self._inside = tag == "script" and "src" not in dict(attrs)
        if self._inside:
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._inside = False

    def handle_data(self, data):
        if self._inside:
            self.scripts[-1] += data


def allowed(script: str) -> str:
    """The hash source that lets `script` run."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def directives(policy: str) -> dict[str, list[str]]:
    """{"script-src": ["'self'", …], …}; a directive the policy lacks is absent."""
    return {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
