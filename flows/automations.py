"""The second line of deadline alerts: Prefect Automations on the case runs themselves.

The deadline sweep (first line) reads the case database every 15 minutes. As a backstop that
needs none of our code to be running, one proactive Automation per waiting stage fires when a
referral run has stayed Suspended at that stage for longer than the stage's statutory limit
(read from the partnership's rule set), and runs the `deadline-sweep` deployment, which sends
the escalation emails. `make up` creates them; re-creating replaces them by name.
"""

from __future__ import annotations

from datetime import timedelta

from prefect.client.orchestration import get_client
from prefect.events.actions import RunDeployment
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

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


async def ensure_automations(partnership: Partnership, sweep_deployment: str = "deadline-sweep/deadline-sweep") -> list[str]:
    """Create (or replace) the backstop Automations on the current Prefect server; return their names."""
    async with get_client() as client:
        deployment = await client.read_deployment_by_name(sweep_deployment)
        names = []
        for automation in referral_automations(partnership, str(deployment.id)):
            for existing in await client.read_automations_by_name(automation.name):
                await client.delete_automation(existing.id)
            await client.create_automation(automation)
            names.append(automation.name)
        return names


if __name__ == "__main__":
    import asyncio

    from config.partnership import load_partnership
    from config.settings import get_settings

    for name in asyncio.run(ensure_automations(load_partnership(get_settings().partnership_file))):
        print(f"automation: {name}")
