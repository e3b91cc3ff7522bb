"""The monthly performance report: what a manager reads in two minutes.

Pure functions over the stored cases, a month and a `now`; no Prefect, no clock reads, no files.
Counts cases referred, accepted and decided in the month; the share of decisions made within the
decision deadline of the case's rule set (one month, or the `wt2023` 15 working days); the share
of Ofsted and Panel notices sent on time; the median days each stage took; returns on time per
agency; and the breaches open at the end of the month (or now, for the current month).
Never reads the sealed personal data. `report_chart_png` draws the chart (matplotlib, Agg);
`chart_data_uri` turns it into an image the markdown can carry inline (the Prefect UI shows it).
"""

from __future__ import annotations

import base64
import io
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from casework.clocks import WorkingCalendar
from casework.review.reminders import REVIEW_MILESTONE
from casework.store.tables import Case, Deadline
from casework.oversight.tracker import OFSTED_NOTICES, PANEL_NOTICES, SERIOUS_INCIDENT_NOTICES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DECISION_NOTICES = ("ofsted_notice", "panel_notice", "rapid_review_notice")
STAGES = ("screening", "returns", "recommendation", "decision", "notices")
STAGE_LABELS = {
    "screening": "referral to screening",
    "returns": "requests to all returns",
    "recommendation": "returns to recommendation",
    "decision": "recommendation to decision",
    "notices": "decision to notices sent",
}


@dataclass(frozen=True)
class Share:
    """k of n, and its percentage (None when there is nothing to count)."""

    count: int
    of: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.count / self.of, 1) if self.of else None

    def __str__(self) -> str:
        return f"{self.count} of {self.of} ({self.percent:g}%)" if self.of else "none this month"


@dataclass(frozen=True)
class StageTime:
    stage: str
    median_days: float | None
    cases: int


@dataclass(frozen=True)
class AgencyReturns:
    agency: str
    on_time: Share


@dataclass(frozen=True)
class OpenBreach:
    reference: str
    label: str
    due_on: date
    days_overdue: int


@dataclass(frozen=True)
class MonthlyReport:
    """The month's figures; `as_of` is the end of the month, or `now` if the month is not over."""

    month: date
    as_of: datetime
    referred: int
    accepted: int
    declined: int
    decided: int
    decisions_in_time: Share
    ofsted_notices_on_time: Share
    panel_notices_on_time: Share
    stage_times: tuple[StageTime, ...]
    returns_by_agency: tuple[AgencyReturns, ...]
    open_breaches: tuple[OpenBreach, ...]
    reviews_in_progress: tuple[str, ...] = ()  # references of reviews commissioned and not yet published
    milestones_missed: tuple[OpenBreach, ...] = ()  # review milestones past their target and not done
    publications_due: tuple[OpenBreach, ...] = ()  # reviews ratified, or with a publication deadline, not published

    @property
    def title(self) -> str:
        return f"Case review performance, {self.month:%B %Y}"

    @property
    def returns_on_time(self) -> Share:
        return Share(sum(a.on_time.count for a in self.returns_by_agency), sum(a.on_time.of for a in self.returns_by_agency))


def last_month(now: datetime, calendar: WorkingCalendar) -> date:
    """The first day of the month before `now`'s (local) month."""
    return (calendar.local_date(now).replace(day=1) - timedelta(days=1)).replace(day=1)


def _month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, following


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86400


def _notices(cases: Iterable[Case], kinds: Sequence[str], within: "_Window") -> Share:
    """Notices sent in the month, or due in it and not sent by the end of it: how many were on time."""
    counted = on_time = 0
    for case in cases:
        if case.stage == "declined":
            continue
        for item in case.deadlines:
            if item.kind not in kinds:
                continue
            sent = item.met_at if item.met_at is not None and item.met_at <= within.as_of else None
            if sent is not None and within.holds(sent):
                counted += 1
                on_time += sent <= item.due_at
            elif sent is None and within.holds(item.due_at) and item.due_at < within.as_of:
                counted += 1
    return Share(on_time, counted)


@dataclass(frozen=True)
class _Window:
    first: date
    following: date
    as_of: datetime
    calendar: WorkingCalendar

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and moment <= self.as_of and self.first <= self.calendar.local_date(moment) < self.following


def _stage_ends(case: Case) -> dict[str, tuple[datetime, datetime]]:
    """Each completed stage of the case: (when it started, when it ended)."""
    spans: dict[str, tuple[datetime, datetime]] = {}
    if case.screened_at:
        spans["screening"] = (case.referred_at, case.screened_at)
    requests = list(case.requests)
    returned = [r.returned_at for r in requests if r.returned_at is not None]
    all_in = bool(requests) and len(returned) == len(requests) and case.stage != "awaiting_returns"
    if all_in:
        spans["returns"] = (min(r.issued_at for r in requests), max(returned))
        if case.recommended_at and case.recommended_at >= max(returned):
            spans["recommendation"] = (max(returned), case.recommended_at)
    if case.recommended_at and case.decided_at:
        spans["decision"] = (case.recommended_at, case.decided_at)
    notices = [d.met_at for d in case.deadlines if d.kind in DECISION_NOTICES]
    if case.decided_at and notices and all(notices):
        spans["notices"] = (case.decided_at, max(n for n in notices if n is not None))
    return spans


def _breached_at(item: Deadline, as_of: datetime) -> bool:
    return item.due_at < as_of and (item.met_at is None or item.met_at > as_of)


def monthly_report(cases: Sequence[Case], *, month: date, now: datetime, calendar: WorkingCalendar) -> MonthlyReport:
    """The month's performance, from the cases as they are at `now` (counted as they were at the month's end)."""
    first, following = _month_bounds(month)
    as_of = min(now, _start_of(following, calendar))
    window = _Window(first, following, as_of, calendar)

    decided = [c for c in cases if window.holds(c.decided_at)]
    decision_due = {c.reference: next((d.due_at for d in c.deadlines if d.kind == "decision"), None) for c in decided}
    timed = [c for c in decided if decision_due[c.reference] is not None]
    in_time = sum(1 for c in timed if c.decided_at <= decision_due[c.reference])  # type: ignore[operator]

    durations: dict[str, list[float]] = {s: [] for s in STAGES}
    for case in cases:
        for stage, (start, end) in _stage_ends(case).items():
            if window.holds(end):
                durations[stage].append(_days(start, end))

    by_agency: dict[str, list[int]] = {}
    for case in cases:
        for request in case.requests:
            if not first <= calendar.local_date(request.due_at) < following:
                continue
            resolved = request.returned_at is not None and request.returned_at <= as_of
            if not resolved and request.due_at >= as_of:
                continue  # not due yet
            on_time = resolved and request.status in ("returned", "nil") and request.returned_at <= request.due_at  # type: ignore[operator]
            tally = by_agency.setdefault(request.agency, [0, 0])
            tally[0] += bool(on_time)
            tally[1] += 1

    breaches = []
    for case in cases:
        if case.referred_at > as_of or (case.closed_at is not None and case.closed_at <= as_of):
            continue
        for item in sorted(case.deadlines, key=lambda d: d.due_at):
            if item.kind == REVIEW_MILESTONE:  # listed under the reviews, as milestones missed
                continue
            if _breached_at(item, as_of):
                overdue = (calendar.local_date(as_of) - calendar.local_date(item.due_at)).days
                breaches.append(OpenBreach(case.reference, item.label, calendar.local_date(item.due_at), overdue))

    reviews = _reviews(cases, as_of, calendar)
    return MonthlyReport(
        **reviews,
        month=first,
        as_of=as_of,
        referred=sum(1 for c in cases if window.holds(c.referred_at)),
        accepted=sum(1 for c in cases if c.screening == "accept" and window.holds(c.screened_at)),
        declined=sum(1 for c in cases if c.screening == "decline" and window.holds(c.screened_at)),
        decided=len(decided),
        decisions_in_time=Share(in_time, len(timed)),
        ofsted_notices_on_time=_notices(cases, OFSTED_NOTICES, window),
        panel_notices_on_time=_notices(cases, PANEL_NOTICES + SERIOUS_INCIDENT_NOTICES, window),
        stage_times=tuple(StageTime(s, _median(durations[s]), len(durations[s])) for s in STAGES),
        returns_by_agency=tuple(AgencyReturns(a, Share(*t)) for a, t in sorted(by_agency.items())),
        open_breaches=tuple(sorted(breaches, key=lambda b: (-b.days_overdue, b.reference))),
    )


def _reviews(cases: Sequence[Case], as_of: datetime, calendar: WorkingCalendar) -> dict[str, tuple]:  # type: ignore[type-arg]
    """The reviews in progress at `as_of`, their missed milestones, and the publications due."""
    today = calendar.local_date(as_of)
    in_progress: list[str] = []
    missed: list[OpenBreach] = []
    due: list[OpenBreach] = []
    for case in cases:
        review = getattr(case, "review", None)
        if review is None or review.commissioned_at > as_of or case.published_on is not None:
            continue
        in_progress.append(case.reference)
        for m in review.milestones:
            if m.done_on is None and m.target_on < today:
                missed.append(OpenBreach(case.reference, m.label, m.target_on, (today - m.target_on).days))
        deadline = next((d for d in case.deadlines if d.kind == "publication" and d.met_at is None), None)
        if review.stage == "awaiting_publication" or deadline is not None:
            on = calendar.local_date(deadline.due_at) if deadline else today
            due.append(OpenBreach(case.reference, deadline.label if deadline else "ratified, to be published", on,
                                  max(0, (today - on).days)))
    return {"reviews_in_progress": tuple(sorted(in_progress)),
            "milestones_missed": tuple(sorted(missed, key=lambda b: (-b.days_overdue, b.reference))),
            "publications_due": tuple(sorted(due, key=lambda b: (b.due_on, b.reference)))}


def _start_of(day: date, calendar: WorkingCalendar) -> datetime:
    """Midnight at the start of `day`, local time."""
    return datetime(day.year, day.month, day.day, tzinfo=calendar.zone)


def report_markdown(report: MonthlyReport, chart: str | None = None) -> str:
    """The report as markdown: headline figures, the chart, stage times, returns, open breaches.

    `chart` is the image's target: a file name beside the markdown, or a `chart_data_uri`.
    """
    lines = [
        f"# {report.title}",
        "",
        f"Figures for {report.month:%B %Y}, as at {report.as_of:%d %B %Y}.",
        "",
        "| measure | this month |",
        "| --- | --- |",
        f"| cases referred | {report.referred} |",
        f"| accepted at screening | {report.accepted} |",
        f"| declined at screening | {report.declined} |",
        f"| decided | {report.decided} |",
        f"| decisions within the deadline | {report.decisions_in_time} |",
        f"| Ofsted notices on time | {report.ofsted_notices_on_time} |",
        f"| Panel notices on time | {report.panel_notices_on_time} |",
        f"| returns on time (all agencies) | {report.returns_on_time} |",
        f"| open breaches at the end of the month | {len(report.open_breaches)} |",
    ]
    if chart:
        lines += ["", f"![Performance, {report.month:%B %Y}]({chart})"]
    lines += ["", "## Days per stage (median)", "", "| stage | median days | cases |", "| --- | --- | --- |"]
    lines += [f"| {STAGE_LABELS[s.stage]} | {'-' if s.median_days is None else f'{s.median_days:g}'} | {s.cases} |"
              for s in report.stage_times]
    lines += ["", "## Returns (CIGINF1) on time, by agency", ""]
    if report.returns_by_agency:
        lines += ["| agency | on time |", "| --- | --- |"]
        lines += [f"| {a.agency} | {a.on_time} |" for a in report.returns_by_agency]
    else:
        lines.append("No returns were due this month.")
    lines += ["", "## Open breaches", ""]
    if report.open_breaches:
        lines += ["| case | deadline | was due | days overdue |", "| --- | --- | --- | --- |"]
        lines += [f"| {b.reference} | {b.label} | {b.due_on.isoformat()} | {b.days_overdue} |" for b in report.open_breaches]
    else:
        lines.append("None: every deadline due by the end of the month was met.")
    if report.reviews_in_progress:
        lines += ["", "## Reviews", "", f"Reviews in progress: {len(report.reviews_in_progress)} "
                  f"({', '.join(report.reviews_in_progress)}).", ""]
        lines += ["| case | milestone missed | target | days overdue |", "| --- | --- | --- | --- |"]
        lines += [f"| {b.reference} | {b.label} | {b.due_on.isoformat()} | {b.days_overdue} |" for b in report.milestones_missed]
        lines += ["", "| case | publication due | by |", "| --- | --- | --- |"]
        lines += [f"| {b.reference} | {b.label} | {b.due_on.isoformat()} |" for b in report.publications_due]
    return "\n".join(lines) + "\n"


def report_chart_png(report: MonthlyReport) -> bytes:
    """The chart: shares on time (left) and median days per stage (right), as PNG bytes."""
    out = io.BytesIO()
    report_chart(report).savefig(out, format="png")
    return out.getvalue()


NO_STAGE_ENDED = "no stage ended this month"
ENDED_THE_SAME_DAY = "each stage ended the day it began (median)"


def report_chart(report: MonthlyReport) -> "Figure":
    """The chart as a matplotlib Figure (Agg): shares on time (left), median days per stage (right).

    Both axes start at 0; a month in which no stage ended draws the days axis from 0 to 1 day with
    the note "no stage ended this month" (a month may have cases, referred or open, and no stage
    ended), and one whose stages ended the day they began says so, never an axis around zero."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    shares = [
        ("decisions in time", report.decisions_in_time),
        ("Ofsted notices", report.ofsted_notices_on_time),
        ("Panel notices", report.panel_notices_on_time),
        ("returns", report.returns_on_time),
    ]
    names = [n for n, _ in shares]
    values = [s.percent or 0.0 for _, s in shares]
    bars = left.barh(names, values, color=["#1f77b4" if (s.percent or 0) >= 90 else "#d62728" for _, s in shares])
    for bar, (_, share) in zip(bars, shares):
        left.text(min(bar.get_width() + 2, 92), bar.get_y() + bar.get_height() / 2,
                  f"{share.percent:g}%" if share.of else "n/a", va="center")
    left.set_xlim(0, 100)
    left.invert_yaxis()
    left.set_xlabel("% on time")
    left.set_title("On time")
    stage_names = [STAGE_LABELS[s.stage] for s in report.stage_times]
    days = [s.median_days or 0.0 for s in report.stage_times]
    right.barh(stage_names, days, color="#7f7f7f")
    right.invert_yaxis()
    if any(days):
        right.set_xlim(0, max(days) * 1.1)
    else:
        right.set_xlim(0, 1)
        note = ENDED_THE_SAME_DAY if any(s.cases for s in report.stage_times) else NO_STAGE_ENDED
        right.text(0.5, 0.5, note, transform=right.transAxes, ha="center", va="center", color="#555555")
    right.set_xlabel("median days")
    right.set_title("Days per stage")
    figure.suptitle(report.title)
    figure.tight_layout()
    return figure


def chart_data_uri(png: bytes) -> str:
    """The PNG as a `data:image/png;base64,...` URI, so markdown can carry the chart inline."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
