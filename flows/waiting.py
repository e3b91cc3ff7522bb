"""Waiting for a person, for any flow of a case (the referral and its review): suspend the run with the
step's form until the person's input arrives, then record it, or record why it was refused.

The suspend key is `<step>-<case.wait_seq>`: every recorded or refused input advances the case's
`wait_seq`, so each wait has a fresh key, and a run that re-starts before recording an input finds
that same input again under its key. What the form shows (the case's context, the summary heading
its first field) comes from the flow that waits, through `describe`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from prefect import get_run_logger
from prefect.context import get_run_context
from prefect.exceptions import Pause
from prefect.flow_runs import suspend_flow_run
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.office import open_office
from casework.store import cases as store
from casework.store.tables import AuditEvent, Case
from config.loading import describe_errors
from flows.forms import form_for
from tasks.cases import refuse_input
from tasks.runs import delete_captured_inputs, read_captured_response

F = TypeVar("F")
Describe = Callable[[Session, Case, "str | None"], tuple[str, str]]  # -> (description, summary)


async def wait_for_person(
    reference: str, step: str, form: type[F], record: Callable[..., Awaitable[object]], describe: Describe,
) -> None:
    """Suspend until a person's form for `step` arrives, then `record` it (or the reason it was refused)."""
    logger = get_run_logger()
    office = open_office()
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        problem = last_refusal(session, reference, step)
        description, summary = describe(session, case, problem)
        typed = store.refused_input(case, step) if problem else None  # a refused input fills the form in again
        key = f"{step}-{case.wait_seq}"
    try:
        answer = await suspend_flow_run(
            wait_for_input=form_for(form, office.partnership, description, summary, typed),  # type: ignore[arg-type]
            key=key,
            timeout=None,
        )
    except Pause:
        await wake_if_behind(reference, key)
        raise
    except ValidationError as invalid:
        problem = "; ".join(describe_errors(invalid))
        logger.warning(NOT_RECORDED, reference, step, problem)
        await refuse_input(reference, step, problem, await read_captured_response(flow_run_id()))
        await delete_captured_inputs(flow_run_id())
        return
    try:
        await record(reference, answer, f"{step} form")
    except (ValueError, LookupError) as refused:
        logger.warning(NOT_RECORDED, reference, step, refused)
        await refuse_input(reference, step, str(refused), answer.model_dump(mode="json", exclude_none=True))
    else:
        logger.info("%s: the %s form was recorded; the case moves on.", reference, step)
    await delete_captured_inputs(flow_run_id())


# What the run's page (its logs, in view under the run's name) says a few seconds after a Resume the case refused:
# the Prefect UI's green "Flow run resumed" only means the run took the form. No value typed in it: the reason
# names the field and the rule, as the form's own heading does.
NOT_RECORDED = ("%s: the %s form was NOT recorded: %s. Open Resume again to correct it: the form shows what "
                "was typed, with this reason first.")


async def wake_if_behind(reference: str, key: str) -> None:
    """Once suspended: if a step was recorded in the case database (by `cig` or the website, flows.people)
    after this run read the case and before its Suspended state was in, the person's waker saw it running and
    left it; the run wakes itself to find the step done, rather than wait for the deadline sweep."""
    from flows.people import run_behind, wake_paused_run

    with open_office().sessions() as session:
        behind = run_behind(store.get_case(session, reference=reference), key)
    if behind:
        from prefect.client.orchestration import get_client

        async with get_client() as client:
            run = await client.read_flow_run(flow_run_id())
            if run.state is not None and run.state.is_paused() and run.state.state_details.pause_key == key:
                await wake_paused_run(client, run)


def last_refusal(session: Session, reference: str, step: str) -> str | None:
    """Why the case's last input for `step` was refused, if the case's latest event is that refusal."""
    last = session.scalars(
        select(AuditEvent).where(AuditEvent.case_reference == reference).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    if last is not None and last.action == f"{step} input refused":
        return str(last.detail.get("problem"))
    return None


def flow_run_id():  # type: ignore[no-untyped-def]
    """The id of the flow run this code runs in."""
    return get_run_context().flow_run.id  # type: ignore[union-attr]
