"""Password hashing with passlib (libpass): argon2id now, older schemes re-hashed on login."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from passlib.context import CryptContext

# OWASP's argon2id minimum: 19 MiB, 2 passes, 1 lane. bcrypt/pbkdf2 verify but are upgraded.
context = CryptContext(
    schemes=["argon2", "bcrypt", "pbkdf2_sha256"],
    deprecated=["bcrypt", "pbkdf2_sha256"],
    argon2__type="ID",
    argon2__memory_cost=19456,
    argon2__time_cost=2,
    argon2__parallelism=1,
)

_DUMMY_HASH = context.hash("pwapp dummy password, never anyone's")

# One hashing thread per core, taking hashes in arrival order. More at once would only time-slice
# and evict each other's 19 MiB from cache. A semaphore let newcomers overtake waiting requests
# (one change in 200 waited over a second at concurrency 8), and a pool thread starts the next
# hash itself instead of handing its slot to a sleeping thread that must first win the GIL.
def _new_hashers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="argon2")


_hashers = _new_hashers()
os.register_at_fork(after_in_child=lambda: globals().update(_hashers=_new_hashers()))  # threads don't survive fork
T = TypeVar("T")


def _on_hasher(fn: Callable[..., T], *args: str) -> T:
    """`fn(*args)` on a hashing thread; the calling thread (never the event loop) waits."""
    return _hashers.submit(fn, *args).result()


def is_storable(text: str) -> bool:
    """False for text no database or hash can take: NUL characters or lone surrogates."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def normalize(password: str) -> str:
    """NFKC, so the same password typed on different keyboards is the same password."""
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    """An argon2id hash of the normalized password (slow: call off the event loop)."""
    return _on_hasher(context.hash, normalize(password))


def verify_password(password: str, stored_hash: str) -> tuple[bool, str | None]:
    """(matches, replacement hash when the stored one uses an outdated scheme)."""
    try:
        return _on_hasher(context.verify_and_update, normalize(password), stored_hash)
    except (ValueError, TypeError):
        return False, None


def verify_dummy(password: str) -> None:
    """Spend one verify's time so unknown accounts answer as slowly as known ones."""
    try:
        _on_hasher(context.verify, normalize(password), _DUMMY_HASH)
    except ValueError:  # includes UnicodeEncodeError: still no match, same answer
        pass
