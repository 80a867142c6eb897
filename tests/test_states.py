"""Reflex states driven directly (no browser): they call the services, map errors to
fields, and never keep a password (or expose a token) in the state."""

from __future__ import annotations

import asyncio
import inspect
import pickle
from urllib.parse import unquote

import pytest
from passlib.hash import argon2
from reflex.state import State
from reflex_base.constants import RouteVar
from reflex_base.utils.format import json_dumps
from sqlmodel import SQLModel, select

import pwapp.pwapp  # noqa: F401  (builds the app, registering every state)
from pwapp import db
from pwapp.models import SignUpRequest, User
from pwapp.routes import current as current_routes
from pwapp.security.tokens import digest
from pwapp.services import accounts, signup
from pwapp.services.errors import BrowserNotBound, EmailNotVerified
from pwapp.services.passwords import RESET_REQUESTED as SENT
from pwapp.services.passwords import request_password_reset
from pwapp.state.account import AccountState
from pwapp.state.base import AuthState
from pwapp.state.change_password import ChangePasswordState
from pwapp.state.forgot_password import ForgotPasswordState
from pwapp.state.login import LoginState
from pwapp.state.register import RegisterState
from pwapp.state.reset_password import ResetPasswordState
from pwapp.web.cookies import binding_cookie, reset_cookie, session_cookie
from pwapp.web.middleware import credential_free_headers
from rxconfig import config
from tests.factories import RESET_LINK, mails

PASSWORD = "quiet meadow lantern 7741"
BINDING = f"{binding_cookie()}={'b' * 43}"  # the browser-binding cookie every page load hands out
NEW_PASSWORD = "violet harbour engine 9052"


@pytest.fixture(autouse=True)
def app_db():
    """The app's own database (PWAPP_DATABASE_URL from conftest), emptied per test."""
    SQLModel.metadata.drop_all(db.engine())
    SQLModel.metadata.create_all(db.engine())
    yield


def connect(state_cls, *, cookie: str = "", path: str = "/", query: str = "", bound: bool = True):
    """A fresh state tree for one browser connection (with its binding cookie unless not `bound`);
    returns (root, substate)."""
    root = State(_reflex_internal_init=True)
    cookie = "; ".join(c for c in (cookie, BINDING if bound else "") if c)
    [(_, seen)] = credential_free_headers([(b"cookie", cookie.encode())])  # what the socket hands Reflex
    router = {
        RouteVar.HEADERS: {"cookie": seen.decode(), "user-agent": "pytest-browser"},
        RouteVar.CLIENT_IP: "198.51.100.7",
        RouteVar.CLIENT_TOKEN: "client-token",
        RouteVar.SESSION_ID: "sid",
        RouteVar.PATH: path,
        RouteVar.ORIGIN: path + (f"?{query}" if query else ""),
        RouteVar.QUERY: dict(p.split("=", 1) for p in query.split("&") if p),
    }
    root.router_data = root._update_router_vars(router, {})
    return root, root.get_substate(state_cls.get_full_name().split("."))


async def run(handler, state, *args) -> list:
    """Run an event handler like Reflex does; returns what it yielded/returned."""
    result = handler.fn(state, *args)
    if inspect.isasyncgen(result):
        return [event async for event in result]
    if inspect.isawaitable(result):
        result = await result
    return [result] if result is not None else []


def scripts(events) -> str:
    """The events as text, URLs decoded (navigate() percent-encodes its query)."""
    return unquote(" ".join(str(e) for e in events))


def assert_never_kept(root, *secrets: str) -> None:
    """No secret in what the browser receives, nor in any pickled state (router headers aside)."""
    sent = json_dumps(root.dict())  # Reflex's own serializers: what goes over the websocket
    for secret in secrets:
        assert secret not in sent
    stack = [root]
    while stack:
        state = stack.pop()
        stack.extend(state.substates.values())
        kept = {k: v for k, v in state.__getstate__().items() if not k.startswith("rx_router") and k != "router_data"}
        blob = pickle.dumps(kept)
        for secret in secrets:
            assert secret.encode() not in blob, f"{secret!r} kept in {type(state).__name__}"


def make_user(email="user@example.org", password=PASSWORD, password_hash=None) -> User:
    with db.session() as s:
        return accounts.register(s, email, password) if password_hash is None else _raw_user(s, email, password_hash)


def _raw_user(s, email, password_hash):
    user = User(email=email, password_hash=password_hash, email_verified_at=db.utcnow())
    s.add(user)
    s.flush()
    return user


def signed_in_cookie(user: User) -> str:
    with db.session() as s:
        _, token = accounts.create_session(s, user, accounts.Client("198.51.100.7", "other"))
    return f"{session_cookie()}={token}"


def test_state_manager_keeps_connection_headers_off_disk():
    assert str(config.state_manager_mode.value if hasattr(config.state_manager_mode, "value") else config.state_manager_mode) == "memory"


async def test_register_answers_alike_for_a_new_and_a_taken_address_and_keeps_no_password():
    make_user("taken@example.org")
    answers = []
    for email in ("New@Example.org", "taken@example.org"):
        root, state = connect(RegisterState, path="/auth/register")
        events = await run(RegisterState.submit, state, {"email": email, "new_password": PASSWORD,
                                                          "confirm_password": PASSWORD})
        answers.append((events, state.errors, state.notice, state.sent))
        assert_never_kept(root, PASSWORD)
    assert answers[0] == answers[1] == ([None], {}, signup.SIGN_UP_REQUESTED, True)  # no navigation: the same page
    with db.session() as s:
        assert accounts.find_user(s, "new@example.org") is None  # the worker makes it; the link confirms it
        assert [r.email for r in s.exec(select(SignUpRequest)).all()] == ["new@example.org", "taken@example.org"]


async def test_an_unconfirmed_account_is_offered_a_new_link_only_for_the_right_password():
    with db.session() as s:
        signup.request_sign_up(s, "new@example.org", PASSWORD, PASSWORD, accounts.Client())
    mails(db.engine())  # the worker makes the unconfirmed account
    root, state = connect(LoginState, path="/auth/login")
    await run(LoginState.submit, state, {"email": "new@example.org", "password": NEW_PASSWORD})
    assert (state.errors, state.unverified) == ({"form": ["Email or password is incorrect."]}, False)
    await run(LoginState.submit, state, {"email": "new@example.org", "password": PASSWORD})
    assert (state.errors, state.unverified) == ({"form": [EmailNotVerified.message]}, True)
    await run(LoginState.resend, state)
    assert (state.errors, state.notice, state.unverified) == ({}, signup.LINK_REQUESTED, False)
    assert [m.template for m in mails(db.engine(), recipient="new@example.org")] == ["verify_email", "verify_email"]
    assert_never_kept(root, PASSWORD, NEW_PASSWORD)


async def test_register_without_verification_signs_in_and_keeps_no_password(without_verification):
    root, state = connect(RegisterState, path="/auth/register")
    events = await run(RegisterState.submit, state,
                       {"email": "New@Example.org", "new_password": PASSWORD, "confirm_password": PASSWORD})
    assert "/auth/session?ticket=" in scripts(events)
    assert state.errors == {}
    with db.session() as s:
        assert accounts.find_user(s, "new@example.org") is not None
    assert_never_kept(root, PASSWORD)


async def test_register_shows_every_problem_next_to_its_field():
    root, state = connect(RegisterState, path="/auth/register")
    await run(RegisterState.submit, state, {"email": "not-an-email", "new_password": "short", "confirm_password": "other"})
    assert set(state.errors) == {"email", "new_password", "confirm_password"}
    assert_never_kept(root, "short")


async def test_login_wrong_and_right_password():
    make_user()
    root, state = connect(LoginState, path="/auth/login", query="next=/account/change-password")
    await run(LoginState.submit, state, {"email": "user@example.org", "password": "wrong password here"})
    assert state.errors == {"form": ["Email or password is incorrect."]}
    events = await run(LoginState.submit, state, {"email": "USER@example.org", "password": PASSWORD})
    assert "next=/account/change-password" in scripts(events)
    assert_never_kept(root, PASSWORD, "wrong password here")


async def test_login_ignores_a_foreign_next():
    make_user()
    _, state = connect(LoginState, path="/auth/login", query="next=//evil.example/")
    events = await run(LoginState.submit, state, {"email": "user@example.org", "password": PASSWORD})
    assert "evil.example" not in scripts(events) and "next=/account" in scripts(events)


async def test_a_browser_without_the_binding_cookie_is_told_to_reload(without_verification):
    """No ticket without a binding: login, register and change password say so on the form."""
    user = make_user()
    told = {"form": [BrowserNotBound.message]}
    _, login = connect(LoginState, path="/auth/login", bound=False)
    assert await run(LoginState.submit, login, {"email": user.email, "password": PASSWORD}) == [None]
    assert login.errors == told
    _, register = connect(RegisterState, path="/auth/register", bound=False)
    await run(RegisterState.submit, register,
              {"email": "new@example.org", "new_password": PASSWORD, "confirm_password": PASSWORD})
    assert register.errors == told
    _, change = connect(ChangePasswordState, cookie=signed_in_cookie(user), path=current_routes().change_password, bound=False)
    await run(ChangePasswordState.submit, change,
              {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert change.errors == told
    with db.session() as s:
        assert accounts.find_user(s, "new@example.org") is None  # no account that could not sign in
        accounts.authenticate(s, user.email, PASSWORD, accounts.Client())  # the password is unchanged


async def test_missing_and_odd_fields_get_messages_not_crashes():
    make_user()
    _, state = connect(LoginState, path="/auth/login")
    await run(LoginState.submit, state, {"email": ["list"], "password": None})
    assert state.errors == {"form": ["Email or password is incorrect."]}
    await run(LoginState.submit, state, {"email": "user\x00@example.org", "password": "\ud800" * 3})
    assert state.errors == {"form": ["Email or password is incorrect."]}
    _, reg = connect(RegisterState, path="/auth/register")
    await run(RegisterState.submit, reg, {"email": "\ud800@example.org", "new_password": "a\x00" * 8,
                                          "confirm_password": "a\x00" * 8})
    assert set(reg.errors) == {"email", "new_password"}


async def test_change_password_errors_then_success():
    user = make_user()
    cookie = signed_in_cookie(user)
    root, state = connect(ChangePasswordState, cookie=cookie, path="/account/change-password")
    await run(ChangePasswordState.submit, state,
              {"current_password": "not my password", "new_password": "password1234", "confirm_password": "nope"})
    assert state.errors["current_password"] == ["Current password is incorrect."]
    assert "new_password" in state.errors and "confirm_password" in state.errors
    events = await run(ChangePasswordState.submit, state, {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD,
        "sign_out_others": "on"})
    assert "/auth/session?ticket=" in scripts(events)
    with db.session() as s:
        assert accounts.current_session(s, digest(cookie.split("=", 1)[1])) is None
        assert len(mails(s, template="password_changed")) == 1
    assert_never_kept(root, PASSWORD, NEW_PASSWORD, "not my password")


async def test_a_sign_in_check_queued_behind_a_change_lets_its_handoff_go_on_once():
    """A page reconnecting to another replica queues its sign-in check behind a change sent
    meanwhile: that check sees the replaced cookie and must not send the browser to log in."""
    user = make_user()
    root, state = connect(ChangePasswordState, cookie=signed_in_cookie(user), path="/account/change-password")
    events = await run(ChangePasswordState.submit, state, {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert "/auth/session?ticket=" in scripts(events)
    auth = root.get_substate(AuthState.get_full_name().split("."))
    assert await run(AuthState.require_login, auth) == []  # the handoff's navigation stands
    events = await run(AuthState.require_login, auth)  # only once: the old cookie is signed out
    assert "/auth/login?next=/account/change-password" in scripts(events)


async def test_change_password_without_session_goes_to_login():
    _, state = connect(ChangePasswordState, path="/account/change-password")
    events = await run(ChangePasswordState.submit, state,
                       {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert "/auth/login?next=/account/change-password" in scripts(events)


async def test_strength_meter_scores_without_keeping_the_password():
    user = make_user()
    root, state = connect(ChangePasswordState, cookie=signed_in_cookie(user), path="/account/change-password")
    await run(ChangePasswordState.measure, state, "password1")
    assert state.strength_score < 3 and state.strength_tips
    await run(ChangePasswordState.measure, state, NEW_PASSWORD)
    assert state.strength_score >= 3
    assert_never_kept(root, "password1", NEW_PASSWORD)


async def test_forgot_password_says_the_same_for_every_address():
    make_user()
    answers = []
    for email in ("user@example.org", "nobody@example.org"):
        _, state = connect(ForgotPasswordState, path="/auth/forgot-password")
        await run(ForgotPasswordState.submit, state, {"email": email})
        answers.append((state.notice, state.errors))
    assert answers[0] == answers[1] == (SENT, {})


async def test_reset_page_checks_the_cookie_link_and_resets():
    user = make_user()
    with db.session() as s:
        request_password_reset(s, user.email, accounts.Client("198.51.100.7", "x"))
    with db.session() as s:
        (mail,) = mails(s, template="password_reset")
    token = RESET_LINK.search(mail.text()).group(1)
    cookie = f"{reset_cookie()}={token}"
    root, state = connect(ResetPasswordState, cookie=cookie, path="/auth/reset-password")
    await run(ResetPasswordState.load, state)
    assert state.link_ok and state.email == user.email
    await run(ResetPasswordState.submit, state, {"new_password": "password1234", "confirm_password": "password1234"})
    assert "new_password" in state.errors and state.link_ok
    events = await run(ResetPasswordState.submit, state, {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert "notice=reset" in scripts(events)
    assert_never_kept(root, NEW_PASSWORD, token)
    _, again = connect(ResetPasswordState, cookie=cookie, path="/auth/reset-password")
    await run(ResetPasswordState.load, again)
    assert not again.link_ok and again.link_error.startswith("This link was already used")


async def test_account_page_lists_and_revokes_sessions():
    user = make_user()
    cookie = signed_in_cookie(user)
    other = signed_in_cookie(user)
    _, state = connect(AccountState, cookie=cookie, path="/account")
    await run(AccountState.load, state)
    assert len(state.sessions) == 2
    target = next(s for s in state.sessions if s["current"] != "yes")
    await run(AccountState.revoke, state, target["id"])
    assert len(state.sessions) == 1
    with db.session() as s:
        assert accounts.current_session(s, digest(other.split("=", 1)[1])) is None


async def test_a_slow_hash_does_not_hold_up_another_users_page():
    """User A's login hashes in a worker thread; user B's page answers meanwhile."""
    slow = argon2.using(type="ID", memory_cost=19456, time_cost=60, parallelism=1).hash(PASSWORD)
    make_user("slow@example.org", password_hash=slow)
    _, a = connect(LoginState, path="/auth/login")
    _, b = connect(AccountState, path="/account")
    submit = LoginState.submit.fn(a, {"email": "slow@example.org", "password": PASSWORD})
    await submit.__anext__()  # A's form is now busy; next step verifies the password
    a_done = asyncio.ensure_future(submit.__anext__())
    await asyncio.sleep(0)  # let A's task reach its worker thread
    b_events = await run(AccountState.load, b)  # B, anonymous, is sent to log in
    assert "/auth/login" in scripts(b_events)
    assert not a_done.done(), "B's page waited for A's hash"
    assert "/auth/session?ticket=" in str(await a_done)


async def test_pages_show_a_password_rules_message_and_a_failed_hooks_notice(without_verification):
    from pwapp import hooks
    from pwapp.services.errors import HookFailed

    def broken(db, event):
        raise RuntimeError("the integrator's hook broke")

    try:
        hooks.add_password_rule(lambda password, email: ["Say please."] if "please" not in password else [])
        _, state = connect(RegisterState, path="/auth/register")
        form = {"email": "new@example.org", "new_password": PASSWORD, "confirm_password": PASSWORD}
        await run(RegisterState.submit, state, form)
        assert state.errors == {"new_password": ["Say please."]}
        await run(RegisterState.measure, state, PASSWORD)
        assert state.strength_tips == ["Say please."]

        hooks.on(hooks.Registered, broken, in_transaction=True)
        polite = PASSWORD + " please"
        await run(RegisterState.submit, state, form | {"new_password": polite, "confirm_password": polite})
        assert state.errors == {"form": [HookFailed.message]}
        with db.session() as s:
            assert accounts.find_user(s, "new@example.org") is None
    finally:
        hooks.reset()
