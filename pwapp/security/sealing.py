"""Encryption at rest for outbox bodies, which carry reset links until they are sent."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pwapp.settings import settings


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"pwapp outbox").derive(
        settings.secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(text: str) -> str:
    """Authenticated encryption under a key derived from PWAPP_SECRET_KEY."""
    return _fernet().encrypt(text.encode()).decode()


def unseal(sealed: str) -> str:
    """The text `seal` was given (raises cryptography's InvalidToken if tampered)."""
    return _fernet().decrypt(sealed.encode()).decode()
