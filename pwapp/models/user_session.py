"""Server-side sessions: only SHA-256 digests of tokens are stored."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from pwapp.db import utcnow


class UserSession(SQLModel, table=True):
    """One signed-in browser or API client.

    A new session first holds a one-time `ticket_hash`; the cookie route swaps the
    ticket for the real token, so the session token only ever travels in a cookie; only the
    browser whose binding cookie hashes to `ticket_binding_hash` may do that swap.
    """

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    ticket_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    ticket_binding_hash: str | None = Field(default=None, max_length=64)
    ticket_expires_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=512)
    revoked_at: datetime | None = None
    two_step: bool = False  # signed in with a password and a second-step code
