"""Hooks on account events (pwapp.hooks): each fires once, with a payload free of secrets, inside
the transaction or after its commit as documented; a raising hook never leaves half an action.
On SQLite and PostgreSQL, through `pwapp.db.session()` as the pages, API and CLI use it."""

from __future__ import annotations

import dataclasses
import io
import logging
from datetime import timedelta

import httpx
import pyotp
import pytest
from sqlalchemy import func
from sqlmodel import Session, select
from starlette.applications import Starlette

import pwapp.db as pwdb
from pwapp import hooks
from pwapp.cli import users as users_cli
from pwapp.db import utcnow
from pwapp.events import EVENTS
from pwapp.models import EmailVerification, OutboxMessage, PasswordReset, ResetRequest, User, UserSession
from pwapp.security import throttle
from pwapp.security.passwords import verify_password
from pwapp.security.tokens import digest
from pwapp.services import accounts, notices, passwords, signup, two_step
from pwapp.services.errors import (
    HookFailed,
    InvalidCode,
    InvalidCredentials,
    InvalidInput,
    TooManyAttempts,
    WeakPassword,
)
from pwapp.web import api
from pwapp.worker import work_once
from tests.factories import (
    ALICE,
    BOB,
    CLIENT,
    LINK_PREFIX,
    NEW,
    OLD,
    PHONE,
    newest_verify_link,
    sign_in,
    whoami,
)

UNKNOWN = "nobody@example.org"
CAROL = "carol@example.org"


@pytest.fixture(autouse=True)
def default_hooks():
    """Every test starts and ends with the built-in hooks only."""
    hooks.reset()
    yield
    hooks.reset()


@pytest.fixture
def app_db(engine, monkeypatch):
    """`pwapp.db.session()` (what pages, API and CLI commit through) on the test's database."""
    monkeypatch.setattr(pwdb, "engine", lambda: engine)
    return engine


@pytest.fixture
def seen():
    """Every event handed to an after-commit hook, in order."""
    events: list = []
    for kind in EVENTS:
        hooks.on(kind, events.append)
    return events


def kinds(events) -> list[str]:
    return [type(e).__name__ for e in events]


def count(engine, model, *where) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def outbox_templates(engine) -> list[str]:
    with Session(engine) as s:
        return [m.template for m in s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()]


def password_is(engine, email: str, password: str) -> bool:
    with Session(engine) as s:
        return verify_password(password, accounts.find_user(s, email).password_hash)[0]


def in_db(fn, *args, **kwargs):
    with pwdb.session() as s:
        return fn(s, *args, **kwargs)


def change(s, email: str, token: str, current: str = OLD, new: str = NEW, **kwargs) -> str:
    user, session = whoami(s, token)
    return passwords.change_password(s, user, session, current, new, new, client=CLIENT, **kwargs)


def queue_reset(engine, email: str = ALICE) -> str:
    """Ask for a link, let the worker issue it, and return its token (captured from the sender)."""
    links = []

    def capture(db, address, url, has_account):
        links.append(url.removeprefix(LINK_PREFIX))
        notices.reset_link(db, address, url, has_account)

    hooks.send_reset_links_with(capture)
    in_db(passwords.request_password_reset, email, CLIENT)
    work_once(engine)
    hooks.send_reset_links_with(notices.reset_link)
    return links[-1]


def test_registered_fires_once_when_the_address_is_confirmed(app_db, seen):
    """A sign-up is only an account once its link is used: queueing it and the worker's
    unconfirmed account emit nothing (a purged one never existed for hooks); a reset link that
    confirms an address emits it too."""
    in_db(signup.request_sign_up, CAROL, NEW, NEW, CLIENT)
    token = newest_verify_link(app_db, CAROL)
    assert seen == []
    carol = in_db(signup.verify_email, token, NEW, CLIENT)
    assert seen == [event_now(seen[0], user_id=carol.id, email=CAROL, ip=CLIENT.ip, browser=CLIENT.browser)]
    in_db(signup.request_sign_up, "dave@example.org", NEW, NEW, CLIENT)
    newest_verify_link(app_db, "dave@example.org")
    del seen[:]
    in_db(passwords.reset_password, queue_reset(app_db, "dave@example.org"), OLD, OLD, PHONE)
    assert kinds(seen) == ["ResetRequested", "ResetRequestHandled", "Registered", "ResetCompleted"]


def raising(*args) -> None:
    raise RuntimeError(f"the hook broke on {args}")  # a message quoting its input


# --- what each action emits -----------------------------------------------------------------


def test_every_action_emits_its_event_once_and_no_payload_holds_a_secret(app_db, seen):
    engine, everything = app_db, []
    for kind in EVENTS:
        hooks.on(kind, everything.append)
    alice = in_db(accounts.register, ALICE, OLD, OLD, client=CLIENT)
    assert seen == [event_now(seen[0], user_id=alice.id, email=ALICE, ip=CLIENT.ip, browser=CLIENT.browser)]
    tickets = [in_db(two_step.log_in, ALICE, OLD, CLIENT).ticket]
    with pytest.raises(InvalidCredentials):
        in_db(two_step.log_in, ALICE, BOB, PHONE)
    with pytest.raises(InvalidCredentials):
        in_db(two_step.log_in, UNKNOWN, OLD, PHONE)
    assert kinds(seen[1:]) == ["LoggedIn", "LoginFailed", "LoginFailed"]
    assert (seen[1].user_id, seen[1].ip) == (alice.id, CLIENT.ip)
    assert [(e.email, e.ip, e.throttled) for e in seen[2:]] == [(ALICE, PHONE.ip, False), (UNKNOWN, PHONE.ip, False)]

    del seen[:]
    with pwdb.session() as s:
        laptop, phone = sign_in(s, s.get(User, alice.id)), sign_in(s, s.get(User, alice.id), PHONE)
    with pwdb.session() as s:
        phone_id = whoami(s, phone)[1].id
        accounts.revoke_session(s, s.get(User, alice.id), phone_id)
    assert seen == [event_now(seen[0], user_id=alice.id, session_id=phone_id, reason="revoked")]
    del seen[:]
    tickets.append(in_db(change, ALICE, laptop))  # signs out the other two (the first ticket included)
    assert kinds(seen) == ["SessionRevoked", "SessionRevoked", "PasswordChanged"]
    assert {e.reason for e in seen[:2]} == {"password_changed"}
    assert (seen[2].user_id, seen[2].email, seen[2].browser) == (alice.id, ALICE, CLIENT.browser)

    del seen[:]
    token = queue_reset(engine)
    assert kinds(seen) == ["ResetRequested", "ResetRequestHandled"]
    assert (seen[0].email, seen[0].queued, seen[1].user_id, seen[1].has_account) == (ALICE, True, alice.id, True)
    del seen[:]
    in_db(passwords.reset_password, token, OLD, OLD, PHONE)
    assert kinds(seen) == ["SessionRevoked", "ResetCompleted"]  # the new ticket from the change
    assert seen[0].reason == "password_reset" and (seen[1].user_id, seen[1].ip) == (alice.id, PHONE.ip)

    del seen[:]
    with pwdb.session() as s:
        api_session, api_token = accounts.create_session(s, s.get(User, alice.id), CLIENT)
        other, _ = accounts.create_session(s, s.get(User, alice.id), PHONE)
    in_db(accounts.logout, digest(api_token))
    in_db(accounts.sign_out_everywhere, alice)
    assert [(e.session_id, e.reason) for e in seen] == [(api_session.id, "logout"), (other.id, "operator")]

    del seen[:]
    with pwdb.session() as s:
        user = s.get(User, alice.id)
        kept, _ = accounts.create_session(s, user, CLIENT)
        dropped, _ = accounts.create_session(s, user, PHONE)
        two_step.start_enrolment(s, user, OLD)
        secret = two_step.pending_enrolment(s, user).secret
        codes = two_step.confirm_enrolment(s, user, pyotp.TOTP(secret).now(), CLIENT, current_session_id=kept.id)
        codes += two_step.regenerate_codes(s, user, OLD, codes[0], PHONE)
        two_step.disable(s, user, OLD, codes[-1], CLIENT)
    assert kinds(seen) == ["SessionRevoked", "TwoStepChanged", "TwoStepChanged", "TwoStepChanged"]
    assert (seen[0].session_id, seen[0].reason) == (dropped.id, "two_step_enabled")
    assert [(e.email, e.change, e.ip) for e in seen[1:]] == [
        (ALICE, "enabled", CLIENT.ip), (ALICE, "codes_regenerated", PHONE.ip), (ALICE, "disabled", CLIENT.ip)
    ]

    # Nothing any hook was handed is a password, a hash, a token or a binding digest.
    assert {type(e) for e in everything} == set(EVENTS)
    with Session(engine) as s:
        stored = [u.password_hash for u in s.exec(select(User)).all()]
        stored += [h for r in s.exec(select(UserSession)).all() for h in (r.token_hash, r.ticket_hash) if h]
        stored += [r.token_hash for r in s.exec(select(PasswordReset)).all()]
    secrets = [OLD, NEW, BOB, laptop, phone, api_token, token, CLIENT.binding, PHONE.binding, *tickets, *stored]
    secrets += [secret, *codes]
    for event in everything:
        for value in dataclasses.asdict(event).values():
            assert not any(secret in str(value) for secret in secrets), (event, value)


def event_now(like, **fields):
    """`like` with `fields` set: equal to `like` when they match; its `at` is within a minute of now."""
    assert abs(like.at - utcnow()) < timedelta(minutes=1)
    return dataclasses.replace(like, **fields)


# --- inside the transaction, or after the commit ----------------------------------------------


def test_in_transaction_hooks_see_the_change_uncommitted_and_observers_see_it_committed(app_db, alice):
    engine, views = app_db, []

    def inside(db, event):  # the change is in this transaction only: another connection sees the old one
        mine = verify_password(NEW, db.get(User, event.user_id).password_hash)[0]
        views.append(("inside", mine, password_is(engine, ALICE, NEW), count(engine, OutboxMessage)))

    def after(event):
        views.append(("after", None, password_is(engine, ALICE, NEW), count(engine, OutboxMessage)))

    hooks.on(hooks.PasswordChanged, inside, in_transaction=True)
    hooks.on(hooks.PasswordChanged, after)
    with pwdb.session() as s:
        token = sign_in(s, s.get(User, alice.id))
    in_db(change, ALICE, token)
    # The notice mail (a default in-transaction hook, registered first) commits with the change.
    assert views == [("inside", True, False, 0), ("after", None, True, 1)]


def test_events_of_a_rolled_back_transaction_never_reach_observers(app_db, seen):
    with Session(app_db, expire_on_commit=False) as s:
        accounts.register(s, ALICE, OLD, OLD)
        s.rollback()
        s.commit()  # a later commit of the same session does not revive them
    assert seen == []
    assert count(app_db, User) == 0


def test_a_raising_observer_is_logged_without_its_message_and_the_action_stands(app_db, alice, caplog):
    hooks.on(hooks.PasswordChanged, raising)
    calls = []
    hooks.on(hooks.PasswordChanged, calls.append)  # later observers still run
    with pwdb.session() as s:
        token = sign_in(s, s.get(User, alice.id))
    with caplog.at_level(logging.ERROR, logger="pwapp.hooks"):
        ticket = in_db(change, ALICE, token)
    assert ticket and len(calls) == 1
    assert password_is(app_db, ALICE, NEW)
    assert count(app_db, OutboxMessage, OutboxMessage.template == "password_changed") == 1
    (record,) = caplog.records
    assert "raising" in record.getMessage() and "RuntimeError" in record.getMessage()
    assert "email=" not in caplog.text


def _register(engine):
    return lambda: in_db(accounts.register, BOB.lower() + "@example.org", NEW, NEW, client=CLIENT)


def _confirm(engine):
    in_db(signup.request_sign_up, CAROL, NEW, NEW, CLIENT)
    token = newest_verify_link(engine, CAROL)
    return lambda: in_db(signup.verify_email, token, NEW, CLIENT)


def _login(engine):
    return lambda: in_db(two_step.log_in, ALICE, OLD, CLIENT)


def _change(engine):
    with pwdb.session() as s:
        token = sign_in(s, accounts.find_user(s, ALICE))
    return lambda: in_db(change, ALICE, token)


def _request(engine):
    return lambda: in_db(passwords.request_password_reset, ALICE, CLIENT)


def _handle(engine):
    in_db(passwords.request_password_reset, ALICE, CLIENT)

    def issue():
        with Session(engine) as s:
            passwords.issue_reset_links(s)
            s.commit()

    return issue


def _reset(engine):
    token = queue_reset(engine)
    return lambda: in_db(passwords.reset_password, token, NEW, NEW, CLIENT)


def _revoke(engine):
    with pwdb.session() as s:
        user = accounts.find_user(s, ALICE)
        token = sign_in(s, user)
    with pwdb.session() as s:
        session_id = whoami(s, token)[1].id
    return lambda: in_db(accounts.revoke_session, user, session_id)


def _state(engine) -> tuple:
    """What any of the actions above changes."""
    with Session(engine) as s:
        hashes = tuple(u.password_hash for u in s.exec(select(User).order_by(User.id)).all())
    return (
        hashes,
        count(engine, UserSession),
        count(engine, UserSession, UserSession.revoked_at.is_(None)),
        count(engine, ResetRequest),
        count(engine, PasswordReset),
        count(engine, PasswordReset, PasswordReset.used_at.is_(None)),
        count(engine, OutboxMessage),
        count(engine, User, User.email_verified_at.is_(None)),
        count(engine, EmailVerification, EmailVerification.used_at.is_(None)),
    )


@pytest.mark.parametrize(
    "event, prepare",
    [
        (hooks.Registered, _register),
        (hooks.Registered, _confirm),
        (hooks.LoggedIn, _login),
        (hooks.PasswordChanged, _change),
        (hooks.ResetRequested, _request),
        (hooks.ResetRequestHandled, _handle),
        (hooks.ResetCompleted, _reset),
        (hooks.SessionRevoked, _revoke),
    ],
)
def test_a_raising_in_transaction_hook_undoes_the_whole_action(app_db, alice, seen, event, prepare, caplog):
    act = prepare(app_db)
    before = _state(app_db)
    del seen[:]
    hooks.on(event, raising, in_transaction=True)
    with caplog.at_level(logging.ERROR, logger="pwapp.hooks"), pytest.raises(HookFailed):
        act()
    assert _state(app_db) == before
    assert seen == []  # no observer hears of what did not happen
    assert "RuntimeError" in caplog.text and "email=" not in caplog.text


# --- log-in failures and reset requests reveal no account -----------------------------------


def test_failed_log_ins_run_at_once_alike_for_any_address_and_cannot_change_the_answer(app_db, alice, seen):
    hooks.on(hooks.LoginFailed, raising)  # logged; the refusal is still the refusal
    for email, password in [(ALICE, NEW), (UNKNOWN, OLD)]:
        with Session(app_db) as s, pytest.raises(InvalidCredentials):
            two_step.log_in(s, email, password, CLIENT)  # never committed: the hooks ran already
    wrong, unknown = seen
    assert dataclasses.replace(wrong, email=UNKNOWN, at=unknown.at) == unknown
    with pytest.raises(ValueError, match="no transaction"):
        hooks.on(hooks.LoginFailed, raising, in_transaction=True)
    del seen[:]
    for _ in range(throttle.LOGIN_PER_ACCOUNT.item.amount - 1):  # one wrong try was counted above
        with pytest.raises(InvalidCredentials):
            in_db(two_step.log_in, ALICE, NEW, PHONE)
    with pytest.raises(TooManyAttempts):
        in_db(two_step.log_in, ALICE, OLD, PHONE)
    assert [e.throttled for e in seen][-2:] == [False, True]


def test_a_two_step_log_in_is_logged_in_only_once_its_code_is_right(app_db, alice, seen):
    with pwdb.session() as s:
        user = s.get(User, alice.id)
        two_step.start_enrolment(s, user, OLD)
        secret = two_step.pending_enrolment(s, user).secret
        codes = two_step.confirm_enrolment(s, user, pyotp.TOTP(secret).now(), CLIENT)
    del seen[:]
    challenges = [in_db(two_step.log_in, ALICE, OLD, CLIENT).challenge]
    assert seen == []  # the password alone is no log-in
    with pytest.raises(InvalidCode):
        in_db(two_step.complete_in_browser, challenges[0], "abcdef", CLIENT)
    assert seen == [event_now(seen[0], email=ALICE, ip=CLIENT.ip, browser=CLIENT.browser, throttled=False,
                              second_step=True)]
    del seen[:]
    in_db(two_step.complete_in_browser, challenges[0], codes[0], CLIENT)
    assert seen == [event_now(seen[0], user_id=alice.id, email=ALICE, ip=CLIENT.ip, browser=CLIENT.browser)]

    del seen[:]  # the API alike; a throttled code fails too
    challenges.append(in_db(two_step.log_in_api, ALICE, OLD, PHONE).challenge)
    assert seen == []
    for _ in range(throttle.TWO_STEP_PER_ACCOUNT.item.amount):
        with pytest.raises(InvalidCode):
            in_db(two_step.complete_for_api, challenges[1], "abcdef", PHONE)
    with pytest.raises(TooManyAttempts):
        in_db(two_step.complete_for_api, challenges[1], codes[1], PHONE)
    assert kinds(seen) == ["LoginFailed"] * (throttle.TWO_STEP_PER_ACCOUNT.item.amount + 1)
    assert [(e.email, e.second_step) for e in seen] == [(ALICE, True)] * len(seen)
    assert [e.throttled for e in seen][-2:] == [False, True]
    hidden = [secret, *codes, *challenges]
    assert not any(h in str(v) for e in seen for v in dataclasses.asdict(e).values() for h in hidden)


def test_reset_request_hooks_get_the_same_call_for_known_and_unknown_addresses(app_db, alice, seen):
    inside = []

    def look(db, event):  # what a hook in the request's transaction could find in pwapp's tables
        found = (count(app_db, PasswordReset), count(app_db, OutboxMessage))
        pending = db.exec(select(func.count()).select_from(ResetRequest)).one()
        inside.append((dataclasses.replace(event, email="?", at=None), found, pending))

    hooks.on(hooks.ResetRequested, look, in_transaction=True)
    for email in (ALICE, UNKNOWN):
        with Session(app_db) as s:  # a transaction of its own each, emptied after
            passwords.request_password_reset(s, email, CLIENT)
            s.rollback()
    assert inside[0] == inside[1]
    assert [e.email for e in seen] == []  # rolled back: no observer heard
    for email in (ALICE, UNKNOWN):
        in_db(passwords.request_password_reset, email, CLIENT)
    known, unknown = seen
    assert dataclasses.replace(known, email=UNKNOWN, at=unknown.at) == unknown
    assert known.queued and unknown.queued
    # Only the worker, off the request path, knows which address has an account.
    del seen[:]
    work_once(app_db)
    assert [(e.email, e.has_account) for e in seen] == [(ALICE, True), (UNKNOWN, False)]
    for _ in range(throttle.RESET_REQUEST_PER_EMAIL.item.amount):  # past the per-address limit
        for email in (ALICE, UNKNOWN):
            in_db(passwords.request_password_reset, email, CLIENT)
    assert [(e.email, e.queued) for e in seen[-2:]] == [(ALICE, False), (UNKNOWN, False)]


def test_a_failing_worker_hook_keeps_the_request_queued_and_mail_still_goes_out(app_db, alice):
    hooks.on(hooks.ResetRequestHandled, raising, in_transaction=True)
    with pwdb.session() as s:
        token = sign_in(s, s.get(User, alice.id))
    in_db(change, ALICE, token)  # queues "password changed"
    in_db(passwords.request_password_reset, ALICE, CLIENT)
    assert work_once(app_db) == 1  # the mail was sent, the link not issued
    assert count(app_db, ResetRequest) == 1 and count(app_db, PasswordReset) == 0
    hooks.off(hooks.ResetRequestHandled, raising)
    assert work_once(app_db) == 2  # next tick: the link, and its mail
    assert count(app_db, ResetRequest) == 0 and count(app_db, PasswordReset) == 1


# --- the built-in notices are hooks ---------------------------------------------------------


def test_the_notice_mails_are_default_hooks_that_can_be_replaced_or_removed(app_db, alice):
    mine = []
    hooks.off(hooks.PasswordChanged, notices.password_changed)
    hooks.on(hooks.PasswordChanged, lambda db, event: mine.append(event.email), in_transaction=True)
    hooks.off(hooks.ResetCompleted, notices.password_reset_done)
    with pwdb.session() as s:
        token = sign_in(s, s.get(User, alice.id))
    in_db(change, ALICE, token)
    in_db(passwords.reset_password, queue_reset(app_db), OLD, OLD, CLIENT)
    assert mine == [ALICE]
    assert outbox_templates(app_db) == ["password_reset"]  # neither notice, but the link itself still went out
    with pytest.raises(ValueError):
        hooks.off(hooks.PasswordChanged, notices.password_changed)  # already removed

    hooks.reset()  # the defaults send their mail again
    with pwdb.session() as s:
        token = sign_in(s, s.get(User, alice.id))
    in_db(change, ALICE, token, OLD, NEW)
    in_db(passwords.reset_password, queue_reset(app_db), OLD, OLD, CLIENT)
    assert outbox_templates(app_db)[1:] == ["password_changed", "password_reset", "password_reset_done"]


def test_the_two_step_mails_are_default_hooks_too(app_db, alice):
    def turn_on_and_off():
        with pwdb.session() as s:
            user = s.get(User, alice.id)
            two_step.start_enrolment(s, user, OLD)
            secret = two_step.pending_enrolment(s, user).secret
            codes = two_step.confirm_enrolment(s, user, pyotp.TOTP(secret).now(), CLIENT)
            two_step.disable(s, user, OLD, codes[0], CLIENT)

    turn_on_and_off()
    assert outbox_templates(app_db) == ["two_step_enabled", "two_step_disabled"]
    hooks.off(hooks.TwoStepChanged, notices.two_step_changed)
    turn_on_and_off()
    assert outbox_templates(app_db) == ["two_step_enabled", "two_step_disabled"]  # nothing more


def test_reset_links_can_be_delivered_by_a_sender_of_ones_own(app_db, alice):
    handed = []
    hooks.send_reset_links_with(lambda db, email, url, has_account: handed.append((email, url, has_account)))
    for email in (ALICE, UNKNOWN):
        in_db(passwords.request_password_reset, email, CLIENT)
    work_once(app_db)
    assert [(e, known) for e, _, known in handed] == [(ALICE, True), (UNKNOWN, False)]
    assert count(app_db, OutboxMessage) == 0
    in_db(passwords.reset_password, handed[0][1].removeprefix(LINK_PREFIX), NEW, NEW, CLIENT)
    assert password_is(app_db, ALICE, NEW)


# --- what callers see -----------------------------------------------------------------------


def test_an_in_transaction_hook_may_refuse_with_its_own_message(app_db):
    def company_only(db, event):
        if not event.email.endswith("@example.com"):
            raise InvalidInput({"email": ["Use your example.com address."]})

    hooks.on(hooks.Registered, company_only, in_transaction=True)
    with pytest.raises(InvalidInput) as refused:
        in_db(accounts.register, ALICE, OLD, OLD)
    assert refused.value.errors == {"email": ["Use your example.com address."]}
    assert count(app_db, User) == 0
    in_db(accounts.register, "carol@example.com", OLD, OLD)
    assert count(app_db, User) == 1


def test_the_command_line_triggers_the_same_hooks(app_db, alice, seen, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW + "\n"))
    assert users_cli.main(["set-password", ALICE, "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(BOB + "\n"))
    assert users_cli.main(["create", "carol@example.org", "--password-stdin"]) == 0
    assert kinds(seen) == ["PasswordChanged", "Registered"]
    assert {e.browser for e in seen} == {"the pwapp command line"}
    hooks.add_password_rule(no_seasons)
    monkeypatch.setattr("sys.stdin", io.StringIO(SEASONAL + "\n"))
    assert users_cli.main(["create", "erin@example.org", "--password-stdin"]) == 1
    assert NO_SEASONS in capsys.readouterr().err
    hooks.on(hooks.Registered, raising, in_transaction=True)
    monkeypatch.setattr("sys.stdin", io.StringIO(BOB + "\n"))
    assert users_cli.main(["create", "dave@example.org", "--password-stdin"]) == 1
    assert HookFailed.message in capsys.readouterr().err
    assert count(app_db, User) == 2


# --- password rules ---------------------------------------------------------------------------

NO_SEASONS = "Don't use a season's name."


def no_seasons(password: str, email: str) -> list[str]:
    """A rule like an integrator's: messages for what it refuses, none otherwise."""
    words = ("spring", "summer", "autumn", "winter")
    return [NO_SEASONS] if any(w in password.casefold() for w in words) else []


SEASONAL = "Winter-Harbor-Tulip-1987!"  # passes the built-in policy


def test_a_password_rule_refuses_alongside_the_built_in_policy(app_db, alice):
    assert accounts.check_password(SEASONAL, ALICE) == []
    hooks.add_password_rule(no_seasons)
    assert accounts.check_password(SEASONAL, ALICE) == [NO_SEASONS]
    assert accounts.check_password("winter", ALICE)[-1] == NO_SEASONS  # with the built-in reasons
    with pytest.raises(InvalidInput) as refused:
        in_db(accounts.register, "carol@example.org", SEASONAL, SEASONAL)
    assert refused.value.errors == {WeakPassword.field: [NO_SEASONS]}
    with pwdb.session() as s:
        token = sign_in(s, s.get(User, alice.id))
    with pytest.raises(InvalidInput) as refused:
        in_db(change, ALICE, token, OLD, SEASONAL)
    assert refused.value.errors == {"new_password": [NO_SEASONS]}
    with pytest.raises(InvalidInput):
        in_db(passwords.reset_password, queue_reset(app_db), SEASONAL, SEASONAL, CLIENT)
    assert password_is(app_db, ALICE, OLD)


def test_a_password_rule_never_sees_what_cannot_be_stored(app_db):
    given = []
    hooks.add_password_rule(lambda password, email: given.append(password) or [])
    accounts.check_password("x" * 2000, ALICE)
    accounts.check_password("nul\x00", ALICE)
    assert given == []


def test_a_raising_rule_is_a_hook_failure_not_a_crash(app_db):
    hooks.add_password_rule(raising)
    with pytest.raises(HookFailed):
        in_db(accounts.register, ALICE, OLD, OLD)
    assert count(app_db, User) == 0


# --- the REST API -----------------------------------------------------------------------------


@pytest.fixture
async def http(app_db):
    transport = httpx.ASGITransport(app=Starlette(routes=api.http_routes()), client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_the_api_shows_a_rules_message_and_answers_500_when_a_hook_fails(http, alice, app_db):
    hooks.add_password_rule(no_seasons)
    r = await http.post("/api/login/", json={"email": ALICE, "password": OLD})
    bearer = {"Authorization": f"Bearer {r.json()['token']}"}
    body = {"current_password": OLD, "new_password": SEASONAL}
    r = await http.put("/change-password/", json=body, headers=bearer)
    assert (r.status_code, r.json()) == (400, {"errors": {"new_password": [NO_SEASONS]}})

    hooks.on(hooks.ResetRequested, raising, in_transaction=True)
    r = await http.post("/reset-password/", json={"email": ALICE})
    assert (r.status_code, r.json()) == (500, {"detail": api.INTERNAL_ERROR})
    assert count(app_db, ResetRequest) == 0
