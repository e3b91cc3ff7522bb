"""A meeting's papers pack, as pure functions: one paper per listed case (its CIGSCR1 case summary,
each agency's CIGINF1 return as received, and the returns still missing) and the index of the pack.

The case papers carry personal and special-category data (the child's and family's names, dates of
birth, what each agency knows): they are written to disk readable by the owner only and never put
in a Prefect artifact or an email. The index names cases by reference only, with counts and paths,
so it is what the artifact shows. Plain data in, markdown out; no clock, database or Prefect.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from casework.cells import markdown_cell
from casework.model import ReturnStatus

RECEIVED = (ReturnStatus.returned, ReturnStatus.nil)


@dataclass(frozen=True)
class ReturnPaper:
    """One agency's CIGINF1 in the case's current round: its status and, when received, what it said."""

    agency: str
    agency_name: str
    status: str
    returned_at: datetime | None = None
    involvement: str | None = None
    key_practitioners: list[str] = field(default_factory=list)
    attendees: list[str] = field(default_factory=list)

    @property
    def received(self) -> bool:
        """The agency answered: a return with content, or a nil return."""
        return self.status in RECEIVED


@dataclass(frozen=True)
class CasePapers:
    """What the members read about one listed case before the meeting."""

    reference: str
    round: int
    referring_agency: str
    notified_on: date
    reasons: str
    case_summary: str
    child_name: str
    child_date_of_birth: date | None
    child_date_of_death: date | None
    significant_people: list[dict[str, Any]]
    named_lead: str
    returns: tuple[ReturnPaper, ...]

    @property
    def received(self) -> list[ReturnPaper]:
        return [r for r in self.returns if r.received]

    @property
    def missing(self) -> list[ReturnPaper]:
        """Returns not received: still outstanding, or recorded as not received."""
        return [r for r in self.returns if not r.received]


def paper_filename(reference: str, suffix: str = ".md") -> str:
    """The case paper's file name in the meeting's papers folder (".md", or ".docx" for its Word document)."""
    return f"case-{reference}{suffix}"


def _day(value: date | None) -> str:
    return value.strftime("%-d %B %Y") if value else "not given"


def _case_paper_blocks(papers: CasePapers, zone_name: str) -> list[tuple[str, str]]:
    """The case paper as blocks (kind, text), in order: "h1"-"h3", "p", "item", "subitem", "label" (a line
    ahead of what it introduces). The markdown and the Word document are both written from these."""
    zone = ZoneInfo(zone_name)
    blocks = [
        ("h1", f"Case {papers.reference}: papers for the meeting (round {papers.round})"),
        ("p", "OFFICIAL-SENSITIVE: personal and special-category data. Do not forward or copy."),
        ("h2", "Case summary (CIGSCR1)"),
        ("item", f"Referring agency: {papers.referring_agency}"),
        ("item", f"Named lead: {papers.named_lead or 'not given'}"),
        ("item", f"Partnership notified: {_day(papers.notified_on)}"),
        ("item", f"Child or young person: {papers.child_name or 'not given'}, born {_day(papers.child_date_of_birth)}"
         + (f", died {_day(papers.child_date_of_death)}" if papers.child_date_of_death else "")),
    ]
    if papers.significant_people:
        blocks.append(("item", "Significant adults and children:"))
        for person in papers.significant_people:
            born = person.get("date_of_birth")
            details = ", ".join(part for part in (
                person.get("relationship") or "", f"born {_day(date.fromisoformat(born))}" if born else "") if part)
            blocks.append(("subitem", f"{person.get('name', 'not given')}" + (f" ({details})" if details else "")))
    blocks += [("h3", "Reasons for the request"), ("p", papers.reasons.strip() or "Not given."),
               ("h3", "Summary of the case"), ("p", papers.case_summary.strip() or "Not given."),
               ("h2", "Returns received (CIGINF1)")]
    if not papers.received:
        blocks.append(("p", "No return has been received yet."))
    for paper in papers.received:
        when = paper.returned_at.astimezone(zone).strftime("%-d %B %Y") if paper.returned_at else "date not recorded"
        nil = " Nil return: the agency had no involvement with the child and family." if paper.status == ReturnStatus.nil else ""
        blocks += [("h3", f"{paper.agency_name} ({paper.agency})"), ("p", f"Received {when}.{nil}")]
        if paper.involvement:
            blocks += [("label", "Involvement with the child and family:"), ("p", paper.involvement.strip())]
        if paper.key_practitioners:
            blocks.append(("item", f"Key practitioners: {', '.join(paper.key_practitioners)}"))
        blocks.append(("item", f"Attending: {', '.join(paper.attendees) or 'no one named'}"))
    blocks.append(("h2", "Returns missing"))
    if not papers.missing:
        blocks.append(("p", "None: every agency asked has returned."))
    for paper in papers.missing:
        what = "recorded as not received" if paper.status == ReturnStatus.not_received else "still outstanding"
        blocks.append(("item", f"{paper.agency_name} ({paper.agency}): {what}"))
    return blocks


def case_paper_markdown(papers: CasePapers, zone_name: str = "Europe/London") -> str:
    """The case's paper for the meeting: CIGSCR1 summary, the returns received, the returns missing.

    Holds personal data: for the papers folder only (owner-readable files), never an artifact."""
    lines: list[str] = []
    previous = ""
    for kind, text in _case_paper_blocks(papers, zone_name):
        if previous in ("item", "subitem") and kind not in ("item", "subitem"):
            lines.append("")
        if kind in ("h1", "h2", "h3"):
            lines += [f"{'#' * int(kind[1])} {text}", ""]
        elif kind == "item":
            lines.append(f"- {text}")
        elif kind == "subitem":
            lines.append(f"  - {text}")
        else:
            lines += [text, ""]
        previous = kind
    return "\n".join(lines).rstrip("\n") + "\n"


def case_paper_docx(papers: CasePapers, zone_name: str = "Europe/London") -> bytes:
    """The case's paper as a Word document (what `case_paper_markdown` says). Holds personal data, as the
    markdown does: for the papers folder and the member's own download only."""
    from docx import Document  # (imported here: `cig` starts faster without it)

    document = Document()
    for kind, text in _case_paper_blocks(papers, zone_name):
        if kind in ("h1", "h2", "h3"):
            document.add_heading(text, level=int(kind[1]))
        elif kind == "item":
            document.add_paragraph(text, style="List Bullet")
        elif kind == "subitem":
            document.add_paragraph(text, style="List Bullet 2")
        elif kind == "label":
            document.add_paragraph().add_run(text).bold = True
        else:
            for paragraph in text.split("\n\n"):
                document.add_paragraph(paragraph)
    return _saved(document)


def _saved(document) -> bytes:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def papers_index_markdown(cases: Sequence[CasePapers], files: Mapping[str, Path], agenda_file: Path) -> str:
    """The pack's index for the Prefect artifact: case references, return counts and file paths only."""
    lines = ["## Papers pack", "", f"Agenda: {markdown_cell(str(agenda_file))}", ""]
    if not cases:
        return "\n".join(lines + ["No case papers: no cases are listed.", ""])
    lines += ["| case | returns received | returns missing | papers |", "| --- | --- | --- | --- |"]
    for papers in cases:
        lines.append(f"| {papers.reference} | {len(papers.received)} of {len(papers.returns)} "
                     f"| {len(papers.missing)} | {markdown_cell(str(files[papers.reference]))} |")
    return "\n".join(lines + ["", "The case papers hold personal data: they are readable by the service account only.", ""])
