"""/account/two-step: turn two-step sign-in on or off, and make new recovery codes.

No secret passes through here: the services keep a new secret and new recovery codes sealed in
the database, and the server's own pages (pwapp/web/two_step_pages.py) show them.
"""

from typing import Any

import reflex as rx

from pwapp import routes
from pwapp.services import two_step
from pwapp.services.errors import AccountError, NotAuthenticated
from pwapp.state.base import AuthState, client_of, navigate
from pwapp.state.form import FormMixin, text


class TwoStepSettingsState(FormMixin, AuthState):
    """Form state of /account/two-step."""

    enabled: bool = False
    codes_left: int = 0

    def _fail_in(self, form: str, exc: AccountError) -> None:
        """Errors of one of the page's forms, keyed by that form's field names."""
        self._fail(exc)
        self.errors = {(name if name == "form" else f"{form}_{name}"): messages for name, messages in exc.errors.items()}

    async def _run(self, form: str, fn, *args):
        """`fn(db, user, session, *args)` as the signed-in user: True when done, else None with the
        form's errors, or a redirect to log in."""
        try:
            await self._as_user(fn, *args)
        except NotAuthenticated:
            return rx.redirect(routes.current().login_then(routes.current().account_two_step))
        except AccountError as exc:
            self._fail_in(form, exc)
            return None
        return True

    async def _refresh(self) -> None:
        found = await self._as_user(lambda s, user, _session: (user.email, two_step.status(s, user)))
        self.email, (self.enabled, self.codes_left) = found[0], (found[1].enabled, found[1].codes_left)

    @rx.event
    async def load(self):
        """on_load: the account's two-step status; anonymous visitors go to log in."""
        self._idle()
        try:
            await self._refresh()
        except NotAuthenticated:
            return rx.redirect(routes.current().login_then(routes.current().account_two_step), replace=True)

    @rx.event
    async def start(self, form: dict[str, Any]):
        """After the password: on to the server's page showing the new secret."""
        self._start()
        yield
        password = text(form, "setup_current_password")
        result = await self._run("setup", lambda s, user, _session: two_step.start_enrolment(s, user, password))
        if result is True:
            self._idle()
            yield navigate(routes.current().two_step_setup)
        elif result is not None:
            yield result

    @rx.event
    async def regenerate(self, form: dict[str, Any]):
        """New recovery codes, with the password and a current code; the server's page shows them."""
        self._start()
        yield
        password, code, client = text(form, "regen_current_password"), text(form, "regen_code"), client_of(self)

        def replace(s, user, session):
            two_step.regenerate_codes(s, user, password, code, client, current_session_id=session.id)

        result = await self._run("regen", replace)
        if result is True:
            self._idle()
            yield navigate(routes.current().recovery_codes)
        elif result is not None:
            yield result

    @rx.event
    async def turn_off(self, form: dict[str, Any]):
        """Turn two-step off, with the password and a current code."""
        self._start()
        yield
        password, code, client = text(form, "off_current_password"), text(form, "off_code"), client_of(self)
        result = await self._run("off", lambda s, user, _session: two_step.disable(s, user, password, code, client))
        if result is True:
            self._idle("Two-step sign-in is off.")
            self.enabled, self.codes_left = False, 0
        elif result is not None:
            yield result
