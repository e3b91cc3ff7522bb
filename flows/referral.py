"""The referral flow: one long-running Prefect flow run per case, from CIGSCR1 to the notices.

It reads as the process chart (PROCESS.md steps 2-9). Each wait for a person is a named step
that suspends the run (no process is held) until the person's form arrives from the UI or from
`cig`. On every resume Prefect runs this function again from the top: each stage first looks at
the case database and skips what is already done, and every message goes through the outbox
under a stable key, so nothing is sent twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import TypeVar

from prefect import flow, get_run_logger
from prefect.context import get_run_context

from casework.delivery import DeliveryIncomplete
from casework.model import Recommendation, Stage
from casework.office import open_office
from casework.review.rules import starts_review
from casework.referral.views import case_context_markdown, case_summary_markdown
from flows import waiting
from flows.forms import AgencyReturnInput, decision_input, recommendation_input, screening_input
from tasks.cases import (
    close_case,
    read_case,
    record_agency_return,
    record_chair_decision,
    record_recommendation,
    record_screening,
    request_information,
)
from tasks.artifacts import publish_case_artifacts, timeline_url
from tasks.mail import send_messages
from tasks.review import start_review
from tasks.runs import tag_flow_run

F = TypeVar("F")


@flow(name="referral", flow_run_name="referral-{reference}", persist_result=False, log_prints=True)
async def referral(reference: str) -> str:
    """Carry one referral through screening, information, consideration, decision and notices."""
    await announce_referral(reference)
    if await screen_referral(reference) is Stage.declined:
        await send_case_messages(reference)
        return await finish(reference)
    while True:
        await list_and_request_information(reference)
        await wait_for_returns(reference)
        if await consider_at_meeting(reference) is not Recommendation.further_information:
            break
    await send_case_messages(reference)  # the recommendation (CIGSUM1) to the rule set's deciders, each with a link
    await wait_for_decision(reference)
    await send_case_messages(reference)  # Ofsted at once, the National Panel, the referrer
    return await finish(reference)


# --- the stages, in order -------------------------------------------------------------------

async def announce_referral(reference: str) -> None:
    """Step 2: the partnership tells the chairs, the business manager and the administrator."""
    await tag_stage(reference)
    await send_case_messages(reference)


async def screen_referral(reference: str) -> Stage:
    """Step 3: the CIG chair and business manager accept the case for the group, or decline it."""
    while Stage(read_case(reference).stage) is Stage.awaiting_screening:
        form = screening_input(open_office().rules(read_case(reference).regime))  # wt2023: its two outcomes
        await wait_for_person(reference, "screening", form, record_screening)
    return Stage(read_case(reference).stage)


async def list_and_request_information(reference: str) -> None:
    """Steps 4 and 5: list the case for the next meeting and send CIGINF1 to the agencies."""
    await request_information(reference)
    await send_case_messages(reference)


async def wait_for_returns(reference: str) -> None:
    """Step 5: wait until every agency asked has returned CIGINF1 (or the meeting goes ahead without it)."""
    while Stage(read_case(reference).stage) is Stage.awaiting_returns:
        await wait_for_person(reference, "return", AgencyReturnInput, record_agency_return)


async def consider_at_meeting(reference: str) -> Recommendation:
    """Step 6: the group considers the case and records its recommendation."""
    while Stage(read_case(reference).stage) is Stage.awaiting_recommendation and not _recommended(reference):
        form = recommendation_input(open_office().rules(read_case(reference).regime))  # wt2023: the Panel's record too
        await wait_for_person(reference, "recommendation", form, record_recommendation)
    case = read_case(reference)
    if case.recommendation is None:  # already re-listed for a further round
        return Recommendation.further_information
    return Recommendation(case.recommendation)


def _recommended(reference: str) -> bool:
    return read_case(reference).recommendation is not None


async def wait_for_decision(reference: str) -> None:
    """Step 8: the rule set's deciders decide. wt2015: the independent chair affirms or challenges the
    recommendation and decides. wt2023: each safeguarding partner answers by their own link, and the decision is
    recorded when the quorum agrees (casework.referral.actions.record_partner_decision), which wakes this run; after
    a disagreement the partners' resolved decision is recorded here (the Resume form) or by the administrator."""
    while Stage(read_case(reference).stage) is Stage.awaiting_decision:
        form = decision_input(open_office().rules(read_case(reference).regime))  # wt2023: the partners' words
        await wait_for_person(reference, "decision", form, record_chair_decision)


async def finish(reference: str) -> str:
    """Step 10: the case stays on the tracker, decided (open while a review runs) or closed; a decision to
    review starts the review's own run, `review-<REFERENCE>` (flows/review.py)."""
    outcome = await close_case(reference)
    await tag_stage(reference)
    if starts_review(read_case(reference).decision):
        await start_review(reference)
    return outcome.stage.value


# --- the pieces every stage uses ------------------------------------------------------------

async def wait_for_person(
    reference: str, step: str, form: type[F], record: Callable[..., Awaitable[object]]
) -> None:
    """Suspend until a person's form for `step` arrives, then record it (or the reason it was refused);
    the form shows the case's context and summary (flows.waiting does the waiting for every case flow)."""
    await tag_stage(reference)
    await waiting.wait_for_person(reference, step, form, record, describe=_case_context(step))


def _case_context(step: str) -> waiting.Describe:
    def describe(session, case, problem):  # type: ignore[no-untyped-def]
        office = open_office()
        now = datetime.now(timezone.utc)
        rules = office.rules(case.regime)
        summary = case_summary_markdown(case, rules, office.calendar, now, problem, step=step,
                                        timeline_url=timeline_url(case.reference))
        return case_context_markdown(case, rules, office.calendar, now, summary), summary
    return describe


def _flow_run_id():  # type: ignore[no-untyped-def]
    return get_run_context().flow_run.id  # type: ignore[union-attr]


async def tag_stage(reference: str) -> None:
    """Tag the run with the case's stage, regime and outcome so the UI's filters answer "who is waiting?"."""
    case = read_case(reference)
    tags = [f"stage:{case.stage}", f"regime:{case.regime}"]
    if case.decision:
        tags.append(f"outcome:{case.decision}")
    elif case.screening == "decline":
        tags.append("outcome:declined")
    await tag_flow_run(_flow_run_id(), tags)
    await publish_case_artifacts(reference)  # the tracker and the case timeline, at every stage change


async def send_case_messages(reference: str) -> None:
    """Send what the case owes people; what cannot go now stays in the outbox for the next attempt."""
    try:
        await send_messages(reference)
    except DeliveryIncomplete as incomplete:
        get_run_logger().error(
            "Case %s: messages are waiting in the outbox after retries (`cig outbox retry` resends): %s",
            reference, incomplete,
        )
