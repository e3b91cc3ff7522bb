"""Publishing the monthly performance report: read the cases, write the markdown and the chart under
the papers folder, and queue the email to the managers' list (sent by `deliver_pending`), with the
markdown and the chart (PNG) attached. The markdown for the Prefect artifact carries the chart
inline as a data URI, since the UI cannot open a file in the papers folder.

Needs the office (settings, partnership file, case database); no Prefect. Safe to run twice: the
files are rewritten with the same figures and the email's key (month + recipient) is queued once.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from casework.referral import actions
from casework.referral.messages import Message
from casework.office import Office
from casework.oversight.report import MonthlyReport, chart_data_uri, monthly_report, report_chart_png, report_markdown
from casework.store import cases as store


@dataclass(frozen=True)
class PublishedReport:
    """The report, where its files are, and how many emails were newly queued.

    `markdown` is the file's text (its chart a link to the PNG beside it); `artifact_markdown` is the
    same report with the chart inline, for the Prefect artifact.
    """

    report: MonthlyReport
    markdown: str
    markdown_path: Path
    chart_path: Path
    queued: int
    artifact_markdown: str


def build_monthly_report(office: Office, month: date, *, now: datetime) -> MonthlyReport:
    """The month's figures from every case in the database."""
    with office.sessions() as session:
        return monthly_report(store.list_cases(session), month=month, now=now, calendar=office.calendar)


def binary_attachment(filename: str, content_type: str, data: bytes) -> dict[str, str]:
    """An attachment the outbox can hold as JSON: the bytes as base64, marked `"encoding": "base64"`
    (`notifications.smtp.build_email` decodes it; an attachment without `encoding` is text)."""
    return {"filename": filename, "content_type": content_type, "encoding": "base64",
            "content": base64.b64encode(data).decode("ascii")}


def report_emails(office: Office, report: MonthlyReport, markdown: str, chart_path: Path, chart: bytes) -> list[Message]:
    """One email per manager on the partnership's list, with the report as text, and the markdown
    and the chart (PNG, named as the markdown links it) as attachments."""
    month = f"{report.month:%Y-%m}"
    context = {
        "partnership": office.partnership.name,
        "reference": None,
        "title": report.title,
        "report": report,
        "markdown": markdown,
        "chart_path": str(chart_path),
    }
    attachments = (
        {"filename": f"monthly-report-{month}.md", "content_type": "text/markdown", "content": markdown},
        binary_attachment(chart_path.name, "image/png", chart),
    )
    return [
        Message(None, f"monthly-report.{month}", "monthly_report", manager, 0, context, attachments)
        for manager in office.partnership.contacts.managers
    ]


def publish_monthly_report(office: Office, month: date, *, now: datetime, email: bool = True) -> PublishedReport:
    """Build the month's report, write `monthly-report-YYYY-MM.md` and `.png`, and queue the emails."""
    report = build_monthly_report(office, month, now=now)
    folder = office.settings.papers_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"monthly-report-{report.month:%Y-%m}"
    chart_path = folder / f"{stem}.png"
    chart = report_chart_png(report)
    chart_path.write_bytes(chart)
    markdown = report_markdown(report, chart=chart_path.name)
    markdown_path = folder / f"{stem}.md"
    markdown_path.write_text(markdown, encoding="utf-8")
    queued = 0
    if email:
        with office.sessions.begin() as session:
            queued = actions.queue(session, None, report_emails(office, report, markdown, chart_path, chart), now)
    return PublishedReport(report, markdown, markdown_path, chart_path, queued,
                           artifact_markdown=report_markdown(report, chart=chart_data_uri(chart)))
