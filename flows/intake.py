"""Intake: the `submit-referral` deployment's Run form is CIGSCR1. It records the referral in the
case database under a new reference and starts the case's own `referral` flow run, which carries
only the reference. The form's personal data never goes into the long-running run.

What the form's JSON schema can say (required fields, patterns, the agency list) the Prefect UI
refuses before submit. The rest (a date of death before the birth, a referral completed before the
incident was notified) refuses the run here, with one line a person can act on as the run's state
message; the administrator is emailed it, and the run keeps what was typed for
`CIG_INTAKE_KEEP_HOURS` so "Copy to new run" refills the form. A recorded referral's run is emptied
of the form at once and renamed `intake-<REFERENCE>`, with an artifact linking to the case's run.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NONE
from prefect.client.orchestration import get_client
from prefect.context import get_run_context
from prefect.settings import PREFECT_UI_URL
from prefect.states import Failed, State
from pydantic import ValidationError

from casework.referral import actions
from casework.forms import ReferralForm
from casework.office import open_office
from config.loading import describe_errors
from flows.launch import start_referral_run
from tasks.artifacts import artifact_key
from tasks.mail import send_messages


class ReferralRefused(ValueError):
    """The CIGSCR1 cannot be recorded; the message says what to change, in one line, with no personal data."""


def check_referral(form: dict[str, Any] | ReferralForm, today: datetime) -> ReferralForm:
    """The form as a ReferralForm, every rule checked; ReferralRefused names each field to change."""
    data = form.model_dump() if isinstance(form, ReferralForm) else form
    try:
        return ReferralForm.model_validate(data, context={"today": today.date()})
    except ValidationError as invalid:
        raise ReferralRefused("; ".join(describe_errors(invalid))) from None


@task(name="record_referral", cache_policy=NONE, persist_result=False)
def record_referral(form: ReferralForm) -> str:
    """Record the referral and queue its notices; return the new case reference."""
    try:
        return actions.submit_referral(open_office(), form, now=datetime.now(timezone.utc),
                                       actor="submit-referral form").reference
    except (ValueError, LookupError) as refused:  # e.g. an agency the partnership file does not list
        raise ReferralRefused(str(refused)) from None


@task(name="tell_administrator_of_refusal", cache_policy=NONE, persist_result=False)
async def tell_administrator_of_refusal(problem: str) -> None:
    """Email the administrator why a CIGSCR1 was not recorded (the form is kept on the run to correct)."""
    run = get_run_context().task_run  # type: ignore[union-attr]
    async with get_client() as client:
        intake = await client.read_flow_run(run.flow_run_id)
    actions.refuse_intake(open_office(), problem=problem, run_name=intake.name, run_id=str(intake.id),
                          now=datetime.now(timezone.utc))
    await send_messages(None)


@task(name="empty_intake_run", cache_policy=NONE, persist_result=False, retries=3, retry_delay_seconds=[1, 5, 15])
async def empty_intake_run(reference: str, case_run_id: str) -> None:
    """Rename this run `intake-<REFERENCE>`, delete the CIGSCR1 from its parameters (the case database
    holds it now), and leave an artifact that links to the case's run."""
    intake_run_id = get_run_context().task_run.flow_run_id  # type: ignore[union-attr]
    async with get_client() as client:
        await client.update_flow_run(intake_run_id, name=f"intake-{reference}", parameters={})
    ui = (PREFECT_UI_URL.value() or "").rstrip("/")
    case_run = (f"[referral-{reference}]({ui}/runs/flow-run/{case_run_id})" if case_run_id
                else f"referral-{reference} (it starts at the next deadline sweep)")
    await acreate_markdown_artifact(
        key=artifact_key("intake", reference),
        markdown=(f"## Referral recorded: {reference}\n\n"
                  f"The case's run is {case_run}. Each person's step is a form on that run's page (Resume)."),
        description=f"CIGSCR1 recorded as {reference}",
    )


@flow(name="submit-referral", persist_result=False, validate_parameters=False)
async def submit_referral(form: ReferralForm) -> str | State:
    """CIGSCR1: request for CIG consideration. Records the referral and starts its case run."""
    logger = get_run_logger()
    try:
        checked = check_referral(form, datetime.now(timezone.utc))
        reference = record_referral(checked)
    except ReferralRefused as refused:
        problem = f"CIGSCR1 not recorded: {refused}"
        logger.error(problem)
        await tell_administrator_of_refusal(str(refused))
        return Failed(message=problem)
    try:
        case_run_id = await start_referral_run(reference)
    except Exception as problem:  # recorded all the same: the next sweep starts its run (`start-pending`)
        logger.warning("%s is recorded; its case run starts at the next deadline sweep: %s", reference, problem)
        case_run_id = ""
    await empty_intake_run(reference, case_run_id)
    logger.info("CIGSCR1 recorded as %s; its case run is referral-%s", reference, reference)
    return reference
