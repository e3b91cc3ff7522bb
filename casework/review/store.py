"""A review in the database. Every function takes the session as a keyword argument and never
commits: the caller owns the transaction. Every change writes an audit event (never a person's
details: the review and case groups are sealed).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.clocks import WorkingCalendar
from casework.model import CaseStatus
from casework.review.forms import (
    AppointmentForm, AvailabilityForm, EngagementForm, FamilyInvolvementForm, FullReportForm, GroupMemberForm,
    MilestoneForm, NonPublicationForm, PublicationDelayForm, RatificationForm, ReviewDocumentForm,
    ReviewPublicationForm, TermsForm,
)
from casework.review.reminders import PRE_PUBLICATION, REVIEW_MILESTONE
from casework.review.rules import (
    FINISHED, MilestoneState, Ratification, RatificationResult, Ratifier, ReviewStage, available_until,
    check_milestone_done, check_non_publication, check_publication, check_ratification, check_review_move,
    check_reviewer, lay_out, next_ratifier, FamilyInvolvement, sign_off_order, STOPPED_FOR_NATIONAL_REVIEW,
    stopped_label, stops_for_national_review,
)
from casework.store.cases import AlreadyRecorded, NotAtThisStep, _set_deadline, audit, meet_deadline
from casework.store.tables import Case, Review, ReviewDocument, ReviewMilestone, ReviewPerson
from config.review_plans import ReviewPlan
from config.rulesets import RuleSet


class NoReview(LookupError, ValueError):
    def __init__(self, reference: str) -> None:
        super().__init__(f"{reference} has no review: its decision initiated none, or it is not commissioned yet")


def find_review(session: Session, *, case: Case) -> Review | None:
    return session.scalars(select(Review).where(Review.case_id == case.id)).first()


def get_review(session: Session, *, case: Case) -> Review:
    review = find_review(session, case=case)
    if review is None:
        raise NoReview(case.reference)
    return review


def _move(review: Review, target: ReviewStage, now: datetime) -> None:
    review.stage = check_review_move(ReviewStage(review.stage), target).value
    review.updated_at = now


def _consume_wait(case: Case) -> None:
    """An input for this case has been used: the review run's next wait needs a fresh suspend key."""
    case.wait_seq = (case.wait_seq or 0) + 1


def commission_review(session: Session, *, case: Case, plan: ReviewPlan, agencies: list[str],
                      calendar: WorkingCalendar, now: datetime, actor: str) -> tuple[Review, bool]:
    """Commission the case's review: its plan laid out as milestones from today, and a deadline for each
    agency to confirm its engagement. A second call finds the first. Returns the review and whether it is new.
    Lead reviewers named at the decision (the form still allows it) count as appointed."""
    existing = find_review(session, case=case)
    if existing is not None:
        if existing.availability != STOPPED_FOR_NATIONAL_REVIEW:  # a review stopped keeps its clocks stopped
            _ensure_milestone_deadlines(session, case, existing, calendar)
        return existing, False
    today = calendar.local_date(now)
    named = list(case.lead_reviewers or [])
    review = Review(
        case_id=case.id, review_type=case.decision or "", plan=plan.name, commissioned_at=now, commissioned_on=today,
        stage=(ReviewStage.under_way if named else ReviewStage.awaiting_reviewer).value,
        reviewers=[{"name": n, "kind": None, "agency": None, "appointed_on": today.isoformat(), "by": case.decided_by}
                   for n in named],
        ratifications=[], updated_at=now,
    )
    for planned in lay_out(plan, today, calendar):
        review.milestones.append(ReviewMilestone(position=planned.position, code=planned.code, label=planned.label,
                                                 planned_on=planned.target_on, target_on=planned.target_on, replans=[]))
    session.add(review)
    for planned in lay_out(plan, today, calendar):  # the sweep reminds before each target date, and when it is missed
        _set_milestone_deadline(session, case, code=planned.code, label=planned.label, target_on=planned.target_on,
                                calendar=calendar)
    due = calendar.end_of_day(today + timedelta(days=plan.engagement_days))
    for code in agencies:
        _set_deadline(session, case, kind="review_engagement", subject=code, due_at=due,
                      label=f"{code} confirms its engagement with the review")
    session.flush()
    audit(session, reference=case.reference, actor=actor, action="review commissioned", now=now,
          review_type=review.review_type, plan=plan.name, milestones=len(plan.milestones))
    return review, True


def _set_milestone_deadline(session: Session, case: Case, *, code: str, label: str, target_on: date,
                            calendar: WorkingCalendar, round: int = 0) -> None:
    """A milestone's target as a deadline the sweep reads (one round per re-planning, so a re-planned
    milestone is reminded of afresh)."""
    _set_deadline(session, case, kind=REVIEW_MILESTONE, subject=code, round=round,
                  due_at=calendar.end_of_day(target_on), label=f"Review milestone: {label}"[:200])


def _ensure_milestone_deadlines(session: Session, case: Case, review: Review, calendar: WorkingCalendar) -> None:
    """A review commissioned before milestones had deadlines gets them for the milestones not yet done (when
    its run next re-runs commissioning), so the sweep reminds of them too."""
    have = {d.subject for d in case.deadlines if d.kind == REVIEW_MILESTONE}
    for milestone in review.milestones:
        if milestone.done_on is None and milestone.code not in have:
            _set_milestone_deadline(session, case, code=milestone.code, label=milestone.label,
                                    target_on=milestone.target_on, calendar=calendar,
                                    round=len(milestone.replans or []))


def attach_review_run(session: Session, *, case: Case, review: Review, flow_run_id: str, now: datetime) -> None:
    if review.flow_run_id != flow_run_id:
        review.flow_run_id = flow_run_id
        audit(session, reference=case.reference, actor="system", action="review run started", now=now,
              flow_run_id=flow_run_id)


def record_appointment(session: Session, *, case: Case, review: Review, form: AppointmentForm, now: datetime,
                       actor: str) -> bool:
    """Record a lead reviewer's appointment (the SCR independence check first). Returns whether the National
    Panel notice waited for it (an SCR's first appointment, when the decision named nobody)."""
    from config.rulesets import load_ruleset

    rules = load_ruleset(case.regime)
    check_reviewer(review.review_type, form.kind, form.independent_of_agencies, form.agency, rules.term("scr"),
                   rules.term("scr_short"))
    if any(r["name"].casefold() == form.reviewer.casefold() for r in review.reviewers):
        raise AlreadyRecorded(f"{case.reference}: {form.reviewer} is already a lead reviewer of its review")
    if case.decided_at is not None and form.appointed_on < case.decided_at.date():
        raise ValueError(f"appointed_on: {form.appointed_on.isoformat()} is before the decision")
    first = not review.reviewers
    review.reviewers = [*review.reviewers, {"name": form.reviewer, "kind": form.kind.value, "agency": form.agency,
                                            "appointed_on": form.appointed_on.isoformat(), "by": form.appointed_by,
                                            "email": form.email}]
    case.lead_reviewers = [r["name"] for r in review.reviewers]
    case.updated_at = now
    if ReviewStage(review.stage) is ReviewStage.awaiting_reviewer:
        _move(review, ReviewStage.under_way, now)
    _consume_wait(case)
    audit(session, reference=case.reference, actor=actor, action="lead reviewer appointed", now=now,
          kind=form.kind.value, independent_of_agencies=form.independent_of_agencies)
    return first and review.review_type == "scr"


def record_engagement(session: Session, *, case: Case, review: Review, form: EngagementForm, now: datetime,
                      actor: str) -> None:
    """Record that an agency confirmed its engagement with the review; the sweep stops chasing it."""
    row = next((d for d in case.deadlines if d.kind == "review_engagement" and d.subject == form.agency), None)
    if row is None:
        raise ValueError(f"agency: {form.agency} was not asked to engage with this review")
    if row.met_at is not None:
        raise AlreadyRecorded(f"{case.reference}: {form.agency} already confirmed its engagement")
    meet_deadline(case, kind="review_engagement", subject=form.agency, now=now)
    audit(session, reference=case.reference, actor=actor, action="agency engagement confirmed", now=now,
          agency=form.agency, confirmed_on=form.confirmed_on.isoformat())


def add_group_member(session: Session, *, case: Case, review: Review, form: GroupMemberForm, now: datetime,
                     actor: str) -> ReviewPerson:
    """Add a member to the review group or the case group (who they are, sealed). The same person (name and
    email) in the same group twice is refused."""
    for person in review.people:
        if person.group == form.group.value and person.person.get("email", "").casefold() == form.email.casefold() \
                and person.person.get("name", "").casefold() == form.name.casefold():
            raise AlreadyRecorded(f"{case.reference}: that person is already in the {form.group.value} group")
    member = ReviewPerson(group=form.group.value, agency=form.agency, added_at=now,
                          person={"name": form.name, "role": form.role, "email": form.email})
    review.people.append(member)
    audit(session, reference=case.reference, actor=actor, action=f"{form.group.value} group member added", now=now,
          agency=form.agency)
    return member


def milestone_states(review: Review) -> list[MilestoneState]:
    return [MilestoneState(m.code, m.label, m.target_on, m.done_on) for m in review.milestones]


def record_milestone(session: Session, *, case: Case, review: Review, form: MilestoneForm, now: datetime,
                     actor: str, calendar: WorkingCalendar | None = None) -> ReviewMilestone:
    """A milestone done (date, who, note, document) or re-planned with a reason (its earlier targets kept)."""
    milestone = next((m for m in review.milestones if m.code == form.stage), None)
    check_milestone_done(form.stage, form.done_on or review.commissioned_on, review.commissioned_on,
                         [m.code for m in review.milestones])
    if milestone is None:  # (check_milestone_done refused an unknown code already)
        raise ValueError(f"stage: '{form.stage}' is not a milestone of this review's plan")
    if milestone.done_on is not None:
        raise AlreadyRecorded(f"{case.reference}: {milestone.label} was already recorded done "
                              f"({milestone.done_on.isoformat()})")
    if form.done_on is not None:
        milestone.done_on, milestone.done_by = form.done_on, form.by
        milestone.note, milestone.document = form.note, form.document
        meet_deadline(case, kind=REVIEW_MILESTONE, subject=milestone.code, now=now)
        action = "review milestone done"
    else:
        if form.replan_to is None or form.replan_to < review.commissioned_on:
            raise ValueError(f"replan_to: {form.replan_to.isoformat()} is before the review was commissioned")
        milestone.replans = [*milestone.replans, {"from": milestone.target_on.isoformat(),
                                                  "to": form.replan_to.isoformat(), "reason": form.reason,
                                                  "at": now.isoformat()}]
        milestone.target_on = form.replan_to
        if calendar is not None:  # the earlier target's reminders stop; the new one's start
            meet_deadline(case, kind=REVIEW_MILESTONE, subject=milestone.code, now=now)
            _set_milestone_deadline(session, case, code=milestone.code, label=milestone.label,
                                    target_on=form.replan_to, calendar=calendar, round=len(milestone.replans))
        action = "review milestone re-planned"
    review.updated_at = now
    audit(session, reference=case.reference, actor=actor, action=action, now=now, stage=form.stage)
    return milestone


def record_terms(session: Session, *, case: Case, review: Review, form: TermsForm, now: datetime, actor: str) -> None:
    """Terms of reference and scope, as agreed at the planning meeting (a later agreement replaces them, audited)."""
    review.terms = {"terms_of_reference": form.terms_of_reference, "scope": form.scope,
                    "agreed_on": form.agreed_on.isoformat()}
    review.updated_at = now
    audit(session, reference=case.reference, actor=actor, action="terms of reference recorded", now=now,
          agreed_on=form.agreed_on.isoformat())


def record_family(session: Session, *, case: Case, review: Review, form: FamilyInvolvementForm, now: datetime,
                  actor: str) -> None:
    """The family's involvement: complete, or not possible with the reason."""
    if review.family is not None:
        raise AlreadyRecorded(f"{case.reference}: the family's involvement was already recorded ({review.family['involvement']})")
    review.family = {"involvement": form.involvement.value, "on": form.on.isoformat(), "reason": form.reason}
    review.updated_at = now
    audit(session, reference=case.reference, actor=actor, action="family involvement recorded", now=now,
          involvement=form.involvement.value)


def ratification_history(review: Review) -> list[Ratification]:
    return [Ratification(Ratifier(r["by"]), RatificationResult(r["result"]), date.fromisoformat(r["on"]))
            for r in review.ratifications]


def signing_bodies(case: Case) -> tuple[Ratifier, ...]:
    """Who signs off the case's review, in order, under its rule set (wt2015: the CIG, the executive group, the
    board; wt2023: the safeguarding partners)."""
    from config.rulesets import load_ruleset

    return sign_off_order(load_ruleset(case.regime))


def signed_off(case: Case, review: Review) -> bool:
    """Whether every body that signs off the review has (the final report may then be published)."""
    return next_ratifier(ratification_history(review), signing_bodies(case)) is None


def record_ratification(session: Session, *, case: Case, review: Review, form: RatificationForm, now: datetime,
                        actor: str) -> Ratifier | None:
    """The drafts before the bodies that sign them off, in the rule set's order (wt2015: the CIG, the executive
    group, the board; wt2023: the safeguarding partners); returns who is next (None once the last has signed them
    off: publication is next)."""
    if ReviewStage(review.stage) not in (ReviewStage.under_way, ReviewStage.ratifying):
        raise NotAtThisStep(f"{case.reference}: its review is {review.stage.replace('_', ' ')}, not at ratification")
    order = signing_bodies(case)
    check_ratification(ratification_history(review), form.by, order)
    review.ratifications = [*review.ratifications, {"by": form.by.value, "result": form.result.value,
                                                    "on": form.on.isoformat(), "comments": form.comments}]
    if ReviewStage(review.stage) is ReviewStage.under_way:
        _move(review, ReviewStage.ratifying, now)
    after = next_ratifier(ratification_history(review), order)
    if after is None:
        _move(review, ReviewStage.awaiting_publication, now)
    _consume_wait(case)
    audit(session, reference=case.reference, actor=actor, action=f"review drafts {form.result.value}", now=now,
          by=form.by.value)
    return after


def record_review_publication(session: Session, *, case: Case, review: Review, form: ReviewPublicationForm,
                              calendar: WorkingCalendar, now: datetime, actor: str) -> date:
    """Publication, refused without the board's ratification and, for an SCR, the family's involvement;
    starts the 12 months on the website. Returns the last day it must stay there."""
    from casework.store.cases import record_publication
    from config.rulesets import load_ruleset

    family = FamilyInvolvement(review.family["involvement"]) if review.family else None
    check_publication(review.review_type, family, signed_off(case, review), signing_bodies(case)[-1],
                      load_ruleset(case.regime).term("scr_short"))
    check_full_report_sent(case, form.published_on, calendar=calendar, now=now)
    if ReviewStage(review.stage) is not ReviewStage.awaiting_publication and case.published_on is None:
        raise NotAtThisStep(f"{case.reference}: its review is {review.stage.replace('_', ' ')}, not awaiting publication")
    record_publication(session, case=case, form=form, calendar=calendar, now=now, actor=actor)
    review.response_link = form.response_link
    until = available_until(form.published_on)
    _set_deadline(session, case, kind="report_availability", due_at=calendar.end_of_day(until),
                  label="final report on the website for 12 months")
    _move(review, ReviewStage.published, now)
    _consume_wait(case)
    return until


def record_non_publication(session: Session, *, case: Case, review: Review, form: NonPublicationForm,
                           calendar: WorkingCalendar, now: datetime, actor: str) -> None:
    """The partnership decided not to publish the ratified final report: its reason (naming no one from the
    case) and where the improvements are published instead, if they are. The review needs no publication
    after it (the case closes once nothing else is outstanding). The reason is kept on the review, which is
    deleted with its case at the end of retention, not in the audit trail, which outlives it."""
    from casework.forms import check_no_identities
    from casework.store.cases import sealed_identities

    check_no_identities({"reason": form.reason, "improvements_link": form.improvements_link}, *sealed_identities(case))
    check_non_publication(ReviewStage(review.stage), signed_off(case, review), signing_bodies(case)[-1])
    if sends_full_report(case):  # wt2023: the improvements published instead, the full report still sent to both
        if not form.improvements_link:
            raise ValueError("improvements_link: where the final report is not published, the safeguarding partners "
                             "publish the information about the improvements to be made, with their response: give "
                             "its address")
        if full_report_sent_on(case, calendar) is None:
            raise ValueError(f"decided_on: the full final report still goes to {FULL_REPORT_SENT_TO} when it is not "
                             "published: send it first (its task on the review's task list)")
    if case.decided_at is not None and form.decided_on < calendar.local_date(case.decided_at):
        raise ValueError(f"decided_on: {form.decided_on.isoformat()} is before the decision to review")
    review.availability = "not_published"
    review.non_publication_reason = form.reason
    review.response_link = form.improvements_link
    meet_deadline(case, kind="publication", now=min(now, calendar.end_of_day(form.decided_on)))
    _move(review, ReviewStage.not_published, now)
    case.updated_at = now
    _consume_wait(case)
    audit(session, reference=case.reference, actor=actor, action="review not published", now=now,
          decided_on=form.decided_on.isoformat(), improvements_link=form.improvements_link)


# the clocks a review runs on its case: its publication (the decision's 6 months), the full report before it
# (wt2023), each milestone of its plan, each agency's confirmation of its engagement
REVIEW_CLOCKS = ("publication", PRE_PUBLICATION, REVIEW_MILESTONE, "review_engagement")


def record_national_review(session: Session, *, case: Case, review: Review, received_on: date, now: datetime,
                           actor: str) -> list[str]:
    """The Panel will carry out a national review (wt2023): the local review stops, as the local decision follows
    the Panel's. It moves to `superseded` (its `availability` says so once it is closed), and its clocks still open
    stop: they are marked met at `now` (the table has no other way to say a clock no longer runs), so the sweep
    neither reminds of them nor escalates them, and their labels say they stopped (rules.stopped_label), as does
    the audit event, which names them, so a stopped clock is never read as one kept. Returns the labels of the
    clocks stopped. Refused (NotAtThisStep) once the review is published, not published or closed."""
    if not stops_for_national_review(ReviewStage(review.stage)):
        raise NotAtThisStep(f"{case.reference}: its review is {review.stage.replace('_', ' ')}; it has nothing left to "
                            "stop")
    stopped = sorted((d for d in case.deadlines if d.kind in REVIEW_CLOCKS and d.met_at is None),
                     key=lambda d: d.due_at)
    labels = [d.label for d in stopped]
    for row in stopped:  # no reminder, no escalation, and every page reads it as stopped, not kept
        row.met_at = now
        row.label = stopped_label(row.label)
    before = review.stage
    _move(review, ReviewStage.superseded, now)
    review.availability = STOPPED_FOR_NATIONAL_REVIEW  # the stage closes with the case; this says why, after it
    case.updated_at = now
    _consume_wait(case)
    audit(session, reference=case.reference, actor=actor, action="review stopped: national review", now=now,
          received_on=received_on.isoformat(), stage_before=before,
          clocks_stopped=[f"{d.kind}:{d.subject}" if d.subject else d.kind for d in stopped])
    return labels


def record_availability(session: Session, *, case: Case, review: Review, form: AvailabilityForm, now: datetime,
                        actor: str) -> None:
    """After 12 months: the report stays published or becomes available on request."""
    if case.published_on is None:
        raise NotAtThisStep(f"{case.reference}: its review's report is not published yet")
    review.availability = form.availability.value
    meet_deadline(case, kind="report_availability", now=now)
    audit(session, reference=case.reference, actor=actor, action="report availability recorded", now=now,
          availability=form.availability.value)


def save_review_document(session: Session, *, case: Case, review: Review, form: ReviewDocumentForm,
                         document: dict[str, str], now: datetime, actor: str) -> ReviewDocument:
    """Keep a lead reviewer's draft or final report (an outbox attachment, checked already), sealed with its
    name. Refused once the review is finished (published, not published, stopped for a national review, or
    closed)."""
    if ReviewStage(review.stage) in FINISHED:
        raise NotAtThisStep(f"{case.reference}: its review is {review.stage.replace('_', ' ')}; no more drafts")
    row = ReviewDocument(case_id=case.id, kind=form.kind.value, document=dict(document), uploaded_at=now)
    session.add(row)
    session.flush()
    audit(session, reference=case.reference, actor=actor, action="review document uploaded", now=now,
          kind=form.kind.value, document=row.id)
    return row


def review_documents(session: Session, *, case: Case) -> list[ReviewDocument]:
    """The drafts and final reports uploaded for the case's review, oldest first."""
    return list(session.scalars(select(ReviewDocument).where(ReviewDocument.case_id == case.id)
                                .order_by(ReviewDocument.id)))


def outstanding(review: Review) -> list[str]:
    """What of the review is not done yet: publication (or its non-published outcome), and each milestone not done;
    nothing once it stopped for the Panel's national review (its milestones are no longer owed)."""
    if review.stage == ReviewStage.superseded:
        return []
    left = [] if review.stage in FINISHED else ["publication"]
    return left + [m.label for m in review.milestones if m.done_on is None]


def close_if_done(session: Session, *, case: Case, review: Review, now: datetime) -> bool:
    """Close the review and its case once it is published (or its non-published outcome is recorded, or it stopped
    for the Panel's national review) and nothing is outstanding (retention and `purge` then apply to the case).
    Returns whether the case is closed."""
    if review.stage == ReviewStage.closed:
        return True
    if outstanding(review):
        return False
    _move(review, ReviewStage.closed, now)
    case.status = CaseStatus.closed
    case.closed_at = now
    case.updated_at = now
    audit(session, reference=case.reference, actor="system", action="review closed", now=now,
          **({"stopped_for_national_review": True} if review.availability == STOPPED_FOR_NATIONAL_REVIEW else {}))
    return True


# --- Working Together 2023: the full report to the Panel and the Secretary of State before publication ------------

FULL_REPORT_SENT_TO = "the Child Safeguarding Practice Review Panel and the Secretary of State"


def _pre_publication(case: Case):  # type: ignore[no-untyped-def]
    return next((d for d in case.deadlines if d.kind == PRE_PUBLICATION), None)


def sends_full_report(case: Case) -> bool:
    """Whether the case's rule set sends the full report before publication (wt2023's `pre_publication_notice`)."""
    from config.rulesets import load_ruleset

    return PRE_PUBLICATION in load_ruleset(case.regime).clocks


def full_report_sent_on(case: Case, calendar: WorkingCalendar) -> date | None:
    """The day the full report went to the Panel and the Secretary of State (None: not yet)."""
    row = _pre_publication(case)
    return calendar.local_date(row.met_at) if row is not None and row.met_at is not None else None


def plan_full_report(session: Session, *, case: Case, rules: RuleSet, calendar: WorkingCalendar) -> None:
    """Once the report is signed off, where the rule set has the clock (wt2023's `pre_publication_notice`): the
    last day the full report may go for publication inside the review's 6 months, as a deadline the sweep warns
    of before and escalates after (once each)."""
    from casework.clocks import latest_sending_date

    clock = rules.clocks.get(PRE_PUBLICATION)
    publication = next((d for d in case.deadlines if d.kind == "publication"), None)
    if clock is None or publication is None or _pre_publication(case) is not None:
        return
    last_day = latest_sending_date(calendar.local_date(publication.due_at), clock, calendar)
    _set_deadline(session, case, kind=PRE_PUBLICATION, due_at=calendar.end_of_day(last_day), label=clock.label)


def record_full_report_sent(session: Session, *, case: Case, review: Review, form: FullReportForm, rules: RuleSet,
                            calendar: WorkingCalendar, now: datetime, actor: str) -> dict[str, str]:
    """Record that the full final report goes to the Panel and the Secretary of State for publication on
    `form.publication_on`; returns the report (the latest uploaded final report) to attach. Refused (ValueError
    naming the field) under a rule set without the clock, before the sign-off, without a final report, or for a
    publication date sooner than the clock allows (naming the earliest allowed date); AlreadyRecorded when sent."""
    from casework.clocks import check_publication_date

    clock = rules.clocks.get(PRE_PUBLICATION)
    if clock is None:
        raise NotAtThisStep(f"{case.reference}: its rule set ({rules.name}) sends no report before publication")
    if full_report_sent_on(case, calendar) is not None:
        raise AlreadyRecorded(f"{case.reference}: the full report was already sent "
                              f"({full_report_sent_on(case, calendar):%A %-d %B %Y})")
    if not signed_off(case, review) or ReviewStage(review.stage) is not ReviewStage.awaiting_publication:
        raise ValueError(f"publication_on: {not_signed_off_words(case)}")
    reports = [d for d in review_documents(session, case=case) if d.kind == "final_report"]
    if not reports:
        raise ValueError("publication_on: upload the final report first (the drafts task of the review's task list)")
    today = calendar.local_date(now)
    checked = check_publication_date(form.publication_on, sent_on=today, now=now, clock=clock, calendar=calendar,
                                     sent_to=FULL_REPORT_SENT_TO)
    if not checked.allowed:
        raise ValueError(f"publication_on: {checked.refusal}")
    plan_full_report(session, case=case, rules=rules, calendar=calendar)
    session.flush()
    if _pre_publication(case) is None:  # no publication clock on the case: the sending is recorded all the same
        _set_deadline(session, case, kind=PRE_PUBLICATION, due_at=now, label=clock.label)
        session.flush()
    meet_deadline(case, kind=PRE_PUBLICATION, now=now)
    review.updated_at = now
    audit(session, reference=case.reference, actor=actor, action="full report sent before publication", now=now,
          publication_on=form.publication_on.isoformat(), document=reports[-1].id)
    return dict(reports[-1].document)


def not_signed_off_words(case: Case) -> str:
    """Why a report not yet signed off cannot go: the last body of the case's rule set has not signed it off."""
    from casework.review.rules import NOT_SIGNED_OFF

    return NOT_SIGNED_OFF[signing_bodies(case)[-1]]


def check_full_report_sent(case: Case, published_on: date, *, calendar: WorkingCalendar, now: datetime) -> None:
    """Where the case's rule set has the clock (wt2023), publication is refused before the full report went to the
    Panel and the Secretary of State the clock's days before it (ValueError naming the earliest allowed date)."""
    from casework.clocks import check_publication_date
    from config.rulesets import load_ruleset

    clock = load_ruleset(case.regime).clocks.get(PRE_PUBLICATION)
    if clock is None:
        return
    checked = check_publication_date(published_on, sent_on=full_report_sent_on(case, calendar), now=now, clock=clock,
                                     calendar=calendar, sent_to=FULL_REPORT_SENT_TO)
    if not checked.allowed:
        raise ValueError(f"published_on: {checked.refusal}")


def record_publication_delay(session: Session, *, case: Case, review: Review, form: PublicationDelayForm,
                             rules: RuleSet, now: datetime, actor: str) -> int:
    """Record that publication is delayed and why (the reasons go in the emails, not the audit trail, which
    outlives the case); returns the delay's number (1 for the first). Refused under a rule set without the clock
    and once the review's report is published or its outcome recorded (or the review stopped for a national
    review)."""
    from casework.forms import check_no_identities
    from casework.store.cases import sealed_identities

    if PRE_PUBLICATION not in rules.clocks:
        raise NotAtThisStep(f"{case.reference}: its rule set ({rules.name}) has no delay notice")
    if ReviewStage(review.stage) in FINISHED:
        raise NotAtThisStep(f"{case.reference}: its review is {review.stage.replace('_', ' ')}")
    check_no_identities({"reasons": form.reasons}, *sealed_identities(case))
    told = [e for e in audit_actions(session, case=case) if e == "publication delay told"]
    audit(session, reference=case.reference, actor=actor, action="publication delay told", now=now,
          expected_on=form.expected_on.isoformat() if form.expected_on else None)
    return len(told) + 1


def audit_actions(session: Session, *, case: Case) -> list[str]:
    from casework.store.cases import audit_trail

    return [e.action for e in audit_trail(session, reference=case.reference)]
