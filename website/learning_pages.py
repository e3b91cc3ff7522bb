"""A review's learning on the secure website: the training officer writes the learning summary (seed 001 Appendix
B), records how the learning went out and the audits that tested it, and downloads the summary and the learning
and improvement index.

The training officer holds a link (`LinkStep.learning`) from the email that tells them a review's learning is
theirs to write up, sent when the board ratifies the final report (casework.learning.actions.learning_write_up).
It opens the review's learning page at `/link/{token}`: what the summary takes from the case, the summary as
recorded, the dissemination and audits recorded, and the downloads (`/link/{token}/learning-summary.docx`,
`/link/{token}/learning-index.xlsx`, through this link only). Three forms at `/link/{token}/learning/{name}`:
the summary, a dissemination (or the practice audit or staff questionnaire that tested the learning), an audit
that is not a case review entered in the index. Each is the pydantic model `cig learning summary|disseminate|audit`
fills in, recorded by the same casework function: what they refuse (a text naming the child or a significant
person, a date in the future) the page refuses, naming the field in the error summary, and nothing is written.
The link stays open while the review is on record: the summary can be revised and dissemination goes on.

Needs the office and, from website.app, the link look-up, the audit and the form token's secret.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from fastapi import BackgroundTasks, FastAPI, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, Response

from casework.forms import Form
from casework.learning import actions as learning
from casework.learning.documents import index_xlsx
from casework.learning.forms import DisseminationForm, DisseminationKind, IndexEntryForm, LearningSummaryForm
from casework.links import LinkStep, StepFacts
from casework.office import Office
from casework.store.tables import Case, PersonalLink
from website.fields import PageField, all_fields, field_errors, page_fields, posted_input, refusal_problem, \
    validation_problems
from website.pages import page
from website.review_pages import Opened, OpenLink, date_fields, posted_dates
from website.security import form_token, form_token_valid, same_origin

WORD_DOCUMENT = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
WORKBOOK = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KIND_WORDS = {
    DisseminationKind.learning_brief: "A learning brief",
    DisseminationKind.learning_session: "A multi-agency learning session (by the review's author)",
    DisseminationKind.training: "Training",
    DisseminationKind.newsletter: "A newsletter",
    DisseminationKind.regional_forum: "A regional forum",
    DisseminationKind.summary_report: "The summary learning and improvement report to the partnership",
    DisseminationKind.practice_audit: "A practice learning focus group audit that tested what practitioners know",
    DisseminationKind.staff_questionnaire: "A staff questionnaire that tested what practitioners know",
}
TESTED = frozenset({DisseminationKind.practice_audit, DisseminationKind.staff_questionnaire})


def now() -> datetime:
    return datetime.now(timezone.utc)


def learning_step_facts(case: Case, link: PersonalLink) -> StepFacts:
    """The case as a learning link sees it (casework.links.link_refusal): open while the case has a review; never
    used up (the summary can be revised, and dissemination and audits go on for months)."""
    return StepFacts(round=link.round, meeting_on=link.meeting_on, open=case.review is not None, done=False)


@dataclass(frozen=True)
class LearningForm:
    """One of the learning page's forms: its model (the `cig learning` command's), the fields the page sets
    itself, its words, and the casework function that records it."""

    name: str
    model: type[Form]
    heading: str
    intro: str
    button: str
    done: str
    record: Callable[..., object]
    fixed: tuple[str, ...] = ()


def record_audit(office: Office, reference: str, form: IndexEntryForm, *, now: datetime, actor: str) -> object:
    """An audit entered in the index from a review's learning page (the index is the partnership's, not the review's)."""
    return learning.add_index_entry(office, form, now=now, actor=actor)


FORMS = {form.name: form for form in (
    LearningForm("summary", LearningSummaryForm, "Write the learning summary",
                 "Every field of the partnership's Learning Summary template that the case does not give. Anonymised: "
                 "describe people by age and relationship, never by name, and give no date of birth.",
                 "Save the learning summary", "Learning summary saved", learning.record_summary),
    LearningForm("dissemination", DisseminationForm, "Record dissemination or an audit",
                 "How the learning went out to practitioners, or the audit or questionnaire that tested it afterwards. "
                 "Anonymised, like the summary.", "Record it", "Recorded", learning.record_dissemination, fixed=("by",)),
    LearningForm("audit", IndexEntryForm, "Enter an audit in the learning index",
                 "An audit that is not a case review (a multi-agency audit, a section 11 audit): it becomes a row "
                 "of the learning and improvement index. Anonymised.", "Enter the audit", "Audit entered in the index",
                 record_audit),
)}
FIELD_WORDS = {"kind": "What it was", "on": "When", "harmed_on": "The date the child was seriously harmed, if known "
               "(where the child died, the date of death already recorded is used)"}


def form_fields(form: LearningForm) -> tuple[PageField, ...]:
    fields = page_fields(form.model, labels={k.value: v for k, v in KIND_WORDS.items()},
                         leave_out=frozenset(form.fixed))
    return tuple(PageField(f.name, FIELD_WORDS.get(f.name, f.label), f.kind, f.optional, f.options, f.children)
                 for f in fields)


def form_values(recorded: dict[str, Any] | None, dates: frozenset[str]) -> dict[str, str]:
    """A recorded form's answers as the page's fields hold them (a date as its day, month and year)."""
    values: dict[str, str] = {}
    for name, value in (recorded or {}).items():
        if value is None:
            continue
        if name in dates:
            given = date.fromisoformat(str(value))
            values |= {f"{name}-day": str(given.day), f"{name}-month": str(given.month), f"{name}-year": str(given.year)}
        else:
            values[name] = str(value)
    return values


@dataclass
class LearningPages:
    """The training officer's learning page on `office`: website.app hands a learning link's page here."""

    office: Office
    open_link: OpenLink
    audit: Callable[..., None]
    audit_view: Callable[..., None]
    common: Callable[[], dict[str, object]]
    secret: bytes

    def actor(self, opened: Opened) -> str:
        """Who acted, as the audit trail names a person who came by link (their role, never a name)."""
        return f"the training officer (link {opened.id})"

    def officer(self) -> str:
        person = self.office.partnership.contacts.training_officer
        return person.name if person is not None else "the training officer"

    async def show(self, opened: Opened, token: str, request: Request) -> HTMLResponse:
        """The page a learning link opens: what the summary takes from the case, the summary as recorded, the
        dissemination and audits recorded, the downloads and the forms."""
        self.audit_view(opened, "learning page viewed")
        reference = opened.reference or ""
        facts = learning.summary_facts(self.office, reference)
        recorded = learning.recorded_summary(self.office, reference)
        spread = [{"kind": KIND_WORDS[d.kind], "on": d.on, "audience": d.audience, "note": d.note or "",
                   "tested": d.kind in TESTED} for d in learning.disseminations(self.office, reference)]
        return page("learning_page.html", reference=reference, facts=facts, recorded=recorded, spread=spread,
                    here=f"/link/{token}", **self.common())

    def form_page(self, opened: Opened, token: str, form: LearningForm, values: dict[str, str] | None = None,
                  errors: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
        fields = form_fields(form)
        errors = errors or {}
        order = [item.id for item in all_fields(fields)]
        reference = opened.reference or ""
        facts = learning.summary_facts(self.office, reference) if form.name == "summary" else None
        if values is None and form.name == "summary":
            values = form_values(learning.recorded_summary(self.office, reference), date_fields(form.model))
        return page("learning_form.html", status=status, reference=reference, heading=form.heading,
                    intro=form.intro, button=form.button, facts=facts, fields=fields, dates=date_fields(form.model),
                    values=values or {}, errors=errors,
                    error_list=sorted(errors.items(), key=lambda e: order.index(e[0]) if e[0] in order else 0),
                    back=f"/link/{token}", form_token=form_token(self.secret, opened.digest), **self.common())

    def opened_here(self, request: Request, token: str, tasks: BackgroundTasks) -> Opened | Response:
        """The link, if it is a learning link that opens; the page it gives otherwise (not found for another step)."""
        opened = self.open_link(request, token, tasks)
        if isinstance(opened, Response):
            return opened
        if opened.step is not LinkStep.learning:
            return page("not_found.html", status=404, **self.common())
        return opened

    async def show_form(self, request: Request, token: str, name: str, tasks: BackgroundTasks) -> Response:
        opened = self.opened_here(request, token, tasks)
        if isinstance(opened, Response):
            return opened
        form = FORMS.get(name)
        if form is None:
            return page("not_found.html", status=404, **self.common())
        self.audit_view(opened, "learning form viewed", name, form=name)
        return self.form_page(opened, token, form)

    async def post_form(self, request: Request, token: str, name: str, tasks: BackgroundTasks) -> Response:
        opened = self.opened_here(request, token, tasks)
        if isinstance(opened, Response):
            return opened
        async with request.form(max_files=0, max_fields=40) as data:
            posted = {key: str(value) for key, value in data.items() if isinstance(value, str)}
        if not (same_origin(request, self.office.settings.website_url)
                and form_token_valid(self.secret, opened.digest, posted.get("form_token") or "")):
            self.audit(opened, "form post refused", problem="not from this website's page")
            return page("forbidden.html", status=403, **self.common())
        form = FORMS.get(name)
        if form is None:
            return page("not_found.html", status=404, **self.common())
        fields = form_fields(form)
        moment = now()
        values, problems = posted_dates(date_fields(form.model), posted)
        fixed = {"by": self.officer()} if "by" in form.fixed else {}
        given = None
        try:
            given = form.model.model_validate(posted_input(fields, values) | fixed,
                                              context={"today": self.office.calendar.local_date(moment)})
        except ValidationError as invalid:
            problems += validation_problems(invalid)
        if problems or given is None:
            self.audit(opened, "learning form refused", form=name, problem="form")
            return self.form_page(opened, token, form, posted, field_errors(fields, problems), 400)
        try:
            form.record(self.office, opened.reference or "", given, now=moment, actor=self.actor(opened))
        except (ValueError, LookupError) as refused:
            self.audit(opened, "learning form refused", form=name, problem="case rule")
            field, why = refusal_problem(refused)
            why = why.split(": ", 1)[1] if why.startswith(f"{opened.reference}: ") else why
            return self.form_page(opened, token, form, posted, field_errors(fields, [(field, why)]), 400)
        return page("learning_done.html", reference=opened.reference, form=form.name, heading=form.done,
                    given=given, kind=KIND_WORDS.get(getattr(given, "kind", None), ""), here=f"/link/{token}",
                    **self.common())

    async def summary_docx(self, request: Request, token: str, tasks: BackgroundTasks) -> Response:
        """The review's learning summary as recorded, as a Word document (the template's two-column table)."""
        opened = self.opened_here(request, token, tasks)
        if isinstance(opened, Response):
            return opened
        reference = opened.reference or ""
        try:
            _, docx = learning.summary_files(self.office, reference)
        except LookupError:
            return page("not_found.html", status=404, **self.common())
        self.audit_view(opened, "learning summary downloaded")
        return Response(docx, media_type=WORD_DOCUMENT,
                        headers={"content-disposition": f'attachment; filename="learning-summary-{reference}.docx"'})

    async def index_workbook(self, request: Request, token: str, tasks: BackgroundTasks) -> Response:
        """The learning and improvement index (every review by its reference, and every audit) as a workbook."""
        opened = self.opened_here(request, token, tasks)
        if isinstance(opened, Response):
            return opened
        entries = learning.learning_index(self.office, today=self.office.calendar.local_date(now()))
        content = index_xlsx(entries, title=f"{self.office.partnership.name}: learning and improvement index")
        self.audit_view(opened, "learning index downloaded")
        return Response(content, media_type=WORKBOOK,
                        headers={"content-disposition": 'attachment; filename="learning-index.xlsx"'})


def add_learning_routes(app: FastAPI, office: Office, *, open_link: OpenLink, audit: Callable[..., None],
                        audit_view: Callable[..., None], common: Callable[[], dict[str, object]],
                        secret: bytes) -> LearningPages:
    """Add the learning forms and downloads to `app`; the page a learning link's own address shows is the
    returned object's `show` (website.app hands it over)."""
    pages = LearningPages(office, open_link, audit, audit_view, common, secret)

    @app.get("/link/{token}/learning/{name}", response_class=HTMLResponse)
    async def show_form(request: Request, token: str, name: str, tasks: BackgroundTasks) -> Response:
        return await pages.show_form(request, token, name, tasks)

    @app.post("/link/{token}/learning/{name}", response_class=HTMLResponse)
    async def post_form(request: Request, token: str, name: str, tasks: BackgroundTasks) -> Response:
        return await pages.post_form(request, token, name, tasks)

    @app.get("/link/{token}/learning-summary.docx")
    async def summary_docx(request: Request, token: str, tasks: BackgroundTasks) -> Response:
        return await pages.summary_docx(request, token, tasks)

    @app.get("/link/{token}/learning-index.xlsx")
    async def index_workbook(request: Request, token: str, tasks: BackgroundTasks) -> Response:
        return await pages.index_workbook(request, token, tasks)

    return pages
