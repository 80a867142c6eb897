"""Forgot-password form: one call to services.passwords.request_password_reset."""

from typing import Any

import reflex as rx

from pwapp.services import passwords
from pwapp.services.errors import InvalidEmail
from pwapp.state.base import AuthState, in_db
from pwapp.state.form import FormMixin, text

SENT = "If an account exists for that address, we've sent a link to reset its password."


class ForgotPasswordState(FormMixin, AuthState):
    """Form state of /auth/forgot-password; the answer never depends on the account existing."""

    @rx.event
    def load(self):
        self.errors, self.notice = {}, ""

    @rx.event
    async def submit(self, form: dict[str, Any]):
        self._start()
        yield
        try:
            await in_db(passwords.request_password_reset, text(form, "email"), self._client())
        except InvalidEmail as exc:
            self._fail(exc)
        else:
            self.notice = SENT
        self.busy = False
