"""The deadline sweep, in the database: read the open deadlines near `now` through the
(met_at, due_at) index, decide what they owe (reminders_owed: each phase's rules) and queue it in one transaction;
and the audit trail and messages of the case runs the sweep finds dead (casework.recovery).

Safe to run as often as wanted: a reminder already in the outbox (same key) is not rendered or
queued again. Delivery is separate (casework.delivery.deliver_pending). Nothing here imports Prefect.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework.referral.actions import queue, with_return_link
from casework.review.actions import review_holders, with_review_links
from casework.clocks import WorkingCalendar
from casework.learning.leads import with_action_links
from casework.learning.store import actions_due
from casework.referral.messages import Message, role_contacts, run_left_stopped, run_recovered
from casework.office import Office
from casework.recovery import (
    PastEvent, PastRecovery, RecoveryDecision, RecoveryLimit, RunFault, recoveries_within, recovery_number,
)
from casework.referral.reminders import NOTICE_KINDS, case_reminders_owed
from casework.reminders import OpenDeadline
from casework.learning.rules import IMPACT_REVIEW_WARNING_DAYS, LEARNING_KINDS, learning_reminders_owed
from casework.review.reminders import REVIEW_KINDS, review_reminders_owed
from casework.review.reminders import REVIEW_MILESTONE
from casework.clocks import reminders_go_on
from casework.store import cases as store
from casework.store.decisions import DECISION, partner_answers
from casework.store.tables import AuditEvent, Deadline, OutboxMessage
from config.partnership import Contact, Partnership
from config.rulesets import ClockUnit, RuleSet


@dataclass(frozen=True)
class SweepOutcome:
    """What one sweep found and queued: open deadlines looked at, and new messages by template."""

    looked_at: int
    queued: int
    by_kind: dict[str, int] = field(default_factory=dict)


def _open_deadline(row: Deadline, calendar: WorkingCalendar, rules: RuleSet, partnership: Partnership,
                   answered: Collection[str] = ()) -> OpenDeadline:
    """The deadline as the rules read it; `answered`: the deciders (by whom they act for) who have answered the
    case's recommendation this round, who are not warned of the decision's clock again."""
    case = row.case
    clock = rules.clocks.get(row.kind)
    started_on = None
    lead_reviewers: tuple[Contact, ...] = ()
    if row.kind == REVIEW_MILESTONE and case.review is not None:  # the lead reviewers are reminded too
        lead_reviewers = tuple(Contact(name=r["name"], email=r["email"]) for r in case.review.reviewers if r.get("email"))
    if row.kind == "information_return":
        request = next((r for r in case.requests if r.agency == row.subject and r.round == row.round), None)
        started_on = calendar.local_date(request.issued_at) if request else None
    return OpenDeadline(
        reference=case.reference, kind=row.kind, subject=row.subject, round=row.round, label=row.label,
        due_at=row.due_at, met_at=row.met_at, case_open=case.status == "open", started_on=started_on,
        meeting_at=case.meeting_at, counted_in_hours=clock is not None and clock.unit is ClockUnit.hours,
        lead_reviewers=lead_reviewers, warned=_not_answered(_told(partnership, rules, f"{row.kind}_due"),
                                                            partnership, rules, answered),
        escalated=_told(partnership, rules, f"{row.kind}_breached"),
    )


def _told(partnership: Partnership, rules: RuleSet, step: str) -> tuple[tuple[Contact, str], ...] | None:
    """Who the rule set's `step` tells (each with their role's title), or None when it has no such step."""
    if step not in rules.steps:
        return None
    return tuple(role_contacts(partnership, rules, rules.told_at(step)))


def _not_answered(told: tuple[tuple[Contact, str], ...] | None, partnership: Partnership, rules: RuleSet,
                  answered: Collection[str]) -> tuple[tuple[Contact, str], ...] | None:
    """`told` without the deciders who have answered (wt2023: a safeguarding partner who has given their answer is
    not warned that the decision is not yet made; the others, and the business manager, are)."""
    if told is None or not answered:
        return told
    deciders = partnership.deciders(rules.name)
    done = {deciders[key].email.lower() for key in answered if key in deciders}
    return tuple((contact, role) for contact, role in told if contact.email.lower() not in done)


def _answered(session: Session, row: Deadline) -> set[str]:
    """Who has answered the case's recommendation this round (the decision's clock only; none under wt2015)."""
    if row.kind != "decision":
        return set()
    return {answer.partner for answer in partner_answers(session, case=row.case, step=DECISION)}


def meet_sent_notices(session: Session, office: Office, rows: Sequence[Deadline]) -> list[Deadline]:
    """Meet each notice deadline whose notice was sent before delivery met it in the same transaction (a
    database from before that; a message marked sent by hand); return the rows still open. (Delivery meets a
    notice's deadline as it marks the notice sent: casework.delivery.)"""
    still_open = []
    for row in rows:
        if row.kind in NOTICE_KINDS:
            rules = office.rules(row.case.regime)
            names = [name for name, notice in rules.notices.items() if notice.clock == row.kind]
            sent = dict(session.execute(
                select(OutboxMessage.kind, func.min(OutboxMessage.sent_at)).where(
                    OutboxMessage.case_id == row.case_id, OutboxMessage.kind.in_(names), OutboxMessage.status == "sent"
                ).group_by(OutboxMessage.kind)
            ).tuples().all())
            if sent:
                store.meet_notice_deadlines(row.case, rules=rules, sent=sent)
                continue
        still_open.append(row)
    return still_open


def horizon(partnership: Partnership) -> timedelta:
    """How far ahead the sweep must look so that every offset's day is seen (working days: generously; and a
    reminder brought back from a run of days no one works, like Christmas or the partnership's closure days)."""
    reminders = partnership.reminders
    working = max(reminders.return_offsets_working_days, default=0)
    calendar_days = max([*reminders.decision_offsets_days, *reminders.notice_offsets_days,
                         reminders.milestone_warning_days])
    # n working days can span n weeks' worth of weekends and the Christmas and Easter closures
    brought_back = 7 + len(partnership.closure_days)
    return timedelta(days=max(calendar_days, 2 * working + 7, *reminders.action_offsets_days,
                              IMPACT_REVIEW_WARNING_DAYS) + brought_back + 1)


def reminders_owed(
    deadlines: Sequence[OpenDeadline], *, now: datetime, partnership: Partnership, calendar: WorkingCalendar
) -> list[Message]:
    """Every reminder the open deadlines owe at `now`, each phase's by its own rules (the referral's, a review's,
    a learning action's); none on a day no one works. Pure."""
    if not reminders_go_on(now, calendar):
        return []
    owed: list[Message] = []
    for item in deadlines:
        if item.kind in LEARNING_KINDS:  # a learning action (its lead, the CIG member), the 6-month review
            owed.extend(learning_reminders_owed(item, now=now, partnership=partnership, calendar=calendar))
        elif item.kind in REVIEW_KINDS:  # a review's engagement chases, milestones and report
            owed.extend(review_reminders_owed(item, now=now, partnership=partnership, calendar=calendar))
        else:
            owed.extend(case_reminders_owed([item], now=now, partnership=partnership, calendar=calendar))
    return owed


def queue_reminders(office: Office, *, now: datetime) -> SweepOutcome:
    """Queue every reminder, warning, chase and escalation owed at `now`, each at most once ever."""
    with office.sessions.begin() as session:
        rows = store.open_deadlines_due_before(session, before=now + horizon(office.partnership))
        rows = meet_sent_notices(session, office, rows)
        deadlines = [_open_deadline(row, office.calendar, office.rules(row.case.regime), office.partnership,
                                    _answered(session, row)) for row in rows]
        learning = actions_due(session, deadlines=rows)  # a learning action and its lead, sealed in the action
        deadlines = [replace(d, action=learning[row.id]) if row.id in learning else d for d, row in zip(deadlines, rows)]
        owed = reminders_owed(deadlines, now=now, partnership=office.partnership, calendar=office.calendar)
        if not owed:
            return SweepOutcome(len(rows), 0)
        keys = [m.key for m in owed]
        existing = set(session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_(keys))))
        cases = {row.case.reference: row.case for row in rows}
        queued: Counter[str] = Counter()
        for message in owed:
            if message.key in existing:
                continue
            case = cases[message.reference or ""]
            if message.context.get("kind") == "information_return" and message.context.get("role") == "agency":
                message = with_return_link(session, office, case, message, now=now)
            elif message.template == "review_reminder":  # a fresh link to the review's task list, or the engagement page
                message = with_review_links(session, office, case, [message], review_holders=review_holders(case),
                                            now=now)[0]
            elif message.template == "action_reminder":  # a fresh link to the action's page, or the agency's actions
                message = with_action_links(session, office, case, [message], now=now)[0]
            if queue(session, case, [message], now):
                queued[message.step.split(".", 1)[0]] += 1
        return SweepOutcome(len(rows), sum(queued.values()), dict(queued))


# --- dead case runs: what was done before, and recording what is done now ------------------------

RUN_RESCHEDULED = "flow run rescheduled"  # also written by `cig referral recover`
RUN_LEFT_STOPPED = "flow run left stopped"


def recovery_history(session: Session, *, reference: str) -> list[PastRecovery]:
    """The case's earlier recoveries and escalations of its run, oldest first, from the audit trail."""
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.case_reference == reference,
                                 AuditEvent.action.in_([RUN_RESCHEDULED, RUN_LEFT_STOPPED])).order_by(AuditEvent.id)
    ).all()
    return [PastRecovery(at=e.at, event=PastEvent.recovered if e.action == RUN_RESCHEDULED else PastEvent.left_stopped,
                         state_ids=tuple(str(i) for i in (e.detail or {}).get("state_ids", ())))
            for e in events]


def record_run_recovery(office: Office, *, reference: str, fault: RunFault, previous_state: str,
                        decision: RecoveryDecision, state_ids: Sequence[str], limit: RecoveryLimit,
                        now: datetime, actor: str = "deadline sweep") -> int:
    """Audit what the system did with the case's dead run (`decision`: restarted it, or left it stopped) and
    queue who is told: the administrator of a restart, the business manager and administrator of a run
    left stopped. Once per dead state: a second call for one of `state_ids` changes nothing. Returns
    how many messages it queued."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        history = recovery_history(session, reference=reference)
        if any(state_id in past.state_ids for past in history for state_id in state_ids):
            return 0
        number = recovery_number(history)
        restarted = decision is RecoveryDecision.restart
        store.audit(session, reference=reference, actor=actor, action=RUN_RESCHEDULED if restarted else RUN_LEFT_STOPPED,
                    now=now, previous_state=previous_state, fault=fault.value, state_ids=list(state_ids))
        if restarted:
            messages = run_recovered(office.partnership, reference=reference, what_happened=fault.words,
                                     stage=case.stage, number=number + 1, at=now)
        else:
            messages = run_left_stopped(office.partnership, reference=reference, what_happened=fault.words,
                                        stage=case.stage, recoveries=recoveries_within(history, now=now, limit=limit),
                                        within=limit.within, total=number, at=now)
        return queue(session, case, messages, now)
