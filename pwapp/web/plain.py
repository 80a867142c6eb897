"""Pages the server renders itself, without Reflex or any script: the reset link's, the two-step
pages that show a secret (which must never be a Reflex state var), and refusals."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from pwapp import routes
from pwapp.settings import settings

MAX_FORM_BYTES = 4096
TEMPLATES = Path(__file__).parent / "templates"


def template_dirs() -> tuple[str, ...]:
    """Template folders in search order: `PWAPP_PAGE_TEMPLATES` (if set), then pwapp/web/templates."""
    override = os.environ.get("PWAPP_PAGE_TEMPLATES", "").strip()
    return (override, str(TEMPLATES)) if override else (str(TEMPLATES),)


@lru_cache(maxsize=4)
def _templates(dirs: tuple[str, ...]) -> Environment:
    return Environment(loader=FileSystemLoader(list(dirs)), autoescape=True, undefined=StrictUndefined)


def render(template: str, status_code: int = 200, **context: object) -> HTMLResponse:
    """`template` with the routes and the product's name; `_page.html` is the layout every such page extends."""
    page = _templates(template_dirs()).get_template(template)
    html = page.render(routes=routes.current(), product=settings.product_name, **context)
    return HTMLResponse(html, status_code=status_code)


async def form_fields(request: Request, *names: str) -> list[str] | None:
    """The form's `names` fields ("" when absent), or None when the body is larger than MAX_FORM_BYTES."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    values = parse_qs(body.decode("utf-8", "replace"))
    return [(values.get(name) or [""])[0] for name in names]


async def form_field(request: Request, name: str) -> str | None:
    """The form's `name` field ("" when absent), or None when the body is larger than MAX_FORM_BYTES."""
    fields = await form_fields(request, name)
    return None if fields is None else fields[0]
