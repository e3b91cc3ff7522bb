"""Sending one rendered message over SMTP with aiosmtplib, and telling recoverable failures apart.

A message carries a stable Message-ID made from its outbox key, so a receiver can recognise a
repeat. Temporary failures (4xx replies, timeouts, refused or dropped connections) are worth
retrying; permanent ones (5xx, a recipient refused) are not.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from config.settings import Settings
from notifications.render import RenderedMessage, one_line


class DeliveryFailed(Exception):
    """The server would not take the message; `temporary` says whether trying later may work."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


def message_id(key: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@cig-casework.example.org>"


def attachment_bytes(attachment: dict[str, str]) -> bytes:
    """The attachment's content as bytes: base64-decoded when it is marked `"encoding": "base64"`
    (binary files such as a chart), else the text encoded as UTF-8. Raises ValueError for bad base64."""
    encoding = attachment.get("encoding")
    if encoding is None:
        return attachment["content"].encode()
    if encoding != "base64":
        raise ValueError(f"attachment {attachment.get('filename')!r}: unknown encoding {encoding!r}")
    try:
        return base64.b64decode(attachment["content"], validate=True)
    except binascii.Error as exc:
        raise ValueError(f"attachment {attachment.get('filename')!r}: content is not valid base64 ({exc})") from None


def build_email(message: RenderedMessage, sender: str, reply_to: str | None = None) -> EmailMessage:
    """The MIME message: plain text first, HTML alternative, then any attachments (text, or binary
    held as base64 in the outbox: see `attachment_bytes`), each named by its filename. A reply goes
    to `reply_to` (the partnership administrator) when given, not to the system's sending address."""
    email = EmailMessage()
    email["From"] = sender
    if reply_to:
        email["Reply-To"] = one_line(reply_to)
    email["To"] = one_line(message.to)
    email["Subject"] = one_line(message.subject)
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Message-ID"] = message_id(message.key)
    email["X-CIG-Key"] = one_line(message.key)
    email.set_content(message.text)
    email.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        maintype, subtype = attachment["content_type"].split("/", 1)
        email.add_attachment(
            attachment_bytes(attachment), maintype=maintype, subtype=subtype, filename=attachment["filename"]
        )
    return email


def is_temporary(error: BaseException) -> bool:
    """True for failures that may pass: 4xx replies, timeouts, refused or lost connections."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(400 <= r.code < 500 for r in error.recipients)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return 400 <= error.code < 500
    return isinstance(error, (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected,
                              aiosmtplib.SMTPTimeoutError, ConnectionError, TimeoutError, OSError))


async def send_email(message: RenderedMessage, settings: Settings, *, reply_to: str | None = None) -> str:
    """Hand the message to the SMTP server, replies to `reply_to`; return the server's reply, or raise DeliveryFailed."""
    try:
        email = build_email(message, settings.mail_from, reply_to)
    except ValueError as exc:  # an attachment that cannot be decoded will never send: permanent
        raise DeliveryFailed(f"the message cannot be built: {exc}", temporary=False) from exc
    try:
        _, reply = await aiosmtplib.send(
            email,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            start_tls=settings.smtp_starttls and not settings.smtp_implicit_tls,
            use_tls=settings.smtp_implicit_tls,
            cert_bundle=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
            timeout=settings.smtp_timeout_seconds,
        )
    except Exception as exc:  # classified, with the server's words, for the outbox
        if not isinstance(exc, (aiosmtplib.SMTPException, OSError, TimeoutError)):
            raise
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}", temporary=is_temporary(exc)) from exc
    return reply
