"""Register, log in, throttling and sessions (services/accounts.py) on a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlmodel import SQLModel

from pwapp.db import utcnow
from pwapp.models import User, UserSession
from pwapp.security import throttle
from pwapp.security.tokens import digest
from pwapp.services.accounts import (
    Client,
    active_sessions,
    authenticate,
    create_session,
    create_ticket,
    current_session,
    logout,
    redeem_ticket,
    register,
    revoke_session,
)
from pwapp.services.errors import (
    BrowserNotBound,
    EmailTaken,
    InvalidCredentials,
    InvalidEmail,
    InvalidInput,
    PasswordsDoNotMatch,
    SessionNotFound,
    TooManyAttempts,
)
from pwapp.services.two_step import log_in
from pwapp.settings import settings
from tests.factories import CLIENT, make_user, sign_in, whoami
from tests.factories import NEW as OTHER
from tests.factories import OLD as STRONG
from tests.factories import PHONE as OTHER_IP


def set_session(db, session_id: int, **values) -> None:
    db.execute(update(UserSession).where(UserSession.id == session_id).values(**values))
    db.commit()
    db.expire_all()


# --- register ----------------------------------------------------------------------------


def test_register_stores_lower_cased_email_and_an_argon2id_hash(db):
    user = make_user(db, "  Alice@Example.ORG ")
    db.expire_all()
    stored = db.get(User, user.id)
    assert stored.email == "alice@example.org"
    assert stored.password_hash.startswith("$argon2id$")
    assert STRONG not in stored.password_hash
    assert stored.is_active


def test_register_same_email_in_other_case_is_taken(db):
    make_user(db, "Alice@X.org")
    with pytest.raises(InvalidInput) as caught:
        register(db, "alice@x.org", OTHER, OTHER)
    assert caught.value.errors == {"email": [EmailTaken.message]}
    db.rollback()
    assert len(db.execute(sa_select(User)).all()) == 1


def test_register_invalid_email(db):
    with pytest.raises(InvalidInput) as caught:
        register(db, "not-an-email", STRONG, STRONG)
    assert caught.value.errors == {"email": [InvalidEmail.message]}


def test_register_weak_password(db):
    with pytest.raises(InvalidInput) as caught:
        register(db, "bob@example.org", "password123456", "password123456")
    assert set(caught.value.errors) == {"new_password"}
    assert "This password is too easy to guess." in caught.value.errors["new_password"]


def test_register_reports_every_field_at_once(db):
    with pytest.raises(InvalidInput) as caught:
        register(db, "bob@@example", "short", "shorter")
    errors = caught.value.errors
    assert set(errors) == {"email", "new_password", "confirm_password"}
    assert errors["email"] == [InvalidEmail.message]
    assert errors["new_password"][0].startswith(f"Use at least {settings.password_min_length} characters")
    assert errors["confirm_password"] == [PasswordsDoNotMatch.message]
    db.rollback()
    assert db.execute(sa_select(User)).all() == []


def test_register_refuses_a_10000_character_password_cleanly(db):
    with pytest.raises(InvalidInput) as caught:
        register(db, "bob@example.org", "x" * 10_000)
    assert caught.value.errors == {"new_password": ["Use at most 1024 characters."]}


def test_long_passphrase_registers_and_is_never_truncated(db):
    phrase = "Quartz-Harbor-Tulip-" * 5  # 100 characters: past bcrypt's 72 bytes and zxcvbn's 72 characters
    user = make_user(db, "alice@example.org", phrase)
    assert authenticate(db, "alice@example.org", phrase, CLIENT).id == user.id
    with pytest.raises(InvalidCredentials):
        authenticate(db, "alice@example.org", phrase[:72], CLIENT)


# --- authenticate ------------------------------------------------------------------------


def test_authenticate_is_case_insensitive_on_email(db):
    user = make_user(db, "alice@example.org")
    assert authenticate(db, " ALICE@example.org", STRONG, CLIENT).id == user.id


def test_one_account_whatever_the_spelling_of_an_international_domain(db):
    user = make_user(db, "Ana@Bücher.example")
    assert authenticate(db, "ana@xn--bcher-kva.example", STRONG, CLIENT).id == user.id
    with pytest.raises(InvalidInput) as caught:
        register(db, "ANA@xn--bcher-kva.example", OTHER, OTHER)
    assert "email" in caught.value.errors


def test_wrong_password_and_unknown_email_look_the_same(db):
    make_user(db, "alice@example.org")
    with pytest.raises(InvalidCredentials) as wrong_password:
        authenticate(db, "alice@example.org", OTHER, CLIENT)
    with pytest.raises(InvalidCredentials) as unknown_email:
        authenticate(db, "nobody@example.org", STRONG, CLIENT)
    assert type(wrong_password.value) is type(unknown_email.value) is InvalidCredentials
    assert str(wrong_password.value) == str(unknown_email.value) == "Email or password is incorrect."
    assert wrong_password.value.errors == unknown_email.value.errors


def test_inactive_user_is_refused_even_with_the_right_password(db):
    user = make_user(db, "alice@example.org")
    user.is_active = False
    db.add(user)
    db.commit()
    with pytest.raises(InvalidCredentials) as caught:
        authenticate(db, "alice@example.org", STRONG, CLIENT)
    assert str(caught.value) == "Email or password is incorrect."


def test_ten_failures_lock_the_account_even_for_the_right_password_and_other_ips(db):
    make_user(db, "alice@example.org")
    make_user(db, "bob@example.org")
    for i in range(10):
        # Case and spaces do not give an attacker fresh buckets.
        email = ["alice@example.org", "ALICE@example.org ", " Alice@Example.Org"][i % 3]
        with pytest.raises(InvalidCredentials):
            authenticate(db, email, f"wrong-guess-{i}", CLIENT)
    for who in (CLIENT, OTHER_IP):
        with pytest.raises(TooManyAttempts) as caught:
            authenticate(db, "alice@example.org", STRONG, who)
        assert str(caught.value) == "Too many attempts. Try again in 15 minutes."
        assert 840 < caught.value.retry_after <= 900
    # Another account from the same IP is not locked out.
    assert authenticate(db, "bob@example.org", STRONG, CLIENT).email == "bob@example.org"


def test_unknown_email_is_throttled_like_a_known_one(db):
    for i in range(10):
        with pytest.raises(InvalidCredentials):
            authenticate(db, "nobody@example.org", f"wrong-guess-{i}", CLIENT)
    with pytest.raises(TooManyAttempts) as caught:
        authenticate(db, "nobody@example.org", STRONG, OTHER_IP)
    assert "Try again in 15 minutes" in str(caught.value)


def test_success_resets_the_account_counter(db):
    make_user(db, "alice@example.org")
    for i in range(9):
        with pytest.raises(InvalidCredentials):
            authenticate(db, "alice@example.org", f"wrong-guess-{i}", CLIENT)
    authenticate(db, "alice@example.org", STRONG, CLIENT)
    with pytest.raises(InvalidCredentials):
        authenticate(db, "alice@example.org", "wrong-again", CLIENT)
    assert authenticate(db, "alice@example.org", STRONG, CLIENT).email == "alice@example.org"


def test_per_ip_throttle_blocks_spraying_across_accounts(db):
    make_user(db, "alice@example.org")
    # 98 attempts from this IP (counted directly: 98 argon2 verifies would only slow the suite),
    # a 99th that succeeds (it counts too)...
    for _ in range(98):
        throttle.LOGIN_PER_IP.hit(CLIENT.ip)
    assert authenticate(db, "alice@example.org", STRONG, CLIENT).email == "alice@example.org"
    # ...and the 100th, a failure against an account never tried before, closes the IP.
    with pytest.raises(InvalidCredentials):
        authenticate(db, "carol@example.org", "wrong-guess", CLIENT)
    with pytest.raises(TooManyAttempts) as caught:
        authenticate(db, "alice@example.org", STRONG, CLIENT)
    assert "Try again in" in str(caught.value)
    # The account itself is not locked: the owner elsewhere still gets in.
    assert authenticate(db, "alice@example.org", STRONG, OTHER_IP).email == "alice@example.org"


# --- tickets and sessions ----------------------------------------------------------------


def login(db, email: str, password: str, client: Client) -> str:
    """The browser's log-in of an account without two-step: its ticket."""
    return log_in(db, email, password, client).ticket


def test_ticket_redeems_once_for_a_session_token(db):
    user = make_user(db, "alice@example.org")
    ticket = login(db, "alice@example.org", STRONG, CLIENT)
    db.commit()
    assert current_session(db, digest(ticket)) is None  # a ticket is not a session token
    redeemed = redeem_ticket(db, ticket, CLIENT.binding)
    db.commit()
    assert redeemed is not None
    token, expires_at = redeemed
    assert token != ticket
    assert expires_at > utcnow() + timedelta(hours=settings.session_max_hours - 1)
    assert redeem_ticket(db, ticket, CLIENT.binding) is None
    found = current_session(db, digest(token))
    assert found is not None and found[0].id == user.id
    assert found[1].ip == CLIENT.ip and found[1].user_agent == CLIENT.user_agent
    assert current_session(db, digest(ticket)) is None
    assert current_session(db, "") is None and current_session(db, None) is None
    assert current_session(db, digest("made-up-token")) is None


def test_a_ticket_redeems_only_in_the_browser_that_asked_for_it(db):
    make_user(db, "alice@example.org")
    ticket = login(db, "alice@example.org", STRONG, CLIENT)
    db.commit()
    assert redeem_ticket(db, ticket, OTHER_IP.binding) is None  # another browser's binding
    assert redeem_ticket(db, ticket, "") is None  # a browser without one
    assert redeem_ticket(db, ticket, digest(ticket)) is None
    db.commit()
    assert redeem_ticket(db, ticket, CLIENT.binding) is not None  # the failed tries changed nothing


def test_a_browser_without_a_binding_is_refused_before_any_password_check(db):
    user = make_user(db, "alice@example.org")
    unbound = Client(ip=CLIENT.ip, user_agent=CLIENT.user_agent)
    for _ in range(11):  # more than the account's 10 failures: none of these counts as one
        with pytest.raises(BrowserNotBound) as refused:
            login(db, "alice@example.org", "not her password", unbound)
    assert str(refused.value) == (
        "Your browser must accept cookies from this site to sign in. Reload the page and try again."
    )
    with pytest.raises(BrowserNotBound):
        create_ticket(db, user, unbound)
    assert redeem_ticket(db, login(db, "alice@example.org", STRONG, CLIENT), CLIENT.binding) is not None


def test_expired_ticket_cannot_be_redeemed(db):
    user = make_user(db, "alice@example.org")
    ticket = create_ticket(db, user, CLIENT)
    db.commit()
    db.execute(update(UserSession).values(ticket_expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    assert redeem_ticket(db, ticket, CLIENT.binding) is None


def test_raw_tickets_and_tokens_are_never_stored(db):
    user = make_user(db, "alice@example.org")
    ticket = create_ticket(db, user, CLIENT)
    db.commit()
    stored_while_ticket = _every_stored_value(db)
    token, _ = redeem_ticket(db, ticket, CLIENT.binding)
    db.commit()
    api_session, api_token = create_session(db, user, CLIENT)
    db.commit()
    stored = stored_while_ticket + _every_stored_value(db)
    for secret in (ticket, token, api_token):
        assert not any(secret in value for value in stored), "a raw token is stored"
    # What is stored is a digest that still finds the session.
    assert current_session(db, digest(token)) is not None
    assert current_session(db, digest(api_token))[1].id == api_session.id


def _every_stored_value(db) -> list[str]:
    values = []
    for table in SQLModel.metadata.sorted_tables:
        for row in db.execute(sa_select(table)).all():
            values.extend(str(v) for v in row if v is not None)
    return values


def test_idle_session_expires(db):
    user = make_user(db, "alice@example.org")
    token = sign_in(db, user)
    record = whoami(db, token)[1]
    idle = timedelta(minutes=settings.session_idle_minutes)
    set_session(db, record.id, last_seen_at=utcnow() - idle + timedelta(minutes=5))
    assert current_session(db, digest(token)) is not None
    set_session(db, record.id, last_seen_at=utcnow() - idle - timedelta(minutes=1))
    assert current_session(db, digest(token)) is None
    assert active_sessions(db, user) == []


def test_absolute_expiry_ends_an_active_session(db):
    user = make_user(db, "alice@example.org")
    token = sign_in(db, user)
    record = whoami(db, token)[1]
    set_session(db, record.id, expires_at=utcnow() - timedelta(seconds=1), last_seen_at=utcnow())
    assert current_session(db, digest(token)) is None
    assert active_sessions(db, user) == []


def test_current_session_refuses_a_deactivated_user(db):
    user = make_user(db, "alice@example.org")
    token = sign_in(db, user)
    user.is_active = False
    db.add(user)
    db.commit()
    assert current_session(db, digest(token)) is None


def test_logout_revokes_only_that_session(db):
    user = make_user(db, "alice@example.org")
    token = sign_in(db, user)
    other = sign_in(db, user, OTHER_IP)
    logout(db, digest(token))
    db.commit()
    assert current_session(db, digest(token)) is None
    assert current_session(db, digest(other)) is not None
    logout(db, digest("unknown-token"))
    logout(db, None)
    db.commit()


def test_revoking_another_users_session_is_not_found_and_leaves_it_live(db):
    alice = make_user(db, "alice@example.org")
    bob = make_user(db, "bob@example.org", OTHER)
    bob_token = sign_in(db, bob)
    bob_session = whoami(db, bob_token)[1]
    with pytest.raises(SessionNotFound):
        revoke_session(db, alice, bob_session.id)
    db.commit()
    assert current_session(db, digest(bob_token)) is not None
    with pytest.raises(SessionNotFound):
        revoke_session(db, alice, 999_999)


def test_revoke_own_session(db):
    alice = make_user(db, "alice@example.org")
    token = sign_in(db, alice)
    keep = sign_in(db, alice, OTHER_IP)
    revoke_session(db, alice, whoami(db, token)[1].id)
    db.commit()
    assert current_session(db, digest(token)) is None
    assert current_session(db, digest(keep)) is not None
    with pytest.raises(SessionNotFound):
        revoke_session(db, alice, whoami(db, keep)[1].id + 1000)


def test_active_sessions_lists_only_live_ones(db):
    alice = make_user(db, "alice@example.org")
    bob = make_user(db, "bob@example.org", OTHER)
    live_old = whoami(db, sign_in(db, alice))[1]
    live_new = whoami(db, sign_in(db, alice, OTHER_IP))[1]
    revoked = sign_in(db, alice)
    idle = whoami(db, sign_in(db, alice))[1]
    expired = whoami(db, sign_in(db, alice))[1]
    create_ticket(db, alice, CLIENT)  # never redeemed: not a session yet
    sign_in(db, bob)  # someone else's
    logout(db, digest(revoked))
    db.commit()
    now = utcnow()
    set_session(db, live_old.id, last_seen_at=now - timedelta(minutes=30))
    set_session(db, idle.id, last_seen_at=now - timedelta(minutes=settings.session_idle_minutes + 1))
    set_session(db, expired.id, expires_at=now - timedelta(seconds=1))
    listed = active_sessions(db, alice)
    assert [s.id for s in listed] == [live_new.id, live_old.id]
