"""Two-step sign-in: the authenticator secret (sealed), recovery-code digests, and pending sign-ins."""

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from pwapp.db import utcnow


class TwoStep(SQLModel, table=True):
    """A user's authenticator secret, sealed; on once `enabled_at` is set (until then, an enrolment).

    `last_step` is the time step of the last code accepted: no code of that step or an earlier
    one is accepted again.
    """

    __tablename__ = "two_step"

    user_id: int = Field(foreign_key="user.id", primary_key=True)
    secret_sealed: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    enabled_at: datetime | None = None
    last_step: int | None = None


class RecoveryCode(SQLModel, table=True):
    """One single-use recovery code, kept only as a keyed digest."""

    __tablename__ = "recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    code_hash: str = Field(max_length=64, index=True)
    used_at: datetime | None = None


class SignInChallenge(SQLModel, table=True):
    """A correct password waiting for its second step: no session until a code completes it.

    Only the browser whose binding digest it holds (or, with an empty `binding_hash`, the API
    client holding the challenge) may complete it, once, before `expires_at`.
    """

    __tablename__ = "sign_in_challenge"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    challenge_hash: str = Field(max_length=64, unique=True, index=True)
    binding_hash: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class RecoveryCodesToShow(SQLModel, table=True):
    """New recovery codes, sealed, waiting to be shown once to the session that made them.

    The page that shows them deletes the row; one not shown by `expires_at` is never shown.
    """

    __tablename__ = "recovery_codes_to_show"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="user_session.id", index=True)
    codes_sealed: str = Field(sa_column=Column(Text, nullable=False))
    expires_at: datetime
