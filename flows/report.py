"""The `monthly-report` flow: on the first working day of each month (prefect.yaml), the last month's
performance report, written to the papers folder, published as an artifact and emailed to the
managers' list of the partnership file. `month` (YYYY-MM) may be given to report another month.

The schedule fires on each weekday of the month's first week with `only_on_first_working_day`;
the run does nothing unless today is the partnership's first working day of the month (so a
bank holiday such as New Year's Day moves the report to the next working day).
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from prefect import flow, get_run_logger

from casework.clocks import WorkingCalendar
from casework.office import open_office
from casework.oversight.report import last_month
from tasks.mail import send_messages
from tasks.reports import publish_report_artifact, write_monthly_report


def _month(value: str) -> date:
    if not value:
        return last_month(datetime.now(timezone.utc), open_office().calendar)
    return datetime.strptime(value, "%Y-%m").date().replace(day=1)


def first_working_day(day: date, calendar: WorkingCalendar) -> date:
    """The first working day of `day`'s month."""
    return calendar.add_working_days(day.replace(day=1), 0)


@flow(name="monthly-report", persist_result=False)
async def monthly_report(month: str = "", email: bool = True, only_on_first_working_day: bool = False) -> str:
    """Write, publish and email the month's report (default: last month); returns the markdown's path.

    Args:
        month: The month to report on, as year and month, e.g. 2026-11. Leave empty for last month
        email: Email it to the managers' list
        only_on_first_working_day: For the schedule's runs: report only on the month's first working day
    """
    if only_on_first_working_day:
        calendar = open_office().calendar
        today = calendar.local_date(datetime.now(timezone.utc))
        if today != first_working_day(today, calendar):
            get_run_logger().info("Not the first working day of the month: no report today")
            return ""
    first = _month(month)
    published = await write_monthly_report(first, email)
    await publish_report_artifact(first, published.artifact_markdown)
    if email:
        await send_messages(None)
    get_run_logger().info("Monthly report for %s written to %s", f"{first:%Y-%m}", published.markdown_path)
    return str(published.markdown_path)
