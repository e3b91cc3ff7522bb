"""What the administrator sees in the Prefect UI around a case's run: the case tracker its links open,
the stage its timeline reads after the decision, a Resume form that follows the case when it is re-listed.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import yaml
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from casework.forms import ReferralForm
from casework.office import Office
from casework.referral import actions
from tasks.artifacts import TRACKER_KEY, case_key, publish_case_artifacts
from tests.flows.conftest import EXAMPLE


def submit_example(office: Office) -> str:
    """The example referral, recorded (no run started). Returns its reference."""
    now = datetime.now(timezone.utc)
    form = ReferralForm.model_validate(yaml.safe_load(EXAMPLE.read_text()), context={"today": now.date()})
    return actions.submit_referral(office, form, now=now, actor="test").reference


@flow(name="publish-case-artifacts-for-a-test", persist_result=False)
async def publish_for(reference: str) -> None:
    await publish_case_artifacts(reference)


async def test_the_timelines_tracker_link_opens_the_latest_tracker_table(office: Office) -> None:
    first = submit_example(office)
    await publish_for(first)
    second = submit_example(office)
    await publish_for(second)

    async with get_client() as client:
        trackers = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[TRACKER_KEY])))
        [timeline] = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[case_key(first)])))
        [latest] = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[case_key(second)])))
    [tracker] = trackers  # one tracker, kept up to date: its page is the table, not a list of versions
    assert f"/artifacts/artifact/{tracker.id})" in timeline.data  # the first case's timeline, published before
    assert f"/artifacts/artifact/{tracker.id})" in latest.data
    table = json.loads(tracker.data)
    assert {row["Reference"] for row in table} >= {first, second}  # what the link opens: the latest table


def test_the_timelines_stage_after_a_decision_is_where_the_review_stands() -> None:
    from types import SimpleNamespace

    from casework.oversight.timeline import progress

    decided = SimpleNamespace(stage="decided", review=None)
    assert progress(decided).description == "stage 6 of 6: decided"  # type: ignore[arg-type]
    for stage, reads in (("awaiting_reviewer", "review: appointing a lead reviewer"), ("ratifying", "review: ratification"),
                         ("awaiting_publication", "review: publication"), ("published", "review: published")):
        reviewed = SimpleNamespace(stage="decided", review=SimpleNamespace(stage=stage))
        assert progress(reviewed).description == reads  # type: ignore[arg-type]


async def waiting_form(reference: str, office: Office, other_than: str | None = None) -> tuple[str, str]:
    """The pause key and the case context of the form the case's run shows, once it is suspended at a wait
    (other than the wait `other_than`)."""
    from uuid import UUID

    from casework.store import cases as store
    from tests.flows.conftest import wait_until

    with office.sessions() as session:
        run_id = UUID(store.get_case(session, reference=reference).flow_run_id)
    shown: dict[str, str] = {}

    async def suspended() -> bool:
        async with get_client() as client:
            run = await client.read_flow_run(run_id)
            details = run.state.state_details if run.state is not None and run.state.is_paused() else None
            if details is None or not details.pause_key or details.pause_key == other_than:
                return False
            try:
                shown["description"] = json.loads(
                    await client.read_flow_run_input(run_id, details.run_input_keyset["description"]))
            except Exception:  # the form is saved just after the run is suspended
                return False
            shown["key"] = details.pause_key
            return True

    await wait_until(suspended, what=f"{reference}'s run suspended at a wait")
    return shown["key"], shown["description"]


@pytest.mark.parametrize("door", ["add-meeting form", "cig meeting add"])
async def test_a_relisted_cases_form_shows_its_new_meeting(office: Office, door: str) -> None:
    from datetime import timedelta

    from casework.meetings.calendar import rule_gives
    from casework.office_forms import MeetingAddForm
    from casework.store import cases as store
    from casework.forms import ScreeningForm
    from flows.office import add_meeting
    from flows.people import submit_step
    from tests.flows.test_referral_flow import start_case

    reference = await start_case(office)
    screening, _ = await waiting_form(reference, office)
    await submit_step(office, reference, "screening", ScreeningForm(
        outcome="accept", decided_by="Casey Chair", independent_chair_consulted=True))
    key, before = await waiting_form(reference, office, other_than=screening)
    assert key.startswith("return-")
    rule = office.partnership.meetings
    with office.sessions() as session:
        listed = store.get_case(session, reference=reference).meeting_at.astimezone(rule.zone)
    day = datetime.now(rule.zone).date() + timedelta(days=1)
    while rule_gives(rule, day):
        day += timedelta(days=1)
    assert day < listed.date()
    assert f"{listed:%a %d %b %Y %H:%M}" in before

    if door == "add-meeting form":
        await add_meeting(meeting=MeetingAddForm(on=day, reason="a further date to meet", cases=[reference]))
    else:
        import asyncio

        from typer.testing import CliRunner

        from cli.main import app

        result = await asyncio.to_thread(CliRunner().invoke, app, [
            "meeting", "add", day.isoformat(), "--reason", "a further date to meet", "--list", reference])
        assert result.exit_code == 0, result.output

    again, after = await waiting_form(reference, office, other_than=key)
    with office.sessions() as session:
        now_listed = store.get_case(session, reference=reference).meeting_at.astimezone(rule.zone)
    assert now_listed.date() == day
    assert f"meeting on {now_listed:%a %d %b %Y %H:%M}" in after  # what the Resume form now says
    assert f"{listed:%a %d %b %Y %H:%M}" not in after
