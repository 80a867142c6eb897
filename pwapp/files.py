"""Owner-only files and folders (0600 / 0700, whatever the umask): the SQLite database, mail
files and the development secret key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> None:
    """Make folder `path` (and missing parents) if needed; it ends up 0700."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    path.chmod(DIR_MODE)


def tighten(path: Path) -> None:
    """Make an existing file 0600; a missing one is left missing."""
    try:
        path.chmod(FILE_MODE)
    except FileNotFoundError:
        pass


def write_new(path: Path, data: bytes = b"") -> None:
    """Create `path` (it must not exist) as 0600 from the start and write `data` to it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as file:
        os.fchmod(fd, FILE_MODE)  # the umask may have taken bits away from os.open's mode
        file.write(data)


def publish_once(path: Path, data: bytes) -> None:
    """Create `path` holding `data`, owner-only, in one step (never seen empty or half-written);
    if `path` already exists it is kept, as another process may have won the race."""
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    write_new(draft, data)
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
