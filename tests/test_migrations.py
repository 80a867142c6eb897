"""The committed migrations build exactly the tables the models describe, and re-running
them on a database with data keeps every row."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from alembic import command
from pwapp.db import make_engine
from tests import ROOT
from tests.services import service_url


def upgrade(url: str, revision: str = "head") -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, revision)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/migrated.db"
    url = service_url("PWAPP_TEST_POSTGRES_URL")
    engine = make_engine(url)
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    return url


def test_migrations_match_the_models(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_upgrading_again_keeps_existing_rows(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO \"user\" (email, password_hash, password_changed_at, created_at, is_active) "
            "VALUES ('kept@example.org', 'x', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, true)"
        ))
    upgrade(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT email FROM \"user\"")).scalars().all() == ["kept@example.org"]
    engine.dispose()


def test_accounts_made_before_verification_count_as_verified(database_url):
    upgrade(database_url, "0005")
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO \"user\" (email, password_hash, password_changed_at, created_at, is_active) "
            "VALUES ('old@example.org', 'x', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, true)"
        ))
    upgrade(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT email_verified_at IS NOT NULL FROM \"user\"")).scalars().all() == [True]
    engine.dispose()
