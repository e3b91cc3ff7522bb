"""Tasks that publish learning and improvement in the Prefect UI: the learning and improvement index as a
markdown artifact under one stable key. Needs the case database (through the office) and a Prefect API.
"""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import task
from prefect.artifacts import acreate_markdown_artifact

from casework.learning.actions import learning_index
from casework.learning.documents import index_markdown
from casework.office import open_office
from tasks.artifacts import ARTIFACT_TASK
from tasks.cases import DB_TASK

INDEX_KEY = "learning-and-improvement-index"


@task(name="publish_learning_index", **ARTIFACT_TASK)
async def publish_learning_index() -> str:
    """Publish the index as the markdown artifact `learning-and-improvement-index`; return its markdown."""
    office = open_office()
    now = datetime.now(timezone.utc)
    markdown = index_markdown(learning_index(office, today=office.calendar.local_date(now)),
                              title=f"{office.partnership.name}: learning and improvement index")
    await acreate_markdown_artifact(key=INDEX_KEY, markdown=markdown,
                                    description="One entry per review or audit (seed 002 Appendix One)")
    return markdown


@task(name="write_annual_report", **ARTIFACT_TASK)
async def write_annual_report(year: int, email: bool = True) -> str:
    """Write the year's annual report section (markdown, Word, chart under the papers folder) and queue its
    email to the board contact; return the markdown's path. Safe to run twice (the email's key is the year)."""
    from casework.learning.annual_publication import publish_annual_report

    published = publish_annual_report(open_office(), year, now=datetime.now(timezone.utc), email=email)
    await acreate_markdown_artifact(key=f"annual-report-{year}", markdown=published.markdown,
                                    description=published.report.title)
    return str(published.markdown_path)


@task(name="write_yearly_report", **ARTIFACT_TASK)
async def write_yearly_report(starts_in: int = 0) -> str:
    """Write the safeguarding partners' yearly report for the period starting in `starts_in` (default: the
    latest that has ended) as markdown and Word under the papers folder, publish it as the artifact
    `yearly-report-YYYY-MM`; return the markdown's path."""
    from casework.learning.yearly import period_slug
    from casework.learning.yearly_publication import report_period, write_yearly_report as write

    office = open_office()
    now = datetime.now(timezone.utc)
    period = report_period(office, now=now, starts_in=starts_in)
    written = write(office, period, now=now)
    await acreate_markdown_artifact(key=f"yearly-report-{period_slug(period)}", markdown=written.markdown,
                                    description=written.title)
    return str(written.markdown_path)


@task(name="queue_yearly_report_warnings", **DB_TASK)
def queue_yearly_report_warning(now: datetime) -> int:
    """Queue the warning that a published yearly report has not gone to every recipient, once per report."""
    from casework.learning.yearly_publication import queue_yearly_report_warnings

    return queue_yearly_report_warnings(open_office(), now=now)
