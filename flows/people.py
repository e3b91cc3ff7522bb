"""Handing a person's form to a waiting case, the way the flow run page's Resume button does.

Used by `cig` and the tests. It refuses, before anything reaches Prefect, an input for a step
already recorded ("already recorded") or a case at another step; then it waits for the case's run
to reach the step, resumes it with the form, and waits until the case database shows the result.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.flow_runs import aresume_flow_run
from pydantic import BaseModel
from sqlalchemy import select

from casework.forms import AgencyReturnForm, DecisionForm, check_decision_against_recommendation
from casework.model import Recommendation, ReturnStatus, Stage
from casework.office import Office
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


class FormNotSaved(CaseNotWaiting):
    """The case's run suspended at the step but its form was never saved: `cig referral recover` it."""


@dataclass(frozen=True)
class StepResult:
    reference: str
    step: str
    stage: Stage


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


FORM_SAVE_SECONDS = 60  # a suspended run's process saves its form's schema within this, retries included


class RunWait(Enum):
    """Where a case's run stands for a step."""

    elsewhere = "not waiting at the step"
    saving_form = "suspended at the step, saving its form"
    ready = "waiting at the step, its form saved"
    form_missing = "suspended at the step, its form never saved"


async def run_wait(client, flow_run_id: UUID, key_prefix: str) -> RunWait:  # type: ignore[no-untyped-def]
    """Whether the run is suspended at a key starting with `key_prefix` and can take its input.

    Prefect records the Suspended state before the form's schema (`suspend_flow_run` proposes the
    state, then saves the schema), and refuses a resume in between ("Run input schema not found"):
    a loaded machine makes that window seconds long. A run whose process ended in that window
    (the server too busy to save the schema) stays suspended with no form: after
    `FORM_SAVE_SECONDS`, `form_missing`, and only `cig referral recover` moves it on.
    """
    try:
        run = await client.read_flow_run(flow_run_id)
    except PrefectHTTPStatusError as busy:  # a loaded server's 5xx: look again, the run is still there
        if busy.response.status_code < 500:
            raise
        return RunWait.elsewhere
    state = run.state
    if not (state and state.is_paused() and (state.state_details.pause_key or "").startswith(key_prefix)):
        return RunWait.elsewhere
    keyset = state.state_details.run_input_keyset
    if not keyset:
        return RunWait.ready
    try:
        await client.read_flow_run_input(flow_run_id, keyset["schema"])
        return RunWait.ready
    except ObjectNotFound:
        pass
    except PrefectHTTPStatusError as missing:  # 404: the schema is not saved (yet); 5xx: a loaded server
        if missing.response.status_code >= 500:
            return RunWait.elsewhere
        if missing.response.status_code != 404:
            raise
    suspended_for = (datetime.now(timezone.utc) - state.timestamp).total_seconds()
    return RunWait.form_missing if suspended_for > FORM_SAVE_SECONDS else RunWait.saving_form


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


async def submit_step(office: Office, reference: str, step: str, form: BaseModel, wait_seconds: float | None = None,
                      look_every: float = 0.5) -> StepResult:
    """Give `form` to the case's run at `step` and return the case's stage once it is recorded; until the run
    asks for it, look every `look_every` seconds."""
    wait_seconds = office.settings.human_step_wait_seconds if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait_seconds
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        check_step(case, step, form, arrived=False)
        if case.flow_run_id is None:
            raise CaseNotWaiting(f"{reference} has no flow run yet: start it with `cig referral start-pending`")
        flow_run_id = UUID(case.flow_run_id)
    async with get_client() as client:
        while (wait := await run_wait(client, flow_run_id, f"{step}-")) is not RunWait.ready:
            if wait is RunWait.form_missing:
                raise FormNotSaved(
                    f"{reference}: its run stopped at the {step} step without saving the form for it (the Prefect "
                    f"server was too busy); `cig referral recover {reference}` starts it again, then submit again"
                )
            if time.monotonic() > deadline:
                raise CaseNotWaiting(
                    f"{reference}: the case's run did not reach the {step} step within {wait_seconds:.0f} s "
                    "(is the worker running? `make up` starts one)"
                )
            await asyncio.sleep(look_every)
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        check_step(case, step, form)
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
                return StepResult(reference, step, Stage(case.stage))
        if time.monotonic() > deadline + wait_seconds:
            raise CaseNotWaiting(f"{reference}: the input was handed over but not yet recorded; check `cig referral show`")
        await asyncio.sleep(0.3)
