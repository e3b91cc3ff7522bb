"""What the administrator sees in the Prefect UI around a case's run: the case tracker its links open,
the stage its timeline reads after the decision.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

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
