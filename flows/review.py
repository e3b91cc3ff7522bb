"""The review flow: one long-running Prefect flow run per initiated review, `review-<REFERENCE>`,
from commissioning to publication and the case's closure.

It reads as seed 002's flowchart ("LSCB Review - Learning and Improvement - Process Flowchart"), as
flows/referral.py reads as the CIEC chart. The run suspends only where it waits for a person's
decision (the appointment, each ratification, publication); the facts of the review (engagement,
the review and case groups, milestones, terms of reference, family involvement) are recorded with
`cig review ...` in the case database and read here when the run next resumes. Each resume re-runs
this function from the top: each stage looks at the database first, and every message goes
through the outbox under a stable key, so nothing is sent twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

from prefect import flow, get_run_logger

from casework.delivery import DeliveryIncomplete
from casework.office import open_office
from casework.review import store as review_store
from casework.review.rules import ReviewStage
from casework.review.views import review_markdown, review_view
from flows import waiting
from flows.forms import ReviewPublicationInput, appointment_input, ratification_input
from tasks.artifacts import publish_case_artifacts
from tasks.cases import read_case
from tasks.mail import send_messages
from tasks.review import (
    close_review, commission_review, record_appointment, record_publication, record_ratification, record_review_run,
)
from tasks.runs import tag_flow_run


@flow(name="review", flow_run_name="review-{reference}", persist_result=False, log_prints=True)
async def review(reference: str) -> str:
    """Carry one initiated review from commissioning to publication, and close its case."""
    await commission(reference)
    await appoint_lead_reviewer(reference)
    await ratify_drafts(reference)
    await publish(reference)
    return await finish(reference)


# --- the stages, in the flowchart's order ---------------------------------------------------

async def commission(reference: str) -> None:
    """"Rationale and commencement advised to LSCB Members": the plan laid out, the business manager and
    the members told, each agency asked to confirm its engagement (the sweep chases the silent)."""
    await commission_review(reference)
    await record_review_run(reference, str(waiting.flow_run_id()))
    await tag_review_stage(reference)
    await send_review_messages(reference)


async def appoint_lead_reviewer(reference: str) -> None:
    """"Reviewer Identified": wait for the lead reviewer's appointment; for an SCR the National Panel is told."""
    while _stage(reference) is ReviewStage.awaiting_reviewer:
        form = appointment_input(open_office().rules(read_case(reference).regime))  # wt2023: an LCSPR, the Panel
        await wait_for_person(reference, "appointment", form, record_appointment)
    await send_review_messages(reference)


async def ratify_drafts(reference: str) -> None:
    """Draft report and findings to the CIG; action plans ratified by the executive group; final report and
    action plans ratified by the board. A return sends the drafts back to the same body."""
    while _stage(reference) in (ReviewStage.under_way, ReviewStage.ratifying):
        form = ratification_input(open_office().rules(read_case(reference).regime))  # wt2023: the partners sign off
        await wait_for_person(reference, "ratification", form, record_ratification)
        await send_review_messages(reference)


async def publish(reference: str) -> None:
    """Published on the partnership's website with its response alongside (for an SCR, only once the family's
    involvement is recorded); kept there at least 12 months."""
    while _stage(reference) is ReviewStage.awaiting_publication:
        await wait_for_person(reference, "publication", ReviewPublicationInput, record_publication)
    await send_review_messages(reference)


async def finish(reference: str) -> str:
    """The case closes once its review is published and nothing of it is outstanding (else the last
    milestone recorded closes it); retention and `purge` then apply."""
    outcome = await close_review(reference)
    await tag_review_stage(reference)
    return outcome.stage.value


async def wake_review_run(office, reference: str) -> bool:  # type: ignore[no-untyped-def]
    """After a decision of the review was recorded in the case database without its run (the decision not to
    publish, `cig review not-published`; the Panel's national review, which stops it, on the `record-panel-reply`
    form): wake the review's run if it is suspended at a wait the review has
    moved past; it re-runs from the top, finds the outcome recorded and finishes. True if it was woken."""
    from uuid import UUID

    from prefect.client.orchestration import get_client

    from casework.store import cases as store
    from flows.people import run_behind, wake_paused_run

    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        run_id = review_store.get_review(session, case=case).flow_run_id
    if run_id is None:
        return False
    async with get_client() as client:
        run = await client.read_flow_run(UUID(run_id))
        if run.state is None or not run.state.is_paused():
            return False
        key = run.state.state_details.pause_key
        with office.sessions() as session:
            case = store.get_case(session, reference=reference)
            stage = ReviewStage(review_store.get_review(session, case=case).stage)
            behind = run_behind(case, key) or stage not in WAITS_AT.get((key or "").rpartition("-")[0], (stage,))
        return behind and await wake_paused_run(client, run)


WAITS_AT = {  # the review's stages at which its run waits for each step
    "appointment": (ReviewStage.awaiting_reviewer,),
    "ratification": (ReviewStage.under_way, ReviewStage.ratifying),
    "publication": (ReviewStage.awaiting_publication,),
}


# --- the pieces every stage uses ------------------------------------------------------------

def _stage(reference: str) -> ReviewStage:
    office = open_office()
    with office.sessions() as session:
        case = read_case(reference)
        return ReviewStage(review_store.get_review(session, case=case).stage)


async def wait_for_person(reference: str, step: str, form: type, record: Callable[..., Awaitable[object]]) -> None:
    """Suspend until the person's form for `step` arrives, showing the review's plan and what to do."""
    await tag_review_stage(reference)

    def describe(session, case, problem):  # type: ignore[no-untyped-def]
        today = open_office().calendar.local_date(datetime.now(timezone.utc))
        return review_markdown(review_view(case, review_store.get_review(session, case=case), today), step, problem)

    await waiting.wait_for_person(reference, step, form, record, describe=describe)


async def tag_review_stage(reference: str) -> None:
    """Tag the run `review-stage:<stage>` (and its review type and regime) for the UI's filters."""
    case = read_case(reference)
    tags = ["review", f"review-stage:{_stage(reference).value}", f"regime:{case.regime}", f"outcome:{case.decision}"]
    await tag_flow_run(waiting.flow_run_id(), tags)
    await publish_case_artifacts(reference)


async def send_review_messages(reference: str) -> None:
    """Send what the review owes people; what cannot go now stays in the outbox for the sweep."""
    try:
        await send_messages(reference)
    except DeliveryIncomplete as incomplete:
        get_run_logger().error("Review %s: messages are waiting in the outbox (`cig outbox retry`): %s",
                               reference, incomplete)
