"""Register form: create the account, then sign in through the cookie route."""

from typing import Any

import reflex as rx

from pwapp import routes
from pwapp.db import in_db
from pwapp.services import accounts
from pwapp.services.errors import AccountError
from pwapp.state.base import client_of, navigate
from pwapp.state.form import FormMixin, text
from pwapp.state.strength import StrengthMixin


class RegisterState(FormMixin, StrengthMixin, rx.State):
    """Form state of the register page."""

    email: str = ""

    @rx.event
    def load(self):
        self._idle()
        self._clear_strength()

    @rx.event
    async def submit(self, form: dict[str, Any]):
        self._start()
        yield
        client = client_of(self)

        def register_and_sign_in(s):
            accounts.require_binding(client)  # before an account exists that this browser could not sign in to
            email, new, confirm = text(form, "email"), text(form, "new_password"), text(form, "confirm_password")
            user = accounts.register(s, email, new, confirm, client=client)
            return accounts.create_ticket(s, user, client)

        try:
            ticket = await in_db(register_and_sign_in)
        except AccountError as exc:
            self._fail(exc)
            return
        yield navigate(routes.current().start_session(ticket, routes.current().account))
