"""What people and the process do to a case, each in one short transaction: the change, its audit
event and the messages it causes (rendered and written to the outbox together). Safe to run twice.

Used by the Prefect tasks and by the `cig` command alike; nothing here imports Prefect.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from casework.documents import document_attachment
from casework.forms import (
    AgencyReturnForm,
    check_no_identities,
    rapid_review_record_of,
    MAX_TEXT,
    PanelNotificationForm,
    DecisionForm,
    PartnerDecisionForm,
    PublicationForm,
    RecommendationForm,
    ReferralForm,
    ScreeningForm,
    SeriousIncidentNotificationForm,
)
from casework.links import LinkStep, link_url
from casework.office_forms import PanelReplyForm
from casework.meetings.calendar import check_meeting_held, meeting_for_listing
from casework.referral.messages import (
    CaseFile,
    Message,
    acceptance_notice,
    decision_advice,
    decision_notices,
    decline_notice,
    partners_disagree,
    information_requests,
    intake_refusal,
    link_resent,
    return_receipts,
    serious_incident_notification,
    listing_notices,
    notification_owed,
    step_people,
    recommendation_notice,
    referral_notices,
)
from casework.model import ChairResponse, PartnerResponse, Recommendation, ReviewType, ScreeningOutcome, Stage
from casework.office import Office
from casework.store import cases as store
from casework.store import decisions as decision_store
from casework.store import links as link_store
from casework.store.tables import Case, PartnerDecision, PersonalLink
from config.partnership import FORM_TYPES, Contact, Partnership
from config.rulesets import RuleSet
from notifications.render import render


@dataclass(frozen=True)
class Outcome:
    """What an action did: the case's reference and stage after it, and how many messages it queued."""

    reference: str
    stage: Stage
    queued: int = 0


def case_file(case: Case) -> CaseFile:
    """The case as the message builders see it (personal data opened from the sealed column)."""
    personal = case.personal or {}
    child = personal.get("child", {})
    return CaseFile(
        reference=case.reference,
        regime=case.regime,
        referring_agency=case.referring_agency,
        notified_on=case.notified_on,
        referred_at=case.referred_at,
        facts=case.facts,
        child_name=child.get("name", ""),
        child_date_of_birth=date.fromisoformat(child["date_of_birth"]) if child.get("date_of_birth") else date.min,
        child_date_of_death=date.fromisoformat(child["date_of_death"]) if child.get("date_of_death") else None,
        child_address=child.get("address"),
        referring_organisation=personal.get("organisation"),
        sin=case.sin,
        sin_completed_on=case.sin_completed_on,
        significant_people=personal.get("significant_people", []),
        referrer_email=case.referrer_email,
        round=case.round,
        meeting_at=case.meeting_at,
        screening_reason=case.screening_reason,
        recommendation=case.recommendation,
        recommendation_rationale=case.recommendation_rationale,
        chair_response=case.chair_response,
        decision=case.decision,
        decision_rationale=case.decision_rationale,
        decided_at=case.decided_at,
        decided_by=case.decided_by,
        lead_reviewers=list(case.lead_reviewers or []),
        panel_details=case.panel_details,
        deadlines={d.kind: d.due_at for d in case.deadlines if not d.subject},
        agencies=tuple((r.agency, r.status) for r in store.round_requests(case)),
        rapid_review=case.rapid_review,
        **_partners_sign_off(case),
    )


def _partners_sign_off(case: Case) -> dict[str, Any]:
    """Where the deciders answer each by their own hand (wt2023): the partners who agreed (their keys, in the
    order they answered) and whether any said the case may raise issues of national importance."""
    from sqlalchemy.orm import object_session

    from casework.store.decisions import partner_answers

    session = object_session(case)
    if session is None or case.decided_at is None:
        return {}
    answers = partner_answers(session, case=case)
    return {"signed_off_by": tuple(a.partner for a in answers if a.response == "agree"),
            "national_importance": any(a.national_importance for a in answers)}


def queue(session: Session, case: Case | None, messages: Sequence[Message], now: datetime) -> int:
    """Render and write messages to the outbox; a message already there (same key) is kept, not doubled."""
    added = 0
    for message in messages:
        rendered = render(message)
        added += store.enqueue_message(
            session, key=rendered.key, case=case, kind=rendered.kind, recipient=rendered.to,
            subject=rendered.subject, text=rendered.text, html=rendered.html,
            attachments=list(rendered.attachments), now=now,
        )
    return added


def ciginf1_form(partnership: Partnership) -> dict[str, str] | None:
    """The partnership's blank CIGINF1 (`ciginf1_template`) as an outbox attachment, or None when it names none."""
    path = partnership.ciginf1_template
    if path is None:
        return None
    return {"filename": path.name, "content_type": FORM_TYPES[path.suffix.lower()], "encoding": "base64",
            "content": base64.b64encode(path.read_bytes()).decode("ascii")}


def _known_agency(office: Office, code: str) -> None:
    """Refuse, naming the form's `agency` field, a code the partnership file does not list."""
    try:
        office.partnership.agency(code)
    except ValueError as unknown:
        raise ValueError(f"agency: {unknown}") from None


def submit_referral(office: Office, form: ReferralForm, *, now: datetime, actor: str) -> Outcome:
    """Record a CIGSCR1 referral under a new reference and queue the referral notices."""
    if form.agency is not None:  # an unknown agency is refused before anything is written
        _known_agency(office, form.agency)
    rules = office.rules()
    with office.sessions.begin() as session:
        case = store.record_referral(
            session, form=form, prefix=office.partnership.reference_prefix, rules=rules,
            calendar=office.calendar, now=now, actor=actor,
        )
        screeners = {c.email for c in step_people(office.partnership, rules, "screening", "decides")}
        messages = with_step_links(session, office, case, referral_notices(case_file(case), office.partnership, rules),
                                   step=LinkStep.screening, template="referral_notice", recipients=screeners, now=now)
        queued = queue(session, case, messages, now)
        return Outcome(case.reference, Stage(case.stage), queued)


def refuse_intake(office: Office, *, problem: str, run_name: str, run_id: str, now: datetime) -> int:
    """Tell the administrator, once, why the CIGSCR1 of an intake run was not recorded."""
    with office.sessions.begin() as session:
        return queue(session, None, intake_refusal(office.partnership, problem=problem, run_name=run_name,
                                                   run_id=run_id), now)


def record_serious_incident_notification(
    office: Office, reference: str, form: SeriousIncidentNotificationForm, *, document: tuple[str, bytes] | None,
    now: datetime, actor: str,
) -> Outcome:
    """Record the case's SIN (a document checked by its content, or text) and send it to Ofsted, the CIG
    chair, the business manager and the partnership chair, unless it was sent before (`form.sent_on`)."""
    attachment = document_attachment(*document) if document else None
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        rules = office.rules(case.regime)
        # wt2023: the text is kept; the notification is the local authority's to make (record_panel_notification)
        sent_on = None if rules.notifies_panel_at_referral else form.sent_on or office.calendar.local_date(now)
        store.record_serious_incident_notification(session, case=case, form=form, document=attachment,
                                                   sent_on=sent_on, now=now, actor=actor)
        messages = [] if form.sent_on else serious_incident_notification(case_file(case), office.partnership, rules)
        return Outcome(case.reference, Stage(case.stage), queue(session, case, messages, now))


def record_panel_notification(office: Office, reference: str, form: PanelNotificationForm, *, now: datetime,
                              actor: str) -> Outcome:
    """wt2023: record that the local authority made the serious incident notification through the Panel's online
    service (the day, who, the Panel's reference), meeting its 5-working-day deadline; the sweep's warnings and
    escalation about it stop. Refused, naming the field, under a rule set where the Panel is not notified so, or
    once recorded."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        rules = office.rules(case.regime)
        if "serious_incident_notice" not in rules.clocks:
            raise ValueError(f"reference: {case.reference} is under {rules.title}, whose {rules.term('incident_notice')} "
                             "is recorded with its text (the Serious Incident Notification form)")
        store.record_panel_notification(session, case=case, form=form, calendar=office.calendar, now=now, actor=actor)
        return Outcome(case.reference, Stage(case.stage))


def record_screening(office: Office, reference: str, form: ScreeningForm, *, now: datetime, actor: str) -> Outcome:
    """Accept or decline; a decline queues the reasons to the referrer."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        check_screening(case, form, office.rules(case.regime))
        store.record_screening(session, case=case, form=form, now=now, actor=actor)
        queued = 0
        if case.stage == Stage.declined:
            queued = queue(session, case, decline_notice(case_file(case), office.partnership, office.rules(case.regime)), now)
        return Outcome(case.reference, Stage(case.stage), queued)


def check_screening(case: Case, form: ScreeningForm, rules: RuleSet) -> None:
    """Refuse, naming the `outcome` field, to close a case the Panel is notified of (wt2023: a notified serious
    incident always gets a rapid review; only what is not a serious child safeguarding incident is closed, before any
    notification). The outcome's words are the rule set's terms `screening_accept` and `screening_decline`."""
    if form.outcome is not ScreeningOutcome.decline or not rules.notifies_panel_at_referral:
        return
    if store.panel_notified(case):
        raise ValueError(f"outcome: {case.reference}'s {rules.term('incident_notice')} is recorded as made; a notified "
                         f"case cannot be closed: choose '{rules.term('screening_accept')}'")
    if notification_owed(case.facts) is not None:
        raise ValueError(f"outcome: the referral of {case.reference} records a serious child safeguarding incident "
                         f"(the {rules.term('incident_notice')} is owed); it cannot be closed: choose "
                         f"'{rules.term('screening_accept')}'")


def list_and_request_information(office: Office, reference: str, *, now: datetime) -> Outcome:
    """List the case for the next meeting with time for returns, and queue CIGINF1 to the agencies asked.

    The first round asks every member agency, and the referrer, the business manager and the
    administrator are told the meeting's date; a "further information" round asks those the group named.
    Under a rule set with a rapid review meeting of its own (wt2023), every round is listed for the case's own
    meeting inside its window (`rescheduling.hold_rapid_review_meeting`), its members are invited, and the
    information is due the rule set's working days before it; a further-information round with no working day left
    in the window is listed for the next working day and escalated as a late meeting (`late_further_round`).
    """
    from casework.meetings.rescheduling import hold_rapid_review_meeting, late_further_round, rapid_review_invitation

    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        if not store.needs_listing(case):
            return Outcome(case.reference, Stage(case.stage))
        rules = office.rules(case.regime)
        own, due, late = rules.rapid_review is not None, None, []
        if own:
            was_at = case.meeting_at
            meeting, due, planned = hold_rapid_review_meeting(session, office, case, now=now)
            if case.round:
                late = late_further_round(session, office, case, meeting, was_at=was_at, now=now)
        else:
            meeting = meeting_for_listing(office.partnership.meetings, now, _meeting_exceptions(session))
        agencies = list(case.next_round_agencies or []) if case.round else [a.code for a in office.partnership.agencies]
        store.list_for_meeting(session, case=case, meeting=meeting, now=now)
        created = store.issue_requests(session, case=case, agencies=agencies, rules=rules, calendar=office.calendar,
                                       now=now, due=due)
        requests = [{"agency": r.agency, "due_at": r.due_at, "by_return": r.by_return} for r in created]
        links = {r.agency: return_link(session, office, case, r.agency, now=now) for r in created}
        listed = case_file(case)
        messages = (
            acceptance_notice(listed, office.partnership, rules)
            + listing_notices(listed, office.partnership, rules)
            + information_requests(listed, office.partnership, rules, requests, form=ciginf1_form(office.partnership),
                                   links=links)
        )
        if own:
            messages += rapid_review_invitation(session, office, case, meeting, due=due,
                                                deadline_day=planned.window.deadline_day, stamp=now) + late
        queued = queue(session, case, messages, now)
        return Outcome(case.reference, Stage(case.stage), queued)


def _meeting_exceptions(session: Session) -> dict[date, datetime | None]:
    from sqlalchemy import select

    from casework.store.tables import MeetingException

    return {e.scheduled_on: e.moved_to for e in session.scalars(select(MeetingException))}


def record_return(office: Office, reference: str, form: AgencyReturnForm, *, now: datetime, actor: str) -> Outcome:
    """Record one agency's CIGINF1 return (or nil return, or none by the meeting)."""
    _known_agency(office, form.agency)
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        store.record_return(session, case=case, form=form, now=now, actor=actor)
        return Outcome(case.reference, Stage(case.stage))


def record_recommendation(
    office: Office, reference: str, form: RecommendationForm, *, now: datetime, actor: str
) -> Outcome:
    """Record the group's recommendation; send it (CIGSUM1) to the independent chair, unless more information is needed.
    Refused (MeetingNotYetHeld, naming the meeting) before the meeting the case is listed for has begun."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        if case.stage == Stage.awaiting_recommendation and not case.recommendation:
            check_meeting_held(case.reference, case.meeting_at, now=now, zone=office.partnership.meetings.zone,
                               meeting_term=office.rules(case.regime).term("meeting"))
        record = rapid_review_record_of(form)  # wt2023: what the rapid review meeting records for the Panel
        if record:
            check_no_identities(record, *store.sealed_identities(case))
        store.record_recommendation(
            session, case=case, form=form, known_agencies=list(office.partnership.agency_by_code), now=now, actor=actor
        )
        if record:
            case.rapid_review = record
            store.audit(session, reference=case.reference, actor=actor, action="rapid review recorded for the Panel",
                        now=now, fields=sorted(record))
        queued = 0
        if form.outcome is not Recommendation.further_information:
            rules = office.rules(case.regime)
            deciders = office.partnership.deciders(rules.name)
            messages = with_step_links(
                session, office, case, recommendation_notice(case_file(case), office.partnership, rules),
                step=LinkStep.decision, template="recommendation", recipients={c.email for c in deciders.values()},
                partners={c.email: key for key, c in deciders.items()} if rules.deciding.decided_jointly else {},
                now=now)
            queued = queue(session, case, messages, now)
        return Outcome(case.reference, Stage(case.stage), queued)


def record_decision(office: Office, reference: str, form: DecisionForm, *, now: datetime, actor: str) -> Outcome:
    """Record the independent chair's decision and queue the Ofsted, National Panel and referrer notices,
    and the decision with its rationale to the CIG chair and the business manager."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        rules = office.rules(case.regime)
        store.record_decision(session, case=case, form=form, rules=rules, calendar=office.calendar, now=now, actor=actor)
        queued = _queue_decision(session, office, case, now)
        return Outcome(case.reference, Stage(case.stage), queued)


def _queue_decision(session: Session, office: Office, case: Case, now: datetime) -> int:
    """The decision's statutory notices, the referrer's and the decision's advice, to the outbox (once each)."""
    rules = office.rules(case.regime)
    decided = case_file(case)
    messages = decision_notices(decided, office.partnership, rules) + decision_advice(decided, office.partnership, rules)
    return queue(session, case, messages, now)


@dataclass(frozen=True)
class PartnerOutcome:
    """What one decider's answer did: kept, and whether it made the decision (the quorum agreed) or disagreed."""

    reference: str
    stage: Stage
    agreeing: int
    deciders: int
    decided: bool
    queued: int = 0


def record_partner_decision(office: Office, reference: str, partner: str, form: PartnerDecisionForm, *,
                            link_id: int | None, now: datetime, actor: str) -> PartnerOutcome:
    """Keep one decider's answer to the recommendation (wt2023: a safeguarding partner's, by their own link), once,
    in one transaction with its consequences: the link stops; a disagreement is escalated to the lead safeguarding
    partners (once a round); and when the rule set's quorum agrees, the case's decision is recorded as the chair's
    is (the case moves on, the notices queued once). Two answers at the same instant are kept one after the other
    (decision_store.hold_case: the case row locked, or SQLite's write lock taken, before anything is read), so the
    quorum is reached once. Raises AlreadyRecorded (the partner answered, or the decision is made) or NotAtThisStep;
    nothing is kept then."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        rules = office.rules(case.regime)
        deciders = office.partnership.deciders(rules.name)
        if partner not in deciders:
            raise ValueError(f"{partner} does not decide this case (its deciders: {', '.join(deciders)})")
        decision_store.hold_case(session, case=case)  # another answer at the same instant waits for this one
        _open_for_answers(case)
        decision_store.record_partner_answer(session, case=case, partner=partner, form=form, link_id=link_id,
                                             now=now, actor=actor)
        answers = [a for a in decision_store.partner_answers(session, case=case) if a.partner in deciders]
        agreeing = sum(a.response == PartnerResponse.agree for a in answers)
        if link_id is not None and (link := session.get(PersonalLink, link_id)) is not None:
            link_store.mark_link_used(session, link=link, now=now)
        queued = 0
        if form.response is PartnerResponse.disagree:
            queued += queue(session, case, partners_disagree(
                case_file(case), office.partnership, rules, partner=partner, rationale=form.rationale,
                answers=[(_organisation(office.partnership, a.partner), CHOICE_WORDS[a.response]) for a in answers]), now)
        decided = rules.deciding.quorum_reached(agreeing, len(deciders))
        if decided:
            decision = partners_decision(case, answers, office.partnership, rules)
            store.record_decision(session, case=case, form=decision, rules=rules, calendar=office.calendar, now=now,
                                  actor=actor)
            queued += _queue_decision(session, office, case, now)
        return PartnerOutcome(case.reference, Stage(case.stage), agreeing, len(deciders), decided, queued)


CHOICE_WORDS = {"agree": "agrees with the recommendation", "disagree": "disagrees with the recommendation"}


def _organisation(partnership: Partnership, partner: str) -> str:
    named = partnership.safeguarding_partners.get(partner)
    return named.organisation if named else partner.replace("_", " ")


def _open_for_answers(case: Case) -> None:
    if case.decision is not None:
        raise store.AlreadyRecorded(f"{case.reference}: the decision was already recorded ({case.decision}); nothing changed")
    if case.stage != Stage.awaiting_decision or not case.recommendation:
        raise store.NotAtThisStep(f"{case.reference} is {case.stage.replace('_', ' ')}, not waiting for the decision")


def partners_decision(case: Case, answers: Sequence[PartnerDecision], partnership: Partnership,
                      rules: RuleSet) -> DecisionForm:
    """The case's decision the deciders' agreeing answers make: the recommendation, affirmed, with each decider's
    rationale and what they said of national importance (the answers themselves stay in the case database)."""
    national = sum(bool(a.national_importance) for a in answers)
    lines = [f"{_organisation(partnership, a.partner)}: {a.rationale}" for a in answers]
    lines.append(f"National importance: {national} of {len(answers)} think the case may raise issues of national "
                 "importance for the Panel.")
    rationale = "\n\n".join(lines)
    if len(rationale) > MAX_TEXT:
        rationale = rationale[:MAX_TEXT - 1] + "…"
    decision = ReviewType(case.recommendation)
    return DecisionForm(response=ChairResponse.affirm, decision=decision, rationale=rationale,
                        decided_by=rules.term("deciders")[:120],
                        criteria_explanation=rationale if decision is not ReviewType.scr else None)


def record_publication(office: Office, reference: str, form: PublicationForm, *, now: datetime, actor: str) -> Outcome:
    """Record the publication of the case's review (date, link, learning shared, themes); it meets the
    publication deadline (`wt2023`: the LCSPR report within 6 months of initiation) and shows on the tracker."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        store.record_publication(session, case=case, form=form, calendar=office.calendar, now=now, actor=actor)
        return Outcome(case.reference, Stage(case.stage))


def refuse_input(office: Office, reference: str, step: str, problem: str, *, now: datetime,
                 values: dict[str, Any] | None = None) -> None:
    """An input arrived that cannot be used; record why, so the next request for it shows the reason,
    and keep what was typed (sealed) to fill the next form in with."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        store.refuse_input(session, case=case, step=step, problem=problem, now=now, values=values)


def finish_case(office: Office, reference: str, *, now: datetime) -> Outcome:
    """Once every statutory notice of the decision is sent, the case is decided (closed unless a
    review was initiated). Until then it stays `notifying`, its notice deadlines open, so the
    tracker and the sweep keep showing what is owed; the sweep finishes it after the mail goes.
    """
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        rules = office.rules(case.regime)
        sent = {m.kind: m.sent_at for m in store.messages_for(session, case_id=case.id) if m.status == "sent"}
        store.meet_notice_deadlines(case, rules=rules, sent={name: at for name, at in sent.items() if at})
        from casework.review.rules import notice_waits_for_reviewer

        owed = [name for name, notice in rules.notices.items() if notice.sent_at == "decision" and not sent.get(name)
                and not notice_waits_for_reviewer(name, case.decision, case.lead_reviewers)]
        if case.stage == Stage.notifying and not owed:
            store.finish_case(session, case=case, now=now)
        return Outcome(case.reference, Stage(case.stage))


def finish_notified_cases(office: Office, *, now: datetime) -> list[str]:
    """Finish the cases whose decision notices went out after their run ended (a mail outage)."""
    from sqlalchemy import select

    with office.sessions() as session:
        waiting = session.scalars(select(Case.reference).where(Case.stage == Stage.notifying)).all()
    return [r for r in waiting if finish_case(office, r, now=now).stage is Stage.decided]


# --- personal links to the secure website ------------------------------------------------------

def return_link(session: Session, office: Office, case: Case, agency: str, *, now: datetime) -> str:
    """A new personal link for `agency` to its CIGINF1 request of the case's current round, valid until the
    meeting (or, for a case not yet listed, 30 days); its address, for the email that carries it."""
    contact = office.partnership.agency(agency).contact
    expires_at = case.meeting_at or now + timedelta(days=30)
    token = link_store.issue_link(session, case=case, step=LinkStep.information_return, recipient=contact.email,
                                  agency=agency, round=case.round, meeting_on=case.meeting_on, expires_at=expires_at,
                                  now=now)
    return link_url(office.settings.website_url, token)


def with_step_links(session: Session, office: Office, case: Case, messages: list[Message], *, step: LinkStep,
                    template: str, recipients: set[str], now: datetime,
                    partners: dict[str, str] | None = None) -> list[Message]:
    """The messages, each of `template` to one of `recipients` (and not yet queued) carrying a new personal
    link to the case's `step` on the secure website, valid until the step's deadline (else 30 days); a link to an
    address of `partners` is that decider's own (the partner's key on the link: its answer is theirs alone)."""
    from sqlalchemy import select

    from casework.store.tables import OutboxMessage

    queued = set(session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_([m.key for m in messages]))))
    due = next((d.due_at for d in case.deadlines if d.kind == "decision" and not d.subject), None)
    expires_at = max(due or now, now + timedelta(days=30))
    linked = []
    for message in messages:
        if message.template == template and message.to.email in recipients and message.key not in queued:
            token = link_store.issue_link(session, case=case, step=step, recipient=message.to.email, agency=None,
                                          round=case.round, meeting_on=case.meeting_on, expires_at=expires_at, now=now,
                                          partner=(partners or {}).get(message.to.email))
            message = dataclasses.replace(message, context=message.context | {"link": link_url(office.settings.website_url, token)})
        linked.append(message)
    return linked


def with_return_link(session: Session, office: Office, case: Case, message: Message, *, now: datetime) -> Message:
    """A reminder or chase to an agency about its return, carrying a fresh personal link to the request."""
    link = return_link(session, office, case, str(message.context["subject"]), now=now)
    return dataclasses.replace(message, context=message.context | {"link": link})


def _outstanding_request(case: Case, agency: str):  # type: ignore[no-untyped-def]
    request = next((r for r in store.round_requests(case) if r.agency == agency), None)
    if request is None:
        asked = ", ".join(r.agency for r in store.round_requests(case)) or "none"
        raise ValueError(f"agency: {agency} was not asked for information in this round (asked: {asked})")
    if request.status != "outstanding":
        raise store.AlreadyRecorded(f"{case.reference}: the return from {agency} was already recorded ({request.status})")
    return request


def resend_return_link(office: Office, reference: str, agency: str, *, now: datetime, actor: str) -> Outcome:
    """Withdraw the agency's links to its outstanding CIGINF1 request and email it a new one."""
    _known_agency(office, agency)
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        request = _outstanding_request(case, agency)
        link_store.revoke_links(session, case=case, step=LinkStep.information_return, agency=agency, now=now, actor=actor)
        link = return_link(session, office, case, agency, now=now)
        number = len(link_store.issued_links(session, case=case, step=LinkStep.information_return, agency=agency))
        store.audit(session, reference=case.reference, actor=actor, action="link resent", now=now, agency=agency,
                    round=case.round)
        messages = link_resent(case_file(case), office.partnership, office.rules(case.regime), agency=agency, link=link,
                               due_at=request.due_at, number=number)
        return Outcome(case.reference, Stage(case.stage), queue(session, case, messages, now))


def revoke_case_links(office: Office, reference: str, *, agency: str | None, now: datetime, actor: str) -> int:
    """Withdraw the case's live personal links (one agency's, or all); how many."""
    if agency is not None:
        _known_agency(office, agency)
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        return link_store.revoke_links(session, case=case, agency=agency, now=now, actor=actor)


def acknowledge_return(office: Office, reference: str, *, link_id: int, form: AgencyReturnForm,
                       documents: Sequence[dict[str, str]], now: datetime, actor: str) -> Outcome:
    """After an agency's return is recorded through its link: the link (and the agency's other links to
    the request) stop, its uploaded documents are kept sealed with the return, the submission is
    audited, and the agency's receipt and the administrator's notice are queued."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        link = session.get(PersonalLink, link_id)
        if link is None:
            raise LookupError(f"link {link_id} is gone")
        link_store.mark_link_used(session, link=link, now=now)
        link_store.save_return_documents(session, case=case, agency=form.agency, round=link.round,
                                         documents=documents, now=now)
        store.audit(session, reference=case.reference, actor=actor, action="return submitted by link", now=now,
                    link=link.id, agency=form.agency, status=form.status, documents=len(documents), round=link.round)
        messages = return_receipts(case_file(case), office.partnership, office.rules(case.regime), agency=form.agency,
                                   status=form.status, documents=[d["filename"] for d in documents], received_at=now)
        return Outcome(case.reference, Stage(case.stage), queue(session, case, messages, now))


# --- the Panel's reply to the rapid review (wt2023) ------------------------------------------------------

def record_panel_reply(office: Office, reference: str, form: PanelReplyForm, *, now: datetime, actor: str) -> Outcome:
    """Record the Panel's reply to the case's rapid review: what it answered and when (on the tracker; a national
    review shows there), its reasons and who recorded it (sealed), audited; the reply's clock is met, so no
    reminder follows, unless the Panel asks for more: the clock then starts again from the day it asked, and the
    business manager is reminded once more if no further reply is recorded by then. A national review stops the
    case's review, if one is under way (`stop_review_for_national_review`). Refused (ValueError naming the field)
    when the case's rule set sends no rapid review to the Panel or no decision is made yet; AlreadyRecorded when a
    reply is recorded and it did not ask for more."""
    from casework.referral.panel import PanelReply

    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        rules = office.rules(case.regime)
        replies = [n.reply_clock for n in rules.notices.values() if n.reply_clock]
        if not replies:
            raise ValueError(f"reference: {case.reference} is under {rules.title}, whose Panel is sent no rapid review "
                             "to reply to")
        if case.decided_at is None:
            raise store.NotAtThisStep(f"reference: {case.reference} has no {rules.term('decision')} yet: the rapid "
                                      "review is sent to the Panel with it")
        if case.panel_reply is not None and case.panel_reply != PanelReply.asks_for_more.value:
            raise store.AlreadyRecorded(f"{case.reference}: the Panel's reply is already recorded ({case.panel_reply}, "
                                        f"{case.panel_reply_on.isoformat() if case.panel_reply_on else '-'})")
        if form.reasons:
            check_no_identities({"reasons": form.reasons}, *store.sealed_identities(case))
        case.panel_reply = form.reply.value
        case.panel_reply_on = form.received_on
        case.panel_reply_detail = {"reasons": form.reasons, "recorded_by": form.recorded_by}
        case.updated_at = now
        for kind in replies:
            store.meet_deadline(case, kind=kind, now=now)
            if form.reply is PanelReply.asks_for_more:  # the reminder restarts from the day the Panel asked
                store.restart_reply_clock(session, case=case, rules=rules, kind=kind, since=form.received_on,
                                          calendar=office.calendar)
        store.audit(session, reference=case.reference, actor=actor, action=f"Panel's reply recorded: {form.reply.value}",
                    now=now, received_on=form.received_on.isoformat(), national_review=form.reply is PanelReply.national_review)
        queued = 0
        if form.reply is PanelReply.national_review:
            queued = stop_review_for_national_review(session, office, case, received_on=form.received_on, now=now,
                                                     actor=actor)
        return Outcome(case.reference, Stage(case.stage), queued)


def stop_review_for_national_review(session: Session, office: Office, case: Case, *, received_on: date,
                                    now: datetime, actor: str) -> int:
    """The Panel will carry out a national review, and the local decision follows the Panel's: the case's review
    (its LCSPR), while not yet published, not published or closed, stops (its clocks with it) and closes with its
    case, and the business manager, the safeguarding partners and the lead reviewers are told once. The review's run,
    suspended at its wait, finishes when it is next woken (flows.review.wake_review_run, by the door that recorded
    the reply, else the sweep's catch-up). Nothing happens to a case with no review, or whose review is finished.
    Returns the messages queued."""
    from casework.review import store as review_store
    from casework.review.messages import national_review_notices
    from casework.review.rules import ReviewStage, stops_for_national_review

    review = review_store.find_review(session, case=case)
    if review is None or not stops_for_national_review(ReviewStage(review.stage)):
        return 0
    clocks = review_store.record_national_review(session, case=case, review=review, received_on=received_on, now=now,
                                                 actor=actor)
    reviewers = [Contact(name=r["name"], email=r["email"]) for r in review.reviewers if r.get("email")]
    messages = national_review_notices(case_file(case), office.partnership, office.rules(case.regime),
                                       received_on=received_on, reviewers=reviewers, clocks=clocks)
    queued = queue(session, case, messages, now)
    review_store.close_if_done(session, case=case, review=review, now=now)
    return queued
