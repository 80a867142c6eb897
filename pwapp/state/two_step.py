"""The code page of a two-step sign-in: a valid code turns the challenge into the session handoff."""

from typing import Any

import reflex as rx

from pwapp import routes
from pwapp.db import in_db
from pwapp.services import two_step
from pwapp.services.errors import AccountError, ChallengeExpired
from pwapp.state.base import client_of, navigate
from pwapp.state.form import FormMixin, text
from pwapp.web.cookies import safe_next


class TwoStepState(FormMixin, rx.State):
    """Form state of /auth/two-step; the challenge stays in the page's address, never in state."""

    expired: bool = False

    def _challenge(self) -> str:
        return self.router.url.query_parameters.get("challenge", "")

    @rx.event
    async def load(self):
        """Say at once when the challenge cannot be completed in this browser any more."""
        self._idle()
        try:
            await in_db(two_step.pending_user, self._challenge(), client_of(self))
        except ChallengeExpired:
            self.expired = True
        else:
            self.expired = False

    @rx.event
    async def submit(self, form: dict[str, Any]):
        self._start()
        yield
        target = safe_next(self.router.url.query_parameters.get("next"))
        try:
            ticket = await in_db(two_step.complete_in_browser, self._challenge(), text(form, "code"), client_of(self))
        except ChallengeExpired as exc:
            self._fail(exc)
            self.expired = True
            return
        except AccountError as exc:
            self._fail(exc)
            return
        yield navigate(routes.current().start_session(ticket, target))
