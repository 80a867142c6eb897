"""A developer's own page behind pwapp's log-in: `on_load=TheirState.require_login`."""

from __future__ import annotations

import pytest

from pwapp import AuthState, current_user_info
from pwapp.db import session
from pwapp.security.tokens import digest
from pwapp.services import accounts
from tests.test_states import app_db, connect, make_user, run, scripts, signed_in_cookie  # noqa: F401

pytestmark = pytest.mark.usefixtures("app_db")


class DashboardState(AuthState):
    """A page state of the developer's app, protected by pwapp."""

    widgets: int = 3


async def test_an_anonymous_visitor_is_sent_to_log_in_and_back():
    _, state = connect(DashboardState, path="/dashboard")
    events = await run(DashboardState.require_login, state)
    assert "/auth/login?next=/dashboard" in scripts(events)
    assert (state.user_id, state.email) == (0, "")


async def test_a_signed_in_visitor_gets_their_id_and_email():
    user = make_user("dev@example.org")
    _, state = connect(DashboardState, cookie=signed_in_cookie(user), path="/dashboard")
    events = await run(DashboardState.require_login, state)
    assert "/auth/login" not in scripts(events)
    assert (state.user_id, state.email) == (user.id, "dev@example.org")


async def test_a_signed_out_session_no_longer_opens_the_page():
    user = make_user("dev@example.org")
    cookie = signed_in_cookie(user)
    with session() as s:
        accounts.logout(s, digest(cookie.partition("=")[2]))
    _, state = connect(DashboardState, cookie=cookie, path="/dashboard")
    assert "/auth/login?next=/dashboard" in scripts(await run(DashboardState.require_login, state))
    assert state.user_id == 0


def test_the_service_says_who_is_signed_in_without_a_hash_or_token():
    user = make_user("dev@example.org")
    token = signed_in_cookie(user).partition("=")[2]
    with session() as s:
        info = current_user_info(s, digest(token))
        assert (info.id, info.email) == (user.id, "dev@example.org")
        assert vars(info).keys() == {"id", "email"}
        assert current_user_info(s, digest("not-a-token")) is None
