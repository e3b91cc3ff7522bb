"""Working Together 2023's clocks (issue 19, item 3): the rapid review's own meeting inside its 15 working days,
the agencies' information before it and moving it; the full report to the Panel and the Secretary of State at
least 7 working days before publication; the yearly report's period and its 7 days; the Panel's reply reminder.
Every date is given: nothing here reads the clock."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.clocks import (
    WorkingCalendar,
    check_publication_date,
    earliest_publication_date,
    last_complete_report_period,
    latest_sending_date,
    panel_reply_reminder_due,
    panel_reply_reminder_on,
    report_period_containing,
    yearly_report_send_by,
)
from casework.rapid_review import (
    MoveOutcome,
    check_meeting_move,
    rapid_review_window,
    schedule_rapid_review_meeting,
)
from config.partnership import load_partnership
from config.rulesets import load_ruleset
from config.settings import CONFIG_DIR

LONDON = ZoneInfo("Europe/London")
WT2023 = load_ruleset("wt2023")
CALENDAR = WorkingCalendar.of()
TO_BOTH = "the Child Safeguarding Practice Review Panel and the Secretary of State (Department for Education)"


def at(day: date, hour: int = 15, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON).astimezone(timezone.utc)


def schedule(aware_on: date, now: datetime, calendar: WorkingCalendar = CALENDAR, rules=WT2023):
    return schedule_rapid_review_meeting(aware_on, now=now, rules=rules, start_time=time(10, 0), zone=LONDON,
                                         calendar=calendar)


# --- the rapid review meeting ------------------------------------------------------------------------------

def test_a_rapid_review_over_christmas_2026_meets_on_its_tenth_working_day_at_the_usual_time() -> None:
    # aware Mon 14 Dec 2026: Christmas Day (Fri 25), Boxing Day's substitute (Mon 28) and New Year's Day (Fri 1)
    # are not counted: the 15 working days end on Thu 7 Jan 2027
    meeting = schedule(date(2026, 12, 14), at(date(2026, 12, 15)))

    assert (meeting.window.first_day, meeting.window.deadline_day) == (date(2026, 12, 15), date(2027, 1, 7))
    assert meeting.day == date(2026, 12, 30), "the 10th working day: 15-18, 21-24, 29, 30 December"
    assert meeting.starts_at == datetime(2026, 12, 30, 10, 0, tzinfo=timezone.utc), "10:00 GMT"
    assert (meeting.information_due_on, meeting.by_return) == (date(2026, 12, 23), False), \
        "3 working days before: 29, 24, 23 December (not Christmas or Boxing Day)"
    assert meeting.inside_window


def test_a_rapid_review_over_easter_2027_skips_good_friday_and_easter_monday_and_meets_in_summer_time() -> None:
    meeting = schedule(date(2027, 3, 22), at(date(2027, 3, 22)))

    assert meeting.window.deadline_day == date(2027, 4, 14), "Good Friday 26 March and Easter Monday 29 March skipped"
    assert meeting.day == date(2027, 4, 7)
    assert meeting.starts_at == datetime(2027, 4, 7, 9, 0, tzinfo=timezone.utc), "10:00 British Summer Time"
    assert meeting.information_due_on == date(2027, 4, 2)


def test_the_partnerships_closure_days_between_christmas_and_new_year_are_not_counted() -> None:
    closed = WorkingCalendar.of([date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)])

    meeting = schedule(date(2026, 12, 14), at(date(2026, 12, 14)), calendar=closed)

    assert meeting.window.deadline_day == date(2027, 1, 12)
    assert meeting.day == date(2027, 1, 5), "15-18, 21-24 December, 4 and 5 January: the 10th working day"
    assert closed.is_working_day(meeting.day)


def test_a_case_accepted_late_in_its_window_meets_when_the_agencies_have_their_days_but_by_the_deadline() -> None:
    aware = date(2026, 12, 1)  # deadline Tue 22 Dec 2026
    assert schedule(aware, at(date(2026, 12, 2))).day == date(2026, 12, 15)

    late = schedule(aware, at(date(2026, 12, 14)))
    assert (late.day, late.information_due_on, late.by_return) == (date(2026, 12, 18), date(2026, 12, 15), False)

    very_late = schedule(aware, at(date(2026, 12, 21)))
    assert (very_late.day, very_late.information_due_on, very_late.by_return) == (
        date(2026, 12, 22), date(2026, 12, 21), True)
    assert very_late.inside_window

    too_late = schedule(aware, at(date(2026, 12, 22)))
    assert (too_late.day, too_late.inside_window) == (date(2026, 12, 23), False)


def test_the_partnerships_usual_start_time_and_rule_set_position_are_data(tmp_path: Path) -> None:
    partnership = load_partnership(CONFIG_DIR / "partnership.wt2023.example.yaml")
    rules = partnership.rules()
    halfway = rules.model_copy(update={"rapid_review": rules.rapid_review.model_copy(update={"position": 0.5})})

    meeting = schedule_rapid_review_meeting(date(2026, 12, 1), now=at(date(2026, 12, 1)), rules=halfway,
                                            start_time=time(14, 30), zone=partnership.meetings.zone, calendar=CALENDAR)

    assert meeting.day == date(2026, 12, 11), "the 8th of 15 working days (round(7.5) is 8): 2-4, 7-11 December"
    assert meeting.starts_at == datetime(2026, 12, 11, 14, 30, tzinfo=timezone.utc)


def test_wt2015_has_no_rapid_review_meeting_of_its_own() -> None:
    with pytest.raises(ValueError, match="rule set 'wt2015' has no rapid review meeting of its own"):
        schedule(date(2026, 12, 1), at(date(2026, 12, 1)), rules=load_ruleset("wt2015"))


@settings(max_examples=400, deadline=None)
@given(aware_on=st.dates(date(2026, 1, 1), date(2028, 12, 31)), later=st.integers(0, 30),
       hour=st.integers(0, 23), closed=st.lists(st.dates(date(2026, 1, 1), date(2029, 2, 28)), max_size=8))
def test_the_scheduled_meeting_is_always_a_working_day_inside_the_window(
        aware_on: date, later: int, hour: int, closed: list[date]) -> None:
    calendar = WorkingCalendar.of(closed)
    window = rapid_review_window(aware_on, WT2023, calendar)
    now = at(aware_on + timedelta(days=later), hour)
    today = calendar.local_date(now)

    meeting = schedule(aware_on, now, calendar=calendar)

    assert calendar.is_working_day(meeting.day)
    assert meeting.day > today, "never the day it is scheduled"
    assert meeting.information_due_on < meeting.day and meeting.information_due_on >= today
    if today < window.deadline_day:  # scheduled before its last day, it is always inside the window
        assert window.holds(meeting.day, calendar) and meeting.inside_window
    else:
        assert meeting.day == calendar.add_working_days(today, 1) and not meeting.inside_window
    if not meeting.by_return:
        assert calendar.working_days_between(meeting.information_due_on, meeting.day) == 3


# --- moving it -----------------------------------------------------------------------------------------------

AWARE = date(2026, 12, 14)  # deadline Thu 7 Jan 2027
NOW = at(date(2026, 12, 16))


def test_moving_the_meeting_inside_the_window_is_accepted_with_its_new_information_day() -> None:
    move = check_meeting_move(at(date(2027, 1, 5), 14), aware_on=AWARE, reason=None, now=NOW, rules=WT2023,
                              calendar=CALENDAR)

    assert (move.outcome, move.refusal, move.escalate_to) == (MoveOutcome.moved, None, ())
    assert move.information_due_on == date(2026, 12, 30)


@pytest.mark.parametrize(("to", "reason", "refusal"), [
    (at(date(2026, 12, 28), 10), "the chair is away",
     "at: Monday 28 December 2026 is not a working day (a weekend, bank holiday or closure day); choose a working "
     "day for the rapid review meeting"),
    (at(date(2026, 12, 16), 9), None, "at: Wednesday 16 December 2026 at 09:00 has passed"),
    (at(date(2027, 1, 8), 10), None,
     "reason: Friday 8 January 2027 is after the rapid review's deadline, Thursday 7 January 2027; moving the rapid "
     "review meeting past it needs the reason"),
    (at(date(2027, 1, 8), 10), "   ", "reason: Friday 8 January 2027 is after the rapid review's deadline"),
])
def test_a_move_to_a_day_off_the_past_or_past_the_deadline_without_a_reason_is_refused(
        to: datetime, reason: str | None, refusal: str) -> None:
    move = check_meeting_move(to, aware_on=AWARE, reason=reason, now=NOW, rules=WT2023, calendar=CALENDAR)

    assert move.outcome is MoveOutcome.refused
    assert move.refusal is not None and move.refusal.startswith(refusal)


def test_a_move_past_the_deadline_with_a_reason_is_escalated_to_the_partners_and_the_scrutineer() -> None:
    move = check_meeting_move(at(date(2027, 1, 11), 10), aware_on=AWARE, reason=" Police disclosure awaited ",
                              now=NOW, rules=WT2023, calendar=CALENDAR)

    assert move.outcome is MoveOutcome.escalated
    assert (move.reason, move.escalate_to) == ("Police disclosure awaited", ("safeguarding_partners", "independent_scrutineer"))
    assert move.information_due_on == date(2027, 1, 6)


# --- the full report before publication ----------------------------------------------------------------------

CLOCK = WT2023.clocks["pre_publication_notice"]


def test_seven_working_days_before_a_publication_date_after_the_august_bank_holiday() -> None:
    # publication Tue 1 Sep 2026, after the summer bank holiday Mon 31 Aug: back 28, 27, 26, 25, 24, 21, 20 August
    assert latest_sending_date(date(2026, 9, 1), CLOCK, CALENDAR) == date(2026, 8, 20)
    # counted back, the Saturday, the bank holiday and the Tuesday after them all have Thursday 20 August as the
    # 7th working day before: sent then, the earliest allowed publication date is the Saturday
    assert latest_sending_date(date(2026, 8, 29), CLOCK, CALENDAR) == date(2026, 8, 20)
    assert latest_sending_date(date(2026, 8, 28), CLOCK, CALENDAR) == date(2026, 8, 19)
    assert earliest_publication_date(date(2026, 8, 20), CLOCK, CALENDAR) == date(2026, 8, 29)
    # sent a day later, the bank holiday counts no more: the first allowed date is Wednesday 2 September
    assert earliest_publication_date(date(2026, 8, 21), CLOCK, CALENDAR) == date(2026, 9, 2)


def test_seven_working_days_before_a_publication_date_after_easter_2027() -> None:
    assert latest_sending_date(date(2027, 3, 30), CLOCK, CALENDAR) == date(2027, 3, 17)


def test_a_publication_date_inside_the_seven_working_days_is_refused_naming_the_earliest_allowed_date() -> None:
    check = check_publication_date(date(2026, 8, 31), sent_on=date(2026, 8, 21), now=at(date(2026, 8, 24)),
                                   clock=CLOCK, calendar=CALENDAR, sent_to=TO_BOTH)

    assert not check.allowed and check.earliest == date(2026, 9, 2)
    assert check.refusal == (
        "Monday 31 August 2026 is less than 7 working days after the full report was sent to the Child Safeguarding "
        "Practice Review Panel and the Secretary of State (Department for Education) on Friday 21 August 2026: the "
        "earliest allowed publication date is Wednesday 2 September 2026.")
    allowed = check_publication_date(date(2026, 9, 2), sent_on=date(2026, 8, 21), now=at(date(2026, 8, 24)),
                                     clock=CLOCK, calendar=CALENDAR, sent_to=TO_BOTH)
    assert allowed.allowed and allowed.refusal is None


def test_publication_before_the_report_is_sent_is_refused_naming_the_earliest_date_if_sent_today() -> None:
    check = check_publication_date(date(2026, 12, 24), sent_on=None, now=at(date(2026, 12, 19)),  # a Saturday
                                   clock=CLOCK, calendar=CALENDAR, sent_to=TO_BOTH)

    # counted from Monday 21: 22, 23, 24, 29, 30, 31 December are the 6 working days after it, so the next day
    assert check.earliest == date(2027, 1, 1)
    assert check.refusal is not None and "The full report has not been sent to the Child Safeguarding" in check.refusal
    assert check.refusal.endswith("Sent today, the earliest allowed publication date is Friday 1 January 2027.")


@settings(max_examples=400, deadline=None)
@given(sent_on=st.dates(date(2026, 1, 1), date(2028, 12, 31)), publication_on=st.dates(date(2026, 1, 1), date(2029, 3, 1)),
       closed=st.lists(st.dates(date(2026, 1, 1), date(2029, 3, 1)), max_size=6))
def test_a_publication_date_is_allowed_exactly_when_the_report_went_by_its_latest_sending_date(
        sent_on: date, publication_on: date, closed: list[date]) -> None:
    calendar = WorkingCalendar.of(closed)
    check = check_publication_date(publication_on, sent_on=sent_on, now=at(sent_on), clock=CLOCK, calendar=calendar,
                                   sent_to=TO_BOTH)

    assert check.allowed == (sent_on <= latest_sending_date(publication_on, CLOCK, calendar))
    assert sent_on <= latest_sending_date(check.earliest, CLOCK, calendar), "the earliest date named is allowed"
    assert sent_on > latest_sending_date(check.earliest - timedelta(days=1), CLOCK, calendar), "and no day before it"


# --- the yearly report and the Panel's reply ----------------------------------------------------------------

def test_the_yearly_report_runs_april_to_march_by_default_and_the_partnership_may_choose_another_month() -> None:
    assert load_partnership(CONFIG_DIR / "partnership.wt2023.example.yaml").yearly_report_start_month() == 4
    assert WT2023.yearly_report is not None and WT2023.yearly_report.recipients == ["national_panel", "secretary_of_state"]

    period = report_period_containing(date(2027, 2, 10), 4)
    assert (period.first_day, period.last_day, period.title) == (
        date(2026, 4, 1), date(2027, 3, 31), "April 2026 to March 2027")
    assert last_complete_report_period(date(2027, 4, 1), 4) == period
    assert last_complete_report_period(date(2027, 3, 31), 4).last_day == date(2026, 3, 31)
    september = report_period_containing(date(2027, 2, 10), 9)
    assert (september.first_day, september.last_day) == (date(2026, 9, 1), date(2027, 8, 31))
    january = report_period_containing(date(2027, 2, 10), 1)
    assert (january.first_day, january.last_day) == (date(2027, 1, 1), date(2027, 12, 31))


def test_the_published_yearly_report_is_sent_within_seven_days() -> None:
    clock = WT2023.clocks[WT2023.yearly_report.sent_clock]

    assert yearly_report_send_by(date(2027, 7, 30), clock, CALENDAR) == at(date(2027, 8, 6), 23, 59) + timedelta(seconds=59)


def test_the_panels_missing_reply_is_reminded_after_ten_working_days_and_not_once_recorded() -> None:
    clock = WT2023.clocks["panel_reply"]
    sent = date(2026, 12, 17)  # 18, 21-24, 29-31 December, 4, 5 January: the 10th working day

    assert panel_reply_reminder_on(sent, clock, CALENDAR) == date(2027, 1, 5)
    assert not panel_reply_reminder_due(sent, replied=False, now=at(date(2027, 1, 4)), clock=clock, calendar=CALENDAR)
    assert panel_reply_reminder_due(sent, replied=False, now=at(date(2027, 1, 5)), clock=clock, calendar=CALENDAR)
    assert not panel_reply_reminder_due(sent, replied=True, now=at(date(2027, 1, 5)), clock=clock, calendar=CALENDAR)
    assert not panel_reply_reminder_due(sent, replied=False, now=at(date(2027, 1, 9)), clock=clock, calendar=CALENDAR), \
        "not on a Saturday"


def test_the_panels_reply_reminder_is_configurable_in_the_partnership_file(tmp_path: Path) -> None:
    example = CONFIG_DIR / "partnership.wt2023.example.yaml"
    path = tmp_path / "partnership.yaml"
    path.write_text(example.read_text(encoding="utf-8").replace(
        "clock_overrides: {}", "clock_overrides: {panel_reply: {amount: 15}}"), encoding="utf-8")

    clock = load_partnership(path).rules().clocks["panel_reply"]

    assert clock.amount == 15 and load_partnership(example).rules().clocks["panel_reply"].amount == 10
    assert panel_reply_reminder_on(date(2026, 12, 17), clock, CALENDAR) == date(2027, 1, 12)
