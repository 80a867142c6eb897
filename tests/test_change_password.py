"""Change password while signed in (services/passwords.change_password) on a real database."""

from __future__ import annotations

import re

import pytest

from pwapp.models import User
from pwapp.models.outbox import PENDING
from pwapp.security.passwords import hash_password
from pwapp.security.tokens import digest
from pwapp.services.accounts import Client, authenticate, create_session, current_session, redeem_ticket
from pwapp.services.errors import (
    BrowserNotBound,
    IncorrectCurrentPassword,
    InvalidCredentials,
    InvalidInput,
    PasswordsDoNotMatch,
    ResetLinkStale,
    SamePassword,
    TooManyAttempts,
)
from pwapp.services.passwords import change_password, check_reset_link
from pwapp.settings import settings
from tests.factories import BOB, CLIENT, NEW, OLD, PHONE, mails, make_user, request_link, sign_in, whoami


def stored_user(db, user_id: int) -> User:
    db.expire_all()
    return db.get(User, user_id)


@pytest.fixture
def alice(db):
    """Alice signed in on her laptop (the current session) and on her phone."""
    user = make_user(db)
    laptop = sign_in(db, user, CLIENT)
    phone = sign_in(db, user, PHONE)
    return user, laptop, phone


def test_wrong_current_password_changes_nothing(db, alice):
    user, laptop, phone = alice
    before = stored_user(db, user.id)
    hash_before, changed_before = before.password_hash, before.password_changed_at
    me, session = whoami(db, laptop)
    with pytest.raises(InvalidInput) as caught:
        change_password(db, me, session, "not-my-password", NEW, NEW, client=CLIENT)
    db.rollback()
    assert caught.value.errors == {"current_password": ["Current password is incorrect."]}
    assert caught.value.errors == IncorrectCurrentPassword().errors
    after = stored_user(db, user.id)
    assert after.password_hash == hash_before
    assert after.password_changed_at == changed_before
    assert current_session(db, digest(laptop)) is not None and current_session(db, digest(phone)) is not None
    assert mails(db, template="password_changed") == []
    assert authenticate(db, "alice@example.org", OLD, CLIENT).id == user.id


def test_missing_current_password_is_asked_for(db, alice):
    user, laptop, _ = alice
    me, session = whoami(db, laptop)
    with pytest.raises(InvalidInput) as caught:
        change_password(db, me, session, "", NEW, NEW, client=CLIENT)
    assert caught.value.errors == {"current_password": ["Enter your current password."]}


def test_five_wrong_current_passwords_lock_the_form(db, alice):
    user, laptop, _ = alice
    me, session = whoami(db, laptop)
    for i in range(5):
        with pytest.raises(InvalidInput):
            change_password(db, me, session, f"wrong-{i}", NEW, NEW, client=CLIENT)
    hash_before = stored_user(db, user.id).password_hash
    # Even the right current password is refused now, with a clear wait.
    with pytest.raises(TooManyAttempts) as caught:
        change_password(db, me, session, OLD, NEW, NEW, client=CLIENT)
    assert re.fullmatch(r"Too many attempts\. Try again in 1[45] minutes\.", str(caught.value))
    db.rollback()
    assert stored_user(db, user.id).password_hash == hash_before
    # Another user is not affected by Alice's lock.
    bob = make_user(db, "bob@example.org", BOB)
    bob_token = sign_in(db, bob)
    bob_me, bob_session = whoami(db, bob_token)
    change_password(db, bob_me, bob_session, BOB, NEW, NEW, client=CLIENT)


def test_the_right_current_password_clears_the_count_of_wrong_ones(db, alice):
    user, laptop, _ = alice
    me, session = whoami(db, laptop)
    for i in range(4):
        with pytest.raises(InvalidInput):
            change_password(db, me, session, f"wrong-{i}", NEW, NEW, client=CLIENT)
    # Mistakes in the new password, with the right current one, never pause the form...
    for _ in range(6):
        with pytest.raises(InvalidInput) as caught:
            change_password(db, me, session, OLD, "short", "short", client=CLIENT)
        assert list(caught.value.errors) == ["new_password"]
    # ...and the count of wrong current passwords starts again from zero.
    for i in range(5):
        with pytest.raises(InvalidInput) as caught:
            change_password(db, me, session, f"wrong-again-{i}", NEW, NEW, client=CLIENT)
        assert caught.value.errors == IncorrectCurrentPassword().errors
    with pytest.raises(TooManyAttempts):
        change_password(db, me, session, OLD, NEW, NEW, client=CLIENT)


def test_every_problem_is_reported_together(db, alice):
    user, laptop, _ = alice
    me, session = whoami(db, laptop)
    with pytest.raises(InvalidInput) as caught:
        change_password(db, me, session, "not-my-password", "password123456", "password1234567", client=CLIENT)
    errors = caught.value.errors
    assert set(errors) == {"current_password", "new_password", "confirm_password"}
    assert errors["current_password"] == ["Current password is incorrect."]
    assert "This password is too easy to guess." in errors["new_password"]
    assert errors["confirm_password"] == [PasswordsDoNotMatch.message]


def test_same_password_as_current_is_refused_with_the_other_problems(db, alice):
    user, laptop, _ = alice
    me, session = whoami(db, laptop)
    with pytest.raises(InvalidInput) as caught:
        change_password(db, me, session, OLD, OLD, OLD + "x", client=CLIENT)
    assert caught.value.errors == {
        "new_password": [SamePassword.message],
        "confirm_password": [PasswordsDoNotMatch.message],
    }
    # A weak legacy password "changed" to itself: both the policy and the sameness are reported.
    me.password_hash = hash_password("password123456")
    db.add(me)
    db.commit()
    with pytest.raises(InvalidInput) as caught:
        change_password(db, me, session, "password123456", "password123456", "password123456", client=CLIENT)
    reasons = caught.value.errors["new_password"]
    assert "This password is too easy to guess." in reasons
    assert SamePassword.message in reasons
    assert "current_password" not in caught.value.errors


def test_success_signs_out_every_session_and_notifies(db, alice):
    user, laptop, phone = alice
    bob = make_user(db, "bob@example.org", BOB)
    bob_token = sign_in(db, bob)
    changed_before = stored_user(db, user.id).password_changed_at
    me, session = whoami(db, laptop)

    ticket = change_password(db, me, session, OLD, NEW, NEW, client=CLIENT)
    db.commit()

    assert stored_user(db, user.id).password_changed_at > changed_before
    with pytest.raises(InvalidCredentials):
        authenticate(db, "alice@example.org", OLD, CLIENT)
    assert authenticate(db, "alice@example.org", NEW, CLIENT).id == user.id
    # Every earlier session of Alice is dead, including the one that made the change...
    assert current_session(db, digest(laptop)) is None
    assert current_session(db, digest(phone)) is None
    # ...Bob is untouched...
    assert whoami(db, bob_token)[0].id == bob.id
    # ...and the browser that made the change continues with a fresh session.
    redeemed = redeem_ticket(db, ticket, CLIENT.binding)
    db.commit()
    assert redeemed is not None
    assert whoami(db, redeemed[0])[0].id == user.id
    assert redeem_ticket(db, ticket, CLIENT.binding) is None

    (mail,) = mails(db, template="password_changed")
    assert mail.recipient == "alice@example.org" and mail.status == PENDING
    for secret in (OLD, NEW, ticket, redeemed[0], laptop, phone):
        assert secret not in mail.subject
        assert secret not in mail.text()
        assert secret not in mail.html()
    assert CLIENT.ip in mail.text()  # the notice says where the change came from
    assert settings.base_url + "/auth/forgot-password" in mail.text()


def test_a_browser_without_a_binding_is_refused_before_the_current_password_is_checked(db, alice):
    user, laptop, _ = alice
    me, session = whoami(db, laptop)
    unbound = Client(ip=CLIENT.ip, user_agent=CLIENT.user_agent)
    for _ in range(6):  # more than the 5 wrong current passwords allowed: none is counted
        with pytest.raises(BrowserNotBound):
            change_password(db, me, session, "not my password", NEW, NEW, client=unbound)
    db.rollback()
    assert whoami(db, laptop)[0].id == user.id  # nothing changed, the session included
    ticket = change_password(db, me, session, OLD, NEW, NEW, client=CLIENT)
    db.commit()
    assert redeem_ticket(db, ticket, CLIENT.binding) is not None


def test_keeping_other_sessions_still_rotates_the_current_one(db, alice):
    user, laptop, phone = alice
    me, session = whoami(db, laptop)
    ticket = change_password(db, me, session, OLD, NEW, NEW, client=CLIENT, sign_out_others=False)
    db.commit()
    assert current_session(db, digest(laptop)) is None
    assert whoami(db, phone)[0].id == user.id
    redeemed = redeem_ticket(db, ticket, CLIENT.binding)
    db.commit()
    assert redeemed is not None and redeemed[0] not in (laptop, phone)
    assert whoami(db, redeemed[0])[0].id == user.id
    assert authenticate(db, "alice@example.org", NEW, CLIENT).id == user.id


def test_api_issuer_returns_a_working_session_token(db, alice):
    user, laptop, _ = alice
    me, session = whoami(db, laptop)
    token = change_password(
        db, me, session, OLD, NEW, NEW, client=CLIENT, issue=lambda d, u, c, **kw: create_session(d, u, c, **kw)[1]
    )
    db.commit()
    assert current_session(db, digest(laptop)) is None
    assert whoami(db, token)[0].id == user.id


def test_change_kills_outstanding_reset_links(db, alice):
    user, laptop, _ = alice
    token = request_link(db, "alice@example.org")
    assert len(mails(db, template="password_reset")) == 1
    assert check_reset_link(db, token)[1].id == user.id
    me, session = whoami(db, laptop)
    change_password(db, me, session, OLD, NEW, NEW, client=CLIENT)
    db.commit()
    db.expire_all()
    with pytest.raises(ResetLinkStale):
        check_reset_link(db, token)


def test_ten_thousand_characters_get_a_clear_message(db, alice):
    user, laptop, _ = alice
    me, session = whoami(db, laptop)
    huge = "Quartz-Harbor-Tulip-" * 500
    assert len(huge) == 10_000
    with pytest.raises(InvalidInput) as caught:
        change_password(db, me, session, OLD, huge, huge, client=CLIENT)
    assert caught.value.errors == {"new_password": ["Use at most 1024 characters."]}
    # A huge *current* password is just wrong, not a crash.
    with pytest.raises(InvalidInput) as caught:
        change_password(db, me, session, huge, NEW, NEW, client=CLIENT)
    assert caught.value.errors == {"current_password": ["Current password is incorrect."]}
    db.rollback()
    assert authenticate(db, "alice@example.org", OLD, CLIENT).id == user.id
