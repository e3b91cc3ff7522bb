"""The annual report section on reviews and their impact (all five seeds: "findings of reviews and their
impact are summarised in the partnership's annual report"): pure functions from plain facts about a year
to the figures, the markdown, a chart (matplotlib, Agg, as the monthly report draws) and a Word document a
business manager can paste into the partnership's annual report. No Prefect, no clock reads, no database.

The year is the calendar year (1 January to 31 December). Actions counted are those whose target date falls
in the year: on time (done on or before the target), done late, still overdue at the year's end (or at
`today` if the year is not over), and open (not yet due).
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date


from casework.cells import markdown_cell
from casework.oversight.report import Share


@dataclass(frozen=True)
class ReviewFacts:
    """One review as the annual report reads it (no personal data)."""

    reference: str
    review_type: str
    commissioned_on: date
    completed_on: date | None  # the board ratified the final report
    published_on: date | None
    themes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClockFacts:
    """One deadline of a case: its kind's words, when it was due, when it was met (None: not yet)."""

    kind: str
    due_on: date
    met_on: date | None


@dataclass(frozen=True)
class ActionFacts:
    agency: str
    target_on: date
    status: str  # open, done, dropped
    done_on: date | None


@dataclass(frozen=True)
class AgencyActions:
    agency: str
    due: int
    on_time: int
    late: int
    overdue: int
    open: int

    @property
    def done_with_evidence(self) -> int:
        return self.on_time + self.late


@dataclass(frozen=True)
class AnnualReport:
    year: int
    as_of: date
    commissioned: tuple[str, ...]
    completed: tuple[str, ...]
    published: tuple[str, ...]
    clocks: tuple[tuple[str, Share], ...]  # each clock's deadlines due in the year, met on time
    actions_on_time: Share
    actions_by_agency: tuple[AgencyActions, ...]
    themes: tuple[tuple[str, int], ...]
    dissemination: tuple[tuple[str, int], ...]
    dropped: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def title(self) -> str:
        return f"Case reviews and their impact, {self.year}"


def annual_report(year: int, *, today: date, reviews: Sequence[ReviewFacts], clocks: Sequence[ClockFacts],
                  actions: Sequence[ActionFacts], disseminations: Sequence[tuple[str, date]]) -> AnnualReport:
    """The year's figures."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    as_of = min(end, today)
    within = lambda day: day is not None and start <= day <= end  # noqa: E731
    by_kind: dict[str, list[ClockFacts]] = {}
    for clock in clocks:
        if within(clock.due_on) and clock.due_on <= as_of:
            by_kind.setdefault(clock.kind, []).append(clock)
    clock_shares = tuple((kind, Share(sum(1 for c in items if c.met_on is not None and c.met_on <= c.due_on), len(items)))
                         for kind, items in sorted(by_kind.items()))
    per_agency: dict[str, list[str]] = {}
    dropped = 0
    for a in actions:
        if not within(a.target_on):
            continue
        if a.status == "dropped":
            dropped += 1
            continue
        if a.status == "done" and a.done_on is not None:
            outcome = "on_time" if a.done_on <= a.target_on else "late"
        elif a.target_on < as_of:
            outcome = "overdue"
        else:
            outcome = "open"
        per_agency.setdefault(a.agency, []).append(outcome)
    agencies = tuple(AgencyActions(agency, len(o), o.count("on_time"), o.count("late"), o.count("overdue"), o.count("open"))
                     for agency, o in sorted(per_agency.items()))
    due = sum(a.due for a in agencies)
    themes = Counter(t for r in reviews if within(r.commissioned_on) or within(r.published_on) for t in r.themes)
    spread = Counter(kind for kind, on in disseminations if within(on))
    return AnnualReport(
        year=year, as_of=as_of,
        commissioned=tuple(r.reference for r in reviews if within(r.commissioned_on)),
        completed=tuple(r.reference for r in reviews if within(r.completed_on)),
        published=tuple(r.reference for r in reviews if within(r.published_on)),
        clocks=clock_shares, actions_on_time=Share(sum(a.on_time for a in agencies), due),
        actions_by_agency=agencies, themes=tuple(sorted(themes.items(), key=lambda kv: (-kv[1], kv[0]))),
        dissemination=tuple(sorted(spread.items())), dropped=dropped)


def _share(share: Share) -> str:
    return str(share) if share.of else "none"


def annual_markdown(report: AnnualReport, *, partnership: str, chart: str | None = None) -> str:
    """The section as markdown; `chart` is where the chart is (a file name or a data URI)."""
    words = lambda refs: f"{len(refs)}" + (f" ({', '.join(refs)})" if refs else "")  # noqa: E731
    lines = [f"# {partnership}: {report.title}", "", f"As of {report.as_of.isoformat()}.", "",
             "## Reviews", "", "| | reviews |", "| --- | --- |",
             f"| commissioned | {words(report.commissioned)} |", f"| completed (ratified by the board) | {words(report.completed)} |",
             f"| published | {words(report.published)} |", "", "## Timeliness of each clock", ""]
    if report.clocks:
        lines += ["| clock | met on time |", "| --- | --- |"] + [f"| {k.replace('_', ' ')} | {_share(s)} |" for k, s in report.clocks]
    else:
        lines.append("No clock fell due in the year.")
    lines += ["", "## Learning and improvement actions", "",
              f"Actions due in the year done on time: {_share(report.actions_on_time)}."
              + (f" {report.dropped} dropped with a reason." if report.dropped else ""), ""]
    if chart:
        lines += [f"![Actions by agency, {report.year}]({chart})", ""]
    if report.actions_by_agency:
        lines += ["| agency | due | on time | done late | overdue | not yet due | done with evidence |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {a.agency} | {a.due} | {a.on_time} | {a.late} | {a.overdue} | {a.open} | {a.done_with_evidence} |"
                  for a in report.actions_by_agency]
    lines += ["", "## Themes", ""]
    lines += [f"- {markdown_cell(theme)}: {n} review{'s' if n != 1 else ''}"  # typed: escaped (the artifact)
              for theme, n in report.themes] or ["None recorded."]
    lines += ["", "## Dissemination", ""]
    lines += [f"- {kind.replace('_', ' ')}: {n}" for kind, n in report.dissemination] or ["None recorded."]
    return "\n".join(lines) + "\n"


def annual_chart_png(report: AnnualReport) -> bytes:
    """Actions by agency: on time, done late, overdue, not yet due (stacked bars), as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(figure)
    axis = figure.subplots()
    names = [a.agency for a in report.actions_by_agency] or ["none"]
    bottom = [0] * len(names)
    for label, values, colour in (("on time", [a.on_time for a in report.actions_by_agency], "#2ca02c"),
                                  ("done late", [a.late for a in report.actions_by_agency], "#ff7f0e"),
                                  ("overdue", [a.overdue for a in report.actions_by_agency], "#d62728"),
                                  ("not yet due", [a.open for a in report.actions_by_agency], "#7f7f7f")):
        values = values or [0]
        axis.bar(names, values, bottom=bottom, label=label, color=colour)
        bottom = [b + v for b, v in zip(bottom, values)]
    axis.set_ylabel("actions due in the year")
    axis.set_title(f"Learning and improvement actions by agency, {report.year}")
    axis.legend()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def annual_docx(report: AnnualReport, *, partnership: str, chart: bytes | None) -> bytes:
    """The section as a Word document: headings, tables and the chart, ready to paste."""
    from docx import Document  # (imported here: `cig` starts faster without it)
    from docx.shared import Cm

    document = Document()
    document.add_heading(f"{partnership}: {report.title}", level=1)
    document.add_paragraph(f"As of {report.as_of.isoformat()}.")
    document.add_heading("Reviews", level=2)
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, refs in (("Commissioned", report.commissioned), ("Completed (ratified by the board)", report.completed),
                        ("Published", report.published)):
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, f"{len(refs)}" + (f" ({', '.join(refs)})" if refs else "")
    document.add_heading("Timeliness of each clock", level=2)
    for kind, share in report.clocks:
        document.add_paragraph(f"{kind.replace('_', ' ')}: {_share(share)} met on time", style="List Bullet")
    document.add_heading("Learning and improvement actions", level=2)
    document.add_paragraph(f"Actions due in the year done on time: {_share(report.actions_on_time)}.")
    if chart:
        document.add_picture(io.BytesIO(chart), width=Cm(15))
    if report.actions_by_agency:
        table = document.add_table(rows=1, cols=7)
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, ("Agency", "Due", "On time", "Done late", "Overdue", "Not yet due",
                                                     "Done with evidence")):
            cell.text = text
        for a in report.actions_by_agency:
            for cell, value in zip(table.add_row().cells, (a.agency, a.due, a.on_time, a.late, a.overdue, a.open,
                                                           a.done_with_evidence)):
                cell.text = str(value)
    document.add_heading("Themes", level=2)
    for theme, n in report.themes or (("None recorded", 0),):
        document.add_paragraph(f"{theme}: {n}" if n else theme, style="List Bullet")
    document.add_heading("Dissemination", level=2)
    for kind, n in report.dissemination or (("None recorded", 0),):
        document.add_paragraph(f"{kind.replace('_', ' ')}: {n}" if n else kind, style="List Bullet")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
