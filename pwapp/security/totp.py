"""Authenticator-app codes (RFC 6238 TOTP, via pyotp), their QR code (segno), and recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import secrets
from datetime import datetime

import pyotp
import segno

from pwapp.security.sealing import derived_key

STEP_SECONDS = 30
DRIFT_STEPS = 1  # a code of the step before or after now is accepted too
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32: no i, l, o, u
_RECOVERY_LENGTH = 12  # 60 random bits
_TOTP_SHAPE = re.compile(r"[0-9]{6}")  # ASCII digits only (\d would take "١٢٣٤٥٦")


def new_secret() -> str:
    """A fresh 160-bit base32 secret (what the authenticator app stores)."""
    return pyotp.random_base32(32)


def time_step(now: datetime) -> int:
    """The TOTP counter of the moment `now`."""
    return int(now.timestamp()) // STEP_SECONDS


def is_totp_shaped(code: str) -> bool:
    """Six digits: an authenticator code rather than a recovery code."""
    return _TOTP_SHAPE.fullmatch(code) is not None


def matching_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The time step (within ±DRIFT_STEPS of now, later than `after`) whose code `code` is; else None."""
    if not is_totp_shaped(code):
        return None
    totp = pyotp.TOTP(secret)
    current = time_step(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def setup_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code; `issuer` names the entry."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """`uri` as a QR code in an inline SVG element (no script, no external reference), dark on
    white whatever the page's colour scheme."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out, kind="svg", scale=5, xmldecl=False, svgns=True, light="#fff", title="QR code for your authenticator app"
    )
    return out.getvalue().decode()


def new_recovery_codes() -> list[str]:
    """RECOVERY_CODES fresh codes shaped `xxxx-xxxx-xxxx` (60 random bits each)."""
    codes = ("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH)) for _ in range(RECOVERY_CODES))
    return [f"{c[:4]}-{c[4:8]}-{c[8:]}" for c in codes]


def normalize_recovery(code: str) -> str:
    """A typed recovery code in its stored form: no spaces or dashes, lower case, o→0, i/l→1."""
    cleaned = re.sub(r"[\s-]", "", code).lower()
    return cleaned.translate(str.maketrans("oil", "011"))


def recovery_digest(code: str) -> str:
    """HMAC-SHA256 (keyed by PWAPP_SECRET_KEY) of a normalized recovery code: the stored form."""
    return hmac.new(derived_key(b"pwapp recovery codes"), normalize_recovery(code).encode(), hashlib.sha256).hexdigest()
