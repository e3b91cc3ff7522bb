"""The safeguarding partners' yearly report (Working Together 2023, rule set `wt2023`): pure functions from
plain facts about the partnership's 12-month period (casework.clocks.ReportPeriod, April to March unless the
partnership file says otherwise) and the texts the partners write (YearlyReportTexts, read from a YAML file
as the learning summary's texts are) to the report, as markdown and as a Word document, in the rule set's
words; and whether the warning that the published report has not yet gone to its recipients is owed.

The sections, in order: what the partners did (reviews commissioned, completed and published, each with its
clocks met or not), the impact of the learning (actions done with their evidence), how effective the
arrangements were, the independent scrutineer's findings, and children's and families' voice. No Prefect, no
clock reads, no database.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from casework.cells import markdown_cell
from casework.clocks import ReportPeriod, WorkingCalendar, reminders_go_on, yearly_report_send_by
from config.rulesets import Clock

Term = Callable[[str], str]  # the rule set's words (config.rulesets.RuleSet.term)


class ClockOutcome(StrEnum):
    met = "met"
    met_late = "met late"
    missed = "not met"  # due before the report's date and still open
    not_due = "not yet due"


@dataclass(frozen=True)
class ReviewClock:
    """One deadline of a review's case: its label in the rule set's words, when due, when met (None: open)."""

    label: str
    due_on: date
    met_on: date | None

    def outcome(self, as_of: date) -> ClockOutcome:
        if self.met_on is not None:
            return ClockOutcome.met if self.met_on <= self.due_on else ClockOutcome.met_late
        return ClockOutcome.missed if self.due_on < as_of else ClockOutcome.not_due


@dataclass(frozen=True)
class YearlyReview:
    """One review as the yearly report reads it (no personal data): its type in the rule set's words."""

    reference: str
    review_type: str
    commissioned_on: date
    completed_on: date | None
    published_on: date | None
    clocks: tuple[ReviewClock, ...] = ()


@dataclass(frozen=True)
class ActionDone:
    """A learning and improvement action done in the period, with the evidence recorded when it was done."""

    reference: str
    agency: str
    action: str
    done_on: date
    evidence: str


@dataclass(frozen=True)
class YearlyTexts:
    """What only the partners can write (casework.learning.forms.YearlyReportTexts, checked)."""

    what_we_did: str | None
    impact: str | None
    effectiveness: str
    scrutiny: str
    voice: str


@dataclass(frozen=True)
class YearlyReport:
    period: ReportPeriod
    as_of: date
    reviews: tuple[YearlyReview, ...]  # commissioned, completed or published in the period
    commissioned: tuple[str, ...]
    completed: tuple[str, ...]
    published: tuple[str, ...]
    actions_done: tuple[ActionDone, ...]
    texts: YearlyTexts | None

    def in_period(self, day: date | None) -> bool:
        return day is not None and self.period.first_day <= day <= self.period.last_day


def yearly_report(period: ReportPeriod, *, today: date, reviews: Sequence[YearlyReview],
                  actions: Sequence[ActionDone], texts: YearlyTexts | None) -> YearlyReport:
    """The period's report: the reviews commissioned, completed or published in it (in order of reference) and
    the actions done in it (by day), with the partners' texts (None while not written)."""
    within = lambda day: day is not None and period.first_day <= day <= period.last_day  # noqa: E731
    ordered = sorted(reviews, key=lambda r: r.reference)
    return YearlyReport(
        period=period, as_of=min(today, period.last_day),
        reviews=tuple(r for r in ordered if within(r.commissioned_on) or within(r.completed_on) or within(r.published_on)),
        commissioned=tuple(r.reference for r in ordered if within(r.commissioned_on)),
        completed=tuple(r.reference for r in ordered if within(r.completed_on)),
        published=tuple(r.reference for r in ordered if within(r.published_on)),
        actions_done=tuple(sorted((a for a in actions if within(a.done_on)), key=lambda a: (a.done_on, a.reference))),
        texts=texts)


def title(term: Term, period: ReportPeriod) -> str:
    """"Safeguarding partners' yearly report, April 2026 to March 2027"."""
    words = term("yearly_report")
    return f"{words[0].upper()}{words[1:]}, {period.title}"


NOT_WRITTEN = "Not written yet: {who} write this section in the report's texts file."


def sections(report: YearlyReport, term: Term) -> list[tuple[str, list[str], list[list[str]]]]:
    """Each section in order: its heading, its paragraphs, and its table (header row first; empty: none)."""
    partners = term("deciders")
    who = partners[0].upper() + partners[1:]
    texts = report.texts
    missing = NOT_WRITTEN.format(who=who)
    refs = lambda items: f"{len(items)}" + (f" ({', '.join(items)})" if items else "")  # noqa: E731

    did = [f"Reviews commissioned: {refs(report.commissioned)}. Completed: {refs(report.completed)}. "
           f"Published: {refs(report.published)}."]
    if texts is not None and texts.what_we_did:
        did.insert(0, texts.what_we_did)
    clock_rows = [["Review", "Type", "Clock", "Due", "Met on", "Outcome"]]
    for review in report.reviews:
        for clock in review.clocks:
            clock_rows.append([review.reference, review.review_type, clock.label, f"{clock.due_on:%-d %B %Y}",
                               f"{clock.met_on:%-d %B %Y}" if clock.met_on else "", clock.outcome(report.as_of).value])
    if len(clock_rows) == 1:
        did.append("No review of the period had a clock.")
        clock_rows = []

    impact = [f"Learning and improvement actions done in the period, each with its evidence: "
              f"{len(report.actions_done)}."]
    if texts is not None and texts.impact:
        impact.insert(0, texts.impact)
    action_rows = [["Review", "Agency", "Action", "Done on", "Evidence"]] + [
        [a.reference, a.agency, a.action, f"{a.done_on:%-d %B %Y}", a.evidence] for a in report.actions_done]
    if len(action_rows) == 1:
        action_rows = []

    scrutineer = term("scrutiny")
    return [
        (f"What {partners} did", did, clock_rows),
        ("The impact of the learning", impact, action_rows),
        ("How effective the arrangements were", [texts.effectiveness if texts else missing], []),
        (f"The findings of {scrutineer}", [texts.scrutiny if texts else missing], []),
        ("Children's and families' voice", [texts.voice if texts else missing], []),
    ]


def yearly_markdown(report: YearlyReport, *, partnership: str, term: Term) -> str:
    """The report as markdown: the title, the period, then each section (typed text escaped in table cells)."""
    lines = [f"# {partnership}: {title(term, report.period)}", "",
             f"The period: {report.period.first_day:%-d %B %Y} to {report.period.last_day:%-d %B %Y}. "
             f"As of {report.as_of:%-d %B %Y}.", ""]
    for heading, paragraphs, table in sections(report, term):
        lines += [f"## {heading}", ""]
        for paragraph in paragraphs:
            lines += [paragraph, ""]
        if table:
            lines.append("| " + " | ".join(table[0]) + " |")
            lines.append("|" + " --- |" * len(table[0]))
            lines += ["| " + " | ".join(markdown_cell(cell) for cell in row) + " |" for row in table[1:]]
            lines.append("")
    return "\n".join(lines)


def yearly_docx(report: YearlyReport, *, partnership: str, term: Term) -> bytes:
    """The report as a Word document: the title, the period, then each section as a heading with its
    paragraphs and table."""
    from docx import Document  # (imported here: `cig` starts faster without it)

    document = Document()
    document.add_heading(f"{partnership}: {title(term, report.period)}", level=1)
    document.add_paragraph(f"The period: {report.period.first_day:%-d %B %Y} to {report.period.last_day:%-d %B %Y}. "
                           f"As of {report.as_of:%-d %B %Y}.")
    for heading, paragraphs, table in sections(report, term):
        document.add_heading(heading, level=2)
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
        if table:
            grid = document.add_table(rows=0, cols=len(table[0]))
            grid.style = "Table Grid"
            for row in table:
                for cell, text in zip(grid.add_row().cells, row):
                    cell.text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def period_slug(period: ReportPeriod) -> str:
    """'2026-04' (the first month): the period's name in file names and outbox keys."""
    return f"{period.first_day:%Y-%m}"


def send_warning_due(published_on: date, *, sent_to_all: bool, now: datetime, clock: Clock,
                     calendar: WorkingCalendar, days_before: int) -> bool:
    """Whether the warning that the published report has not yet gone to every recipient is owed at `now`:
    from `days_before` days before the end of the sending clock (7 days from publication), on a working day,
    while it has not gone to all of them (the sweep sends it once, keyed)."""
    send_by = yearly_report_send_by(published_on, clock, calendar)
    warn_from = calendar.local_date(send_by) - timedelta(days=days_before)
    return not sent_to_all and reminders_go_on(now, calendar) and calendar.local_date(now) >= warn_from
