"""A review on the secure website: the business manager's and each lead reviewer's task list, and an agency's
confirmation of its engagement.

The business manager and each lead reviewer hold a personal link (`LinkStep.review`) from the "review
commissioned" email, the appointment email and every milestone reminder. It opens one page per review in the
GOV.UK "complete multiple tasks" pattern, at `/link/{token}`; each task's form is at
`/link/{token}/task/{name}` (GET shows it, POST records it). A form is the same pydantic model `cig review
...` fills in, recorded by the same casework.review.actions function: what `cig` refuses, the page refuses,
naming the field in the error summary, and nothing is written. The link is not used up by a task: it opens
while the review is open (and, after publication, until the report's availability is recorded), until it
expires or is revoked. A step the review's run waits for (the appointment, a ratification, the publication,
the decision not to publish) is recorded at once and the run woken, as the chairs' pages do.

An agency's contact holds a link (`LinkStep.engagement`) from the commencement email: a page with its name and
one button, recorded as `cig review engage` records it; the link is used up then.

Needs the office (casework.office) and, from website.app, the link look-up, the audit and the form token's
secret.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from urllib.parse import quote
from enum import StrEnum
from functools import cached_property
from typing import Any, Protocol

from fastapi import BackgroundTasks, FastAPI, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, RedirectResponse, Response

from casework.delivery import deliver_pending
from casework.forms import Form
from casework.links import LinkRefusal, LinkStep, StepFacts
from casework.model import review_labels
from casework.office import Office
from casework.review import actions
from casework.review.forms import (
    AppointmentForm, AvailabilityForm, EngagementForm, FamilyInvolvementForm, FullReportForm, GroupMemberForm,
    MilestoneForm, NonPublicationForm, PublicationDelayForm, RatificationForm, ReviewDocumentForm,
    ReviewPublicationForm, TermsForm,
)
from casework.clocks import WorkingCalendar
from config.rulesets import load_ruleset
from casework.review.rules import (
    FINISHED, RATIFIER_WORDS, STOPPED_FOR_NATIONAL_REVIEW, STOPPED_WORDS, RatificationResult, Ratifier, ReviewStage,
    clock_stopped, next_ratifier, signed_off_jointly,
)
from casework.review import store as review_store
from casework.review.store import ratification_history
from casework.store import cases as store
from casework.store import links as link_store
from casework.store.cases import AlreadyRecorded, NotAtThisStep
from casework.store.tables import Case, PersonalLink, Review
from config.review_plans import ReviewPlan, load_review_plans
from website.fields import PageField, _unwrap, all_fields, field_errors, page_fields, posted_input, refusal_problem, \
    validation_problems
from website.pages import day, page
from website.security import BodyTooLarge, form_token, form_token_valid, same_origin

log = logging.getLogger("website")
REVIEW_LINK_STEPS = frozenset({LinkStep.review, LinkStep.engagement})


def now() -> datetime:
    return datetime.now(timezone.utc)


# --- when a review's links open -------------------------------------------------------------------

def review_link_open(case: Case, review: Review | None) -> bool:
    """Whether a review's task list still has work: the review is not closed, or its report was published and
    what becomes of it after 12 months is not recorded yet."""
    if review is None:
        return False
    return review.stage != ReviewStage.closed or (case.published_on is not None and review.availability is None)


def review_step_facts(case: Case, link: PersonalLink) -> StepFacts:
    """The case as a review link sees it (casework.links.link_refusal): a task-list link is never used up by a
    task, only closed with the review; an engagement link is done once its agency's engagement is confirmed."""
    review = case.review
    same = {"round": link.round, "meeting_on": link.meeting_on}  # a review's links belong to no round or meeting
    if link.step == LinkStep.engagement:
        asked = next((d for d in case.deadlines if d.kind == "review_engagement" and d.subject == link.agency), None)
        is_open = asked is not None and review is not None and review.stage != ReviewStage.closed
        return StepFacts(**same, open=is_open, done=asked is not None and asked.met_at is not None)
    return StepFacts(**same, open=review_link_open(case, review), done=False)


# --- the task list --------------------------------------------------------------------------------

class TaskStatus(StrEnum):
    """A task's status in the GOV.UK task list pattern's words."""

    completed = "Completed"
    in_progress = "In progress"
    not_started = "Not yet started"
    cannot_start = "Cannot start yet"


@dataclass(frozen=True)
class Task:
    """One row of the task list: `name` is its address under the link; `again` lets a completed task be
    opened again (another lead reviewer, another group member, terms agreed again)."""

    name: str
    title: str
    status: TaskStatus
    hint: str = ""
    again: bool = False
    by_others: bool = False  # recorded by others from their own links (wt2023's partners' sign-off): shown, not opened

    @property
    def opens(self) -> bool:
        return not self.by_others and self.status is not TaskStatus.cannot_start and (
            self.status is not TaskStatus.completed or self.again)


@dataclass(frozen=True)
class TaskSection:
    heading: str
    tasks: list[Task]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


NOT_NEEDED = "Not needed: the review stopped for the Panel's national review"  # a task of a stopped review

STAGE_WORDS = {
    ReviewStage.awaiting_reviewer: "waiting for its lead reviewer to be appointed",
    ReviewStage.under_way: "under way",
    ReviewStage.ratifying: "at ratification: its drafts are before the partnership's bodies",
    ReviewStage.awaiting_publication: "ratified, waiting for the final report's publication",
    ReviewStage.published: "published",
    ReviewStage.not_published: "finished: the partnership decided not to publish the final report",
    ReviewStage.superseded: STOPPED_WORDS,
    ReviewStage.closed: "closed",
}


def review_tasks(case: Case, review: Review, agency_names: dict[str, str], today: date,
                 plan_title: str | None = None, documents: tuple[str, ...] = (),
                 partners: tuple[str, ...] = (), answers: tuple[str, ...] = ()) -> list[TaskSection]:
    """The review's tasks, in the order of seed 002's flowchart, each with its status and a hint; the sign-off by
    the bodies of the case's rule set (wt2023: the safeguarding partners, named by `partners`' organisations; where
    each signs off from their own link, the task shows their `answers` so far, in words, and records nothing)."""
    stage = ReviewStage(review.stage)
    scr = load_ruleset(case.regime).term("scr")  # the regime's word: Serious Case Review, or the LCSPR
    engagement = sorted((d for d in case.deadlines if d.kind == "review_engagement"), key=lambda d: d.subject or "")
    reviewers = [r["name"] for r in review.reviewers]
    members = {group: sum(1 for p in review.people if p.group == group) for group in ("review", "case")}

    sections = [TaskSection("Commissioning", [
        Task("commissioning", "Review commissioned", TaskStatus.completed,
             f"Commissioned on {day(review.commissioned_on)}: {plan_title or review.plan}"),
    ])]
    sections.append(TaskSection("Each agency's engagement", [
        Task(f"engagement-{d.subject}", f"Engagement: {agency_names.get(d.subject or '', d.subject)}",
             TaskStatus.cannot_start if clock_stopped(d.label) else TaskStatus.completed if d.met_at
             else TaskStatus.not_started,
             NOT_NEEDED if clock_stopped(d.label) else
             "Confirmed" if d.met_at else f"Asked to confirm by {day(d.due_at)}")
        for d in engagement]))
    sections.append(TaskSection("The lead reviewer and the groups", [
        Task("appointment", "Appoint the lead reviewer", TaskStatus.completed if reviewers else TaskStatus.not_started,
             ", ".join(reviewers) + "; appoint a further lead reviewer here" if reviewers else
             f"For a {scr}, independent of all the partnership's agencies", again=True),
        Task("review-group", "Record the review group", TaskStatus.completed if members["review"] else TaskStatus.not_started,
             f"{_plural(members['review'], 'member')}; add another" if members["review"] else
             "Senior managers of the agencies involved", again=True),
        Task("case-group", "Record the case group", TaskStatus.completed if members["case"] else TaskStatus.not_started,
             f"{_plural(members['case'], 'member')}; add another" if members["case"] else
             "The practitioners and managers involved in the case", again=True),
        Task("terms", "Record the terms of reference and scope", TaskStatus.completed if review.terms else TaskStatus.not_started,
             f"Agreed on {day(review.terms['agreed_on'])}; record them again if they change" if review.terms else
             "As agreed at the review group planning meeting", again=True),
    ]))
    milestones = []
    for m in review.milestones:
        replans = m.replans or []
        if m.done_on is not None:
            status, hint = TaskStatus.completed, f"Done on {day(m.done_on)} by {m.done_by}"
        elif review.availability == STOPPED_FOR_NATIONAL_REVIEW:
            status, hint = TaskStatus.cannot_start, NOT_NEEDED
        else:
            late = (today - m.target_on).days
            status = TaskStatus.in_progress if replans else TaskStatus.not_started
            hint = f"Target {day(m.target_on)}" + (f", {_plural(late, 'day')} overdue" if late > 0 else "")
            if replans:
                hint += f"; re-planned from {day(replans[-1]['from'])} ({replans[-1]['reason']})"
        milestones.append(Task(f"milestone-{m.code}", m.label, status, hint))
    sections.append(TaskSection("The plan's milestones", milestones))
    family = review.family
    sections.append(TaskSection("The family", [
        Task("family", "Record the family's and child's involvement", TaskStatus.completed if family else TaskStatus.not_started,
             ("Complete on " if family and family["involvement"] == "complete" else "Not possible, recorded on ")
             + day(family["on"]) if family else f"Complete, or not possible and why (needed before a {scr} is "
             "published)"),
    ]))
    history = ratification_history(review)
    order = review_store.signing_bodies(case)
    due = next_ratifier(history, order)
    finished = stage in FINISHED
    ratifications = [Task(
        "drafts", "Upload the drafts and the final report",
        TaskStatus.cannot_start if stage is ReviewStage.awaiting_reviewer else TaskStatus.completed
        if "final_report" in documents or finished and documents else TaskStatus.in_progress if documents
        else TaskStatus.not_started,
        f"{_plural(len(documents), 'document')} uploaded" + ("; upload another" if not finished else "") if documents
        else "After the lead reviewer is appointed" if stage is ReviewStage.awaiting_reviewer
        else "PDF, Word or OpenDocument: the draft report, the action plans, the final report", again=not finished)]
    jointly = signed_off_jointly(load_ruleset(case.regime))  # each partner signs off from their own link
    for body in order:
        given = [r for r in history if r.by is body]
        together = body is Ratifier.safeguarding_partners  # one sign-off, recorded here, naming the partners
        if any(r.result is RatificationResult.ratified for r in given):
            status, hint = TaskStatus.completed, f"{'Signed off' if together else 'Ratified'} on {day(given[-1].on)}"
        elif body is due and stage in (ReviewStage.under_way, ReviewStage.ratifying):
            status = TaskStatus.in_progress if given else TaskStatus.not_started
            hint = f"Returned with comments on {day(given[-1].on)}; record the revised drafts' outcome" if given else \
                "Record the outcome of the meeting"
            if together and jointly:  # the partners' answers so far, each from their own link
                status = TaskStatus.in_progress if given or answers else TaskStatus.not_started
                hint = (f"Returned with comments on {day(given[-1].on)}. " if given else "") + (
                    f"So far: {'; '.join(answers)}" if answers else "Each partner signs off from their own link, in "
                    "the email that tells them the drafts are ready; no partner has answered yet")
        else:
            status, hint = TaskStatus.cannot_start, "After the lead reviewer is appointed and the drafts go before " \
                "the bodies before it" if body is not order[0] else "After the lead reviewer is appointed"
        if together and partners:
            hint += f". The partners: {', '.join(partners)}"
        title = "The safeguarding partners' sign-off of the final report" if together and jointly else \
            "Record the safeguarding partners' sign-off of the final report" if together else \
            f"Drafts before {RATIFIER_WORDS[body]}"
        ratifications.append(Task(f"ratification-{body.value}", title, status, hint, by_others=together and jointly))
    sections.append(TaskSection("Drafts and sign-off" if Ratifier.safeguarding_partners in order else
                                "Drafts and ratification", ratifications))
    if review.availability == STOPPED_FOR_NATIONAL_REVIEW:  # wt2023: nothing of it is published; the Panel reviews
        sections.append(TaskSection("Publication", [Task(
            "national-review", "The Panel carries out a national review", TaskStatus.completed,
            f"Its reply recorded on {day(case.panel_reply_on)}: this review stopped, and its deadlines with it"
            if case.panel_reply_on else "This review stopped, and its deadlines with it")]))
        return [s for s in sections if s.tasks]
    publishing = []
    if review_store.sends_full_report(case):  # wt2023: the full report to the Panel and the Secretary of State first
        sent_on = review_store.full_report_sent_on(case, WorkingCalendar.of())
        publishing.append(Task(
            "full-report", "Send the full final report to the Panel and the Secretary of State",
            TaskStatus.completed if sent_on else TaskStatus.not_started
            if stage is ReviewStage.awaiting_publication and "final_report" in documents else TaskStatus.cannot_start,
            f"Sent on {day(sent_on)}" if sent_on else "With the publication date, at least 7 working days before it; "
            "after the safeguarding partners' sign-off and the final report's upload"))
        if not finished:
            publishing.append(Task(
                "publication-delay", "Tell the Panel and the Secretary of State that publication is delayed",
                TaskStatus.not_started, "With the reasons, whenever the report cannot be published within its 6 "
                "months or on the date they were given", again=True))
    if review.availability != "not_published":
        publishing.append(Task(
            "publication", "Record the publication of the final report, with the partnership's response",
            TaskStatus.completed if case.published_on else TaskStatus.not_started
            if stage is ReviewStage.awaiting_publication else TaskStatus.cannot_start,
            f"Published on {day(case.published_on)}" if case.published_on else "After the board ratifies the final report"
            if order[-1] is Ratifier.board else "After the final report is signed off"))
    if case.published_on is None:
        publishing.append(Task(
            "not-published", "Record a decision not to publish the final report",
            TaskStatus.completed if review.availability == "not_published" else TaskStatus.not_started
            if stage is ReviewStage.awaiting_publication else TaskStatus.cannot_start,
            "Recorded, with the reason" if review.availability == "not_published" else
            "Only if the partnership decides not to publish it, with the reason"))
    if review.availability != "not_published":
        publishing.append(Task(
            "availability", "Record what becomes of the report after 12 months",
            TaskStatus.completed if review.availability in ("stays_published", "on_request") else TaskStatus.not_started
            if case.published_on else TaskStatus.cannot_start,
            "Recorded" if review.availability else "Whether it stays published or becomes available on request"))
    sections.append(TaskSection("Publication", publishing))
    return [s for s in sections if s.tasks]


# --- the forms ------------------------------------------------------------------------------------

class Record(Protocol):
    def __call__(self, office: Office, reference: str, form: Any, *, now: datetime, actor: str) -> actions.ReviewOutcome:
        ...


@dataclass(frozen=True)
class TaskForm:
    """A task's form: the model `cig review ...` fills in, the casework function that records it, the fields the
    page sets itself (from the task), and its words."""

    model: type[Form]
    record: Record
    heading: str
    button: str
    done: str
    fixed: dict[str, str]
    wakes_run: bool = False
    upload: bool = False  # the form carries a document (PDF, Word or ODT), checked and sealed


def sign_off_answer_words(office: Office, session: Session, case: Case) -> list[str]:
    """The safeguarding partners' answers on the drafts now before them (this round), in words for the task list:
    "Northshire Council: signed off on Tuesday 20 April 2027"."""
    from casework.review.actions import partner_name
    from casework.store import decisions as decision_store

    answers = decision_store.partner_answers(session, case=case, round=len(case.review.ratifications),
                                             step=decision_store.SIGN_OFF)
    return [f"{partner_name(office, a.partner)}: "
            f"{'signed off' if a.response == RatificationResult.ratified.value else 'returned with comments'} on "
            f"{day(office.calendar.local_date(a.recorded_at))}" for a in answers]


def task_form(name: str) -> TaskForm | None:
    """The form of the task `name` (as the task list names it), or None."""
    kind, _, subject = name.partition("-")
    if kind == "engagement" and subject:
        return TaskForm(EngagementForm, actions.confirm_engagement, "Record an agency's engagement",
                        "Record the engagement", "Engagement recorded", {"agency": subject})
    if name == "appointment":
        return TaskForm(AppointmentForm, actions.appoint_reviewer, "Appoint a lead reviewer", "Record the appointment",
                        "Lead reviewer appointed", {}, wakes_run=True)
    if name in ("review-group", "case-group"):
        return TaskForm(GroupMemberForm, actions.add_member, f"Add a member of the {kind} group", "Add the member",
                        f"{kind.capitalize()} group member added", {"group": kind})
    if name == "terms":
        return TaskForm(TermsForm, actions.record_terms, "Terms of reference and scope", "Record the terms of reference",
                        "Terms of reference recorded", {})
    if kind == "milestone" and subject:
        return TaskForm(MilestoneForm, actions.record_milestone, "Record a milestone done, or re-plan it",
                        "Record the milestone", "Milestone recorded", {"stage": subject})
    if name == "family":
        return TaskForm(FamilyInvolvementForm, actions.record_family, "The family's and child's involvement",
                        "Record the family's involvement", "Family involvement recorded", {})
    if kind == "ratification" and subject in Ratifier.__members__:
        return TaskForm(RatificationForm, actions.record_ratification, "Record the outcome of the drafts",
                        "Record the outcome", "Outcome recorded", {"by": subject}, wakes_run=True)
    if name == "drafts":
        return TaskForm(ReviewDocumentForm, record_document, "Upload a draft or the final report", "Upload the document",
                        "Document uploaded", {}, upload=True)
    if name == "full-report":
        return TaskForm(FullReportForm, actions.send_full_report, "Send the full final report before publication",
                        "Send the full report", "Full report sent to the Panel and the Secretary of State", {})
    if name == "publication-delay":
        return TaskForm(PublicationDelayForm, actions.tell_publication_delay, "Tell them publication is delayed",
                        "Send the delay notice", "The Panel and the Secretary of State told of the delay", {})
    if name == "publication":
        return TaskForm(ReviewPublicationForm, actions.publish_review, "Record the publication of the final report",
                        "Record the publication", "Publication recorded", {}, wakes_run=True)
    if name == "not-published":
        return TaskForm(NonPublicationForm, actions.record_non_publication, "Record a decision not to publish",
                        "Record the decision", "Decision not to publish recorded", {}, wakes_run=True)
    if name == "availability":
        return TaskForm(AvailabilityForm, actions.record_availability, "The report after 12 months on the website",
                        "Record what becomes of it", "Availability recorded", {})
    return None


def record_document(office: Office, reference: str, form: ReviewDocumentForm, *, now: datetime, actor: str,
                    filename: str = "", data: bytes = b"") -> actions.ReviewOutcome:
    """A lead reviewer's document, kept as casework.review.actions keeps it (checked by content, sealed)."""
    return actions.upload_review_document(office, reference, form, filename=filename, data=data, now=now, actor=actor)


DOCUMENT_FIELD = PageField("document", "The document (PDF, Word or OpenDocument, 10 MB at most)", "file", False)  # type: ignore[arg-type]
DATE_PARTS = (("day", "Day", 2), ("month", "Month", 2), ("year", "Year", 4))


def date_fields(model: type[Form]) -> frozenset[str]:
    """The model's date fields: the page asks for each as day, month and year (the GOV.UK date input)."""
    return frozenset(name for name, info in model.model_fields.items() if _unwrap(info.annotation)[0] is date)


CHOICE_WORDS = {  # the review forms' coded choices as the page reads them
    "independent": "Independent of the case (for a Serious Case Review, of all the partnership's agencies)",
    "internal": "Internal: from one of the partnership's agencies, not involved in the case",
    "ratified": "Ratified",
    "returned": "Returned with comments: revised, and back to the same body",
    "complete": "Complete",
    "not_possible": "Not possible (say why)",
    "stays_published": "It stays published",
    "on_request": "It becomes available on request",
    "draft_report": "The draft report and findings (for the CIG)",
    "action_plans": "The action plans (for the executive group)",
    "final_report": "The final report (for the partnership board)",
}
ONE_LINE = frozenset({"link", "document", "response_link", "improvements_link"})  # an address: one line, however long
FIELD_WORDS = {  # a field whose model description speaks in codes (the Prefect UI's form shows them as choices)
    (AppointmentForm, "kind"): "Independent or internal",
    (RatificationForm, "result"): "The outcome",
    (FamilyInvolvementForm, "involvement"): "The family's and child's involvement",
    (AvailabilityForm, "availability"): "What becomes of the final report after its 12 months on the website",
}


SIGNED_OFF_CHOICE_WORDS = CHOICE_WORDS | {  # where the safeguarding partners sign off (wt2023): no CIG, no board
    "independent": "Independent of the case and of the partnership's agencies",
    "ratified": "Signed off",
    "returned": "Returned with comments: revised, and signed off again",
    "draft_report": "The draft report and findings",
    "action_plans": "The action plans",
    "final_report": "The final report (for the safeguarding partners' sign-off)",
}


def form_fields(form: TaskForm, agencies: list[tuple[str, str]],
                labels: dict[str, str] = CHOICE_WORDS) -> tuple[PageField, ...]:
    """The fields the page shows: the model's, less those the task sets, its choices in words (`labels`: the
    regime's, SIGNED_OFF_CHOICE_WORDS where the partners sign off), an agency as a choice of the partnership's
    agencies."""
    fields = page_fields(form.model, labels=labels, leave_out=frozenset(form.fixed))
    fields = tuple(replace(item, label=FIELD_WORDS.get((form.model, item.name), item.label),
                           kind="text" if item.name in ONE_LINE else item.kind) for item in fields)
    return tuple(replace(item, kind="radios", options=tuple(agencies)) if item.name == "agency" else item
                 for item in fields) + ((DOCUMENT_FIELD,) if form.upload else ())


def posted_dates(fields: frozenset[str], posted: dict[str, str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The posted day, month and year of each date field as one ISO date (what the model reads), and the
    problems of a date given in part or not a real date."""
    values, problems = dict(posted), []
    for name in sorted(fields):
        parts = [(posted.get(f"{name}-{part}") or "").strip() for part, _, _ in DATE_PARTS]
        if not any(parts):
            continue
        try:
            values[name] = date(int(parts[2]), int(parts[1]), int(parts[0])).isoformat()
        except ValueError:
            problems.append((name, "enter a real date, for example 22 1 2027"))
    return values, problems


# --- the routes -----------------------------------------------------------------------------------

class Opened(Protocol):
    """A link that opened its page (website.app.OpenedLink), as these pages read it."""

    @property
    def id(self) -> int: ...
    @property
    def digest(self) -> str: ...
    @property
    def step(self) -> LinkStep: ...
    @property
    def agency(self) -> str | None: ...
    @property
    def reference(self) -> str | None: ...
    @property
    def actor(self) -> str: ...


OpenLink = Callable[[Request, str, BackgroundTasks], "Opened | Response"]


@dataclass
class ReviewPages:
    """The review's pages on `office`: website.app hands a review link's page and post here."""

    office: Office
    open_link: OpenLink
    audit: Callable[..., None]
    audit_view: Callable[..., None]
    common: Callable[[], dict[str, object]]
    secret: bytes

    @cached_property
    def plans(self) -> dict[str, ReviewPlan]:
        return load_review_plans()

    def actor(self, opened: Opened) -> str:
        """Who acted, as the audit trail names a person who came by link (never a name)."""
        if opened.step is LinkStep.engagement:
            return opened.actor
        with self.office.sessions() as session:
            link = session.get(PersonalLink, opened.id)
            recipient = link.recipient.casefold() if link else ""
        manager = self.office.partnership.contacts.business_manager.email.casefold()
        return f"{'the business manager' if recipient == manager else 'a lead reviewer'} (link {opened.id})"

    def agencies(self) -> list[tuple[str, str]]:
        return [(a.code, a.name) for a in self.office.partnership.agencies]

    def tasks(self, reference: str) -> tuple[Case, Review, list[TaskSection]]:
        with self.office.sessions() as session:
            case = store.find_case(session, reference=reference)
            review = case.review
            plan = self.plans.get(review.plan)
            documents = tuple(d.kind for d in review_store.review_documents(session, case=case))
            partners = tuple(p.organisation for p in self.office.partnership.safeguarding_partners.values())
            answers = tuple(sign_off_answer_words(self.office, session, case))
            sections = review_tasks(case, review, dict(self.agencies()), self.office.calendar.local_date(now()),
                                    plan.title if plan else None, documents, partners, answers)
        return case, review, sections

    # the task list

    def task_list(self, opened: Opened, token: str, recorded: str | None = None) -> HTMLResponse:
        case, review, sections = self.tasks(opened.reference or "")
        every = [t for s in sections for t in s.tasks]
        done = sum(1 for t in every if t.status is TaskStatus.completed)
        following = next((t for t in every if t.opens and t.status is not TaskStatus.completed  # agencies confirm their own
                          and not t.name.startswith("engagement-")), None)
        form = task_form(recorded) if recorded else None
        labels = review_labels(self.office.rules(case.regime).terms)  # the regime's word: an LCSPR under wt2023
        return page("review_tasks.html", reference=case.reference,
                    review_type=labels.get(review.review_type, review.review_type),
                    stage=STAGE_WORDS[ReviewStage(review.stage)],
                    reviewers=[r["name"] for r in review.reviewers], sections=sections, done=done, total=len(every),
                    following=following, here=f"/link/{token}", recorded=form.done if form else None, **self.common())

    def engagement_page(self, opened: Opened, errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
                        status: int = 200) -> HTMLResponse:
        with self.office.sessions() as session:
            case = store.get_case(session, reference=opened.reference or "")
            review_type, commissioned_on = case.review.review_type, case.review.commissioned_on
            labels = review_labels(self.office.rules(case.regime).terms)  # the regime's word: an LCSPR under wt2023
            due = next((d.due_at for d in case.deadlines if d.kind == "review_engagement" and d.subject == opened.agency),
                       None)
        errors = errors or {}
        return page("review_engagement.html", status=status, reference=opened.reference,
                    review_type=labels.get(review_type, review_type), commissioned_on=commissioned_on, due_at=due,
                    agency=self.office.partnership.agency(opened.agency or "").name, values=values or {},
                    errors=errors, error_list=list(errors.items()), form_token=form_token(self.secret, opened.digest),
                    **self.common())

    async def show(self, opened: Opened, token: str, request: Request) -> HTMLResponse:
        """The page a review link opens: the task list, or an agency's engagement page."""
        if opened.step is LinkStep.engagement:
            self.audit_view(opened, "engagement page viewed")
            return self.engagement_page(opened)
        self.audit_view(opened, "review task list viewed")
        return self.task_list(opened, token, request.query_params.get("recorded"))

    async def act(self, request: Request, opened: Opened, tasks: BackgroundTasks) -> Response:
        """An agency confirms its engagement (the only post to a review link's own address)."""
        async with request.form(max_files=0, max_fields=5) as data:
            posted = {key: str(value) for key, value in data.items() if isinstance(value, str)}
        if not self.from_this_site(request, opened, posted):
            return page("forbidden.html", status=403, **self.common())
        if opened.step is not LinkStep.engagement:
            return page("not_found.html", status=404, **self.common())
        moment = now()
        fields = (PageField("confirmed_by", "Your name", "text", False),)
        try:
            form = EngagementForm.model_validate(
                {"agency": opened.agency, "confirmed_on": self.office.calendar.local_date(moment),
                 **posted_input(fields, posted)}, context={"today": self.office.calendar.local_date(moment)})
            actions.confirm_engagement(self.office, opened.reference or "", form, now=moment, actor=opened.actor)
        except ValidationError as invalid:
            self.audit(opened, "engagement refused", problem="form")
            return self.engagement_page(opened, field_errors(fields, validation_problems(invalid)), posted, 400)
        except AlreadyRecorded:
            return page("link_refused.html", status=410, reason=LinkRefusal.used, **self.common())
        with self.office.sessions.begin() as session:
            stored = session.get(PersonalLink, opened.id)
            if stored is not None:
                link_store.mark_link_used(session, link=stored, now=moment)
        return page("review_engagement_done.html", reference=opened.reference, **self.common())

    def from_this_site(self, request: Request, opened: Opened, posted: dict[str, str]) -> bool:
        ok = same_origin(request, self.office.settings.website_url) and \
            form_token_valid(self.secret, opened.digest, posted.get("form_token") or "")
        if not ok:
            self.audit(opened, "form post refused", problem="not from this website's page")
        return ok

    # a task's form

    def find_task(self, opened: Opened, name: str) -> tuple[Task | None, dict[str, str]]:
        """The task `name` of the link's review (None if it has none) and its form's choices in the words of the
        case's regime (who signs off decides them), from one reading of the case."""
        if opened.step is not LinkStep.review:
            return None, CHOICE_WORDS
        case, _, sections = self.tasks(opened.reference or "")
        words = SIGNED_OFF_CHOICE_WORDS if Ratifier.safeguarding_partners in review_store.signing_bodies(case) \
            else CHOICE_WORDS
        return next((t for s in sections for t in s.tasks if t.name == name), None), words

    def task_page(self, opened: Opened, token: str, task: Task, form: TaskForm, words: dict[str, str],
                  values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                  status: int = 200) -> HTMLResponse:
        fields = form_fields(form, self.agencies(), words)
        errors = errors or {}
        order = [item.id for item in all_fields(fields)]
        documents = self.documents(opened) if form.upload else []
        return page("review_task.html", status=status, reference=opened.reference, heading=form.heading, task=task,
                    documents=documents, upload=form.upload,
                    form_title=(form.model.__doc__ or "").strip(), button=form.button, fields=fields,
                    dates=date_fields(form.model), values=values or {}, errors=errors,
                    error_list=sorted(errors.items(), key=lambda e: order.index(e[0]) if e[0] in order else 0),
                    back=f"/link/{token}", form_token=form_token(self.secret, opened.digest), **self.common())

    def documents(self, opened: Opened) -> list[dict[str, object]]:
        """The drafts and final reports uploaded for the link's review: id, kind in words, name, when."""
        words = {"draft_report": "Draft report and findings", "action_plans": "Action plans", "final_report": "Final report"}
        with self.office.sessions() as session:
            case = store.find_case(session, reference=opened.reference or "")
            return [{"id": d.id, "kind": words.get(d.kind, d.kind), "filename": d.document["filename"],
                     "uploaded_at": d.uploaded_at} for d in review_store.review_documents(session, case=case)]

    async def download(self, request: Request, token: str, number: int, tasks: BackgroundTasks) -> Response:
        """One uploaded draft or final report, to a holder of the review's task-list link only."""
        opened = self.open_link(request, token, tasks)
        if isinstance(opened, Response):
            return opened
        return review_document(self, opened, number, LinkStep.review)

    def refused_task(self, task: Task | None, token: str) -> HTMLResponse:
        """A task this link cannot open now: unknown, not yet possible, or already recorded (nothing else said)."""
        return page("review_task_closed.html", status=404 if task is None else 409, task=task, back=f"/link/{token}",
                    **self.common())

    async def show_task(self, request: Request, token: str, name: str, tasks: BackgroundTasks) -> Response:
        opened = self.open_link(request, token, tasks)
        if isinstance(opened, Response):
            return opened
        (task, words), form = self.find_task(opened, name), task_form(name)
        if task is None or form is None or not task.opens:
            return self.refused_task(task if form else None, token)
        self.audit_view(opened, "review task viewed", name, task=name)
        return self.task_page(opened, token, task, form, words)

    async def post_task(self, request: Request, token: str, name: str, tasks: BackgroundTasks) -> Response:
        opened = self.open_link(request, token, tasks)
        if isinstance(opened, Response):
            return opened
        (task, words), form = self.find_task(opened, name), task_form(name)
        upload: tuple[str, bytes] | None = None
        try:
            async with request.form(max_files=1, max_fields=40) as data:
                posted = {key: str(value) for key, value in data.items() if isinstance(value, str)}
                given_file = data.get("document")
                if isinstance(given_file, UploadFile) and given_file.filename:
                    upload = (given_file.filename, await given_file.read())
        except BodyTooLarge:
            if task is None or form is None or not task.opens:
                return self.refused_task(task if form else None, token)
            self.audit(opened, "review task refused", task=name, problem="too large")
            return self.task_page(opened, token, task, form, words, {}, {"document": f"{DOCUMENT_FIELD.label}: the file is too "
                                                                  "large; the limit is 10 MB"}, 413)
        if not self.from_this_site(request, opened, posted):
            return page("forbidden.html", status=403, **self.common())
        if task is None or form is None or not task.opens:
            return self.refused_task(task if form else None, token)
        fields = form_fields(form, self.agencies(), words)
        moment = now()
        today = self.office.calendar.local_date(moment)
        values, problems = posted_dates(date_fields(form.model), posted)
        if form.upload and upload is None:
            problems.append(("document", "select the document to upload"))
        try:
            given = form.model.model_validate(posted_input(fields, values) | form.fixed, context={"today": today})
        except ValidationError as invalid:
            problems += validation_problems(invalid)
        if problems:
            self.audit(opened, "review task refused", task=name, problem="form")
            return self.task_page(opened, token, task, form, words, posted, field_errors(fields, problems), 400)
        try:
            if upload is not None and form.upload:  # reading a document through takes a while: off the event loop
                await run_in_threadpool(record_document, self.office, opened.reference or "", given, now=moment,
                                        actor=self.actor(opened), filename=upload[0], data=upload[1])
            else:
                form.record(self.office, opened.reference or "", given, now=moment, actor=self.actor(opened))
        except (AlreadyRecorded, NotAtThisStep, ValueError, LookupError) as refused:
            self.audit(opened, "review task refused", task=name, problem="case rule")
            field, why = refusal_problem(refused)
            why = why.split(": ", 1)[1] if why.startswith(f"{opened.reference}: ") else why
            if field == "family_involvement":  # what to do is a task of this very list
                with self.office.sessions() as session:
                    regime = store.get_case(session, reference=opened.reference or "").regime
                why = f"for a {self.office.rules(regime).term('scr')}, record the family's and child's involvement " \
                      "first (its task on the review's task list), or why it was not possible"
            errors = field_errors(fields, [(field, why)])
            if field == DOCUMENT_FIELD.name:  # a file's name keeps its case
                errors[field] = f"{DOCUMENT_FIELD.label}: {why}"
            return self.task_page(opened, token, task, form, words, posted, errors, 400)
        tasks.add_task(self.after, opened.reference or "", form.wakes_run)
        return RedirectResponse(f"/link/{token}?recorded={name}", status_code=303)

    async def after(self, reference: str, wakes_run: bool) -> None:
        """After the page: send what the task owes, and wake the review's run if it waits for what was recorded."""
        try:
            await deliver_pending(self.office, reference=reference)
        except Exception as failed:  # what cannot go now stays in the outbox; the sweep sends it
            log.warning("a review task's messages left in the outbox: %s", type(failed).__name__)
        if not wakes_run:
            return
        try:
            from flows.review import wake_review_run

            await wake_review_run(self.office, reference)
        except Exception as failed:  # recorded; the deadline sweep catches the run up
            log.warning("a review run was not woken after a task: %s", type(failed).__name__)


def add_review_routes(app: FastAPI, office: Office, *, open_link: OpenLink, audit: Callable[..., None],
                      audit_view: Callable[..., None], common: Callable[[], dict[str, object]],
                      secret: bytes) -> ReviewPages:
    """Add the review's task forms to `app`; the pages a review link's own address shows and takes are the
    returned object's `show` and `act` (website.app hands them over)."""
    pages = ReviewPages(office, open_link, audit, audit_view, common, secret)

    @app.get("/link/{token}/task/{name}", response_class=HTMLResponse)
    async def show_task(request: Request, token: str, name: str, tasks: BackgroundTasks) -> Response:
        return await pages.show_task(request, token, name, tasks)

    @app.get("/link/{token}/review-documents/{number}")
    async def download(request: Request, token: str, number: int, tasks: BackgroundTasks) -> Response:
        return await pages.download(request, token, number, tasks)

    @app.post("/link/{token}/task/{name}", response_class=HTMLResponse)
    async def post_task(request: Request, token: str, name: str, tasks: BackgroundTasks) -> Response:
        return await pages.post_task(request, token, name, tasks)

    return pages


def review_document(pages: Any, opened: Any, number: int, step: LinkStep) -> Response:
    """Uploaded document `number` of the opened link's review, as a download, to a link of `step` only
    (404 otherwise, revealing nothing); the download audited. `pages` serves it (its office, audit and
    common context): the task list's downloads and the ratification pages' are this one."""
    found = None
    if opened.step is step:
        with pages.office.sessions() as session:
            case = store.get_case(session, reference=opened.reference or "")
            found = next((d for d in review_store.review_documents(session, case=case) if d.id == number), None)
    if found is None:
        return page("not_found.html", status=404, **pages.common())
    pages.audit_view(opened, "review document downloaded", found.id, document=found.id, kind=found.kind)
    filename = quote(found.document["filename"])
    return Response(base64.b64decode(found.document["content"]), media_type=found.document["content_type"],
                    headers={"content-disposition": f"attachment; filename*=UTF-8''{filename}"})
