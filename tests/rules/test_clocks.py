"""Statutory clocks (PROCESS.md, "Time"): calendar months, 7 days or by return, 14 days, working days.

The bank holidays the tables rely on were checked by hand against the `holidays` package
(England, 2026-27) and are asserted first, so a change in that package shows up here.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.clocks import (
    LONDON,
    WorkingCalendar,
    add_months,
    days_left,
    deadline,
    due_date,
    information_return_due,
)
from config.rulesets import Clock, ClockStart, ClockUnit, load_ruleset

UTC = timezone.utc
WT2015 = load_ruleset("wt2015")
WT2023 = load_ruleset("wt2023")
CALENDAR = WorkingCalendar.of()
INFORMATION_RETURN = WT2015.clocks["information_return"]


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A moment given in London local time, as UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=LONDON).astimezone(UTC)


def working_days(amount: int) -> Clock:
    return Clock(amount=amount, unit=ClockUnit.working_days, starts=ClockStart.notified, label="test")


# --- the bank holidays the tables below depend on --------------------------------------------

def test_the_bank_holidays_of_christmas_2026_and_easter_2027_are_as_the_tables_assume() -> None:
    england = holidays.country_holidays("GB", subdiv="ENG", years=[2026, 2027])

    assert date(2026, 12, 25) in england and date(2026, 12, 25).strftime("%a") == "Fri"
    assert date(2026, 12, 26).weekday() == 5  # Boxing Day is a Saturday...
    assert date(2026, 12, 28) in england and date(2026, 12, 28).strftime("%a") == "Mon"  # ...substituted Monday
    assert date(2027, 1, 1) in england and date(2027, 1, 1).strftime("%a") == "Fri"
    assert date(2027, 3, 26) in england and date(2027, 3, 26).strftime("%a") == "Fri"  # Good Friday
    assert date(2027, 3, 29) in england and date(2027, 3, 29).strftime("%a") == "Mon"  # Easter Monday
    for working in (date(2026, 12, 24), date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31),
                    date(2027, 1, 4), date(2027, 3, 25), date(2027, 3, 30)):
        assert working not in england and working.weekday() < 5


# --- calendar months --------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (date(2026, 11, 16), date(2026, 12, 16)),
        (date(2027, 1, 31), date(2027, 2, 28)),
        (date(2028, 1, 31), date(2028, 2, 29)),  # a leap year
        (date(2027, 3, 31), date(2027, 4, 30)),
        (date(2026, 12, 31), date(2027, 1, 31)),
    ],
)
def test_one_calendar_month_is_clamped_to_the_end_of_a_shorter_month(start: date, expected: date) -> None:
    assert add_months(start, 1) == expected
    assert due_date(start, WT2015.clocks["decision"], CALENDAR) == expected


def test_the_decision_is_due_at_the_end_of_the_day_one_month_after_notification() -> None:
    assert deadline(date(2027, 1, 31), WT2015.clocks["decision"], CALENDAR) == datetime(2027, 2, 28, 23, 59, 59, tzinfo=UTC)


def test_the_lcspr_report_is_due_six_calendar_months_from_initiation() -> None:
    assert due_date(date(2027, 8, 31), WT2023.clocks["publication"], CALENDAR) == date(2028, 2, 29)


# --- deadlines are the end of the local due day, as UTC ---------------------------------------

def test_a_deadline_is_the_end_of_the_local_due_day_in_winter_and_summer() -> None:
    panel = WT2015.clocks["panel_notice"]

    winter = deadline(date(2026, 12, 10), panel, CALENDAR)
    summer = deadline(date(2027, 6, 1), panel, CALENDAR)

    assert winter == datetime(2026, 12, 24, 23, 59, 59, tzinfo=UTC)  # GMT
    assert summer == datetime(2027, 6, 15, 22, 59, 59, tzinfo=UTC)  # BST
    assert winter.tzinfo is UTC and summer.tzinfo is UTC


def test_a_deadline_counts_from_the_local_day_of_a_moment() -> None:
    # 23:30 UTC on 31 March 2027 is already 1 April in London (BST)
    decided = datetime(2027, 3, 31, 23, 30, tzinfo=UTC)

    assert deadline(decided, WT2015.clocks["panel_notice"], CALENDAR) == end_of(date(2027, 4, 15))


def test_the_panel_notice_is_due_14_calendar_days_from_the_decision_holidays_included() -> None:
    assert due_date(date(2026, 12, 18), WT2015.clocks["panel_notice"], CALENDAR) == date(2027, 1, 1)


# --- Ofsted "immediately": counted in hours from the decision ---------------------------------

def test_the_ofsted_notice_is_due_four_hours_after_the_decision_not_the_next_working_day() -> None:
    clock = WT2015.clocks["ofsted_notice"]
    assert (clock.amount, clock.unit) == (4, ClockUnit.hours)
    # Christmas Eve 10:00: due at 14:00 that day, not after the bank holidays
    assert deadline(at(2026, 12, 24, 10), clock, CALENDAR) == at(2026, 12, 24, 14)


def test_a_clock_in_hours_counts_real_hours_across_the_clock_change() -> None:
    # 25 October 2026: the clocks go back at 02:00 BST; four real hours from 23:30 BST is 02:30 GMT
    decided = datetime(2026, 10, 24, 22, 30, tzinfo=UTC)  # 23:30 BST on Saturday 24 October
    assert deadline(decided, WT2015.clocks["ofsted_notice"], CALENDAR) == datetime(2026, 10, 25, 2, 30, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(
    decided=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
    hours=st.integers(min_value=0, max_value=72),
)
def test_a_clock_in_hours_runs_out_exactly_that_many_hours_after_its_moment(decided: datetime, hours: int) -> None:
    clock = Clock(amount=hours, unit=ClockUnit.hours, starts=ClockStart.decided, label="test")
    due = deadline(decided, clock, CALENDAR)
    assert due - decided == timedelta(hours=hours) and due.tzinfo is not None
    # never later than a clock of as many calendar days would be
    days = Clock(amount=-(-hours // 24), unit=ClockUnit.calendar_days, starts=ClockStart.decided, label="test")
    assert due <= deadline(decided, days, CALENDAR)


def test_a_clock_in_hours_has_no_due_day_and_needs_a_moment() -> None:
    clock = WT2015.clocks["ofsted_notice"]
    with pytest.raises(ValueError, match="counted in hours"):
        due_date(date(2026, 12, 24), clock, CALENDAR)
    with pytest.raises(ValueError, match="needs the moment"):
        deadline(date(2026, 12, 24), clock, CALENDAR)


def test_a_clock_in_hours_cannot_start_at_the_notification_which_is_only_a_date() -> None:
    with pytest.raises(ValueError, match="hours cannot be counted from 'notified'"):
        Clock(amount=4, unit=ClockUnit.hours, starts=ClockStart.notified, label="test")


def test_a_partnership_can_set_the_ofsted_clock_in_hours_or_back_to_days() -> None:
    two_hours = load_ruleset("wt2015", {"ofsted_notice": {"amount": 2}})
    assert deadline(at(2026, 12, 24, 10), two_hours.clocks["ofsted_notice"], CALENDAR) == at(2026, 12, 24, 12)
    next_working_day = load_ruleset("wt2015", {"ofsted_notice": {"amount": 1, "unit": "working_days"}})
    assert due_date(date(2026, 12, 24), next_working_day.clocks["ofsted_notice"], CALENDAR) == date(2026, 12, 29)


# --- CIGINF1: 7 days from issue, or by return -------------------------------------------------

def test_a_request_is_due_7_days_from_issue_when_the_meeting_is_far_enough_away() -> None:
    due = information_return_due(at(2026, 11, 19), at(2026, 12, 8), INFORMATION_RETURN, CALENDAR)

    assert due.by_return is False
    assert due.due_at == end_of(date(2026, 11, 26))


def test_seven_days_are_calendar_days_bank_holidays_included() -> None:
    due = information_return_due(at(2026, 12, 22), at(2027, 1, 12), INFORMATION_RETURN, CALENDAR)

    assert due.due_at == end_of(date(2026, 12, 29))


def test_a_request_is_by_return_when_the_meeting_is_under_7_days_away() -> None:
    due = information_return_due(at(2026, 12, 2), at(2026, 12, 8), INFORMATION_RETURN, CALENDAR)

    assert due.by_return is True
    assert due.due_at == end_of(date(2026, 12, 3))  # the next working day


def test_by_return_skips_christmas_and_the_substitute_boxing_day() -> None:
    # a meeting moved to Wednesday 30 December; requests issued on Christmas Eve
    due = information_return_due(at(2026, 12, 24), at(2026, 12, 30), INFORMATION_RETURN, CALENDAR)

    assert due.by_return is True
    assert due.due_at == end_of(date(2026, 12, 29))


def test_a_meeting_exactly_7_days_away_is_not_by_return_but_the_return_is_due_before_the_meeting() -> None:
    due = information_return_due(at(2026, 12, 1), at(2026, 12, 8), INFORMATION_RETURN, CALENDAR)

    assert due.by_return is False
    assert due.due_at == end_of(date(2026, 12, 7))  # not 8 December, the day of the meeting


def test_a_return_is_never_due_after_the_meeting_even_by_return() -> None:
    # issued the day before the meeting: the next working day would be the meeting day itself
    due = information_return_due(at(2026, 12, 7), at(2026, 12, 8), INFORMATION_RETURN, CALENDAR)

    assert due.by_return is True
    assert due.due_at == end_of(date(2026, 12, 7))


@given(
    issued=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)),
    hours_to_meeting=st.integers(min_value=24, max_value=24 * 60),
)
@settings(max_examples=300, deadline=None)
def test_a_return_is_never_due_after_the_day_before_the_meeting_nor_before_issue(
    issued: datetime, hours_to_meeting: int
) -> None:
    meeting = issued + timedelta(hours=hours_to_meeting)

    due = information_return_due(issued, meeting, INFORMATION_RETURN, CALENDAR)

    due_day = CALENDAR.local_date(due.due_at)
    meeting_day = CALENDAR.local_date(meeting)
    issued_day = CALENDAR.local_date(issued)
    assert issued_day <= due_day
    assert due_day < meeting_day or due_day == issued_day
    assert due.by_return == ((meeting_day - issued_day).days < 7)
    assert due.due_at == end_of(due_day)


# --- working days -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Christmas and New Year 2026/27: Fri 25 Dec, Mon 28 Dec (Boxing Day substitute), Fri 1 Jan
        (date(2026, 12, 24), 1, date(2026, 12, 29)),
        (date(2026, 12, 23), 5, date(2027, 1, 4)),
        (date(2026, 12, 31), 1, date(2027, 1, 4)),
        (date(2026, 12, 14), 15, date(2027, 1, 7)),  # wt2023 rapid review from Mon 14 Dec
        (date(2026, 12, 25), 0, date(2026, 12, 29)),  # 0: the day itself if working, else the next one
        (date(2026, 12, 24), 0, date(2026, 12, 24)),
        # Easter 2027: Good Friday 26 Mar, Easter Monday 29 Mar
        (date(2027, 3, 25), 1, date(2027, 3, 30)),
        (date(2027, 3, 24), 5, date(2027, 4, 2)),
        (date(2027, 3, 26), 1, date(2027, 3, 30)),
        # an ordinary week, for contrast
        (date(2027, 2, 5), 5, date(2027, 2, 12)),
    ],
)
def test_working_days_skip_weekends_and_english_bank_holidays(start: date, days: int, expected: date) -> None:
    assert CALENDAR.add_working_days(start, days) == expected


@pytest.mark.parametrize(
    ("end", "days", "expected"),
    [
        (date(2026, 12, 29), 1, date(2026, 12, 24)),
        (date(2027, 1, 4), 2, date(2026, 12, 30)),
        (date(2027, 3, 30), 1, date(2027, 3, 25)),
    ],
)
def test_counting_working_days_back_skips_the_same_days(end: date, days: int, expected: date) -> None:
    assert CALENDAR.subtract_working_days(end, days) == expected


def test_closure_days_of_the_partnership_are_not_working_days() -> None:
    calendar = WorkingCalendar.of([date(2026, 12, 29), date(2026, 12, 30)])

    assert calendar.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 31)
    assert not calendar.is_working_day(date(2026, 12, 30))


def test_the_wt2023_serious_incident_notice_is_due_5_working_days_from_awareness() -> None:
    clock = WT2023.clocks["serious_incident_notice"]

    assert deadline(date(2026, 12, 23), clock, CALENDAR) == datetime(2027, 1, 4, 23, 59, 59, tzinfo=UTC)


def test_the_wt2023_rapid_review_is_due_15_working_days_from_awareness_across_easter() -> None:
    # from Mon 15 Mar 2027: 16-19 (4), 22-25 (8), 30 Mar-2 Apr (12), 5-7 Apr (15)
    assert due_date(date(2027, 3, 15), WT2023.clocks["decision"], CALENDAR) == date(2027, 4, 7)


closure_days = st.frozensets(st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31)), max_size=20)


@given(
    start=st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 6, 30)),
    days=st.integers(min_value=0, max_value=40),
    closed=closure_days,
)
@settings(max_examples=500, deadline=None)
def test_a_deadline_in_working_days_never_falls_on_a_weekend_a_bank_holiday_or_a_closure_day(
    start: date, days: int, closed: frozenset[date]
) -> None:
    calendar = WorkingCalendar.of(closed)

    due_at = deadline(start, working_days(days), calendar)

    due_day = calendar.local_date(due_at)
    assert due_day.weekday() < 5
    assert due_day not in holidays.country_holidays("GB", subdiv="ENG", years=due_day.year)
    assert due_day not in closed
    assert due_at == end_of(due_day)
    assert due_day >= start
    if days:  # exactly `days` working days counted after the start
        after_start = [start + timedelta(n) for n in range(1, (due_day - start).days + 1)]
        assert sum(calendar.is_working_day(d) for d in after_start) == days
    else:  # the start itself if working, else the first working day after it
        assert not any(calendar.is_working_day(start + timedelta(n)) for n in range((due_day - start).days))


# --- days left ----------------------------------------------------------------------------------

def test_days_left_counts_local_calendar_days_and_goes_negative_when_overdue() -> None:
    due_at = end_of(date(2026, 12, 16))

    assert days_left(due_at, at(2026, 12, 10, 9), CALENDAR) == 6
    assert days_left(due_at, at(2026, 12, 16, 23, 30), CALENDAR) == 0
    assert days_left(due_at, at(2026, 12, 18, 9), CALENDAR) == -2


# --- what a clock in hours owes: no warning counted in days, one escalation once breached ----

@settings(max_examples=200, deadline=None)
@given(
    decided=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
    after_minutes=st.integers(min_value=0, max_value=3 * 24 * 60),
)
def test_a_clock_in_hours_owes_only_the_escalation_and_only_once_it_has_run_out(decided: datetime, after_minutes: int) -> None:
    from casework.reminders import OpenDeadline
    from casework.sweep import reminders_owed
    from config.partnership import load_partnership
    from config.settings import CONFIG_DIR

    partnership = load_partnership(CONFIG_DIR / "partnership.example.yaml")
    due = deadline(decided, WT2015.clocks["ofsted_notice"], CALENDAR)
    item = OpenDeadline(reference="NSCP-2026-0001", kind="ofsted_notice", subject="", round=0,
                        label="Ofsted notice", due_at=due, counted_in_hours=True)
    now = decided + timedelta(minutes=after_minutes)
    owed = reminders_owed([item], now=now, partnership=partnership, calendar=CALENDAR)
    if now > due and CALENDAR.is_working_day(CALENDAR.local_date(now)):  # a breach on a day off: told the next working day
        assert sorted(m.step for m in owed) == ["escalation.ofsted_notice.case.breached"] * 2
        assert {m.to.email for m in owed} == {"business-manager@example.org", "independent-chair@example.org"}
    else:
        assert owed == []
