"""Every page of the app, registered on an rx.App by `add_pages`."""

import reflex as rx

from pwapp.pages import account, auth, change_password, forgot_password, handoff, reset_password


def add_pages(app: rx.App) -> None:
    """Register each page module's routes."""
    for module in (auth, account, change_password, forgot_password, reset_password, handoff):
        module.register(app)
