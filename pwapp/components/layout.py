"""One layout for every page: product name, a clear heading, a centred card (replaceable)."""

from collections.abc import Callable

import reflex as rx

from pwapp.settings import settings

Layout = Callable[..., rx.Component]
_layout: Layout | None = None


def use_layout(layout: Layout | None) -> None:
    """Build every page with `layout(heading, *children, intro="")` (None: pwapp's own)."""
    global _layout
    _layout = layout


def title(page: str) -> str:
    """A page's title: "Log in · <product name>"."""
    return f"{page} · {settings.product_name}"


def page_layout(heading: str, *children: rx.Component, intro: str = "") -> rx.Component:
    """The page in the installed layout, or in pwapp's own."""
    return (_layout or default_layout)(heading, *children, intro=intro)


def default_layout(heading: str, *children: rx.Component, intro: str = "") -> rx.Component:
    """A centred card in the page's `main` landmark; fits 375 px screens, follows dark mode."""
    return rx.el.main(
        rx.center(
            rx.card(
                rx.vstack(
                    rx.link(rx.text(settings.product_name, weight="bold", size="3"), href="/", underline="none"),
                    rx.heading(heading, as_="h1", size="6"),
                    rx.cond(intro != "", rx.text(intro, color_scheme="gray", size="2")),
                    *children,
                    spacing="4",
                    width="100%",
                ),
                width="100%",
                max_width="440px",
                size="3",
            ),
            min_height="100vh",
            padding="16px",
            background=rx.color("gray", 2),
        ),
    )


def notice(message, tone: str = "green") -> rx.Component:
    """A polite, announced status line (hidden when empty)."""
    return rx.box(
        rx.cond(message != "", rx.callout(message, color_scheme=tone, role="status", width="100%")),
        aria_live="polite",
        width="100%",
    )


def page_link(label: str, href: str) -> rx.Component:
    return rx.link(label, href=href, size="2")
