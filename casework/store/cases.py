"""What can be done to a case, in the database. Every function takes the session as a keyword
argument and never commits: the caller owns the transaction. Every change writes an audit event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from casework.clocks import ReturnDue, WorkingCalendar, deadline, information_return_due
from casework.forms import (
    AgencyReturnForm,
    DecisionForm,
    PublicationForm,
    PanelNotificationForm,
    SeriousIncidentNotificationForm,
    RecommendationForm,
    ReferralForm,
    ScreeningForm,
    check_anonymised_details,
    check_decision_against_recommendation,
    check_publication_is_anonymous,
    ThroughSafeguardingLead,
)
from casework.meetings.calendar import Meeting
from casework.model import NON_MEMBER, CaseStatus, Recommendation, ReturnStatus, ReviewType, ScreeningOutcome, Stage, check_move
from casework.store.tables import AuditEvent, Case, Deadline, InformationRequest, OutboxMessage
from config.rulesets import RuleSet


class CaseNotFound(LookupError):
    def __init__(self, reference: str) -> None:
        super().__init__(f"no case with reference '{reference}'")


class AlreadyRecorded(ValueError):
    """The step was recorded before; the second attempt changes nothing."""


class NotAtThisStep(ValueError):
    """The case is not at the step the input is for."""


def audit(session: Session, *, reference: str | None, actor: str, action: str, now: datetime, **detail: object) -> None:
    """Append an audit event (metadata only: never names, dates of birth or free text about the child)."""
    session.add(AuditEvent(case_reference=reference, at=now, actor=actor, action=action, detail=detail))


def audit_trail(session: Session, *, reference: str) -> Sequence[AuditEvent]:
    """The case's audit events, oldest first."""
    return session.scalars(
        select(AuditEvent).where(AuditEvent.case_reference == reference).order_by(AuditEvent.id)
    ).all()


def get_case(session: Session, *, reference: str, for_update: bool = False) -> Case:
    """The case with this reference, with its requests and deadlines loaded."""
    query = (
        select(Case)
        .where(Case.reference == reference)
        .options(selectinload(Case.requests), selectinload(Case.deadlines))
    )
    if for_update:
        query = query.with_for_update()
    case = session.scalars(query).first()
    if case is None:
        raise CaseNotFound(reference)
    return case


def find_case(session: Session, *, reference: str) -> Case:
    """The case with this reference, alone: its requests and deadlines are read from `session` if and when they are
    used (get_case loads them with the case, for use once the session is closed). For a page that reads the case
    within one session and shows neither, or one of them: a case has some 40 such rows."""
    case = session.scalars(select(Case).where(Case.reference == reference)).first()
    if case is None:
        raise CaseNotFound(reference)
    return case


def list_cases(session: Session, *, status: str | None = None) -> Sequence[Case]:
    query = select(Case).options(selectinload(Case.requests), selectinload(Case.deadlines)).order_by(Case.id)
    if status:
        query = query.where(Case.status == status)
    return session.scalars(query).all()


def _next_reference(session: Session, prefix: str, year: int) -> str:
    stem = f"{prefix}-{year}-"
    count = session.scalar(select(func.count()).select_from(Case).where(Case.reference.like(f"{stem}%"))) or 0
    return f"{stem}{count + 1:04d}"


def _set_deadline(
    session: Session, case: Case, *, kind: str, label: str, due_at: datetime, subject: str = "", round: int = 0
) -> Deadline:
    existing = next(
        (d for d in case.deadlines if d.kind == kind and d.subject == subject and d.round == round), None
    )
    if existing:
        existing.due_at = due_at
        existing.label = label
        return existing
    item = Deadline(kind=kind, subject=subject, round=round, label=label, due_at=due_at)
    case.deadlines.append(item)
    return item


def meet_deadline(case: Case, *, kind: str, now: datetime, subject: str | None = None, round: int | None = None) -> None:
    """Mark the open deadlines of this kind (optionally for one subject or round) as met."""
    for item in case.deadlines:
        if item.kind == kind and item.met_at is None:
            if subject is not None and item.subject != subject:
                continue
            if round is not None and item.round != round:
                continue
            item.met_at = now


def meet_notice_deadlines(case: Case, *, rules: RuleSet, sent: Mapping[str, datetime]) -> None:
    """Each statutory notice in `sent` (a notice's name in the rule set -> when its message was sent) meets its
    deadline at that moment. A notice is sent when the mail server accepts it, not when it is queued; whatever
    caused it (a referral, a decision, a lead reviewer's appointment, a sweep or a retry), the deliverer calls
    this in the transaction that marks the message sent."""
    for name, at in sent.items():
        notice = rules.notices.get(name)
        if notice is not None and at is not None:
            meet_deadline(case, kind=notice.clock, now=at)


def start_reply_clock(session: Session, *, case: Case, rules: RuleSet, notice: str, sent_at: datetime,
                      calendar: WorkingCalendar) -> None:
    """The notice `notice` was sent at `sent_at`: start the clock of its recipient's reply, when the rule set gives
    it one (wt2023: the Panel's reply to the rapid review). Once: a clock already started, or a reply already
    recorded, is left as it is."""
    kind = rules.notices[notice].reply_clock if notice in rules.notices else None
    if kind is None or case.panel_reply is not None or any(d.kind == kind for d in case.deadlines):
        return
    clock = rules.clocks[kind]
    _set_deadline(session, case, kind=kind, label=clock.label, due_at=deadline(sent_at, clock, calendar))


def restart_reply_clock(session: Session, *, case: Case, rules: RuleSet, kind: str, since: date,
                        calendar: WorkingCalendar) -> None:
    """The Panel asked for more on `since`: its reply clock `kind` starts again from that day, as a new round of the
    clock (so its reminder is owed once more, keyed by the round); the earlier rounds are left as they are."""
    clock = rules.clocks[kind]
    again = sum(1 for d in case.deadlines if d.kind == kind)
    _set_deadline(session, case, kind=kind, label=clock.label, due_at=deadline(since, clock, calendar), round=again)


def record_referral(
    session: Session,
    *,
    form: ReferralForm,
    prefix: str,
    rules: RuleSet,
    calendar: WorkingCalendar,
    now: datetime,
    actor: str,
) -> Case:
    """Record a CIGSCR1 referral, give it a reference and start its statutory clocks."""
    personal = form.model_dump(
        mode="json", include={"reasons", "case_summary", "child", "significant_people", "named_lead"}
    )
    route = form.route.model_dump(mode="json")
    personal["completed_on"] = form.completed_on.isoformat()
    personal["referred_by"] = form.referred_by
    personal["organisation"] = form.organisation
    personal["referrer_phone"] = form.referrer_phone
    if isinstance(form.route, ThroughSafeguardingLead):
        personal.update(route)
    else:
        personal["strategy_meeting"] = {"on": route["strategy_meeting_on"], "chair": route["strategy_meeting_chair"]}
    case = Case(
        reference=_next_reference(session, prefix, now.year),
        regime=rules.name,
        status=CaseStatus.open,
        stage=Stage.awaiting_screening,
        referring_agency=form.agency or NON_MEMBER,
        notified_on=form.notified_on,
        referred_at=now,
        facts=form.facts.model_dump(mode="json"),
        personal=personal,
        referrer_email=form.referrer_email,
        wait_seq=0,
        round=0,
        updated_at=now,
    )
    session.add(case)
    for kind, clock in rules.clocks.items():
        if clock.starts.value == "notified":
            _set_deadline(session, case, kind=kind, label=clock.label, due_at=deadline(form.notified_on, clock, calendar))
    session.flush()
    audit(session, reference=case.reference, actor=actor, action="referral recorded", now=now,
          agency=form.agency or NON_MEMBER, referred_by=form.referred_by)
    return case


def attach_flow_run(session: Session, *, case: Case, flow_run_id: str, now: datetime) -> None:
    if case.flow_run_id != flow_run_id:
        case.flow_run_id = flow_run_id
        audit(session, reference=case.reference, actor="system", action="flow run started", now=now, flow_run_id=flow_run_id)


def _consume_wait(case: Case) -> None:
    """An input for this case has been used: the next wait needs a fresh suspend key."""
    case.wait_seq = (case.wait_seq or 0) + 1


def abandon_wait(case: Case) -> None:
    """The run's wait was lost (suspended with no form saved): the next wait needs a fresh suspend key,
    as Prefect treats a key it has seen as already answered."""
    _consume_wait(case)


def refuse_input(session: Session, *, case: Case, step: str, problem: str, now: datetime,
                 values: dict[str, Any] | None = None) -> None:
    """Record that an input could not be used (so the next wait asks again, with the reason), and keep
    what was typed, sealed, so the next form is filled in with it (`refused_input`)."""
    _consume_wait(case)
    if values is not None:
        personal = dict(case.personal or {})
        personal["refused_inputs"] = {**(personal.get("refused_inputs") or {}), step: values}
        case.personal = personal
    audit(session, reference=case.reference, actor="system", action=f"{step} input refused", now=now, problem=problem)


def refused_input(case: Case, step: str) -> dict[str, Any] | None:
    """What was typed in the step's last refused input, if it was kept."""
    return ((case.personal or {}).get("refused_inputs") or {}).get(step)


def _move(case: Case, target: Stage, now: datetime) -> None:
    case.stage = check_move(Stage(case.stage), target)
    case.updated_at = now


def record_screening(session: Session, *, case: Case, form: ScreeningForm, now: datetime, actor: str) -> None:
    """Accept the case for the group, or decline it with the reason (the case then closes)."""
    if case.screening is not None:
        raise AlreadyRecorded(f"{case.reference}: screening was already recorded ({case.screening})")
    if case.stage != Stage.awaiting_screening:
        raise NotAtThisStep(f"{case.reference} is not awaiting screening")
    case.screening = form.outcome.value
    case.screening_reason = form.reason
    case.screened_at = now
    _consume_wait(case)
    if form.outcome is ScreeningOutcome.accept:
        _move(case, Stage.awaiting_returns, now)
    else:
        _move(case, Stage.declined, now)
        case.status = CaseStatus.closed
        case.closed_at = now
        for item in case.deadlines:
            if item.met_at is None:
                item.met_at = now
    audit(session, reference=case.reference, actor=actor, action=f"screening: {form.outcome.value}", now=now,
          decided_by=form.decided_by, independent_chair_consulted=form.independent_chair_consulted)


def needs_listing(case: Case) -> bool:
    """Accepted and not yet listed, or sent back by the group for further information."""
    if case.stage == Stage.awaiting_returns and case.round == 0:
        return True
    return case.stage == Stage.awaiting_recommendation and case.recommendation == Recommendation.further_information


def list_for_meeting(session: Session, *, case: Case, meeting: Meeting, now: datetime, actor: str = "system") -> None:
    """List the case for a meeting (a new round of consideration)."""
    case.meeting_on = meeting.scheduled_on
    case.meeting_at = meeting.starts_at
    case.round = (case.round or 0) + 1
    case.recommendation = None
    case.recommendation_rationale = None
    if case.stage != Stage.awaiting_returns:
        _move(case, Stage.awaiting_returns, now)
    audit(session, reference=case.reference, actor=actor, action="listed for meeting", now=now,
          meeting=meeting.starts_at.isoformat(), round=case.round)


def issue_requests(
    session: Session,
    *,
    case: Case,
    agencies: Sequence[str],
    rules: RuleSet,
    calendar: WorkingCalendar,
    now: datetime,
    due: ReturnDue | None = None,
) -> list[InformationRequest]:
    """Create this round's CIGINF1 requests (once each) with their due dates and deadlines: `due`, when the
    meeting sets it (a rapid review meeting's working days before it), else the rule set's information_return
    clock."""
    if case.meeting_at is None:
        raise NotAtThisStep(f"{case.reference} is not listed for a meeting")
    clock = rules.clocks["information_return"]
    due = due or information_return_due(now, case.meeting_at, clock, calendar)
    created = []
    for code in agencies:
        existing = next((r for r in case.requests if r.agency == code and r.round == case.round), None)
        if existing:
            continue
        request = InformationRequest(
            agency=code, round=case.round, issued_at=now, due_at=due.due_at, by_return=due.by_return, status="outstanding"
        )
        case.requests.append(request)
        _set_deadline(session, case, kind="information_return", subject=code, round=case.round,
                      label=f"{clock.label} from {code}", due_at=due.due_at)
        created.append(request)
    if created:
        audit(session, reference=case.reference, actor="administrator", action="requests for information issued",
              now=now, round=case.round, agencies=[r.agency for r in created], by_return=due.by_return)
    return created


def round_requests(case: Case) -> list[InformationRequest]:
    return [r for r in case.requests if r.round == case.round]


def outstanding_agencies(case: Case) -> list[str]:
    return [r.agency for r in round_requests(case) if r.status == ReturnStatus.outstanding]


def record_return(session: Session, *, case: Case, form: AgencyReturnForm, now: datetime, actor: str) -> None:
    """Record one agency's CIGINF1 return for the current round; when all are in, the case awaits the CIG."""
    if case.stage != Stage.awaiting_returns:
        raise NotAtThisStep(f"{case.reference} is not awaiting returns (it is {case.stage})")
    request = next((r for r in round_requests(case) if r.agency == form.agency), None)
    if request is None:
        asked = ", ".join(r.agency for r in round_requests(case))
        raise ValueError(f"agency: {form.agency} was not asked for information in this round (asked: {asked})")
    if request.status != ReturnStatus.outstanding:
        raise AlreadyRecorded(f"{case.reference}: the return from {form.agency} was already recorded ({request.status})")
    request.status = form.status
    request.returned_at = now
    request.content = {"involvement": form.involvement, "key_practitioners": form.key_practitioners}
    request.attendees = form.attendees
    meet_deadline(case, kind="information_return", subject=form.agency, round=case.round, now=now)
    _consume_wait(case)
    case.updated_at = now
    audit(session, reference=case.reference, actor=actor, action="return recorded", now=now,
          agency=form.agency, status=form.status, round=case.round)
    if not outstanding_agencies(case):
        _move(case, Stage.awaiting_recommendation, now)


def record_recommendation(
    session: Session, *, case: Case, form: RecommendationForm, known_agencies: Sequence[str], now: datetime, actor: str
) -> None:
    """Record the CIG recommendation; "further information" sends the case back for another round."""
    if case.stage != Stage.awaiting_recommendation:
        if case.recommendation and case.stage in (Stage.awaiting_decision, Stage.notifying, Stage.decided):
            raise AlreadyRecorded(f"{case.reference}: the recommendation was already recorded ({case.recommendation})")
        raise NotAtThisStep(f"{case.reference} is not awaiting the CIG recommendation (it is {case.stage})")
    unknown = [a for a in form.further_information_from if a not in known_agencies]
    if unknown:
        raise ValueError(f"further_information_from: unknown agency code(s) {', '.join(unknown)}")
    case.recommendation = form.outcome.value
    case.recommendation_rationale = form.rationale
    case.recommended_at = now
    _consume_wait(case)
    case.updated_at = now
    audit(session, reference=case.reference, actor=actor, action=f"recommendation: {form.outcome.value}", now=now,
          round=case.round, further_information_from=form.further_information_from)
    if form.outcome is Recommendation.further_information:
        case.next_round_agencies = list(form.further_information_from)
    else:
        _move(case, Stage.awaiting_decision, now)


def record_decision(
    session: Session, *, case: Case, form: DecisionForm, rules: RuleSet, calendar: WorkingCalendar, now: datetime, actor: str
) -> None:
    """Record the independent chair's decision and start the notice clocks."""
    if case.decision is not None:
        raise AlreadyRecorded(f"{case.reference}: the decision was already recorded ({case.decision})")
    if case.stage != Stage.awaiting_decision:
        raise NotAtThisStep(f"{case.reference} is not awaiting the independent chair's decision (it is {case.stage})")
    check_decision_against_recommendation(form, Recommendation(case.recommendation) if case.recommendation else None)
    if form.decision is not ReviewType.scr and form.anonymised_details is None and case.sin is None \
            and not rules.notifies_panel_at_referral:  # wt2023: the Panel had the serious incident notification
        raise ValueError("anonymised_details: no Serious Incident Notification is recorded for this case, so the "
                         "National Panel needs brief anonymised details (or ask the partnership administrator to record "
                         "the SIN first)")
    check_anonymised_details(form, *sealed_identities(case))
    case.chair_response = form.response.value
    case.decision = form.decision.value
    case.decision_rationale = form.rationale
    case.decided_at = now
    case.decided_by = form.decided_by
    case.lead_reviewers = form.lead_reviewers or None
    case.panel_details = (
        {"anonymised": form.anonymised_details.model_dump(mode="json") if form.anonymised_details else None,
         "criteria_explanation": form.criteria_explanation}
        if form.decision is not ReviewType.scr else None
    )
    _consume_wait(case)
    meet_deadline(case, kind="decision", now=now)
    for notice in rules.notices.values():
        if notice.sent_at == "decision":
            clock = rules.clocks[notice.clock]
            start = now if clock.starts.value == "decided" else case.notified_on
            _set_deadline(session, case, kind=notice.clock, label=clock.label, due_at=deadline(start, clock, calendar))
    if form.decision is not ReviewType.no_review and "publication" in rules.clocks and form.decision is ReviewType.scr:
        clock = rules.clocks["publication"]
        _set_deadline(session, case, kind="publication", label=clock.label, due_at=deadline(now, clock, calendar))
    _move(case, Stage.notifying, now)
    audit(session, reference=case.reference, actor=actor, action=f"decision: {form.decision.value}", now=now,
          response=form.response.value)


def record_serious_incident_notification(
    session: Session, *, case: Case, form: SeriousIncidentNotificationForm, document: dict[str, str] | None,
    sent_on: date | None, now: datetime, actor: str,
) -> None:
    """Record the case's SIN: its dates in the open, the notification (text and/or document) sealed; `sent_on`
    None where nothing is sent (wt2023: the text may come before or after the record that the local authority
    made it, `record_panel_notification`, which gives the day it was made)."""
    if case.sin is not None and (case.sin.get("text") or case.sin.get("document")):
        raise AlreadyRecorded(f"{case.reference}: its Serious Incident Notification was already recorded "
                              f"(completed {case.sin_completed_on.isoformat() if case.sin_completed_on else '-'})")
    if document is None and not form.notification:
        raise ValueError("notification: give the notification's text or attach the document")
    case.sin_completed_on = form.completed_on
    if sent_on is not None:
        case.sin_sent_on = sent_on
    case.sin = {**(case.sin or {}), "completed_by": form.completed_by, "text": form.notification, "document": document}
    case.updated_at = now
    audit(session, reference=case.reference, actor=actor, action="serious incident notification recorded", now=now,
          completed_on=form.completed_on.isoformat(), sent_on=sent_on.isoformat() if sent_on else None,
          document=document is not None)


def record_panel_notification(session: Session, *, case: Case, form: PanelNotificationForm, calendar: WorkingCalendar,
                              now: datetime, actor: str) -> None:
    """wt2023: record that the local authority made the serious incident notification (the day, who, the Panel's
    reference; who made it sealed with the rest of the case's SIN): it meets the notification's deadline as of
    the end of that day (or now, if sooner). Its text, recorded before with the SIN form, is kept."""
    if panel_notified(case):
        raise AlreadyRecorded(f"{case.reference}: its serious incident notification was already recorded "
                              f"(made {case.sin_sent_on.isoformat() if case.sin_sent_on else '-'})")
    if form.notified_on < case.notified_on:
        raise ValueError(f"notified_on: {form.notified_on:%-d %B %Y} is before the local authority became aware of the "
                         f"incident ({case.notified_on:%-d %B %Y})")
    case.sin_sent_on = form.notified_on
    case.sin_completed_on = case.sin_completed_on or form.notified_on
    case.sin = {"completed_by": form.notified_by, "text": None, "document": None, **(case.sin or {}),
                "notified_by": form.notified_by, "panel_reference": form.panel_reference}
    case.updated_at = now
    meet_deadline(case, kind="serious_incident_notice", now=min(now, calendar.end_of_day(form.notified_on)))
    audit(session, reference=case.reference, actor=actor, action="serious incident notification made", now=now,
          notified_on=form.notified_on.isoformat(), panel_reference=form.panel_reference)


def panel_notified(case: Case) -> bool:
    """wt2023: whether the case's serious incident notification is recorded as made to the Panel (its text alone,
    recorded with the SIN form, is not the notification)."""
    return case.sin is not None and "panel_reference" in case.sin


def sealed_identities(case: Case) -> tuple[list[str], list[date]]:
    """The names and dates of birth of the child and the significant people, from the sealed column."""
    personal = case.personal or {}
    people = [personal.get("child") or {}, *(personal.get("significant_people") or [])]
    names = [p["name"] for p in people if p.get("name")]
    births = [date.fromisoformat(p["date_of_birth"]) for p in people if p.get("date_of_birth")]
    return names, births


def finish_case(session: Session, *, case: Case, now: datetime) -> None:
    """The notices are out: the case is decided; it closes unless a review was initiated."""
    if case.stage == Stage.decided:
        return
    _move(case, Stage.decided, now)
    if case.decision == ReviewType.no_review:
        case.status = CaseStatus.closed
        case.closed_at = now
    audit(session, reference=case.reference, actor="system", action="case decided", now=now, status=case.status)


def record_publication(
    session: Session, *, case: Case, form: PublicationForm, calendar: WorkingCalendar, now: datetime, actor: str
) -> None:
    """Record that the review's final report is published (date, link, how the learning was shared,
    its themes) and meet the case's `publication` deadline as of that day. Refuses a case with no
    review initiated, a date before the decision, a second publication (AlreadyRecorded), and any
    text that names the child or a significant person or gives a date of birth."""
    if case.published_on is not None:
        raise AlreadyRecorded(f"{case.reference}: publication was already recorded ({case.published_on.isoformat()})")
    if case.decision is None or case.decided_at is None or case.decision == ReviewType.no_review:
        raise NotAtThisStep(f"{case.reference} has no review to publish (decision: {case.decision or 'not yet made'})")
    if form.published_on < calendar.local_date(case.decided_at):
        raise ValueError(f"published_on: {form.published_on.isoformat()} is before the decision to review "
                         f"({calendar.local_date(case.decided_at).isoformat()})")
    check_publication_is_anonymous(form, *sealed_identities(case))
    case.published_on = form.published_on
    case.publication_link = form.link
    case.learning_shared = form.learning_shared
    case.themes = list(form.themes) or None
    case.updated_at = now
    meet_deadline(case, kind="publication", now=min(now, calendar.end_of_day(form.published_on)))
    audit(session, reference=case.reference, actor=actor, action="review published", now=now,
          published_on=form.published_on.isoformat(), link=form.link, themes=len(form.themes))


def enqueue_message(
    session: Session,
    *,
    key: str,
    case: Case | None,
    kind: str,
    recipient: str,
    subject: str,
    text: str,
    html: str | None,
    attachments: list[dict] | None = None,
    now: datetime,
) -> bool:
    """Put a message in the outbox unless one with the same key is there; True if it was added."""
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None:
        return False
    session.add(
        OutboxMessage(
            key=key, case_id=case.id if case else None, kind=kind, recipient=recipient, subject=subject,
            body={"text": text, "html": html, "attachments": attachments or []}, status="pending", attempts=0,
            queued_at=now,
        )
    )
    session.flush()
    return True


# How long a claim holds before another deliverer may take the message again: longer than any one
# SMTP exchange (about seven steps of at most settings.smtp_timeout_seconds, capped at 60 s each)
CLAIM_LEASE = timedelta(minutes=10)


def _deliverable(now: datetime):  # type: ignore[no-untyped-def]
    """Pending, or claimed by a deliverer that died mid-send (its claim is older than the lease)."""
    return or_(OutboxMessage.status == "pending",
               and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - CLAIM_LEASE))


def pending_messages(session: Session, *, now: datetime, case_id: int | None = None, limit: int = 200) -> Sequence[OutboxMessage]:
    """Messages waiting to be sent (of one case, or all), oldest first."""
    query = select(OutboxMessage).where(_deliverable(now)).order_by(OutboxMessage.id).limit(limit)
    if case_id is not None:
        query = query.where(OutboxMessage.case_id == case_id)
    return session.scalars(query).all()


def deadline_met(session: Session, *, case_id: int, kind: str, subject: str, round: int) -> bool:
    """Whether the case's deadline of this kind, subject and round has been met."""
    met_at = session.scalar(select(Deadline.met_at).where(
        Deadline.case_id == case_id, Deadline.kind == kind, Deadline.subject == subject, Deadline.round == round))
    return met_at is not None


def withdraw_message(session: Session, *, message_id: int, now: datetime, reason: str) -> bool:
    """Mark a message that is still waiting as withdrawn, never to be sent; False if a deliverer took
    it (or sent it) meanwhile. Conditional, like claim_message, so it never undoes another's claim."""
    withdrawn = session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id, _deliverable(now))
        .values(status="withdrawn", claimed_at=None, last_error=reason).execution_options(synchronize_session=False)
    )
    return withdrawn.rowcount == 1


def claim_message(session: Session, *, message_id: int, now: datetime) -> bool:
    """Take a message to send it; False when another deliverer has it (or it is sent).

    One conditional UPDATE: of two deliverers racing for the same row (a case's run and the sweep,
    two workers), exactly one sees its row count at 1, on SQLite and PostgreSQL alike.
    """
    claimed = session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id, _deliverable(now))
        .values(status="sending", claimed_at=now).execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1


def in_flight(session: Session, *, now: datetime, case_id: int | None = None) -> int:
    """How many messages another deliverer is sending right now (claimed within the lease)."""
    query = select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status == "sending", OutboxMessage.claimed_at >= now - CLAIM_LEASE)
    if case_id is not None:
        query = query.where(OutboxMessage.case_id == case_id)
    return int(session.scalar(query) or 0)


def messages_for(session: Session, *, case_id: int) -> Sequence[OutboxMessage]:
    return session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id).order_by(OutboxMessage.id)).all()


def open_deadlines_due_before(session: Session, *, before: datetime) -> Sequence[Deadline]:
    """Unmet deadlines falling due before `before`, through the (met_at, due_at) index."""
    query = (
        select(Deadline)
        .where(Deadline.met_at.is_(None), Deadline.due_at < before)
        .options(selectinload(Deadline.case))
        .order_by(Deadline.due_at)
    )
    return session.scalars(query).all()


def meeting_cases(session: Session, *, meeting_on: date) -> Sequence[Case]:
    return session.scalars(
        select(Case).where(Case.meeting_on == meeting_on, Case.status == "open").options(selectinload(Case.requests))
    ).all()
