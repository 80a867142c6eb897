"""`python -m pwapp resets purge`: spent reset records go, links that still work stay."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, SQLModel, select

from pwapp.db import make_engine, utcnow
from pwapp.models import PasswordReset

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cli_db(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path}/cli.db")
    SQLModel.metadata.create_all(eng)
    yield eng
    eng.dispose()


def resets(cli_db, *argv: str) -> subprocess.CompletedProcess:
    env = os.environ | {"PWAPP_DATABASE_URL": str(cli_db.url), "PWAPP_REDIS_URL": ""}
    return subprocess.run([sys.executable, "-m", "pwapp", "resets", *argv], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120, check=False)


def add_records(engine, **died_days_ago: int | None) -> None:
    """One record per name: used that many days ago, or (None) a link that still works."""
    now = utcnow()
    with Session(engine) as s:
        for name, days in died_days_ago.items():
            used = None if days is None else now - timedelta(days=days)
            s.add(PasswordReset(token_hash=name, expires_at=now + timedelta(hours=1), used_at=used))
        s.commit()


def kept(engine) -> set[str]:
    with Session(engine) as s:
        return set(s.exec(select(PasswordReset.token_hash)).all())


def test_purge_deletes_spent_records_past_retention_and_keeps_working_links(cli_db):
    add_records(cli_db, old=40, recent=2, live=None)
    done = resets(cli_db, "purge")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("deleted 1 reset record(s)")
    assert kept(cli_db) == {"recent", "live"}
    assert resets(cli_db, "purge", "--days", "1").returncode == 0
    assert kept(cli_db) == {"live"}


@pytest.mark.parametrize("argv, words", [
    (["purge", "--days", "0"], "--days must be at least 1"),
    (["purge", "--days", "soon"], "--days must be a whole number"),
    (["wipe"], "invalid choice"),
    ([], "required"),
])
def test_bad_input_is_refused_in_one_line(cli_db, argv, words):
    add_records(cli_db, old=40)
    done = resets(cli_db, *argv)
    assert done.returncode != 0 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and words in done.stderr, done.stderr
    assert kept(cli_db) == {"old"}
