"""Log-in form: check the password in a worker thread, then the code page (two-step accounts) or the cookie route."""

from typing import Any

import reflex as rx

from pwapp import routes
from pwapp.db import in_db
from pwapp.services import two_step
from pwapp.services.errors import AccountError
from pwapp.state.base import client_of, navigate
from pwapp.state.form import FormMixin, text
from pwapp.web.cookies import safe_next

NOTICES = {
    "reset": "Your password has been reset. Log in with your new password.",
    "signed-out": "You have been logged out.",
}


class LoginState(FormMixin, rx.State):
    """Form state of the log-in page."""

    @rx.event
    def load(self):
        """Show a notice named by `?notice=` (after a reset or a log-out)."""
        self._idle(NOTICES.get(self.router.url.query_parameters.get("notice", ""), ""))

    @rx.event
    async def submit(self, form: dict[str, Any]):
        self._start()
        yield
        target = safe_next(self.router.url.query_parameters.get("next"))
        try:
            result = await in_db(two_step.log_in, text(form, "email"), text(form, "password"), client_of(self))
        except AccountError as exc:
            self._fail(exc)
            return
        if result.challenge:  # the password alone signs no one in: the code page completes it
            self._idle()
            yield rx.redirect(routes.current().two_step_then(result.challenge, target))
            return
        yield navigate(routes.current().start_session(result.ticket, target))
