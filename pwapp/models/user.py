"""The account table."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from pwapp.db import utcnow


class User(SQLModel, table=True):
    """An account; `email` is stored lower-cased so lookups ignore case on every database.
    Until `email_verified_at` is set (its emailed link used) it cannot sign in."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    password_changed_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    is_active: bool = True
    email_verified_at: datetime | None = None
