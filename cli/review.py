"""`cig review`: the review a decision initiated, from commissioning to publication and closure.

The appointment of the first lead reviewer, each ratification and the publication are handed to the
case's review run (`review-<REFERENCE>`), which waits for them, as the Resume button on its page does.
The facts of the review (engagement, the review and case groups, milestones, terms of reference,
family involvement, the report's availability after 12 months, a further lead reviewer) are recorded
at once in the case database; the run reads them when it next resumes. Every command takes `--json`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Optional

import typer
from pydantic import BaseModel

from casework.office import Office, open_office
from casework.review import actions
from casework.review import store as review_store
from casework.review.forms import (
    AppointmentForm, AvailabilityForm, EngagementForm, FamilyInvolvementForm, GroupMemberForm, MilestoneForm,
    NonPublicationForm, RatificationForm, ReviewPublicationForm, TermsForm,
)
from casework.review.rules import ReviewStage
from casework.review.views import review_text, review_view
from casework.store import cases as store
from cli.subcommands import JsonOption
from cli.subcommands import emit as _emit
from cli.subcommands import form as _form
from cli.subcommands import now as _now

app = typer.Typer(no_args_is_help=True, help="Reviews a decision initiated: from commissioning to publication.")

Day = Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD")]

def _stage(office: Office, reference: str) -> tuple[ReviewStage, str | None]:
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        review = review_store.get_review(session, case=case)
        return ReviewStage(review.stage), review.flow_run_id


def _hand_to_run(office: Office, reference: str, step: str, form: BaseModel) -> ReviewStage:
    """Give the form to the review run waiting at `step`; the review's stage once it is recorded."""
    from flows.people import review_at_step, submit_review_step

    review_at_step(office, reference, step)  # refused at once when the review is at another step
    return ReviewStage(asyncio.run(submit_review_step(office, reference, step, form)))


def _done(outcome: actions.ReviewOutcome, as_json: bool, what: str, **extra: Any) -> None:
    _emit({"reference": outcome.reference, "stage": outcome.stage.value, "case_closed": outcome.closed, **extra},
          as_json, f"{outcome.reference}: {what}. The review is {outcome.stage.value.replace('_', ' ')}"
          + ("; the case is closed." if outcome.closed else "."))


@app.command("show")
def show(reference: str, as_json: JsonOption = False) -> None:
    """The review: its stage, lead reviewer(s), groups, engagement, plan and milestones."""
    office = open_office()
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        view = review_view(case, review_store.get_review(session, case=case), office.calendar.local_date(_now()))
    _emit(view.as_dict(), as_json, review_text(view))


@app.command("list")
def list_reviews(as_json: JsonOption = False) -> None:
    """Every review, with its stage and next milestone."""
    from sqlalchemy import select

    from casework.store.tables import Review

    office = open_office()
    today = office.calendar.local_date(_now())
    with office.sessions() as session:
        views = [review_view(r.case, r, today) for r in session.scalars(select(Review).order_by(Review.id))]
    _emit([v.as_dict() for v in views], as_json, "\n".join(
        f"{v.reference}  {v.review_type:<28} {v.stage:<22} next: {v.next_milestone or '-'}"
        + (f" ({v.days_overdue} days overdue)" if v.days_overdue else "") for v in views) or "no reviews")


@app.command("start")
def start(reference: str, as_json: JsonOption = False) -> None:
    """Start (or find) the case's review run, `review-<REFERENCE>` (the referral run starts it when it finishes)."""
    from flows.launch import start_review_run

    run_id = asyncio.run(start_review_run(reference))
    _emit({"reference": reference, "flow_run_id": run_id}, as_json, f"{reference}: review run review-{reference} ({run_id})")


@app.command("appoint")
def appoint(
    reference: str,
    reviewer: Annotated[str, typer.Option(help="The lead reviewer's name")],
    by: Annotated[str, typer.Option(help="Who appointed them")],
    independent: Annotated[bool, typer.Option("--independent/--internal", help="Independent, or internal")] = True,
    independent_of_agencies: Annotated[bool, typer.Option(
        "--independent-of-agencies", help="Confirm (for an SCR) they are independent of all the partnership's agencies")] = False,
    agency: Annotated[Optional[str], typer.Option(help="For an internal reviewer: their agency code")] = None,
    on: Annotated[Optional[datetime], typer.Option(formats=["%Y-%m-%d"], help="Appointed on (default today)")] = None,
    email: Annotated[Optional[str], typer.Option(help="Their email address (the sweep reminds them of milestones)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Appoint a lead reviewer; for an SCR the National Panel is told (within 14 days of the decision)."""
    form = _form(AppointmentForm, {"reviewer": reviewer, "kind": "independent" if independent else "internal",
                                   "independent_of_agencies": independent_of_agencies, "agency": agency,
                                   "appointed_on": (on or _now()).date(), "appointed_by": by, "email": email})
    office = open_office()
    if _stage(office, reference)[0] is ReviewStage.awaiting_reviewer:
        stage = _hand_to_run(office, reference, "appointment", form)
        _emit({"reference": reference, "stage": stage.value, "reviewer": reviewer}, as_json,
              f"{reference}: {reviewer} appointed lead reviewer. The review is {stage.value.replace('_', ' ')}.")
        return
    outcome = actions.appoint_reviewer(office, reference, form, now=_now(), actor="cig review appoint")
    _send(office)
    _done(outcome, as_json, f"{reviewer} appointed a further lead reviewer", reviewer=reviewer)


@app.command("engage")
def engage(reference: str, agency: Annotated[str, typer.Option(help="The agency's code")],
           by: Annotated[str, typer.Option(help="Who confirmed it")],
           on: Annotated[Optional[datetime], typer.Option(formats=["%Y-%m-%d"], help="Confirmed on (default today)")] = None,
           as_json: JsonOption = False) -> None:
    """Record an agency's confirmation of its engagement with the review (the sweep stops chasing it)."""
    form = _form(EngagementForm, {"agency": agency, "confirmed_by": by, "confirmed_on": (on or _now()).date()})
    outcome = actions.confirm_engagement(open_office(), reference, form, now=_now(), actor="cig review engage")
    _done(outcome, as_json, f"{form.agency} confirmed its engagement", agency=form.agency)


@app.command("member")
def member(reference: str,
           group: Annotated[str, typer.Option(help="review (the panel) or case (practitioners)")],
           name: Annotated[str, typer.Option(help="Their name")],
           agency: Annotated[str, typer.Option(help="Their agency's code")],
           role: Annotated[str, typer.Option(help="Their role")],
           email: Annotated[str, typer.Option(help="Their email address")],
           as_json: JsonOption = False) -> None:
    """Add a member of the review group or the case group (kept sealed)."""
    form = _form(GroupMemberForm, {"group": group, "name": name, "agency": agency, "role": role, "email": email})
    outcome = actions.add_member(open_office(), reference, form, now=_now(), actor="cig review member")
    _done(outcome, as_json, f"a {form.group.value} group member from {form.agency} added", group=form.group.value)


@app.command("milestone")
def milestone(reference: str,
              stage: Annotated[str, typer.Option(help="The milestone's code (see `cig review show`)")],
              done_on: Annotated[Optional[datetime], typer.Option("--done-on", formats=["%Y-%m-%d"], help="When it was done")] = None,
              by: Annotated[Optional[str], typer.Option(help="Who did it")] = None,
              note: Annotated[Optional[str], typer.Option(help="A note")] = None,
              document: Annotated[Optional[str], typer.Option(help="A link to a document")] = None,
              replan_to: Annotated[Optional[datetime], typer.Option("--replan-to", formats=["%Y-%m-%d"], help="A new target date")] = None,
              reason: Annotated[Optional[str], typer.Option(help="Why it is re-planned")] = None,
              as_json: JsonOption = False) -> None:
    """Record a milestone of the plan done, or re-plan it with a reason."""
    form = _form(MilestoneForm, {"stage": stage, "done_on": done_on.date() if done_on else None, "by": by, "note": note,
                                 "document": document, "replan_to": replan_to.date() if replan_to else None,
                                 "reason": reason})
    outcome = actions.record_milestone(open_office(), reference, form, now=_now(), actor="cig review milestone")
    _done(outcome, as_json, f"{stage} {'done' if form.done_on else 're-planned'}", milestone=stage)


@app.command("terms")
def terms(reference: str, terms_of_reference: Annotated[str, typer.Option("--terms", help="The terms of reference")],
          scope: Annotated[str, typer.Option(help="The scope")],
          on: Annotated[Optional[datetime], typer.Option(formats=["%Y-%m-%d"], help="Agreed on (default today)")] = None,
          as_json: JsonOption = False) -> None:
    """Record the terms of reference and scope agreed at the planning meeting."""
    form = _form(TermsForm, {"terms_of_reference": terms_of_reference, "scope": scope, "agreed_on": (on or _now()).date()})
    _done(actions.record_terms(open_office(), reference, form, now=_now(), actor="cig review terms"), as_json,
          "terms of reference recorded")


@app.command("family")
def family(reference: str,
           complete_on: Annotated[Optional[datetime], typer.Option("--complete-on", formats=["%Y-%m-%d"], help="When it was completed")] = None,
           not_possible_on: Annotated[Optional[datetime], typer.Option("--not-possible-on", formats=["%Y-%m-%d"], help="When it was found not possible")] = None,
           reason: Annotated[Optional[str], typer.Option(help="Why it was not possible")] = None,
           as_json: JsonOption = False) -> None:
    """Record the family's involvement: complete, or not possible and why (an SCR needs it before publication)."""
    if (complete_on is None) == (not_possible_on is None):
        raise ValueError("give either --complete-on or --not-possible-on (with --reason)")
    form = _form(FamilyInvolvementForm, {"involvement": "complete" if complete_on else "not_possible",
                                         "on": (complete_on or not_possible_on).date(), "reason": reason})  # type: ignore[union-attr]
    _done(actions.record_family(open_office(), reference, form, now=_now(), actor="cig review family"), as_json,
          f"family involvement recorded ({form.involvement.value.replace('_', ' ')})")


@app.command("ratify")
def ratify(reference: str,
           by: Annotated[str, typer.Option(help="cig, executive_group or board")],
           returned: Annotated[bool, typer.Option("--returned", help="Returned with comments, not ratified")] = False,
           comments: Annotated[Optional[str], typer.Option(help="When returned: what must change")] = None,
           on: Annotated[Optional[datetime], typer.Option(formats=["%Y-%m-%d"], help="Meeting date (default today)")] = None,
           as_json: JsonOption = False) -> None:
    """Record the drafts' outcome before the CIG, the executive group or the partnership board (in that order)."""
    form = _form(RatificationForm, {"by": by, "result": "returned" if returned else "ratified",
                                    "on": (on or _now()).date(), "comments": comments})
    stage = _hand_to_run(open_office(), reference, "ratification", form)
    _emit({"reference": reference, "stage": stage.value, "by": form.by.value, "result": form.result.value}, as_json,
          f"{reference}: drafts {form.result.value} by {form.by.value.replace('_', ' ')}. "
          f"The review is {stage.value.replace('_', ' ')}.")


@app.command("publish")
def publish(
    reference: str,
    on: Annotated[datetime, typer.Option("--on", formats=["%Y-%m-%d"], help="The date the final report was published (YYYY-MM-DD)")],
    link: Annotated[str, typer.Option(help="Where it is published (an http or https address)")],
    response_link: Annotated[Optional[str], typer.Option(
        "--response-link", help="Where the partnership's response is published (required for a review run by this system)")] = None,
    learning_shared: Annotated[Optional[str], typer.Option(help="How the learning was shared")] = None,
    themes: Annotated[Optional[list[str]], typer.Option(
        "--themes", "--theme", help="Abuse or vulnerability themes (repeatable, or several separated by ';' or ',')")] = None,
    as_json: JsonOption = False,
) -> None:
    """Record the publication of a case's review, with the partnership's response; for an SCR the family's
    involvement must be recorded first. The case closes when nothing of the review is outstanding."""
    from casework.referral import actions as case_actions
    from casework.forms import PublicationForm

    words = [w.strip() for value in themes or [] for w in value.replace(";", ",").split(",") if w.strip()]
    data = {"published_on": on.date(), "link": link, "learning_shared": learning_shared, "themes": words}
    office = open_office()
    with office.sessions() as session:
        has_review = review_store.find_review(session, case=store.get_case(session, reference=reference)) is not None
    if not has_review:  # decided before reviews ran as flows: the publication is recorded on the case alone
        form = _form(PublicationForm, data)
        outcome = case_actions.record_publication(office, reference, form, now=_now(), actor="cig review publish")
        _emit({"reference": outcome.reference, "stage": outcome.stage.value, "published_on": form.published_on.isoformat(),
               "link": form.link, "learning_shared": form.learning_shared, "themes": form.themes}, as_json,
              f"{outcome.reference}: review published on {form.published_on.isoformat()} at {form.link}.")
        return
    form = _form(ReviewPublicationForm, data | {"response_link": response_link})
    stage = _hand_to_run(office, reference, "publication", form)
    with office.sessions() as session:
        closed = store.get_case(session, reference=reference).status == "closed"
    _emit({"reference": reference, "stage": stage.value, "published_on": form.published_on.isoformat(), "link": form.link,
           "response_link": form.response_link, "learning_shared": form.learning_shared, "themes": form.themes,
           "case_closed": closed}, as_json,
          f"{reference}: review published on {form.published_on.isoformat()} at {form.link}. "
          f"The review is {stage.value}" + ("; the case is closed." if closed else "."))


@app.command("not-published")
def not_published(
    reference: str,
    reason: Annotated[str, typer.Option(help="Why the final report is not published (no names, no dates of birth)")],
    by: Annotated[str, typer.Option(help="Who decided (e.g. the partnership board)")],
    on: Annotated[Optional[datetime], typer.Option(formats=["%Y-%m-%d"], help="Decided on (default today)")] = None,
    improvements_link: Annotated[Optional[str], typer.Option(
        "--improvements-link", help="Where the improvements to be made are published instead, if they are")] = None,
    as_json: JsonOption = False,
) -> None:
    """Record the partnership's decision not to publish the ratified final report, with its reason; the case
    closes when nothing else of the review is outstanding (the review's run finishes when it next resumes)."""
    form = _form(NonPublicationForm, {"decided_on": (on or _now()).date(), "decided_by": by, "reason": reason,
                                      "improvements_link": improvements_link})
    office = open_office()
    outcome = actions.record_non_publication(office, reference, form, now=_now(), actor="cig review not-published")
    _send(office)
    _wake_review_run(office, reference)
    _done(outcome, as_json, "the final report is not published", decided_on=form.decided_on.isoformat(),
          improvements_link=form.improvements_link)


@app.command("availability")
def availability(reference: str, on_request: Annotated[bool, typer.Option(
        "--on-request/--stays-published", help="After 12 months: available on request, or it stays published")],
        on: Annotated[Optional[datetime], typer.Option(formats=["%Y-%m-%d"], help="Decided on (default today)")] = None,
        as_json: JsonOption = False) -> None:
    """Twelve months after publication: record whether the report stays published or is available on request."""
    form = _form(AvailabilityForm, {"availability": "on_request" if on_request else "stays_published",
                                    "decided_on": (on or _now()).date()})
    _done(actions.record_availability(open_office(), reference, form, now=_now(), actor="cig review availability"),
          as_json, f"the report is {form.availability.value.replace('_', ' ')}")


def _wake_review_run(office: Office, reference: str) -> None:
    """The review's run, waiting for a publication no longer needed, is woken to finish (if Prefect answers;
    else it finishes when it is next woken)."""
    from flows.review import wake_review_run

    try:
        asyncio.run(wake_review_run(office, reference))
    except Exception:  # no Prefect server reachable now: the outcome is recorded all the same
        pass


def _send(office: Office) -> None:
    """Send what the step queued now, if the mail server answers (else the sweep sends it)."""
    from casework.delivery import deliver_pending

    try:
        asyncio.run(deliver_pending(office))
    except Exception:  # the outbox keeps it; the deadline sweep sends it
        pass


