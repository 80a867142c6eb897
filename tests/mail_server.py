"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 (with SMTPUTF8) that keeps what it accepts.

    with MailServer() as server:          # or the `mail_server` fixture
        ...send to 127.0.0.1:server.port...
        [msg] = server.wait_for(1)

`MailServer(reject={"x@example.com"})` answers 550 for those recipients; a server
that is created but not started is "down": nothing listens on its port yet.
`MailServer(hold=event)` keeps each message it receives but answers its 250 only once
`event` is set, so a test can kill the sender in between.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MailServer:
    """An SMTP server whose accepted messages land in `messages` (parsed, newest last)."""

    def __init__(
        self, *, reject: set[str] | frozenset[str] = frozenset(), hold: threading.Event | None = None
    ):
        self.port = free_port()
        self.reject = {address.lower() for address in reject}
        self.hold = hold
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        if self.hold is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.hold.wait, 60)
        return "250 Message accepted for delivery"

    def start(self) -> "MailServer":
        """Start listening on `self.port`."""
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (a no-op when not started)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self) -> list[EmailMessage]:
        """A snapshot of the messages accepted so far."""
        with self._lock:
            return list(self.messages)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until at least `count` messages arrived; fail the test after `timeout` s."""
        deadline = time.monotonic() + timeout
        while len(self.received()) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"expected {count} message(s), got {len(self.received())}")
            time.sleep(0.01)
        return self.received()

    def __enter__(self) -> "MailServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture
def mail_server():
    """A running `MailServer`, stopped after the test."""
    with MailServer() as server:
        yield server
