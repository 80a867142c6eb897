"""Reset-password form: the token waits in an HttpOnly cookie, never in state or the URL."""

from typing import Any

import reflex as rx

from pwapp import routes
from pwapp.db import in_db
from pwapp.services import passwords
from pwapp.services.errors import AccountError, ResetLinkError
from pwapp.state.base import client_of, navigate
from pwapp.state.form import FormMixin, text
from pwapp.state.strength import StrengthMixin
from pwapp.web.cookies import read_cookie, reset_cookie


class ResetPasswordState(FormMixin, StrengthMixin, rx.State):
    """Form state of the reset-password page."""

    email: str = ""
    link_error: str = ""
    link_ok: bool = False

    def _reference(self) -> str:
        """The reset cookie as this socket holds it: a `tokens.reset_reference` (credential_free_events)."""
        return read_cookie(self.router.headers.cookie, reset_cookie()) or ""

    @rx.event
    async def load(self):
        """Check the link (without using it up) and say plainly what is wrong with it."""
        self._idle()
        self._clear_strength()
        self.link_error, self.link_ok = "", False
        try:
            _, user = await in_db(passwords.check_reset_reference, self._reference())
        except ResetLinkError as exc:
            self.link_error = exc.messages[0]
            return
        self.email, self.link_ok = user.email, True

    @rx.event
    async def submit(self, form: dict[str, Any]):
        self._start()
        yield
        client = client_of(self)
        try:
            await in_db(
                passwords.reset_password_by_reference,
                self._reference(),
                text(form, "new_password"),
                text(form, "confirm_password"),
                client,
            )
        except ResetLinkError as exc:
            self._fail(exc)
            self.link_error, self.link_ok = exc.messages[0], False
            return
        except AccountError as exc:
            self._fail(exc)
            return
        yield navigate(routes.current().end_session(routes.current().login + "?notice=reset"))
