"""Forgot and reset password (request_password_reset / check_reset_link / reset_password)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event, text
from sqlmodel import Session, select

from pwapp.db import utcnow
from pwapp.models import PasswordReset
from pwapp.models.outbox import DISCARDED, PENDING
from pwapp.security import throttle, tokens
from pwapp.security.tokens import digest
from pwapp.services.accounts import Client, authenticate, create_ticket, current_session, redeem_ticket
from pwapp.services.errors import (
    InvalidCredentials,
    InvalidEmail,
    InvalidInput,
    PasswordsDoNotMatch,
    ResetLinkExpired,
    ResetLinkInvalid,
    ResetLinkStale,
    ResetLinkSuperseded,
    ResetLinkUsed,
    TooManyAttempts,
)
from pwapp.services.passwords import (
    check_reset_link,
    check_reset_reference,
    issue_reset_links,
    request_password_reset,
    reset_password,
    reset_password_by_reference,
    set_password,
)
from pwapp.settings import settings
from tests.factories import (
    CLIENT,
    LINK_PREFIX,
    NEW,
    OLD,
    PHONE,
    RESET_LINK,
    mails,
    make_user,
    request_link,
    run_together,
    sign_in,
)


def flip(text: str, index: int) -> str:
    return text[:index] + ("B" if text[index] == "A" else "A") + text[index + 1 :]


def only_reset_record(db) -> PasswordReset:
    (record,) = db.exec(select(PasswordReset)).all()
    return record


# --- request -----------------------------------------------------------------------------


def test_known_email_gets_one_pending_mail_with_a_link(db, alice):
    request_password_reset(db, "alice@example.org", CLIENT)
    db.commit()
    (mail,) = mails(db)
    assert mail.template == "password_reset"
    assert mail.status == PENDING
    assert mail.recipient == "alice@example.org"
    (token,) = RESET_LINK.findall(mail.text())
    assert LINK_PREFIX + token in mail.text()
    record, user = check_reset_link(db, token)
    assert user.id == alice.id
    # Only a digest of the link's secret is stored.
    assert token not in record.token_hash
    _, secret = tokens.load_reset(settings.secret_key, token, settings.reset_token_max_age)
    assert record.token_hash == tokens.digest(secret)


def test_unknown_email_queues_nothing_that_will_be_sent(db, alice):
    request_password_reset(db, "nobody@example.org", CLIENT)
    db.commit()
    assert mails(db, status=PENDING) == []
    (decoy,) = mails(db)
    assert decoy.status == DISCARDED
    assert decoy.recipient == "nobody@example.org"
    (token,) = RESET_LINK.findall(decoy.text())  # rendered like a real one, for equal work...
    with pytest.raises(ResetLinkInvalid):  # ...but naming a record no account owns
        check_reset_link(db, token)


def test_the_raw_reset_token_is_stored_nowhere(db, alice):
    token = request_link(db, "alice@example.org")
    _, secret = tokens.load_reset(settings.secret_key, token, settings.reset_token_max_age)
    for table in ("password_reset", "outbox_message"):
        for row in db.execute(text(f"SELECT * FROM {table}")).all():
            stored = " ".join(str(value) for value in row)
            assert token not in stored and secret not in stored


def test_email_match_ignores_case(db, alice):
    token = request_link(db, "  ALICE@Example.ORG ")
    assert check_reset_link(db, token)[1].id == alice.id
    (mail,) = mails(db)
    assert mail.recipient == "alice@example.org"


def test_request_does_not_lock_out_the_owner(db, alice):
    request_link(db, "alice@example.org")
    assert authenticate(db, "alice@example.org", OLD, CLIENT).id == alice.id


def test_invalid_email_syntax_is_refused(db):
    for bad in ("not-an-email", "a@", "@example.org", ""):
        with pytest.raises(InvalidEmail):
            request_password_reset(db, bad, CLIENT)
    assert mails(db) == []


def test_fourth_request_for_an_address_is_silently_dropped(db, alice):
    for _ in range(3):
        request_link(db, "alice@example.org")
    assert len(mails(db, template="password_reset")) == 3
    request_password_reset(db, "alice@example.org", PHONE)  # raises nothing...
    db.commit()
    assert len(mails(db, template="password_reset")) == 3  # ...and queues nothing
    assert len(db.exec(select(PasswordReset)).all()) == 3
    # Other addresses are not affected.
    make_user(db, "bob@example.org", NEW)
    request_link(db, "bob@example.org")


def test_known_and_unknown_email_do_the_same_database_work(db, engine, alice):
    def statements(step) -> list[tuple[str, str]]:
        seen: list[tuple[str, str]] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            seen.append(_shape(statement))

        event.listen(engine, "before_cursor_execute", record)
        try:
            step()
            db.commit()
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return seen

    # Answering: one queued row, whatever the address.
    accepted = [statements(lambda: request_password_reset(db, email, CLIENT)) for email in ("alice@example.org", "nobody@example.org")]
    assert accepted[0] == accepted[1] == [("INSERT", "reset_request")]
    # The worker, one request at a time: the same statements for the account and the stranger.
    known, unknown = (statements(lambda: issue_reset_links(db, limit=1)) for _ in range(2))
    assert known == unknown
    assert ("SELECT", "user") in known
    assert ("INSERT", "password_reset") in known
    assert ("INSERT", "outbox_message") in known
    # The difference is only in what the rows say.
    assert [m.status for m in mails(db)] == [PENDING, DISCARDED]


_VERB_TABLE = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE)\b.*?\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)\"?", re.IGNORECASE | re.DOTALL
)


def _shape(statement: str) -> tuple[str, str]:
    if re.match(r"^\s*UPDATE\s", statement, re.IGNORECASE):
        table = re.match(r"^\s*UPDATE\s+\"?(\w+)\"?", statement, re.IGNORECASE).group(1)
        return "UPDATE", table
    match = _VERB_TABLE.match(statement)
    if match:
        return match.group(1).upper(), match.group(2)
    return statement.split()[0].upper(), ""


def test_two_workers_issue_each_queued_request_exactly_once(engine, db):
    addresses = [f"user{i:02d}@example.org" for i in range(30)]
    for i, address in enumerate(addresses):
        make_user(db, address, OLD)
        request_password_reset(db, address, Client(ip=f"192.0.2.{i}"))
    db.commit()
    issued: list[int] = []

    def worker():
        while True:
            with Session(engine) as own:
                count = issue_reset_links(own, limit=3)
                own.commit()
            if not count:
                return
            issued.append(count)

    run_together(worker)
    assert sum(issued) == 30
    assert sorted(m.recipient for m in mails(db, template="password_reset", status=PENDING)) == addresses
    assert all(r.superseded_at is None for r in db.exec(select(PasswordReset)).all())


# --- checking a link ---------------------------------------------------------------------


def test_link_expires_by_the_clock(db, alice):
    token = request_link(db, "alice@example.org")
    later = utcnow() + timedelta(seconds=settings.reset_token_max_age + 1)
    assert check_reset_link(db, token)[1].id == alice.id
    with pytest.raises(ResetLinkExpired):
        check_reset_link(db, token, now=later)
    with pytest.raises(ResetLinkExpired):
        reset_password(db, token, NEW, NEW, CLIENT, now=later)
    db.rollback()
    assert authenticate(db, "alice@example.org", OLD, CLIENT).id == alice.id


def test_link_requested_in_the_past_is_expired_now(db, alice):
    token = request_link(db, "alice@example.org", now=utcnow() - timedelta(seconds=settings.reset_token_max_age + 1))
    with pytest.raises(ResetLinkExpired):
        check_reset_link(db, token)


def test_newer_request_supersedes_the_older_link(db, alice):
    first = request_link(db, "alice@example.org")
    second = request_link(db, "alice@example.org")
    assert first != second
    with pytest.raises(ResetLinkSuperseded):
        check_reset_link(db, first)
    with pytest.raises(ResetLinkSuperseded):
        reset_password(db, first, NEW, NEW, CLIENT)
    db.rollback()
    reset_password(db, second, NEW, NEW, CLIENT)
    db.commit()


def test_request_for_another_account_does_not_supersede(db, alice):
    make_user(db, "bob@example.org", NEW)
    token = request_link(db, "alice@example.org")
    request_link(db, "bob@example.org")
    request_password_reset(db, "nobody@example.org", CLIENT)
    db.commit()
    assert check_reset_link(db, token)[1].id == alice.id


@pytest.mark.parametrize("where", ["start", "middle", "signature"])
def test_flipped_character_is_invalid(db, alice, where):
    token = request_link(db, "alice@example.org")
    index = {"start": 0, "middle": len(token) // 2, "signature": len(token) - 10}[where]
    with pytest.raises(ResetLinkInvalid):
        check_reset_link(db, flip(token, index))
    with pytest.raises(ResetLinkInvalid):
        reset_password(db, flip(token, index), NEW, NEW, CLIENT)
    db.rollback()
    assert check_reset_link(db, token)[1].id == alice.id


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "x" * 513, "....", "\u00e9" * 40])
def test_garbage_is_invalid(db, alice, token):
    with pytest.raises(ResetLinkInvalid):
        check_reset_link(db, token)


def test_token_signed_with_another_salt_is_invalid(db, alice):
    token = request_link(db, "alice@example.org")
    record_id, secret = tokens.load_reset(settings.secret_key, token, settings.reset_token_max_age)
    forged = URLSafeTimedSerializer(settings.secret_key, salt="pwapp.other-purpose").dumps([record_id, secret])
    with pytest.raises(ResetLinkInvalid):
        check_reset_link(db, forged)


def test_validly_signed_token_with_the_wrong_secret_is_invalid(db, alice):
    """Even someone holding the signing key cannot reset without the record's secret."""
    make_user(db, "bob@example.org", NEW)
    alice_token = request_link(db, "alice@example.org")
    request_link(db, "bob@example.org")
    alice_id, alice_secret = tokens.load_reset(settings.secret_key, alice_token, settings.reset_token_max_age)
    bob_record = db.exec(select(PasswordReset).where(PasswordReset.id != alice_id)).one()
    for forged in (
        tokens.sign_reset(settings.secret_key, bob_record.id, alice_secret),  # Alice's secret on Bob's record
        tokens.sign_reset(settings.secret_key, alice_id, tokens.new_token()),  # a guessed secret
        tokens.sign_reset(settings.secret_key, 999_999, alice_secret),  # no such record
    ):
        with pytest.raises(ResetLinkInvalid):
            check_reset_link(db, forged)
        with pytest.raises(ResetLinkInvalid):
            reset_password(db, forged, OLD + "!", OLD + "!", CLIENT)
        db.rollback()
    with pytest.raises(InvalidCredentials):
        authenticate(db, "bob@example.org", OLD + "!", CLIENT)


def test_decoy_record_for_unknown_email_cannot_be_redeemed(db, alice):
    request_password_reset(db, "nobody@example.org", CLIENT)
    issue_reset_links(db)
    db.commit()
    decoy = only_reset_record(db)
    assert decoy.user_id is None
    # Give the decoy a secret we know (the real one exists only in memory), sign a valid link to it.
    secret = tokens.new_token()
    decoy.token_hash = tokens.digest(secret)
    db.add(decoy)
    db.commit()
    token = tokens.sign_reset(settings.secret_key, decoy.id, secret)
    with pytest.raises(ResetLinkInvalid):
        check_reset_link(db, token)
    with pytest.raises(ResetLinkInvalid):
        reset_password(db, token, NEW, NEW, CLIENT)


def test_link_for_a_deactivated_account_is_invalid(db, alice):
    token = request_link(db, "alice@example.org")
    alice.is_active = False
    db.add(alice)
    db.commit()
    with pytest.raises(ResetLinkInvalid):
        check_reset_link(db, token)


def test_checking_a_link_does_not_consume_it(db, alice):
    token = request_link(db, "alice@example.org")
    for _ in range(3):
        check_reset_link(db, token)
        db.commit()
    assert only_reset_record(db).used_at is None
    reset_password(db, token, NEW, NEW, CLIENT)
    db.commit()


# --- resetting ---------------------------------------------------------------------------


def test_reset_sets_the_password_and_signs_out_everywhere(db, alice):
    laptop = sign_in(db, alice, CLIENT)
    phone = sign_in(db, alice, PHONE)
    bob = make_user(db, "bob@example.org", NEW)
    bob_token = sign_in(db, bob)
    token = request_link(db, "alice@example.org")

    user = reset_password(db, token, NEW, NEW, PHONE)
    db.commit()
    db.expire_all()

    assert user.id == alice.id
    assert current_session(db, digest(laptop)) is None
    assert current_session(db, digest(phone)) is None
    assert current_session(db, digest(bob_token)) is not None
    assert only_reset_record(db).used_at is not None
    with pytest.raises(ResetLinkUsed):
        check_reset_link(db, token)
    with pytest.raises(InvalidCredentials):
        authenticate(db, "alice@example.org", OLD, CLIENT)
    assert authenticate(db, "alice@example.org", NEW, CLIENT).id == alice.id
    (done,) = mails(db, template="password_reset_done")
    assert done.recipient == "alice@example.org" and done.status == PENDING
    for secret in (OLD, NEW, token):
        assert secret not in done.text() and secret not in done.html() and secret not in done.subject


def test_login_ticket_issued_before_a_reset_cannot_be_redeemed_after(db, alice):
    """Someone who logged in with the old password but has not swapped the ticket yet is out too."""
    ticket = create_ticket(db, alice, PHONE)
    db.commit()
    reset_password(db, request_link(db, "alice@example.org"), NEW, NEW, CLIENT)
    db.commit()
    assert redeem_ticket(db, ticket, PHONE.binding) is None


def test_link_works_only_once(db, alice):
    token = request_link(db, "alice@example.org")
    reset_password(db, token, NEW, NEW, CLIENT)
    db.commit()
    with pytest.raises(ResetLinkUsed):
        reset_password(db, token, OLD + "?", OLD + "?", CLIENT)
    db.rollback()
    assert authenticate(db, "alice@example.org", NEW, CLIENT).id == alice.id


def test_reset_clears_the_login_lockout(db, alice):
    for i in range(10):
        with pytest.raises(InvalidCredentials):
            authenticate(db, "alice@example.org", f"wrong-{i}", CLIENT)
    with pytest.raises(TooManyAttempts):
        authenticate(db, "alice@example.org", OLD, CLIENT)
    token = request_link(db, "alice@example.org")
    reset_password(db, token, NEW, NEW, CLIENT)
    db.commit()
    assert authenticate(db, "alice@example.org", NEW, CLIENT).id == alice.id


def test_weak_password_does_not_consume_the_link(db, alice):
    token = request_link(db, "alice@example.org")
    with pytest.raises(InvalidInput) as caught:
        reset_password(db, token, "password123456", "password1234567", CLIENT)
    db.rollback()
    assert set(caught.value.errors) == {"new_password", "confirm_password"}
    assert "This password is too easy to guess." in caught.value.errors["new_password"]
    assert caught.value.errors["confirm_password"] == [PasswordsDoNotMatch.message]
    with pytest.raises(InvalidInput) as caught:
        reset_password(db, token, "wonderland-alice-7!Qz", None, CLIENT)
    assert caught.value.errors == {"new_password": ["Don't build your password from your email address."]}
    with pytest.raises(InvalidInput) as caught:
        reset_password(db, token, "x" * 10_000, "x" * 10_000, CLIENT)
    assert caught.value.errors == {"new_password": ["Use at most 1024 characters."]}
    db.rollback()
    assert only_reset_record(db).used_at is None
    assert mails(db, template="password_reset_done") == []
    reset_password(db, token, NEW, NEW, CLIENT)
    db.commit()
    assert authenticate(db, "alice@example.org", NEW, CLIENT).id == alice.id


def _submit(engine, token: str, password: str, reset=reset_password) -> str:
    """One browser submitting the reset form in its own request (own session, own connection)."""
    with Session(engine, expire_on_commit=False) as own:
        try:
            reset(own, token, password, password, CLIENT)
            own.commit()
            return "ok"
        except ResetLinkUsed:
            own.rollback()
            return "used"
        except ResetLinkStale:
            own.rollback()
            return "stale"
        except Exception as exc:  # reported, so a crash fails the test with its cause
            own.rollback()
            return f"{type(exc).__name__}: {exc}"


def test_concurrent_double_submit_resets_once(engine, db, alice):
    for round_ in range(5):
        throttle.RESET_REQUEST_PER_EMAIL.clear("alice@example.org")  # only 3 requests an hour otherwise
        token = request_link(db, "alice@example.org", Client(ip=f"192.0.2.{round_}"))
        barrier = threading.Barrier(2)
        outcomes: dict[str, str] = {}
        passwords = {"first": f"{NEW}-round-{round_}-a", "second": f"{NEW}-round-{round_}-b"}

        def submit(name: str, token=token, barrier=barrier, passwords=passwords, outcomes=outcomes):
            barrier.wait(timeout=10)
            outcomes[name] = _submit(engine, token, passwords[name])

        threads = [threading.Thread(target=submit, args=(name,)) for name in passwords]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads)
        winners = [name for name, outcome in outcomes.items() if outcome == "ok"]
        assert len(winners) == 1, f"round {round_}: {outcomes}"
        (loser,) = set(passwords) - set(winners)
        assert outcomes[loser] == "used", f"round {round_}: {outcomes}"
        db.expire_all()
        assert len(mails(db, template="password_reset_done")) == round_ + 1
        used = [r for r in db.exec(select(PasswordReset)).all() if r.used_at is not None]
        assert len(used) == round_ + 1
        # The winner's password is the one that holds.
        assert authenticate(db, "alice@example.org", passwords[winners[0]], CLIENT).id == alice.id
        with pytest.raises(InvalidCredentials):
            authenticate(db, "alice@example.org", passwords[loser], CLIENT)


def test_losing_submit_is_told_the_link_was_used(engine, db, alice):
    """The race of the double submit, made deterministic: the second request reads the reset
    record, then the first request completes, then the second one carries on."""
    token = request_link(db, "alice@example.org")
    record_read, other_done = threading.Event(), threading.Event()
    outcome: list[str] = []

    def pause_after_reading_the_record(conn, cursor, statement, parameters, context, executemany):
        if (
            threading.current_thread() is late
            and not record_read.is_set()
            and statement.lstrip().upper().startswith("SELECT")
            and "password_reset" in statement
        ):
            record_read.set()
            other_done.wait(timeout=5)

    late = threading.Thread(target=lambda: outcome.append(_submit(engine, token, NEW + "-late")))
    event.listen(engine, "after_cursor_execute", pause_after_reading_the_record)
    try:
        late.start()
        assert record_read.wait(timeout=10)
        first = _submit(engine, token, NEW + "-first")
        other_done.set()
        late.join(timeout=30)
    finally:
        other_done.set()
        event.remove(engine, "after_cursor_execute", pause_after_reading_the_record)
    assert sorted([first, *outcome]) == ["ok", "used"]


# --- the reference a Reflex state sees (pwapp.web.middleware.credential_free_events) --------


def reference(token: str) -> str:
    return tokens.reset_reference(settings.secret_key, token)


def test_a_reference_names_the_link_but_is_no_link(db, alice):
    token = request_link(db, "alice@example.org")
    ref = reference(token)
    record = only_reset_record(db)
    assert ref == f"{record.id}.{record.token_hash}" and token not in ref
    assert check_reset_reference(db, ref)[1].id == alice.id
    with pytest.raises(ResetLinkInvalid):
        check_reset_link(db, ref)  # what the state store holds cannot be used as a link
    for bad in ("", "1", f"{record.id}.{'0' * 64}", f"{record.id}.{record.token_hash.upper()}", token, f"0.{record.token_hash}"):
        with pytest.raises(ResetLinkInvalid):
            check_reset_reference(db, bad)
    forged = tokens.sign_reset("another key " * 4, record.id, "secret")
    assert reference(forged) == "" and reference("%FF%FE") == ""


def test_a_reference_keeps_the_links_expiry_supersession_and_staleness(db, alice):
    first = reference(request_link(db, "alice@example.org"))
    second = reference(request_link(db, "alice@example.org"))
    with pytest.raises(ResetLinkSuperseded):
        reset_password_by_reference(db, first, NEW, NEW, CLIENT)
    db.rollback()
    with pytest.raises(ResetLinkExpired):
        check_reset_reference(db, second, now=utcnow() + timedelta(seconds=settings.reset_token_max_age + 1))
    set_password(db, alice, NEW)
    db.commit()
    with pytest.raises(ResetLinkStale):
        reset_password_by_reference(db, second, OLD, OLD, CLIENT)


def test_a_reference_resets_once_with_every_effect(db, alice):
    laptop, phone = sign_in(db, alice), sign_in(db, alice, PHONE)
    ref = reference(request_link(db, "alice@example.org"))
    assert reset_password_by_reference(db, ref, NEW, NEW, PHONE).id == alice.id
    db.commit()
    assert current_session(db, digest(laptop)) is None and current_session(db, digest(phone)) is None
    assert authenticate(db, "alice@example.org", NEW, CLIENT).id == alice.id
    assert len(mails(db, template="password_reset_done")) == 1
    with pytest.raises(ResetLinkUsed):
        reset_password_by_reference(db, ref, OLD + "?", OLD + "?", CLIENT)


def test_a_link_and_its_reference_submitted_together_reset_once(engine, db, alice):
    for round_ in range(3):
        throttle.RESET_REQUEST_PER_EMAIL.clear("alice@example.org")
        token = request_link(db, "alice@example.org", Client(ip=f"192.0.2.{round_}"))
        barrier, outcomes = threading.Barrier(2), {}
        passwords = {"link": f"{NEW}-link-{round_}", "reference": f"{NEW}-reference-{round_}"}
        forms = {"link": (token, reset_password), "reference": (reference(token), reset_password_by_reference)}

        def submit(name: str, barrier=barrier, outcomes=outcomes, passwords=passwords, forms=forms):
            barrier.wait(timeout=10)
            outcomes[name] = _submit(engine, forms[name][0], passwords[name], forms[name][1])

        threads = [threading.Thread(target=submit, args=(name,)) for name in forms]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(outcomes.values()) == ["ok", "used"], f"round {round_}: {outcomes}"
        (winner,) = [name for name, outcome in outcomes.items() if outcome == "ok"]
        assert authenticate(db, "alice@example.org", passwords[winner], CLIENT).id == alice.id
