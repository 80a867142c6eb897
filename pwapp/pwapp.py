"""The Reflex app: pages, HTTP routes, middleware and the background worker."""

import gc

import reflex as rx
from starlette.applications import Starlette

import pwapp.models  # noqa: F401  (registers the tables for migrations)
from pwapp.mail.sender import run_forever
from pwapp.pages import add_pages
from pwapp.web import api, cookies
from pwapp.web.csp import build_script_policy
from pwapp.web.middleware import browser_binding, security_headers
from pwapp.web.redirects import locations_on_base_url, serve_pages_directly
from pwapp.web.reset_link import reset_link_page
from pwapp.worker import work_once

http_routes = Starlette(routes=cookies.routes + api.routes)


class App(rx.App):
    """rx.App with the security headers outside Reflex's own outer layer, so that its answers
    (404 for a target such as `*` or a path with an encoded newline, 500 for an unhandled
    error) carry them too."""

    def __call__(self):
        return security_headers(super().__call__())


app = App(
    api_transformer=[
        serve_pages_directly, http_routes, reset_link_page, locations_on_base_url, build_script_policy, browser_binding
    ]
)
add_pages(app)
app.register_lifespan_task(run_forever, work=work_once)


@app.register_lifespan_task
async def freeze_startup_objects():
    """Exempt what start-up loaded (~130k objects: Reflex, the compiled app) from garbage
    collection: a full collection took ~70 ms of GIL-held CPU and now scans only newer objects."""
    gc.freeze()
