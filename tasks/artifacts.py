"""Tasks that publish what managers see in the Prefect UI: the case tracker table (one stable key,
all cases), each case's timeline (markdown) and its progress (stage n of m).

Needs the case database (through the office) and a Prefect API. The artifacts are a view of the
case database: `publish_case_artifacts` never lets a failure to publish stop a case.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from uuid import UUID

from prefect import get_run_logger, task
from prefect.artifacts import TableArtifact, acreate_markdown_artifact, acreate_progress_artifact, acreate_table_artifact
from prefect.cache_policies import NONE
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import ArtifactUpdate
from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey

from casework.office import open_office
from casework.store import cases as store
from casework.oversight.timeline import case_timeline_markdown, people_of, progress
from casework.oversight.tracker import time_words, tracker_table as tracker_cells
from casework.oversight.exports import current_tracker

TRACKER_KEY = "case-tracker"
ARTIFACT_TASK = dict(cache_policy=NONE, persist_result=False, retries=2, retry_delay_seconds=[2, 10])


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key: lowercase letters, digits and dashes only."""
    text = "-".join(parts).lower()
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", text)).strip("-")


def case_key(reference: str) -> str:
    """The key of a case's timeline artifact, e.g. "case-nscp-2026-0001"."""
    return artifact_key("case", reference)


def artifact_url(key: str) -> str:
    """Where the Prefect UI shows the latest version of the artifact with this key (its page lists
    the older versions)."""
    from prefect.settings import PREFECT_UI_URL

    return f"{(PREFECT_UI_URL.value() or '').rstrip('/')}/artifacts/key/{key}"


def timeline_url(reference: str) -> str:
    """Where the Prefect UI shows the latest version of the case's timeline artifact."""
    return artifact_url(case_key(reference))


def tracker_url(tracker_id: UUID | None = None) -> str | None:
    """Where the Prefect UI shows the latest case tracker table: the page of the one tracker artifact
    `publish_tracker` keeps up to date (/artifacts/artifact/<id>), or, its id unknown, the page of its
    key (/artifacts/key/case-tracker, which lists versions, not the table); None when no Prefect UI
    address is configured (no PREFECT_UI_URL or PREFECT_API_URL)."""
    url = artifact_url(TRACKER_KEY)
    if tracker_id is not None:
        url = url.replace(f"/artifacts/key/{TRACKER_KEY}", f"/artifacts/artifact/{tracker_id}")
    return url if url.startswith(("http://", "https://")) else None


def tracker_table(now: datetime) -> tuple[list[dict[str, str | int]], str]:
    """Every case's tracker row as the table artifact shows it (word headings, the columns a manager
    scans first first, local times; no child's name or date of birth), and its description."""
    office = open_office()
    rows = current_tracker(office, now=now)
    overdue = sum(1 for r in rows if r.overdue)
    description = (f"Case tracker at {time_words(now, office.calendar.zone)} (London time): "
                   f"{len(rows)} case{'' if len(rows) == 1 else 's'}, {overdue} with an overdue deadline.")
    return tracker_cells(rows, office.calendar.zone), description


@task(name="publish_tracker", **ARTIFACT_TASK)
async def publish_tracker() -> UUID:
    """Publish the case tracker, all cases, under the stable key "case-tracker", and return its id.

    The tracker is one artifact, its table replaced at each publication: a link to its page (as the
    timelines and the workbook give it, `tracker_url`) always opens the latest table, where a new
    version each time would leave the link on an old table and the key's page lists versions only."""
    table, description = tracker_table(datetime.now(timezone.utc))
    cells = table or [{"Reference": "", "Stage": "no cases yet"}]
    async with get_client() as client:
        latest = await client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=[TRACKER_KEY])), limit=1)
        if latest:
            data = await TableArtifact(table=cells, key=TRACKER_KEY).aformat()
            await client.update_artifact(latest[0].latest_id, ArtifactUpdate(data=data, description=description))
            return latest[0].latest_id
    return await acreate_table_artifact(table=cells, key=TRACKER_KEY, description=description)


@task(name="publish_case_timeline", **ARTIFACT_TASK)
async def publish_case_timeline(reference: str, tracker_id: UUID | None = None) -> None:
    """Publish the case's story (markdown), linking the tracker `tracker_id`, and its progress, keyed per case."""
    office = open_office()
    now = datetime.now(timezone.utc)
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        markdown = case_timeline_markdown(
            case, store.audit_trail(session, reference=reference), store.messages_for(session, case_id=case.id),
            calendar=office.calendar, now=now, terms=office.rules(case.regime).terms,
            people=people_of(office.partnership, office.rules(case.regime)), tracker_url=tracker_url(tracker_id),
        )
        step = progress(case)
    await acreate_markdown_artifact(markdown=markdown, key=case_key(reference), description=f"Case {reference}: timeline")
    await acreate_progress_artifact(
        progress=step.percent, key=artifact_key("case", reference, "progress"),
        description=f"Case {reference}: {step.description}",
    )


async def publish_case_artifacts(reference: str) -> None:
    """Publish the whole tracker and the case's timeline (which links it); a failure is logged, never raised."""
    try:
        await publish_case_timeline(reference, await publish_tracker())
    except Exception as exc:  # a view of the database: the case goes on without it
        get_run_logger().warning("Case %s: the tracker or timeline artifact was not published: %s", reference, exc)
