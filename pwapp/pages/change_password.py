"""The change-password page (signed in)."""

import reflex as rx

from pwapp import routes
from pwapp.components.fields import form_errors, password_field, strength_meter, submit_button
from pwapp.components.layout import notice, page_layout, page_link, title
from pwapp.state.change_password import ChangePasswordState as State


def change_password() -> rx.Component:
    return page_layout(
        "Change password",
        notice(State.notice),
        rx.form(
            rx.vstack(
                # Lets password managers know which account this is for.
                rx.el.input(type="text", name="username", value=State.email, auto_complete="username",
                            read_only=True, hidden=True),
                password_field("Current password", "current_password", State.errors, "current-password",
                               required=True),
                password_field("New password", "new_password", State.errors, "new-password",
                               on_change=State.measure.debounce(300), required=True),
                strength_meter(State),
                password_field("Confirm new password", "confirm_password", State.errors, "new-password",
                               required=True),
                rx.checkbox("Also sign out my other devices", name="sign_out_others", default_checked=True),
                form_errors(State.errors),
                submit_button("Change password", State.busy),
                spacing="3",
                width="100%",
            ),
            on_submit=State.submit,
            reset_on_submit=True,
            width="100%",
        ),
        page_link("Back to your account", routes.current().account),
    )


def register(app: rx.App) -> None:
    app.add_page(change_password, route=routes.current().change_password, title=title("Change password"),
                 on_load=State.load)
