"""Tasks of the monthly report: write it (markdown and chart under the papers folder, the email to
the managers queued in the outbox, with both attached) and publish it as a Prefect markdown
artifact (pass `PublishedReport.artifact_markdown`: the chart inline, as the UI can show it).

Needs the case database (through the office) and, for the artifact, a Prefect API.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from prefect import task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NONE

from casework.office import open_office
from casework.oversight.publication import PublishedReport, publish_monthly_report

REPORT_TASK = dict(cache_policy=NONE, persist_result=False, retries=2, retry_delay_seconds=[5, 30])


@task(name="write_monthly_report", **REPORT_TASK)
async def write_monthly_report(month: date, email: bool = True) -> PublishedReport:
    """Write the month's report and chart under the papers folder and queue its email (once per month)."""
    return publish_monthly_report(open_office(), month, now=datetime.now(timezone.utc), email=email)


def report_artifact_key(month: date) -> str:
    """The month's artifact key, e.g. "monthly-report-2026-11"."""
    return f"monthly-report-{month:%Y-%m}"


async def create_report_artifact(month: date, markdown: str) -> str:
    """Publish the report as the month's markdown artifact (a new version of its key); returns the key.
    Outside a flow run (`cig report`) the artifact belongs to no run and shows under Artifacts."""
    key = report_artifact_key(month)
    await acreate_markdown_artifact(markdown=markdown, key=key, description=f"Case review performance, {month:%B %Y}")
    return key


async def prefect_api_problem() -> str | None:
    """Why no artifact can be published from here, in words, or None when the Prefect API answers.
    Without PREFECT_API_URL nothing is tried: Prefect would start a throw-away server of its own."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        return "no Prefect API is set (PREFECT_API_URL; `make up` prints it)"
    async with get_client() as client:
        failure = await client.api_healthcheck()
    return f"the Prefect API at {url} is not reachable ({failure})" if failure else None


@task(name="publish_report_artifact", **REPORT_TASK)
async def publish_report_artifact(month: date, markdown: str) -> None:
    """The report as a markdown artifact, keyed per month ("monthly-report-2026-11") to keep each month's.

    `markdown` should carry its chart inline (`PublishedReport.artifact_markdown`): the UI cannot open
    a file in the papers folder.
    """
    await create_report_artifact(month, markdown)
