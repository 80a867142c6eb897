"""Alembic environment: pwapp's tables on PWAPP_DATABASE_URL (or the URL given in the config)."""

from logging.config import fileConfig

from sqlmodel import SQLModel

import pwapp.models  # noqa: F401  (registers every table)
from alembic import context
from pwapp.db import make_engine
from pwapp.settings import settings

if context.config.config_file_name is not None:
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)

url = context.config.get_main_option("sqlalchemy.url") or settings.database_url


def run() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=SQLModel.metadata,
            render_as_batch=url.startswith("sqlite"),
        )
        with context.begin_transaction():
            context.run_migrations()


run()
