"""Learning and improvement in the database. Every function takes the session as a keyword argument and
never commits: the caller owns the transaction. Every change writes an audit event (never a lead's name or
email: those are sealed in the action) and, once the plans are ratified, a recorded update.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from casework.clocks import WorkingCalendar
from casework.learning.forms import ActionForm, ActionUpdateForm, OutcomeForm, SetStatus
from casework.learning.rules import (
    ACTION_KIND, IMPACT_REVIEW_KIND, ActionDue, ActionStatus, action_subject, impact_review_due, plans_ratified_on,
)
from casework.review.store import ratification_history, signing_bodies
from casework.forms import check_no_identities
from casework.store.cases import _set_deadline, audit, sealed_identities
from casework.store.tables import ActionUpdate, Case, Deadline, LearningAction, LearningRecord, Review
from config.partnership import Contact


class NoSuchAction(LookupError, ValueError):
    def __init__(self, reference: str, number: int) -> None:
        super().__init__(f"number: {reference} has no action {number}")


def list_actions(session: Session, *, review: Review) -> Sequence[LearningAction]:
    return session.scalars(select(LearningAction).where(LearningAction.review_id == review.id)
                           .order_by(LearningAction.number)).all()


def get_action(session: Session, *, case: Case, review: Review, number: int) -> LearningAction:
    action = session.scalars(select(LearningAction).where(LearningAction.review_id == review.id,
                                                          LearningAction.number == number)).first()
    if action is None:
        raise NoSuchAction(case.reference, number)
    return action


def updates_of(session: Session, *, action: LearningAction) -> Sequence[ActionUpdate]:
    return session.scalars(select(ActionUpdate).where(ActionUpdate.action_id == action.id).order_by(ActionUpdate.id)).all()


def _anonymous(case: Case, fields: dict[str, str | None]) -> None:
    """An action's words go into the pack, the index and the annual report: refuse (naming the field) any
    that names someone from the case or gives a date of birth."""
    check_no_identities(fields, *sealed_identities(case))


def _label(action: LearningAction) -> str:
    return f"Learning action {action.number} ({action.agency})"


def _deadline(session: Session, case: Case, action: LearningAction, calendar: WorkingCalendar) -> Deadline:
    """The action's one deadline row; its round is the action's revision, as its reminders' keys are, so a
    reminder still waiting when the action is done is withdrawn unsent (casework.delivery)."""
    subject = action_subject(action.number)
    row = next((d for d in case.deadlines if d.kind == ACTION_KIND and d.subject == subject), None)
    if row is None:
        row = Deadline(kind=ACTION_KIND, subject=subject, round=action.revision, label=_label(action),
                       due_at=calendar.end_of_day(action.target_on))
        case.deadlines.append(row)
    row.round, row.label, row.due_at = action.revision, _label(action), calendar.end_of_day(action.target_on)
    return row


def add_action(session: Session, *, case: Case, review: Review, form: ActionForm, calendar: WorkingCalendar,
               ratified: bool, reason: str | None, now: datetime, actor: str) -> LearningAction:
    """Add an action to the review's plans, numbered after the last, with its deadline for the sweep. Once
    the plans are ratified an action is added only with a reason, kept as its first recorded update."""
    if ratified and not reason:
        raise ValueError("reason: the plans are ratified; say why this action is added")
    _anonymous(case, {"finding": form.finding, "action": form.action, "evidence_of_impact": form.evidence_of_impact})
    last = max((a.number for a in list_actions(session, review=review)), default=0)
    action = LearningAction(
        review_id=review.id, number=last + 1, plan=form.plan.value, agency=form.agency, finding=form.finding,
        action=form.action, lead={"name": form.lead_name, "email": form.lead_email}, target_on=form.target_on,
        evidence_of_impact=form.evidence_of_impact, status=ActionStatus.open.value, revision=0, created_at=now,
        updated_at=now)
    session.add(action)
    session.flush()
    _deadline(session, case, action, calendar)
    if ratified:
        session.add(ActionUpdate(action_id=action.id, at=now, actor=actor, changes={"added": True}, reason=reason))
    audit(session, reference=case.reference, actor=actor, action="learning action added", now=now,
          number=action.number, plan=action.plan, agency=action.agency, target_on=action.target_on.isoformat())
    return action


def update_action(session: Session, *, case: Case, review: Review, form: ActionUpdateForm, calendar: WorkingCalendar,
                  ratified: bool, today: date, now: datetime, actor: str) -> LearningAction:
    """Change an action through a recorded update (what changed, why, who, when). Once the plans are ratified
    every change but marking it done with evidence needs a reason. Done or dropped meets its deadline (no
    more reminders); a new target date starts its reminders afresh."""
    action = get_action(session, case=case, review=review, number=form.number)
    _anonymous(case, {"evidence": form.evidence, "action": form.action, "evidence_of_impact": form.evidence_of_impact,
                      "reason": form.reason})
    if ratified and not form.reason and form.status is not SetStatus.done:
        raise ValueError("reason: the plans are ratified; an action changes only with a reason recorded")
    if form.done_on is not None and form.done_on < action.created_at.date():
        raise ValueError("done_on: before the action was added")
    changes: dict[str, object] = {}
    deadline = _deadline(session, case, action, calendar)
    if form.status is not None and form.status.value != action.status:
        changes["status"] = [action.status, form.status.value]
        action.status = form.status.value
        if form.status is SetStatus.done:
            action.done_on = form.done_on or today
            action.status_note = form.evidence
            deadline.met_at = now
        elif form.status is SetStatus.dropped:
            action.status_note = form.reason
            action.done_on = None
            deadline.met_at = now
        else:
            action.status_note = None
            action.done_on = None
            deadline.met_at = None
    elif form.status is SetStatus.done and form.evidence and form.evidence != action.status_note:
        changes["evidence"] = True
        action.status_note = form.evidence
    if form.target_on is not None and form.target_on != action.target_on:
        changes["target_on"] = [action.target_on.isoformat(), form.target_on.isoformat()]
        action.target_on = form.target_on
        action.revision += 1
        deadline.due_at, deadline.round = calendar.end_of_day(form.target_on), action.revision
    if form.lead_name is not None:
        changes["lead"] = True  # who, sealed in the action; never in the update or the audit
        action.lead = {"name": form.lead_name, "email": form.lead_email}
    for field in ("action", "evidence_of_impact"):
        value = getattr(form, field)
        if value is not None and value != getattr(action, field):
            changes[field] = True
            setattr(action, field, value)
    if not changes:
        return action
    action.updated_at = now
    session.add(ActionUpdate(action_id=action.id, at=now, actor=actor, changes=changes, reason=form.reason))
    audit(session, reference=case.reference, actor=actor, action="learning action updated", now=now,
          number=action.number, changes=sorted(changes))
    return action


def record_outcome(session: Session, *, case: Case, review: Review, form: OutcomeForm, now: datetime,
                   actor: str) -> LearningAction:
    """The committee's outcome for one action at the 6-month review (the latest replaces an earlier one)."""
    action = get_action(session, case=case, review=review, number=form.number)
    if action.outcome != form.outcome.value or action.outcome_note != form.note:
        session.add(ActionUpdate(action_id=action.id, at=now, actor=actor,
                                 changes={"outcome": form.outcome.value, "on": form.on.isoformat()}, reason=form.note))
        action.outcome, action.outcome_note, action.updated_at = form.outcome.value, form.note, now
        audit(session, reference=case.reference, actor=actor, action="learning action reviewed", now=now,
              number=action.number, outcome=form.outcome.value)
    return action


def actions_due(session: Session, *, deadlines: Sequence[Deadline]) -> dict[int, ActionDue]:
    """For the sweep: the actions behind the `learning_action` deadlines it read, by deadline id (one query)."""
    rows = [d for d in deadlines if d.kind == ACTION_KIND]
    if not rows:
        return {}
    numbers = {(d.case_id, int(d.subject[1:])): d.id for d in rows}
    found = session.execute(
        select(Review.case_id, LearningAction).join(Review, Review.id == LearningAction.review_id)
        .where(tuple_(Review.case_id, LearningAction.number).in_(list(numbers)))).all()
    due: dict[int, ActionDue] = {}
    for case_id, a in found:
        due[numbers[(case_id, a.number)]] = due_of(a)
    return due


def due_of(action: LearningAction) -> ActionDue:
    """An action as its reminders and its lead's notice need it."""
    return ActionDue(number=action.number, agency=action.agency, action=action.action,
                     lead=Contact(name=action.lead["name"], email=action.lead["email"]), target_on=action.target_on,
                     status=action.status, revision=action.revision, created_on=action.created_at.date())


def save_record(session: Session, *, review: Review | None, kind: str, key: str, data: dict, now: datetime) -> LearningRecord:
    """Keep a learning record under (kind, key); a second save with the same key replaces its data."""
    record = session.scalars(select(LearningRecord).where(LearningRecord.kind == kind, LearningRecord.key == key)).first()
    if record is None:
        record = LearningRecord(review_id=review.id if review else None, kind=kind, key=key, data=data, recorded_at=now)
        session.add(record)
    else:
        record.data, record.recorded_at = data, now
    session.flush()
    return record


def records(session: Session, *, kind: str, review: Review | None = None) -> Sequence[LearningRecord]:
    query = select(LearningRecord).where(LearningRecord.kind == kind).order_by(LearningRecord.id)
    if review is not None:
        query = query.where(LearningRecord.review_id == review.id)
    return session.scalars(query).all()


def plan_impact_review(session: Session, *, case: Case, review: Review, calendar: WorkingCalendar,
                       months: int) -> date | None:
    """Once the executive group has ratified the plans, the committee's review falls due `months` later: a
    deadline the sweep follows (casework.learning.rules.impact_review_reminders_owed). Its day, or None while
    the plans are drafts. Safe to call on every ratification (a later ratification moves it)."""
    ratified_on = plans_ratified_on(ratification_history(review), signing_bodies(case))
    if ratified_on is None:
        return None
    due = impact_review_due(ratified_on, months)
    _set_deadline(session, case, kind=IMPACT_REVIEW_KIND, label="6-month review of the learning and improvement plans",
                  due_at=calendar.end_of_day(due))
    return due
