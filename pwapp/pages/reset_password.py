"""The reset-password page: the form that Continue on the emailed link's page leads to (token in a cookie)."""

import reflex as rx

from pwapp import routes
from pwapp.components.fields import form_errors, password_field, strength_meter, submit_button
from pwapp.components.layout import page_layout, page_link, title
from pwapp.state.reset_password import ResetPasswordState as State


def _form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.el.input(type="text", name="username", value=State.email, auto_complete="username",
                        read_only=True, hidden=True),
            rx.text("Choose a new password for ", rx.text.strong(State.email), "."),
            password_field("New password", "new_password", State.errors, "new-password",
                           on_change=State.measure.debounce(300), required=True),
            strength_meter(State),
            password_field("Confirm new password", "confirm_password", State.errors, "new-password", required=True),
            form_errors(State.errors),
            submit_button("Reset password", State.busy),
            spacing="3",
            width="100%",
        ),
        on_submit=State.submit,
        reset_on_submit=True,
        width="100%",
    )


def _link_problem() -> rx.Component:
    return rx.vstack(
        rx.callout(State.link_error, color_scheme="red", role="alert", width="100%", id="link-error"),
        rx.link(rx.button("Request a new link", size="3", width="100%"), href=routes.current().forgot_password,
                width="100%"),
        width="100%",
    )


def reset_password() -> rx.Component:
    return page_layout(
        "Reset your password",
        rx.cond(State.link_ok, _form(), rx.cond(State.link_error != "", _link_problem(), rx.spinner())),
        page_link("Back to log in", routes.current().login),
    )


def register(app: rx.App) -> None:
    app.add_page(reset_password, route=routes.current().reset_password, title=title("Reset password"),
                 on_load=State.load)
