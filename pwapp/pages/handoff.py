"""Client-side stand-ins for the cookie-setting HTTP routes (/auth/session, /auth/session/end).

`navigate()` routes to them inside the app (no eval, so no CSP 'unsafe-eval'); on mount they
load the same URL from the server, whose HTTP route answers first and sets the cookie.
"""

import reflex as rx

from pwapp.components.layout import page_layout

ROUTES = ("/auth/session", "/auth/session/end")

# Only after client-side routing: a document the server itself served here (say
# /auth/session/ with a slash) stays put instead of reloading itself for ever.
LOAD_FROM_SERVER = rx.call_function(
    "() => { if (performance.getEntriesByType('navigation')[0]?.name !== window.location.href)"
    " window.location.replace(window.location.href); }"
)


def handoff() -> rx.Component:
    return rx.box(page_layout("One moment…"), on_mount=LOAD_FROM_SERVER)


def register(app: rx.App) -> None:
    for route in ROUTES:
        app.add_page(handoff, route=route, title="pwapp")
