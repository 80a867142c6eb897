"""`install(app)`: pwapp's pages, HTTP routes, middleware and worker on an existing rx.App."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import reflex as rx
from starlette.applications import Starlette

from pwapp import routes
from pwapp import settings as pwsettings
from pwapp.components.layout import Layout, use_layout
from pwapp.mail.sender import run_forever
from pwapp.pages import add_pages
from pwapp.web import api, cookies, static
from pwapp.web.csp import build_script_policy
from pwapp.web.middleware import browser_binding, credential_free_events, security_headers
from pwapp.web.redirects import locations_on_base_url, serve_pages_directly
from pwapp.web.reset_link import reset_link_page
from pwapp.web.two_step_pages import two_step_pages
from pwapp.web.verify_link import verify_link_page
from pwapp.worker import work_once


class SecuredApp(rx.App):
    """rx.App with the security headers outside Reflex's own outer layer, so that its answers
    (404 for a target such as `*` or a path with an encoded newline, 500 for an unhandled
    error) carry them too."""

    def __call__(self):
        return security_headers(super().__call__())


def _transformers(app: rx.App) -> list:
    """The app's own api_transformer entries between pwapp's: `serve_pages_directly` must wrap
    Reflex's app first; pwapp's routes, the reset and verification links, the two-step secrets' pages, the page CSP
    and the binding cookie wrap the rest; `credential_free_events` is outermost, so no layer
    hands Reflex's event socket a credential."""
    theirs = app.api_transformer
    theirs = [] if theirs is None else list(theirs) if isinstance(theirs, Sequence) else [theirs]
    http_routes = Starlette(routes=cookies.http_routes() + api.http_routes() + static.http_routes())
    return [
        serve_pages_directly, *theirs, http_routes, reset_link_page, verify_link_page, two_step_pages,
        locations_on_base_url, build_script_policy, browser_binding, credential_free_events,
    ]


def install(
    app: rx.App,
    *,
    prefix: str = "/auth",
    account_prefix: str = "/account",
    settings: Mapping[str, object] | None = None,
    product_name: str | None = None,
    layout: Layout | None = None,
) -> rx.App:
    """Add pwapp to `app`: its pages under `prefix` (log in, register, forgot and reset password)
    and `account_prefix` (account, change password), its HTTP routes and REST API, its
    middleware (security headers outermost) and its worker (reset links, mail, retention).

    `settings` (field names such as `base_url=`) take the place of their `PWAPP_*` variables;
    a bad value stops start-up with one line naming it. `product_name` (also PWAPP_PRODUCT_NAME)
    names the product on pages and in mail; `layout(heading, *children, intro="")` builds every
    page instead of pwapp's card (keep a `main` landmark in it). Returns `app`.
    """
    overrides = dict(settings or {}) | ({"product_name": product_name} if product_name is not None else {})
    if overrides:
        pwsettings.configure(**overrides)
    routes.use(prefix, account_prefix)
    use_layout(layout)
    add_pages(app)
    app.api_transformer = _transformers(app)
    if not isinstance(app, SecuredApp):
        # Security headers must wrap what App.__call__ builds; Python looks special methods up on
        # the class, so the instance becomes a SecuredApp of its own class.
        app.__class__ = type(type(app).__name__, (SecuredApp, type(app)), {})
    app.register_lifespan_task(run_forever, work=work_once)
    return app
