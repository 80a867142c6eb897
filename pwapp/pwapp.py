"""The Reflex app: pages, HTTP routes, middleware and the background worker."""

import gc

import reflex as rx
from starlette.applications import Starlette

import pwapp.models  # noqa: F401  (registers the tables for migrations)
from pwapp.mail.sender import run_forever
from pwapp.pages import add_pages
from pwapp.web import api, cookies
from pwapp.web.csp import build_script_policy
from pwapp.web.middleware import reset_link_to_cookie, security_headers
from pwapp.worker import work_once

http_routes = Starlette(routes=cookies.routes + api.routes)

app = rx.App(api_transformer=[http_routes, reset_link_to_cookie, build_script_policy, security_headers])
add_pages(app)
app.register_lifespan_task(run_forever, work=work_once)


@app.register_lifespan_task
async def freeze_startup_objects():
    """Exempt what start-up loaded (~130k objects: Reflex, the compiled app) from garbage
    collection: a full collection took ~70 ms of GIL-held CPU and now scans only newer objects."""
    gc.freeze()
