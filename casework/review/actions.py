"""Each step of a review in one short transaction: the change, its audit event and the messages it
causes (written to the outbox together, under stable keys). Safe to run twice.

Used by the review flow's tasks and by `cig review` alike; nothing here imports Prefect.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.documents import document_attachment
from casework.links import LinkStep, link_url
from casework.referral.actions import _known_agency, case_file, queue
from casework.referral.messages import Message
from casework.learning.actions import learning_write_up
from casework.learning.store import plan_impact_review
from casework.office import Office
from casework.review import store as review_store
from casework.review.forms import (
    AppointmentForm, AvailabilityForm, EngagementForm, FamilyInvolvementForm, FullReportForm, GroupMemberForm,
    MilestoneForm, NonPublicationForm, PublicationDelayForm, RatificationForm, ReviewDocumentForm,
    ReviewPublicationForm, TermsForm,
)
from casework.review.messages import (
    ReviewFile, appointment_notices, commissioning_notices, drafts_ready_notice, full_report_notices,
    non_publication_notices, publication_delay_notices, publication_notices, ratification_notice, ratifying_contacts,
    signing_partners,
)
from casework.review.rules import (
    RatificationResult, Ratifier, ReviewStage, next_ratifier, signed_off_jointly, starts_review,
)
from casework.store import cases as store
from casework.store import decisions as decision_store
from casework.store import links as link_store
from casework.store.tables import Case, OutboxMessage, PersonalLink, Review
from config.partnership import Contact
from config.review_plans import load_review_plans, plan_for


@dataclass(frozen=True)
class ReviewOutcome:
    """What a review step did: the review's stage after it, whether the case is closed, messages queued."""

    reference: str
    stage: ReviewStage
    closed: bool = False
    queued: int = 0


REVIEW_LINK_DAYS = 550  # a review's task-list link: past the report's 12 months on the website; each reminder brings a new one
ENGAGEMENT_LINK_DAYS = 180  # an agency's engagement link: it stops once the engagement is confirmed
DOCUMENT_WORDS = {"draft_report": "the draft report and findings", "action_plans": "the action plans",
                  "final_report": "the final report"}
RATIFICATION_LINK_DAYS = 180  # a ratifying body's link: it stops once its outcome is recorded, by any door


def review_link(session: Session, office: Office, case: Case, recipient: str, *, now: datetime) -> str:
    """A new personal link for the business manager or a lead reviewer (`recipient`) to the review's task list;
    its address. It opens while the review is open (and its report's availability is owed), until revoked."""
    token = link_store.issue_link(session, case=case, step=LinkStep.review, recipient=recipient, agency=None,
                                  round=0, meeting_on=None, expires_at=now + timedelta(days=REVIEW_LINK_DAYS), now=now)
    return link_url(office.settings.website_url, token)


def engagement_link(session: Session, office: Office, case: Case, agency: str, *, now: datetime) -> str:
    """A new personal link for `agency`'s contact to confirm its engagement with the review; its address."""
    token = link_store.issue_link(session, case=case, step=LinkStep.engagement,
                                  recipient=office.partnership.agency(agency).contact.email, agency=agency, round=0,
                                  meeting_on=None, expires_at=now + timedelta(days=ENGAGEMENT_LINK_DAYS), now=now)
    return link_url(office.settings.website_url, token)


def with_ratification_links(session: Session, office: Office, case: Case, messages: list[Message], *, body: Ratifier,
                            round: int, now: datetime) -> list[Message]:
    """The messages, each to `body`'s contact and not yet queued carrying a new personal link to the ratification
    page (`LinkStep.ratification`). Its `round` is the number of outcomes recorded before it: the body it is for
    is the one next after them (website.ratification_pages reads it so), and it is used up by the next outcome
    `body` records. Where each partner signs off by their own hand (wt2023), a link is that partner's own (the
    partner's key on it: its answer is theirs alone)."""
    queued = set(session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_([m.key for m in messages]))))
    rules = office.rules(case.regime)
    ratifiers = {c.email.casefold() for c in ratifying_contacts(office.partnership, rules, body)}
    partners = {c.email.casefold(): key for key, c in signing_partners(office.partnership, rules).items()} \
        if body is Ratifier.safeguarding_partners and signed_off_jointly(rules) else {}
    linked = []
    for message in messages:
        if message.key not in queued and message.to.email.casefold() in ratifiers:
            token = link_store.issue_link(session, case=case, step=LinkStep.ratification, recipient=message.to.email,
                                          agency=None, round=round, meeting_on=None,
                                          expires_at=now + timedelta(days=RATIFICATION_LINK_DAYS), now=now,
                                          partner=partners.get(message.to.email.casefold()))
            message = dataclasses.replace(message, context=message.context | {
                "link": link_url(office.settings.website_url, token)})
        linked.append(message)
    return linked


def review_holders(case: Case) -> set[str]:
    """The lead reviewers of the case's review appointed with an email address (by email): with the business
    manager, who hold a link to its task list."""
    review = getattr(case, "review", None)
    return {r["email"] for r in (review.reviewers if review is not None else []) if r.get("email")}


def with_review_links(session: Session, office: Office, case: Case, messages: list[Message], *,
                      review_holders: set[str], now: datetime) -> list[Message]:
    """The messages, each not yet queued carrying a new personal link: to the review's task list for the
    business manager and the lead reviewers (`review_holders`, by email), to the engagement page for an
    agency asked to confirm its engagement (the commencement email, its chase). Others are left as they are."""
    queued = set(session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_([m.key for m in messages]))))
    agencies = {a.contact.email.casefold(): a.code for a in office.partnership.agencies}
    business_manager = office.partnership.contacts.business_manager.email.casefold()
    linked = []
    for message in messages:
        address = message.to.email.casefold()
        if message.key in queued:
            pass
        elif message.template == "review_commencement" and address in agencies or message.template == \
                "review_reminder" and message.context.get("kind") == "review_engagement" and not message.context.get("copy_for"):
            agency = str(message.context.get("subject") or agencies[address])  # a chase names its agency
            message = dataclasses.replace(message, context=message.context | {
                "link": engagement_link(session, office, case, agency, now=now)})
        elif address in {holder.casefold() for holder in review_holders} | {business_manager}:
            message = dataclasses.replace(message, context=message.context | {
                "link": review_link(session, office, case, message.to.email, now=now)})
        linked.append(message)
    return linked


def _outcome(reference: str, review, case, queued: int = 0) -> ReviewOutcome:  # type: ignore[no-untyped-def]
    return ReviewOutcome(reference, ReviewStage(review.stage), case.status == "closed", queued)


def commission_review(office: Office, reference: str, *, now: datetime, actor: str = "system") -> ReviewOutcome:
    """Commission the review the case's decision initiated: lay out its plan, ask each agency to confirm its
    engagement, tell the business manager and the members. A second call changes and sends nothing."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        if not starts_review(case.decision):
            raise store.NotAtThisStep(f"{reference}: its decision ({case.decision or 'none yet'}) initiates no review")
        plans = load_review_plans()
        plan = plan_for(case.decision or "", plans, ruleset=case.regime)
        review, new = review_store.commission_review(
            session, case=case, plan=plan, agencies=[a.code for a in office.partnership.agencies],
            calendar=office.calendar, now=now, actor=actor)
        queued = 0
        if new:
            rules = office.rules(case.regime)
            engagement = [d.due_at for d in case.deadlines if d.kind == "review_engagement"]
            file = ReviewFile(review_type=review.review_type, plan_title=plan.title,
                              commissioned_on=review.commissioned_on,
                              milestones=[(m.label, m.target_on) for m in review.milestones],
                              engagement_due_at=min(engagement) if engagement else None)
            messages = with_review_links(session, office, case,
                                         commissioning_notices(case_file(case), file, office.partnership, rules),
                                         review_holders={office.partnership.contacts.business_manager.email}, now=now)
            queued = queue(session, case, messages, now)
        return _outcome(reference, review, case, queued)


def attach_review_run(office: Office, reference: str, flow_run_id: str, *, now: datetime) -> None:
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        review_store.attach_review_run(session, case=case, review=review_store.get_review(session, case=case),
                                       flow_run_id=flow_run_id, now=now)


def appoint_reviewer(office: Office, reference: str, form: AppointmentForm, *, now: datetime, actor: str) -> ReviewOutcome:
    """Record a lead reviewer; tell the business manager and the independent chair, and for an SCR the National
    Panel (the notice that waited for the appointment, within 14 days of the decision)."""
    if form.agency is not None:
        _known_agency(office, form.agency)  # refused naming the field
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        review = review_store.get_review(session, case=case)
        panel_owed = review_store.record_appointment(session, case=case, review=review, form=form, now=now, actor=actor)
        rules = office.rules(case.regime)
        messages = appointment_notices(case_file(case), [r["name"] for r in review.reviewers], office.partnership,
                                       rules, panel_owed=panel_owed,
                                       reviewer=Contact(name=form.reviewer, email=form.email) if form.email else None)
        messages = with_review_links(session, office, case, messages, now=now, review_holders={
            office.partnership.contacts.business_manager.email, *([form.email] if form.email else [])})
        return _outcome(reference, review, case, queue(session, case, messages, now))


def confirm_engagement(office: Office, reference: str, form: EngagementForm, *, now: datetime, actor: str) -> ReviewOutcome:
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        review = review_store.get_review(session, case=case)
        review_store.record_engagement(session, case=case, review=review, form=form, now=now, actor=actor)
        return _outcome(reference, review, case)


def add_member(office: Office, reference: str, form: GroupMemberForm, *, now: datetime, actor: str) -> ReviewOutcome:
    _known_agency(office, form.agency)
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        review = review_store.get_review(session, case=case)
        review_store.add_group_member(session, case=case, review=review, form=form, now=now, actor=actor)
        return _outcome(reference, review, case)


def record_milestone(office: Office, reference: str, form: MilestoneForm, *, now: datetime, actor: str) -> ReviewOutcome:
    """A milestone done or re-planned; once the review is published and this was the last, the case closes."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        review = review_store.get_review(session, case=case)
        review_store.record_milestone(session, case=case, review=review, form=form, now=now, actor=actor,
                                      calendar=office.calendar)
        if ReviewStage(review.stage) in (ReviewStage.published, ReviewStage.not_published):
            review_store.close_if_done(session, case=case, review=review, now=now)
        return _outcome(reference, review, case)


def record_terms(office: Office, reference: str, form: TermsForm, *, now: datetime, actor: str) -> ReviewOutcome:
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        review = review_store.get_review(session, case=case)
        review_store.record_terms(session, case=case, review=review, form=form, now=now, actor=actor)
        return _outcome(reference, review, case)


def record_family(office: Office, reference: str, form: FamilyInvolvementForm, *, now: datetime, actor: str) -> ReviewOutcome:
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        review = review_store.get_review(session, case=case)
        review_store.record_family(session, case=case, review=review, form=form, now=now, actor=actor)
        return _outcome(reference, review, case)


def record_ratification(office: Office, reference: str, form: RatificationForm, *, now: datetime,
                        actor: str) -> ReviewOutcome:
    """The drafts before the CIG, the executive group or the board; the business manager is told each outcome.
    Where the safeguarding partners sign off each by their own hand (wt2023), their sign-off is theirs
    (`record_partner_sign_off`), refused here naming the `by` field."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        review = review_store.get_review(session, case=case)
        rules = office.rules(case.regime)
        if form.by is Ratifier.safeguarding_partners and signed_off_jointly(rules):
            raise ValueError("by: the safeguarding partners sign off each from their own link, in the email that "
                             "tells them the drafts are ready; their answers so far are on the review's task list")
        queued = _record_outcome(session, office, case, review, form, now=now, actor=actor)
        return _outcome(reference, review, case, queued)


def _record_outcome(session: Session, office: Office, case: Case, review: Review, form: RatificationForm, *,
                    now: datetime, actor: str) -> int:
    """A body's outcome on the drafts and what it causes, in the caller's transaction: the business manager told,
    the next body told the drafts are ready (with its links), and once the last signs off, the learning the
    training officer's and the full report's clock (wt2023). Returns the messages queued."""
    after = review_store.record_ratification(session, case=case, review=review, form=form, now=now, actor=actor)
    plan_impact_review(session, case=case, review=review, calendar=office.calendar,  # the action plans' review
                       months=office.partnership.reminders.impact_review_months)
    messages = ratification_notice(case_file(case), office.partnership, office.rules(case.regime), by=form.by,
                                   result=form.result.value, on=form.on, comments=form.comments,
                                   number=len(review.ratifications), next_body=after)
    if after is not None and after is not form.by:  # the next body is told the drafts are ready, with its link
        messages = with_ratification_links(session, office, case, messages, body=after,
                                           round=len(review.ratifications), now=now)
    if after is None and form.result.value == "ratified":  # signed off: the learning is the training officer's
        messages += learning_write_up(session, office, case, review, ratified_on=form.on, now=now)
        review_store.plan_full_report(session, case=case, rules=office.rules(case.regime), calendar=office.calendar)
    return queue(session, case, messages, now)


@dataclass(frozen=True)
class PartnerSignOff:
    """What one partner's answer on the drafts did: kept, and whether it signed them off (the quorum agreed) or
    returned them with comments."""

    reference: str
    stage: ReviewStage
    signed: int  # the partners who signed off this round, this one included
    signers: int
    signed_off: bool
    returned: bool
    queued: int = 0


def record_partner_sign_off(office: Office, reference: str, partner: str, form: RatificationForm, *,
                            link_id: int | None, now: datetime, actor: str, round: int | None = None) -> PartnerSignOff:
    """Keep one safeguarding partner's answer on the drafts (wt2023, from their own link): signed off, or returned
    with comments; once per partner and round, in one transaction with its consequences: the link stops; a return
    returns the drafts at once (recorded as the partners' outcome, as a board's return is, the business manager told
    with the comments); and when the rule set's `sign_off` quorum has signed off, the sign-off is recorded once (its
    day the last answer's). Answers at the same instant are kept one after the other (decision_store.hold_case), so
    the sign-off and its notices happen once. `round` (a link's: the outcomes recorded before it was issued), when
    given, must still be the drafts' round. Raises AlreadyRecorded (the partner answered this round, or the drafts
    are signed off) or NotAtThisStep (not at sign-off, or the drafts returned since); nothing is kept then."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        decision_store.hold_case(session, case=case)  # another answer at the same instant waits for this one
        review = review_store.get_review(session, case=case)
        session.refresh(review)
        rules = office.rules(case.regime)
        signers = signing_partners(office.partnership, rules)
        if partner not in signers or not signed_off_jointly(rules):
            raise ValueError(f"{partner} does not sign off this review (its partners: {', '.join(signers) or 'none'})")
        history = review_store.ratification_history(review)
        if next_ratifier(history, review_store.signing_bodies(case)) is None:
            raise store.AlreadyRecorded(f"{reference}: the drafts are already signed off; nothing changed")
        if ReviewStage(review.stage) not in (ReviewStage.under_way, ReviewStage.ratifying):
            raise store.NotAtThisStep(f"{reference}: its review is {review.stage.replace('_', ' ')}, not at sign-off")
        if round is not None and round != len(history):
            raise store.NotAtThisStep(f"{reference}: the drafts were returned with comments since; the revised drafts "
                                      "come with a new link")
        round = len(history)
        decision_store.keep_partner_answer(session, case=case, step=decision_store.SIGN_OFF, round=round,
                                           partner=partner, response=form.result.value, rationale=form.comments or "",
                                           national_importance=False, link_id=link_id, now=now, actor=actor)
        if link_id is not None and (link := session.get(PersonalLink, link_id)) is not None:
            link_store.mark_link_used(session, link=link, now=now)
        answers = [a for a in decision_store.partner_answers(session, case=case, round=round,
                                                             step=decision_store.SIGN_OFF) if a.partner in signers]
        signed = sum(a.response == RatificationResult.ratified.value for a in answers)
        returned = form.result is RatificationResult.returned
        signed_off = not returned and rules.step("sign_off").quorum_reached(signed, len(signers))
        queued = 0
        if returned or signed_off:
            outcome = form.model_copy(update={"by": Ratifier.safeguarding_partners, "comments": (
                f"{partner_name(office, partner)}: {form.comments}" if returned else None)})
            queued = _record_outcome(session, office, case, review, outcome, now=now, actor=actor)
        return PartnerSignOff(reference, ReviewStage(review.stage), signed, len(signers), signed_off, returned, queued)


def partner_name(office: Office, partner: str) -> str:
    """The organisation a safeguarding partner's key names (its key in words when the file names no such partner)."""
    named = office.partnership.safeguarding_partners.get(partner)
    return named.organisation if named else partner.replace("_", " ")


def publish_review(office: Office, reference: str, form: ReviewPublicationForm, *, now: datetime,
                   actor: str) -> ReviewOutcome:
    """Publication with the partnership's response: the members and business manager are told; the case closes
    if nothing of the review is outstanding."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        review = review_store.get_review(session, case=case)
        until = review_store.record_review_publication(session, case=case, review=review, form=form,
                                                       calendar=office.calendar, now=now, actor=actor)
        messages = publication_notices(case_file(case), office.partnership, office.rules(case.regime),
                                       published_on=form.published_on, link=form.link,
                                       response_link=form.response_link, available_until=until)
        queued = queue(session, case, messages, now)
        review_store.close_if_done(session, case=case, review=review, now=now)
        return _outcome(reference, review, case, queued)


def record_non_publication(office: Office, reference: str, form: NonPublicationForm, *, now: datetime,
                           actor: str) -> ReviewOutcome:
    """The partnership decided not to publish the ratified final report: the business manager and the members
    are told why, and the National Panel too where the rule set asks it (wt2015: an SCR); the case closes if
    nothing of the review is outstanding (the review's run, waiting for publication, finds the outcome recorded
    when it next resumes, and finishes)."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        review = review_store.get_review(session, case=case)
        review_store.record_non_publication(session, case=case, review=review, form=form, calendar=office.calendar,
                                            now=now, actor=actor)
        messages = non_publication_notices(case_file(case), office.partnership, office.rules(case.regime),
                                           decided_on=form.decided_on, decided_by=form.decided_by,
                                           reason=form.reason, improvements_link=form.improvements_link,
                                           full_report_sent_on=review_store.full_report_sent_on(case, office.calendar))
        queued = queue(session, case, messages, now)
        review_store.close_if_done(session, case=case, review=review, now=now)
        return _outcome(reference, review, case, queued)


def upload_review_document(office: Office, reference: str, form: ReviewDocumentForm, *, filename: str, data: bytes,
                           now: datetime, actor: str) -> ReviewOutcome:
    """Keep a lead reviewer's draft or final report, checked by its content as a return's CIGINF1 is (PDF, Word
    or ODT; DocumentRefused naming the `document` field otherwise), sealed; nothing is kept when refused."""
    document = document_attachment(filename, data, field="document")
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        review = review_store.get_review(session, case=case)
        review_store.save_review_document(session, case=case, review=review, form=form, document=document, now=now,
                                          actor=actor)
        return _outcome(reference, review, case, queue(session, case, drafts_ready(session, office, case, review,
                                                                                   now=now), now))


def drafts_ready(session: Session, office: Office, case: Case, review: Review, *, now: datetime) -> list[Message]:
    """Once drafts are uploaded, the body they go to next (the CIG first, or a body that returned them) is told
    they are ready, with its link to the ratification page; nothing when that body already holds a link for this
    round (the executive group and the board get theirs when the body before them ratifies)."""
    history = review_store.ratification_history(review)
    body = next_ratifier(history, review_store.signing_bodies(case))
    if body is None or ReviewStage(review.stage) not in (ReviewStage.under_way, ReviewStage.ratifying):
        return []
    if any(link.round == len(history) for link in link_store.issued_links(session, case=case,
                                                                           step=LinkStep.ratification)):
        return []
    kinds = [d.kind for d in review_store.review_documents(session, case=case)]
    documents = [DOCUMENT_WORDS[kind] for kind in DOCUMENT_WORDS if kind in kinds]  # a file's name may name someone
    messages = drafts_ready_notice(case_file(case), office.partnership, office.rules(case.regime), body=body,
                                   documents=documents, number=len(history))
    return with_ratification_links(session, office, case, messages, body=body, round=len(history), now=now)


def record_availability(office: Office, reference: str, form: AvailabilityForm, *, now: datetime,
                        actor: str) -> ReviewOutcome:
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        review = review_store.get_review(session, case=case)
        review_store.record_availability(session, case=case, review=review, form=form, now=now, actor=actor)
        return _outcome(reference, review, case)


def close_review(office: Office, reference: str, *, now: datetime) -> ReviewOutcome:
    """Close the review and its case if it is published and nothing is outstanding."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        review = review_store.get_review(session, case=case)
        review_store.close_if_done(session, case=case, review=review, now=now)
        return _outcome(reference, review, case)




def send_full_report(office: Office, reference: str, form: FullReportForm, *, now: datetime,
                     actor: str) -> ReviewOutcome:
    """Working Together 2023: the full final report (the latest uploaded) goes to the Panel and the Secretary of
    State, with the publication date, at least 7 working days before it; refused (naming the earliest allowed
    publication date) when the date is sooner, and refused before the partners' sign-off, without a final report,
    or when the report has gone already."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        review = review_store.get_review(session, case=case)
        rules = office.rules(case.regime)
        report = review_store.record_full_report_sent(session, case=case, review=review, form=form, rules=rules,
                                                      calendar=office.calendar, now=now, actor=actor)
        messages = full_report_notices(case_file(case), office.partnership, rules, publication_on=form.publication_on,
                                       report=report, sent_on=office.calendar.local_date(now))
        return _outcome(reference, review, case, queue(session, case, messages, now))


def tell_publication_delay(office: Office, reference: str, form: PublicationDelayForm, *, now: datetime,
                           actor: str) -> ReviewOutcome:
    """Working Together 2023: the Panel and the Secretary of State are told that publication is delayed, with the
    reasons (each delay told once; a later delay is told again)."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        review = review_store.get_review(session, case=case)
        rules = office.rules(case.regime)
        number = review_store.record_publication_delay(session, case=case, review=review, form=form, rules=rules,
                                                       now=now, actor=actor)
        messages = publication_delay_notices(case_file(case), office.partnership, rules, reasons=form.reasons,
                                             expected_on=form.expected_on, number=number)
        return _outcome(reference, review, case, queue(session, case, messages, now))
