"""Delivery backends (console, file, smtp); each has `send(msg)` and raises `DeliveryError`."""

from __future__ import annotations

import email.policy
import logging
import re
import smtplib
import ssl
from datetime import datetime, timezone
from email.header import decode_header, make_header
from email.message import Message
from email.mime.text import MIMEText
from email.utils import parseaddr
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from pwapp.files import private_dir, write_new
from pwapp.settings import Settings
from pwapp.settings import settings as default_settings

log = logging.getLogger("pwapp.mail")

_URL = re.compile(r"https?://[^\s<>\"']+")
_TOKEN_PARAM = re.compile(r"(token=)[^\s&#\"'<>]+", re.IGNORECASE)
_TOKEN_LIKE_SEGMENT = re.compile(r"^[A-Za-z0-9_.~-]{20,}$")
_REDACTED = "[redacted]"


def wire_bytes(msg: Message, linesep: str = "\n") -> bytes:
    """The message as built (compat32 writes the text it was given), or, for a recipient whose
    local part is not ASCII, with that address in UTF-8 as SMTPUTF8 expects."""
    policy = email.policy.compat32 if msg["To"].isascii() else email.policy.default.clone(utf8=True)
    return msg.as_bytes(policy=policy.clone(linesep=linesep))


class DeliveryError(Exception):
    """Sending failed; `permanent` means retrying cannot help. The message is safe to store."""

    def __init__(self, reason: str, *, permanent: bool):
        super().__init__(reason)
        self.reason = reason[:300]
        self.permanent = permanent


class Backend(Protocol):
    """Anything that can deliver one message or raise `DeliveryError`."""

    def send(self, msg: Message) -> None: ...


def redact(text: str) -> str:
    """`text` with every `token=` value, URL query, fragment and token-like path segment hidden."""

    def _url(match: re.Match) -> str:
        parts = urlsplit(match.group(0))
        path = "/".join(
            _REDACTED if _TOKEN_LIKE_SEGMENT.match(seg) else seg for seg in parts.path.split("/")
        )
        return urlunsplit(
            (
                parts.scheme,
                parts.netloc,
                path,
                _REDACTED if parts.query else "",
                _REDACTED if parts.fragment else "",
            )
        )

    return _TOKEN_PARAM.sub(r"\1" + _REDACTED, _URL.sub(_url, text))


def _text(part: Message) -> str:
    """One text part's content, decoded."""
    return part.get_payload(decode=True).decode("utf-8")


class ConsoleBackend:
    """Logs and prints each mail; in production every link's secret parts are redacted."""

    def __init__(self, settings: Settings):
        self.production = settings.env == "production"

    def send(self, msg: Message) -> None:
        body = _text(msg.get_payload(0))
        if self.production:
            body = redact(body)
        subject = make_header(decode_header(msg["Subject"]))  # RFC 2047 words back to text
        text = f"To: {msg['To']}\nSubject: {subject}\n\n{body.rstrip()}\n"
        log.info("mail (console backend)\n%s", text)
        print(f"----- mail -----\n{text}----------------", flush=True)


def _redacted(part: Message) -> MIMEText:
    return MIMEText(redact(_text(part)), part.get_content_subtype(), "utf-8")


class FileBackend:
    """Writes each mail as `<mail_dir>/<utc timestamp>-<id>.eml` (folder 0700, files 0600); in
    production, as on the console, every link's secret parts are redacted, so no live reset
    link rests on disk."""

    def __init__(self, settings: Settings):
        self.directory = settings.mail_dir
        self.production = settings.env == "production"

    def send(self, msg: Message) -> None:
        if self.production:
            msg.set_payload([_redacted(part) for part in msg.get_payload()])
        try:
            private_dir(self.directory)
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            ident = msg["Message-ID"].strip("<>").partition("@")[0]
            path = self.directory / f"{stamp}-{ident}.eml"
            tmp = path.with_suffix(".tmp")
            write_new(tmp, wire_bytes(msg))
            tmp.replace(path)
        except OSError as exc:
            raise DeliveryError(f"cannot write mail file: {exc.strerror}", permanent=False) from exc


def _response_reason(code: int, message: bytes | str) -> str:
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return f"{code} {' '.join(message.split())}"


class SmtpBackend:
    """Sends through an SMTP server; 5xx answers are permanent, everything else temporary."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.smtp_security == "ssl":
            tls = ssl.create_default_context()
            return smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=tls)
        return smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)

    def _deliver(self, msg: Message) -> None:
        s = self.settings
        client = self._connect()
        try:
            if s.smtp_security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if s.smtp_username:
                client.login(s.smtp_username, s.smtp_password)
            sender, recipient = parseaddr(msg["From"])[1], msg["To"]
            # Like smtplib's send_message, which needs an EmailMessage: SMTPUTF8 only when the
            # recipient needs it (build_message leaves only its local part non-ASCII).
            utf8 = () if recipient.isascii() else ("SMTPUTF8", "BODY=8BITMIME")
            refused = client.sendmail(sender, [recipient], wire_bytes(msg, "\r\n"), mail_options=utf8)
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
        if refused:
            code, message = next(iter(refused.values()))
            raise DeliveryError(_response_reason(code, message), permanent=code >= 500)

    def send(self, msg: Message) -> None:
        try:
            self._deliver(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            code, message = next(iter(exc.recipients.values()))
            raise DeliveryError(_response_reason(code, message), permanent=code >= 500) from None
        except smtplib.SMTPAuthenticationError as exc:
            # A login problem is the server's configuration, not this message's fault.
            raise DeliveryError(f"login failed ({exc.smtp_code})", permanent=False) from None
        except smtplib.SMTPResponseException as exc:
            reason = _response_reason(exc.smtp_code, exc.smtp_error)
            raise DeliveryError(reason, permanent=exc.smtp_code >= 500) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False) from None


_BACKENDS = {"console": ConsoleBackend, "file": FileBackend, "smtp": SmtpBackend}


def get_backend(settings: Settings | None = None) -> Backend:
    """The backend named by `settings.mail_backend`."""
    settings = settings or default_settings
    return _BACKENDS[settings.mail_backend](settings)
