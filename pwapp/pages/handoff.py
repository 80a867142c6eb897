"""Client-side stand-ins for the server's own HTTP pages: the cookie routes (session start and
end) and the two-step pages that show secrets.

`navigate()` routes to them inside the app (no eval, so no CSP 'unsafe-eval'); on mount they
load the same URL from the server, whose HTTP route answers first.
"""

import reflex as rx

from pwapp import routes
from pwapp.components.layout import page_layout
from pwapp.settings import settings

# Only after client-side routing: a document the server itself served here (say
# /auth/session/ with a slash) stays put instead of reloading itself for ever.
LOAD_FROM_SERVER = rx.call_function(
    "() => { if (performance.getEntriesByType('navigation')[0]?.name !== window.location.href)"
    " window.location.replace(window.location.href); }"
)


def handoff() -> rx.Component:
    return rx.box(page_layout("One moment…"), on_mount=LOAD_FROM_SERVER)


def register(app: rx.App) -> None:
    here = routes.current()
    for route in (here.session_start, here.session_end, here.two_step_setup, here.recovery_codes):
        app.add_page(handoff, route=route, title=settings.product_name)
