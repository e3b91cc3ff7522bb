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
from casework.report_publication import PublishedReport, publish_monthly_report

REPORT_TASK = dict(cache_policy=NONE, persist_result=False, retries=2, retry_delay_seconds=[5, 30])


@task(name="write_monthly_report", **REPORT_TASK)
async def write_monthly_report(month: date, email: bool = True) -> PublishedReport:
    """Write the month's report and chart under the papers folder and queue its email (once per month)."""
    return publish_monthly_report(open_office(), month, now=datetime.now(timezone.utc), email=email)


@task(name="publish_report_artifact", **REPORT_TASK)
async def publish_report_artifact(month: date, markdown: str) -> None:
    """The report as a markdown artifact, keyed per month ("monthly-report-2026-11") to keep each month's.

    `markdown` should carry its chart inline (`PublishedReport.artifact_markdown`): the UI cannot open
    a file in the papers folder.
    """
    await acreate_markdown_artifact(
        markdown=markdown, key=f"monthly-report-{month:%Y-%m}", description=f"Case review performance, {month:%B %Y}"
    )
