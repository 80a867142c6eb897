"""Pages the server renders itself, without Reflex or any script: the reset link's, and the
two-step pages that show a secret (which must never be a Reflex state var)."""

from __future__ import annotations

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


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined)


def render(template: str, status_code: int = 200, **context: object) -> HTMLResponse:
    """`template` (in pwapp/web/templates) with the routes and the product's name."""
    html = _templates().get_template(template).render(routes=routes.current(), product=settings.product_name, **context)
    return HTMLResponse(html, status_code=status_code)


async def form_field(request: Request, name: str) -> str | None:
    """The form's `name` field ("" when absent), or None when the body is larger than MAX_FORM_BYTES."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    values = parse_qs(body.decode("utf-8", "replace"))
    return (values.get(name) or [""])[0]
