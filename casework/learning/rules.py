"""The rules of learning and improvement, apart from Prefect and the database: pure functions over plain
data that take `today` (or `now`) and never read the clock.

- an action's status as people see it (open, overdue, done with evidence, dropped with a reason);
- when the plans are locked (wt2015: ratified by the executive group, seed 002 "actions plans reviewed / revised /
  ratified by LSCB Executive Group"; wt2023: signed off by the safeguarding partners), after which an action
  changes only through a recorded update;
- when the professional development committee's 6-month review falls due;
- what an action's deadline owes its lead, the agency's CIG member and the business manager at `now`
  (the same keys and once-only guarantee as every reminder of casework.reminders);
- the 6-month review pack: every action, overdue first;
- the learning summary's month and year of the incident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from dateutil.relativedelta import relativedelta

from casework.clocks import WorkingCalendar, reminder_day
from casework.referral.messages import Message
from casework.review.rules import SEED_ORDER, Ratification, Ratifier, next_ratifier
from config.partnership import Contact, Partnership

if TYPE_CHECKING:
    from casework.reminders import OpenDeadline

ACTION_KIND = "learning_action"  # the kind of an action's deadline row (subject "A<number>")
IMPACT_REVIEW_KIND = "impact_review"  # the committee's review of the plans, due months after ratification
LEARNING_KINDS = (ACTION_KIND, IMPACT_REVIEW_KIND)
IMPACT_REVIEW_WARNING_DAYS = 14  # the committee and the business manager are told this long before it is due


class Plan(StrEnum):
    multi_agency = "multi_agency"
    single_agency = "single_agency"


class ActionStatus(StrEnum):
    """What is stored; `overdue` is never stored, it is an open action past its target date."""

    open = "open"
    overdue = "overdue"
    done = "done"  # with the evidence that it is done
    dropped = "dropped"  # with the reason


class ImpactOutcome(StrEnum):
    """The professional development committee's view of one action at the 6-month review."""

    impact_evidenced = "impact_evidenced"
    more_needed = "more_needed"
    replanned = "replanned"


def action_status(stored: str, target_on: date, today: date) -> ActionStatus:
    """The status people see: an open action whose target date has passed is overdue."""
    status = ActionStatus(stored)
    if status is ActionStatus.open and today > target_on:
        return ActionStatus.overdue
    return status


def plans_ratified_on(history: Sequence[Ratification], order: Sequence[Ratifier] = SEED_ORDER) -> date | None:
    """The day the body that locks the action plans ratified them (since they were last returned), or None while
    they are still drafts; `order` is who signs off, as the case's rule set says (casework.review.rules.sign_off_order):
    the executive group where it ratifies (wt2015), else the last body (wt2023: the safeguarding partners' sign-off).
    From then on an action changes only through a recorded update."""
    locking = Ratifier.executive_group if Ratifier.executive_group in order else order[-1]
    if next_ratifier(history, order) in order[:order.index(locking) + 1]:
        return None
    days = [r.on for r in history if r.by is locking and r.result.value == "ratified"]
    return max(days) if days else None


def impact_review_due(ratified_on: date, months: int) -> date:
    """The day the committee's review of the plans' activity and impact falls due."""
    return ratified_on + relativedelta(months=months)


def action_subject(number: int) -> str:
    """The subject of an action's deadline row and of its reminders' keys ("A3")."""
    return f"A{number}"


# --- what an action's deadline owes -------------------------------------------------------------

@dataclass(frozen=True)
class ActionDue:
    """An action as its reminders need it (read from the store with its deadline row)."""

    number: int
    agency: str
    action: str
    lead: Contact
    target_on: date
    status: str
    revision: int
    created_on: date


def _message(reference: str, due: ActionDue, purpose: str, offset: str, to: Contact, partnership: Partnership,
             copy_for: str = "", days_overdue: int = 0) -> Message:
    agency = partnership.agency_by_code.get(due.agency)
    context = {"partnership": partnership.name, "reference": reference, "purpose": purpose, "number": due.number,
               "action": due.action, "agency": agency.name if agency else due.agency, "lead": due.lead.name,
               "target_on": due.target_on, "copy_for": copy_for, "days_overdue": days_overdue,
               "terms": partnership.rules().terms,  # the agency's member of the group, in the partnership's words
               "link": None}  # a personal link to the action's page, set when it is queued (casework.learning.leads)
    return Message(reference, f"{purpose}.{ACTION_KIND}.{action_subject(due.number)}.{offset}", "action_reminder", to,
                   due.revision, context)


def lead_notice(reference: str, due: ActionDue, partnership: Partnership) -> Message:
    """The named lead told that the action is theirs, what it is and when it is due: when the action is
    added, and when a new lead is named. (Its key carries the lead's address: each lead is told once.)"""
    return _message(reference, due, "notice", "lead", due.lead, partnership)


def action_reminders_owed(reference: str, due: ActionDue, *, now: datetime, partnership: Partnership,
                          calendar: WorkingCalendar) -> list[Message]:
    """What one action owes at `now`: a reminder to its lead on each offset's day before the target date (the
    nearest offset passed, one only), a chase once overdue to the lead and the agency's CIG member (who is
    accountable for the agency's actions), and an escalation to the business manager once it is
    `action_escalation_days` overdue. A reminder whose day falls on a day no one works goes on the working day
    before; nothing goes on such a day (casework.sweep asks only on working days, so a chase or
    an escalation owed on one waits for the next). Nothing for an action done or dropped. Keys carry the action's
    revision, so a target date re-planned through a recorded update is reminded afresh."""
    if due.status != ActionStatus.open.value:
        return []
    settings = partnership.reminders
    today = calendar.local_date(now)
    if today > due.target_on:
        overdue = (today - due.target_on).days
        owed = [_message(reference, due, "chase", "overdue", due.lead, partnership, days_overdue=overdue)]
        agency = partnership.agency_by_code.get(due.agency)
        if agency is not None:
            owed.append(_message(reference, due, "chase", "overdue", agency.contact, partnership,
                                 copy_for=due.lead.name, days_overdue=overdue))
        if overdue >= settings.action_escalation_days:
            owed.append(_message(reference, due, "escalation", f"{settings.action_escalation_days}d",
                                 partnership.contacts.business_manager, partnership, days_overdue=overdue))
        return owed
    remind_on = {n: reminder_day(due.target_on, n, calendar) for n in set(settings.action_offsets_days) if n > 0}
    passed = [n for n, day in remind_on.items() if day <= today and day > due.created_on]
    if not passed:
        return []
    offset = min(passed)
    return [_message(reference, due, "reminder", f"{offset}d", due.lead, partnership)]


def impact_review_reminders_owed(item: "OpenDeadline", *, now: datetime, partnership: Partnership,
                                 calendar: WorkingCalendar) -> list[Message]:
    """The 6-month review: the committee (or the business manager) and the business manager are told
    IMPACT_REVIEW_WARNING_DAYS before it is due to prepare it (`cig learning pack REF --meeting ...`), and the
    business manager once it is overdue with no pack sent. Nothing once the pack has gone (the deadline met)."""
    if item.met_at is not None:
        return []
    contacts = partnership.contacts
    due_day, today = calendar.local_date(item.due_at), calendar.local_date(now)
    context = {"partnership": partnership.name, "reference": item.reference, "due_at": item.due_at,
               "label": item.label}
    step = f"{{purpose}}.{IMPACT_REVIEW_KIND}.case.{{offset}}"
    if now > item.due_at:
        return [Message(item.reference, step.format(purpose="escalation", offset="breached"), "impact_review_due",
                        contacts.business_manager, item.round, context | {"purpose": "escalation"})]
    if today < reminder_day(due_day, IMPACT_REVIEW_WARNING_DAYS, calendar):
        return []
    people = {p.email: p for p in (contacts.professional_development_committee, contacts.business_manager) if p}
    return [Message(item.reference, step.format(purpose="warning", offset=f"{IMPACT_REVIEW_WARNING_DAYS}d"),
                    "impact_review_due", person, item.round, context | {"purpose": "warning"})
            for person in people.values()]


def learning_reminders_owed(item: "OpenDeadline", *, now: datetime, partnership: Partnership,
                            calendar: WorkingCalendar) -> list[Message]:
    """What a learning deadline owes at `now` (asked by casework.sweep.reminders_owed for LEARNING_KINDS)."""
    if item.kind == IMPACT_REVIEW_KIND:
        return impact_review_reminders_owed(item, now=now, partnership=partnership, calendar=calendar)
    if item.action is None or item.met_at is not None:
        return []
    return action_reminders_owed(item.reference, item.action, now=now, partnership=partnership, calendar=calendar)


def action_horizon(partnership: Partnership) -> timedelta:
    """How far ahead of a target date the sweep must look to see every reminder's day."""
    brought_back = 7 + len(partnership.closure_days)  # a reminder day brought back over Christmas or closure days
    return timedelta(days=max(partnership.reminders.action_offsets_days, default=0) + brought_back + 1)


# --- the learning summary ------------------------------------------------------------------------

def incident_month_year(*, died_on: date | None, harmed_on: date | None, notified_on: date) -> str:
    """The learning summary's "month/year of incident" (seed 001 Appendix B): the month the child died, or (a
    child who did not die) the month of the serious harm when its date is recorded. Only when neither date is
    recorded, the month the partnership was notified, and it says so."""
    incident = died_on or harmed_on
    if incident is not None:
        return incident.strftime("%B %Y")
    return f"{notified_on:%B %Y} (the month the partnership was notified: no date of the incident is recorded)"


# --- the 6-month review pack --------------------------------------------------------------------

@dataclass(frozen=True)
class PackAction:
    """One action as the pack shows it."""

    reference: str
    number: int
    plan: str
    agency: str
    finding: str
    action: str
    lead: str
    target_on: date
    evidence_of_impact: str
    status: ActionStatus
    status_note: str | None
    outcome: str | None = None


@dataclass(frozen=True)
class ImpactPack:
    """The pack the professional development committee reads: every action, overdue first."""

    title: str
    prepared_on: date
    actions: tuple[PackAction, ...]

    @property
    def counts(self) -> dict[str, int]:
        return {s.value: sum(1 for a in self.actions if a.status is s) for s in ActionStatus}


_ORDER = {ActionStatus.overdue: 0, ActionStatus.open: 1, ActionStatus.done: 2, ActionStatus.dropped: 3}


def impact_pack(title: str, actions: Sequence[PackAction], today: date) -> ImpactPack:
    """The pack: overdue first (longest overdue first), then open by target date, then done, then dropped."""
    ordered = sorted(actions, key=lambda a: (_ORDER[a.status], a.target_on, a.reference, a.number))
    return ImpactPack(title, today, tuple(ordered))


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "/")


def pack_markdown(pack: ImpactPack) -> str:
    """The pack as markdown: the counts, then one row per action."""
    counts = pack.counts
    lines = [f"# {pack.title}", "", f"Prepared {pack.prepared_on.isoformat()}: "
             + ", ".join(f"{n} {s}" for s, n in counts.items()), "",
             "| Review | No. | Plan | Agency | Finding | Action | Lead | Target | Evidence of impact | Status | Evidence or reason |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for a in pack.actions:
        lines.append(f"| {a.reference} | {a.number} | {a.plan.replace('_', '-')} | {a.agency} | {_cell(a.finding)} | "
                     f"{_cell(a.action)} | {_cell(a.lead)} | {a.target_on.isoformat()} | {_cell(a.evidence_of_impact)} | "
                     f"{a.status.value} | {_cell(a.status_note)} |")
    return "\n".join(lines) + "\n"
