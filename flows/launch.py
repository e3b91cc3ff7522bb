"""Starting a case's `referral` flow run: exactly one per case, named `referral-<REFERENCE>`.

The run is created with an idempotency key, so starting it twice (a retry after a 503, a second
worker, `cig referral start-pending`) gives the same run. A referral whose run could not be
started stays recorded and is started later; it is never lost. A run that died is restarted by the
recovery check (`recover_dead_runs`, which the Automations of flows.automations run within seconds of
its death, and the deadline sweep every 15 minutes), or at once by a person (`recover_referral_run`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from uuid import UUID

from prefect.deployments import run_deployment
from prefect.states import Crashed, Scheduled
from sqlalchemy import select

from casework.office import Office, open_office
from casework.recovery import RecoveryDecision, RecoveryLimit, RunFault, recovery_decision, run_fault
from casework.sweep import RUN_RESCHEDULED, record_run_recovery, recovery_history
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


# The flows whose parameters are a person's form: the CIGSCR1 (a child's name, address, date of birth),
# a learning action (its lead's name and email), and the office's forms (flows.office: a SIN's text and who
# completed it, a meeting's reason, a case's reference).
FORM_FLOWS = ("submit-referral", "add-action", "update-action", "record-sin", "add-meeting", "move-meeting",
              "cancel-meeting", "resend-link", "revoke-links", "record-panel-notification", "record-panel-reply")


async def delete_finished_form_runs(office: Office | None = None) -> int:
    """Delete the runs of the deployments whose Run form is a person's form (FORM_FLOWS) that ended more
    than `intake_keep_hours` ago: a refused one still holds the form as typed, names and all (kept so
    "Copy to new run" refills it), a recorded one only its reference. Returns how many were deleted.
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
        runs = await client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=list(FORM_FLOWS))),
                                           flow_run_filter=finished, limit=200)
        for run in runs:
            await client.delete_flow_run(run.id)
    return len(runs)


@dataclass(frozen=True)
class RunRecovery:
    """What the sweep did with one case's dead run."""

    reference: str
    fault: RunFault
    previous_state: str
    decision: RecoveryDecision


async def recover_dead_runs(office: Office | None = None, *, limit: RecoveryLimit = RecoveryLimit(),
                            actor: str = "deadline sweep") -> list[RunRecovery]:
    """Find every open case whose run has died (casework.recovery.run_fault: crashed, failed, suspended
    with no form saved past the grace, taken by a worker and never started, or shown running with its
    heartbeat overdue) and restart it, as
    `recover_referral_run` would, unless it keeps dying (`limit`): then leave it and escalate. Each is
    audited and the administrator told once (the business manager too of one left stopped). A run
    dealt with before (the same dead state) is not touched again. Judged on the real clock.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType
    from prefect.exceptions import PrefectHTTPStatusError

    from flows import people

    office = office or open_office()
    from casework.store.tables import Review

    with office.sessions() as session:
        runs_of = {run_id: reference for run_id, reference in session.execute(
            select(Case.flow_run_id, Case.reference).where(Case.status == "open", Case.flow_run_id.is_not(None)))}
        runs_of |= {run_id: reference for run_id, reference in session.execute(  # and each review's own run
            select(Review.flow_run_id, Case.reference).join(Case, Review.case_id == Case.id).where(
                Case.status == "open", Review.stage != "closed", Review.flow_run_id.is_not(None)))}
    may_be_dead = FlowRunFilterState(type=FlowRunFilterStateType(any_=[
        StateType.CRASHED, StateType.FAILED, StateType.PAUSED, StateType.RUNNING, StateType.PENDING]))
    recoveries = []
    ids = list(runs_of)
    async with get_client() as client:
        for first in range(0, len(ids), RUNS_PER_READ):
            chunk = [UUID(i) for i in ids[first:first + RUNS_PER_READ]]
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=chunk), state=may_be_dead), limit=len(chunk))
            for run in runs:
                now = datetime.now(timezone.utc)
                try:
                    sighting = await people.run_sighting(client, run, "", now)
                except PrefectHTTPStatusError as busy:  # a loaded server: the next sweep looks again
                    if busy.response.status_code < 500:
                        raise
                    continue
                fault = run_fault(sighting, now=now, heartbeat_seconds=people.heartbeat_seconds(),
                                  form_save_seconds=people.FORM_SAVE_SECONDS)
                if fault is not None:
                    recovery = await _deal_with_dead_run(client, office, runs_of[str(run.id)], run, fault, limit, actor)
                    if recovery is not None:
                        recoveries.append(recovery)
    return recoveries


RUNS_PER_READ = 200
CHECK_FLOW = "recover-runs"  # flows.sweep.recover_runs


async def wait_for_earlier_checks(seconds: float = 5) -> None:
    """Inside a recovery check's run: wait until the checks started before it have finished (at most
    `seconds`: a check's own work takes a second or two, and one killed with its worker never finishes, so
    waiting longer for it only delays the restart). Two checks woken by two deaths at once would otherwise
    both find the same dead run and restart it twice; the later one now finds it restarted."""
    import asyncio
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    deadline = time.monotonic() + seconds
    async with get_client() as client:
        me = await client.read_flow_run(context.flow_run.id)
        mine = (me.start_time or datetime.now(timezone.utc), str(me.id))
        while time.monotonic() < deadline:
            running = await client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[CHECK_FLOW])),
                flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
                    any_=[StateType.RUNNING]))), limit=RUNS_PER_READ)
            if not any(run.start_time and (run.start_time, str(run.id)) < mine for run in running):
                return
            await asyncio.sleep(0.5)


async def catch_up_runs_behind(office: Office | None = None) -> list[str]:
    """Wake every open case's run suspended at a wait the case has moved past (a step recorded in the case
    database by `cig` or the website while the run was not waiting, flows.people.submit_step): it re-runs from
    the top, finds the step done and moves on. A dead run is not touched here (`recover_dead_runs` restarts it,
    within its limit). Returns the references of the cases whose runs were woken."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    from flows import people

    office = office or open_office()
    with office.sessions() as session:
        open_runs = {run_id: reference for run_id, reference in session.execute(
            select(Case.flow_run_id, Case.reference).where(Case.status == "open", Case.flow_run_id.is_not(None)))}
    woken = []
    ids = list(open_runs)
    async with get_client() as client:
        for first in range(0, len(ids), RUNS_PER_READ):
            chunk = [UUID(i) for i in ids[first:first + RUNS_PER_READ]]
            runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=chunk), state=FlowRunFilterState(type=FlowRunFilterStateType(
                    any_=[StateType.PAUSED]))), limit=len(chunk))
            for run in runs:
                reference = open_runs[str(run.id)]
                with office.sessions() as session:
                    behind = run.state is not None and people.run_behind(
                        store.get_case(session, reference=reference), run.state.state_details.pause_key)
                if not behind:
                    continue
                now = datetime.now(timezone.utc)
                sighting = await people.run_sighting(client, run, "", now)
                if run_fault(sighting, now=now, heartbeat_seconds=people.heartbeat_seconds(),
                             form_save_seconds=people.FORM_SAVE_SECONDS) is not None:
                    continue
                if await people.wake_paused_run(client, run):
                    woken.append(reference)
    return woken


async def _deal_with_dead_run(client, office: Office, reference: str, run, fault: RunFault,  # type: ignore[no-untyped-def]
                              limit: RecoveryLimit, actor: str) -> RunRecovery | None:
    """Restart the dead run, or leave it and escalate; audit and tell. None if it was dealt with already."""
    state = run.state
    now = datetime.now(timezone.utc)
    with office.sessions() as session:
        history = recovery_history(session, reference=reference)
    decision = recovery_decision(history, state_id=str(state.id), now=now, limit=limit)
    if decision is RecoveryDecision.already_dealt_with:
        return None
    fresh = await client.read_flow_run(run.id)  # another sweep may have restarted it meanwhile
    if fresh.state is None or fresh.state.id != state.id:
        return None
    state_ids = [str(state.id)]
    if fault is RunFault.stalled:  # nothing reported its death: say so on the run first
        silence = (f"Taken by a worker at {state.timestamp:%H:%M:%S} UTC and never reported running"
                   if state.type.value == "PENDING" else f"No heartbeat since {state.timestamp:%H:%M:%S} UTC or later")
        crashed = await client.set_flow_run_state(run.id, Crashed(
            message=f"{silence}: its process or worker is gone"), force=True)
        if crashed.state is not None:
            state_ids.append(str(crashed.state.id))
    if decision is RecoveryDecision.restart:
        await _reschedule(client, office, reference, fresh)
    record_run_recovery(office, reference=reference, fault=fault, previous_state=state.type.value, decision=decision,
                        state_ids=state_ids, limit=limit, now=now, actor=actor)
    return RunRecovery(reference, fault, state.type.value, decision)


async def _reschedule(client, office: Office, reference: str, run) -> None:  # type: ignore[no-untyped-def]
    """Put the run back on the work pool. A run that died at a wait nobody answered (suspended with no form,
    or crashed while suspended) waits next on a fresh suspend key: Prefect treats a key it has seen as
    already answered, and there would be no answer to load. One that died after its input arrived keeps
    the key, and finds the input again."""
    with office.sessions() as session:
        seq = store.get_case(session, reference=reference).wait_seq
    seen = [key for key in (run.empirical_policy.pause_keys or ()) if key.endswith(f"-{seq}")]
    if seen and not any([await _answered(client, run.id, key) for key in seen]):
        with office.sessions.begin() as session:
            store.abandon_wait(store.get_case(session, reference=reference, for_update=True))
    await client.set_flow_run_state(run.id, Scheduled(), force=True)


async def _answered(client, flow_run_id: UUID, pause_key: str) -> bool:  # type: ignore[no-untyped-def]
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
    from prefect.input.run_input import keyset_from_base_key

    try:
        await client.read_flow_run_input(flow_run_id, keyset_from_base_key(f"suspended-{pause_key}")["response"])
        return True
    except ObjectNotFound:
        return False
    except PrefectHTTPStatusError as missing:
        if missing.response.status_code != 404:
            raise
        return False


async def recover_referral_run(reference: str, office: Office | None = None, *, stalled: bool = False) -> str:
    """Put a case's run that died back on the work pool at once, as the recovery check does within a
    minute: crashed or failed; suspended at a step with no form saved for it (its process ended while a
    busy server refused the form); or, with `stalled`, still shown running after its worker was killed
    (the check waits for its heartbeat to be overdue). A person's command: no limit, no alert. It re-runs from
    the top: the case database says what is done, and the outbox sends what is still owed, once.
    Returns the state it was in.
    """
    from prefect.client.orchestration import get_client

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
        await _reschedule(client, office, reference, run)
    with office.sessions.begin() as session:
        store.audit(session, reference=reference, actor="cig referral recover", action=RUN_RESCHEDULED,
                    now=datetime.now(timezone.utc), previous_state=state,
                    state_ids=[str(run.state.id)] if run.state else [])
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


async def start_review_run(reference: str, office: Office | None = None) -> str:
    """Start (or find) the run of the review a case's decision initiated, `review-<REFERENCE>`; return its id.
    The run records itself on the review when it commissions it (flows/review.py)."""
    office = office or open_office()
    with office.sessions() as session:
        regime = store.get_case(session, reference=reference).regime
    run = await run_deployment(
        name=office.settings.review_deployment,
        parameters={"reference": reference},
        flow_run_name=f"review-{reference}",
        tags=["review", "review-stage:commissioned", f"regime:{regime}"],
        idempotency_key=f"review-{reference}",
        timeout=0,
        as_subflow=False,
    )
    return str(run.id)


async def catch_up_review_runs_behind(office: Office | None = None) -> list[str]:
    """Wake every review run suspended at a wait its review has moved past (a decision recorded by `cig review`
    while the run was not yet waiting: flows.review.wake_review_run), as `catch_up_runs_behind` does for the
    referral runs; the case may be closed by then (a decision not to publish closes it). Returns the
    references of the cases whose review runs were woken."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterState, \
        FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    from casework.store.tables import Review
    from flows.review import wake_review_run

    office = office or open_office()
    async with get_client() as client:
        waiting = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["review"])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))),
            limit=RUNS_PER_READ)
    with office.sessions() as session:
        reviewing = session.scalars(select(Case.reference).join(Review, Review.case_id == Case.id).where(
            Review.flow_run_id.in_([str(run.id) for run in waiting]))).all()
    woken = []
    for reference in reviewing:
        try:
            if await wake_review_run(office, reference):
                woken.append(reference)
        except Exception:  # the server busy or the run gone: the next sweep looks again (dead runs: recover_dead_runs)
            continue
    return woken


async def start_pending_review_runs(office: Office | None = None) -> list[str]:
    """Start the review runs of open cases whose decision initiated a review that has no run yet (the
    Prefect server was unreachable when the referral run finished)."""
    from casework.review.rules import REVIEW_TYPES
    from casework.store.tables import Review

    office = office or open_office()
    with office.sessions() as session:
        waiting = session.scalars(
            select(Case.reference).outerjoin(Review, Review.case_id == Case.id).where(
                Case.status == "open", Case.stage == "decided", Case.decision.in_(sorted(REVIEW_TYPES)),
                Review.flow_run_id.is_(None))).all()
    started = []
    for reference in waiting:
        try:
            await start_review_run(reference, office)
        except Exception:  # no `review` deployment registered yet, or the server busy: the next sweep tries again
            continue
        started.append(reference)
    return started
