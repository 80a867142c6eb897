"""Random tokens, their stored digests, and signed reset and verification links (itsdangerous)."""

from __future__ import annotations

import hashlib
import re
import secrets

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

RESET_SALT = "pwapp.password-reset"
VERIFY_SALT = "pwapp.email-verification"  # a reset token is no verification token, and back
MAX_RESET_TOKEN_LENGTH = 512
# itsdangerous' URL-safe output: base64url parts joined by dots.
_RESET_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_.-]+")
_RESET_REFERENCE_SHAPE = re.compile(r"([1-9][0-9]{0,17})\.([0-9a-f]{64})")


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """SHA-256 hex of a token: the only form a token is stored in."""
    return hashlib.sha256(token.encode()).hexdigest()


class BadResetToken(Exception):
    """The reset token is tampered, malformed or signed for something else."""


class ExpiredResetToken(BadResetToken):
    """The reset token's signature is valid but older than its max age."""


def is_well_formed_reset(token: str) -> bool:
    """Whether `token` could be a reset token at all: URL-safe characters, not too long."""
    return 0 < len(token) <= MAX_RESET_TOKEN_LENGTH and _RESET_TOKEN_SHAPE.fullmatch(token) is not None


def _serializer(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=salt)


def sign_reset(secret_key: str, record_id: int, secret: str, *, salt: str = RESET_SALT) -> str:
    """A URL-safe, timestamped, signed token naming a reset (or, `salt=VERIFY_SALT`, verification)
    record and its secret."""
    return _serializer(secret_key, salt).dumps([record_id, secret])


def load_reset(secret_key: str, token: str, max_age: int | None, *, salt: str = RESET_SALT) -> tuple[int, str]:
    """(record id, secret) from a token `sign_reset` made with `salt`, or BadResetToken /
    ExpiredResetToken (`max_age=None`: any age)."""
    try:
        payload = _serializer(secret_key, salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise ExpiredResetToken from None
    except (BadSignature, ValueError, TypeError, UnicodeError):
        raise BadResetToken from None
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not isinstance(payload[0], int)
        or not isinstance(payload[1], str)
    ):
        raise BadResetToken
    return payload[0], payload[1]


def reset_reference(secret_key: str, token: str) -> str:
    """`<record id>.<SHA-256 of its secret>` for a well-signed reset token of any age (the record's
    expiry still applies), "" for anything else: it names the link but cannot be made back into it."""
    if not is_well_formed_reset(token):
        return ""
    try:
        record_id, secret = load_reset(secret_key, token, None)
    except BadResetToken:
        return ""
    return f"{record_id}.{digest(secret)}"


def parse_reset_reference(reference: str) -> tuple[int, str]:
    """(record id, secret digest) from a `reset_reference`, or BadResetToken."""
    found = _RESET_REFERENCE_SHAPE.fullmatch(reference or "")
    if found is None:
        raise BadResetToken
    return int(found[1]), found[2]
