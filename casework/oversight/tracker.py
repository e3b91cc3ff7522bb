"""The case tracker: one row per case, the columns managers keep in the "CIEC/SCR spreadsheet".

Pure functions over the stored cases and a `now`; no Prefect, no clock reads. A row carries the
reference only: it never reads the sealed personal data (no child's name or date of birth).
Notice dates come from the notice deadlines (met when the notice was sent) or, before the case
is finished, from the sent messages handed in as `sent_notices`. The review type is named in the
words of the case's regime (`terms` of its rule set): under `wt2023` a case is a rapid review, and
converted when the partners decide on a local child safeguarding practice review (LCSPR).

`COLUMNS` is the one column list of every table for people (the `case-tracker` artifact, the
workbook, the CSV): the columns a manager scans first come first (reference, stage, next deadline,
when it is due, days left, breaches), under word headings. `tracker_table` writes the artifact's
cells for reading: stage and outcomes in words, dates as "Wed 16 Dec 2026", times in the
partnership's local time as "Wed 16 Dec 2026 23:59"; the Prefect UI draws each text cell of a table
artifact as markdown, so every text cell is escaped (casework.cells.markdown_cell) and reads as typed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime

from zoneinfo import ZoneInfo

from casework.cells import markdown_cell
from casework.clocks import WorkingCalendar, days_left
from casework.model import Stage, describe_stage, review_labels
from casework.review.reminders import REVIEW_MILESTONE
from casework.store.tables import Case, Deadline

OFSTED_NOTICES = ("ofsted_notice",)
PANEL_NOTICES = ("panel_notice", "rapid_review_notice")
SERIOUS_INCIDENT_NOTICES = ("serious_incident_notice",)
NOTICE_KINDS = OFSTED_NOTICES + PANEL_NOTICES + SERIOUS_INCIDENT_NOTICES


@dataclass(frozen=True)
class Breach:
    """An unmet deadline past its due time."""

    label: str
    due_on: date
    days_overdue: int


@dataclass(frozen=True)
class TrackerRow:
    """One case on the tracker (reference, dates, outcome and clocks; never the child's identity)."""

    reference: str
    status: str
    stage: str
    stage_label: str
    stage_number: int
    regime: str
    referring_agency: str
    notified_on: date
    referred_on: date
    listed_for: date | None
    round: int
    recommendation: str | None
    recommendation_label: str | None
    decision: str | None
    decision_label: str | None
    decided_on: date | None
    review_type: str | None
    converted_from: str | None
    returns_received: int
    returns_expected: int
    serious_incident_notice_on: date | None
    ofsted_notice_on: date | None
    panel_notice_on: date | None
    next_deadline: str | None
    next_deadline_on: date | None
    next_deadline_at: datetime | None
    days_left: int | None
    breaches: tuple[Breach, ...]
    lead_reviewer: str | None
    themes: str | None
    published_on: date | None
    publication_link: str | None
    learning_shared: str | None
    review_stage: str | None = None  # the review's own flow (casework.review), once commissioned
    non_publication_reason: str | None = None  # why the final report is not published, when it is not
    next_milestone: str | None = None
    next_milestone_on: date | None = None
    milestone_days_overdue: int | None = None
    panel_reply: str | None = None  # wt2023: the Panel's reply to the rapid review, in words (a national review named)
    panel_reply_on: date | None = None

    @property
    def overdue(self) -> bool:
        """True when any deadline of the case is past due and not met."""
        return bool(self.breaches)

    @property
    def returns(self) -> str:
        """"received/expected" for the current round ("-" before any request)."""
        return f"{self.returns_received}/{self.returns_expected}" if self.returns_expected else "-"

    @property
    def breach_flags(self) -> str:
        """The breached deadlines in words, e.g. "CIGINF1 return from POL (2 days overdue)"."""
        return "; ".join(f"{b.label} ({b.days_overdue} day{'s' if b.days_overdue != 1 else ''} overdue)" for b in self.breaches)


@dataclass(frozen=True)
class Column:
    """One column of the tracker: its heading, the row attribute the CSV shows (codes, dates), and
    the one people read in the artifact and the workbook (`words`: a stage or outcome in words, a
    due time), when it differs."""

    name: str
    heading: str
    words: str | None = None


COLUMNS: tuple[Column, ...] = (  # what a manager scans first, first
    Column("reference", "Reference"),
    Column("stage", "Stage", "stage_label"),
    Column("next_deadline", "Next deadline"),
    Column("next_deadline_on", "Due", "next_deadline_at"),
    Column("days_left", "Days left"),
    Column("breach_flags", "Breaches"),
    Column("status", "Status"),
    Column("regime", "Regime"),
    Column("referring_agency", "Referring agency"),
    Column("notified_on", "Date notified"),
    Column("referred_on", "Date referred"),
    Column("listed_for", "Listed for meeting"),
    Column("returns", "Returns received"),
    Column("recommendation", "Recommendation", "recommendation_label"),
    Column("decision", "Decision", "decision_label"),
    Column("decided_on", "Date decided"),
    Column("review_type", "Review type"),
    Column("converted_from", "Converted from"),
    Column("serious_incident_notice_on", "Serious Incident Notification sent"),
    Column("ofsted_notice_on", "Ofsted notice"),
    Column("panel_notice_on", "Panel notice"),
    Column("panel_reply", "Panel's reply"),
    Column("panel_reply_on", "Panel's reply received"),
    Column("lead_reviewer", "Lead reviewer"),
    Column("review_stage", "Review stage"),
    Column("non_publication_reason", "Why not published"),
    Column("next_milestone", "Next review milestone"),
    Column("next_milestone_on", "Milestone due"),
    Column("milestone_days_overdue", "Milestone days overdue"),
    Column("themes", "Abuse or vulnerability themes"),
    Column("published_on", "Date published"),
    Column("publication_link", "Publication link"),
    Column("learning_shared", "How learning was shared"),
)


def cell(row: TrackerRow, column: Column) -> str | int | date | None:
    """The value of one column for one row as the CSV has it (codes; dates stay dates)."""
    value = getattr(row, column.name)
    return value if value != "" else None


def word_cell(row: TrackerRow, column: Column) -> str | int | date | datetime | None:
    """The value of one column for one row as people read it (words; dates and times stay dates and times)."""
    value = getattr(row, column.words or column.name)
    return value if value != "" else None


def day_words(day: date) -> str:
    """A date as the tracker and timeline write it: "Wed 16 Dec 2026"."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def time_words(moment: datetime, zone: ZoneInfo) -> str:
    """A moment in local time (`zone`: the partnership's, Europe/London) as people read it: "Wed 16 Dec 2026 23:59"."""
    local = moment.astimezone(zone)
    return f"{day_words(local.date())} {local:%H:%M}"


def tracker_table(rows: Sequence[TrackerRow], zone: ZoneInfo) -> list[dict[str, str | int]]:
    """The rows as the `case-tracker` artifact shows them: one dict per case, keyed by the column
    headings in `COLUMNS` order, every cell words or a whole number (empty cells ""); the words escaped
    as markdown (the Prefect UI draws a text cell as markdown: a lead reviewer typed as HTML or an image
    shows as typed)."""
    table = []
    for row in rows:
        record: dict[str, str | int] = {}
        for column in COLUMNS:
            value = word_cell(row, column)
            if isinstance(value, datetime):
                value = time_words(value, zone)
            elif isinstance(value, date):
                value = day_words(value)
            record[column.heading] = "" if value is None else markdown_cell(value) if isinstance(value, str) else value
        table.append(record)
    return table


def row_record(row: TrackerRow) -> dict[str, object]:
    """The row as plain JSON-ready data for scripts (field names, codes, dates and times as ISO strings),
    every field plus the derived columns."""
    record: dict[str, object] = {}
    for f in fields(row):
        value = getattr(row, f.name)
        if f.name == "breaches":
            value = [{"label": b.label, "due_on": b.due_on.isoformat(), "days_overdue": b.days_overdue} for b in value]
        elif isinstance(value, date):
            value = value.isoformat()
        record[f.name] = value
    record["overdue"] = row.overdue
    return record


def _local(moment: datetime | None, calendar: WorkingCalendar) -> date | None:
    return calendar.local_date(moment) if moment else None


def _notice_on(
    deadlines: Sequence[Deadline], kinds: Iterable[str], sent: Mapping[str, datetime], calendar: WorkingCalendar
) -> date | None:
    """When the first notice of these kinds went out: the met deadline, else the sent message."""
    moments = [d.met_at for d in deadlines if d.kind in kinds and d.met_at is not None]
    moments += [sent[k] for k in kinds if k in sent]
    return _local(min(moments), calendar) if moments else None


def breaches(case: Case, now: datetime, calendar: WorkingCalendar) -> tuple[Breach, ...]:
    """The case's unmet deadlines that are past due at `now`, earliest first."""
    return tuple(
        Breach(d.label, calendar.local_date(d.due_at), -days_left(d.due_at, now, calendar))
        for d in sorted(case.deadlines, key=lambda d: d.due_at)
        if d.met_at is None and d.due_at < now and d.kind != REVIEW_MILESTONE  # (its own columns: next milestone)
    )


RAPID_REVIEW_TERM = "rapid_review"  # a regime whose every accepted case is first a review of this name (wt2023)


def review_type(case: Case, terms: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The case's review type in its regime's words, and what it was converted from (if it was).

    Under a regime with a `rapid_review` term, an accepted case is a rapid review until the decision,
    and a decision to review in full (`scr`: the LCSPR) converts it. `terms` empty: the wt2015 names.
    """
    initial = terms.get(RAPID_REVIEW_TERM)
    if case.stage == Stage.declined:
        return "declined at screening", None
    if not case.decision:
        return (initial if case.screening == "accept" else None), None
    label = review_labels(terms).get(case.decision, case.decision)
    return label, (initial if case.decision == "scr" else None)


def tracker_row(
    case: Case,
    *,
    now: datetime,
    calendar: WorkingCalendar,
    sent_notices: Mapping[str, datetime] | None = None,
    terms: Mapping[str, str] | None = None,
) -> TrackerRow:
    """The tracker row of one case at `now`. `sent_notices`: notice kind -> when its message was sent;
    `terms`: the names of the case's regime (its rule set's `terms`)."""
    sent = dict(sent_notices or {})
    labels = review_labels(terms or {})
    kind, converted_from = review_type(case, terms or {})
    current = [r for r in case.requests if r.round == case.round]
    upcoming = next((d for d in sorted(case.deadlines, key=lambda d: d.due_at)
                     if d.met_at is None and d.kind != REVIEW_MILESTONE), None)
    declined = case.stage == Stage.declined
    return TrackerRow(
        reference=case.reference,
        status=case.status,
        stage=case.stage,
        stage_label=describe_stage(Stage(case.stage)),
        stage_number=Stage(case.stage).number,
        regime=case.regime,
        referring_agency=case.referring_agency,
        notified_on=case.notified_on,
        referred_on=calendar.local_date(case.referred_at),
        listed_for=case.meeting_on,
        round=case.round or 0,
        recommendation=case.recommendation,
        recommendation_label=labels.get(case.recommendation, case.recommendation) if case.recommendation else None,
        decision=case.decision,
        decision_label=labels.get(case.decision, case.decision) if case.decision else None,
        decided_on=_local(case.decided_at, calendar),
        review_type=kind,
        converted_from=converted_from,
        returns_received=sum(1 for r in current if r.status != "outstanding"),
        returns_expected=len(current),
        # the SIN: the one recorded (seed 002, step 1), else (wt2023) the serious incident notice to the Panel
        serious_incident_notice_on=case.sin_sent_on or (
            None if declined else _notice_on(case.deadlines, SERIOUS_INCIDENT_NOTICES, sent, calendar)),
        ofsted_notice_on=None if declined else _notice_on(case.deadlines, OFSTED_NOTICES, sent, calendar),
        panel_notice_on=None if declined else _notice_on(case.deadlines, PANEL_NOTICES, sent, calendar),
        next_deadline=upcoming.label if upcoming else None,
        next_deadline_on=calendar.local_date(upcoming.due_at) if upcoming else None,
        next_deadline_at=upcoming.due_at.astimezone(calendar.zone) if upcoming else None,
        days_left=days_left(upcoming.due_at, now, calendar) if upcoming else None,
        breaches=breaches(case, now, calendar),
        lead_reviewer=", ".join(case.lead_reviewers) if case.lead_reviewers else None,
        themes="; ".join(case.themes) if case.themes else None,
        published_on=case.published_on,
        publication_link=case.publication_link,
        learning_shared=case.learning_shared,
        panel_reply=panel_reply_words(case.panel_reply, terms or {}),
        panel_reply_on=case.panel_reply_on,
        **_review_columns(case, calendar.local_date(now)),
    )


NATIONAL_REVIEW = "will carry out a national review"  # casework.referral.panel.PanelReply.national_review


def panel_reply_words(reply: str | None, terms: Mapping[str, str]) -> str | None:
    """The Panel's reply to the rapid review as the tracker reads it: "the Panel agrees", or the national review
    it will carry out in the regime's words."""
    if reply is None:
        return None
    if reply == NATIONAL_REVIEW:
        return f"{terms.get('panel_short', 'the Panel')} {reply}: {terms.get('national_review', 'national review')}"
    return f"{terms.get('panel_short', 'the Panel')} {reply}"


def _review_columns(case: Case, today: date) -> dict[str, object]:
    """The review's stage (and why its report is not published, when it is not), next milestone, its date and
    how late it is (nothing before a review is commissioned)."""
    review = getattr(case, "review", None)
    if review is None:
        return {}
    from casework.review.views import review_view

    view = review_view(case, review, today)
    return {"review_stage": view.stage_words, "non_publication_reason": view.non_publication_reason,
            "next_milestone": view.next_milestone,
            "next_milestone_on": view.next_milestone_on, "milestone_days_overdue": view.days_overdue or None}


def tracker_rows(
    cases: Iterable[Case],
    *,
    now: datetime,
    calendar: WorkingCalendar,
    sent_notices: Mapping[str, Mapping[str, datetime]] | None = None,
    terms: Mapping[str, Mapping[str, str]] | None = None,
) -> list[TrackerRow]:
    """One row per case, in reference order. `sent_notices`: reference -> notice kind -> sent at;
    `terms`: regime name -> the names that regime uses (a regime not given reads in wt2015's names)."""
    sent = sent_notices or {}
    names = terms or {}
    rows = [tracker_row(c, now=now, calendar=calendar, sent_notices=sent.get(c.reference), terms=names.get(c.regime))
            for c in cases]
    return sorted(rows, key=lambda r: r.reference)
