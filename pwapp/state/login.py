"""Log-in form: check the password in a worker thread, then the code page (two-step accounts) or the cookie route."""

from typing import Any

import reflex as rx

from pwapp import routes
from pwapp.db import in_db
from pwapp.services import signup, two_step
from pwapp.services.errors import AccountError, EmailNotVerified, InvalidEmail
from pwapp.state.base import client_of, navigate
from pwapp.state.form import FormMixin, text
from pwapp.web.cookies import safe_next

NOTICES = {
    "reset": "Your password has been reset. Log in with your new password.",
    "signed-out": "You have been logged out.",
    "verified": "Your address is confirmed. Log in to continue.",
}


class LoginState(FormMixin, rx.State):
    """Form state of the log-in page; `unverified`: the right password of an unconfirmed account
    was given, so a new link for `_unverified_email` is offered."""

    unverified: bool = False
    _unverified_email: str = ""

    @rx.event
    def load(self):
        """Show a notice named by `?notice=` (after a reset, a log-out or a confirmed address)."""
        self._idle(NOTICES.get(self.router.url.query_parameters.get("notice", ""), ""))
        self.unverified, self._unverified_email = False, ""

    @rx.event
    async def resend(self):
        """Queue a new verification link for the address whose right password was just given."""
        email, self.unverified = self._unverified_email, False
        try:
            await in_db(signup.request_verification_link, email, client_of(self))
        except InvalidEmail as exc:
            self._fail(exc)
            return
        self._idle(signup.LINK_REQUESTED)

    @rx.event
    async def submit(self, form: dict[str, Any]):
        self._start()
        self.unverified = False
        yield
        target = safe_next(self.router.url.query_parameters.get("next"))
        try:
            result = await in_db(two_step.log_in, text(form, "email"), text(form, "password"), client_of(self))
        except AccountError as exc:
            self._fail(exc)
            self.unverified = isinstance(exc, EmailNotVerified)
            self._unverified_email = text(form, "email") if self.unverified else ""
            return
        if result.challenge:  # the password alone signs no one in: the code page completes it
            self._idle()
            yield rx.redirect(routes.current().two_step_then(result.challenge, target))
            return
        yield navigate(routes.current().start_session(result.ticket, target))
