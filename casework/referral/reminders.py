"""Which reminders, warnings, chases and escalations the referral's open deadlines owe, at a given moment.

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

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from casework.clocks import WorkingCalendar, reminder_day
from casework.referral.messages import Message
from casework.reminders import OpenDeadline, Purpose, latest_offset_due, reminder_message
from config.partnership import Partnership

NOTICE_KINDS = ("ofsted_notice", "panel_notice", "serious_incident_notice", "rapid_review_notice")
REPLY_KINDS = ("panel_reply",)  # wt2023: the Panel's reply to the rapid review, started when the rapid review is sent


def case_reminders_owed(
    deadlines: Sequence[OpenDeadline], *, now: datetime, partnership: Partnership, calendar: WorkingCalendar
) -> list[Message]:
    """Every reminder the referral's deadlines owe at `now` (the outbox keeps one of each, however often asked);
    the sweep asks only on a working day (casework.sweep.reminders_owed)."""
    contacts = partnership.contacts
    settings = partnership.reminders
    today = calendar.local_date(now)
    owed: list[Message] = []
    for item in deadlines:
        if item.kind in REPLY_KINDS:  # once the clock has run out, one reminder (a case closed at the decision too)
            if item.met_at is None and today >= calendar.working_day_on_or_after(calendar.local_date(item.due_at)):
                reminder = reminder_message(item, Purpose.reminder, "due", contacts.business_manager, "business manager",
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
                owed.append(reminder_message(item, Purpose.chase, "overdue", agency.contact, "agency", partnership, {}))
                owed.append(reminder_message(item, Purpose.chase, "overdue", contacts.administrator, "administrator",
                                     partnership, {"copy_for": agency.contact.name}))
                continue
            if item.counted_in_hours:
                continue
            offset = latest_offset_due(settings.return_offsets_working_days, due_day, today, item.started_on,
                                        lambda n: reminder_day(due_day, n, calendar, working_days=True))
            if offset is not None:  # in so many working days, as they are from today (the email says it)
                left = calendar.working_days_between(today, due_day)
                owed.append(reminder_message(item, Purpose.reminder, f"{offset}wd", agency.contact, "agency", partnership,
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
                owed.append(reminder_message(item, Purpose.escalation, "breached", to, role, partnership, {}))
            continue
        if item.counted_in_hours:
            continue
        offset = latest_offset_due(offsets, due_day, today, item.started_on, lambda n: reminder_day(due_day, n, calendar))
        if offset is not None:  # in so many days from today: more than the offset when brought back over days off
            left = (due_day - today).days
            for to, role in before:
                owed.append(reminder_message(item, Purpose.warning, f"{offset}d", to, role, partnership,
                                     {"days": f"{left} day{'s' if left != 1 else ''}"}))
    return owed
