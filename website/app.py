"""The website's application: `create_app(office)` builds it; `python -m website.app` serves it (uvicorn)
on the host and port of CIG_WEBSITE_URL, or those given.

One address per personal link, `/link/{token}`: GET shows the link's page, POST acts on its step. The
link decides everything (casework.links): which case, which step, whose. A refused link gets a page
that says why and nothing about the case. Every submission is audited in the case's audit trail (the
link's id, never its token), and views once per link per ten minutes, with how many went unrecorded;
the server's own log names the route, never the token.

Only requests for CIG_WEBSITE_URL's host are answered (a redirect is never built on another). The client
is the address a request came from, or the one a trusted reverse proxy forwarded
(CIG_WEBSITE_TRUSTED_PROXIES; none by default). Link look-ups that fail are throttled per client and
each is audited (no token, no case); a link's page views are throttled per link; the administrator is
emailed once when a spell of throttling starts (website.notices).
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, urlsplit

import uvicorn
from fastapi import BackgroundTasks, FastAPI, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import object_session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from casework.referral import actions
from casework.delivery import deliver_pending
from casework.links import LinkRefusal, LinkStep, StepFacts, link_refusal, looks_like_token, token_digest
from casework.forms import CaseFacts, DecisionForm, PartnerDecisionForm, ScreeningForm
from casework.model import ReturnStatus, Stage, review_labels
from casework.referral.criteria import criteria_indication
from casework.referral.views import case_context_markdown, case_summary_markdown
from casework.office import Office, open_office
from casework.meetings.papers import paper_filename
from casework.meetings.preparation import AGENDA_DOCUMENT, meeting_papers_folder
from casework.store import cases as store
from casework.store import data_keys
from casework.store import decisions as decision_store
from casework.store import links as link_store
from casework.store.cases import AlreadyRecorded, NotAtThisStep
from casework.store.tables import Case, OutboxMessage, PersonalLink, ReturnDocument
from casework.referral.actions import queue
from config.settings import Profile
from website.chairs import (
    answers_shown, case_substance, decision_contradiction, decision_record, partner_organisation, partner_record,
    screening_record,
)
from website.pages import page
from website.fields import PageField, all_fields, field_errors, page_fields, posted_input, refusal_problem, validation_problems
from website.rendering import markdown_html
from website.ratification_pages import RatificationPages, add_ratification_routes, ratification_step_facts
from website.action_pages import ACTION_LINK_STEPS, ActionPages, action_step_facts, add_action_routes
from website.learning_pages import LearningPages, add_learning_routes, learning_step_facts
from website.review_pages import REVIEW_LINK_STEPS, ReviewPages, add_review_routes, review_step_facts
from website.returns import FIELD_WORDS, MAX_FILES, MAX_UPLOAD_BYTES, SIZE_WORDS, ReturnInput, read_return
from website.notices import link_holder, throttling_notice
from website.security import (
    BodyLimit, BodyTooLarge, RepeatedViews, SecurityHeaders, Throttle, Throttling, client_key, form_token,
    form_token_valid, same_origin,
)
from website.steps import hand_over, wake_case_run

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("website")
LOOKUPS_ALLOWED = 10  # failed link look-ups from one client in LOOKUP_WINDOW, then its look-ups are refused
LOOKUP_WINDOW = timedelta(minutes=10)
VIEWS_ALLOWED = 300  # requests through one link in VIEW_WINDOW, then it rests: a business manager working through a review's task list spends about 3 a task; a script, hundreds
VIEW_WINDOW = timedelta(minutes=10)
VIEW_RECORD_INTERVAL = timedelta(minutes=10)  # a link's repeated views of one page: one audit row each interval
WORD_DOCUMENT = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class OpenedLink:
    """A link that opens its page: the stored link and, for a step of a case, the case's reference."""

    id: int
    digest: str
    step: LinkStep
    agency: str | None
    round: int
    reference: str | None
    meeting_on: date | None = None
    partner: str | None = None  # a decider who answers for themselves (wt2023: the safeguarding partner's key)

    @property
    def actor(self) -> str:
        """Who acted, as the audit trail names a person who came by link (never a name)."""
        who = f"agency {self.agency}" if self.agency else ("a member" if self.step is LinkStep.papers else self.step.value)
        if self.partner:
            who = f"partner {self.partner}"
        return f"{who} (link {self.id})"


@dataclass(frozen=True)
class ChairStep:
    """A chair's step on the website: its form (the model the Prefect UI and `cig` use) and its words."""

    model: type[ScreeningForm] | type[DecisionForm] | type[PartnerDecisionForm]
    heading: str
    button: str
    done: str


CHAIR_STEPS = {
    LinkStep.screening: ChairStep(
        ScreeningForm, "Screen the referral", "Record the screening", "Screening recorded"),
    LinkStep.decision: ChairStep(DecisionForm, "Record your decision", "Record the decision", "Decision recorded"),
}
# The decision page of a decider who answers for themselves (the rule set's deciding step decided jointly: wt2023's
# safeguarding partners): the same page, with each decider's answer and rationale instead of the whole decision.
PARTNER_STEP = ChairStep(PartnerDecisionForm, "Record your answer to the recommendation", "Record your answer",
                         "Answer recorded")


def chair_step(link: "OpenedLink") -> ChairStep:
    """The step a chair's or a decider's link acts on."""
    return PARTNER_STEP if link.partner else CHAIR_STEPS[link.step]


def paper_title(name: str) -> str:
    """A paper's title on the papers page: "The agenda", or "Case paper NSCP-2026-0001"."""
    return "The agenda" if name == AGENDA_DOCUMENT else f"Case paper {name.removeprefix('case-').rsplit('.', 1)[0]}"


# The steps whose pages live in their own module, each with how the case looks from it (casework.links).
PAGES_STEP_FACTS: dict[LinkStep, Callable[[Case, PersonalLink], StepFacts]] = {
    **dict.fromkeys(REVIEW_LINK_STEPS, review_step_facts),
    **dict.fromkeys(ACTION_LINK_STEPS, action_step_facts),
    LinkStep.ratification: ratification_step_facts,
    LinkStep.learning: learning_step_facts,
}


def step_facts(case: Case, link: PersonalLink) -> StepFacts:
    """The case as the link's step sees it (casework.links)."""
    if link.step in PAGES_STEP_FACTS:
        return PAGES_STEP_FACTS[link.step](case, link)
    if link.step == LinkStep.information_return:
        request = next((r for r in case.requests if r.round == case.round and r.agency == link.agency), None)
        done = request is not None and request.status != ReturnStatus.outstanding
        is_open = request is not None and case.stage == Stage.awaiting_returns and not done
    elif link.step == LinkStep.screening:
        done, is_open = case.screening is not None, case.stage == Stage.awaiting_screening
    elif link.partner is not None:  # one decider's answer: theirs alone, open until the decision is made
        answered = {a.partner for a in decision_store.partner_answers(object_session(case), case=case)}
        done = link.partner in answered
        is_open = case.stage == Stage.awaiting_decision and case.decision is None
    else:
        done, is_open = case.decision is not None, case.stage == Stage.awaiting_decision
    return StepFacts(round=case.round, meeting_on=case.meeting_on, open=is_open, done=done)


class RouteLog:
    """The website's own access log: method, route, status and time; a link's route as `/link/{token}`,
    never its token (uvicorn's access log is off: it would write the token)."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500

        async def noting_status(message) -> None:  # type: ignore[no-untyped-def]
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            path = scope["path"]
            route = ("/link/{token}" if path.startswith("/link/") else path if path == "/" or
                     path.startswith(("/assets/", "/static/")) else "(another address)")
            log.info("%s %s %s %.0f ms", scope["method"], route, status, 1000 * (time.monotonic() - started))


def create_app(office: Office | None = None) -> RouteLog:
    """The website on `office` (opened from the settings when not given): the FastAPI application inside its
    security layers (route log, security headers, body limit), as one ASGI application for uvicorn."""
    the_office = office or open_office()
    settings = the_office.settings
    secret = hashlib.sha256(b"cig website form token\0" + data_keys(settings)[0].encode()).digest()
    lookups = Throttle(allowed=LOOKUPS_ALLOWED, window=LOOKUP_WINDOW)
    views = Throttle(allowed=VIEWS_ALLOWED, window=VIEW_WINDOW)
    repeated = RepeatedViews(interval=VIEW_RECORD_INTERVAL)
    partnership = the_office.partnership.name
    template = the_office.partnership.ciginf1_template
    blank_form = template.read_bytes() if template is not None else None  # the CIGINF1 each request email carries

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, title="Secure website")
    app.mount("/assets", StaticFiles(directory=STATIC / "assets", check_dir=False), name="assets")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def common() -> dict[str, object]:
        return {"partnership": partnership, "administrator": the_office.partnership.contacts.administrator}

    def refused(reason: LinkRefusal, status: int = 410) -> HTMLResponse:
        return page("link_refused.html", status=status, reason=reason, **common())

    def audit(link: OpenedLink, action: str, **detail: object) -> None:
        with the_office.sessions.begin() as session:
            store.audit(session, reference=link.reference, actor=link.actor, action=action, now=now(),
                        link=link.id, **detail)

    def audit_view(link: OpenedLink, action: str, *what: object, **detail: object) -> None:
        """Audit a view (of the link's page, of one paper): the first, then one per interval, with how
        many views of the same went unrecorded in between."""
        unrecorded = repeated.record((link.id, action, *what), now())
        if unrecorded is not None:
            audit(link, action, **detail, **({"unrecorded_views": unrecorded} if unrecorded else {}))

    def tell_administrator(tasks: BackgroundTasks, started: Throttling, moment: datetime, *, window: timedelta,
                           allowed: int, **facts: str | None) -> None:
        """When `started` opened a spell of throttling: queue the administrator's notice, sent after the page."""
        if not started.starts_episode:
            return
        notice = throttling_notice(the_office.partnership, started_at=moment, until=started.until, allowed=allowed,
                                   window=window, **facts)
        with the_office.sessions.begin() as session:
            queue(session, None, [notice], moment)
        tasks.add_task(deliver_notice)

    async def deliver_notice() -> None:
        try:
            await deliver_pending(the_office)
        except Exception as failed:  # the notice stays in the outbox; the sweep sends it
            log.warning("the administrator's throttling notice left in the outbox: %s", type(failed).__name__)

    def lookup_failed(client: str, moment: datetime, tasks: BackgroundTasks) -> HTMLResponse:
        """A token that opens no link: audited (the client, no token, no case), counted against the client."""
        started = lookups.count(client, moment)
        with the_office.sessions.begin() as session:
            store.audit(session, reference=None, actor="website", action="link look-up refused", now=moment,
                        reason=LinkRefusal.unknown.name, client=client)
            if started is not None:
                store.audit(session, reference=None, actor="website", action="link look-ups throttled", now=moment,
                            client=client, until=started.until.isoformat(), failed=lookups.allowed)
        if started is not None:
            tell_administrator(tasks, started, moment, window=lookups.window, allowed=lookups.allowed, client=client)
        return refused(LinkRefusal.unknown, 404)

    def open_link(request: Request, token: str, tasks: BackgroundTasks) -> OpenedLink | HTMLResponse:
        """The link a token opens, or the page saying why it does not. A failed look-up is audited and
        throttled per client; every request through a link counts against it (views throttled)."""
        client = client_key(request.client.host if request.client else None)
        moment = now()
        if lookups.blocked(client, moment):
            return page("link_refused.html", status=429, reason=None, throttled=True, **common())
        with the_office.sessions() as session:
            link = link_store.find_link(session, token=token) if looks_like_token(token) else None
            if link is not None:
                # the case alone: its step's facts load what they read of it (the requests, the deadlines, the
                # review) in this session; loading the case again with all its requests and deadlines took about
                # a third of a review page's time
                case = session.get(Case, link.case_id) if link.case_id is not None else None
                facts = step_facts(case, link) if case is not None else None
                reason = link_refusal(link_store.link_facts(link), facts, now=moment)
                opened = OpenedLink(link.id, link.token_hash, LinkStep(link.step), link.agency, link.round,
                                    case.reference if case else None, link.meeting_on, link.partner)
        if link is None:
            return lookup_failed(client, moment, tasks)
        if views.blocked(str(opened.id), moment):
            return page("link_refused.html", status=429, reason=None, throttled=True, viewed=True, **common())
        started = views.count(str(opened.id), moment)
        if started is not None:
            audit(opened, "link views throttled", until=started.until.isoformat(), views=views.allowed)
            tell_administrator(tasks, started, moment, window=views.window, allowed=views.allowed,
                               reference=opened.reference,
                               holder=f"the decider for {partner_organisation(the_office.partnership, opened.partner)}"
                               if opened.partner else link_holder(the_office.partnership, opened.step, opened.agency))
        if reason is not None:
            audit_view(opened, "link refused", reason.name, reason=reason.name)
            if reason is LinkRefusal.used and opened.step in CHAIR_STEPS:  # says what was recorded, and what next
                return chair_recorded(opened, already=True, status=409 if request.method == "POST" else 200)
            return refused(reason)
        return opened

    def return_page(link: OpenedLink, given: ReturnInput | None = None, status: int = 200) -> HTMLResponse:
        with the_office.sessions() as session:
            case = store.get_case(session, reference=link.reference or "")
            request = next(r for r in case.requests if r.round == case.round and r.agency == link.agency)
            personal = case.personal or {}
            rules = the_office.rules(case.regime)
            context = {
                "reference": case.reference, "agency": the_office.partnership.agency(link.agency or "").name,
                "due_at": request.due_at, "by_return": request.by_return, "meeting_at": case.meeting_at,
                "meeting": rules.term("meeting"), "further_information": case.round > 1,
                "child": personal.get("child") or {}, "people": personal.get("significant_people") or [],
            }
        values = given.values if given else {"status": "", "involvement": "", "key_practitioners": "", "attendees": ""}
        return page("return.html", status=status, values=values, errors=given.errors if given else {},
                    error_list=given.error_list if given else [], words=FIELD_WORDS, size_words=SIZE_WORDS,
                    max_files=MAX_FILES, form_token=form_token(secret, link.digest), **context, **common())

    def meeting_papers(link: OpenedLink) -> dict[str, Path]:
        """The meeting's papers on disk (the pack casework.meetings.preparation writes) as Word documents, by
        file name: the agenda first, then the paper of each case listed for the meeting now."""
        folder = meeting_papers_folder(settings.papers_dir, link.meeting_on) if link.meeting_on else None
        if folder is None or not (folder / AGENDA_DOCUMENT).exists():
            return {}
        with the_office.sessions() as session:
            listed = sorted(c.reference for c in store.meeting_cases(session, meeting_on=link.meeting_on))  # type: ignore[arg-type]
        cases = {paper_filename(r, ".docx"): folder / paper_filename(r, ".docx") for r in listed}
        return {AGENDA_DOCUMENT: folder / AGENDA_DOCUMENT} | {name: path for name, path in cases.items() if path.exists()}

    def papers_page(link: OpenedLink, token: str) -> HTMLResponse:
        files = meeting_papers(link)
        audit_view(link, "meeting papers viewed", meeting_on=link.meeting_on.isoformat() if link.meeting_on else None,
              papers=len(files))
        if not files:
            return page("papers_not_ready.html", status=404, **common())
        papers = [{"name": name, "title": paper_title(name),
                   "html": markdown_html(path.with_suffix(".md").read_text(encoding="utf-8"), shift_headings=1)}
                  for name, path in files.items() if path.with_suffix(".md").exists()]
        rule = the_office.partnership.meetings
        documents = [{"id": d.id, "reference": reference, "agency": the_office.partnership.agency(d.agency).name,
                      "filename": d.document["filename"]} for reference, d in returned_documents(link)]
        return page("papers.html", meeting_on=link.meeting_on, meeting=the_office.rules().term("meeting"),
                    papers=papers, documents=documents, location=rule.location, here=f"/link/{token}", **common())

    def returned_documents(link: OpenedLink) -> list[tuple[str, ReturnDocument]]:
        """The CIGINF1 documents uploaded for the cases listed for the link's meeting, this round, by case."""
        if link.meeting_on is None:
            return []
        with the_office.sessions() as session:
            return [(case.reference, document) for case in store.meeting_cases(session, meeting_on=link.meeting_on)
                    for document in link_store.return_documents(session, case=case, round=case.round)]

    def chair_fields(link: OpenedLink, regime: str) -> tuple[PageField, ...]:
        model = chair_step(link).model
        return page_fields(model, labels=review_labels(the_office.rules(regime).terms))

    def chair_page(link: OpenedLink, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                   status: int = 200) -> HTMLResponse:
        """The step's page: what the Prefect UI's Resume form shows (the case summary and context, as
        markdown rendered) and the same model's fields."""
        moment = now()
        with the_office.sessions() as session:
            case = store.get_case(session, reference=link.reference or "")
            rules = the_office.rules(case.regime)
            summary = case_summary_markdown(case, rules, the_office.calendar, moment,
                                            step="answer" if link.partner else link.step.value)
            context = case_context_markdown(case, rules, the_office.calendar, moment, "")
            fields = chair_fields(link, case.regime)
            substance = case_substance(case, the_office.partnership, rules)
            group = rules.term("group")
            answers = answers_shown(decision_store.partner_answers(session, case=case), the_office.partnership,
                                    the_office.calendar, link.partner) if link.partner else []
            indication = criteria_indication(CaseFacts.model_validate(case.facts), rules.criteria_advice) \
                if link.partner else None
            regime_words = {"deciders": rules.term("deciders"), "decision": rules.term("decision"),
                     "panel": rules.term("panel_short")}
        step = chair_step(link)
        errors = errors or {}
        order = [item.id for item in all_fields(fields)]
        return page("chair_step.html", status=status, reference=link.reference, heading=step.heading,
                    form_title=(step.model.__doc__ or "").strip(), button=step.button,
                    summary=markdown_html(summary), context=markdown_html(context, shift_headings=2),
                    step=link.step.value, substance=substance, group=group, answers=answers, regime_words=regime_words,
                    indication=markdown_html(indication.as_markdown(), shift_headings=2) if indication else None,
                    fields=fields, values=values or {}, errors=errors,
                    error_list=sorted(errors.items(), key=lambda e: order.index(e[0]) if e[0] in order else 0),
                    form_token=form_token(secret, link.digest), **common())

    async def chair_post(link: OpenedLink, posted: dict[str, str], tasks: BackgroundTasks) -> HTMLResponse:
        """Check the posted step with its model, hand it over as `cig` does, and confirm what was recorded and
        what happens next; or show the problems (a contradiction in words)."""
        step = chair_step(link)
        with the_office.sessions() as session:
            case = store.get_case(session, reference=link.reference or "")
            regime, recommendation = case.regime, case.recommendation
        fields = chair_fields(link, regime)
        moment = now()
        try:
            form = step.model.model_validate(posted_input(fields, posted),
                                             context={"today": the_office.calendar.local_date(moment)})
        except ValidationError as invalid:
            audit(link, f"{link.step.value} refused", problem="form")
            return chair_page(link, posted, field_errors(fields, validation_problems(invalid)), status=400)
        if isinstance(form, PartnerDecisionForm):
            return await partner_post(link, form, moment, tasks)
        rules = the_office.rules(regime)
        if isinstance(form, DecisionForm) and (contradiction := decision_contradiction(
                form, recommendation, review_labels(rules.terms), rules.term("group"))):
            audit(link, f"{link.step.value} refused", problem="case rule")
            return chair_page(link, posted, {"decision": contradiction}, status=400)
        try:
            await hand_over(the_office, link.reference or "", link.step.value, form, now=moment, actor=link.actor)
        except AlreadyRecorded:
            return chair_recorded(link, already=True, status=409)
        except NotAtThisStep:
            return refused(LinkRefusal.closed)
        except ValueError as problem:  # a rule of the case (the decision against the recommendation, a name)
            audit(link, f"{link.step.value} refused", problem="case rule")
            return chair_page(link, posted, field_errors(fields, [refusal_problem(problem)]), status=400)
        with the_office.sessions.begin() as session:
            stored = session.get(PersonalLink, link.id)
            if stored is not None:
                link_store.mark_link_used(session, link=stored, now=moment)
            store.audit(session, reference=link.reference, actor=link.actor, action=f"{link.step.value} submitted by link",
                        now=moment, link=link.id)
        if isinstance(form, ScreeningForm):
            try:  # an accepted case is listed now, as its run would list it, so the page can name its meeting
                actions.list_and_request_information(the_office, link.reference or "", now=moment)
            except Exception as failed:  # the case's run (or the sweep) lists it
                log.warning("case of link %s not listed from the website: %s", link.id, type(failed).__name__)
        try:
            await deliver_pending(the_office, reference=link.reference)  # the decision's Ofsted notice at once
        except Exception as failed:  # what cannot go now stays in the outbox; the sweep sends it
            log.warning("messages of link %s left in the outbox: %s", link.id, type(failed).__name__)
        tasks.add_task(wake_case_run, the_office, link.reference or "", link.step.value)
        return chair_recorded(link)

    async def partner_post(link: OpenedLink, form: PartnerDecisionForm, moment: datetime,
                           tasks: BackgroundTasks) -> HTMLResponse:
        """Keep a decider's answer (casework.referral.actions.record_partner_decision: once, the decision made when
        the quorum agrees, a disagreement escalated); then send what it owes and wake the case's run if decided."""
        try:
            outcome = actions.record_partner_decision(the_office, link.reference or "", link.partner or "", form,
                                                      link_id=link.id, now=moment, actor=link.actor)
        except AlreadyRecorded:
            audit(link, "decision refused", problem="already recorded")
            return chair_recorded(link, already=True, status=409)
        except (NotAtThisStep, ValueError):
            audit(link, "decision refused", problem="not open")
            return refused(LinkRefusal.closed)
        audit(link, "decision answer submitted by link", response=form.response.value, decided=outcome.decided)
        try:
            await deliver_pending(the_office, reference=link.reference)  # the escalation, the decision's notices
        except Exception as failed:  # what cannot go now stays in the outbox; the sweep sends it
            log.warning("messages of link %s left in the outbox: %s", link.id, type(failed).__name__)
        if outcome.decided:
            tasks.add_task(wake_case_run, the_office, link.reference or "", link.step.value)
        return chair_recorded(link)

    def chair_recorded(link: OpenedLink, *, already: bool = False, status: int = 200) -> HTMLResponse:
        """The chair's step as recorded, in words with dates, and what happens next; `already` for a second
        submit (or a visit) after it was recorded."""
        step = chair_step(link)
        with the_office.sessions() as session:
            case = store.get_case(session, reference=link.reference or "")
            rules = the_office.rules(case.regime)
            if link.partner:
                record = partner_record(case, link.partner, decision_store.partner_answers(session, case=case),
                                        the_office.partnership, rules, the_office.calendar)
            elif link.step is LinkStep.screening:
                record = screening_record(case, the_office.partnership, rules, the_office.calendar)
            else:
                kinds = {*rules.notices, "decision_advice", "referrer_decision"}
                messages = session.scalars(select(OutboxMessage).where(
                    OutboxMessage.case_id == case.id, OutboxMessage.kind.in_(kinds))).all()
                record = decision_record(case, the_office.partnership, rules, the_office.calendar, messages)
        return page("chair_done.html", status=status, heading=step.done, reference=link.reference, record=record,
                    already=already, **common())

    @app.get("/", response_class=HTMLResponse)
    async def start() -> HTMLResponse:
        return page("start.html", **common())

    @app.get("/link/{token}", response_class=HTMLResponse)
    async def show_link(request: Request, token: str, tasks: BackgroundTasks) -> Response:
        opened = open_link(request, token, tasks)
        if isinstance(opened, Response):
            return opened
        if opened.step is LinkStep.information_return:
            audit_view(opened, "return page viewed")
            return return_page(opened)
        if opened.step is LinkStep.papers:
            return papers_page(opened, token)
        if opened.step in step_pages:
            return await step_pages[opened.step].show(opened, token, request)
        audit_view(opened, f"{opened.step.value} page viewed")
        return chair_page(opened)

    @app.get("/link/{token}/papers/{name}")
    async def download_paper(request: Request, token: str, name: str, tasks: BackgroundTasks) -> Response:
        opened = open_link(request, token, tasks)
        if isinstance(opened, Response):
            return opened
        files = meeting_papers(opened) if opened.step is LinkStep.papers else {}
        if name not in files:
            return page("not_found.html", status=404, **common())
        reference = name.removeprefix("case-").removesuffix(".docx") if name.startswith("case-") else None
        audit_view(dataclasses.replace(opened, reference=reference), "meeting paper downloaded", name,
                   meeting_on=opened.meeting_on.isoformat() if opened.meeting_on else None, paper=name)
        return Response(files[name].read_bytes(), media_type=WORD_DOCUMENT,
                        headers={"content-disposition": f'attachment; filename="{name}"'})

    @app.get("/link/{token}/documents/{number}")
    async def download_document(request: Request, token: str, number: int, tasks: BackgroundTasks) -> Response:
        opened = open_link(request, token, tasks)
        if isinstance(opened, Response):
            return opened
        found = [(reference, d) for reference, d in returned_documents(opened) if d.id == number] \
            if opened.step is LinkStep.papers else []
        if not found:
            return page("not_found.html", status=404, **common())
        [(reference, document)] = found
        audit_view(dataclasses.replace(opened, reference=reference), "return document downloaded", document.id,
                   document=document.id, agency=document.agency)
        content = base64.b64decode(document.document["content"])
        filename = quote(document.document["filename"])
        return Response(content, media_type=document.document["content_type"],
                        headers={"content-disposition": f"attachment; filename*=UTF-8''{filename}"})

    @app.post("/link/{token}", response_class=HTMLResponse)
    async def act_on_link(request: Request, token: str, tasks: BackgroundTasks) -> Response:
        opened = open_link(request, token, tasks)
        if isinstance(opened, Response):
            return opened
        if opened.step in REVIEW_LINK_STEPS:
            return await review.act(request, opened, tasks)
        if opened.step in ACTION_LINK_STEPS | {LinkStep.learning}:  # these pages take their forms at their own addresses
            return page("not_found.html", status=404, **common())
        if opened.step is LinkStep.ratification:
            return await ratification.act(request, opened, token, tasks)
        try:
            async with request.form(max_files=MAX_FILES + 1, max_fields=20) as data:
                if not same_origin(request, settings.website_url) or \
                        not form_token_valid(secret, opened.digest, str(data.get("form_token") or "")):
                    audit(opened, "form post refused", problem="not from this website's page")
                    return page("forbidden.html", status=403, **common())
                if opened.step in CHAIR_STEPS:
                    posted = {key: str(value) for key, value in data.items() if isinstance(value, str)}
                elif opened.step is LinkStep.information_return:
                    given = await read_return(data, agency=opened.agency or "", blank_form=blank_form,
                                              today=the_office.calendar.local_date(now()))
                else:
                    return refused(LinkRefusal.closed)
        except BodyTooLarge:
            audit(opened, "return refused", problem="too large")
            given = ReturnInput(values={"status": "", "involvement": "", "key_practitioners": "", "attendees": ""},
                                errors={"documents": f"The selected files must be smaller than "
                                                     f"{MAX_UPLOAD_BYTES // 1048576} MB in all"})
            return return_page(opened, given, status=413)
        if opened.step in CHAIR_STEPS:
            return await chair_post(opened, posted, tasks)
        if given.form is None:
            audit(opened, "return refused", problem=", ".join(sorted(given.errors)))
            return return_page(opened, given, status=400)
        moment = now()
        try:
            await hand_over(the_office, opened.reference or "", "return", given.form, now=moment, actor=opened.actor)
        except AlreadyRecorded:
            return refused(LinkRefusal.used)
        except (NotAtThisStep, ValueError, LookupError):
            return refused(LinkRefusal.closed)
        actions.acknowledge_return(the_office, opened.reference or "", link_id=opened.id, form=given.form,
                                   documents=given.documents, now=moment, actor=opened.actor)

        async def receipt_then_wake() -> None:  # after the page: the agency waits for the database only
            try:
                await deliver_pending(the_office, reference=opened.reference)
            except Exception as failed:  # the receipt stays in the outbox; the sweep sends it
                log.warning("receipt for link %s left in the outbox: %s", opened.id, type(failed).__name__)
            await wake_case_run(the_office, opened.reference or "", "return")

        tasks.add_task(receipt_then_wake)
        return page("return_done.html", reference=opened.reference, status_given=given.form.status,
                    documents=len(given.documents), **common())

    review = add_review_routes(app, the_office, open_link=open_link, audit=audit, audit_view=audit_view,
                               common=common, secret=secret)  # the review's task list and forms (website.review_pages)
    learning = add_action_routes(app, the_office, open_link=open_link, audit=audit, audit_view=audit_view,
                                 common=common, secret=secret)  # the learning actions' pages (website.action_pages)
    ratification = add_ratification_routes(app, the_office, open_link=open_link, audit=audit, audit_view=audit_view,
                                           common=common, secret=secret)  # the drafts before each body (website.ratification_pages)
    write_up = add_learning_routes(app, the_office, open_link=open_link, audit=audit, audit_view=audit_view,
                                   common=common, secret=secret)  # the training officer's learning page (website.learning_pages)
    step_pages: dict[LinkStep, ReviewPages | ActionPages | RatificationPages | LearningPages] = {
        **dict.fromkeys(REVIEW_LINK_STEPS, review), **dict.fromkeys(ACTION_LINK_STEPS, learning),
        LinkStep.ratification: ratification, LinkStep.learning: write_up,
    }  # the page each of these steps' links shows (the same steps as PAGES_STEP_FACTS)

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
        return page("not_found.html", status=exc.status_code, **common())

    wrapped = BodyLimit(app, limit=MAX_UPLOAD_BYTES)
    if settings.trusted_proxies:  # the client a trusted proxy forwarded; else the address the request came from
        wrapped = ProxyHeadersMiddleware(wrapped, trusted_hosts=settings.trusted_proxies)  # type: ignore[arg-type]
    own_host = TrustedHostMiddleware(wrapped, allowed_hosts=[urlsplit(settings.website_url).hostname or ""],
                                     www_redirect=False)
    return RouteLog(SecurityHeaders(own_host, hsts=settings.profile is Profile.production))


def server_config(app: RouteLog, *, host: str, port: int, ssl_certfile: str | None = None,
                  ssl_keyfile: str | None = None) -> uvicorn.Config:
    """How uvicorn serves the website: its access log off (a URL holds a personal link's token), and no
    forwarded header believed by uvicorn itself (create_app believes only CIG_WEBSITE_TRUSTED_PROXIES)."""
    return uvicorn.Config(app, host=host, port=port, access_log=False, log_level="warning", proxy_headers=False,
                          ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)


def main() -> None:
    """Serve the website with uvicorn, as `server_config` says."""
    from config.settings import get_settings

    settings = get_settings()
    url = urlsplit(settings.website_url)
    parser = argparse.ArgumentParser(description="Serve the partnership's secure website.")
    parser.add_argument("--host", default=settings.website_host)
    parser.add_argument("--port", type=int,
                        default=settings.website_port or url.port or (443 if url.scheme == "https" else 80))
    parser.add_argument("--ssl-certfile")
    parser.add_argument("--ssl-keyfile")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    log.setLevel(logging.INFO)
    # Imported before the first request, not by it: a step's submit records it through flows.people and wakes a
    # run through Prefect's client (flows.review too), an upload is read by pypdf. Imported by the first submit,
    # they held the one event loop, every other page waiting, for about 1.5 s of CPU (6 s with 20 people at once).
    import flows.people, flows.review, pypdf  # noqa: E401, F401
    uvicorn.Server(server_config(create_app(), host=arguments.host, port=arguments.port,
                                 ssl_certfile=arguments.ssl_certfile, ssl_keyfile=arguments.ssl_keyfile)).run()


if __name__ == "__main__":
    main()
