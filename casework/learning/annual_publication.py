"""Publishing the annual report section: read the year's facts from the case database, write the markdown,
the Word document and the chart under the papers folder (reports/), and queue the email to the board
contact (the business manager when the partnership file names no board) with the Word document and the
markdown attached. Safe to run twice: the files are rewritten and the email's key (year + recipient) is
queued once. Needs the office; no Prefect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

from casework.referral import actions
from casework.learning import store as learning_store
from casework.learning.annual import (
    ActionFacts, AnnualReport, ClockFacts, ReviewFacts, annual_chart_png, annual_docx, annual_markdown, annual_report,
)
from casework.referral.messages import Message
from casework.model import REVIEW_LABELS
from casework.office import Office
from casework.oversight.publication import binary_attachment
from casework.review import store as review_store
from casework.store.tables import Deadline, LearningAction, Review

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class PublishedAnnualReport:
    report: AnnualReport
    markdown: str
    markdown_path: Path
    docx_path: Path
    chart_path: Path
    queued: int


def build_annual_report(office: Office, year: int, *, now: datetime) -> AnnualReport:
    """The year's figures from every review, deadline, action and dissemination in the database."""
    calendar = office.calendar
    with office.sessions() as session:
        reviews = []
        for review in session.scalars(select(Review).order_by(Review.id)):
            board = [r.on for r in review_store.ratification_history(review)
                     if r.by.value == "board" and r.result.value == "ratified"]
            reviews.append(ReviewFacts(review.case.reference, REVIEW_LABELS.get(review.review_type, review.review_type),
                                       review.commissioned_on, max(board) if board else None, review.case.published_on,
                                       tuple(review.case.themes or ())))
        clocks = [ClockFacts(d.kind, calendar.local_date(d.due_at), calendar.local_date(d.met_at) if d.met_at else None)
                  for d in session.scalars(select(Deadline).where(Deadline.kind != "learning_action"))]
        actions_ = [ActionFacts(a.agency, a.target_on, a.status, a.done_on) for a in session.scalars(select(LearningAction))]
        spread = [(r.data["kind"], date.fromisoformat(r.data["on"]))
                  for r in learning_store.records(session, kind="dissemination")]
    return annual_report(year, today=calendar.local_date(now), reviews=reviews, clocks=clocks, actions=actions_,
                         disseminations=spread)


def publish_annual_report(office: Office, year: int, *, now: datetime, email: bool = True) -> PublishedAnnualReport:
    """Build the year's section, write `annual-report-YYYY.md`, `.docx` and `.png`, and queue the email."""
    report = build_annual_report(office, year, now=now)
    folder = office.settings.papers_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"annual-report-{year}"
    chart = annual_chart_png(report)
    chart_path = folder / f"{stem}.png"
    chart_path.write_bytes(chart)
    name = office.partnership.name
    markdown = annual_markdown(report, partnership=name, chart=chart_path.name)
    markdown_path = folder / f"{stem}.md"
    markdown_path.write_text(markdown, encoding="utf-8")
    docx = annual_docx(report, partnership=name, chart=chart)
    docx_path = folder / f"{stem}.docx"
    docx_path.write_bytes(docx)
    queued = 0
    if email:
        contacts = office.partnership.contacts
        to = contacts.board or contacts.business_manager
        context = {"partnership": name, "reference": None, "title": report.title, "report": report}
        attachments = (binary_attachment(docx_path.name, DOCX, docx),
                       {"filename": markdown_path.name, "content_type": "text/markdown", "content": markdown},
                       binary_attachment(chart_path.name, "image/png", chart))
        message = Message(None, f"annual-report.{year}", "annual_report", to, 0, context, attachments)
        with office.sessions.begin() as session:
            queued = actions.queue(session, None, [message], now)
    return PublishedAnnualReport(report, markdown, markdown_path, docx_path, chart_path, queued)
