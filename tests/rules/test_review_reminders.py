"""The review's reminders as pure rules: what a milestone's deadline and the Panel notice owe at a given
moment, whatever the sweep's timing; and what may follow a decision not to publish."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casework.clocks import WorkingCalendar
from casework.reminders import OpenDeadline
from casework.sweep import reminders_owed
from casework.review.rules import ReviewStage, check_non_publication, check_review_move
from config.partnership import Contact, Partnership, load_partnership
from config.settings import CONFIG_DIR

PARTNERSHIP = load_partnership(CONFIG_DIR / "partnership.example.yaml")
CALENDAR = WorkingCalendar.of()
MANAGER, INDEPENDENT = "business-manager@example.org", "independent-chair@example.org"
REVIEWER = Contact(name="Rowan Reviewer", email="rowan.reviewer@example.org")
TARGET = date(2027, 1, 22)


def milestone(**changes: object) -> OpenDeadline:
    data = dict(reference="NSCP-2026-0001", kind="review_milestone", subject="planning_meeting", round=0,
                label="Review milestone: Review group planning meeting", due_at=CALENDAR.end_of_day(TARGET),
                lead_reviewers=(REVIEWER,))
    return OpenDeadline(**(data | changes))  # type: ignore[arg-type]


def owed(item: OpenDeadline, now: datetime, partnership: Partnership = PARTNERSHIP) -> list[tuple[str, str]]:
    return sorted((m.to.email, m.key.split(":")[1]) for m in
                  reminders_owed([item], now=now, partnership=partnership, calendar=CALENDAR))


@given(st.datetimes(min_value=datetime(2026, 12, 1), max_value=datetime(2027, 3, 1), timezones=st.just(timezone.utc)))
def test_a_milestone_owes_a_reminder_from_a_week_before_and_a_missed_notice_after_to_both(now: datetime) -> None:
    got = owed(milestone(), now)
    if not CALENDAR.is_working_day(CALENDAR.local_date(now)):
        assert got == []  # nothing on a day no one works
    elif now > CALENDAR.end_of_day(TARGET):
        assert got == [(MANAGER, "chase.review_milestone.planning_meeting.missed"),
                       (REVIEWER.email, "chase.review_milestone.planning_meeting.missed")]
    elif CALENDAR.local_date(now) >= TARGET - timedelta(days=7):
        assert got == [(MANAGER, "warning.review_milestone.planning_meeting.7d"),
                       (REVIEWER.email, "warning.review_milestone.planning_meeting.7d")]
    else:
        assert got == []


@given(st.integers(min_value=1, max_value=60),
       st.datetimes(min_value=datetime(2026, 11, 1), max_value=datetime(2027, 2, 1), timezones=st.just(timezone.utc)))
def test_a_milestone_is_warned_of_as_many_days_before_as_the_partnership_file_says(days: int, now: datetime) -> None:
    partnership = PARTNERSHIP.model_copy(update={"reminders": PARTNERSHIP.reminders.model_copy(
        update={"milestone_warning_days": days})})
    got = owed(milestone(lead_reviewers=()), now, partnership)
    if not CALENDAR.is_working_day(CALENDAR.local_date(now)):
        assert got == []  # nothing on a day no one works
    elif now > CALENDAR.end_of_day(TARGET):
        assert got == [(MANAGER, "chase.review_milestone.planning_meeting.missed")]
    elif CALENDAR.local_date(now) >= CALENDAR.working_day_on_or_before(TARGET - timedelta(days=days)):
        assert got == [(MANAGER, f"warning.review_milestone.planning_meeting.{days}d")]
    else:
        assert got == []


def test_the_sweep_looks_far_enough_ahead_to_see_the_milestone_warning_day() -> None:
    from casework.sweep import horizon

    for days in (1, 7, 30, 60):
        partnership = PARTNERSHIP.model_copy(update={"reminders": PARTNERSHIP.reminders.model_copy(
            update={"milestone_warning_days": days})})
        assert horizon(partnership) > timedelta(days=days)


def test_a_milestone_done_or_of_a_closed_case_owes_nothing_and_without_a_reviewer_only_the_manager() -> None:
    late = datetime.combine(TARGET + timedelta(days=3), time(9), tzinfo=timezone.utc)
    assert owed(milestone(met_at=late), late) == []
    assert owed(milestone(case_open=False), late) == []
    assert owed(milestone(lead_reviewers=()), late) == [(MANAGER, "chase.review_milestone.planning_meeting.missed")]


def test_the_panel_notice_is_warned_to_the_business_manager_and_the_independent_chair() -> None:
    due = CALENDAR.end_of_day(date(2026, 12, 24))
    item = OpenDeadline(reference="NSCP-2026-0001", kind="panel_notice", subject="", round=0,
                        label="National Panel notice (14 days from the decision)", due_at=due)
    assert owed(item, datetime(2026, 12, 22, 9, tzinfo=timezone.utc)) == [
        (MANAGER, "warning.panel_notice.case.2d"), (INDEPENDENT, "warning.panel_notice.case.2d")]
    assert owed(item, datetime(2026, 12, 25, 0, tzinfo=timezone.utc)) == []  # Christmas Day, the weekend and the
    assert owed(item, datetime(2026, 12, 28, 9, tzinfo=timezone.utc)) == []  # substitute Boxing Day: no one works
    assert owed(item, datetime(2026, 12, 29, 0, tzinfo=timezone.utc)) == [
        (MANAGER, "escalation.panel_notice.case.breached"), (INDEPENDENT, "escalation.panel_notice.case.breached")]


def test_a_review_not_published_closes_and_is_never_published_after() -> None:
    assert check_review_move(ReviewStage.awaiting_publication, ReviewStage.not_published) is ReviewStage.not_published
    assert check_review_move(ReviewStage.not_published, ReviewStage.closed) is ReviewStage.closed
    with pytest.raises(ValueError, match="not published to published"):
        check_review_move(ReviewStage.not_published, ReviewStage.published)
    with pytest.raises(ValueError, match="^decided_on: the partnership board has not ratified"):
        check_non_publication(ReviewStage.ratifying, board_ratified=False)
    with pytest.raises(ValueError, match="^decided_on: the review is published"):
        check_non_publication(ReviewStage.published, board_ratified=True)
    check_non_publication(ReviewStage.awaiting_publication, board_ratified=True)
