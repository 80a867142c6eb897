"""Forgot-password form: one call to services.passwords.request_password_reset."""

from typing import Any

import reflex as rx

from pwapp.db import in_db
from pwapp.services import passwords
from pwapp.services.errors import InvalidEmail
from pwapp.state.base import client_of
from pwapp.state.form import FormMixin, text


class ForgotPasswordState(FormMixin, rx.State):
    """Form state of /auth/forgot-password; the answer never depends on the account existing."""

    @rx.event
    def load(self):
        self._idle()

    @rx.event
    async def submit(self, form: dict[str, Any]):
        self._start()
        yield
        try:
            await in_db(passwords.request_password_reset, text(form, "email"), client_of(self))
        except InvalidEmail as exc:
            self._fail(exc)
        else:
            self._idle(passwords.RESET_REQUESTED)
