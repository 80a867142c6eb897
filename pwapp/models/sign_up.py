"""Sign-up requests waiting for the worker, and the emailed links that confirm an address."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from pwapp.db import utcnow


class SignUpRequest(SQLModel, table=True):
    """A sign-up (or, without `password_hash`, a request for a new link) accepted but not yet
    handled: the answer goes out once this row is committed; the worker decides what to mail."""

    __tablename__ = "sign_up_request"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    password_hash: str | None = Field(default=None, max_length=255)
    ip: str = Field(default="", max_length=64)
    browser: str = Field(default="", max_length=64)
    requested_at: datetime = Field(default_factory=utcnow)


class EmailVerification(SQLModel, table=True):
    """One emailed link confirming an address; only a digest of its secret is kept."""

    __tablename__ = "email_verification"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
