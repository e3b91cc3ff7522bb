"""What every reminder shares, whatever phase its deadline belongs to (the referral's, a review's, a learning
action's): the open deadline as the sweep reads it, what a reminder message is for, its key read back, and
the message itself. Pure, and above the phases: casework.referral.reminders, casework.review.reminders and
casework.learning.rules each say what their own deadlines owe with these, and casework.sweep asks each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from casework.referral.messages import Message
from config.partnership import Contact, Partnership

if TYPE_CHECKING:
    from casework.learning.rules import ActionDue


class Purpose(StrEnum):
    """What a reminder message is: before the due day, or after it has passed."""

    reminder = "reminder"  # to an agency, before its return is due
    chase = "chase"  # to an agency (and the administrator), its return is overdue
    warning = "warning"  # to the people who must act, before a statutory deadline
    escalation = "escalation"  # a statutory deadline has been breached


@dataclass(frozen=True)
class OpenDeadline:
    """An unmet deadline on an open case, as the sweep reads it from the store."""

    reference: str
    kind: str
    subject: str
    round: int
    label: str
    due_at: datetime
    met_at: datetime | None = None
    case_open: bool = True
    started_on: date | None = None  # the day the clock started (no reminder that same day)
    meeting_at: datetime | None = None
    counted_in_hours: bool = False  # the clock runs out hours after its event: no day-counted warning
    action: "ActionDue | None" = None  # a learning action's deadline: the action and its named lead
    lead_reviewers: tuple[Contact, ...] = ()  # a review's appointed lead reviewers who gave an email address
    # who is warned before a statutory clock runs out, and told once it has, when the case's rule set says
    # (its steps `<kind>_due` and `<kind>_breached`, casework.sweep): each (person, how they read their role)
    warned: tuple[tuple[Contact, str], ...] | None = None
    escalated: tuple[tuple[Contact, str], ...] | None = None


@dataclass(frozen=True)
class RemindedDeadline:
    """The deadline a reminder's outbox message is about, read back from the message's key."""

    reference: str
    purpose: Purpose
    kind: str
    subject: str
    round: int


def reminded_deadline(key: str) -> RemindedDeadline | None:
    """For the outbox key of a reminder, warning, chase or escalation, the deadline it is about;
    None for any other message. Keys read "REF:purpose.kind.subject.offset:email:round"."""
    parts = key.split(":")
    if len(parts) != 4:
        return None
    reference, step, _to, round_ = parts
    pieces = step.split(".")
    if len(pieces) != 4 or pieces[0] not in Purpose.__members__ or not round_.isdigit():
        return None
    purpose, kind, subject, _offset = pieces
    return RemindedDeadline(reference, Purpose(purpose), kind, "" if subject == "case" else subject, int(round_))


def latest_offset_due(
    offsets: Iterable[int], due_day: date, today: date, started_on: date | None, day_of: Callable[[int], date]
) -> int | None:
    """The smallest offset whose reminder day has come (today is on or after it, before the due day)."""
    owed = None
    for offset in sorted(set(offsets), reverse=True):
        if offset <= 0:
            continue
        remind_on = day_of(offset)
        if started_on is not None and remind_on <= started_on:
            continue
        if remind_on <= today <= due_day:
            owed = offset
    return owed


def reminder_message(
    item: OpenDeadline, purpose: Purpose, offset: str, to: Contact, role: str, partnership: Partnership,
    extra: dict[str, object],
) -> Message:
    step = f"{purpose.value}.{item.kind}.{item.subject or 'case'}.{offset}"
    context: dict[str, object] = {
        "partnership": partnership.name,
        "reference": item.reference,
        "purpose": purpose.value,
        "kind": item.kind,
        "label": item.label,
        "due_at": item.due_at,
        "role": role,
        "subject": item.subject,
        "agency": partnership.agency_by_code[item.subject].name if item.subject in partnership.agency_by_code else "",
        "meeting_at": item.meeting_at,
        "copy_for": "",
        "days": offset,
        "link": None,  # an agency's personal link to its return, set when the message is queued (casework.sweep)
    }
    context.update(extra)
    template = "escalation" if purpose in (Purpose.chase, Purpose.escalation) else "reminder"
    return Message(item.reference, step, template, to, item.round, context)
