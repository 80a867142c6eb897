"""The account page: who is signed in, their sessions, log out."""

import reflex as rx

from pwapp import routes
from pwapp.components.layout import notice, page_layout, title
from pwapp.state.account import AccountState


def _session_row(item) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.vstack(
                rx.text(item["browser"], size="2", weight="medium"),
                rx.text(item["ip"], " · last active ", item["last_seen"], size="1", color_scheme="gray"),
                rx.text(rx.cond(item["two_step"] == "yes", "Signed in with two-step", "Signed in with password only"),
                        size="1", color_scheme="gray", class_name="session-two-step"),
                spacing="1",
                min_width="0",
            ),
            rx.spacer(),
            rx.cond(
                item["current"] == "yes",
                rx.badge("This device"),
                rx.button("Sign out", size="1", variant="soft", color_scheme="red",
                          on_click=AccountState.revoke(item["id"]),
                          aria_label="Sign out " + item["browser"] + " at " + item["ip"] + ", last active "
                          + item["last_seen"]),
            ),
            width="100%",
            align="center",
        ),
        width="100%",
        class_name="session-row",
    )


def account() -> rx.Component:
    return page_layout(
        "Your account",
        rx.text("Signed in as ", rx.text.strong(AccountState.email, id="signed-in-email")),
        rx.hstack(
            rx.link("Change password", href=routes.current().change_password),
            rx.link("Two-step sign-in", href=routes.current().account_two_step),
            rx.spacer(),
            rx.button("Log out", on_click=AccountState.logout, variant="outline"),
            width="100%",
            align="center",
        ),
        rx.heading("Active sessions", as_="h2", size="4"),
        notice(AccountState.error, tone="red"),
        rx.vstack(rx.foreach(AccountState.sessions, _session_row), width="100%", spacing="2"),
    )


def register(app: rx.App) -> None:
    app.add_page(account, route=routes.current().account, title=title("Account"), on_load=AccountState.load)
