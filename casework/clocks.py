"""Statutory clocks: when each thing is due, counted the way the rule set says; and the days reminders go.

Working days exclude weekends, England and Wales bank holidays (the `holidays` package) and the
partnership's own closure days. A deadline counted in days or months is the end of its due day in
the partnership's time zone; one counted in hours (Ofsted's "immediately") is that many hours after
the moment its event happened. Either is stored as an absolute UTC date-time.

No reminder, warning, chase or escalation goes on a day that is not a working day: one before a due
day goes on the working day on or before its offset's day (`reminder_day`); one after (a deadline
missed, so many days overdue) waits for the first working day on or after its day (`reminders_go_on`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from dateutil.relativedelta import relativedelta

from config.rulesets import Clock, ClockUnit

LONDON = ZoneInfo("Europe/London")


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are working days: not a weekend, bank holiday or closure day."""

    closure_days: frozenset[date] = field(default_factory=frozenset)
    zone: ZoneInfo = LONDON

    @classmethod
    def of(cls, closure_days: Iterable[date] = (), zone: ZoneInfo = LONDON) -> "WorkingCalendar":
        return cls(frozenset(closure_days), zone)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in _bank_holidays(day.year) and day not in self.closure_days

    def add_working_days(self, start: date, days: int) -> date:
        """The date `days` working days after `start` (0: `start` itself if working, else the next one)."""
        day = start
        if days == 0:
            while not self.is_working_day(day):
                day += timedelta(days=1)
            return day
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def subtract_working_days(self, end: date, days: int) -> date:
        """The working day `days` working days before `end`."""
        day = end
        counted = 0
        while counted < days:
            day -= timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def working_day_on_or_before(self, day: date) -> date:
        """`day` if it is a working day, else the last working day before it."""
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def working_day_on_or_after(self, day: date) -> date:
        """`day` if it is a working day, else the first working day after it."""
        return self.add_working_days(day, 0)

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days there are after `start`, up to and including `end` (0 if none)."""
        return sum(self.is_working_day(start + timedelta(days=n)) for n in range(1, (end - start).days + 1))

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def end_of_day(self, day: date) -> datetime:
        """23:59:59 local time on `day`, as UTC."""
        return datetime.combine(day, time(23, 59, 59), tzinfo=self.zone).astimezone(timezone.utc)


def add_months(start: date, months: int) -> date:
    """`months` calendar months after `start`, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    return start + relativedelta(months=months)


def due_date(start: date, clock: Clock, calendar: WorkingCalendar) -> date:
    """The day a clock runs out, counted from the day of its starting event (a clock in hours has no
    due day of its own: use `deadline` with the event's moment)."""
    match clock.unit:
        case ClockUnit.hours:
            raise ValueError(f"{clock.label}: counted in hours, from a moment, not from a day")
        case ClockUnit.calendar_days:
            return start + timedelta(days=clock.amount)
        case ClockUnit.working_days:
            return calendar.add_working_days(start, clock.amount)
        case ClockUnit.calendar_months:
            return add_months(start, clock.amount)
    raise ValueError(f"unknown clock unit {clock.unit}")


def deadline(start: date | datetime, clock: Clock, calendar: WorkingCalendar) -> datetime:
    """The absolute moment (UTC) a clock runs out: the end of its due day, local time; for a clock in
    hours, exactly that many hours after `start` (which must then be a moment, not a day)."""
    if clock.unit is ClockUnit.hours:
        if not isinstance(start, datetime):
            raise ValueError(f"{clock.label}: counted in hours, so it needs the moment its event happened")
        return start.astimezone(timezone.utc) + timedelta(hours=clock.amount)
    day = calendar.local_date(start) if isinstance(start, datetime) else start
    return calendar.end_of_day(due_date(day, clock, calendar))


@dataclass(frozen=True)
class ReturnDue:
    """When a CIGINF1 return is due, and whether the request says "by return"."""

    due_at: datetime
    by_return: bool


def information_return_due(
    issued_at: datetime, meeting_at: datetime, clock: Clock, calendar: WorkingCalendar
) -> ReturnDue:
    """7 days from issue; "by return" (the next working day) when the meeting is under 7 days away.

    A return is never due after the meeting it is for: at the latest, the end of the day before.
    """
    issued_day = calendar.local_date(issued_at)
    meeting_day = calendar.local_date(meeting_at)
    under = clock.by_return_under_days
    by_return = under is not None and (meeting_day - issued_day).days < under
    latest = meeting_day - timedelta(days=1)
    if clock.unit is ClockUnit.hours and not by_return:
        due_at = max(issued_at, min(deadline(issued_at, clock, calendar), calendar.end_of_day(latest)))
        return ReturnDue(due_at.astimezone(timezone.utc), False)
    if by_return:
        due = calendar.add_working_days(issued_day, 1)
    else:
        due = due_date(issued_day, clock, calendar)
    due = max(issued_day, min(due, latest))
    return ReturnDue(calendar.end_of_day(due), by_return)


def days_left(due_at: datetime, now: datetime, calendar: WorkingCalendar) -> int:
    """Whole calendar days from today to the due day (negative when overdue)."""
    return (calendar.local_date(due_at) - calendar.local_date(now)).days


def reminder_day(due_day: date, days: int, calendar: WorkingCalendar, *, working_days: bool = False) -> date:
    """The day a reminder `days` before `due_day` goes: `days` working days before it (`working_days`), or
    `days` calendar days before it, brought back to the working day before when no one works that day."""
    if working_days:
        return calendar.subtract_working_days(due_day, days)
    return calendar.working_day_on_or_before(due_day - timedelta(days=days))


def reminders_go_on(now: datetime, calendar: WorkingCalendar) -> bool:
    """Whether reminders, warnings, chases and escalations may go at `now`: only on a working day, so one owed
    on a weekend, a bank holiday or a closure day waits for the next working day."""
    return calendar.is_working_day(calendar.local_date(now))


# --- Working Together 2023: the clocks around publication and the yearly report (issue 19, item 3) --------------

def _count_back(day: date, clock: Clock, calendar: WorkingCalendar) -> date:
    match clock.unit:
        case ClockUnit.working_days:
            return calendar.subtract_working_days(day, clock.amount)
        case ClockUnit.calendar_days:
            return day - timedelta(days=clock.amount)
    raise ValueError(f"{clock.label}: counted back from a date, so in working or calendar days, not {clock.unit}")


def latest_sending_date(publication_on: date, clock: Clock, calendar: WorkingCalendar) -> date:
    """The last day the full report may go to the Panel and the Secretary of State for publication on
    `publication_on` (wt2023's `pre_publication_notice`: at least 7 working days before the publication date)."""
    return _count_back(publication_on, clock, calendar)


def earliest_publication_date(sent_on: date, clock: Clock, calendar: WorkingCalendar) -> date:
    """The first day a report sent to the Panel and the Secretary of State on `sent_on` may be published: the
    earliest date whose `latest_sending_date` is on or after `sent_on` (counted in working days, the day after the
    sixth working day after sending, which may itself be a day off: 7 working days before a Saturday or before the
    Monday after it is the same day)."""
    match clock.unit:
        case ClockUnit.working_days:  # sent on a day off, it counts from the next working day
            sent = calendar.working_day_on_or_after(sent_on)
            if clock.amount == 0:
                return sent_on
            return calendar.add_working_days(sent, clock.amount - 1) + timedelta(days=1)
        case ClockUnit.calendar_days:
            return sent_on + timedelta(days=clock.amount)
    raise ValueError(f"{clock.label}: counted back from a date, so in working or calendar days, not {clock.unit}")


@dataclass(frozen=True)
class PublicationDateCheck:
    """Whether a report may be published on a date: the earliest allowed date, and the refusal when it may not."""

    publication_on: date
    earliest: date
    refusal: str | None

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def check_publication_date(publication_on: date, *, sent_on: date | None, now: datetime, clock: Clock,
                           calendar: WorkingCalendar, sent_to: str) -> PublicationDateCheck:
    """May the report be published on `publication_on`? Only when it went to `sent_to` (e.g. "the Child
    Safeguarding Practice Review Panel and the Secretary of State") at least the clock's days before. The refusal
    names the earliest allowed date: from the day it was sent, or, not sent yet, from sending it today (`now`)."""
    today = calendar.local_date(now)
    days = f"{clock.amount} {'working days' if clock.unit is ClockUnit.working_days else 'days'}"
    if sent_on is None:
        earliest = earliest_publication_date(today, clock, calendar)
        return PublicationDateCheck(publication_on, earliest, (
            f"The full report has not been sent to {sent_to}; it must go at least {days} before the publication "
            f"date. Sent today, the earliest allowed publication date is {earliest:%A %-d %B %Y}."))
    earliest = earliest_publication_date(sent_on, clock, calendar)
    if publication_on < earliest:
        return PublicationDateCheck(publication_on, earliest, (
            f"{publication_on:%A %-d %B %Y} is less than {days} after the full report was sent to {sent_to} on "
            f"{sent_on:%A %-d %B %Y}: the earliest allowed publication date is {earliest:%A %-d %B %Y}."))
    return PublicationDateCheck(publication_on, earliest, None)


@dataclass(frozen=True)
class ReportPeriod:
    """A 12-month reporting period, first and last day inclusive (the safeguarding partners' yearly report)."""

    first_day: date
    last_day: date

    @property
    def title(self) -> str:
        """'April 2026 to March 2027'."""
        return f"{self.first_day:%B %Y} to {self.last_day:%B %Y}"


def report_period_containing(day: date, starts_month: int) -> ReportPeriod:
    """The 12-month period, starting on the 1st of `starts_month` (4: April to March), that `day` falls in."""
    if not 1 <= starts_month <= 12:
        raise ValueError(f"{starts_month} is not a month (1 to 12)")
    year = day.year if day.month >= starts_month else day.year - 1
    first = date(year, starts_month, 1)
    return ReportPeriod(first, add_months(first, 12) - timedelta(days=1))


def last_complete_report_period(today: date, starts_month: int) -> ReportPeriod:
    """The latest 12-month period that has ended before `today` (the one the yearly report is written for)."""
    current = report_period_containing(today, starts_month)
    return report_period_containing(current.first_day - timedelta(days=1), starts_month)


def yearly_report_send_by(published_on: date, clock: Clock, calendar: WorkingCalendar) -> datetime:
    """The moment the published yearly report must have gone to the rule set's recipients (wt2023's
    `yearly_report_sent`: within 7 days of publication), the end of that day."""
    return deadline(published_on, clock, calendar)


def panel_reply_reminder_on(sent_on: date, clock: Clock, calendar: WorkingCalendar) -> date:
    """The working day the business manager is reminded that no reply of the Panel to the rapid review sent on
    `sent_on` is recorded (wt2023's `panel_reply`: a configurable number of working days)."""
    return calendar.working_day_on_or_after(due_date(sent_on, clock, calendar))


def panel_reply_reminder_due(sent_on: date, *, replied: bool, now: datetime, clock: Clock,
                             calendar: WorkingCalendar) -> bool:
    """Whether the reminder of the Panel's missing reply is owed at `now` (the sweep sends it once, keyed)."""
    return (not replied and reminders_go_on(now, calendar)
            and calendar.local_date(now) >= panel_reply_reminder_on(sent_on, clock, calendar))
