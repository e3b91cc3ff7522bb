"""The local SMTP server (aiosmtpd): the embedded default mail server and the tests' peer.

It keeps every message it accepts as an `.eml` file plus one JSON line in `index.jsonl`
(from, to, subject, time, key), so `cig mail` and the tests can see who received what.
A fault file lets tests make it refuse (`451`) or reject (`550`) messages for a while.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session, SMTP


@dataclass(frozen=True)
class ReceivedMail:
    received_at: datetime
    sender: str
    to: list[str]
    subject: str
    key: str
    file: Path

    def message(self) -> EmailMessage:
        return message_from_bytes(self.file.read_bytes(), policy=policy.default)  # type: ignore[return-value]

    def text(self) -> str:
        part = self.message().get_body(preferencelist=("plain",))
        return part.get_content() if part else ""

    def html(self) -> str:
        part = self.message().get_body(preferencelist=("html",))
        return part.get_content() if part else ""


class KeepingHandler:
    """Writes each accepted message to disk; answers with a fault code while a fault file says so."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def _fault(self) -> str | None:
        fault = self.directory / "FAULT"
        return fault.read_text().strip() if fault.exists() else None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = self._fault()
        if fault:
            return fault
        data = envelope.original_content or b""
        parsed = message_from_bytes(data, policy=policy.default)
        now = datetime.now(timezone.utc)
        with self._lock:
            name = f"{now.strftime('%Y%m%dT%H%M%S%f')}-{time.monotonic_ns()}.eml"
            (self.directory / name).write_bytes(data)
            line = {
                "received_at": now.isoformat(),
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "subject": str(parsed.get("Subject", "")).strip(),
                "key": str(parsed.get("X-CIG-Key", "")),
                "file": name,
            }
            with (self.directory / "index.jsonl").open("a", encoding="utf-8") as index:
                index.write(json.dumps(line) + "\n")
        return "250 Message accepted for delivery"


def start_mailbox(directory: Path, host: str = "127.0.0.1", port: int = 8025,
                  tls_context: ssl.SSLContext | None = None) -> Controller:
    """Start the SMTP server in a background thread; call `.stop()` on the result to stop it.

    With `tls_context` it offers STARTTLS and refuses mail from a sender that does not use it.
    """
    if tls_context is None:
        controller = Controller(KeepingHandler(directory), hostname=host, port=port)
    else:
        controller = Controller(KeepingHandler(directory), hostname=host, port=port,
                                tls_context=tls_context, require_starttls=True)
    controller.start()
    return controller


def set_fault(directory: Path, reply: str | None) -> None:
    """Make the server answer `reply` (e.g. '451 4.3.0 try later') to every message, or stop (None)."""
    fault = directory / "FAULT"
    if reply is None:
        fault.unlink(missing_ok=True)
    else:
        directory.mkdir(parents=True, exist_ok=True)
        fault.write_text(reply)


def read_mailbox(directory: Path) -> list[ReceivedMail]:
    """Every message the server has accepted, oldest first."""
    index = directory / "index.jsonl"
    if not index.exists():
        return []
    mails = []
    for line in index.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        mails.append(
            ReceivedMail(
                received_at=datetime.fromisoformat(item["received_at"]),
                sender=item["from"],
                to=item["to"],
                subject=item["subject"],
                key=item["key"],
                file=directory / item["file"],
            )
        )
    return mails
