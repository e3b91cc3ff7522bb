"""Learning and improvement on the secure website: each action's named lead reports on their own action, the
agency's CIG member sees its actions, the business manager answers a new target date asked for, and the
professional development committee records its 6-month outcome per action.

- The named lead holds a link (`LinkStep.action`, one action: the link's round is its number) from every email
  about the action (it is theirs, each reminder, the chase), a fresh one in each. It opens the action's page
  (what it is, its target, its history, its evidence) with three forms at `/link/{token}/report/{name}`:
  progress, done with evidence (text and PDF, Word or ODT files, checked by content and sealed), a new target
  date with the reason. An earlier email's link opens too, until the action is done or dropped or has a new
  lead (casework.learning.leads.action_link_state).
- The agency's CIG member holds a link (`LinkStep.agency_actions`) from the chase's copy: the agency's actions
  in the review and their state, read only.
- The business manager's review link (website.review_pages) opens `/link/{token}/actions`, reached from the
  email telling them a new date is asked for: each waiting request, accepted or declined in a form.
- The committee holds a link (`LinkStep.impact_review`) from the 6-month pack's email: the pack as a page (every
  action, status and evidence, overdue first), an outcome per action in a form.

Every form is the pydantic model `cig action ...` (or the update-action Prefect form) fills in, recorded by the
casework function they use: what they refuse the page refuses, naming the field, and nothing is written.
Needs the office and, from website.app, the link look-up, the audit and the form token's secret.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import quote

from fastapi import BackgroundTasks, FastAPI, Request
from pydantic import ValidationError
from sqlalchemy.orm import object_session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import HTMLResponse, RedirectResponse, Response

from casework.delivery import deliver_pending
from casework.forms import Form
from casework.learning import leads
from casework.learning import store as learning_store
from casework.learning.actions import impact_pack_for, record_outcomes
from casework.learning.forms import (
    ActionProgressForm, ActionUpdateForm, OutcomeForm, TargetDateDecisionForm, TargetDateRequestForm,
)
from casework.learning.rules import ActionStatus
from casework.links import LinkRefusal, LinkStep, StepFacts
from casework.office import Office
from casework.review import store as review_store
from casework.store import cases as store
from casework.store.cases import AlreadyRecorded, NotAtThisStep
from casework.store.tables import Case, PersonalLink
from website.fields import PageField, all_fields, field_errors, page_fields, posted_input, refusal_problem, \
    validation_problems
from website.pages import page
from website.review_pages import Opened, OpenLink, date_fields, posted_dates
from website.security import BodyTooLarge, form_token, form_token_valid, same_origin

log = logging.getLogger("website")
ACTION_LINK_STEPS = frozenset({LinkStep.action, LinkStep.agency_actions, LinkStep.impact_review})
STATUS_WORDS = {ActionStatus.overdue: "Overdue", ActionStatus.open: "Open", ActionStatus.done: "Done",
                ActionStatus.dropped: "Dropped"}
STATUS_TAGS = {ActionStatus.open: "govuk-tag--blue", ActionStatus.overdue: "govuk-tag--red",
               ActionStatus.done: "govuk-tag--green", ActionStatus.dropped: "govuk-tag--grey"}
OUTCOME_WORDS = {"impact_evidenced": "Impact evidenced", "more_needed": "More needed", "replanned": "Action re-planned"}
PLAN_WORDS = {"multi_agency": "Multi-agency plan", "single_agency": "Single-agency plan"}
CHOICE_WORDS = OUTCOME_WORDS | {"accepted": "Accept the new target date", "declined": "Decline it: the target date stays"}
FIELD_WORDS = {"outcome": "The committee's outcome for this action", "decision": "Your decision",
               "evidence": "The evidence that the action is done", "done_on": "When it was done, if not today"}
EVIDENCE_FIELD = PageField("evidence_files", "Files of evidence (optional: PDF, Word or OpenDocument, up to 5, 10 MB in all)",
                           "file", True)  # type: ignore[arg-type]


def now() -> datetime:
    return datetime.now(timezone.utc)


def action_step_facts(case: Case, link: PersonalLink) -> StepFacts:
    """The case as an action link sees it (casework.links.link_refusal): the lead's link is done once its action
    is done or dropped and closed once the action has another lead; the others open while the review has actions."""
    session = object_session(case)
    is_open, done = leads.action_link_state(session, case, link) if session is not None else (False, False)
    return StepFacts(round=link.round, meeting_on=link.meeting_on, open=is_open, done=done)


# --- the forms ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportForm:
    """A form of these pages: its model, the casework function that records it, the link step that may open
    it, the fields the page sets itself, the fields it shows, and its words."""

    model: type[Form]
    record: Callable[..., Any]
    step: LinkStep
    heading: str
    button: str
    done: str
    shows: tuple[str, ...]
    fixed: dict[str, str]
    intro: str
    upload: bool = False
    required: frozenset[str] = frozenset()  # optional in the model, needed on this form (the evidence of a done action)


def report_form(name: str, step: LinkStep, number: int) -> ReportForm | None:
    """The form `name` for a link of `step` (its action `number`, for the lead), or None when that link has none."""
    kind, _, subject = name.rpartition("-")
    if step is LinkStep.action and name == "progress":
        return ReportForm(ActionProgressForm, leads.record_progress, step, "Report progress", "Report the progress",
                          "Progress recorded", ("progress",), {"number": str(number)},
                          "What has been done so far and what is still to do; the action stays open and its target "
                          "date stands.")
    if step is LinkStep.action and name == "done":
        return ReportForm(ActionUpdateForm, record_done, step, "Record the action done, with its evidence",
                          "Record it done", "Action recorded done", ("evidence", "done_on"),
                          {"number": str(number), "status": "done"}, "Say what shows the action is done, and add any "
                          "files that show it (an audit, minutes, a briefing). You will not be reminded of it again.",
                          upload=True, required=frozenset({"evidence"}))
    if step is LinkStep.action and name == "new-date":
        return ReportForm(TargetDateRequestForm, leads.ask_target_date, step, "Ask for a new target date",
                          "Ask for the new date", "New target date asked for", ("target_on", "reason"),
                          {"number": str(number)}, "The business manager accepts or declines it, and you are told "
                          "by email; until then the target date stands.")
    if not subject.isdigit() or int(subject) < 1:
        return None
    if step is LinkStep.impact_review and kind == "outcome":
        return ReportForm(OutcomeForm, record_outcome, step, f"The committee's outcome for action {subject}",
                          "Record the outcome", f"Outcome recorded for action {subject}", ("outcome", "note", "on"),
                          {"number": subject}, "The committee's view of the action at its 6-month review; a later "
                          "outcome replaces this one.")
    if step is LinkStep.review and kind == "new-date":
        return ReportForm(TargetDateDecisionForm, leads.decide_target_date, step,
                          f"A new target date for action {subject}", "Record the decision",
                          f"Decision recorded for action {subject}", ("decision", "note"), {"number": subject},
                          "Accepted, the action's target date becomes the date asked for; declined, it stands. The "
                          "named lead is told by email either way.")
    return None


def record_done(office: Office, reference: str, form: ActionUpdateForm, *, now: datetime, actor: str,
                files: tuple[tuple[str, bytes], ...] = ()) -> object:
    return leads.record_done(office, reference, form, files=files, now=now, actor=actor)


def record_outcome(office: Office, reference: str, form: OutcomeForm, *, now: datetime, actor: str) -> object:
    """One action's outcome, as `cig learning outcome` records the committee's outcomes."""
    return record_outcomes(office, reference, [form], now=now, actor=actor)


def form_fields(form: ReportForm) -> tuple[PageField, ...]:
    leave_out = frozenset(form.model.model_fields) - frozenset(form.shows)
    fields = page_fields(form.model, labels=CHOICE_WORDS, leave_out=leave_out)
    fields = tuple(replace(item, label=FIELD_WORDS.get(item.name, item.label),
                           optional=item.optional and item.name not in form.required) for item in fields)
    return fields + ((EVIDENCE_FIELD,) if form.upload else ())


# --- the pages ------------------------------------------------------------------------------------

@dataclass
class ActionPages:
    """The learning pages on `office`: website.app hands an action link's page here."""

    office: Office
    open_link: OpenLink
    audit: Callable[..., None]
    audit_view: Callable[..., None]
    common: Callable[[], dict[str, object]]
    secret: bytes

    def actor(self, opened: Opened) -> str:
        """Who acted, as the audit trail names a person who came by link (never a name)."""
        who = {LinkStep.action: "the action's named lead", LinkStep.agency_actions: f"agency {opened.agency}'s CIG member",
               LinkStep.impact_review: "the professional development committee",
               LinkStep.review: "the business manager"}.get(opened.step, opened.step.value)
        return f"{who} (link {opened.id})"

    def today(self) -> date:
        return self.office.calendar.local_date(now())

    def number(self, opened: Opened) -> int:
        with self.office.sessions() as session:
            link = session.get(PersonalLink, opened.id)
            return link.round if link is not None else 0

    async def show(self, opened: Opened, token: str, request: Request) -> HTMLResponse:
        """The page an action link opens: the lead's action, the agency's actions, or the committee's pack."""
        here = f"/link/{token}"
        recorded = request.query_params.get("recorded")
        if opened.step is LinkStep.action:
            self.audit_view(opened, "action page viewed")
            return self.action_page(opened, here, recorded)
        if opened.step is LinkStep.agency_actions:
            self.audit_view(opened, "agency actions viewed")
            return self.agency_page(opened, here)
        self.audit_view(opened, "impact review pack viewed")
        return self.pack_page(opened, here, recorded)

    def action_page(self, opened: Opened, here: str, recorded: str | None) -> HTMLResponse:
        number = self.number(opened)
        found = leads.action_page(self.office, opened.reference or "", number, today=self.today())
        done = report_form(recorded, LinkStep.action, number) if recorded else None
        agency = self.office.partnership.agency_by_code.get(found.action.agency)
        return page("action_page.html", reference=opened.reference, action=found.action, history=found.history,
                    files=found.files, waiting=found.waiting, here=here, recorded=done.done if done else None,
                    agency=agency.name if agency else found.action.agency, plan=PLAN_WORDS.get(found.action.plan, ""),
                    state=STATUS_WORDS[found.action.status], tag=STATUS_TAGS[found.action.status], **self.common())

    def rows(self, reference: str, agency: str | None = None) -> list[dict[str, object]]:
        """The review's actions as the pack orders them (overdue first), with their evidence files."""
        pack, _ = impact_pack_for(self.office, reference, today=self.today())
        with self.office.sessions() as session:
            case = store.get_case(session, reference=reference)
            review = review_store.get_review(session, case=case)
            files = {a.number: [(d.id, d.document["filename"]) for d in leads.action_files(session, a)]
                     for a in learning_store.list_actions(session, review=review)}
        names = self.office.partnership.agency_by_code
        return [{"number": a.number, "action": a.action, "finding": a.finding, "lead": a.lead,
                 "agency": names[a.agency].name if a.agency in names else a.agency, "plan": PLAN_WORDS.get(a.plan, a.plan),
                 "target_on": a.target_on, "evidence_of_impact": a.evidence_of_impact,
                 "status": STATUS_WORDS[a.status], "tag": STATUS_TAGS[a.status], "note": a.status_note,
                 "outcome": OUTCOME_WORDS.get(a.outcome or "", None), "files": files.get(a.number, [])}
                for a in pack.actions if agency is None or a.agency == agency]

    def agency_page(self, opened: Opened, here: str) -> HTMLResponse:
        agency = self.office.partnership.agency(opened.agency or "")
        return page("action_agency.html", reference=opened.reference, agency=agency.name,
                    group=self.office.rules().term("group"),  # accountable as a member of the group, in its words
                    actions=self.rows(opened.reference or "", opened.agency), here=here, **self.common())

    def pack_page(self, opened: Opened, here: str, recorded: str | None) -> HTMLResponse:
        rows = self.rows(opened.reference or "")
        done = report_form(recorded, LinkStep.impact_review, 0) if recorded else None
        counts = {word: sum(1 for r in rows if r["status"] == word) for word in STATUS_WORDS.values()}
        return page("action_pack.html", reference=opened.reference, actions=rows, counts=counts, here=here,
                    recorded=done.done if done else None, **self.common())

    async def dates_page(self, request: Request, token: str, tasks: BackgroundTasks) -> Response:
        """The business manager's page of new target dates asked for in the review's plans (their review link)."""
        opened = self.open_link(request, token, tasks)
        if isinstance(opened, Response):
            return opened
        if opened.step is not LinkStep.review or not self.is_business_manager(opened):
            return page("not_found.html", status=404, **self.common())
        self.audit_view(opened, "new target dates viewed")
        with self.office.sessions() as session:
            case = store.get_case(session, reference=opened.reference or "")
            review = review_store.get_review(session, case=case)
            requests = leads.target_requests(session, review=review)
        rows = self.rows(opened.reference or "")
        actions = {r["number"]: r for r in rows}
        recorded = request.query_params.get("recorded")
        done = report_form(recorded, LinkStep.review, 0) if recorded else None
        return page("action_dates.html", reference=opened.reference, here=f"/link/{token}",
                    waiting=[(r, actions.get(r.number)) for r in requests if r.decision is None],
                    answered=[(r, actions.get(r.number)) for r in requests if r.decision is not None],
                    recorded=done.done if done else None, **self.common())

    def is_business_manager(self, opened: Opened) -> bool:
        with self.office.sessions() as session:
            link = session.get(PersonalLink, opened.id)
            recipient = link.recipient.casefold() if link else ""
        return recipient == self.office.partnership.contacts.business_manager.email.casefold()

    # a form

    def find_form(self, opened: Opened, name: str) -> ReportForm | None:
        if opened.step is LinkStep.review and not self.is_business_manager(opened):
            return None
        form = report_form(name, opened.step, self.number(opened) if opened.step is LinkStep.action else 0)
        if form is None or opened.step is LinkStep.action:
            return form
        with self.office.sessions() as session:  # an action of this review (nothing said of any other)
            case = store.get_case(session, reference=opened.reference or "")
            review = review_store.get_review(session, case=case)
            number = int(form.fixed["number"])
            if opened.step is LinkStep.review:  # answered already: the form says so (casework refuses a second)
                return form if leads.target_requests(session, review=review, number=number) else None
            return form if any(a.number == number for a in learning_store.list_actions(session, review=review)) else None

    def back(self, opened: Opened, token: str) -> str:
        return f"/link/{token}/actions" if opened.step is LinkStep.review else f"/link/{token}"

    def form_page(self, opened: Opened, token: str, form: ReportForm, values: dict[str, str] | None = None,
                  errors: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
        fields = form_fields(form)
        errors = errors or {}
        order = [item.id for item in all_fields(fields)]
        number = int(form.fixed["number"])
        about = leads.action_page(self.office, opened.reference or "", number, today=self.today())
        return page("action_form.html", status=status, reference=opened.reference, heading=form.heading,
                    action=about.action, waiting=about.waiting if opened.step is LinkStep.review else None,
                    form_title=form.intro, button=form.button, fields=fields,
                    dates=date_fields(form.model), upload=form.upload, values=values or {}, errors=errors,
                    error_list=sorted(errors.items(), key=lambda e: order.index(e[0]) if e[0] in order else 0),
                    back=self.back(opened, token), form_token=form_token(self.secret, opened.digest), **self.common())

    async def show_form(self, request: Request, token: str, name: str, tasks: BackgroundTasks) -> Response:
        opened = self.open_link(request, token, tasks)
        if isinstance(opened, Response):
            return opened
        form = self.find_form(opened, name)
        if form is None:
            return page("not_found.html", status=404, **self.common())
        if opened.step is LinkStep.review and self.answered(opened, form):
            return page("link_refused.html", status=409, reason=LinkRefusal.used, **self.common())
        self.audit_view(opened, "action form viewed", name, form=name)
        return self.form_page(opened, token, form)

    def answered(self, opened: Opened, form: ReportForm) -> bool:
        """Whether the new target date this form answers was answered already."""
        with self.office.sessions() as session:
            review = review_store.get_review(session, case=store.get_case(session, reference=opened.reference or ""))
            return not any(r.decision is None for r in leads.target_requests(session, review=review,
                                                                           number=int(form.fixed["number"])))

    async def post_form(self, request: Request, token: str, name: str, tasks: BackgroundTasks) -> Response:
        opened = self.open_link(request, token, tasks)
        if isinstance(opened, Response):
            return opened
        form = self.find_form(opened, name)
        files: list[tuple[str, bytes]] = []
        try:
            async with request.form(max_files=leads.MAX_EVIDENCE_FILES + 1, max_fields=20) as data:
                posted = {key: str(value) for key, value in data.items() if isinstance(value, str)}
                for given in data.getlist(EVIDENCE_FIELD.name):
                    if isinstance(given, UploadFile) and given.filename:
                        files.append((given.filename, await given.read()))
        except BodyTooLarge:
            if form is None:
                return page("not_found.html", status=404, **self.common())
            self.audit(opened, "action form refused", form=name, problem="too large")
            return self.form_page(opened, token, form, {}, {EVIDENCE_FIELD.name: "Files of evidence: the files are "
                                                            "too large; the limit is 10 MB in all"}, 413)
        if not (same_origin(request, self.office.settings.website_url)
                and form_token_valid(self.secret, opened.digest, posted.get("form_token") or "")):
            self.audit(opened, "form post refused", problem="not from this website's page")
            return page("forbidden.html", status=403, **self.common())
        if form is None:
            return page("not_found.html", status=404, **self.common())
        fields = form_fields(form)
        moment = now()
        values, problems = posted_dates(date_fields(form.model), posted)
        given = None
        try:
            given = form.model.model_validate(posted_input(fields, values) | form.fixed,
                                              context={"today": self.office.calendar.local_date(moment)})
        except ValidationError as invalid:
            problems += validation_problems(invalid)
        if problems or given is None:
            self.audit(opened, "action form refused", form=name, problem="form")
            return self.form_page(opened, token, form, posted, field_errors(fields, problems), 400)
        try:
            if form.upload:  # reading documents through takes a while: off the event loop
                await run_in_threadpool(form.record, self.office, opened.reference or "", given, now=moment,
                                        actor=self.actor(opened), files=tuple(files))
            else:
                form.record(self.office, opened.reference or "", given, now=moment, actor=self.actor(opened))
        except AlreadyRecorded:
            return page("link_refused.html", status=409, reason=LinkRefusal.used, **self.common())
        except (NotAtThisStep, ValueError, LookupError) as refused:
            self.audit(opened, "action form refused", form=name, problem="case rule")
            field, why = refusal_problem(refused)
            why = why.split(": ", 1)[1] if why.startswith(f"{opened.reference}: ") else why
            errors = field_errors(fields, [(field, why)])
            if field == EVIDENCE_FIELD.name:  # a file's name keeps its case
                errors = {field: f"Files of evidence: {why}"}
            return self.form_page(opened, token, form, posted, errors, 400)
        tasks.add_task(self.after, opened.reference or "")
        if form.upload:  # the action is done: its link opens it no more, so the confirmation is this page
            return page("action_done.html", reference=opened.reference, number=given.number,  # type: ignore[attr-defined]
                        done_on=given.done_on or self.office.calendar.local_date(moment),  # type: ignore[attr-defined]
                        files=[name for name, _ in files], **self.common())
        return RedirectResponse(f"{self.back(opened, token)}?recorded={name}", status_code=303)

    async def after(self, reference: str) -> None:
        """After the page: send what the form owes (the business manager told of a new date asked, the lead of
        the answer)."""
        try:
            await deliver_pending(self.office, reference=reference)
        except Exception as failed:  # what cannot go now stays in the outbox; the sweep sends it
            log.warning("an action form's messages left in the outbox: %s", type(failed).__name__)

    async def download(self, request: Request, token: str, number: int, tasks: BackgroundTasks) -> Response:
        """An evidence file: to the lead of its action, the agency's CIG member (its agency's actions) and the committee."""
        opened = self.open_link(request, token, tasks)
        if isinstance(opened, Response):
            return opened
        found = None
        if opened.step in ACTION_LINK_STEPS:
            numbers: set[int] | None = None
            if opened.step is LinkStep.action:
                numbers = {self.number(opened)}
            elif opened.step is LinkStep.agency_actions:
                numbers = {int(str(r["number"])) for r in self.rows(opened.reference or "", opened.agency)}
            found = leads.evidence_file(self.office, opened.reference or "", number, numbers=numbers)
        if found is None:
            return page("not_found.html", status=404, **self.common())
        self.audit_view(opened, "action evidence downloaded", number, document=number)
        return Response(base64.b64decode(found["content"]), media_type=found["content_type"],
                        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(found['filename'])}"})


def add_action_routes(app: FastAPI, office: Office, *, open_link: OpenLink, audit: Callable[..., None],
                      audit_view: Callable[..., None], common: Callable[[], dict[str, object]],
                      secret: bytes) -> ActionPages:
    """Add the learning pages' forms to `app`; the page an action link's own address shows is the returned
    object's `show` (website.app hands it over)."""
    pages = ActionPages(office, open_link, audit, audit_view, common, secret)

    @app.get("/link/{token}/actions", response_class=HTMLResponse)
    async def dates_page(request: Request, token: str, tasks: BackgroundTasks) -> Response:
        return await pages.dates_page(request, token, tasks)

    @app.get("/link/{token}/report/{name}", response_class=HTMLResponse)
    async def show_form(request: Request, token: str, name: str, tasks: BackgroundTasks) -> Response:
        return await pages.show_form(request, token, name, tasks)

    @app.post("/link/{token}/report/{name}", response_class=HTMLResponse)
    async def post_form(request: Request, token: str, name: str, tasks: BackgroundTasks) -> Response:
        return await pages.post_form(request, token, name, tasks)

    @app.get("/link/{token}/evidence/{number}")
    async def download(request: Request, token: str, number: int, tasks: BackgroundTasks) -> Response:
        return await pages.download(request, token, number, tasks)

    return pages
