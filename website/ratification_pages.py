"""A review's drafts before the bodies that ratify them, on the secure website: the CIG, the executive group and
the partnership board, in the order casework.review.rules keeps (the rule set's `ratification` step names them).

Each body's contact holds a personal link (`LinkStep.ratification`) from the email that tells it the drafts are
ready: the CIG's chair when the lead reviewer uploads them (casework.review.actions.drafts_ready), the executive
group and the board in the email that tells them the body before them ratified. The link opens one page at
`/link/{token}`: the drafts uploaded (downloads at `/link/{token}/ratification-documents/{id}`, through this link
only), the action plans as a table, and a form recording the outcome, ratified or returned with comments, with
the same RatificationForm and casework.review.actions.record_ratification `cig review ratify` uses. What the form
refuses is named in the GOV.UK error summary and nothing is written. The link's `round` is the number of outcomes
recorded before it was issued, so the body it is for is the one next after them; it is used up by that body's
next outcome, recorded through it or by the business manager's task list.

Where the rule set's `sign_off` step is taken by each safeguarding partner by their own hand (wt2023), each acting
partner holds their own link (the partner's key on it), from the email that tells the partners the drafts are ready:
the same page, in the partners' words (signed off, or returned with comments), with the answers given so far; the
answer goes through casework.review.actions.record_partner_sign_off (kept once; the sign-off made once the quorum
has signed off; any return returns the drafts).

Needs the office (casework.office) and, from website.app, the link look-up, the audit and the form token's secret.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from fastapi import BackgroundTasks, FastAPI, Request
from pydantic import ValidationError
from sqlalchemy.orm import object_session
from starlette.responses import HTMLResponse, Response

from casework.delivery import deliver_pending
from casework.learning import store as learning_store
from casework.learning.actions import action_view
from casework.links import LinkRefusal, LinkStep, StepFacts
from casework.model import review_labels
from casework.office import Office
from casework.review import actions
from casework.review import store as review_store
from casework.review.forms import RatificationForm
from casework.review.rules import RATIFIER_WORDS, RatificationResult, Ratifier, ReviewStage, next_ratifier
from casework.review.store import ratification_history
from casework.store import cases as store
from casework.store import decisions as decision_store
from casework.store import links as link_store
from casework.store.cases import AlreadyRecorded, NotAtThisStep
from casework.store.tables import Case, PartnerDecision, PersonalLink
from config.partnership import Partnership
from website.fields import PageField, all_fields, field_errors, posted_input, refusal_problem, validation_problems
from website.pages import page
from website.review_pages import (
    CHOICE_WORDS, SIGNED_OFF_CHOICE_WORDS, OpenLink, Opened, date_fields, form_fields, posted_dates, review_document,
    task_form,
)
from website.security import form_token, form_token_valid, same_origin

log = logging.getLogger("website")
DOCUMENT_WORDS = {"draft_report": "Draft report and findings", "action_plans": "Action plans",
                  "final_report": "Final report"}
PLAN_WORDS = {"multi_agency": "Multi-agency", "single_agency": "Single-agency"}
STATUS_WORDS = {"open": "Open", "overdue": "Overdue", "done": "Done", "dropped": "Dropped"}


def now() -> datetime:
    return datetime.now(timezone.utc)


class OpenedRatification(Opened, Protocol):
    """A ratification link that opened its page (website.app.OpenedLink): its round names its body."""

    @property
    def round(self) -> int: ...

    @property
    def partner(self) -> str | None: ...  # a partner signing off by their own hand (wt2023): the partner's key


def ratification_fields(body: Ratifier = Ratifier.cig) -> tuple[PageField, ...]:
    """The outcome's fields as the business manager's task list shows them (the body is the link's, not asked), their
    choices in the body's words (signed off, for the safeguarding partners)."""
    form = task_form(f"ratification-{body.value}")
    words = SIGNED_OFF_CHOICE_WORDS if body is Ratifier.safeguarding_partners else CHOICE_WORDS
    return form_fields(form, [], words) if form is not None else ()


def partner_answers_shown(partnership: Partnership, answers: Sequence[PartnerDecision]) -> list[dict[str, object]]:
    """The partners' answers on the drafts so far, as each partner's page shows them: the partner's organisation,
    signed off or returned (with its comments), and when."""
    return [{"by": (partnership.safeguarding_partners[a.partner].organisation
                    if a.partner in partnership.safeguarding_partners else a.partner.replace("_", " ")),
             "result": SIGNED_OFF_CHOICE_WORDS.get(a.response, a.response).split(":")[0], "comments": a.rationale,
             "at": a.recorded_at} for a in answers]


def link_body(case: Case, round: int) -> Ratifier | None:
    """The body a ratification link issued after `round` outcomes is for: the one next after them."""
    review = case.review
    return next_ratifier(ratification_history(review)[:round], review_store.signing_bodies(case)) \
        if review is not None else None


def ratification_step_facts(case: Case, link: PersonalLink) -> StepFacts:
    """The case as a ratification link sees it (casework.links.link_refusal): done once its body has recorded an
    outcome since the link was issued (by any door), open while the drafts wait for that body."""
    review = case.review
    same = {"round": link.round, "meeting_on": link.meeting_on}  # a review's links belong to no meeting
    body = link_body(case, link.round)
    if review is None or body is None:
        return StepFacts(**same, open=False, done=False)
    history = ratification_history(review)
    done = any(item.by is body for item in history[link.round:])
    if link.partner is not None:  # a partner's own answer: theirs alone, this round
        done = done or link.partner in {a.partner for a in decision_store.partner_answers(
            object_session(case), case=case, round=link.round, step=decision_store.SIGN_OFF)}
    waiting = ReviewStage(review.stage) in (ReviewStage.under_way, ReviewStage.ratifying)
    return StepFacts(**same, open=waiting and next_ratifier(history, review_store.signing_bodies(case)) is body,
                     done=done)


@dataclass
class RatificationPages:
    """The ratification page on `office`: website.app hands a ratification link's page and post here."""

    office: Office
    open_link: OpenLink
    audit: Callable[..., None]
    audit_view: Callable[..., None]
    common: Callable[[], dict[str, object]]
    secret: bytes

    def body(self, opened: OpenedRatification) -> Ratifier:
        with self.office.sessions() as session:
            case = store.find_case(session, reference=opened.reference or "")
            body = link_body(case, opened.round)
        if body is None:  # the link opened, so its step facts found its body
            raise LookupError("a ratification link with no body")
        return body

    def actor(self, opened: OpenedRatification, body: Ratifier) -> str:
        """Who acted, as the audit trail names a body (or a partner) that came by link (its role, never a name)."""
        who = f"partner {opened.partner}" if opened.partner else body.value.replace('_', ' ')
        return f"{who} (link {opened.id})"

    def show_page(self, opened: OpenedRatification, token: str, values: dict[str, str] | None = None,
                  errors: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
        """The drafts, the action plans and the outcome's form, read from the case in one session."""
        today = self.office.calendar.local_date(now())
        with self.office.sessions() as session:
            case = store.find_case(session, reference=opened.reference or "")
            review = case.review
            body = link_body(case, opened.round)
            if body is None:  # the link opened, so its step facts found its body
                raise LookupError("a ratification link with no body")
            review_type = review_labels(self.office.rules(case.regime).terms).get(review.review_type, review.review_type)
            documents = [{"id": d.id, "kind": DOCUMENT_WORDS.get(d.kind, d.kind), "filename": d.document["filename"],
                          "uploaded_at": d.uploaded_at} for d in review_store.review_documents(session, case=case)]
            earlier = [{"by": RATIFIER_WORDS[item.by], "result": item.result.value, "on": item.on}
                       for item in ratification_history(review)]
            answers = partner_answers_shown(self.office.partnership, decision_store.partner_answers(
                session, case=case, round=opened.round, step=decision_store.SIGN_OFF)) if opened.partner else []
            plans = [action_view(session, case, a, today) for a in learning_store.list_actions(session, review=review)]
        fields = ratification_fields(body)
        agencies = {a.code: a.name for a in self.office.partnership.agencies}
        rows = [{"number": a.number, "plan": PLAN_WORDS.get(a.plan, a.plan), "agency": agencies.get(a.agency, a.agency),
                 "finding": a.finding, "action": a.action, "lead": a.lead_name, "target_on": a.target_on,
                 "evidence": a.evidence_of_impact, "status": STATUS_WORDS.get(a.status.value, a.status.value)}
                for a in plans]
        errors = errors or {}
        order = [item.id for item in all_fields(fields)]
        return page("ratify_drafts.html", status=status, reference=opened.reference, review_type=review_type,
                    body=RATIFIER_WORDS[body], documents=documents, actions=rows, earlier=earlier, fields=fields,
                    signing=body is Ratifier.safeguarding_partners, answers=answers,
                    dates=date_fields(RatificationForm), values=values or {}, errors=errors,
                    error_list=sorted(errors.items(), key=lambda e: order.index(e[0]) if e[0] in order else 0),
                    here=f"/link/{token}", form_token=form_token(self.secret, opened.digest), **self.common())

    async def show(self, opened: OpenedRatification, token: str, request: Request) -> HTMLResponse:
        """The page a ratification link opens: the drafts, the action plans and the outcome's form."""
        self.audit_view(opened, "ratification page viewed")
        return self.show_page(opened, token)

    async def act(self, request: Request, opened: OpenedRatification, token: str, tasks: BackgroundTasks) -> Response:
        """The body records its outcome: ratified, or returned with comments."""
        async with request.form(max_files=0, max_fields=20) as data:
            posted = {key: str(value) for key, value in data.items() if isinstance(value, str)}
        if not (same_origin(request, self.office.settings.website_url)
                and form_token_valid(self.secret, opened.digest, posted.get("form_token") or "")):
            self.audit(opened, "form post refused", problem="not from this website's page")
            return page("forbidden.html", status=403, **self.common())
        body = self.body(opened)
        fields = ratification_fields(body)
        moment = now()
        values, problems = posted_dates(date_fields(RatificationForm), posted)
        try:
            given = RatificationForm.model_validate(posted_input(fields, values) | {"by": body.value},
                                                    context={"today": self.office.calendar.local_date(moment)})
        except ValidationError as invalid:
            problems += validation_problems(invalid)
        if problems:
            self.audit(opened, "ratification refused", problem="form")
            return self.show_page(opened, token, posted, field_errors(fields, problems), 400)
        try:
            if opened.partner:  # one partner's answer: the sign-off made once the quorum has signed off
                signed = actions.record_partner_sign_off(self.office, opened.reference or "", opened.partner, given,
                                                         link_id=opened.id, now=moment, actor=self.actor(opened, body),
                                                         round=opened.round)
                stage = signed.stage
            else:
                stage = actions.record_ratification(self.office, opened.reference or "", given, now=moment,
                                                    actor=self.actor(opened, body)).stage
        except AlreadyRecorded:
            return page("link_refused.html", status=409, reason=LinkRefusal.used, **self.common())
        except (NotAtThisStep, ValueError, LookupError) as refused:
            self.audit(opened, "ratification refused", problem="case rule")
            field, why = refusal_problem(refused)
            why = why.split(": ", 1)[1] if why.startswith(f"{opened.reference}: ") else why
            return self.show_page(opened, token, posted, field_errors(fields, [(field, why)]), 400)
        with self.office.sessions.begin() as session:
            stored = session.get(PersonalLink, opened.id)
            if stored is not None:
                link_store.mark_link_used(session, link=stored, now=moment)
        tasks.add_task(self.after, opened.reference or "")
        with self.office.sessions() as session:
            case = store.find_case(session, reference=opened.reference or "")
            following = next_ratifier(ratification_history(case.review), review_store.signing_bodies(case))
        who = actions.partner_name(self.office, opened.partner) if opened.partner else RATIFIER_WORDS[body]
        return page("ratify_done.html", reference=opened.reference, body=who,
                    returned=given.result is RatificationResult.returned, on=given.on,
                    next_body=RATIFIER_WORDS[following] if following and stage is ReviewStage.ratifying
                    else None, partner=bool(opened.partner), signed_off=following is None, **self.common())

    async def download(self, request: Request, token: str, number: int, tasks: BackgroundTasks) -> Response:
        """One uploaded draft, to the holder of a ratification link of its review only."""
        opened = self.open_link(request, token, tasks)
        if isinstance(opened, Response):
            return opened
        return review_document(self, opened, number, LinkStep.ratification)

    async def after(self, reference: str) -> None:
        """After the page: send the outcome's emails, and wake the review's run, which waits for ratification."""
        try:
            await deliver_pending(self.office, reference=reference)
        except Exception as failed:  # what cannot go now stays in the outbox; the sweep sends it
            log.warning("a ratification's messages left in the outbox: %s", type(failed).__name__)
        try:
            from flows.review import wake_review_run

            await wake_review_run(self.office, reference)
        except Exception as failed:  # recorded; the deadline sweep catches the run up
            log.warning("a review run was not woken after a ratification: %s", type(failed).__name__)


def add_ratification_routes(app: FastAPI, office: Office, *, open_link: OpenLink, audit: Callable[..., None],
                            audit_view: Callable[..., None], common: Callable[[], dict[str, object]],
                            secret: bytes) -> RatificationPages:
    """Add the drafts' downloads to `app`; the page a ratification link's own address shows and takes are the
    returned object's `show` and `act` (website.app hands them over)."""
    pages = RatificationPages(office, open_link, audit, audit_view, common, secret)

    @app.get("/link/{token}/ratification-documents/{number}")
    async def download(request: Request, token: str, number: int, tasks: BackgroundTasks) -> Response:
        return await pages.download(request, token, number, tasks)

    return pages
