"""Two-step sign-in: enrolment, codes (window, replay, recovery), the challenge, and that no
reset, password change or password alone gets past it. The clock is injected (`now=`), so codes
are computed for known moments."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime, timedelta, timezone

import pyotp
import pytest
from sqlalchemy import select, text
from sqlmodel import Session

from pwapp import settings as pwsettings
from pwapp.models import RecoveryCode, RecoveryCodesToShow, SignInChallenge, TwoStep, UserSession
from pwapp.security import throttle, totp
from pwapp.security.tokens import digest
from pwapp.security.totp import normalize_recovery
from pwapp.services import two_step
from pwapp.services.accounts import authenticate, create_session, create_ticket, redeem_ticket
from pwapp.services.errors import (
    ChallengeExpired,
    IncorrectCurrentPassword,
    InvalidCode,
    InvalidInput,
    TooManyAttempts,
    TwoStepAlreadyOn,
    TwoStepRequired,
)
from pwapp.services.passwords import change_password, reset_password, set_password
from pwapp.services.retention import TICKET_MARGIN, purge
from tests.factories import ALICE, CLIENT, NEW, OLD, PHONE, mails, request_link, run_together, sign_in, whoami

NOW = datetime(2026, 12, 2, 12, 0, 10, tzinfo=timezone.utc)
STEP = timedelta(seconds=30)


def code_at(secret: str, moment: datetime) -> str:
    return pyotp.TOTP(secret).at(moment)


def start(db: Session, user) -> str:
    """Start an enrolment with the password; the secret the set-up page shows."""
    two_step.start_enrolment(db, user, OLD)
    return two_step.pending_enrolment(db, user).secret


def enrol(db: Session, user, now: datetime = NOW) -> tuple[str, list[str]]:
    """Turn two-step on for `user` with a code of `now`; (secret, recovery codes)."""
    secret = start(db, user)
    codes = two_step.confirm_enrolment(db, user, code_at(secret, now), CLIENT, now=now)
    db.commit()
    return secret, codes


def challenge(db: Session, client=CLIENT) -> str:
    """The password step of alice's browser log-in: a challenge, never a ticket."""
    result = two_step.log_in(db, ALICE, OLD, client, now=NOW)
    db.commit()
    assert result.ticket == "" and result.challenge
    return result.challenge


def finish(db: Session, pending: str, code: str, now: datetime, client=CLIENT) -> str:
    """Complete a challenge in the browser and redeem the ticket: the session token."""
    ticket = two_step.complete_in_browser(db, pending, code, client, now=now)
    redeemed = redeem_ticket(db, ticket, client.binding)
    db.commit()
    assert redeemed is not None
    return redeemed[0]


def sessions(db: Session) -> list[UserSession]:
    return list(db.exec(select(UserSession)).scalars().all())


# --- the password step ------------------------------------------------------------------------


def test_the_password_alone_yields_no_session_for_a_two_step_account(db, alice):
    assert two_step.log_in(db, ALICE, OLD, CLIENT).ticket  # before: a ticket
    db.rollback()
    enrol(db, alice)
    before = len(sessions(db))
    challenge(db)
    assert len(sessions(db)) == before  # no session row, not even a pending ticket
    assert two_step.log_in_api(db, ALICE, OLD, CLIENT).challenge
    with pytest.raises(TwoStepRequired):  # every way to a session checks the second step
        create_ticket(db, alice, CLIENT)
    with pytest.raises(TwoStepRequired):
        create_session(db, alice, CLIENT)


def test_a_code_completes_the_challenge_once_and_marks_the_session(db, alice):
    secret, _ = enrol(db, alice)
    pending = challenge(db)
    token = finish(db, pending, code_at(secret, NOW + STEP), NOW + STEP)
    _, session = whoami(db, token)
    assert session.two_step is True
    with pytest.raises(ChallengeExpired):
        two_step.complete_in_browser(db, pending, code_at(secret, NOW + 2 * STEP), CLIENT, now=NOW + 2 * STEP)


def test_the_challenge_stays_with_the_browser_that_asked_and_expires(db, alice):
    secret, _ = enrol(db, alice)
    pending = challenge(db)
    later = NOW + STEP
    with pytest.raises(ChallengeExpired):  # another browser
        two_step.complete_in_browser(db, pending, code_at(secret, later), PHONE, now=later)
    with pytest.raises(ChallengeExpired):  # the API, which has no browser binding
        two_step.complete_for_api(db, pending, code_at(secret, later), CLIENT, now=later)
    too_late = NOW + timedelta(seconds=two_step.CHALLENGE_SECONDS)
    with pytest.raises(ChallengeExpired):
        two_step.complete_in_browser(db, pending, code_at(secret, too_late), CLIENT, now=too_late)
    assert finish(db, pending, code_at(secret, later), later)  # within its time, in its browser


def test_a_wrong_code_leaves_the_challenge_usable(db, alice):
    secret, _ = enrol(db, alice)
    pending = challenge(db)
    with pytest.raises(InvalidCode):
        two_step.complete_in_browser(db, pending, "000000" if code_at(secret, NOW + STEP) != "000000" else "111111",
                                     CLIENT, now=NOW + STEP)
    for junk in ("", "12345", "1234567", "abc", "\u0661\u0662\u0663\u0664\u0665\u0666", "x" * 5000):
        with pytest.raises(InvalidCode):
            two_step.complete_in_browser(db, pending, junk, CLIENT, now=NOW + STEP)
    throttle.TWO_STEP_PER_ACCOUNT.clear(str(alice.id))
    assert finish(db, pending, code_at(secret, NOW + STEP), NOW + STEP)


# --- codes: window, replay, recovery ----------------------------------------------------------


def test_codes_one_step_either_side_are_accepted_two_steps_are_not(db, alice):
    secret, _ = enrol(db, alice)
    now = NOW + 5 * STEP
    for off in (-2, 2):
        with pytest.raises(InvalidCode):
            two_step.complete_in_browser(db, challenge(db), code_at(secret, now + off * STEP), CLIENT, now=now)
    for off in (-1, 0, 1):  # in time order: each accepted step is later than the last
        assert finish(db, challenge(db), code_at(secret, now + off * STEP), now)


def test_a_code_is_accepted_once_and_older_codes_never_again(db, alice):
    secret, _ = enrol(db, alice)
    now = NOW + 5 * STEP
    finish(db, challenge(db), code_at(secret, now), now)
    for code in (code_at(secret, now), code_at(secret, now - STEP)):
        with pytest.raises(InvalidCode):
            two_step.complete_in_browser(db, challenge(db), code, CLIENT, now=now)
    # The enrolment code (a step already used) does not sign in either.
    with pytest.raises(InvalidCode):
        two_step.complete_in_browser(db, challenge(db), code_at(secret, NOW), CLIENT, now=NOW)


def test_two_simultaneous_sign_ins_with_one_code_one_wins(engine, alice):
    with Session(engine, expire_on_commit=False) as s:
        secret, _ = enrol(s, alice)
        pendings = [challenge(s), challenge(s)]
    now = NOW + 3 * STEP
    code, won, lost = code_at(secret, now), [], []
    turn = iter(pendings)
    lock = threading.Lock()

    def attempt() -> None:
        with lock:
            pending = next(turn)
        with Session(engine) as s:
            try:
                two_step.complete_in_browser(s, pending, code, CLIENT, now=now)
                s.commit()
                won.append(pending)
            except InvalidCode:
                lost.append(pending)

    run_together(attempt)
    assert len(won) == 1 and len(lost) == 1


def test_each_recovery_code_works_once(db, alice):
    _, codes = enrol(db, alice)
    assert len(codes) == 10 and len(set(codes)) == 10
    typed = codes[0].upper().replace("-", " ")  # case and separators do not matter
    assert finish(db, challenge(db), typed, NOW)
    for again in (codes[0], typed):
        with pytest.raises(InvalidCode):
            two_step.complete_in_browser(db, challenge(db), again, CLIENT, now=NOW)
    assert finish(db, challenge(db), codes[1], NOW)
    assert two_step.status(db, alice).codes_left == 8
    stored = db.exec(select(RecoveryCode.code_hash)).scalars().all()
    assert not any(normalize_recovery(c) in h or c in h for c in codes for h in stored)


# --- secrets at rest ---------------------------------------------------------------------------


def test_the_secret_is_stored_sealed(db, alice):
    secret, _ = enrol(db, alice)
    (stored,) = db.execute(text("SELECT secret_sealed FROM two_step")).scalars().all()
    assert secret not in stored and secret.lower() not in stored.lower()


# --- reset and change password never bypass it ------------------------------------------------


def test_a_password_reset_neither_signs_in_nor_turns_two_step_off(db, alice):
    enrol(db, alice)
    token = request_link(db, ALICE)
    before = len(sessions(db))
    reset_password(db, token, NEW, NEW, CLIENT)
    db.commit()
    assert not [s for s in sessions(db)[before:] if s.token_hash or s.ticket_hash]  # no session was made
    assert two_step.status(db, alice).enabled
    result = two_step.log_in(db, ALICE, NEW, CLIENT)
    assert result.challenge and not result.ticket
    assert two_step.log_in_api(db, ALICE, NEW, CLIENT).challenge


def test_changing_the_password_keeps_two_step_and_the_session_its_mark(db, alice):
    secret, _ = enrol(db, alice)
    token = finish(db, challenge(db), code_at(secret, NOW + STEP), NOW + STEP)
    me, session = whoami(db, token)
    ticket = change_password(db, me, session, OLD, NEW, NEW, client=CLIENT)
    new_token, _ = redeem_ticket(db, ticket, CLIENT.binding)
    db.commit()
    assert whoami(db, new_token)[1].two_step is True
    assert two_step.status(db, alice).enabled
    assert two_step.log_in(db, ALICE, NEW, CLIENT).challenge


def test_an_operator_setting_the_password_keeps_two_step(db, alice):
    enrol(db, alice)
    set_password(db, alice, NEW, NEW)
    db.commit()
    assert two_step.log_in(db, ALICE, NEW, CLIENT).challenge


# --- enrolment, changes and their mails ---------------------------------------------------------


def test_enrolment_needs_the_password_and_a_code_and_signs_out_other_sessions(db, alice):
    laptop = sign_in(db, alice)
    phone = sign_in(db, alice, PHONE)
    with pytest.raises(IncorrectCurrentPassword):
        two_step.start_enrolment(db, alice, "not my password")
    secret = start(db, alice)
    with pytest.raises(InvalidCode):
        two_step.confirm_enrolment(db, alice, "123456" if code_at(secret, NOW) != "123456" else "654321", CLIENT, now=NOW)
    assert not two_step.status(db, alice).enabled
    _, current = whoami(db, laptop)
    codes = two_step.confirm_enrolment(db, alice, code_at(secret, NOW), CLIENT, current_session_id=current.id, now=NOW)
    db.commit()
    assert len(codes) == 10 and two_step.status(db, alice).enabled
    assert whoami(db, laptop)[1].two_step is True
    with pytest.raises(AssertionError):
        whoami(db, phone)  # it never passed a second step
    with pytest.raises(TwoStepAlreadyOn):
        two_step.start_enrolment(db, alice, OLD)
    assert [m.subject for m in mails(db, template="two_step_enabled")] == [
        "Two-step sign-in was turned on for your pwapp account"
    ]


def test_new_recovery_codes_wait_sealed_for_their_session_and_are_taken_once(engine, db, alice):
    laptop = sign_in(db, alice)
    _, current = whoami(db, laptop)
    secret = start(db, alice)
    codes = two_step.confirm_enrolment(db, alice, code_at(secret, NOW), CLIENT, current_session_id=current.id, now=NOW)
    db.commit()
    [sealed] = db.exec(select(RecoveryCodesToShow.codes_sealed)).scalars().all()
    assert not any(c in sealed or normalize_recovery(c) in sealed for c in codes)  # sealed at rest
    assert two_step.take_recovery_codes(db, whoami(db, laptop)[1], now=NOW) == codes
    assert two_step.take_recovery_codes(db, whoami(db, laptop)[1], now=NOW) == []  # shown once

    later = NOW + STEP
    new_codes = two_step.regenerate_codes(db, alice, OLD, code_at(secret, later), CLIENT, current_session_id=current.id,
                                          now=later)
    db.commit()
    shown_by = later + timedelta(seconds=two_step.CODES_SHOWN_SECONDS)
    assert two_step.take_recovery_codes(db, whoami(db, laptop)[1], now=shown_by) == []  # never after they expire
    assert purge(engine, retention=timedelta(days=30), idle=timedelta(days=7), now=shown_by).deleted["recovery_codes"] == 0
    assert purge(engine, retention=timedelta(days=30), idle=timedelta(days=7), now=shown_by + STEP).deleted == {
        "tickets": 0, "sessions": 0, "resets": 0, "mail": 0, "challenges": 0, "recovery_codes": 1, "verify_links": 0,
        "unverified_accounts": 0,
    }
    assert len(new_codes) == 10 and db.exec(select(RecoveryCodesToShow)).first() is None

    last = two_step.regenerate_codes(db, alice, OLD, new_codes[0], CLIENT, current_session_id=current.id, now=later)
    two_step.disable(db, alice, OLD, last[0], CLIENT, now=later)  # before they were shown: gone too
    db.commit()
    assert two_step.take_recovery_codes(db, whoami(db, laptop)[1], now=later) == []


def test_a_new_enrolment_replaces_an_unconfirmed_one(db, alice):
    first = start(db, alice)
    second = start(db, alice)
    with pytest.raises(InvalidCode):
        two_step.confirm_enrolment(db, alice, code_at(first, NOW), CLIENT, now=NOW)
    two_step.confirm_enrolment(db, alice, code_at(second, NOW), CLIENT, now=NOW)


def test_regenerating_codes_needs_password_and_code_and_kills_the_old_codes(db, alice):
    secret, old_codes = enrol(db, alice)
    later = NOW + STEP
    with pytest.raises(InvalidInput) as refused:
        two_step.regenerate_codes(db, alice, "wrong password", code_at(secret, later), CLIENT, now=later)
    assert set(refused.value.errors) == {"current_password"}
    with pytest.raises(InvalidInput) as refused:
        two_step.regenerate_codes(db, alice, OLD, "000000" if code_at(secret, later) != "000000" else "1", CLIENT, now=later)
    assert set(refused.value.errors) == {"code"}
    new_codes = two_step.regenerate_codes(db, alice, OLD, code_at(secret, later), CLIENT, now=later)
    db.commit()
    with pytest.raises(InvalidCode):
        two_step.complete_in_browser(db, challenge(db), old_codes[0], CLIENT, now=later)
    assert finish(db, challenge(db), new_codes[0], later)
    assert len(mails(db, template="recovery_codes_regenerated")) == 1


def test_turning_off_needs_password_and_code_then_the_password_alone_signs_in(db, alice):
    secret, codes = enrol(db, alice)
    pending = challenge(db)
    with pytest.raises(InvalidInput):
        two_step.disable(db, alice, "wrong password", codes[0], CLIENT, now=NOW + STEP)
    two_step.disable(db, alice, OLD, codes[0], CLIENT, now=NOW + STEP)  # a recovery code does it too
    db.commit()
    assert not two_step.status(db, alice).enabled
    assert two_step.log_in(db, ALICE, OLD, CLIENT).ticket
    with pytest.raises(ChallengeExpired):  # challenges of the old setting are gone
        two_step.complete_in_browser(db, pending, code_at(secret, NOW + 2 * STEP), CLIENT, now=NOW + 2 * STEP)
    assert db.exec(select(TwoStep)).first() is None and db.exec(select(SignInChallenge)).first() is None
    assert len(mails(db, template="two_step_disabled")) == 1


def test_code_attempts_are_throttled_per_account(db, alice):
    secret, _ = enrol(db, alice)
    pending = challenge(db)
    limit = throttle.TWO_STEP_PER_ACCOUNT.item.amount
    for _ in range(limit):
        with pytest.raises(InvalidCode):
            two_step.complete_in_browser(db, pending, "abcdef", CLIENT, now=NOW + STEP)
    with pytest.raises(TooManyAttempts):  # even the right code waits now
        two_step.complete_in_browser(db, pending, code_at(secret, NOW + STEP), CLIENT, now=NOW + STEP)
    authenticate(db, ALICE, OLD, CLIENT)  # the password step has its own count


def test_challenges_never_completed_are_purged_soon_after_they_expire(engine, db, alice):
    enrol(db, alice)
    stale = two_step.start_challenge(db, alice, CLIENT, now=NOW - TICKET_MARGIN - timedelta(seconds=301))
    fresh = two_step.start_challenge(db, alice, CLIENT, now=NOW - TICKET_MARGIN)
    db.commit()
    result = purge(engine, retention=timedelta(days=30), idle=timedelta(days=7), now=NOW)
    assert result.deleted["challenges"] == 1
    left = db.exec(select(SignInChallenge.challenge_hash)).scalars().all()
    assert left == [digest(fresh.challenge)] and digest(stale.challenge) not in left


def test_a_right_code_clears_the_accounts_count(db, alice):
    secret, _ = enrol(db, alice)
    limit = throttle.TWO_STEP_PER_ACCOUNT.item.amount
    pending = challenge(db)
    for _ in range(limit - 1):
        with pytest.raises(InvalidCode):
            two_step.complete_in_browser(db, pending, "abcdef", CLIENT, now=NOW + STEP)
    finish(db, pending, code_at(secret, NOW + STEP), NOW + STEP)
    pending = challenge(db)
    for _ in range(limit):  # a whole limit of wrong codes again before the pause
        with pytest.raises(InvalidCode):
            two_step.complete_in_browser(db, pending, "abcdef", CLIENT, now=NOW + 2 * STEP)
    with pytest.raises(TooManyAttempts):
        two_step.complete_in_browser(db, pending, "abcdef", CLIENT, now=NOW + 2 * STEP)


def test_the_authenticator_entry_is_named_after_the_product(db, alice, monkeypatch):
    monkeypatch.setattr(pwsettings, "_current", dataclasses.replace(pwsettings.get_settings(), product_name="Acme"))
    two_step.start_enrolment(db, alice, OLD)
    enrolment = two_step.pending_enrolment(db, alice)
    assert pyotp.parse_uri(totp.setup_uri(enrolment.secret, alice.email, "Acme")).issuer == "Acme"
    assert enrolment.qr_svg == totp.qr_svg(totp.setup_uri(enrolment.secret, alice.email, "Acme"))
