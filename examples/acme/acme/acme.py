"""Acme: an app of its own with pwapp's accounts under /accounts and /me, and one page behind log-in."""

import os
from pathlib import Path

import reflex as rx

import pwapp
import pwapp.models  # noqa: F401  (pwapp's tables)
from pwapp import hooks

EVENT_LOG = Path(os.environ.get("ACME_EVENT_LOG", "acme-account-events.log"))


def log_account_event(event) -> None:
    """Append one line per account event (after it committed): when, what, whose."""
    with EVENT_LOG.open("a") as log:
        log.write(f"{event.at.isoformat()} {type(event).__name__} {event.email}\n")


def no_company_name(password: str, email: str) -> list[str]:
    """Acme's own password rule, shown beside pwapp's."""
    return ['Your password must not contain "acme".'] if "acme" in password.lower() else []


for event in (hooks.Registered, hooks.LoggedIn, hooks.PasswordChanged):
    hooks.on(event, log_account_event)
hooks.add_password_rule(no_company_name)


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
