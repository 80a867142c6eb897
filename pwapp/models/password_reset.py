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
