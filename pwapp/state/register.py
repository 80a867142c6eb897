"""Register form: queue the sign-up (the emailed link finishes it), or with verification off
create the account and sign in through the cookie route."""

from typing import Any

import reflex as rx

from pwapp import routes
from pwapp.db import in_db
from pwapp.services import accounts, signup
from pwapp.services.errors import AccountError
from pwapp.settings import settings
from pwapp.state.base import client_of, navigate
from pwapp.state.form import FormMixin, text
from pwapp.state.strength import StrengthMixin


class RegisterState(FormMixin, StrengthMixin, rx.State):
    """Form state of the register page; `sent`: the same answer for every address is shown."""

    email: str = ""
    sent: bool = False

    @rx.event
    def load(self):
        self._idle()
        self._clear_strength()
        self.sent = False

    @rx.event
    async def submit(self, form: dict[str, Any]):
        self._start()
        yield
        client = client_of(self)

        def sign_up(s) -> str:
            if not settings.require_email_verification:
                accounts.require_binding(client)  # before an account exists that this browser could not sign in to
            email, new, confirm = text(form, "email"), text(form, "new_password"), text(form, "confirm_password")
            user = signup.sign_up(s, email, new, confirm, client)
            return accounts.create_ticket(s, user, client) if user else ""

        try:
            ticket = await in_db(sign_up)
        except AccountError as exc:
            self._fail(exc)
            return
        if not ticket:
            self._idle(signup.SIGN_UP_REQUESTED)
            self.sent = True
            return
        yield navigate(routes.current().start_session(ticket, routes.current().account))
