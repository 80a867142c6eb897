"""Database engine and sessions (plain SQLModel, usable without Reflex)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from pwapp.files import tighten, write_new
from pwapp.settings import settings


def utcnow() -> datetime:
    """Aware UTC now (SQLModel's datetime columns store and return aware UTC)."""
    return datetime.now(timezone.utc)


def _sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names; None for an in-memory or `uri=true` database."""
    parsed = make_url(url)
    if not parsed.database or parsed.database == ":memory:" or parsed.query.get("uri"):
        return None
    return Path(parsed.database)


def _owner_only(path: Path) -> None:
    """Create the database file 0600 before SQLite does (SQLite gives its -wal and -shm files
    the database's mode), and tighten files that were left readable by others."""
    try:
        write_new(path)
    except FileExistsError:
        pass
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        tighten(name)


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so writers queue, and its files
    are readable by their owner only."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        path = _sqlite_file(url)

        if path is not None:

            @event.listens_for(engine, "do_connect")
            def _private_files(_dialect, _record, _args, _kwargs):
                _owner_only(path)

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # durable with WAL; no fsync per commit
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "do_connect")
        def _name_the_process(_dialect, _record, _args, kwargs):
            kwargs.setdefault("application_name", f"pwapp pid {os.getpid()}")  # which process holds it (pg_stat_activity)

    return engine


@lru_cache(maxsize=1)
def engine() -> Engine:
    """The process-wide engine for PWAPP_DATABASE_URL."""
    return make_engine(settings.database_url)


@contextmanager
def session() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine(), expire_on_commit=False) as db:
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise


T = TypeVar("T")


async def in_db(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `fn(db_session, *args)` in a worker thread and commit: hashes never block the event loop."""

    def call() -> T:
        with session() as s:
            return fn(s, *args, **kwargs)

    return await asyncio.to_thread(call)
