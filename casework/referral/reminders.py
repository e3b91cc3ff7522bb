"""Which reminders, warnings, chases and escalations the open deadlines owe, at a given moment.

Pure: plain data in (the open deadlines near `now`, the partnership, the working calendar), a list
of messages out. Nothing here reads the clock, the database or Prefect. Each message's key names
the case, the deadline (kind, subject, round), the offset and the recipient, so writing it to the
outbox on every sweep keeps exactly one.

- an outstanding information return: a reminder to the agency contact at each configured number
  of working days before the due day, and a chase once it is overdue, copied (as its own message)
  to the administrator;
- the chair's decision: a warning to the CIG chair and the independent chair at each configured
  number of days before it, and an escalation to the business manager and the independent chair
  once it is breached;
- the statutory notices (Ofsted, National Panel, serious incident, rapid review): a warning to the
  business manager before (for the National Panel notice, which waits for an SCR's lead reviewer,
  the independent chair too), and the same escalation when breached;
- a review's engagement, milestones and report (casework.review.reminders);
- the Panel's reply to the rapid review (wt2023): one reminder to the business manager once its clock has run
  out with no reply recorded (on the clock's last day, or the next working day).

Only the latest offset whose day has come is owed (a sweep that missed a day does not send two
reminders at once), none on the day the clock started, and none for a deadline already met. Nothing is
owed on a day no one works (a weekend, an England and Wales bank holiday, a closure day of the
partnership): a reminder whose offset falls on one goes on the working day before; a chase or
escalation owed on one waits for the next working day (casework.clocks).

A clock counted in hours (Ofsted's "immediately": a few hours from the decision) owes no reminder
or warning, whose offsets are counted in days and would all fall before the clock started; it owes
only the escalation, from the first sweep after the moment it runs out (the sweep runs every 15
minutes), once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from casework.clocks import WorkingCalendar, reminder_day, reminders_go_on
from casework.referral.messages import Message
from config.partnership import Contact, Partnership

if TYPE_CHECKING:
    from casework.learning.rules import ActionDue

NOTICE_KINDS = ("ofsted_notice", "panel_notice", "serious_incident_notice", "rapid_review_notice")
REPLY_KINDS = ("panel_reply",)  # wt2023: the Panel's reply to the rapid review, started when the rapid review is sent


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


def horizon(partnership: Partnership) -> timedelta:
    """How far ahead the sweep must look so that every offset's day is seen (working days: generously; and a
    reminder brought back from a run of days no one works, like Christmas or the partnership's closure days)."""
    reminders = partnership.reminders
    working = max(reminders.return_offsets_working_days, default=0)
    calendar_days = max([*reminders.decision_offsets_days, *reminders.notice_offsets_days,
                         reminders.milestone_warning_days])
    # n working days can span n weeks' worth of weekends and the Christmas and Easter closures
    from casework.learning.rules import IMPACT_REVIEW_WARNING_DAYS

    brought_back = 7 + len(partnership.closure_days)
    return timedelta(days=max(calendar_days, 2 * working + 7, *reminders.action_offsets_days,
                              IMPACT_REVIEW_WARNING_DAYS) + brought_back + 1)


def _latest_offset_due(
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


def _message(
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


def reminders_owed(
    deadlines: Sequence[OpenDeadline], *, now: datetime, partnership: Partnership, calendar: WorkingCalendar
) -> list[Message]:
    """Every reminder the deadlines owe at `now` (the outbox keeps one of each, however often asked); none
    on a day no one works."""
    if not reminders_go_on(now, calendar):
        return []
    contacts = partnership.contacts
    settings = partnership.reminders
    today = calendar.local_date(now)
    owed: list[Message] = []
    from casework.learning.rules import LEARNING_KINDS, learning_reminders_owed
    from casework.review.reminders import REVIEW_KINDS, review_reminders_owed

    for item in deadlines:
        if item.kind in LEARNING_KINDS:  # a learning action (its lead, the CIG member), the 6-month review
            owed.extend(learning_reminders_owed(item, now=now, partnership=partnership, calendar=calendar))
            continue
        if item.kind in REVIEW_KINDS:  # a review's engagement chases and its report's 12 months
            owed.extend(review_reminders_owed(item, now=now, partnership=partnership, calendar=calendar))
            continue
        if item.kind in REPLY_KINDS:  # once the clock has run out, one reminder (a case closed at the decision too)
            if item.met_at is None and today >= calendar.working_day_on_or_after(calendar.local_date(item.due_at)):
                reminder = _message(item, Purpose.reminder, "due", contacts.business_manager, "business manager",
                                    partnership, {})
                owed.append(replace(reminder, template="panel_reply_reminder"))
            continue
        if item.met_at is not None or not item.case_open:
            continue
        due_day = calendar.local_date(item.due_at)
        breached = now > item.due_at
        if item.kind == "information_return":
            agency = partnership.agency_by_code.get(item.subject)
            if agency is None:
                continue
            if breached:
                owed.append(_message(item, Purpose.chase, "overdue", agency.contact, "agency", partnership, {}))
                owed.append(_message(item, Purpose.chase, "overdue", contacts.administrator, "administrator",
                                     partnership, {"copy_for": agency.contact.name}))
                continue
            if item.counted_in_hours:
                continue
            offset = _latest_offset_due(settings.return_offsets_working_days, due_day, today, item.started_on,
                                        lambda n: reminder_day(due_day, n, calendar, working_days=True))
            if offset is not None:  # in so many working days, as they are from today (the email says it)
                left = calendar.working_days_between(today, due_day)
                owed.append(_message(item, Purpose.reminder, f"{offset}wd", agency.contact, "agency", partnership,
                                     {"days": f"{left} working day{'s' if left != 1 else ''}"}))
            continue
        if item.kind == "decision":
            before = ((contacts.cig_chair, "CIG chair"), (contacts.independent_chair, "independent chair"))
            offsets = settings.decision_offsets_days
        elif item.kind == "panel_notice":  # an SCR's waits for its lead reviewer: the independent chair acts too
            before = ((contacts.business_manager, "business manager"), (contacts.independent_chair, "independent chair"))
            offsets = settings.notice_offsets_days
        elif item.kind in NOTICE_KINDS:
            before, offsets = ((contacts.business_manager, "business manager"),), settings.notice_offsets_days
        else:
            continue
        if item.warned is not None:
            before = item.warned
        if breached:
            escalated = item.escalated if item.escalated is not None else (
                (contacts.business_manager, "business manager"), (contacts.independent_chair, "independent chair"))
            for to, role in escalated:
                owed.append(_message(item, Purpose.escalation, "breached", to, role, partnership, {}))
            continue
        if item.counted_in_hours:
            continue
        offset = _latest_offset_due(offsets, due_day, today, item.started_on, lambda n: reminder_day(due_day, n, calendar))
        if offset is not None:  # in so many days from today: more than the offset when brought back over days off
            left = (due_day - today).days
            for to, role in before:
                owed.append(_message(item, Purpose.warning, f"{offset}d", to, role, partnership,
                                     {"days": f"{left} day{'s' if left != 1 else ''}"}))
    return owed
