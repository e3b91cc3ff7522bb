"""Learning and improvement, each in one short transaction: the change, its audit event and any messages
(written to the outbox together, under stable keys). Safe to run twice where a person may repeat a step.

Used by `cig action` and `cig learning` (and any flow task); nothing here imports Prefect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from casework.learning import store as learning_store
from casework.learning.forms import ActionForm, ActionUpdateForm, OutcomeForm
from casework.learning.rules import ActionStatus, action_status, impact_review_due, plans_ratified_on
from casework.office import Office
from casework.review import store as review_store
from casework.store import cases as store
from casework.store.tables import Case, LearningAction, Review


@dataclass(frozen=True)
class ActionView:
    """An action as `cig action list` shows it."""

    reference: str
    number: int
    plan: str
    agency: str
    finding: str
    action: str
    lead_name: str
    lead_email: str
    target_on: date
    evidence_of_impact: str
    status: ActionStatus
    status_note: str | None
    done_on: date | None
    outcome: str | None
    updates: int


@dataclass(frozen=True)
class PlanView:
    """A review's plans: when the executive group ratified them, when the 6-month review falls due, the actions."""

    reference: str
    ratified_on: date | None
    impact_review_due: date | None
    actions: tuple[ActionView, ...]


def _ratified_on(review: Review) -> date | None:
    return plans_ratified_on(review_store.ratification_history(review))


def action_view(session: Session, case: Case, action: LearningAction, today: date) -> ActionView:
    return ActionView(
        reference=case.reference, number=action.number, plan=action.plan, agency=action.agency,
        finding=action.finding, action=action.action, lead_name=action.lead["name"], lead_email=action.lead["email"],
        target_on=action.target_on, evidence_of_impact=action.evidence_of_impact,
        status=action_status(action.status, action.target_on, today), status_note=action.status_note,
        done_on=action.done_on, outcome=action.outcome,
        updates=len(learning_store.updates_of(session, action=action)))


def _open(session: Session, reference: str) -> tuple[Case, Review]:
    case = store.get_case(session, reference=reference, for_update=True)
    return case, review_store.get_review(session, case=case)


def add_actions(office: Office, reference: str, forms: Sequence[ActionForm], *, now: datetime, actor: str,
                reason: str | None = None) -> list[int]:
    """Add actions to the review's plans, all or none (one transaction); their numbers. Each agency must be a
    member agency. Once the executive group has ratified the plans, only with a reason."""
    for form in forms:
        office.partnership.agency(form.agency)
    with office.sessions.begin() as session:
        case, review = _open(session, reference)
        ratified = _ratified_on(review) is not None
        return [learning_store.add_action(session, case=case, review=review, form=form, calendar=office.calendar,
                                          ratified=ratified, reason=reason, now=now, actor=actor).number
                for form in forms]


def update_action(office: Office, reference: str, form: ActionUpdateForm, *, now: datetime, actor: str) -> ActionView:
    """Record an update to one action (see casework.learning.store.update_action)."""
    with office.sessions.begin() as session:
        case, review = _open(session, reference)
        today = office.calendar.local_date(now)
        action = learning_store.update_action(session, case=case, review=review, form=form, calendar=office.calendar,
                                              ratified=_ratified_on(review) is not None, today=today, now=now,
                                              actor=actor)
        return action_view(session, case, action, today)


def record_outcomes(office: Office, reference: str, forms: Sequence[OutcomeForm], *, now: datetime,
                    actor: str) -> list[ActionView]:
    """The professional development committee's outcome per action at the 6-month review."""
    with office.sessions.begin() as session:
        case, review = _open(session, reference)
        today = office.calendar.local_date(now)
        return [action_view(session, case, learning_store.record_outcome(session, case=case, review=review, form=f,
                                                                          now=now, actor=actor), today)
                for f in forms]


def plan_view(office: Office, reference: str, *, today: date) -> PlanView:
    """The review's plans as they stand on `today`."""
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        review = review_store.get_review(session, case=case)
        ratified = _ratified_on(review)
        due = impact_review_due(ratified, office.partnership.reminders.impact_review_months) if ratified else None
        views = tuple(action_view(session, case, a, today) for a in learning_store.list_actions(session, review=review))
        return PlanView(reference, ratified, due, views)


def plan_text(plan: PlanView) -> str:
    """The plans as `cig action list` prints them."""
    head = (f"{plan.reference}: plans ratified {plan.ratified_on.isoformat()}, 6-month review due "
            f"{plan.impact_review_due.isoformat()}" if plan.ratified_on and plan.impact_review_due
            else f"{plan.reference}: plans not yet ratified by the executive group")
    lines = [head]
    if not plan.actions:
        lines.append("  no actions recorded")
    for a in plan.actions:
        note = f" ({a.status_note})" if a.status_note else ""
        lines.append(f"  {a.number}. [{a.status.value}] {a.agency} {a.plan.replace('_', '-')}, lead {a.lead_name} "
                     f"<{a.lead_email}>, by {a.target_on.isoformat()}{note}")
        lines.append(f"     finding: {a.finding}")
        lines.append(f"     action: {a.action}")
        lines.append(f"     evidence of impact: {a.evidence_of_impact}")
        if a.outcome:
            lines.append(f"     6-month review: {a.outcome.replace('_', ' ')}")
    return "\n".join(lines)
