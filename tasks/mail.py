"""Delivering a case's outbox over SMTP, retried with backoff while the failure is temporary."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NONE
from prefect.tasks import exponential_backoff

from casework.delivery import DeliveryIncomplete, deliver_pending
from casework.office import open_office


def _temporary(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
    # the engine hands over Failed(data=<the exception>); `state.result()` would be a coroutine
    # inside an async task, never awaited, and the condition would never retry
    return isinstance(state.data, DeliveryIncomplete)


@task(
    name="send_messages",
    cache_policy=NONE,
    persist_result=False,
    retries=4,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.5,
    retry_condition_fn=_temporary,
)
async def send_messages(reference: str | None) -> int:
    """Send the case's pending messages once each; raise DeliveryIncomplete while some failed temporarily."""
    logger = get_run_logger()
    report = await deliver_pending(open_office(), reference=reference)
    for failure in report.permanent_failures:
        logger.error("A message was refused permanently and will not be retried: %s", failure)
    if report.temporary_failures:
        raise DeliveryIncomplete(
            f"{len(report.temporary_failures)} message(s) not delivered yet: {report.temporary_failures[0]}"
        )
    if report.in_flight:  # another deliverer (the sweep, a second worker) is sending them: not a failure
        logger.info("%d message(s) are being sent by another deliverer", report.in_flight)
    return len(report.sent)
