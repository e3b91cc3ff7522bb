"""The documents of learning and improvement, each a pure function from the data to the document:
the learning summary (seed 001 Appendix B) as markdown and Word, and the learning and improvement index
(seed 002 Appendix One) as markdown and .xlsx. Needs python-docx and openpyxl; reads no clock or database.
The index's free text reads as typed in both (casework.cells): text cells in the workbook, never a
formula; escaped markdown table cells (no "|" or HTML of its own) in the `learning-and-improvement-index`
artifact.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from casework.cells import append_row, markdown_cell


@dataclass(frozen=True)
class LearningSummary:
    """Every field of the Learning Summary template (seed 001 Appendix B): what the case and review hold,
    and what only people can write. Anonymised: checked against the case's names and dates of birth."""

    area: str
    date_completed: date
    review_type: str
    methodology: str
    chairing_authoring: str
    case_selection: str
    incident_month_year: str  # "November 2026": month and year only
    reference: str
    learning_about_case: str
    learning_about_method: str
    single_agency_recommendations: str
    multi_agency_recommendations: str
    who_is_doing_what: str
    impact_audit: str
    other_comments: str

    def fields(self) -> list[tuple[str, str]]:
        """(heading, text) in the template's order."""
        return [
            ("Area", self.area),
            ("Date completed", self.date_completed.strftime("%-d %B %Y")),
            ("Type of review", f"{self.review_type}. Methodology: {self.methodology}. Chairing/authoring: "
                               f"{self.chairing_authoring}. How the case was selected: {self.case_selection}"),
            ("Month/year of incident", self.incident_month_year),
            ("Review reference", self.reference),
            ("What was learnt about the case (key themes, early learning)", self.learning_about_case),
            ("What was learnt about the review / methodology", self.learning_about_method),
            ("Key single-agency recommendations", self.single_agency_recommendations),
            ("Key multi-agency recommendations", self.multi_agency_recommendations),
            ("How will changes be made and who is doing what", self.who_is_doing_what),
            ("How will impact be audited", self.impact_audit),
            ("Other comments", self.other_comments or "None"),
        ]


def summary_markdown(summary: LearningSummary) -> str:
    """The learning summary as markdown: one heading per field of the template."""
    lines = [f"# Learning Summary: {summary.reference}", ""]
    for heading, body in summary.fields():
        lines += [f"## {heading}", "", body.strip(), ""]
    return "\n".join(lines)


def summary_docx(summary: LearningSummary) -> bytes:
    """The learning summary as a Word document: a title, then the template's two-column table."""
    from docx import Document  # (imported here: `cig` starts faster without it)

    document = Document()
    document.add_heading(f"Learning Summary: {summary.reference}", level=1)
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for heading, body in summary.fields():
        cells = table.add_row().cells
        cells[0].text = heading
        cells[0].paragraphs[0].runs[0].bold = True
        cells[1].text = body.strip()
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# --- the learning and improvement index ------------------------------------------------------------

@dataclass(frozen=True)
class IndexEntry:
    """One review or audit in the Learning and Improvement Index (seed 002 Appendix One)."""

    review_type: str
    name: str
    reported_on: date | None  # the date reported to the partnership
    overview: str  # case overview / methodology
    findings: str  # summary of findings / learning
    improvement_activity: str
    evidence_of_improvement: str


INDEX_HEADINGS = ("Type of review", "Name", "Date reported to the partnership", "Case overview / methodology",
                  "Summary of findings / learning", "Improvement activity", "Evidence of improvement")


def _row(entry: IndexEntry) -> list[str]:
    return [entry.review_type, entry.name, entry.reported_on.isoformat() if entry.reported_on else "not yet",
            entry.overview, entry.findings, entry.improvement_activity, entry.evidence_of_improvement]


def index_markdown(entries: Sequence[IndexEntry], *, title: str) -> str:
    """The index as a markdown table, one row per review or audit (each cell's text escaped: it cannot
    break the table or carry HTML)."""
    lines = [f"# {title}", "", "| " + " | ".join(INDEX_HEADINGS) + " |", "|" + " --- |" * len(INDEX_HEADINGS)]
    for entry in entries:
        lines.append("| " + " | ".join(markdown_cell(c) for c in _row(entry)) + " |")
    if not entries:
        lines.append("| " + " | ".join(["none"] + [""] * (len(INDEX_HEADINGS) - 1)) + " |")
    return "\n".join(lines) + "\n"


def index_xlsx(entries: Sequence[IndexEntry], *, title: str) -> bytes:
    """The index as a workbook: a header row in bold, one row per review or audit, text wrapped; every
    cell a text cell (text starting with "=" is not a formula)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Learning index"
    append_row(sheet, INDEX_HEADINGS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for entry in entries:
        append_row(sheet, _row(entry))
    for column, width in zip("ABCDEFG", (22, 28, 16, 45, 45, 45, 45)):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    book.properties.title = title
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
