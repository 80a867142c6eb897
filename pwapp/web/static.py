"""The stylesheet of pwapp's server-rendered pages, served by pwapp so an embedding app needs no copy."""

from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pwapp import routes

STYLESHEET = Path(__file__).parent / "static" / "plain-page.css"


@lru_cache(maxsize=1)
def _stylesheet() -> bytes:
    return STYLESHEET.read_bytes()


async def stylesheet(_request: Request) -> Response:
    return Response(_stylesheet(), media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})


def http_routes() -> list[Route]:
    return [Route(routes.current().plain_stylesheet, stylesheet, methods=["GET", "HEAD"])]
