"""The two-step pages' states driven directly (helpers as in test_states.py): the log-in of a
two-step account goes to the code page with no ticket, the code page completes it, and the
settings page hands every secret (the new key, recovery codes) to the server's own pages: no
state var, sent or pickled, ever holds one."""

# ruff: noqa: F811  (test_states.py's autouse `app_db` fixture is imported, then applies here)

from __future__ import annotations

import time

import pyotp
from sqlmodel import select

from pwapp import db
from pwapp.models import TwoStep, UserSession
from pwapp.security.tokens import digest
from pwapp.services import accounts, two_step
from pwapp.services.errors import InvalidCode
from pwapp.state.login import LoginState
from pwapp.state.two_step import TwoStepState
from pwapp.state.two_step_settings import TwoStepSettingsState as Settings
from tests.factories import CLIENT
from tests.test_states import (  # noqa: F401
    PASSWORD,
    app_db,
    assert_never_kept,
    connect,
    make_user,
    run,
    scripts,
    signed_in_cookie,
)


def signed_in_as(s, cookie: str):
    """(user, session) of a session cookie."""
    return accounts.current_session(s, digest(cookie.split("=", 1)[1]))


def confirm_on_the_server_page(cookie: str) -> tuple[str, list[str]]:
    """What the set-up page and its form do: the pending secret, then its first code; (secret,
    the recovery codes the codes page would show)."""
    with db.session() as s:
        user, session = signed_in_as(s, cookie)
        secret = two_step.pending_enrolment(s, user).secret
        two_step.confirm_enrolment(s, user, pyotp.TOTP(secret).now(), CLIENT, current_session_id=session.id)
    with db.session() as s:
        return secret, two_step.take_recovery_codes(s, signed_in_as(s, cookie)[1])


async def enrol_through_the_page(cookie: str) -> tuple[str, list[str]]:
    """Set up two-step on /account/two-step and confirm it on the server's page; (secret, codes)."""
    root, state = connect(Settings, cookie=cookie, path="/account/two-step")
    await run(Settings.load, state)
    assert "/account/two-step/setup" in scripts(await run(Settings.start, state, {"setup_current_password": PASSWORD}))
    return confirm_on_the_server_page(cookie)


def session_rows() -> int:
    with db.session() as s:
        return len(s.exec(select(UserSession)).all())


async def test_setting_up_and_new_codes_leave_every_secret_to_the_server_pages():
    user = make_user()
    cookie = signed_in_cookie(user)
    root, state = connect(Settings, cookie=cookie, path="/account/two-step")
    await run(Settings.load, state)
    assert not state.enabled

    await run(Settings.start, state, {"setup_current_password": "not my password"})
    assert state.errors == {"setup_current_password": ["Current password is incorrect."]}
    events = scripts(await run(Settings.start, state, {"setup_current_password": PASSWORD}))
    assert "/account/two-step/setup" in events and state.errors == {}
    with db.session() as s:
        secret = two_step.pending_enrolment(s, signed_in_as(s, cookie)[0]).secret
        assert secret not in s.exec(select(TwoStep.secret_sealed)).one()  # sealed at rest
    assert secret not in events
    assert_never_kept(root, secret, PASSWORD)

    _, codes = confirm_on_the_server_page(cookie)
    await run(Settings.load, state)
    assert state.enabled and state.codes_left == 10
    code = pyotp.TOTP(secret).at(time.time() + 30)  # the next step's (the current one confirmed it)
    events = scripts(await run(Settings.regenerate, state, {"regen_current_password": PASSWORD, "regen_code": code}))
    assert "/account/two-step/recovery-codes" in events and state.errors == {}
    with db.session() as s:
        new_codes = two_step.take_recovery_codes(s, signed_in_as(s, cookie)[1])
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    assert not any(c in events for c in new_codes)
    assert_never_kept(root, secret, PASSWORD, code, *codes, *new_codes)


async def test_a_two_step_log_in_goes_to_the_code_page_and_a_code_signs_in():
    user = make_user()
    secret, codes = await enrol_through_the_page(signed_in_cookie(user))
    before = session_rows()
    root, login = connect(LoginState, path="/auth/login", query="next=/account/two-step")
    events = scripts(await run(LoginState.submit, login, {"email": user.email, "password": PASSWORD}))
    assert "/auth/two-step?challenge=" in events and "ticket" not in events
    assert "next=/account/two-step" in events
    assert session_rows() == before  # the password alone made no session
    challenge = events.split("challenge=", 1)[1].split("&", 1)[0]

    _, elsewhere = connect(TwoStepState, path="/auth/two-step", query=f"challenge={challenge}", bound=False)
    await run(TwoStepState.load, elsewhere)
    assert elsewhere.expired  # another browser (no binding cookie of the one that asked)

    query = f"challenge={challenge}&next=/account/two-step"
    root, page = connect(TwoStepState, path="/auth/two-step", query=query)
    await run(TwoStepState.load, page)
    assert not page.expired
    await run(TwoStepState.submit, page, {"code": "abcdef"})
    assert page.errors == {"code": [InvalidCode.message]}
    events = scripts(await run(TwoStepState.submit, page, {"code": codes[0]}))
    assert "/auth/session?ticket=" in events and "next=/account/two-step" in events
    assert_never_kept(root, PASSWORD)
    assert challenge not in str(page.__getstate__())  # only in the page's own address (router data)

    await run(TwoStepState.submit, page, {"code": codes[1]})
    assert page.expired and "challenge" in page.errors  # completed once


async def test_turning_off_and_new_codes_take_the_password_and_a_code():
    user = make_user()
    cookie = signed_in_cookie(user)
    _, codes = await enrol_through_the_page(cookie)
    root, state = connect(Settings, cookie=cookie, path="/account/two-step")
    await run(Settings.load, state)
    await run(Settings.regenerate, state, {"regen_current_password": "wrong one", "regen_code": codes[0]})
    assert state.errors == {"regen_current_password": ["Current password is incorrect."]}
    await run(Settings.regenerate, state, {"regen_current_password": PASSWORD, "regen_code": codes[0]})
    with db.session() as s:
        new_codes = two_step.take_recovery_codes(s, signed_in_as(s, cookie)[1])
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    await run(Settings.turn_off, state, {"off_current_password": PASSWORD, "off_code": codes[1]})
    assert state.errors == {"off_code": [InvalidCode.message]}  # the old codes died
    await run(Settings.turn_off, state, {"off_current_password": PASSWORD, "off_code": new_codes[0]})
    assert not state.enabled and state.notice == "Two-step sign-in is off."
    assert_never_kept(root, PASSWORD, *codes, *new_codes)
    with db.session() as s:
        assert two_step.log_in(s, user.email, PASSWORD, two_step.Client(binding="b" * 64)).ticket


async def test_the_settings_page_sends_anonymous_visitors_to_log_in():
    _, state = connect(Settings, path="/account/two-step")
    assert "/auth/login?next=/account/two-step" in scripts(await run(Settings.load, state))
