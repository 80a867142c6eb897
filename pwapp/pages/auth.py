"""The home page (standalone app only), register and log in."""

import reflex as rx

from pwapp import routes
from pwapp.components.fields import form_errors, password_field, strength_meter, submit_button, text_field
from pwapp.components.layout import notice, page_layout, page_link, title
from pwapp.settings import settings
from pwapp.state.base import AuthState
from pwapp.state.login import LoginState
from pwapp.state.register import RegisterState


def home() -> rx.Component:
    return page_layout("One moment…")


def login() -> rx.Component:
    return page_layout(
        "Log in",
        notice(LoginState.notice),
        rx.form(
            rx.vstack(
                text_field("Email", "email", LoginState.errors, type="email", autocomplete="email", required=True),
                password_field("Password", "password", LoginState.errors, "current-password", required=True),
                form_errors(LoginState.errors),
                rx.cond(
                    LoginState.unverified,
                    rx.button("Send a new link", type="button", on_click=LoginState.resend, variant="soft",
                              width="100%"),
                ),
                submit_button("Log in", LoginState.busy),
                spacing="3",
                width="100%",
            ),
            on_submit=LoginState.submit,
            reset_on_submit=False,
            width="100%",
        ),
        rx.hstack(page_link("Forgot password?", routes.current().forgot_password), rx.spacer(),
                  page_link("Create an account", routes.current().register), width="100%"),
    )


def register_page() -> rx.Component:
    return page_layout(
        "Create your account",
        notice(RegisterState.notice),
        rx.cond(~RegisterState.sent, rx.form(
            rx.vstack(
                text_field("Email", "email", RegisterState.errors, type="email", autocomplete="email", required=True),
                password_field("Password", "new_password", RegisterState.errors, "new-password",
                               on_change=RegisterState.measure.debounce(300), required=True),
                strength_meter(RegisterState),
                password_field("Confirm password", "confirm_password", RegisterState.errors, "new-password",
                               required=True),
                form_errors(RegisterState.errors),
                submit_button("Create account", RegisterState.busy),
                spacing="3",
                width="100%",
            ),
            on_submit=RegisterState.submit,
            width="100%",
        )),
        page_link("Already have an account? Log in", routes.current().login),
    )


def register_home(app: rx.App) -> None:
    """`/` sends visitors to their account or to log in (the standalone app's home)."""
    app.add_page(home, route="/", title=settings.product_name, on_load=AuthState.route_home)


def register(app: rx.App) -> None:
    app.add_page(login, route=routes.current().login, title=title("Log in"), on_load=LoginState.load)
    app.add_page(register_page, route=routes.current().register, title=title("Create account"),
                 on_load=RegisterState.load)
