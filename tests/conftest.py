"""Test settings and database fixtures: every service test runs on SQLite, and on
PostgreSQL too when PWAPP_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import gc
import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="pwapp-test-")
os.environ.setdefault("PWAPP_ENV", "development")
os.environ.setdefault("PWAPP_SECRET_KEY", "test-secret-key-" + "x" * 32)
os.environ.setdefault("PWAPP_DATABASE_URL", f"sqlite:///{_TMP}/app.db")
os.environ.setdefault("PWAPP_BASE_URL", "http://testserver.local:3000")
os.environ.setdefault("PWAPP_MAIL_BACKEND", "file")
os.environ.setdefault("PWAPP_MAIL_DIR", f"{_TMP}/mail")

import pytest  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402

import pwapp.models  # noqa: E402,F401  (registers every table)
from pwapp import settings as pwsettings  # noqa: E402
from pwapp.db import make_engine  # noqa: E402
from pwapp.security.throttle import limiter  # noqa: E402
from tests.factories import make_user  # noqa: E402
from tests.mail_server import mail_server  # noqa: E402,F401  (fixture: an aiosmtpd server)
from tests.services import service_url  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_throttles():
    limiter().storage.reset()
    yield


@pytest.fixture
def without_verification(monkeypatch):
    """PWAPP_REQUIRE_EMAIL_VERIFICATION=off for one test: sign-up creates the account at once."""
    monkeypatch.setattr(pwsettings, "_current", pwsettings.Settings.from_env(require_email_verification="off"))


@pytest.fixture
def permissive_umask():
    """Umask 022 (new files readable by everyone unless pwapp says otherwise), restored after."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path):
    """A fresh, migrated-equivalent database per test."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path}/test.db")
    else:
        eng = make_engine(service_url("PWAPP_TEST_POSTGRES_URL"))
        with eng.begin() as conn:  # fails the test, never skips it, when the server is down
            conn.exec_driver_sql("SET LOCAL lock_timeout = '20s'")  # an error, not a hang, on a leak
            SQLModel.metadata.drop_all(conn)
    SQLModel.metadata.create_all(eng)
    yield eng
    if request.param == "postgres":
        gc.collect()  # an unreferenced session gives its connection (and its locks) back now
        assert eng.pool.checkedout() == 0, "the test left a database session open"
    eng.dispose()


@pytest.fixture
def db(engine):
    """A session that the test commits itself, like a request would."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def alice(engine):
    """Alice registered with the OLD password, committed in a session of her own."""
    with Session(engine, expire_on_commit=False) as s:
        return make_user(s)
