"""What an action's named lead, the agency's CIG member, the business manager and the professional development
committee do by personal link on the secure website, each in one short transaction (the change, its audit event
and its messages together, under stable keys). Nothing here imports Prefect or reads the clock.

- the personal links the action's emails carry (casework.links: `action` for the named lead, one action;
  `agency_actions` for the agency's CIG member; `impact_review` for the committee), a fresh one in each email;
- the lead's progress, the action done with its evidence (text and files, checked and sealed), a new target
  date asked for with a reason, which the business manager accepts or declines;
- what the action's page shows: the action, its target, its history and its evidence files.

Recording an action done and accepting a new date go through casework.learning.store.update_action, as
`cig action update` does; the committee's outcome through record_outcomes, as `cig learning outcome` does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.documents import document_attachment
from casework.forms import check_no_identities
from casework.learning import store as learning_store
from casework.learning.actions import ActionView, action_view
from casework.learning.messages import target_date_message
from casework.referral.messages import Message
from casework.learning.forms import (
    ActionProgressForm, ActionUpdateForm, SetStatus, TargetDateDecisionForm, TargetDateRequestForm, TargetDecision,
)
from casework.learning.rules import ActionStatus, plans_ratified_on
from casework.links import LinkStep, link_url
from casework.office import Office
from casework.referral.actions import queue
from casework.review import store as review_store
from casework.review.actions import review_link
from casework.store import cases as store
from casework.store import links as link_store
from casework.store.cases import AlreadyRecorded
from casework.store.tables import ActionDocument, ActionUpdate, Case, LearningAction, OutboxMessage, PersonalLink, Review
from config.partnership import Contact

ACTION_LINK_DAYS = 550  # past a 6-month review and a year of re-planning; each email about the action brings a new one
TARGET_REQUEST = "target_request"  # the kind of a learning record: a new target date asked for, and its answer
MAX_EVIDENCE_FILES = 5


# --- the links the emails carry -------------------------------------------------------------------

def _issue(session: Session, office: Office, case: Case, step: LinkStep, recipient: str, agency: str | None,
           number: int, now: datetime) -> str:
    token = link_store.issue_link(session, case=case, step=step, recipient=recipient, agency=agency, round=number,
                                  meeting_on=None, expires_at=now + timedelta(days=ACTION_LINK_DAYS), now=now)
    return link_url(office.settings.website_url, token)


def with_action_links(session: Session, office: Office, case: Case, messages: Sequence[Message], *,
                      now: datetime) -> list[Message]:
    """The action emails, each not yet queued carrying a new personal link: the named lead's (the action is
    theirs, a reminder, a chase) to the action's page; the chase's copy to the agency's CIG member to the page
    of the agency's actions. Earlier links stay valid until the action is done or dropped or has a new lead."""
    queued = set(session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_([m.key for m in messages]))))
    linked = []
    for message in messages:
        purpose = message.context.get("purpose")
        if message.key in queued or message.template != "action_reminder":
            pass
        elif purpose == "chase" and message.context.get("copy_for"):
            agency = next((a.code for a in office.partnership.agencies
                           if a.contact.email.casefold() == message.to.email.casefold()), None)
            if agency is not None:
                message = dataclasses.replace(message, context=message.context | {"link": _issue(
                    session, office, case, LinkStep.agency_actions, message.to.email, agency, 0, now)})
        elif purpose in ("notice", "reminder", "chase"):
            number = int(message.context["number"])
            agency = learning_store.get_action(session, case=case, review=review_store.get_review(session, case=case),
                                               number=number).agency
            message = dataclasses.replace(message, context=message.context | {"link": _issue(
                session, office, case, LinkStep.action, message.to.email, agency, number, now)})
        linked.append(message)
    return linked


def impact_review_link(session: Session, office: Office, case: Case, recipient: str, *, now: datetime) -> str:
    """A new personal link for the committee (`recipient`) to the review's 6-month pack and its outcomes."""
    return _issue(session, office, case, LinkStep.impact_review, recipient, None, 0, now)


def link_action(session: Session, case: Case, link: PersonalLink) -> LearningAction | None:
    """The action a lead's link is for, if the case's review has it."""
    review = case.review if getattr(case, "review", None) is not None else None
    if review is None:
        return None
    return session.scalars(select(LearningAction).where(LearningAction.review_id == review.id,
                                                        LearningAction.number == link.round)).first()


def action_link_state(session: Session, case: Case, link: PersonalLink) -> tuple[bool, bool]:
    """(open, done) for an action link: a lead's link opens while its action is open and it is still theirs
    (done once the action is done or dropped); the CIG member's and the committee's while the review has
    actions (of the agency)."""
    review = getattr(case, "review", None)
    if review is None:
        return False, False
    if link.step == LinkStep.action:
        action = link_action(session, case, link)
        if action is None:
            return False, False
        if action.status != ActionStatus.open.value:
            return False, True
        return action.lead["email"].casefold() == link.recipient.casefold(), False
    actions = learning_store.list_actions(session, review=review)
    if link.step == LinkStep.agency_actions:
        return any(a.agency == link.agency for a in actions), False
    return bool(actions), False


# --- what the lead records ------------------------------------------------------------------------

def _open(session: Session, reference: str) -> tuple[Case, Review]:
    case = store.get_case(session, reference=reference, for_update=True)
    return case, review_store.get_review(session, case=case)


def _still_open(action: LearningAction, reference: str) -> None:
    if action.status != ActionStatus.open.value:
        raise AlreadyRecorded(f"{reference}: action {action.number} is already {action.status}")


def record_progress(office: Office, reference: str, form: ActionProgressForm, *, now: datetime,
                    actor: str) -> ActionView:
    """Keep the lead's progress as a recorded update of the open action (its target stands). Refused, naming
    the field, when it names someone from the case."""
    with office.sessions.begin() as session:
        case, review = _open(session, reference)
        action = learning_store.get_action(session, case=case, review=review, number=form.number)
        _still_open(action, reference)
        check_no_identities({"progress": form.progress}, *store.sealed_identities(case))
        session.add(ActionUpdate(action_id=action.id, at=now, actor=actor, changes={"progress": True},
                                 reason=form.progress))
        action.updated_at = now
        store.audit(session, reference=reference, actor=actor, action="learning action progress", now=now,
                    number=action.number)
        return action_view(session, case, action, office.calendar.local_date(now))


def _update(session: Session, office: Office, case: Case, review: Review, form: ActionUpdateForm, *, now: datetime,
            actor: str) -> LearningAction:
    """Change the action as casework.learning.actions.update_action does (`cig action update`), inside the
    caller's transaction."""
    ratified = plans_ratified_on(review_store.ratification_history(review), review_store.signing_bodies(case)) \
        is not None
    return learning_store.update_action(session, case=case, review=review, form=form, calendar=office.calendar,
                                        ratified=ratified, today=office.calendar.local_date(now), now=now, actor=actor)


def record_done(office: Office, reference: str, form: ActionUpdateForm, *, files: Sequence[tuple[str, bytes]],
                now: datetime, actor: str) -> ActionView:
    """The action done with its evidence: the text recorded as `cig action update --status done` records it,
    and each file checked by content (PDF, Word or ODT; refused naming `evidence_files` and the file otherwise)
    and kept sealed with the action. All or nothing, in one transaction."""
    if form.status is not SetStatus.done:
        raise ValueError("status: the action is recorded done here")
    if len(files) > MAX_EVIDENCE_FILES:
        raise ValueError(f"evidence_files: at most {MAX_EVIDENCE_FILES} files")
    documents = [document_attachment(name, data, field="evidence_files") for name, data in files]
    with office.sessions.begin() as session:
        case, review = _open(session, reference)
        _still_open(learning_store.get_action(session, case=case, review=review, number=form.number), reference)
        action = _update(session, office, case, review, form, now=now, actor=actor)
        for document in documents:
            session.add(ActionDocument(action_id=action.id, document=dict(document), uploaded_at=now))
        if documents:
            store.audit(session, reference=reference, actor=actor, action="learning action evidence uploaded",
                        now=now, number=action.number, files=len(documents))
        return action_view(session, case, action, office.calendar.local_date(now))


@dataclass(frozen=True)
class TargetRequest:
    """A new target date asked for, and the business manager's answer (None while it waits)."""

    key: str
    number: int
    target_on: date
    reason: str
    asked_at: datetime
    decision: TargetDecision | None
    note: str | None


def _request(record) -> TargetRequest:  # type: ignore[no-untyped-def]
    data = record.data
    return TargetRequest(record.key, int(data["number"]), date.fromisoformat(data["target_on"]), data["reason"],
                         datetime.fromisoformat(data["asked_at"]),
                         TargetDecision(data["decision"]) if data.get("decision") else None, data.get("note"))


def target_requests(session: Session, *, review: Review, number: int | None = None) -> list[TargetRequest]:
    """The new target dates asked for in the review's plans (of one action), oldest first."""
    found = [_request(r) for r in learning_store.records(session, kind=TARGET_REQUEST, review=review)]
    return [r for r in found if number is None or r.number == number]


def ask_target_date(office: Office, reference: str, form: TargetDateRequestForm, *, now: datetime,
                    actor: str) -> TargetRequest:
    """Keep the lead's request for a new target date (one waiting per action: a second replaces the first) and
    tell the business manager, whose link opens the requests to accept or decline them."""
    with office.sessions.begin() as session:
        case, review = _open(session, reference)
        action = learning_store.get_action(session, case=case, review=review, number=form.number)
        _still_open(action, reference)
        if form.target_on == action.target_on:
            raise ValueError("target_on: that is the action's target date already")
        check_no_identities({"reason": form.reason}, *store.sealed_identities(case))
        waiting = [r for r in target_requests(session, review=review, number=form.number) if r.decision is None]
        key = waiting[0].key if waiting else f"{reference}:A{form.number}:{now:%Y%m%dT%H%M%S}"
        learning_store.save_record(session, review=review, kind=TARGET_REQUEST, key=key, now=now, data={
            "number": form.number, "target_on": form.target_on.isoformat(), "reason": form.reason,
            "asked_at": now.isoformat(), "decision": None, "note": None})
        store.audit(session, reference=reference, actor=actor, action="learning action new date asked", now=now,
                    number=form.number, target_on=form.target_on.isoformat())
        manager = office.partnership.contacts.business_manager
        link = review_link(session, office, case, manager.email, now=now) + "/actions"
        agency = office.partnership.agency_by_code.get(action.agency)
        queue(session, case, [target_date_message(
            reference, purpose="asked", number=form.number, action=action.action,
            agency=agency.name if agency else action.agency, target_on=action.target_on, asked_for=form.target_on,
            reason=form.reason, note=None, to=manager, revision=action.revision, link=link,
            partnership=office.partnership, stamp=now)], now)
        return next(r for r in target_requests(session, review=review) if r.key == key)


def decide_target_date(office: Office, reference: str, form: TargetDateDecisionForm, *, now: datetime,
                       actor: str) -> TargetRequest:
    """The business manager's answer to the action's waiting request, in one transaction: accepted, the action's
    target date becomes the date asked for (recorded as `cig action update --target-on` records it, with the
    lead's reason); declined, it stands. The lead is told either way. AlreadyRecorded when none waits."""
    with office.sessions.begin() as session:
        case, review = _open(session, reference)
        waiting = [r for r in target_requests(session, review=review, number=form.number) if r.decision is None]
        if not waiting:
            raise AlreadyRecorded(f"{reference}: no new target date waits for an answer for action {form.number}")
        request = waiting[0]
        action = learning_store.get_action(session, case=case, review=review, number=form.number)
        if form.decision is TargetDecision.accepted:
            _still_open(action, reference)
            action = _update(session, office, case, review, ActionUpdateForm(
                number=form.number, target_on=request.target_on,
                reason=f"New target date asked for by the named lead: {request.reason}"), now=now, actor=actor)
        learning_store.save_record(session, review=review, kind=TARGET_REQUEST, key=request.key, now=now, data={
            "number": form.number, "target_on": request.target_on.isoformat(), "reason": request.reason,
            "asked_at": request.asked_at.isoformat(), "decision": form.decision.value, "note": form.note,
            "decided_at": now.isoformat()})
        store.audit(session, reference=reference, actor=actor, action=f"learning action new date {form.decision.value}",
                    now=now, number=form.number)
        lead = Contact(name=action.lead["name"], email=action.lead["email"])
        agency = office.partnership.agency_by_code.get(action.agency)
        message = target_date_message(
            reference, purpose=form.decision.value, number=form.number, action=action.action,
            agency=agency.name if agency else action.agency, target_on=action.target_on, asked_for=request.target_on,
            reason=request.reason, note=form.note, to=lead, revision=action.revision,
            link=_issue(session, office, case, LinkStep.action, lead.email, action.agency, action.number, now),
            partnership=office.partnership, stamp=now)
        queue(session, case, [message], now)
        return next(r for r in target_requests(session, review=review) if r.key == request.key)


# --- what the pages show -------------------------------------------------------------------------

@dataclass(frozen=True)
class HistoryEntry:
    """One line of an action's history: when, what happened in words, and the words given with it."""

    at: datetime
    what: str
    words: str | None


@dataclass(frozen=True)
class ActionPage:
    """An action as its page shows it: the action, its history, its evidence files, a new date waiting."""

    action: ActionView
    history: tuple[HistoryEntry, ...]
    files: tuple[tuple[int, str], ...]  # (id, file name)
    waiting: TargetRequest | None


def _history_words(changes: dict) -> str:
    if "progress" in changes:
        return "Progress reported"
    if "outcome" in changes:
        return "6-month review: " + str(changes["outcome"]).replace("_", " ")
    if changes.get("added"):
        return "Added to the ratified plans"
    if "status" in changes:
        return {"done": "Recorded done", "dropped": "Dropped", "open": "Opened again"}.get(changes["status"][1], "Status changed")
    if "target_on" in changes:
        return f"Target date moved from {date.fromisoformat(changes['target_on'][0]):%-d %B %Y} to " \
               f"{date.fromisoformat(changes['target_on'][1]):%-d %B %Y}"
    return "Updated"


def action_files(session: Session, action: LearningAction) -> list[ActionDocument]:
    return list(session.scalars(select(ActionDocument).where(ActionDocument.action_id == action.id)
                                .order_by(ActionDocument.id)))


def action_page(office: Office, reference: str, number: int, *, today: date) -> ActionPage:
    """The action `number` of the review with its history (updates and new dates asked for, oldest first)."""
    with office.sessions() as session:
        case = store.find_case(session, reference=reference)
        review = review_store.get_review(session, case=case)
        action = learning_store.get_action(session, case=case, review=review, number=number)
        entries = [HistoryEntry(u.at, _history_words(u.changes), u.reason)
                   for u in learning_store.updates_of(session, action=action)]
        requests = target_requests(session, review=review, number=number)
        entries += [HistoryEntry(r.asked_at, f"New target date of {r.target_on:%-d %B %Y} asked for", r.reason)
                    for r in requests]
        entries += [HistoryEntry(r.asked_at, f"New target date {r.decision.value} by the business manager", r.note)
                    for r in requests if r.decision is TargetDecision.declined]
        files = tuple((d.id, d.document["filename"]) for d in action_files(session, action))
        waiting = next((r for r in requests if r.decision is None), None)
        return ActionPage(action_view(session, case, action, today), tuple(sorted(entries, key=lambda e: e.at)),
                          files, waiting)


def evidence_file(office: Office, reference: str, document_id: int, *, numbers: set[int] | None) -> dict[str, str] | None:
    """An evidence file of the review's actions (of the actions `numbers`, or any), as kept; None otherwise."""
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        review = review_store.get_review(session, case=case)
        found = session.get(ActionDocument, document_id)
        if found is None:
            return None
        action = session.get(LearningAction, found.action_id)
        if action is None or action.review_id != review.id or (numbers is not None and action.number not in numbers):
            return None
        return dict(found.document)
