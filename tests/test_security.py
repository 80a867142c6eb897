"""Password hashing, the password policy and reset tokens, as a user or attacker meets them."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import unicodedata

import pytest
from itsdangerous import URLSafeTimedSerializer
from passlib.hash import bcrypt, pbkdf2_sha256

from pwapp.models import User
from pwapp.security import password_policy, tokens
from pwapp.security.passwords import hash_password, verify_password
from pwapp.services.accounts import Client, authenticate, register
from pwapp.services.errors import InvalidCredentials
from pwapp.settings import settings

CLIENT = Client(ip="203.0.113.7", user_agent="pytest")
STRONG = "Quartz-Harbor-Tulip-1987!"


def policy(password: str, email: str = "") -> list[str]:
    return password_policy.problems(
        password,
        email=email,
        min_length=settings.password_min_length,
        max_length=settings.password_max_length,
    )


# --- hashing -----------------------------------------------------------------------------


def test_new_hashes_are_argon2id_with_owasp_parameters():
    stored = hash_password(STRONG)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(STRONG, stored) == (True, None)
    assert verify_password(STRONG + "x", stored) == (False, None)


HASH_IN_A_FORKED_WORKER = """
import os, signal
import pwapp.security.passwords as p
stored = p.hash_password("forked worker password")  # the parent's pool has a live thread now
pid = os.fork()  # as a server forks its workers
if pid == 0:
    signal.alarm(30)  # a child stuck on the parent's dead pool ends, and so fails the test
    ok = p.verify_password("forked worker password", stored)[0] and p.hash_password("x" * 12)
    os._exit(0 if ok else 1)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


def test_a_forked_worker_process_hashes_on_a_pool_of_its_own():
    result = subprocess.run([sys.executable, "-c", HASH_IN_A_FORKED_WORKER], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "0", result.stderr


def test_same_password_hashes_differently_each_time():
    assert hash_password(STRONG) != hash_password(STRONG)


def test_long_password_is_not_truncated():
    """bcrypt-style truncation at 72 bytes must not happen: the tail of a password counts."""
    long_password = "Quartz-Harbor-Tulip-" * 5  # 100 characters
    assert len(long_password) == 100
    stored = hash_password(long_password)
    assert verify_password(long_password, stored)[0] is True
    assert verify_password(long_password[:72], stored)[0] is False
    assert verify_password(long_password[:-1] + "?", stored)[0] is False


def test_garbage_stored_hash_does_not_verify_or_crash():
    assert verify_password(STRONG, "not a hash") == (False, None)
    assert verify_password(STRONG, "") == (False, None)


@pytest.mark.parametrize(
    "legacy_hasher, prefix",
    [(bcrypt.using(rounds=4), "$2b$"), (pbkdf2_sha256.using(rounds=1000), "$pbkdf2-sha256$")],
    ids=["bcrypt", "pbkdf2_sha256"],
)
def test_legacy_hash_logs_in_and_is_upgraded_to_argon2id(db, legacy_hasher, prefix):
    user = register(db, "legacy@example.org", STRONG)
    user.password_hash = legacy_hasher.hash(STRONG)
    db.add(user)
    db.commit()
    assert user.password_hash.startswith(prefix)

    # A wrong password neither logs in nor touches the stored hash.
    with pytest.raises(InvalidCredentials):
        authenticate(db, "legacy@example.org", "wrong " + STRONG, CLIENT)
    db.commit()
    db.expire_all()
    assert db.get(User, user.id).password_hash.startswith(prefix)

    assert authenticate(db, "legacy@example.org", STRONG, CLIENT).id == user.id
    db.commit()
    db.expire_all()
    upgraded = db.get(User, user.id).password_hash
    assert upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    # ...and the upgraded hash still logs in, without a further upgrade.
    assert verify_password(STRONG, upgraded) == (True, None)
    assert authenticate(db, "legacy@example.org", STRONG, CLIENT).id == user.id


def test_unicode_is_normalized_nfkc(db):
    composed = "Caf\u00e9-Harbor-Tulip-1987!"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    register(db, "cafe@example.org", composed)
    db.commit()
    assert authenticate(db, "cafe@example.org", decomposed, CLIENT).email == "cafe@example.org"
    assert authenticate(db, "cafe@example.org", composed, CLIENT).email == "cafe@example.org"
    # Normalization is not case-folding or accent-stripping.
    with pytest.raises(InvalidCredentials):
        authenticate(db, "cafe@example.org", "Cafe-Harbor-Tulip-1987!", CLIENT)


# --- policy ------------------------------------------------------------------------------


def test_min_length_counts_code_points_so_an_emoji_is_one_character():
    eleven = "😀🐢🍕🚀🌵🎻🦊🧀🛶🌋🪁"
    assert len(eleven) == 11 and len(eleven.encode()) > 12
    assert policy(eleven) == [f"Use at least {settings.password_min_length} characters (you have 11)."]
    assert policy(eleven + "🎯") == []


def test_64_char_passphrase_with_spaces_and_emoji_is_accepted():
    phrase = "correct horse 🐢 battery staple 🚀 under violet lanterns at dawn!!"
    assert len(phrase) == 64
    assert policy(phrase) == []


def test_1025_characters_is_refused_with_a_clear_message():
    too_long = "Quartz-Harbor-Tulip-" * 51 + "12345"
    assert len(too_long) == 1025 == settings.password_max_length + 1
    assert policy(too_long) == ["Use at most 1024 characters."]
    assert policy(too_long[:1024]) == []


@pytest.mark.parametrize("length", [72, 73, 100, 1024])
def test_long_passwords_are_judged_without_error(length):
    assert policy(("Quartz-Harbor-Tulip-" * 52)[:length]) == []


def test_guessable_password_is_refused_with_zxcvbn_feedback():
    reasons = policy("password123456")
    assert reasons[0] == "This password is too easy to guess."
    # zxcvbn's own advice follows, so the user learns why.
    assert len(reasons) >= 2
    assert any("common" in r.lower() for r in reasons[1:])


def test_password_built_from_email_local_part_is_refused():
    assert policy("wonderland-alice-7!Qz", email="alice@example.org") == [
        "Don't build your password from your email address."
    ]
    assert policy("wonderland-ALICE-7!Qz", email="Alice@Example.org") == [
        "Don't build your password from your email address."
    ]
    # The same password is fine for someone else.
    assert policy("wonderland-alice-7!Qz", email="bob@example.org") == []


def test_every_reason_is_returned_at_once():
    assert policy("alice", email="alice@example.org") == [
        f"Use at least {settings.password_min_length} characters (you have 5).",
        "Don't build your password from your email address.",
    ]
    reasons = policy("alicepassword", email="alice@example.org")
    assert "Don't build your password from your email address." in reasons
    assert "This password is too easy to guess." in reasons


# --- reset tokens ------------------------------------------------------------------------


def _flip(text: str, index: int) -> str:
    replacement = "B" if text[index] == "A" else "A"
    return text[:index] + replacement + text[index + 1 :]


def test_reset_token_round_trips():
    token = tokens.sign_reset(settings.secret_key, 42, "s3cret")
    assert tokens.load_reset(settings.secret_key, token, max_age=60) == (42, "s3cret")


@pytest.mark.parametrize("where", ["payload", "timestamp", "signature"])
def test_flipped_character_is_a_bad_reset_token(where):
    token = tokens.sign_reset(settings.secret_key, 42, "s3cret")
    payload, timestamp, signature = token.split(".")
    index = {"payload": 0, "timestamp": len(payload) + 1, "signature": len(token) - 10}[where]
    tampered = _flip(token, index)
    assert tampered != token
    with pytest.raises(tokens.BadResetToken):
        tokens.load_reset(settings.secret_key, tampered, max_age=60)


def test_token_signed_with_another_salt_is_bad():
    other = URLSafeTimedSerializer(settings.secret_key, salt="pwapp.email-confirm").dumps([42, "s3cret"])
    with pytest.raises(tokens.BadResetToken):
        tokens.load_reset(settings.secret_key, other, max_age=60)


def test_token_signed_with_another_key_is_bad():
    other = tokens.sign_reset("another-secret-key-" + "y" * 32, 42, "s3cret")
    with pytest.raises(tokens.BadResetToken):
        tokens.load_reset(settings.secret_key, other, max_age=60)


@pytest.mark.parametrize(
    "garbage",
    ["", "garbage", "a.b.c", "....", "\u00e9\u00e9\u00e9.\u00e9.\u00e9", "x" * 600],
)
def test_garbage_is_a_bad_reset_token(garbage):
    with pytest.raises(tokens.BadResetToken):
        tokens.load_reset(settings.secret_key, garbage, max_age=60)


@pytest.mark.parametrize("payload", [{"id": 1}, [1], ["1", "s"], [1, 2], [1, "s", "x"]])
def test_validly_signed_but_wrongly_shaped_payload_is_bad(payload):
    token = URLSafeTimedSerializer(settings.secret_key, salt=tokens.RESET_SALT).dumps(payload)
    with pytest.raises(tokens.BadResetToken):
        tokens.load_reset(settings.secret_key, token, max_age=60)


def test_new_tokens_are_long_and_unique():
    made = {tokens.new_token() for _ in range(50)}
    assert len(made) == 50
    assert all(len(t) >= 43 for t in made)


def test_digest_is_sha256_hex():
    assert tokens.digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    token = tokens.new_token()
    assert tokens.digest(token) == hashlib.sha256(token.encode()).hexdigest()
    assert len(tokens.digest(token)) == 64 and token not in tokens.digest(token)


def test_expired_signature_is_reported_as_expired():
    token = tokens.sign_reset(settings.secret_key, 42, "s3cret")
    # Any real token has an age >= 0, so a negative max age makes it expired without waiting.
    with pytest.raises(tokens.ExpiredResetToken):
        tokens.load_reset(settings.secret_key, token, max_age=-1)
    assert tokens.load_reset(settings.secret_key, token, max_age=3600) == (42, "s3cret")
