"""The second line of alerts: Prefect Automations on the case runs themselves.

The deadline sweep (first line) reads the case database every 15 minutes. As a backstop that
needs none of our code to be running, one proactive Automation per waiting stage fires when a
referral run has stayed Suspended at that stage for longer than the stage's statutory limit
(read from the partnership's rule set), and runs the `deadline-sweep` deployment, which sends
the escalation emails. A further Automation fires when a case's mail is still undelivered after
every retry (its `send_messages` task run failed): it notifies the administrator through the
notification block CIG_ALERT_BLOCK names (Teams, Slack, a webhook: not the mail server that is
failing), and without one it is recorded on the UI's Automations and Event Feed pages.

Four more wake the recovery check (the `recover-runs` deployment, flows.sweep.recover_runs) within
seconds of a case's run (referral or review) dying, whatever state it died in, instead of within
15 minutes: when the run is reported Crashed or Failed; when a worker took it (Pending,
Submitting) and its process never reported Running; when it is running and its heartbeat is
overdue (Prefect's "detect zombie flows" recipe, with the window of casework.recovery); when it
suspended and nothing followed within the grace to save its form (this one wakes the check once
per suspension: a few seconds of a worker's time, where a person then waits days). The check,
not the Automation, judges the run with the same windows and restarts it (casework.recovery), so
the limit, the audit and the one alert hold however it is woken, and a run already restarted is
not restarted again.
`make up` creates them all; re-creating replaces them by name.
"""

from __future__ import annotations

from datetime import timedelta

from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from prefect.events.actions import ActionTypes, DoNothing, RunDeployment, SendNotification
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

from casework.recovery import FORM_SAVE_SECONDS, START_SECONDS, silence_allowed
from config.partnership import Partnership
from config.rulesets import ClockUnit


def _limit(partnership: Partnership, clock: str, fallback_days: int) -> timedelta:
    rules = partnership.rules()
    if clock not in rules.clocks:
        return timedelta(days=fallback_days)
    c = rules.clocks[clock]
    days = {ClockUnit.calendar_days: c.amount, ClockUnit.working_days: c.amount * 7 // 5 + 4,
            ClockUnit.calendar_months: c.amount * 31}[c.unit]
    return timedelta(days=max(days, 1))


def stage_limits(partnership: Partnership) -> dict[str, timedelta]:
    """How long a case may wait at each stage before the backstop fires."""
    decision = _limit(partnership, "decision", 31)
    return {
        "awaiting_screening": timedelta(days=5),  # screening is days, not weeks: the one-month clock is running
        "awaiting_returns": _limit(partnership, "information_return", 7) + timedelta(days=1),
        "awaiting_recommendation": decision,
        "awaiting_decision": decision,
    }


def referral_automations(partnership: Partnership, sweep_deployment_id: str) -> list[AutomationCore]:
    """One proactive Automation per waiting stage."""
    automations = []
    for stage, limit in stage_limits(partnership).items():
        automations.append(AutomationCore(
            name=f"referral suspended past {stage.replace('_', ' ')}",
            description=f"A referral run stayed Suspended at {stage} longer than {limit.days} days: run the deadline sweep, "
                        "which escalates to the business manager and independent chair.",
            trigger=EventTrigger(
                posture=Posture.Proactive,
                after={"prefect.flow-run.Suspended"},
                expect={"prefect.flow-run.*"},
                match={"prefect.resource.id": "prefect.flow-run.*"},
                match_related={"prefect.resource.role": "tag", "prefect.resource.id": f"prefect.tag.stage:{stage}"},
                for_each={"prefect.resource.id"},
                threshold=1,
                within=limit,
            ),
            actions=[RunDeployment(source="selected", deployment_id=sweep_deployment_id, parameters={})],
        ))
    return automations


CASE_RUNS = {"prefect.resource.id": "prefect.flow-run.*", "prefect.resource.name": ["referral-*", "review-*"]}


def _silent_after(events: set[str], window: timedelta) -> EventTrigger:
    """Fires when a case's run, after one of `events`, shows nothing more (no state change, no heartbeat)
    for `window` (a proactive trigger; each run on its own)."""
    return EventTrigger(posture=Posture.Proactive, after=events, expect={"prefect.flow-run.*"}, match=CASE_RUNS,
                        for_each={"prefect.resource.id"}, threshold=1, within=window)


def dead_run_automations(check_deployment_id: str, heartbeat_seconds: int | None) -> list[AutomationCore]:
    """Run the recovery check when a case's run is reported dead, or goes silent in a state where silence is
    death (casework.recovery.silence_allowed): each window is the one the check judges by."""
    check = [RunDeployment(source="selected", deployment_id=check_deployment_id, parameters={})]
    starting = silence_allowed("PENDING", heartbeat_seconds) or timedelta(seconds=START_SECONDS)
    automations = [
        AutomationCore(
            name="case run crashed",
            description="A case's run was reported Crashed or Failed: run the recovery check, which restarts it "
                        "(or, if it keeps dying, leaves it and tells the business manager).",
            trigger=EventTrigger(posture=Posture.Reactive, expect={"prefect.flow-run.Crashed", "prefect.flow-run.Failed"},
                                 match=CASE_RUNS, threshold=1, within=timedelta(0)),
            actions=check,
        ),
        AutomationCore(
            name="case run never started",
            description=f"A worker took a case's run (Pending, Submitting) and its process did not report Running "
                        f"within {starting.seconds} s: the worker may have been killed. Run the recovery check.",
            trigger=_silent_after({"prefect.flow-run.Pending", "prefect.flow-run.Submitting"}, starting),
            actions=check,
        ),
        AutomationCore(
            name="case run suspended without its form",
            description=f"A case's run suspended and nothing followed within {FORM_SAVE_SECONDS} s: if its form was "
                        "not saved (its process was killed while suspending), the recovery check restarts it; "
                        "a run waiting properly for a person is left alone.",
            trigger=_silent_after({"prefect.flow-run.Suspended"}, timedelta(seconds=FORM_SAVE_SECONDS)),
            actions=check,
        ),
    ]
    running = silence_allowed("RUNNING", heartbeat_seconds)
    if running is not None:
        automations.append(AutomationCore(
            name="case run heartbeats stopped",
            description=f"A running case run sent no heartbeat (nor any other event) for {running.seconds} s: "
                        "its worker may have been killed. Run the recovery check, which judges it and restarts it.",
            trigger=_silent_after({"prefect.flow-run.Running", "prefect.flow-run.Retrying",
                                   "prefect.flow-run.heartbeat"}, running),
            actions=check,
        ))
    return automations


RETIRED = ("referral run crashed", "referral run heartbeats stopped")  # replaced by the "case run" ones


UNDELIVERED = "case mail undelivered after retries"


def undelivered_mail_automation(alert_block_id: str | None) -> AutomationCore:
    """Fires at once when a case's `send_messages` task run fails: its retries could not deliver."""
    action: ActionTypes = DoNothing()
    if alert_block_id is not None:
        action = SendNotification(
            block_document_id=alert_block_id,
            subject="CIG: case mail undelivered",
            body="Messages of a case could not be delivered after every retry: {{ event.resource.name }} "
                 "(flow run {{ flow_run.name }}). They stay pending in the outbox, and the deadline sweep sends them "
                 "once the mail server is back.",
        )
    return AutomationCore(
        name=UNDELIVERED,
        description="A case's messages are still undelivered after every retry (the send_messages task run failed). "
                    "They stay pending in the outbox, and the deadline sweep sends them once the mail server is back.",
        trigger=EventTrigger(
            posture=Posture.Reactive,
            expect={"prefect.task-run.Failed"},
            match={"prefect.resource.id": "prefect.task-run.*", "prefect.resource.name": "send_messages-*"},
            threshold=1,
            within=timedelta(0),
        ),
        actions=[action],
    )


async def ensure_automations(partnership: Partnership, sweep_deployment: str = "deadline-sweep/deadline-sweep",
                             alert_block: str | None = None,
                             check_deployment: str = "recover-runs/recover-runs") -> list[str]:
    """Create (or replace) the alerting Automations on the current Prefect server; return their names.

    `alert_block`: "block-type-slug/block-name" of a notification block for the undelivered-mail alert.
    """
    from flows.people import heartbeat_seconds

    async with get_client() as client:
        deployment = await client.read_deployment_by_name(sweep_deployment)
        block_id = None
        if alert_block:
            type_slug, _, name = alert_block.partition("/")
            try:
                block_id = str((await client.read_block_document_by_name(name=name, block_type_slug=type_slug)).id)
            except ObjectNotFound:
                raise ValueError(f"CIG_ALERT_BLOCK: no Prefect block '{alert_block}' on this server; create it in the "
                                 "UI (Blocks) or with `prefect block create`, or unset CIG_ALERT_BLOCK") from None
        names = []
        automations = referral_automations(partnership, str(deployment.id)) + [undelivered_mail_automation(block_id)]
        check = await client.read_deployment_by_name(check_deployment)
        automations += dead_run_automations(str(check.id), heartbeat_seconds())
        for retired in RETIRED:
            for existing in await client.read_automations_by_name(retired):
                await client.delete_automation(existing.id)
        for automation in automations:
            for existing in await client.read_automations_by_name(automation.name):
                await client.delete_automation(existing.id)
            await client.create_automation(automation)
            names.append(automation.name)
        return names


if __name__ == "__main__":
    import asyncio

    from config.partnership import load_partnership
    from config.settings import get_settings

    import sys

    settings = get_settings()
    try:
        names = asyncio.run(ensure_automations(load_partnership(settings.partnership_file), alert_block=settings.alert_block))
    except ValueError as problem:
        sys.exit(str(problem))
    for name in names:
        print(f"automation: {name}")
