"""A person's step on a case (screening, a CIGINF1 return, the recommendation, the decision), given through
`cig` or the secure website, and the faults of the case's run told in words.

A step is recorded in the case database at once, through `casework.referral.actions` (the same checks, audit and
outbox as the run's own task), what it owes is sent at once (the decision's Ofsted notice included), and
then the case's run is woken: it re-runs from the top, finds the step done and moves on. A run running
now reads the case database itself; one not waiting or behind is caught up by the deadline sweep. The
Prefect UI's Resume forms still hand the form to the run, which records it (flows.waiting). A step the
case cannot take is refused before anything is written ("already recorded", another step); a run found
dead (crashed, failed, suspended with no form, or silent while shown running) is named at once, with what
the system will do about it (casework.recovery; the deadline sweep restarts it).

The review's steps (`submit_review_step`) are still handed to the review's run, which records them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.flow_runs import aresume_flow_run
from prefect.settings import get_current_settings
from pydantic import BaseModel
from sqlalchemy import select

from casework.referral import actions
from casework.delivery import deliver_pending
from casework.forms import AgencyReturnForm, DecisionForm, check_decision_against_recommendation
from casework.model import Recommendation, ReturnStatus, Stage
from casework.office import Office
from casework import recovery
from casework.recovery import (
    PastEvent, RunFault, RunSighting, restart_promise, run_fault, silence_allowed,
)
from casework.store import cases as store
from casework.store.cases import AlreadyRecorded, NotAtThisStep
from casework.store.tables import AuditEvent, Case
from config.partnership import Partnership
from flows.forms import presented_input

EXPECTED_STAGE = {
    "screening": Stage.awaiting_screening,
    "return": Stage.awaiting_returns,
    "recommendation": Stage.awaiting_recommendation,
    "decision": Stage.awaiting_decision,
}


class StepRefused(ValueError):
    """The case's run looked at the input and refused it; the message says why."""


class CaseNotWaiting(RuntimeError):
    """The case's run did not reach the step in time (is the worker running?)."""


class RunStopped(CaseNotWaiting):
    """The case's run died (crashed, failed, or its worker was killed): the input was not handed over,
    and the deadline sweep restarts the run (or, if it keeps dying, leaves it and escalates)."""


class FormNotSaved(RunStopped):
    """The case's run suspended at the step but its form was never saved: the deadline sweep restarts it."""


@dataclass(frozen=True)
class StepResult:
    reference: str
    step: str
    stage: Stage
    run: "RunNews | None" = None
    run_fault: RunFault | None = None
    run_words: str | None = None  # the case's run is dead: what the person is told (the step is recorded)


def check_step(case: Case, step: str, form: BaseModel, *, arrived: bool = True) -> None:
    """Refuse an input the case cannot take now, with words a person understands.

    Before the case's run has `arrived` at the step, only a step already recorded is refused.
    """
    if step == "screening" and case.screening is not None:
        raise AlreadyRecorded(f"{case.reference}: screening was already recorded ({case.screening}); nothing changed")
    if step == "decision" and case.decision is not None:
        raise AlreadyRecorded(f"{case.reference}: the decision was already recorded ({case.decision}); nothing changed")
    if step == "recommendation" and case.stage in (Stage.awaiting_decision, Stage.notifying, Stage.decided):
        raise AlreadyRecorded(f"{case.reference}: the recommendation was already recorded; nothing changed")
    if step == "return" and isinstance(form, AgencyReturnForm):
        request = next((r for r in case.requests if r.round == case.round and r.agency == form.agency), None)
        if request is not None and request.status != ReturnStatus.outstanding and case.stage == Stage.awaiting_returns:
            raise AlreadyRecorded(
                f"{case.reference}: the return from {form.agency} was already recorded ({request.status}); nothing changed"
            )
        if arrived and request is None:
            asked = ", ".join(r.agency for r in case.requests if r.round == case.round)
            raise ValueError(f"agency: {form.agency} was not asked for information in this round (asked: {asked})")
    if not arrived:
        return
    if step == "decision" and isinstance(form, DecisionForm) and case.stage == Stage.awaiting_decision:
        check_decision_against_recommendation(form, Recommendation(case.recommendation) if case.recommendation else None)
    if Stage(case.stage) is not EXPECTED_STAGE[step]:
        raise NotAtThisStep(f"{case.reference} is {case.stage.replace('_', ' ')}, not at the {step} step")


FORM_SAVE_SECONDS = recovery.FORM_SAVE_SECONDS  # a suspended run's process saves its form's schema within this


class RunWait(Enum):
    """Where a case's run stands for a step."""

    elsewhere = "not waiting at the step"
    saving_form = "suspended at the step, saving its form"
    ready = "waiting at the step, its form saved"
    form_missing = "suspended at the step, its form never saved"
    stopped = "dead: crashed, failed, or silent while shown running"


def heartbeat_seconds() -> int | None:
    """Seconds between a running flow run's heartbeats (PREFECT_FLOWS_HEARTBEAT_FREQUENCY, at least 30), or
    None when heartbeats are off."""
    value = get_current_settings().flows.heartbeat_frequency
    return None if value is None else max(value, 30)


async def latest_heartbeat(client, flow_run_id: UUID, since: datetime) -> datetime | None:  # type: ignore[no-untyped-def]
    """When the run's latest `prefect.flow-run.heartbeat` event since `since` occurred (the events API)."""
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter

    page = await client.read_events(EventFilter(
        occurred=EventOccurredFilter(since=since, until=datetime.now(timezone.utc) + timedelta(days=1)),
        event=EventNameFilter(name=["prefect.flow-run.heartbeat"]),
        resource=EventResourceFilter(id=[f"prefect.flow-run.{flow_run_id}"]),
    ), limit=1)
    return max((event.occurred for event in page.events), default=None)


async def run_sighting(client, run, key_prefix: str, now: datetime) -> RunSighting:  # type: ignore[no-untyped-def]
    """What the server shows of `run` for casework.recovery: its state, whether the form of the step it is
    suspended at (a key starting with `key_prefix`) is saved, and, only for a run shown running or pending
    longer than its heartbeats allow, its latest heartbeat. A 5xx from a loaded server propagates.
    """
    state = run.state
    form_saved = None
    if state.is_paused() and (state.state_details.pause_key or "").startswith(key_prefix):
        keyset = state.state_details.run_input_keyset
        form_saved = True
        if keyset:
            try:
                await client.read_flow_run_input(run.id, keyset["schema"])
            except ObjectNotFound:
                form_saved = False
            except PrefectHTTPStatusError as missing:  # 404: the schema is not saved (yet)
                if missing.response.status_code != 404:
                    raise
                form_saved = False
    last_heartbeat = None
    allowed = silence_allowed(state.type.value, heartbeat_seconds())
    if allowed is not None and now - state.timestamp > allowed:
        last_heartbeat = await latest_heartbeat(client, run.id, since=state.timestamp)
    return RunSighting(state=state.type.value, state_at=state.timestamp, last_heartbeat=last_heartbeat,
                       form_saved=form_saved)


async def _look(client, flow_run_id: UUID, key_prefix: str,  # type: ignore[no-untyped-def]
                now: datetime | None = None) -> tuple[RunWait, RunFault | None, str | None]:
    """The run's RunWait for the step, how it died if it did, and the id of the state it is in."""
    now = now or datetime.now(timezone.utc)
    try:
        run = await client.read_flow_run(flow_run_id)
        if run.state is None:
            return RunWait.elsewhere, None, None
        sighting = await run_sighting(client, run, key_prefix, now)
    except PrefectHTTPStatusError as busy:  # a loaded server's 5xx: look again, the run is still there
        if busy.response.status_code < 500:
            raise
        return RunWait.elsewhere, None, None
    fault = run_fault(sighting, now=now, heartbeat_seconds=heartbeat_seconds(), form_save_seconds=FORM_SAVE_SECONDS)
    state_id = str(run.state.id)
    if fault is RunFault.form_missing:
        return RunWait.form_missing, fault, state_id
    if fault is not None:
        return RunWait.stopped, fault, state_id
    if sighting.form_saved is None:
        return RunWait.elsewhere, None, state_id
    return (RunWait.ready if sighting.form_saved else RunWait.saving_form), None, state_id


async def run_wait(client, flow_run_id: UUID, key_prefix: str, now: datetime | None = None) -> RunWait:  # type: ignore[no-untyped-def]
    """Whether the run is suspended at a key starting with `key_prefix` and can take its input, or dead.

    Prefect records the Suspended state before the form's schema (`suspend_flow_run` proposes the
    state, then saves the schema), and refuses a resume in between ("Run input schema not found"):
    a loaded machine makes that window seconds long. A run whose process ended in that window
    (the server too busy to save the schema, or the process killed) stays suspended with no form:
    after `FORM_SAVE_SECONDS`, `form_missing`. A crashed or failed run, or one shown running whose
    heartbeats stopped (its worker killed), is `stopped`. The deadline sweep restarts both.
    """
    return (await _look(client, flow_run_id, key_prefix, now))[0]


async def waiting_for_input(client, flow_run_id: UUID, key_prefix: str) -> bool:  # type: ignore[no-untyped-def]
    """True once the run is suspended at a key starting with `key_prefix` and can take its input."""
    return await run_wait(client, flow_run_id, key_prefix) is RunWait.ready


async def _resume(flow_run_id: UUID, step: str, form: BaseModel, partnership: Partnership) -> None:
    """Resume the run with the form, again if a loaded server answered 5xx and the run still waits."""
    for attempt in range(5):
        try:
            await aresume_flow_run(flow_run_id, run_input=presented_input(form, partnership))
            return
        except PrefectHTTPStatusError as busy:
            if busy.response.status_code < 500 or attempt == 4:
                raise
        await asyncio.sleep(1 + attempt)
        async with get_client() as client:
            if not await waiting_for_input(client, flow_run_id, f"{step}-"):
                return  # the resume went through before the error came back


def dead_run_words(office: Office, reference: str, step: str, fault: RunFault, state_id: str | None) -> str:
    """What the person is told at once of a dead run: what happened, what the system does about it, and
    that their input was not handed over (they give it again once the run is back at the step)."""
    from casework.sweep import recovery_history

    happened = "its run stopped at the step without saving the form for it" if fault is RunFault.form_missing \
        else fault.words
    with office.sessions() as session:
        history = recovery_history(session, reference=reference)
    if any(p.event is PastEvent.left_stopped and state_id in p.state_ids for p in history):
        then = ("it kept stopping, so the system has left it stopped and told the business manager; it is "
                f"restarted with `cig referral recover {reference}` once the cause is found")
    else:
        then = (f"{restart_promise()} and tells the administrator (`cig referral recover {reference}` restarts it "
                "at once)")
    return (f"{reference}: {happened}; {then}. Your {step} was not handed over: give it again once the case is back "
            f"at the {step} step (`cig referral show {reference}`)")


RECORD_STEP: dict[str, Callable[..., actions.Outcome]] = {
    "screening": actions.record_screening,
    "return": actions.record_return,
    "recommendation": actions.record_recommendation,
    "decision": actions.record_decision,
}


def run_moves_case_to(case: Case, step: str) -> bool:
    """The case is on its way to `step` and its run takes it there by itself: an accepted case (or one sent
    back for further information) is listed and its CIGINF1 requests sent before a return can be recorded."""
    return step == "return" and store.needs_listing(case)


def record_step(office: Office, reference: str, step: str, form: BaseModel, *, now: datetime,
                actor: str) -> actions.Outcome:
    """Record a person's step in the case database, as the case's run would record its form (the same
    checks, audit and outbox, casework.referral.actions). Raises AlreadyRecorded, NotAtThisStep or ValueError (naming
    the field) with words a person understands; nothing is recorded then."""
    with office.sessions() as session:
        check_step(store.get_case(session, reference=reference), step, form)
    return RECORD_STEP[step](office, reference, form, now=now, actor=actor)


class RunNews(Enum):
    """What became of the case's run after a step was recorded without it."""

    woken = "woken: it finds the step done and moves on"
    on_its_way = "running: it reads the case database next"
    waiting = "waiting at the case's next step"
    finished = "finished"
    stopped = "dead: the deadline sweep restarts it"
    none = "not started yet"


@dataclass(frozen=True)
class RunWake:
    news: RunNews
    fault: RunFault | None = None
    words: str | None = None  # for a dead run: what the person is told


def run_behind(case: Case, pause_key: str | None) -> bool:
    """Whether a run suspended at `pause_key` (`<step>-<wait_seq>`, flows.waiting) waits for what the case no
    longer needs: an input was recorded since the key was made, or its step is done (recorded after the run
    read the case's stage and before it read the key)."""
    step, _, seq = (pause_key or "").rpartition("-")
    if not seq.isdigit():
        return False
    if int(seq) != case.wait_seq:
        return True
    if step == "recommendation":
        return case.stage != Stage.awaiting_recommendation or case.recommendation is not None
    return step in EXPECTED_STAGE and case.stage != EXPECTED_STAGE[step]


async def wake_paused_run(client, run) -> bool:  # type: ignore[no-untyped-def]
    """Put a suspended run back on the work pool without input, as Prefect's own resume of a suspended run
    does (a Scheduled state; it re-runs from the top). Proposed, not forced, with a transition id made from the
    suspended state: of two wakers of the same suspension, the second is refused, and a run no longer
    suspended is never moved. The suspended wait's form (its schema and description, which may hold what a
    refused input typed) is deleted, as the run deletes a form once answered. True if this call woke it."""
    from uuid import NAMESPACE_URL, uuid5

    from prefect.client.schemas.objects import StateDetails
    from prefect.states import Scheduled

    wake = Scheduled(state_details=StateDetails(transition_id=uuid5(NAMESPACE_URL, f"wake:{run.state.id}")))
    result = await client.set_flow_run_state(run.id, wake)
    woken = result.status.value == "ACCEPT" and result.state is not None and result.state.is_scheduled()
    if woken:  # the wait's form is never answered: its schema (a refused input's values filled in) goes
        for role in ("schema", "description"):
            key = (run.state.state_details.run_input_keyset or {}).get(role)
            try:
                if key:
                    await client.delete_flow_run_input(run.id, key)
            except ObjectNotFound:
                pass
            except PrefectHTTPStatusError as missing:
                if missing.response.status_code != 404:
                    raise
    return woken


async def refresh_waiting_forms(office: Office, references: Sequence[str]) -> None:
    """After cases were re-listed (a new meeting, their returns due on new dates): wake each case's run
    suspended at a wait, so it suspends again with its form showing the case as it is now; a re-listing
    gives the wait a fresh key (casework.meetings.rescheduling.relist), so the run finds its wait behind."""
    for reference in references:
        await wake_case_run(office, reference, "return")


async def wake_case_run(office: Office, reference: str, step: str) -> RunWake:
    """After a step was recorded in the case database: wake the case's run if it is suspended at a wait the
    case has moved past (`run_behind`), so it finds the step done and moves on.
    A run running now reads the case database itself; one that suspends behind it wakes itself
    (flows.waiting). A dead run is left to the deadline sweep, which restarts it; the person is told in words.
    """
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        run_id = case.flow_run_id
    if run_id is None:
        return RunWake(RunNews.none)
    now = datetime.now(timezone.utc)
    async with get_client() as client:
        run = await client.read_flow_run(UUID(run_id))
        if run.state is None:
            return RunWake(RunNews.on_its_way)
        sighting = await run_sighting(client, run, "", now)
        fault = run_fault(sighting, now=now, heartbeat_seconds=heartbeat_seconds(), form_save_seconds=FORM_SAVE_SECONDS)
        if fault is not None:
            return RunWake(RunNews.stopped, fault, recorded_dead_run_words(office, reference, step, fault,
                                                                           str(run.state.id)))
        if run.state.is_final():
            return RunWake(RunNews.finished)
        if not run.state.is_paused():
            return RunWake(RunNews.on_its_way)
        if not run_behind(case, run.state.state_details.pause_key):
            return RunWake(RunNews.waiting)
        await wake_paused_run(client, run)
        return RunWake(RunNews.woken)


def recorded_dead_run_words(office: Office, reference: str, step: str, fault: RunFault, state_id: str) -> str:
    """What the person is told when their step is recorded but the case's run is dead: what happened, what
    the system does about it, and that the case moves on once its run is back."""
    words = dead_run_words(office, reference, step, fault, state_id)
    return words.split(f". Your {step} was not handed over", 1)[0] + (
        f". Your {step} is recorded and what it owes is sent; the case moves on once its run is back")


SILENCE_CONFIRMED_SECONDS = 15.0


class DeathWatch:
    """A person's wait for a run judges it dead at once when it crashed, failed or lost its form, but silent
    (no heartbeat, or taken and never started) only once it has stayed so for `SILENCE_CONFIRMED_SECONDS`: on a
    loaded machine the server stores a live run's heartbeat late, and a person told their form was not handed
    over, for a run that was working, would give it again for nothing."""

    def __init__(self) -> None:
        self.silent_since: float | None = None

    def death(self, fault: RunFault | None) -> RunFault | None:
        if fault is not RunFault.stalled:
            self.silent_since = None
            return fault
        self.silent_since = self.silent_since or time.monotonic()
        return fault if time.monotonic() - self.silent_since >= SILENCE_CONFIRMED_SECONDS else None


async def submit_step(office: Office, reference: str, step: str, form: BaseModel, wait_seconds: float | None = None,
                      look_every: float = 0.5, *, actor: str | None = None) -> StepResult:
    """Record `form` for `step` in the case database at once (record_step), send what it owes (the decision's
    Ofsted notice included), wake the case's run, and return the case's stage. Only a case its run has still
    to bring to the step (a return before the CIGINF1 requests are out) is waited for, looking every
    `look_every` seconds; a run found dead meanwhile is named at once (RunStopped, FormNotSaved), nothing
    recorded. A run found dead after the step is recorded is named in the result's `run_words`."""
    wait_seconds = office.settings.human_step_wait_seconds if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait_seconds
    watch = DeathWatch()
    while True:
        with office.sessions() as session:
            case = store.get_case(session, reference=reference)
            check_step(case, step, form, arrived=False)
            on_its_way, run_id = run_moves_case_to(case, step), case.flow_run_id
        if not on_its_way:
            break
        if run_id is None:
            raise CaseNotWaiting(f"{reference} has no flow run yet: start it with `cig referral start-pending`")
        async with get_client() as client:
            _, fault, state_id = await _look(client, UUID(run_id), f"{step}-")
        if (fault := watch.death(fault)) is not None:
            raise (FormNotSaved if fault is RunFault.form_missing else RunStopped)(
                dead_run_words(office, reference, step, fault, state_id))
        if time.monotonic() > deadline:
            raise CaseNotWaiting(f"{reference}: the case's run did not reach the {step} step within {wait_seconds:.0f} s "
                                 "(is the worker running? `make up` starts one)")
        await asyncio.sleep(look_every)
    outcome = record_step(office, reference, step, form, now=datetime.now(timezone.utc), actor=actor or f"{step} form")
    await deliver_pending(office, reference=reference)  # what cannot go now stays in the outbox for the run's retries
    woken = await wake_case_run(office, reference, step)
    return StepResult(reference, step, outcome.stage, woken.news, woken.fault, woken.words)


async def hand_over(office: Office, reference: str, step: str, form: BaseModel, flow_run_id: UUID,
                    check: Callable[[Case], None], *, wait_seconds: float | None = None,
                    look_every: float = 0.5) -> str:
    """Give `form` to the run `flow_run_id` (the case's referral or review run) once it waits at `step`, and
    return the case's stage once the case database shows it recorded; StepRefused if the run refused it. `check` refuses,
    before the resume, an input the case cannot take now (raising with words a person understands)."""
    wait_seconds = office.settings.human_step_wait_seconds if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait_seconds
    watch = DeathWatch()
    async with get_client() as client:
        while True:
            wait, fault, state_id = await _look(client, flow_run_id, f"{step}-")
            if wait is RunWait.ready:
                break
            if (fault := watch.death(fault)) is not None:
                raise (FormNotSaved if wait is RunWait.form_missing else RunStopped)(
                    dead_run_words(office, reference, step, fault, state_id))
            if time.monotonic() > deadline:
                raise CaseNotWaiting(
                    f"{reference}: the case's run did not reach the {step} step within {wait_seconds:.0f} s "
                    "(is the worker running? `make up` starts one)"
                )
            await asyncio.sleep(look_every)
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        check(case)
        seq = case.wait_seq  # a refusal recorded from here on is this form's (not an earlier input's)
        last_audit = session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0
    await _resume(flow_run_id, step, form, office.partnership)
    while True:
        with office.sessions() as session:
            case = store.get_case(session, reference=reference)
            if case.wait_seq > seq:
                refusal = session.scalars(
                    select(AuditEvent).where(
                        AuditEvent.case_reference == reference, AuditEvent.id > last_audit,
                        AuditEvent.action == f"{step} input refused",
                    )
                ).first()
                if refusal is not None:
                    raise StepRefused(str(refusal.detail.get("problem")))
                return str(case.stage)
        if time.monotonic() > deadline + wait_seconds:
            raise CaseNotWaiting(f"{reference}: the input was handed over but not yet recorded; check `cig referral show`")
        await asyncio.sleep(0.3)


REVIEW_STEPS = {"appointment": ("awaiting_reviewer",), "ratification": ("under_way", "ratifying"),
                "publication": ("awaiting_publication",)}


def review_at_step(office: Office, reference: str, step: str) -> tuple[str, str]:
    """The review's stage and run id, once its run can take `step`; NotAtThisStep when the review is at
    another step, CaseNotWaiting when its run has not started."""
    from casework.review import store as review_store

    with office.sessions() as session:
        review = review_store.get_review(session, case=store.get_case(session, reference=reference))
        stage, run_id = review.stage, review.flow_run_id
    if stage not in REVIEW_STEPS[step]:
        raise NotAtThisStep(f"{reference}: its review is {stage.replace('_', ' ')}, not at the {step} step")
    if run_id is None:
        raise CaseNotWaiting(f"{reference}: its review run has not started yet (the deadline sweep starts it)")
    return stage, run_id


async def submit_review_step(office: Office, reference: str, step: str, form: BaseModel,
                             wait_seconds: float | None = None) -> str:
    """Give `form` to the case's review run (`review-<REFERENCE>`) at `step` (appointment, ratification,
    publication) and return the review's stage once it is recorded. Refused at once (NotAtThisStep) when
    the review is at another step."""
    stage, run_id = review_at_step(office, reference, step)

    def check(case: Case) -> None:
        if review_at_step(office, reference, step)[0] != stage:
            raise NotAtThisStep(f"{reference}: its review moved on; look again with `cig review show {reference}`")

    await hand_over(office, reference, step, form, UUID(run_id), check, wait_seconds=wait_seconds)
    from casework.review import store as review_store

    with office.sessions() as session:
        return review_store.get_review(session, case=store.get_case(session, reference=reference)).stage
