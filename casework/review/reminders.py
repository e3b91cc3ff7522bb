"""What a review's open deadlines owe at a given moment (pure; asked by casework.sweep.reminders_owed).

- an agency's engagement with the review (seed 002: "Engagement with review process assured"): once
  overdue, a chase to the agency's contact, copied to the business manager;
- each milestone of the review's plan (its target date, as last re-planned): a reminder to the business
  manager and the lead reviewer(s) appointed with an email address `reminders.milestone_warning_days` of
  the partnership file (default 7) before it, and once it is
  missed, a reminder that it is overdue; once each per target (a re-planned milestone is a new round);
- wt2023's full report to the Panel and the Secretary of State: the last day it may go for publication inside
  the 6 months; a warning to the business manager at each notice offset before it, and an escalation once it
  has passed without the report sent;
- the published report's 12 months on the website (seed 002): a reminder to the business manager at
  each notice offset before they end, and once they have, a reminder to record what becomes of it
  (owed on a closed case too: the report outlives the case's work).

A warning whose day falls on a day no one works goes on the working day before (casework.clocks.reminder_day);
nothing goes on such a day (casework.sweep asks only on working days).

Keys have the shape of every reminder's ("purpose.kind.subject.offset"), so the outbox keeps one each.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from casework.clocks import WorkingCalendar, reminder_day
from casework.referral.messages import Message
from config.partnership import Contact, Partnership

if TYPE_CHECKING:
    from casework.reminders import OpenDeadline

REVIEW_MILESTONE = "review_milestone"
PRE_PUBLICATION = "pre_publication_notice"  # wt2023: the full report to the Panel and the Secretary of State
REVIEW_KINDS = ("review_engagement", REVIEW_MILESTONE, "report_availability", PRE_PUBLICATION)


def _message(item: "OpenDeadline", purpose: str, offset: str, to: Contact, partnership: Partnership,
             copy_for: str = "") -> Message:
    agency = partnership.agency_by_code.get(item.subject)
    context = {"partnership": partnership.name, "reference": item.reference, "purpose": purpose, "kind": item.kind,
               "label": item.label, "due_at": item.due_at, "agency": agency.name if agency else "",
               "copy_for": copy_for, "subject": item.subject}
    return Message(item.reference, f"{purpose}.{item.kind}.{item.subject or 'case'}.{offset}", "review_reminder", to,
                   item.round, context)


def review_reminders_owed(item: "OpenDeadline", *, now: datetime, partnership: Partnership,
                          calendar: WorkingCalendar) -> list[Message]:
    """The messages one open review deadline owes at `now` (none once met)."""
    if item.met_at is not None:
        return []
    breached = now > item.due_at
    manager = partnership.contacts.business_manager
    if item.kind == "review_engagement":
        agency = partnership.agency_by_code.get(item.subject)
        if not breached or agency is None or not item.case_open:
            return []
        return [_message(item, "chase", "overdue", agency.contact, partnership),
                _message(item, "chase", "overdue", manager, partnership, copy_for=agency.contact.name)]
    if item.kind == REVIEW_MILESTONE:
        if not item.case_open:
            return []
        to = [manager, *(r for r in item.lead_reviewers if r.email.casefold() != manager.email.casefold())]
        if breached:
            return [_message(item, "chase", "missed", person, partnership) for person in to]
        today, due_day = calendar.local_date(now), calendar.local_date(item.due_at)
        warning_days = partnership.reminders.milestone_warning_days
        if reminder_day(due_day, warning_days, calendar) <= today:
            return [_message(item, "warning", f"{warning_days}d", person, partnership) for person in to]
        return []
    if item.kind in ("report_availability", PRE_PUBLICATION):
        if breached:
            return [_message(item, "escalation", "breached", manager, partnership)]
        today, due_day = calendar.local_date(now), calendar.local_date(item.due_at)
        offsets = sorted((n for n in partnership.reminders.notice_offsets_days if n > 0), reverse=True)
        owed = [n for n in offsets if reminder_day(due_day, n, calendar) <= today]
        return [_message(item, "warning", f"{owed[-1]}d", manager, partnership)] if owed else []
    return []
