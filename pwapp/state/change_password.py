"""Change-password form: one call to services.passwords.change_password."""

from typing import Any

import reflex as rx

from pwapp import routes
from pwapp.services import passwords
from pwapp.services.errors import AccountError, NotAuthenticated
from pwapp.state.base import AuthState, client_of, navigate
from pwapp.state.form import FormMixin, text
from pwapp.state.strength import StrengthMixin


class ChangePasswordState(FormMixin, StrengthMixin, AuthState):
    """Form state of /account/change-password."""

    @rx.event
    async def load(self):
        """on_load: require a session; show "Password changed." after a successful change."""
        self._idle("Password changed." if self.router.url.query_parameters.get("changed") else "")
        self._clear_strength()
        return AuthState.require_login

    @rx.event
    async def submit(self, form: dict[str, Any]):
        self._start()
        yield
        sign_out_others = form.get("sign_out_others") in ("on", True, "true")
        client = client_of(self)

        def change(s, user, session):
            return passwords.change_password(
                s,
                user,
                session,
                text(form, "current_password"),
                text(form, "new_password"),
                text(form, "confirm_password"),
                client=client,
                sign_out_others=sign_out_others,
            )

        try:
            ticket = await self._as_user(change)
        except NotAuthenticated:
            yield rx.redirect(routes.current().login_then(routes.current().change_password))
            return
        except AccountError as exc:
            self._fail(exc)
            return
        self._session_replaced = True
        yield navigate(routes.current().start_session(ticket, routes.current().change_password + "?changed=1"))
