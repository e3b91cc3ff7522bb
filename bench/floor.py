"""Prefect's own floor: a bare flow with the shape of a referral and no work inside it.

`floor(suspends, tasks_per_segment)` runs `tasks_per_segment` no-op tasks, suspends for an input
(like a person's form), and so on `suspends` times, then runs the last segment. Like the referral
flow it is re-run from the top on every resume: an answered suspend returns its input at once.
The benchmark resumes it with `prefect.flow_runs.aresume_flow_run`, the call `submit_step` makes.
"""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NONE
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput


class Nudge(RunInput):
    """The smallest form: one field, as a person's answer."""

    step: int


@task(cache_policy=NONE, persist_result=False)
async def do_nothing(segment: int, index: int) -> int:
    """A task run with no work."""
    return segment + index


@flow(name="floor", persist_result=False)
async def floor(suspends: int = 6, tasks_per_segment: int = 3) -> int:
    """`suspends` waits for input, `tasks_per_segment` empty task runs before each and after the last."""
    for segment in range(suspends + 1):
        for index in range(tasks_per_segment):
            await do_nothing(segment, index)
        if segment < suspends:
            await suspend_flow_run(wait_for_input=Nudge, key=f"step-{segment}", timeout=None)
    return suspends
