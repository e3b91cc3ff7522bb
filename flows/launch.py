"""Starting a case's `referral` flow run: exactly one per case, named `referral-<REFERENCE>`.

The run is created with an idempotency key, so starting it twice (a retry after a 503, a second
worker, `cig referral start-pending`) gives the same run. A referral whose run could not be
started stays recorded and is started later; it is never lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from prefect.deployments import run_deployment
from sqlalchemy import select

from casework.office import Office, open_office
from casework.store import cases as store
from casework.store.tables import Case


async def start_referral_run(reference: str, office: Office | None = None) -> str:
    """Start (or find) the case's flow run and remember its id on the case; return the id."""
    office = office or open_office()
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        regime = case.regime
    run = await run_deployment(
        name=office.settings.referral_deployment,
        parameters={"reference": reference},
        flow_run_name=f"referral-{reference}",
        tags=["case", "stage:awaiting_screening", f"regime:{regime}"],
        idempotency_key=f"referral-{reference}",
        timeout=0,
        as_subflow=False,
    )
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference, for_update=True)
        store.attach_flow_run(session, case=case, flow_run_id=str(run.id), now=datetime.now(timezone.utc))
    return str(run.id)


RECOVERABLE = {"CRASHED", "FAILED"}


async def delete_finished_intake_runs(office: Office | None = None) -> int:
    """Delete `submit-referral` runs that ended more than `intake_keep_hours` ago: a refused one still
    holds the CIGSCR1 as typed (kept so "Copy to new run" refills it), a recorded one only its new
    reference. Returns how many were deleted.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterEndTime, FlowRunFilterState, FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    office = office or open_office()
    ended_before = datetime.now(timezone.utc) - timedelta(hours=office.settings.intake_keep_hours)
    finished = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(
            any_=[StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED])),
        end_time=FlowRunFilterEndTime(before_=ended_before),
    )
    async with get_client() as client:
        runs = await client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["submit-referral"])),
                                           flow_run_filter=finished, limit=200)
        for run in runs:
            await client.delete_flow_run(run.id)
    return len(runs)


async def recover_referral_run(reference: str, office: Office | None = None, *, stalled: bool = False) -> str:
    """Put a case's run that died back on the work pool: crashed or failed; suspended at a step with
    no form saved for it (its process ended while a busy server refused the form); or, with `stalled`,
    still shown running after its worker was killed. It re-runs from the top: the case database says
    what is done, and the outbox sends what is still owed, once. Returns the state it was in.
    """
    from prefect.client.orchestration import get_client
    from prefect.states import Scheduled

    from flows.people import RunWait, run_wait

    office = office or open_office()
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        if case.flow_run_id is None:
            raise ValueError(f"{reference} has no run yet: use `cig referral start-pending`")
        flow_run_id = case.flow_run_id
    async with get_client() as client:
        run = await client.read_flow_run(flow_run_id)
        state = run.state.type.value if run.state else "UNKNOWN"
        allowed = RECOVERABLE | ({"RUNNING", "PENDING"} if stalled else set())
        wait = await run_wait(client, run.id, "") if state == "PAUSED" else RunWait.elsewhere
        if wait is RunWait.saving_form:
            raise ValueError(f"{reference}: its run is saving the form for its step; try again in a minute")
        if wait is RunWait.form_missing:
            allowed = allowed | {"PAUSED"}
        if state not in allowed:
            hint = " (if its worker was killed, add --stalled)" if state in ("RUNNING", "PENDING") else ""
            raise ValueError(f"{reference}: its run is {state.lower()}, nothing to recover{hint}")
        if wait is RunWait.form_missing:
            with office.sessions.begin() as session:
                store.abandon_wait(store.get_case(session, reference=reference, for_update=True))
        await client.set_flow_run_state(flow_run_id, Scheduled(), force=True)
    with office.sessions.begin() as session:
        store.audit(session, reference=reference, actor="cig referral recover", action="flow run rescheduled",
                    now=datetime.now(timezone.utc), previous_state=state)
    return state


async def start_pending_runs(office: Office | None = None) -> list[str]:
    """Start the runs of referrals recorded while the Prefect server could not be reached."""
    office = office or open_office()
    with office.sessions() as session:
        waiting = session.scalars(select(Case.reference).where(Case.flow_run_id.is_(None), Case.status == "open")).all()
    started = []
    for reference in waiting:
        await start_referral_run(reference, office)
        started.append(reference)
    return started
