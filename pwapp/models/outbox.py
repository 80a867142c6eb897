"""The durable mail outbox: a message is a row before it is anything else."""

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from pwapp.db import utcnow
from pwapp.security.sealing import unseal

PENDING, SENDING, SENT, FAILED, DISCARDED = "pending", "sending", "sent", "failed", "discarded"


class OutboxMessage(SQLModel, table=True):
    """A rendered email waiting for (or done with) delivery.

    Bodies are sealed (encrypted) so a database reader cannot lift reset links from them.
    """

    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    recipient: str = Field(max_length=320)
    template: str = Field(max_length=64)
    subject: str = Field(max_length=255)
    text_body: str = Field(sa_column=Column(Text, nullable=False))
    html_body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=PENDING, max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)
    claimed_until: datetime | None = None
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None

    def text(self) -> str:
        """The plain-text body."""
        return unseal(self.text_body)

    def html(self) -> str:
        """The HTML body."""
        return unseal(self.html_body)
