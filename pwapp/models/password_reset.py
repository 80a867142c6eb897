"""Password-reset records: the database keeps only a digest of each link's secret."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from pwapp.db import utcnow


class PasswordReset(SQLModel, table=True):
    """One emailed reset link. `user_id` is empty for requests about unknown addresses,
    which do the same work as real ones but can never be redeemed."""

    __tablename__ = "password_reset"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    superseded_at: datetime | None = None


class ResetRequest(SQLModel, table=True):
    """A "forgot password" request accepted but not yet turned into a link (a durable queue:
    the answer goes out once this row is committed; the worker makes the link and the mail)."""

    __tablename__ = "reset_request"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    requested_at: datetime = Field(default_factory=utcnow)
