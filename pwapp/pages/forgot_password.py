"""The forgot-password page."""

import reflex as rx

from pwapp import routes
from pwapp.components.fields import submit_button, text_field
from pwapp.components.layout import notice, page_layout, page_link, title
from pwapp.state.forgot_password import ForgotPasswordState as State


def forgot_password() -> rx.Component:
    return page_layout(
        "Forgot your password?",
        notice(State.notice),
        rx.form(
            rx.vstack(
                text_field("Email", "email", State.errors, type="email", autocomplete="email", required=True),
                submit_button("Send reset link", State.busy),
                spacing="3",
                width="100%",
            ),
            on_submit=State.submit,
            reset_on_submit=True,
            width="100%",
        ),
        page_link("Back to log in", routes.current().login),
        intro="Enter the email address of your account and we'll send you a link to choose a new password.",
    )


def register(app: rx.App) -> None:
    app.add_page(forgot_password, route=routes.current().forgot_password, title=title("Forgot password"),
                 on_load=State.load)
