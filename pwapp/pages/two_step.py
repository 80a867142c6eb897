"""/auth/two-step (the code page of a sign-in) and /account/two-step (settings)."""

import reflex as rx

from pwapp import routes
from pwapp.components.fields import form_errors, password_field, submit_button, text_field
from pwapp.components.layout import notice, page_layout, page_link, title
from pwapp.state.two_step import TwoStepState
from pwapp.state.two_step_settings import TwoStepSettingsState as Settings

CODE_HINT = "Enter the 6-digit code from your authenticator app, or one of your recovery codes."


def code_page() -> rx.Component:
    return page_layout(
        "Two-step sign-in",
        rx.cond(
            TwoStepState.expired,
            rx.vstack(
                rx.callout("This sign-in has expired or was already completed. Log in again.", color_scheme="red",
                           role="alert", width="100%"),
                rx.link(rx.button("Log in again", size="3", width="100%"), href=routes.current().login, width="100%"),
                width="100%",
            ),
            rx.form(
                rx.vstack(
                    text_field("Code", "code", TwoStepState.errors, autocomplete="one-time-code", required=True),
                    form_errors(TwoStepState.errors),
                    submit_button("Verify", TwoStepState.busy),
                    spacing="3",
                    width="100%",
                ),
                on_submit=TwoStepState.submit,
                reset_on_submit=True,
                width="100%",
            ),
        ),
        page_link("Back to log in", routes.current().login),
        intro=CODE_HINT,
    )


def _form(handler, *fields: rx.Component, button: str, **props) -> rx.Component:
    return rx.form(
        rx.vstack(*fields, spacing="3", width="100%"),
        rx.box(submit_button(button, Settings.busy), padding_top="12px", width="100%"),
        on_submit=handler,
        reset_on_submit=True,
        width="100%",
        **props,
    )


def _password(name: str) -> rx.Component:
    return password_field("Current password", name, Settings.errors, "current-password", required=True)


def _code(name: str) -> rx.Component:
    return text_field("Code from your app or a recovery code", name, Settings.errors, autocomplete="one-time-code",
                      required=True)


def _set_up() -> rx.Component:
    return rx.vstack(
        rx.text("Two-step sign-in is off. Turn it on to ask for a code from an authenticator app after your password."),
        _form(Settings.start, _password("setup_current_password"), button="Set up two-step sign-in"),
        width="100%",
    )


def _manage() -> rx.Component:
    return rx.vstack(
        rx.text("Two-step sign-in is on. Recovery codes left: ", rx.text.strong(Settings.codes_left, id="codes-left")),
        rx.heading("New recovery codes", as_="h2", size="4"),
        _form(Settings.regenerate, _password("regen_current_password"), _code("regen_code"),
              button="Make new recovery codes"),
        rx.heading("Turn off", as_="h2", size="4"),
        _form(Settings.turn_off, _password("off_current_password"), _code("off_code"),
              button="Turn off two-step sign-in"),
        width="100%",
    )


def settings_page() -> rx.Component:
    return page_layout(
        "Two-step sign-in",
        notice(Settings.notice),
        form_errors(Settings.errors),
        rx.cond(Settings.enabled, _manage(), _set_up()),
        page_link("Back to your account", routes.current().account),
    )


def register(app: rx.App) -> None:
    app.add_page(code_page, route=routes.current().two_step, title=title("Two-step sign-in"), on_load=TwoStepState.load)
    app.add_page(settings_page, route=routes.current().account_two_step, title=title("Two-step sign-in"),
                 on_load=Settings.load)
