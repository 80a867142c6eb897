"""Acme: an app of its own with pwapp's accounts under /accounts and /me, and one page behind log-in."""

import reflex as rx

import pwapp
import pwapp.models  # noqa: F401  (pwapp's tables)


class DashboardState(pwapp.AuthState):
    """The dashboard's state: `require_login` fills in `user_id` and `email`."""


def dashboard() -> rx.Component:
    return rx.el.main(
        rx.heading("Acme dashboard", as_="h1"),
        rx.text("Signed in as ", rx.text.strong(DashboardState.email, id="dashboard-email"),
                " (account ", rx.text.span(DashboardState.user_id, id="dashboard-user-id"), ")"),
        rx.link("Change your password", href="/me/change-password"),
        padding="24px",
    )


def index() -> rx.Component:
    return rx.el.main(rx.heading("Acme", as_="h1"), rx.link("Your dashboard", href="/dashboard"), padding="24px")


app = pwapp.install(rx.App(), prefix="/accounts", account_prefix="/me", product_name="Acme")
app.add_page(index, route="/", title="Acme")
app.add_page(dashboard, route="/dashboard", title="Dashboard · Acme", on_load=DashboardState.require_login)
