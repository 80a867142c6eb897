"""Files that hold secrets are the owner's alone (0600, folders 0700) even under umask 022:
the SQLite database with its -wal and -shm files, the development `.secret_key`, mail files."""

from __future__ import annotations

import ast
import dataclasses
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from alembic.config import Config
from sqlalchemy import text

import pwapp.settings
from alembic import command
from pwapp.db import make_engine
from pwapp.mail.backends import FileBackend
from pwapp.mail.compose import build_message
from pwapp.models.outbox import OutboxMessage
from pwapp.security.sealing import seal
from pwapp.settings import get_settings
from tests import ROOT


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def database_files(db: Path) -> list[Path]:
    """The database and its WAL files, which must all exist (a connection is open)."""
    files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
    assert all(f.exists() for f in files), files
    return files


def write_a_row(db: Path) -> sqlite3.Connection:
    """Open `db` with plain sqlite3 (no pwapp code) in WAL mode and write; the caller closes it."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS probe (x)")
    conn.execute("INSERT INTO probe VALUES (1)")
    conn.commit()
    return conn


def test_database_made_by_the_app_and_its_wal_files_are_owner_only(tmp_path, permissive_umask):
    db = tmp_path / "pwapp.db"
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe (x)"))
        conn.execute(text("INSERT INTO probe VALUES (1)"))
        assert {f.name: oct(mode(f)) for f in database_files(db)} == {
            "pwapp.db": "0o600", "pwapp.db-wal": "0o600", "pwapp.db-shm": "0o600",
        }
    engine.dispose()


def test_database_made_by_alembic_upgrade_head_is_owner_only(tmp_path, permissive_umask):
    db = tmp_path / "pwapp.db"
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", f"sqlite:///{db}")
    command.upgrade(config, "head")
    assert oct(mode(db)) == "0o600"
    # SQLite itself gives the WAL files the database's mode, whoever opens it next.
    conn = write_a_row(db)
    try:
        assert {oct(mode(f)) for f in database_files(db)} == {"0o600"}
    finally:
        conn.close()


def test_database_files_left_readable_are_tightened(tmp_path, permissive_umask):
    db = tmp_path / "pwapp.db"
    older = write_a_row(db)  # as an older version (or another tool) left them: 0644
    try:
        assert {oct(mode(f)) for f in database_files(db)} == {"0o644"}
        engine = make_engine(f"sqlite:///{db}")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM probe")).scalar_one() == 1
        engine.dispose()
        assert {oct(mode(f)) for f in database_files(db)} == {"0o600"}
    finally:
        older.close()


WATCH_KEY_CREATION = """
import os, stat, sys
from pathlib import Path

os.umask(0o022)
import pwapp.settings as s

folder = Path(sys.argv[1])
os.chdir(folder)
del os.environ["PWAPP_SECRET_KEY"]
seen, busy = [], False

def watch(event, args):
    # Before every file operation: how each file in the folder looks right now.
    global busy
    if busy or not (event == "open" or event.startswith("os.")):
        return
    busy = True
    try:
        for entry in os.scandir(folder):
            info = entry.stat()
            seen.append((event, entry.name, stat.S_IMODE(info.st_mode), info.st_size))
    finally:
        busy = False

sys.addaudithook(watch)
key = s._secret_key(os.environ, "development")
print(repr((key, seen)))
"""


def test_secret_key_file_is_never_readable_by_others_nor_seen_half_written(tmp_path):
    # A fresh interpreter: an audit hook, which sees every file operation, cannot be removed.
    result = subprocess.run(
        [sys.executable, "-c", WATCH_KEY_CREATION, str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )
    key, seen = ast.literal_eval(result.stdout.strip())
    assert len(key) == 64 and (tmp_path / ".secret_key").read_text() == key
    assert any(name == ".secret_key" for _, name, _, _ in seen)
    assert [s for s in seen if s[2] != 0o600] == []
    assert [s for s in seen if s[1] == ".secret_key" and s[3] != len(key)] == []
    assert oct(mode(tmp_path / ".secret_key")) == "0o600"


def test_secret_key_file_left_readable_is_tightened(tmp_path, monkeypatch, permissive_umask):
    key_file = tmp_path / ".secret_key"
    key_file.write_text("k" * 64)
    assert oct(mode(key_file)) == "0o644"
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PWAPP_SECRET_KEY")
    assert pwapp.settings._secret_key({}, "development") == "k" * 64
    assert oct(mode(key_file)) == "0o600"


def test_mail_folder_and_eml_files_are_owner_only(tmp_path, permissive_umask):
    row = OutboxMessage(
        id=1, recipient="ivan@example.com", template="password_reset", subject="Reset",
        text_body=seal("link"), html_body=seal("<p>link</p>"),
    )
    made = tmp_path / "var" / "mail"
    existing = tmp_path / "shared"
    existing.mkdir()
    assert oct(mode(existing)) == "0o755"
    for folder in (made, existing):
        s = dataclasses.replace(get_settings(), mail_backend="file", mail_dir=folder)
        FileBackend(s).send(build_message(row, s))
        [eml] = folder.iterdir()
        assert eml.suffix == ".eml" and oct(mode(eml)) == "0o600"
        assert oct(mode(folder)) == "0o700"
