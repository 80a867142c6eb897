"""Sign-up with address verification (services.signup): the request, the worker, the link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func
from sqlmodel import Session, select

from pwapp.db import utcnow
from pwapp.models import EmailVerification, SignUpRequest, User
from pwapp.models.outbox import PENDING
from pwapp.security import throttle, tokens
from pwapp.services.accounts import Client, authenticate, find_user
from pwapp.services.errors import (
    EmailNotVerified,
    EmailTaken,
    InvalidCredentials,
    InvalidInput,
    TooManyAttempts,
    VerifyLinkExpired,
    VerifyLinkInvalid,
    VerifyLinkUsed,
    WrongSignUpPassword,
)
from pwapp.services.passwords import reset_password
from pwapp.services.retention import purge
from pwapp.services.signup import (
    check_verify_link,
    handle_sign_up_requests,
    request_sign_up,
    request_verification_link,
    sign_up,
    verify_email,
)
from pwapp.settings import settings
from tests.factories import (
    ALICE,
    BOB,
    CLIENT,
    NEW,
    OLD,
    mails,
    newest_verify_link,
    request_link,
    run_together,
)
from tests.test_reset_password import _shape

CAROL = "carol@example.org"


def signed_up(db: Session, email: str = CAROL, password: str = BOB, client: Client = CLIENT) -> str:
    """Sign up, let the worker run, and return the emailed link's token."""
    request_sign_up(db, email, password, password, client)
    db.commit()
    return newest_verify_link(db, email)


def user(db: Session, email: str = CAROL) -> User:
    found = find_user(db, email)
    assert found is not None
    db.refresh(found)
    return found


def test_a_new_address_gets_an_unconfirmed_account_and_a_link(db):
    assert sign_up(db, "Carol@Example.org", BOB, BOB, CLIENT) is None
    db.commit()
    assert find_user(db, CAROL) is None  # nothing exists until the worker runs
    token = newest_verify_link(db, CAROL)
    assert user(db).email_verified_at is None
    (record,) = db.exec(select(EmailVerification)).all()
    _, secret = tokens.load_reset(settings.secret_key, token, 60, salt=tokens.VERIFY_SALT)
    assert record.token_hash == tokens.digest(secret)  # the link's secret is kept only as a digest
    (mail,) = mails(db, template="verify_email")
    assert mail.status == PENDING and "24 hours" in mail.text()


def test_a_taken_address_mails_its_owner_and_changes_nothing(db, alice):
    before = user(db, ALICE)
    sign_up(db, ALICE.upper(), NEW, NEW, CLIENT)
    db.commit()
    (mail,) = mails(db, recipient=ALICE)
    assert mail.template == "sign_up_attempt" and mail.status == PENDING
    assert "/auth/login" in mail.text() and "/auth/forgot-password" in mail.text() and CLIENT.ip in mail.text()
    after = user(db, ALICE)
    assert (after.password_hash, after.email_verified_at) == (before.password_hash, before.email_verified_at)
    assert db.exec(select(EmailVerification)).all() == []
    authenticate(db, ALICE, OLD, CLIENT)


def test_new_and_taken_addresses_do_the_same_work_in_the_request(db, engine, alice):
    """Same answer, same statements (one queued row), the password hashed either way."""
    answers, shapes = [], []
    for email in (CAROL, ALICE):
        seen: list = []

        def record(conn, cursor, statement, parameters, context, executemany, seen=seen):
            seen.append(_shape(statement))

        event.listen(engine, "before_cursor_execute", record)
        try:
            answers.append(sign_up(db, email, NEW, NEW, CLIENT))
            db.commit()
        finally:
            event.remove(engine, "before_cursor_execute", record)
        shapes.append(seen)
    assert answers == [None, None]
    assert shapes[0] == shapes[1] == [("INSERT", "sign_up_request")]
    queued = db.exec(select(SignUpRequest).order_by(SignUpRequest.id)).all()
    assert [r.email for r in queued] == [CAROL, ALICE]
    assert all(r.password_hash.startswith("$argon2") and NEW not in r.password_hash for r in queued)


def test_field_problems_are_told_for_every_address_alike(db, alice):
    for email in (ALICE, CAROL):
        with pytest.raises(InvalidInput) as caught:
            sign_up(db, email, "short", "other", CLIENT)
        assert set(caught.value.errors) == {"new_password", "confirm_password"}
    with pytest.raises(InvalidInput) as caught:
        sign_up(db, "not-an-address", NEW, NEW, CLIENT)
    assert set(caught.value.errors) == {"email"}
    assert db.exec(select(func.count()).select_from(SignUpRequest)).one() == 0


def test_a_fourth_sign_up_for_an_address_is_silently_dropped(db):
    for i in range(4):
        sign_up(db, CAROL, BOB, BOB, Client(ip=f"192.0.2.{i}"))
    db.commit()
    assert db.exec(select(func.count()).select_from(SignUpRequest)).one() == 3


def test_sign_ups_from_one_ip_stop_after_fifty_an_hour(db):
    for i in range(51):
        sign_up(db, f"user{i}@example.org", BOB, BOB, CLIENT)
    db.commit()
    assert db.exec(select(func.count()).select_from(SignUpRequest)).one() == 50


def test_the_link_confirms_the_address_once_and_only_then_the_account_signs_in(db):
    token = signed_up(db)
    with pytest.raises(InvalidCredentials):
        authenticate(db, CAROL, NEW, CLIENT)  # a wrong password: the usual answer
    with pytest.raises(EmailNotVerified):
        authenticate(db, CAROL, BOB, CLIENT)  # the right one: not confirmed yet
    check_verify_link(db, token)
    check_verify_link(db, token)  # opening the page (or a scanner) uses nothing up
    confirmed = verify_email(db, token, BOB, CLIENT)
    db.commit()
    assert confirmed.email_verified_at is not None
    assert authenticate(db, CAROL, BOB, CLIENT).id == confirmed.id
    with pytest.raises(VerifyLinkUsed):
        check_verify_link(db, token)
    with pytest.raises(VerifyLinkUsed):
        verify_email(db, token, BOB, CLIENT)


def test_whoever_signs_up_first_with_anothers_address_cannot_have_the_owner_confirm_it(db):
    token = signed_up(db, password=BOB)  # someone else chose BOB for Carol's address
    request_sign_up(db, CAROL, NEW, NEW, Client(ip="192.0.2.99"))  # Carol signs up herself
    db.commit()
    assert [m.template for m in mails(db, recipient=CAROL)] == ["verify_email", "sign_up_attempt"]
    with pytest.raises(WrongSignUpPassword):
        verify_email(db, token, NEW, CLIENT)  # Carol opens the first mail: her password is not BOB
    db.rollback()
    check_verify_link(db, token)  # still usable, still unconfirmed
    assert user(db).email_verified_at is None
    reset_password(db, request_link(db, CAROL), NEW, NEW, CLIENT)  # what the page sends her to
    db.commit()
    assert authenticate(db, CAROL, NEW, CLIENT).email_verified_at is not None
    with pytest.raises(InvalidCredentials):
        authenticate(db, CAROL, BOB, CLIENT)
    with pytest.raises(VerifyLinkUsed):
        verify_email(db, token, BOB, CLIENT)  # and the first link no longer confirms anything


def test_wrong_sign_up_passwords_count_as_failed_log_ins(db):
    token = signed_up(db)
    for _ in range(throttle.LOGIN_PER_ACCOUNT.item.amount):
        with pytest.raises(WrongSignUpPassword):
            verify_email(db, token, NEW, CLIENT)
    with pytest.raises(TooManyAttempts):
        verify_email(db, token, BOB, CLIENT)  # past the limit even the right one waits
    assert user(db).email_verified_at is None


def test_confirming_with_the_right_password_clears_the_wrong_tries_before_it(db):
    token = signed_up(db)
    for _ in range(throttle.LOGIN_PER_ACCOUNT.item.amount - 1):
        with pytest.raises(WrongSignUpPassword):
            verify_email(db, token, NEW, CLIENT)
    verify_email(db, token, BOB, CLIENT)
    db.commit()
    for _ in range(2):  # like a log-in's success: the owner's next typo is a typo, not a lock-out
        with pytest.raises(InvalidCredentials):
            authenticate(db, CAROL, NEW, CLIENT)


def test_the_link_expires(db):
    token = signed_up(db)
    later = utcnow() + timedelta(seconds=settings.verify_token_max_age + 1)
    with pytest.raises(VerifyLinkExpired):
        check_verify_link(db, token, now=later)
    with pytest.raises(VerifyLinkExpired):
        verify_email(db, token, BOB, CLIENT, now=later)
    assert user(db).email_verified_at is None


@pytest.mark.parametrize("token", ["", "x", "a" * 600, "not a token", "WzEsInNlY3JldCJd.aBcDeF.signature"])
def test_garbage_links_are_invalid(db, token):
    with pytest.raises(VerifyLinkInvalid):
        check_verify_link(db, token)


def test_a_reset_link_is_no_verification_link_and_back(db, alice):
    reset_token = request_link(db, ALICE)
    with pytest.raises(VerifyLinkInvalid):
        check_verify_link(db, reset_token)
    token = signed_up(db)
    record_id, secret = tokens.load_reset(settings.secret_key, token, 60, salt=tokens.VERIFY_SALT)
    forged = tokens.sign_reset(settings.secret_key, record_id, secret[::-1], salt=tokens.VERIFY_SALT)
    with pytest.raises(VerifyLinkInvalid):
        check_verify_link(db, forged)


def test_a_reset_link_confirms_an_unconfirmed_address(db):
    signed_up(db)
    reset_password(db, request_link(db, CAROL), NEW, NEW, CLIENT)
    db.commit()
    assert user(db).email_verified_at is not None
    authenticate(db, CAROL, NEW, CLIENT)


def test_a_new_link_is_mailed_only_to_an_unconfirmed_account(db, alice):
    signed_up(db)
    for email in (CAROL, ALICE, "nobody@example.org"):
        request_verification_link(db, email, Client(ip="192.0.2.50"))
    db.commit()
    assert [m.template for m in mails(db)] == ["verify_email", "verify_email"]
    assert [m.recipient for m in mails(db)] == [CAROL, CAROL]
    verify_email(db, newest_verify_link(db, CAROL), BOB, CLIENT)  # the newest link works
    db.commit()


def test_concurrent_confirmations_confirm_once(engine, db):
    token = signed_up(db)
    outcomes: list[str] = []

    def confirm():
        with Session(engine, expire_on_commit=False) as own:
            try:
                verify_email(own, token, BOB, CLIENT)
                own.commit()
                outcomes.append("confirmed")
            except VerifyLinkUsed:
                own.rollback()
                outcomes.append("used")

    run_together(confirm)
    assert sorted(outcomes) == ["confirmed", "used"]


def test_two_workers_make_one_account_per_address(engine, db):
    for i in range(3):
        request_sign_up(db, CAROL, BOB, BOB, Client(ip=f"192.0.2.{i}"))
    db.commit()

    def worker():
        with Session(engine) as own:
            handle_sign_up_requests(own, limit=1)
            own.commit()

    run_together(worker, threads=3)
    handle_sign_up_requests(db)
    db.commit()
    assert db.exec(select(func.count()).select_from(User)).one() == 1
    assert sorted(m.template for m in mails(db)) == ["sign_up_attempt", "sign_up_attempt", "verify_email"]


def test_unconfirmed_accounts_are_purged_after_their_time(engine, db, alice):
    signed_up(db)
    request_link(db, CAROL)
    later = utcnow() + timedelta(hours=settings.unverified_account_hours, minutes=1)
    kept = purge(engine, retention=timedelta(days=30), idle=timedelta(days=7), unverified=timedelta(days=30), now=later)
    assert kept.deleted["unverified_accounts"] == 0
    done = purge(engine, retention=timedelta(days=30), idle=timedelta(days=7),
                 unverified=timedelta(hours=settings.unverified_account_hours), now=later)
    assert (done.deleted["unverified_accounts"], done.deleted["verify_links"], done.deleted["resets"]) == (1, 1, 1)
    db.expire_all()
    assert find_user(db, CAROL) is None and find_user(db, ALICE) is not None


def test_without_verification_sign_up_is_immediate_and_tells_a_taken_address(db, alice, without_verification):
    created = sign_up(db, CAROL, BOB, BOB, CLIENT)
    assert created is not None and created.email_verified_at is not None
    with pytest.raises(InvalidInput) as caught:
        sign_up(db, ALICE, BOB, BOB, CLIENT)
    assert caught.value.errors == {"email": [EmailTaken.message]}
