"""/account/two-step: turn two-step sign-in on or off, and make new recovery codes.

The secret is shown (QR code and text) only between "Set up" and the first code; it is kept
sealed in the database, and these vars are emptied once it is confirmed or the page reloads.
Recovery codes are shown once, after which the page forgets them.
"""

from typing import Any

import reflex as rx

from pwapp import routes
from pwapp.services import two_step
from pwapp.services.errors import AccountError, NotAuthenticated
from pwapp.state.base import AuthState, client_of
from pwapp.state.form import FormMixin, text


class TwoStepSettingsState(FormMixin, AuthState):
    """Form state of /account/two-step."""

    enabled: bool = False
    codes_left: int = 0
    stage: str = ""  # "", "confirm" (secret shown, waiting for a first code), "codes" (codes shown once)
    setup_key: str = ""
    qr_svg: str = ""
    recovery_codes: list[str] = []

    def _forget_secrets(self) -> None:
        self.stage, self.setup_key, self.qr_svg, self.recovery_codes = "", "", "", []

    def _fail_in(self, form: str, exc: AccountError) -> None:
        """Errors of one of the page's forms, keyed by that form's field names."""
        self._fail(exc)
        self.errors = {(name if name == "form" else f"{form}_{name}"): messages for name, messages in exc.errors.items()}

    async def _run(self, form: str, fn, *args):
        """`fn(db, user, session, *args)` as the signed-in user; None (with the form's errors, or a
        redirect to log in) when it fails."""
        try:
            return await self._as_user(fn, *args)
        except NotAuthenticated:
            return rx.redirect(routes.current().login_then(routes.current().account_two_step))
        except AccountError as exc:
            self._fail_in(form, exc)
            return None

    async def _refresh(self) -> None:
        found = await self._as_user(lambda s, user, _session: (user.email, two_step.status(s, user)))
        self.email, (self.enabled, self.codes_left) = found[0], (found[1].enabled, found[1].codes_left)

    @rx.event
    async def load(self):
        """on_load: the account's two-step status; anonymous visitors go to log in."""
        self._idle()
        self._forget_secrets()
        try:
            await self._refresh()
        except NotAuthenticated:
            return rx.redirect(routes.current().login_then(routes.current().account_two_step), replace=True)

    @rx.event
    async def start(self, form: dict[str, Any]):
        """After the password: show the new secret to add to the app."""
        self._start()
        yield
        password = text(form, "setup_current_password")
        result = await self._run("setup", lambda s, user, _session: two_step.start_enrolment(s, user, password))
        if isinstance(result, two_step.Enrolment):
            self._idle()
            self.stage, self.setup_key, self.qr_svg = "confirm", result.secret, result.qr_svg
        elif result is not None:
            yield result

    @rx.event
    async def confirm(self, form: dict[str, Any]):
        """A first code from the app turns two-step on; the recovery codes are shown once."""
        self._start()
        yield
        code, client = text(form, "confirm_code"), client_of(self)

        def turn_on(s, user, session):
            return two_step.confirm_enrolment(s, user, code, client, current_session_id=session.id)

        result = await self._run("confirm", turn_on)
        if isinstance(result, list):
            self._idle("Two-step sign-in is on. Other devices were signed out.")
            self._forget_secrets()
            self.stage, self.recovery_codes, self.enabled, self.codes_left = "codes", result, True, len(result)
        elif result is not None:
            yield result

    @rx.event
    async def regenerate(self, form: dict[str, Any]):
        """New recovery codes, with the password and a current code."""
        self._start()
        yield
        password, code, client = text(form, "regen_current_password"), text(form, "regen_code"), client_of(self)
        result = await self._run(
            "regen", lambda s, user, _session: two_step.regenerate_codes(s, user, password, code, client)
        )
        if isinstance(result, list):
            self._idle("New recovery codes made; the old ones no longer work.")
            self.stage, self.recovery_codes, self.codes_left = "codes", result, len(result)
        elif result is not None:
            yield result

    @rx.event
    async def turn_off(self, form: dict[str, Any]):
        """Turn two-step off, with the password and a current code."""
        self._start()
        yield
        password, code, client = text(form, "off_current_password"), text(form, "off_code"), client_of(self)
        result = await self._run("off", lambda s, user, _session: two_step.disable(s, user, password, code, client) or True)
        if result is True:
            self._idle("Two-step sign-in is off.")
            self._forget_secrets()
            self.enabled, self.codes_left = False, 0
        elif result is not None:
            yield result
