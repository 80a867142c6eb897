"""Encryption at rest (outbox bodies, authenticator secrets) and keys derived from PWAPP_SECRET_KEY."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pwapp.settings import settings


@lru_cache(maxsize=8)
def derived_key(purpose: bytes) -> bytes:
    """A 256-bit key for one `purpose`, derived from PWAPP_SECRET_KEY (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(settings.secret_key.encode())


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derived_key(b"pwapp outbox")))


def seal(text: str) -> str:
    """Authenticated encryption under a key derived from PWAPP_SECRET_KEY."""
    return _fernet().encrypt(text.encode()).decode()


def unseal(sealed: str) -> str:
    """The text `seal` was given (raises cryptography's InvalidToken if tampered)."""
    return _fernet().decrypt(sealed.encode()).decode()
