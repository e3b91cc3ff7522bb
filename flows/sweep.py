"""The `deadline-sweep` flow, and the `recover-runs` check.

`deadline-sweep`: every 15 minutes (prefect.yaml), find the deadlines that are due soon
or overdue and send the reminders, warnings, chases and escalations they owe; resend what a mail
outage left in the outbox; start the runs of referrals recorded while Prefect was unreachable;
restart the case runs that died (crashed, failed, suspended with no form saved, or silent while
shown running), leaving one that keeps dying stopped and escalated (casework.recovery); wake the case
runs left suspended at a step already recorded by `cig` or the website (flows.people).

The rules of who is told what and when are in casework.sweep.reminders_owed (each phase's own); the sweep reads only the indexed
open deadlines near now. `now` may be given to simulate another moment (`make demo-month`); runs
are always judged on the real clock, as the Prefect server records them.

`recover-runs`: only the restart of the dead case runs, and the sending of the alerts it queues. The
Automations of flows.automations run it within seconds of a case's run going silent or being
reported dead, so a dead run is restarted within a minute, not at the next sweep.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from prefect import flow, get_run_logger

from casework.referral.actions import finish_notified_cases
from casework.delivery import DeliveryIncomplete
from casework.office import open_office
from casework.recovery import RecoveryDecision, RecoveryLimit
from flows.launch import (
    RunRecovery,
    catch_up_review_runs_behind,
    catch_up_runs_behind,
    delete_finished_form_runs,
    recover_dead_runs,
    start_pending_review_runs,
    start_pending_runs,
    wait_for_earlier_checks,
)
from tasks.artifacts import publish_tracker
from tasks.learning import queue_yearly_report_warning
from tasks.mail import send_messages
from tasks.reminders import queue_deadline_reminders


def _report_recoveries(recoveries: list[RunRecovery], limit: RecoveryLimit) -> None:
    logger = get_run_logger()
    for recovery in recoveries:
        if recovery.decision is RecoveryDecision.restart:
            logger.warning("%s: %s (%s); restarted it, and told the administrator", recovery.reference,
                           recovery.fault.words, recovery.previous_state.lower())
        else:
            logger.error("%s: %s (%s), after %d restarts in %d minutes: left it stopped, and told the business "
                         "manager", recovery.reference, recovery.fault.words, recovery.previous_state.lower(),
                         limit.recoveries, limit.within.total_seconds() // 60)


@flow(name="recover-runs", persist_result=False)
async def recover_runs(recovery_limit: int = 3, recovery_window_minutes: int = 60) -> int:
    """Restart every case run found dead, as the deadline sweep does first, and send the alerts that queues;
    returns how many runs it restarted or left stopped. A run that was restarted `recovery_limit` times in the
    last `recovery_window_minutes` is left stopped and the business manager told."""
    logger = get_run_logger()
    limit = RecoveryLimit(recoveries=recovery_limit, within=timedelta(minutes=recovery_window_minutes))
    await wait_for_earlier_checks()
    recoveries = await recover_dead_runs(limit=limit, actor="recovery check")
    _report_recoveries(recoveries, limit)
    if recoveries:
        try:
            await send_messages(None)
        except DeliveryIncomplete as incomplete:
            logger.error("Messages are still waiting in the outbox (`cig outbox`): %s", incomplete)
    return len(recoveries)


@flow(name="deadline-sweep", persist_result=False)
async def deadline_sweep(now: datetime | None = None, recovery_limit: int = 3, recovery_window_minutes: int = 60) -> int:
    """Queue what the open deadlines owe at `now` (default: the present) and send it; returns how many were queued.

    A case's run found dead is restarted unless it was restarted `recovery_limit` times in the last
    `recovery_window_minutes`: then it is left stopped and the business manager told.
    """
    logger = get_run_logger()
    moment = now or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    limit = RecoveryLimit(recoveries=recovery_limit, within=timedelta(minutes=recovery_window_minutes))
    _report_recoveries(await recover_dead_runs(limit=limit), limit)
    for reference in await catch_up_runs_behind():
        logger.info("%s: woke its run, suspended at a step already recorded; it moves on", reference)
    for reference in await catch_up_review_runs_behind():
        logger.info("%s: woke its review run, suspended at a step already recorded; it moves on", reference)
    outcome = queue_deadline_reminders(moment)
    logger.info("Looked at %d open deadline(s); queued %d message(s) %s", outcome.looked_at, outcome.queued, outcome.by_kind)
    if warned := queue_yearly_report_warning(moment):  # the yearly report not yet sent to all its recipients
        logger.warning("The published yearly report has not reached all its recipients: the business manager is warned")
    try:
        await send_messages(None)  # also resends anything a mail-server outage left pending
    except DeliveryIncomplete as incomplete:
        logger.error("Messages are still waiting in the outbox (`cig outbox`): %s", incomplete)
    for reference in finish_notified_cases(open_office(), now=moment):
        logger.info("%s: its decision notices are out; the case is decided", reference)
    for reference in await start_pending_runs():
        logger.warning("Started the case run of %s, recorded while the Prefect server was unreachable", reference)
    for reference in await start_pending_review_runs():
        logger.warning("Started the review run of %s, decided while the Prefect server was unreachable", reference)
    if deleted := await delete_finished_form_runs():
        logger.info("Deleted %d finished form run(s) holding what a person typed", deleted)
    try:
        await publish_tracker()  # breaches appear with time, not only with stage changes
    except Exception as problem:  # the tracker is a view: never fail the sweep for it
        logger.warning("The tracker artifact was not refreshed: %s", problem)
    return outcome.queued + warned
