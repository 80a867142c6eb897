"""Throttles under simultaneous requests: a burst of wrong passwords or second-step codes, released
together, gets no more verified guesses than the limit, whether attempts are counted in this
process or in Redis."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlmodel import Session

from pwapp.security import throttle
from pwapp.security.moving_window import InProcessStorage
from pwapp.services import two_step
from pwapp.services.accounts import authenticate
from pwapp.services.errors import (
    ChallengeExpired,
    IncorrectCurrentPassword,
    InvalidCode,
    InvalidCredentials,
    InvalidInput,
    TooManyAttempts,
)
from pwapp.services.passwords import change_password
from tests.factories import ALICE, CLIENT, NEW, OLD, make_user, run_together, sign_in, whoami
from tests.services import service_url
from tests.test_two_step import NOW, challenge, code_at, enrol


@pytest.fixture(params=["memory", "redis"])
def storage(request, monkeypatch):
    """Point every throttle at a fresh in-process storage, or at Redis as a shared one."""
    if request.param == "memory":
        shared = MovingWindowRateLimiter(InProcessStorage())
    else:
        shared = MovingWindowRateLimiter(storage_from_string(service_url("PWAPP_TEST_REDIS_URL")))
    shared.storage.reset()
    monkeypatch.setattr(throttle, "limiter", lambda: shared)
    yield request.param
    shared.storage.reset()


def burst(attempt, size: int) -> Counter:
    """Run `attempt` in `size` threads released together; how many ended in each error type."""
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def one() -> None:
        try:
            attempt()
            outcome = "accepted"
        except (InvalidCredentials, IncorrectCurrentPassword, InvalidCode, TooManyAttempts) as exc:
            outcome = type(exc).__name__
        with lock:
            outcomes[outcome] += 1

    run_together(one, threads=size)
    return outcomes


def limit_of(rule: throttle.Throttle) -> int:
    return rule.item.amount


@pytest.fixture
def wrong_login(engine):
    """One wrong log-in attempt on Alice's account (made here)."""
    with Session(engine) as s:
        make_user(s)

    def attempt() -> None:
        with Session(engine) as s:
            authenticate(s, ALICE, "wrong-guess", CLIENT)

    return attempt


def test_a_burst_of_wrong_logins_gets_no_more_guesses_than_the_limit(engine, storage, wrong_login):
    limit = limit_of(throttle.LOGIN_PER_ACCOUNT)
    outcomes = burst(wrong_login, 3 * limit)
    assert outcomes == {"InvalidCredentials": limit, "TooManyAttempts": 2 * limit}
    with Session(engine) as s, pytest.raises(TooManyAttempts):
        authenticate(s, ALICE, OLD, CLIENT)


def test_a_burst_of_wrong_current_passwords_gets_no_more_guesses_than_the_limit(engine, storage):
    with Session(engine, expire_on_commit=False) as s:
        laptop = sign_in(s, make_user(s))
    limit = limit_of(throttle.CURRENT_PASSWORD_PER_USER)

    def wrong_current() -> None:
        with Session(engine) as s:
            me, session = whoami(s, laptop)
            try:
                change_password(s, me, session, "wrong-guess", NEW, NEW, client=CLIENT)
            except InvalidInput as exc:
                assert exc.errors == IncorrectCurrentPassword().errors
                raise IncorrectCurrentPassword() from None

    outcomes = burst(wrong_current, 3 * limit)
    assert outcomes == {"IncorrectCurrentPassword": limit, "TooManyAttempts": 2 * limit}
    with Session(engine) as s, pytest.raises(TooManyAttempts):
        me, session = whoami(s, laptop)
        change_password(s, me, session, OLD, NEW, NEW, client=CLIENT)


def test_the_right_password_as_the_last_allowed_attempt_logs_in_and_clears_the_count(engine, storage, wrong_login):
    limit = limit_of(throttle.LOGIN_PER_ACCOUNT)
    assert burst(wrong_login, limit - 1) == {"InvalidCredentials": limit - 1}
    with Session(engine) as s:
        assert authenticate(s, ALICE, OLD, CLIENT).email == ALICE
    # The count starts again: a whole limit of wrong guesses is verified before the pause.
    assert burst(wrong_login, limit + 1) == {"InvalidCredentials": limit, "TooManyAttempts": 1}


def test_a_burst_of_wrong_codes_on_the_code_page_gets_no_more_guesses_than_the_limit(engine, storage):
    """Per account: a burst of wrong second-step codes; per IP: across many accounts' challenges."""
    with Session(engine, expire_on_commit=False) as s:
        secret, _ = enrol(s, make_user(s))
        pending = challenge(s)
    limit = limit_of(throttle.TWO_STEP_PER_ACCOUNT)

    def wrong_code() -> None:
        with Session(engine) as s:
            two_step.complete_in_browser(s, pending, "abcdef", CLIENT, now=NOW)

    assert burst(wrong_code, 3 * limit) == {"InvalidCode": limit, "TooManyAttempts": 2 * limit}
    with Session(engine) as s, pytest.raises(TooManyAttempts):
        two_step.complete_in_browser(s, pending, code_at(secret, NOW), CLIENT, now=NOW)


def test_the_code_page_counts_every_attempt_per_ip(engine, storage, monkeypatch):
    monkeypatch.setattr(throttle, "TWO_STEP_PER_IP", throttle.Throttle("two-step-ip", "6/15 minutes"))
    limit = limit_of(throttle.TWO_STEP_PER_IP)

    def unknown_challenge() -> None:
        with Session(engine) as s:
            try:
                two_step.complete_in_browser(s, "made-up challenge", "123456", CLIENT)
            except ChallengeExpired:
                raise InvalidCode() from None

    assert burst(unknown_challenge, 3 * limit) == {"InvalidCode": limit, "TooManyAttempts": 2 * limit}
