"""The `deadline-sweep` flow: every 15 minutes (prefect.yaml), find the deadlines that are due soon
or overdue and send the reminders, warnings, chases and escalations they owe; resend what a mail
outage left in the outbox; start the runs of referrals recorded while Prefect was unreachable.

The rules of who is told what and when are in casework.reminders; the sweep reads only the indexed
open deadlines near now. `now` may be given to simulate another moment (`make demo-month`).
"""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, get_run_logger

from casework.actions import finish_notified_cases
from casework.delivery import DeliveryIncomplete
from casework.office import open_office
from flows.launch import delete_finished_intake_runs, start_pending_runs
from tasks.artifacts import publish_tracker
from tasks.mail import send_messages
from tasks.reminders import queue_deadline_reminders


@flow(name="deadline-sweep", persist_result=False)
async def deadline_sweep(now: datetime | None = None) -> int:
    """Queue what the open deadlines owe at `now` (default: the present) and send it; returns how many were queued."""
    logger = get_run_logger()
    moment = now or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    outcome = queue_deadline_reminders(moment)
    logger.info("Looked at %d open deadline(s); queued %d message(s) %s", outcome.looked_at, outcome.queued, outcome.by_kind)
    try:
        await send_messages(None)  # also resends anything a mail-server outage left pending
    except DeliveryIncomplete as incomplete:
        logger.error("Messages are still waiting in the outbox (`cig outbox`): %s", incomplete)
    for reference in finish_notified_cases(open_office(), now=moment):
        logger.info("%s: its decision notices are out; the case is decided", reference)
    for reference in await start_pending_runs():
        logger.warning("Started the case run of %s, recorded while the Prefect server was unreachable", reference)
    if deleted := await delete_finished_intake_runs():
        logger.info("Deleted %d finished intake run(s) holding a CIGSCR1", deleted)
    try:
        await publish_tracker()  # breaches appear with time, not only with stage changes
    except Exception as problem:  # the tracker is a view: never fail the sweep for it
        logger.warning("The tracker artifact was not refreshed: %s", problem)
    return outcome.queued
