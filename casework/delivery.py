"""Delivering the outbox: each pending message is sent once and marked with the server's reply.

A message is claimed (`sending`) before it is sent, so two deliverers never both send it. One whose
sender died before marking it is sent again once the claim's lease runs out: at most one duplicate
in that narrow window, carrying the same Message-ID.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.office import Office
from casework.reminders import Purpose, reminded_deadline
from casework.store import cases as store
from casework.store.tables import Case, OutboxMessage
from notifications.render import RenderedMessage
from notifications.smtp import DeliveryFailed, send_email


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    temporary_failures: list[str] = field(default_factory=list)
    permanent_failures: list[str] = field(default_factory=list)
    in_flight: int = 0  # messages another deliverer was sending at the time: not ours to send, not done


class DeliveryIncomplete(Exception):
    """Some messages could not be delivered yet (a temporary failure); they stay pending."""


WITHDRAWABLE = {Purpose.reminder, Purpose.warning, Purpose.chase}  # never an escalation: a breach stays told


def _withdrawn_as_done(session: Session, message: OutboxMessage, now: datetime) -> bool:
    """A reminder, warning or chase whose deadline was met while it waited, say for the mail server to
    come back, is withdrawn, never sent: no one is chased for what they have done. An escalation is
    still sent: the deadline was breached, even if the work was done late."""
    about = reminded_deadline(message.key)
    if about is None or about.purpose not in WITHDRAWABLE or message.case_id is None:
        return False
    if not store.deadline_met(session, case_id=message.case_id, kind=about.kind, subject=about.subject, round=about.round):
        return False
    return store.withdraw_message(session, message_id=message.id, now=now,
                                  reason="withdrawn unsent: what it was about was done before it could be delivered")


def _meet_notice_deadline(session: Session, office: Office, message: OutboxMessage) -> None:
    """A statutory notice just sent meets its deadline now, in the transaction that marks it sent: the
    tracker, the case view and the monthly report show it met from that moment, whatever queued it; the rapid
    review sent to the Panel starts the clock of the Panel's reply (wt2023)."""
    if message.case_id is None or message.sent_at is None:
        return
    case = session.get(Case, message.case_id)
    if case is None:
        return
    rules = office.rules(case.regime)
    if message.kind in rules.notices:
        store.meet_notice_deadlines(case, rules=rules, sent={message.kind: message.sent_at})
        store.start_reply_clock(session, case=case, rules=rules, notice=message.kind, sent_at=message.sent_at,
                                calendar=office.calendar)


async def deliver_pending(office: Office, *, reference: str | None = None, now: datetime | None = None) -> DeliveryReport:
    """Send the pending messages (of one case, or all); mark each sent or failed as it goes.

    Each message is claimed before it is sent (casework.store.cases.claim_message), so of a case's
    run, the sweep, `cig outbox retry` and a second worker delivering at once, one sends it. Every
    message's replies go to the partnership administrator (Reply-To). A statutory notice meets its
    deadline in the transaction that marks it sent, at `now` (the present moment when not given).
    """
    report = DeliveryReport()
    clock = lambda: now or datetime.now(timezone.utc)  # noqa: E731
    with office.sessions.begin() as session:
        case_id = None
        if reference is not None:
            case_id = session.scalar(select(Case.id).where(Case.reference == reference))
        pending = [
            (m.id, RenderedMessage(m.key, m.kind, m.recipient, m.subject, m.body["text"], m.body["html"],
                                   tuple(m.body.get("attachments") or ())))
            for m in store.pending_messages(session, case_id=case_id, now=clock())
            if not _withdrawn_as_done(session, m, clock())
        ]
    for message_id, message in pending:
        with office.sessions.begin() as session:
            if not store.claim_message(session, message_id=message_id, now=clock()):
                continue  # another deliverer took it (or sent it) since we looked
        try:
            reply = await send_email(message, office.settings, reply_to=office.partnership.contacts.administrator.email)
        except DeliveryFailed as failure:
            with office.sessions.begin() as session:
                row = session.get(OutboxMessage, message_id)
                assert row is not None
                row.attempts += 1
                row.last_error = str(failure)
                row.status = "pending" if failure.temporary else "failed"
                row.claimed_at = None
                if failure.temporary:
                    report.temporary_failures.append(f"{message.kind} to {message.to}: {failure}")
                else:
                    report.permanent_failures.append(f"{message.kind} to {message.to}: {failure}")
                store.audit(session, reference=message.key.split(":", 1)[0], actor="system",
                            action="message delivery failed", now=clock(),
                            kind=message.kind, recipient_role=message.kind, temporary=failure.temporary, error=str(failure))
            continue
        with office.sessions.begin() as session:
            row = session.get(OutboxMessage, message_id)
            assert row is not None
            row.status = "sent"
            row.attempts += 1
            row.smtp_reply = reply
            row.sent_at = clock()
            _meet_notice_deadline(session, office, row)
            # to whom: a partnership mailbox by its address; a person the case names (the referrer, an action's
            # lead) not at all, as their address is sealed personal data (the outbox row keeps it, to send)
            to = message.to if message.to.lower() in office.partnership.addresses else None
            store.audit(session, reference=message.key.split(":", 1)[0], actor="system", action="message sent",
                        now=row.sent_at, kind=message.kind, to=to)
        report.sent.append(message.key)
    with office.sessions() as session:
        report.in_flight = store.in_flight(session, now=clock(), case_id=case_id)
    return report
