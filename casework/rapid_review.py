"""The rapid review's own meeting (Working Together 2023, rule set `wt2023`): when it is held inside the 15 working
days from the local authority becoming aware, when the agencies' information is due before it, and whether the
administrator may move it.

Pure: plain data in, typed results out; no Prefect, no database, and no clock read (`now` is always given). The
window, the position in it and the days before it are the rule set's `rapid_review` section; working days are
those of `casework.clocks.WorkingCalendar` (no weekend, England and Wales bank holiday or closure day); the time of
day is the partnership's usual meeting start time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from enum import StrEnum
from zoneinfo import ZoneInfo

from casework.clocks import WorkingCalendar, due_date
from config.rulesets import ClockUnit, RapidReviewSchedule, RuleSet


@dataclass(frozen=True)
class RapidReviewWindow:
    """The working days a rapid review has: from the day after the local authority became aware to its deadline."""

    aware_on: date
    first_day: date  # the first working day after `aware_on`
    deadline_day: date  # the rapid review is sent to the Panel by the end of this day
    working_days: int

    def holds(self, day: date, calendar: WorkingCalendar) -> bool:
        """Whether `day` is a working day inside the window."""
        return self.first_day <= day <= self.deadline_day and calendar.is_working_day(day)


@dataclass(frozen=True)
class RapidReviewMeeting:
    """When a rapid review meeting is held, and when the agencies' information for it is due."""

    starts_at: datetime  # UTC
    day: date  # local
    information_due_on: date  # by the end of this day
    by_return: bool  # too little time was left for the usual working days before the meeting
    window: RapidReviewWindow

    @property
    def inside_window(self) -> bool:
        return self.window.first_day <= self.day <= self.window.deadline_day


def _schedule(rules: RuleSet) -> RapidReviewSchedule:
    if rules.rapid_review is None:
        raise ValueError(f"rule set '{rules.name}' has no rapid review meeting of its own (no rapid_review section)")
    return rules.rapid_review


def rapid_review_window(aware_on: date, rules: RuleSet, calendar: WorkingCalendar) -> RapidReviewWindow:
    """The rapid review's window: its clock (`rapid_review.window_clock`, 15 working days) counted from the day the
    local authority became aware."""
    clock = rules.clocks[_schedule(rules).window_clock]
    if clock.unit is not ClockUnit.working_days:
        raise ValueError(f"{clock.label}: a rapid review's window is counted in working days, not {clock.unit}")
    return RapidReviewWindow(aware_on=aware_on, first_day=calendar.add_working_days(aware_on, 1),
                             deadline_day=due_date(aware_on, clock, calendar), working_days=clock.amount)


def _starts_at(day: date, start_time: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, start_time, tzinfo=zone).astimezone(timezone.utc)


def information_due(day: date, *, today: date, schedule: RapidReviewSchedule,
                    calendar: WorkingCalendar) -> tuple[date, bool]:
    """When the agencies' information for a meeting on `day` is due, and whether by return: the rule set's working
    days before the meeting, or, when that day has passed, the last working day before the meeting (today at the
    earliest)."""
    usual = calendar.subtract_working_days(day, schedule.information_working_days_before)
    if usual >= today:
        return usual, False
    day_before = calendar.subtract_working_days(day, 1)
    return (day_before if day_before >= today else today), True


def schedule_rapid_review_meeting(aware_on: date, *, now: datetime, rules: RuleSet, start_time: time,
                                  zone: ZoneInfo, calendar: WorkingCalendar) -> RapidReviewMeeting:
    """The rapid review meeting for a case accepted at `now`: on the working day `position` of the way through the
    window (about two thirds: the 10th of 15), at the partnership's usual start time; accepted too late to give the
    agencies their usual working days before that day, later, on the day that gives them, but never after the
    deadline (the information is then due by return); accepted on or after the deadline day, the next working day
    (outside the window: `inside_window` is then false)."""
    schedule = _schedule(rules)
    window = rapid_review_window(aware_on, rules, calendar)
    today = calendar.local_date(now)
    position = max(1, min(window.working_days, round(schedule.position * window.working_days)))
    day = calendar.add_working_days(aware_on, position)
    soonest = calendar.add_working_days(today, 1)  # never the day it is scheduled: the invitation needs a day
    if day < soonest or calendar.subtract_working_days(day, schedule.information_working_days_before) < today:
        with_time = calendar.add_working_days(today, schedule.information_working_days_before + 1)
        day = max(day, soonest, min(with_time, window.deadline_day))
    due_on, by_return = information_due(day, today=today, schedule=schedule, calendar=calendar)
    return RapidReviewMeeting(starts_at=_starts_at(day, start_time, zone), day=day, information_due_on=due_on,
                              by_return=by_return, window=window)


class MoveOutcome(StrEnum):
    moved = "moved"  # inside the window: nothing more to do than tell those invited
    escalated = "escalated"  # past the deadline with a recorded reason: moved, and `escalate_to` are told
    refused = "refused"  # nothing changes; `refusal` says why in the form's words


@dataclass(frozen=True)
class MeetingMove:
    """What moving a rapid review meeting to a new moment does."""

    outcome: MoveOutcome
    starts_at: datetime
    refusal: str | None = None
    reason: str | None = None
    escalate_to: tuple[str, ...] = ()  # the rule set's roles (rapid_review.late_meeting_told)
    information_due_on: date | None = None
    by_return: bool = False


def check_meeting_move(new_start: datetime, *, aware_on: date, reason: str | None, now: datetime, rules: RuleSet,
                       calendar: WorkingCalendar) -> MeetingMove:
    """May the rapid review meeting move to `new_start`? Refused on a day no one works, in the past, or before the
    local authority became aware; past the rapid review's deadline only with a reason, and then escalated to the
    rule set's `late_meeting_told`. A refusal names the field (`at`, `reason`) and the dates involved."""
    schedule = _schedule(rules)
    window = rapid_review_window(aware_on, rules, calendar)
    meeting = rules.term("meeting")
    day, today = calendar.local_date(new_start), calendar.local_date(now)
    reason = (reason or "").strip() or None

    def refused(text: str) -> MeetingMove:
        return MeetingMove(MoveOutcome.refused, new_start, refusal=text, reason=reason)

    if not calendar.is_working_day(day):
        return refused(f"at: {day:%A %-d %B %Y} is not a working day (a weekend, bank holiday or closure day); "
                       f"choose a working day for the {meeting}")
    if new_start <= now:
        return refused(f"at: {day:%A %-d %B %Y} at {new_start.astimezone(calendar.zone):%H:%M} has passed; "
                       f"choose a time still to come for the {meeting}")
    if day < window.first_day:
        return refused(f"at: {day:%A %-d %B %Y} is before the {rules.term('consideration')} began "
                       f"(the local authority became aware on {aware_on:%A %-d %B %Y})")
    due_on, by_return = information_due(day, today=today, schedule=schedule, calendar=calendar)
    if day <= window.deadline_day:
        return MeetingMove(MoveOutcome.moved, new_start, reason=reason, information_due_on=due_on, by_return=by_return)
    if reason is None:
        return refused(f"reason: {day:%A %-d %B %Y} is after the {rules.term('consideration')}'s deadline, "
                       f"{window.deadline_day:%A %-d %B %Y}; moving the {meeting} past it needs the reason, which is "
                       "recorded and told to those the escalation goes to")
    return MeetingMove(MoveOutcome.escalated, new_start, reason=reason, escalate_to=tuple(schedule.late_meeting_told),
                       information_due_on=due_on, by_return=by_return)
