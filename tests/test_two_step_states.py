"""The two-step pages' states driven directly (helpers as in test_states.py): the log-in of a
two-step account goes to the code page with no ticket, the code page completes it, and the
settings page keeps the secret in state only until it is confirmed."""

# ruff: noqa: F811  (test_states.py's autouse `app_db` fixture is imported, then applies here)

from __future__ import annotations

import pyotp
from sqlmodel import select

from pwapp import db
from pwapp.models import TwoStep, UserSession
from pwapp.services import two_step
from pwapp.services.errors import InvalidCode
from pwapp.state.login import LoginState
from pwapp.state.two_step import TwoStepState
from pwapp.state.two_step_settings import TwoStepSettingsState as Settings
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


async def enrol_through_the_page(cookie: str) -> tuple[str, list[str]]:
    """Set up and confirm two-step on /account/two-step; (secret, recovery codes)."""
    root, state = connect(Settings, cookie=cookie, path="/account/two-step")
    await run(Settings.load, state)
    await run(Settings.start, state, {"setup_current_password": PASSWORD})
    secret = state.setup_key
    await run(Settings.confirm, state, {"confirm_code": pyotp.TOTP(secret).now()})
    assert state.errors == {} and state.stage == "codes"
    return secret, list(state.recovery_codes)


def session_rows() -> int:
    with db.session() as s:
        return len(s.exec(select(UserSession)).all())


async def test_setting_up_shows_the_secret_only_until_it_is_confirmed():
    user = make_user()
    cookie = signed_in_cookie(user)
    root, state = connect(Settings, cookie=cookie, path="/account/two-step")
    await run(Settings.load, state)
    assert not state.enabled and state.stage == ""

    await run(Settings.start, state, {"setup_current_password": "not my password"})
    assert state.errors == {"setup_current_password": ["Current password is incorrect."]}
    await run(Settings.start, state, {"setup_current_password": PASSWORD})
    secret = state.setup_key
    assert state.stage == "confirm" and len(secret) == 32 and state.qr_svg.startswith("<svg")
    with db.session() as s:
        assert secret not in s.exec(select(TwoStep.secret_sealed)).one()  # sealed at rest

    await run(Settings.confirm, state, {"confirm_code": "abcdef"})
    assert state.errors == {"confirm_code": [InvalidCode.message]} and state.setup_key == secret
    await run(Settings.confirm, state, {"confirm_code": pyotp.TOTP(secret).now()})
    assert state.enabled and state.stage == "codes" and len(state.recovery_codes) == 10
    assert state.setup_key == "" and state.qr_svg == ""
    assert_never_kept(root, secret, PASSWORD)

    await run(Settings.load, state)  # the codes are shown once
    assert state.recovery_codes == [] and state.enabled and state.codes_left == 10


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
    new_codes = list(state.recovery_codes)
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    await run(Settings.turn_off, state, {"off_current_password": PASSWORD, "off_code": codes[1]})
    assert state.errors == {"off_code": [InvalidCode.message]}  # the old codes died
    await run(Settings.turn_off, state, {"off_current_password": PASSWORD, "off_code": new_codes[0]})
    assert not state.enabled and state.notice == "Two-step sign-in is off."
    with db.session() as s:
        assert two_step.log_in(s, user.email, PASSWORD, two_step.Client(binding="b" * 64)).ticket


async def test_the_settings_page_sends_anonymous_visitors_to_log_in():
    _, state = connect(Settings, path="/account/two-step")
    assert "/auth/login?next=/account/two-step" in scripts(await run(Settings.load, state))
