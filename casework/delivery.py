"""Delivering the outbox: each pending message is sent once and marked with the server's reply.

A message whose send is interrupted before it is marked stays pending and is sent again by the
next delivery: at most one duplicate in that narrow window, carrying the same Message-ID.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select

from casework.office import Office
from casework.store import cases as store
from casework.store.tables import Case, OutboxMessage
from notifications.render import RenderedMessage
from notifications.smtp import DeliveryFailed, send_email


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    temporary_failures: list[str] = field(default_factory=list)
    permanent_failures: list[str] = field(default_factory=list)


class DeliveryIncomplete(Exception):
    """Some messages could not be delivered yet (a temporary failure); they stay pending."""


async def deliver_pending(office: Office, *, reference: str | None = None, now: datetime | None = None) -> DeliveryReport:
    """Send the pending messages (of one case, or all); mark each sent or failed as it goes."""
    report = DeliveryReport()
    with office.sessions.begin() as session:
        case_id = None
        if reference is not None:
            case_id = session.scalar(select(Case.id).where(Case.reference == reference))
        pending = [
            (m.id, RenderedMessage(m.key, m.kind, m.recipient, m.subject, m.body["text"], m.body["html"],
                                   tuple(m.body.get("attachments") or ())))
            for m in store.pending_messages(session, case_id=case_id)
        ]
    for message_id, message in pending:
        with office.sessions.begin() as session:  # another worker may have sent it meanwhile
            row = session.get(OutboxMessage, message_id, with_for_update=True)
            if row is None or row.status != "pending":
                continue
        try:
            reply = await send_email(message, office.settings)
        except DeliveryFailed as failure:
            with office.sessions.begin() as session:
                row = session.get(OutboxMessage, message_id)
                assert row is not None
                row.attempts += 1
                row.last_error = str(failure)
                if not failure.temporary:
                    row.status = "failed"
                    report.permanent_failures.append(f"{message.kind} to {message.to}: {failure}")
                else:
                    report.temporary_failures.append(f"{message.kind} to {message.to}: {failure}")
                store.audit(session, reference=message.key.split(":", 1)[0], actor="system",
                            action="message delivery failed", now=now or datetime.now(timezone.utc),
                            kind=message.kind, recipient_role=message.kind, temporary=failure.temporary, error=str(failure))
            continue
        with office.sessions.begin() as session:
            row = session.get(OutboxMessage, message_id)
            assert row is not None
            row.status = "sent"
            row.attempts += 1
            row.smtp_reply = reply
            row.sent_at = datetime.now(timezone.utc)
            store.audit(session, reference=message.key.split(":", 1)[0], actor="system", action="message sent",
                        now=row.sent_at, kind=message.kind, to=message.to)
        report.sent.append(message.key)
    return report
