"""The signed-in user of a connection, and running services off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import reflex as rx

from pwapp import routes
from pwapp.db import in_db
from pwapp.services import accounts
from pwapp.web.cookies import binding_cookie, read_cookie, session_cookie

T = TypeVar("T")


def navigate(url: str) -> rx.event.EventSpec:
    """A full page load of one of the server's HTTP routes (pwapp/pages/handoff.py), without eval.

    Query values are fully percent-encoded, so while the handoff page shows, the address bar
    never ends in `next`'s path (as if that page had already loaded).
    """
    parts = urlsplit(url)
    return rx.redirect(urlunsplit(parts._replace(query=urlencode(parse_qsl(parts.query)))))


def client_of(state: rx.State) -> accounts.Client:
    """Who is on this connection: the IP Reflex resolved (trusted proxies only), the browser and its
    binding (the socket's cookie holds its digest already: pwapp.web.middleware.credential_free_events)."""
    headers = state.router.headers
    return accounts.Client(
        ip=state.router.session.client_ip,
        user_agent=headers.user_agent,
        binding=read_cookie(headers.cookie, binding_cookie()) or "",
    )


class AuthState(rx.State):
    """The account behind this connection's HttpOnly session cookie.

    Protect a page of yours with `on_load=AuthState.require_login` (or a subclass's): anonymous
    visitors go to log in and come back; signed-in ones get `user_id` and `email` set.
    """

    user_id: int = 0
    email: str = ""
    # This browser's session was just replaced; its new cookie is on the way through the handoff.
    _session_replaced: bool = False

    def _session_hash(self) -> str | None:
        """The session cookie as this socket holds it: its token's SHA-256 (credential_free_events)."""
        return read_cookie(self.router.headers.cookie, session_cookie())

    async def _as_user(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(db, user, session, *args)` for the signed-in user, or raise NotAuthenticated."""
        return await in_db(accounts.as_session_owner, self._session_hash(), fn, *args)

    @rx.event
    async def require_login(self):
        """on_load of protected pages: anonymous visitors go to log in and come back."""
        info = await in_db(accounts.current_user_info, self._session_hash())
        replaced, self._session_replaced = self._session_replaced, False
        if info is None and replaced:
            return None  # a check queued behind the change (a reconnecting page): the handoff goes on
        if info is None:
            self.user_id, self.email = 0, ""
            here = routes.current()
            return rx.redirect(here.login_then(self.router.url.path or here.account), replace=True)
        self.user_id, self.email = info.id, info.email

    @rx.event
    async def route_home(self):
        """on_load of `/`: the account page when signed in, else log in."""
        found = await in_db(accounts.current_session, self._session_hash())
        return rx.redirect(routes.current().account if found else routes.current().login, replace=True)
