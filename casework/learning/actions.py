"""Learning and improvement, each in one short transaction: the change, its audit event and any messages
(written to the outbox together, under stable keys). Safe to run twice where a person may repeat a step.

Used by `cig action` and `cig learning` (and any flow task); nothing here imports Prefect.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.referral.actions import case_file, queue
from casework.referral.messages import Message
from casework.forms import check_no_identities
from casework.learning import store as learning_store
from casework.learning.documents import IndexEntry, LearningSummary, summary_docx, summary_markdown
from casework.learning.forms import (
    ActionForm, ActionUpdateForm, DisseminationForm, IndexEntryForm, LearningSummaryForm, OutcomeForm,
)
from casework.learning.messages import impact_pack_messages, learning_write_up_notice
from casework.learning.rules import (
    IMPACT_REVIEW_KIND, ActionStatus, ImpactPack, PackAction, action_status, impact_pack, impact_review_due,
    incident_month_year, lead_notice, pack_markdown, plans_ratified_on,
)
from casework.links import LinkStep, link_url
from casework.model import review_labels
from casework.office import Office
from casework.review import store as review_store
from casework.store import cases as store
from casework.store import links as link_store
from casework.store.tables import Case, LearningAction, Review
from config.review_plans import load_review_plans
from config.rulesets import load_ruleset


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
    return plans_ratified_on(review_store.ratification_history(review), review_store.signing_bodies(review.case))


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
    member agency. Once the executive group has ratified the plans, only with a reason. Each lead's notice
    (the action is theirs) goes to the outbox in the same transaction."""
    for form in forms:
        office.partnership.agency(form.agency)
    with office.sessions.begin() as session:
        case, review = _open(session, reference)
        ratified = _ratified_on(review) is not None
        added = [learning_store.add_action(session, case=case, review=review, form=form, calendar=office.calendar,
                                           ratified=ratified, reason=reason, now=now, actor=actor)
                 for form in forms]
        from casework.learning.leads import with_action_links  # the lead's personal link to the action's page

        queue(session, case, with_action_links(session, office, case, [
            lead_notice(reference, learning_store.due_of(a), office.partnership) for a in added], now=now), now)
        return [a.number for a in added]


def update_action(office: Office, reference: str, form: ActionUpdateForm, *, now: datetime, actor: str) -> ActionView:
    """Record an update to one action (see casework.learning.store.update_action)."""
    with office.sessions.begin() as session:
        case, review = _open(session, reference)
        today = office.calendar.local_date(now)
        lead_before = dict(learning_store.get_action(session, case=case, review=review, number=form.number).lead)
        action = learning_store.update_action(session, case=case, review=review, form=form, calendar=office.calendar,
                                              ratified=_ratified_on(review) is not None, today=today, now=now,
                                              actor=actor)
        if action.lead != lead_before and action.status == ActionStatus.open.value:  # a new lead is told it is theirs
            from casework.learning.leads import with_action_links  # the lead's personal link to the action's page

            queue(session, case, with_action_links(session, office, case, [
                lead_notice(reference, learning_store.due_of(action), office.partnership)], now=now), now)
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


# --- the 6-month review: the pack, emailed with its invitation -----------------------------------

def impact_pack_for(office: Office, reference: str | None, *, today: date) -> tuple[ImpactPack, str]:
    """The pack for one review, or (no reference) across every review (seed 000's twice-yearly impact
    meetings): every action with its status and evidence, overdue first; and its markdown."""
    with office.sessions() as session:
        if reference is not None:
            case = store.get_case(session, reference=reference)
            pairs = [(case, review_store.get_review(session, case=case))]
            title = f"6-month review of the learning and improvement plans: {reference}"
        else:
            pairs = [(r.case, r) for r in session.scalars(select(Review).order_by(Review.id))]
            title = "Review of learning and improvement activity and impact: all reviews"
        rows = [PackAction(reference=c.reference, number=a.number, plan=a.plan, agency=a.agency, finding=a.finding,
                           action=a.action, lead=a.lead["name"], target_on=a.target_on,
                           evidence_of_impact=a.evidence_of_impact, status=action_status(a.status, a.target_on, today),
                           status_note=a.status_note, outcome=a.outcome)
                for c, r in pairs for a in learning_store.list_actions(session, review=r)]
    pack = impact_pack(title, rows, today)
    return pack, pack_markdown(pack)


def send_impact_pack(office: Office, reference: str | None, *, meeting_at: datetime, now: datetime,
                     actor: str) -> int:
    """Email the pack with an invitation to the committee's meeting (copied to the business manager and the
    training officer), once per review and meeting time; how many messages were queued."""
    pack, markdown = impact_pack_for(office, reference, today=office.calendar.local_date(now))
    messages = impact_pack_messages(pack, markdown, reference=reference, meeting_at=meeting_at,
                                    partnership=office.partnership, stamp=now)
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference) if reference else None
        review = review_store.get_review(session, case=case) if case else None
        committee = messages[0].to.email if messages else None  # the committee (or the business manager standing in)
        if case is not None:  # the committee's personal link to the pack's page, to record its outcome per action
            from casework.learning.leads import impact_review_link

            keys = set(session.scalars(select(store.OutboxMessage.key).where(
                store.OutboxMessage.key.in_([m.key for m in messages]))))
            messages = [replace(m, context=m.context | {"link": impact_review_link(session, office, case, m.to.email,
                                                                                   now=now)})
                        if m.to.email == committee and m.key not in keys else m for m in messages]
        queued = queue(session, case, messages, now)
        if case is not None:  # the pack has gone: the sweep stops reminding of the 6-month review
            store.meet_deadline(case, kind=IMPACT_REVIEW_KIND, now=now)
        if queued:
            learning_store.save_record(session, review=review, kind="impact_review",
                                       key=f"{reference or 'all'}:{meeting_at:%Y%m%dT%H%M}",
                                       data={"meeting_at": meeting_at.isoformat(), "counts": pack.counts}, now=now)
            store.audit(session, reference=reference, actor=actor, action="impact review pack sent", now=now,
                        meeting_at=meeting_at.isoformat(), actions=len(pack.actions))
        return queued


# --- the learning summary --------------------------------------------------------------------------

LEARNING_LINK_DAYS = 365  # the training officer's link: dissemination and the audits that test it go on for months


def learning_write_up(session: Session, office: Office, case: Case, review: Review, *, ratified_on: date,
                      now: datetime) -> list[Message]:
    """Once the board has ratified the final report, the training officer is told the review's learning is theirs
    to write up, the message (not yet queued) carrying a new personal link (`LinkStep.learning`) to the learning
    page: the summary's form, dissemination and audits, the summary and the index to download."""
    labels = review_labels(office.rules(case.regime).terms)  # the regime's word: an LCSPR under wt2023
    messages = learning_write_up_notice(case.reference, review_type=labels.get(review.review_type, review.review_type),
                                        ratified_on=ratified_on, partnership=office.partnership,
                                        terms=office.rules(case.regime).terms)
    queued = set(session.scalars(select(store.OutboxMessage.key).where(
        store.OutboxMessage.key.in_([m.key for m in messages]))))
    linked = []
    for message in messages:
        if message.key not in queued:
            token = link_store.issue_link(session, case=case, step=LinkStep.learning, recipient=message.to.email,
                                          agency=None, round=0, meeting_on=None,
                                          expires_at=now + timedelta(days=LEARNING_LINK_DAYS), now=now)
            message = replace(message, context=message.context | {"link": link_url(office.settings.website_url,
                                                                                    token)})
        linked.append(message)
    return linked


@dataclass(frozen=True)
class SummaryFacts:
    """The learning summary's fields the case and review hold (seed 001 Appendix B), as the form's page shows
    them beside what the training officer writes; the month of the incident before any date of harm is given."""

    area: str
    review_type: str
    methodology: str
    chairing_authoring: str
    reference: str
    incident_month_year: str
    died: bool


def _facts(case: Case, review: Review, partnership_name: str, harmed_on: date | None) -> SummaryFacts:
    plans = load_review_plans()
    died_on = case_file(case).child_date_of_death
    chairs = ", ".join(r["name"] for r in review.reviewers) or "not recorded"
    return SummaryFacts(
        area=partnership_name,
        review_type=review_labels(load_ruleset(case.regime).terms).get(review.review_type, review.review_type),
        methodology=plans[review.plan].title if review.plan in plans else review.plan,
        chairing_authoring=f"lead reviewer(s) {chairs}", reference=case.reference,
        incident_month_year=incident_month_year(died_on=died_on, harmed_on=harmed_on, notified_on=case.notified_on),
        died=died_on is not None)


def summary_facts(office: Office, reference: str) -> SummaryFacts:
    """What the learning summary takes from the case and its review (the rest is the form's)."""
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        review = review_store.get_review(session, case=case)
        return _facts(case, review, office.partnership.name, None)


def _summary(case: Case, review: Review, form: LearningSummaryForm, partnership_name: str) -> LearningSummary:
    facts = _facts(case, review, partnership_name, form.harmed_on)
    return LearningSummary(
        area=facts.area, date_completed=form.completed_on, review_type=facts.review_type,
        methodology=facts.methodology, chairing_authoring=facts.chairing_authoring, case_selection=form.case_selection,
        incident_month_year=facts.incident_month_year, reference=facts.reference,
        learning_about_case=form.learning_about_case, learning_about_method=form.learning_about_method,
        single_agency_recommendations=form.single_agency_recommendations,
        multi_agency_recommendations=form.multi_agency_recommendations, who_is_doing_what=form.who_is_doing_what,
        impact_audit=form.impact_audit, other_comments=form.other_comments or "")


def recorded_summary(office: Office, reference: str) -> dict[str, object] | None:
    """The form's answers as last recorded (without the date of harm, which is not kept), or None."""
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        review = review_store.get_review(session, case=case)
        found = learning_store.records(session, kind="summary", review=review)
        return dict(found[-1].data["form"]) if found else None


def record_summary(office: Office, reference: str, form: LearningSummaryForm, *, now: datetime,
                   actor: str) -> LearningSummary:
    """Write the review's learning summary (seed 001 Appendix B) and attach it to the review's record, as
    markdown and Word. Refused, naming the field, if any text names someone from the case or gives a date
    of birth, or a date of serious harm after the partnership was notified. A second call replaces the first."""
    with office.sessions.begin() as session:
        case, review = _open(session, reference)
        if form.harmed_on is not None and form.harmed_on > case.notified_on:
            raise ValueError(f"harmed_on: {form.harmed_on:%-d %B %Y} is after the partnership was notified of the "
                             f"incident ({case.notified_on:%-d %B %Y})")
        check_no_identities({k: v for k, v in form.model_dump().items() if isinstance(v, str)},
                            *store.sealed_identities(case))
        summary = _summary(case, review, form, office.partnership.name)
        learning_store.save_record(session, review=review, kind="summary", key=reference, now=now, data={
            "form": form.model_dump(mode="json", exclude={"harmed_on"}),  # the summary keeps its month and year only
            "markdown": summary_markdown(summary),
            "docx": base64.b64encode(summary_docx(summary)).decode("ascii")})
        store.audit(session, reference=reference, actor=actor, action="learning summary recorded", now=now)
        return summary


def summary_files(office: Office, reference: str) -> tuple[str, bytes]:
    """The review's learning summary as attached to its record: markdown and the Word document."""
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        review = review_store.get_review(session, case=case)
        found = learning_store.records(session, kind="summary", review=review)
        if not found:
            raise LookupError(f"{reference} has no learning summary recorded yet")
        data = found[-1].data
        return data["markdown"], base64.b64decode(data["docx"])


# --- dissemination ---------------------------------------------------------------------------------

def record_dissemination(office: Office, reference: str, form: DisseminationForm, *, now: datetime,
                         actor: str) -> bool:
    """Record how the learning went out, or the audit or questionnaire that tested it (anonymised: checked
    like the summary). The same kind, date and audience twice is kept once; True if new."""
    with office.sessions.begin() as session:
        case, review = _open(session, reference)
        check_no_identities({"audience": form.audience, "note": form.note}, *store.sealed_identities(case))
        audience = hashlib.sha256(form.audience.casefold().encode()).hexdigest()[:16]
        key = f"{reference}:{form.kind.value}:{form.on.isoformat()}:{audience}"
        new = not any(r.key == key for r in learning_store.records(session, kind="dissemination", review=review))
        learning_store.save_record(session, review=review, kind="dissemination", key=key,
                                   data=form.model_dump(mode="json"), now=now)
        if new:
            store.audit(session, reference=reference, actor=actor, action="learning disseminated", now=now,
                        kind=form.kind.value, on=form.on.isoformat())
        return new


def disseminations(office: Office, reference: str) -> list[DisseminationForm]:
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        review = review_store.get_review(session, case=case)
        return [DisseminationForm.model_validate(r.data, context={"today": date.max})  # as recorded, whenever read
                for r in learning_store.records(session, kind="dissemination", review=review)]


# --- the learning and improvement index --------------------------------------------------------------

def add_index_entry(office: Office, form: IndexEntryForm, *, now: datetime, actor: str) -> bool:
    """Enter an audit that is not a case review in the index (kept once per name); True if new."""
    key = f"audit:{hashlib.sha256(form.name.casefold().encode()).hexdigest()[:24]}"
    with office.sessions.begin() as session:
        new = not any(r.key == key for r in learning_store.records(session, kind="index_entry"))
        learning_store.save_record(session, review=None, kind="index_entry", key=key,
                                   data=form.model_dump(mode="json"), now=now)
        if new:
            store.audit(session, reference=None, actor=actor, action="learning index entry added", now=now)
        return new


def _review_entry(session: Session, case: Case, review: Review, today: date) -> IndexEntry:
    plans = load_review_plans()
    methodology = plans[review.plan].title if review.plan in plans else review.plan
    summary = next(iter(learning_store.records(session, kind="summary", review=review)), None)
    form = summary.data["form"] if summary else {}
    actions = [action_status(a.status, a.target_on, today) for a in learning_store.list_actions(session, review=review)]
    done_notes = [f"action {a.number}: {a.status_note}" for a in learning_store.list_actions(session, review=review)
                  if a.status == "done" and a.status_note]
    spread = [DisseminationForm.model_validate(r.data, context={"today": date.max})
              for r in learning_store.records(session, kind="dissemination", review=review)]
    last = review_store.signing_bodies(case)[-1]  # the board under wt2015, the safeguarding partners under wt2023
    board = [r.on for r in review_store.ratification_history(review) if r.by is last and r.result.value == "ratified"]
    activity = (f"{len(actions)} actions: " + ", ".join(f"{sum(1 for s in actions if s is status)} {status.value}"
                                                          for status in ActionStatus)) if actions else "no actions yet"
    if spread:
        activity += ". " + "; ".join(f"{d.kind.value.replace('_', ' ')} {d.on.isoformat()} ({d.audience})"
                                     for d in spread if d.kind.value not in ("practice_audit", "staff_questionnaire"))
    tested = [f"{d.kind.value.replace('_', ' ')} {d.on.isoformat()}: {d.note or d.audience}" for d in spread
              if d.kind.value in ("practice_audit", "staff_questionnaire")]
    return IndexEntry(  # the review type in the case's regime's words: an LCSPR is never a "Serious Case Review"
        review_type=review_labels(load_ruleset(case.regime).terms).get(review.review_type, review.review_type),
        name=case.reference,
        reported_on=max(board) if board else None,
        overview=f"{methodology}." + (f" {form['case_selection']}" if form.get("case_selection") else ""),
        findings=form.get("learning_about_case") or "; ".join(case.themes or []) or "not yet recorded",
        improvement_activity=activity,
        evidence_of_improvement="; ".join(done_notes + tested) or "none recorded yet")


def learning_index(office: Office, *, today: date) -> list[IndexEntry]:
    """The learning and improvement index (seed 002 Appendix One): one entry per review, then each audit
    entered by hand. Anonymised: a review is named by its reference."""
    with office.sessions() as session:
        entries = [_review_entry(session, r.case, r, today) for r in session.scalars(select(Review).order_by(Review.id))]
        for record in learning_store.records(session, kind="index_entry"):
            data = IndexEntryForm.model_validate(record.data, context={"today": date.max})
            entries.append(IndexEntry(review_type=data.review_type, name=data.name, reported_on=data.reported_on,
                                      overview=data.overview, findings=data.findings,
                                      improvement_activity=data.improvement_activity,
                                      evidence_of_improvement=data.evidence_of_improvement))
        return entries
