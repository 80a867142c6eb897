"""Render mail templates and turn outbox rows into MIME messages.

Templates are looked up first in the folder named by the environment variable
`PWAPP_MAIL_TEMPLATES` (when set), then in the built-in `pwapp/mail/templates`.
Each mail `<name>` needs `<name>.subject.txt`, `<name>.txt` and `<name>.html`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import idna
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pwapp.models.outbox import OutboxMessage
from pwapp.settings import Settings

BUILTIN_TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Rendered:
    """The three rendered parts of one mail."""

    subject: str
    text: str
    html: str


def template_dirs() -> tuple[Path, ...]:
    """Template folders in search order: `PWAPP_MAIL_TEMPLATES` (if set), then built-in."""
    override = os.environ.get("PWAPP_MAIL_TEMPLATES", "").strip()
    return (Path(override), BUILTIN_TEMPLATES) if override else (BUILTIN_TEMPLATES,)


@lru_cache(maxsize=4)
def _environment(dirs: tuple[Path, ...]) -> Environment:
    return Environment(
        loader=FileSystemLoader([str(d) for d in dirs]),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
    )


def render(template: str, context: dict, settings: Settings) -> Rendered:
    """Render `template` with `context` plus `base_url` and `product`; missing names raise."""
    env = _environment(template_dirs())
    values = {**context, "base_url": settings.base_url, "product": settings.product_name}
    subject = " ".join(env.get_template(f"{template}.subject.txt").render(values).split())
    return Rendered(
        subject=subject,
        text=env.get_template(f"{template}.txt").render(values),
        html=env.get_template(f"{template}.html").render(values),
    )


def check_recipient(address: str) -> str:
    """Return `address` stripped, or raise ValueError if it cannot be a single mailbox."""
    address = address.strip()
    if (
        not address
        or len(address) > 320
        or any(c in address for c in "\r\n,;<>")
        or parseaddr(address)[1] != address
        or "@" not in address
    ):
        raise ValueError("not a single email address")
    return address


def _message_domain(settings: Settings) -> str:
    sender = mail_address(parseaddr(settings.mail_from)[1])
    return sender.rpartition("@")[2] or urlsplit(settings.base_url).hostname or "localhost"


def message_id(row: OutboxMessage, settings: Settings) -> str:
    """The `Message-ID` of every copy of one outbox row, so a copy sent again after a crash is
    recognisably the same message: a keyed hash of the row's id and creation time, which a new
    database never repeats and which tells nobody how many mails were sent."""
    name = f"pwapp outbox message {row.id} {row.created_at:%Y%m%dT%H%M%S%f}".encode()
    digest = hmac.new(settings.secret_key.encode(), name, hashlib.sha256).hexdigest()
    return f"<{digest[:32]}@{_message_domain(settings)}>"


def mail_address(address: str) -> str:
    """A bare address for headers and the envelope: an internationalized domain in its ASCII
    (IDNA) form, which every server takes; a non-ASCII local part stays and needs SMTPUTF8."""
    local, _, domain = address.rpartition("@")
    return address if domain.isascii() else f"{local}@{idna.encode(domain).decode('ascii')}"


def _mailbox(text: str) -> str:
    name, address = parseaddr(text)
    return formataddr((name, mail_address(address))) if name else mail_address(address)


def build_message(row: OutboxMessage, settings: Settings) -> Message:
    """A multipart/alternative message (text, then HTML) for one outbox row.

    Built with the email package's compat32 classes, which take a quarter of `EmailMessage`'s
    CPU: every header is set as final text (RFC 2047 words where it is not ASCII), so nothing
    is parsed or refolded. Backends write it with `wire_bytes` (an address may need SMTPUTF8).
    """
    # Base64 lines never hold "=_", so this boundary needs no search through the bodies.
    msg = MIMEMultipart("alternative", boundary=f"=_{uuid.uuid4().hex}")
    msg["From"] = _mailbox(settings.mail_from)
    msg["To"] = mail_address(row.recipient)
    msg["Subject"] = row.subject if row.subject.isascii() else Header(row.subject, "utf-8").encode()
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id(row, settings)
    msg.attach(MIMEText(row.text(), "plain", "utf-8"))
    msg.attach(MIMEText(row.html(), "html", "utf-8"))
    return msg
