"""The account page: who is signed in, their sessions, log out."""

import reflex as rx

from pwapp import routes
from pwapp.db import in_db
from pwapp.services import accounts
from pwapp.services.errors import AccountError
from pwapp.state.base import AuthState, navigate


def _describe(record, current_id: int) -> dict[str, str]:
    return {
        "id": str(record.id),
        "browser": accounts.browser_name(record.user_agent),
        "ip": record.ip or "unknown",
        "last_seen": record.last_seen_at.strftime("%Y-%m-%d %H:%M UTC"),
        "created": record.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        "current": "yes" if record.id == current_id else "",
        "two_step": "yes" if record.two_step else "",
    }


class AccountState(AuthState):
    """Session list and log-out of /account."""

    sessions: list[dict[str, str]] = []
    error: str = ""

    async def _reload(self):
        def listing(s, user, current):
            return user.email, [_describe(r, current.id) for r in accounts.active_sessions(s, user)]

        self.email, self.sessions = await self._as_user(listing)

    @rx.event
    async def load(self):
        """on_load: list the sessions, or send an anonymous visitor to log in."""
        self.error = ""
        try:
            await self._reload()
        except AccountError:
            return rx.redirect(routes.current().login_then(routes.current().account), replace=True)

    @rx.event
    async def revoke(self, session_id: str):
        """Sign out one of this user's other sessions."""
        try:
            await self._as_user(lambda s, user, _cur: accounts.revoke_session(s, user, int(session_id)))
            await self._reload()
        except (AccountError, ValueError) as exc:
            self.error = str(exc) if isinstance(exc, AccountError) else "That session no longer exists."

    @rx.event
    async def logout(self):
        """Revoke this session, then clear its cookie over HTTP."""
        await in_db(accounts.logout, self._session_hash())
        self.email, self.sessions = "", []
        return navigate(routes.current().end_session(routes.current().login + "?notice=signed-out"))
