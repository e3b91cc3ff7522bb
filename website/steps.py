"""Handing a person's step from the website to the case, the way `cig` does.

A step goes through `flows.people.submit_step`, the code path of `cig return`, `cig screen` and `cig
decide`: the same checks, the case's run resumed with the form, the run's task recording it in the case
database. A case whose run has not started yet (the Prefect server was unreachable when it was
referred, and `cig referral start-pending` has not run) is recorded in the case database directly,
through `casework.actions`, as the run's task would; the run, once started, finds the step done.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from casework import actions
from casework.model import Stage
from casework.office import Office
from casework.store import cases as store

RECORD_DIRECTLY = {
    "screening": actions.record_screening,
    "return": actions.record_return,
    "decision": actions.record_decision,
}


class CannotRecordNow(RuntimeError):
    """The case's run could not take the step now (not at the step in time, or dead): nothing was recorded."""


async def hand_over(office: Office, reference: str, step: str, form: BaseModel, *, now: datetime, actor: str) -> Stage:
    """Record a person's step ("screening", "return" or "decision") as `cig` does; the case's stage after it.
    Raises AlreadyRecorded, NotAtThisStep or ValueError as `cig` would refuse, CannotRecordNow when the
    case's run cannot take it now."""
    with office.sessions() as session:
        has_run = store.get_case(session, reference=reference).flow_run_id is not None
    if not has_run:
        return RECORD_DIRECTLY[step](office, reference, form, now=now, actor=actor).stage
    from flows.people import CaseNotWaiting, StepRefused, submit_step

    try:
        return (await submit_step(office, reference, step, form)).stage
    except StepRefused as refused:
        raise ValueError(str(refused)) from None
    except CaseNotWaiting as waiting:
        raise CannotRecordNow(str(waiting)) from None
