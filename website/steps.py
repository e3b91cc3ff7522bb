"""Recording a person's step from the website in the case database, the way `cig` does.

A step is recorded directly through `flows.people.record_step` (casework.referral.actions: the same checks, audit
and outbox as `cig` and the case's run), so the person waits for nothing but the database. Once the page
has sent what the step owes, `wake_case_run` wakes the case's run, which finds the step done and moves on;
a run not waiting, behind or dead is caught up by the deadline sweep.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import BaseModel

from casework.model import Stage
from casework.office import Office

log = logging.getLogger("website")


async def hand_over(office: Office, reference: str, step: str, form: BaseModel, *, now: datetime, actor: str) -> Stage:
    """Record a person's step ("screening", "return" or "decision") as `cig` does; the case's stage after it.
    Raises AlreadyRecorded, NotAtThisStep or ValueError as `cig` would refuse; nothing is recorded then."""
    from flows.people import record_step

    return record_step(office, reference, step, form, now=now, actor=actor).stage


async def wake_case_run(office: Office, reference: str, step: str) -> None:
    """Wake the case's run after its step was recorded; a run that cannot be woken now (the Prefect server
    unreachable, the run dead) is left to the deadline sweep, and the log says so without naming anyone."""
    from flows.people import RunNews, wake_case_run as wake

    try:
        woken = await wake(office, reference, step)
    except Exception as problem:  # the step is recorded; the sweep catches the run up
        log.warning("a case's run was not woken after its %s: %s", step, type(problem).__name__)
        return
    if woken.news is RunNews.stopped:
        log.warning("a case's run is stopped after its %s was recorded (%s); the deadline sweep restarts it",
                    step, woken.fault)
