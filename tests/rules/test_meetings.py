"""The group's meeting calendar: the second-Tuesday rule of the example partnership, with exceptions
and extraordinary meetings; a recommendation only from the meeting's start."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.clocks import LONDON
from casework.meetings.calendar import (
    MeetingNotYetHeld,
    check_meeting_held,
    meeting_for_listing,
    meetings_between,
    next_meetings,
    rule_gives,
)
from config.partnership import MeetingRule, load_partnership
from config.settings import CONFIG_DIR

UTC = timezone.utc
RULE = load_partnership(CONFIG_DIR / "partnership.example.yaml").meetings


def local(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def test_the_example_partnership_meets_on_the_second_tuesday_at_ten_local_time() -> None:
    meetings = next_meetings(RULE, local(2026, 11, 20), count=6)

    assert [m.scheduled_on for m in meetings] == [
        date(2026, 12, 8), date(2027, 1, 12), date(2027, 2, 9), date(2027, 3, 9), date(2027, 4, 13), date(2027, 5, 11),
    ]
    assert all(m.starts_at.astimezone(LONDON).hour == 10 for m in meetings)
    assert meetings[0].starts_at == datetime(2026, 12, 8, 10, 0, tzinfo=UTC)  # GMT
    assert meetings[4].starts_at == datetime(2027, 4, 13, 9, 0, tzinfo=UTC)  # BST
    assert not any(m.moved for m in meetings)


def test_a_meeting_already_started_is_not_next() -> None:
    assert next_meetings(RULE, local(2026, 12, 8, 10, 1), count=1)[0].scheduled_on == date(2027, 1, 12)
    assert next_meetings(RULE, local(2026, 12, 8, 10, 0), count=1)[0].scheduled_on == date(2026, 12, 8)


def test_a_moved_meeting_keeps_its_identity_and_takes_its_new_time() -> None:
    moved_to = local(2026, 12, 15, 14)

    meetings = next_meetings(RULE, local(2026, 11, 20), count=2, exceptions={date(2026, 12, 8): moved_to})

    assert meetings[0].scheduled_on == date(2026, 12, 8)
    assert meetings[0].starts_at == moved_to
    assert meetings[0].moved is True
    assert meetings[1].scheduled_on == date(2027, 1, 12)


def test_a_cancelled_meeting_is_skipped() -> None:
    meetings = next_meetings(RULE, local(2026, 11, 20), count=2, exceptions={date(2026, 12, 8): None})

    assert [m.scheduled_on for m in meetings] == [date(2027, 1, 12), date(2027, 2, 9)]


def test_a_meeting_moved_earlier_into_the_window_is_found() -> None:
    # January's meeting brought forward to 22 December: seen from 9 December, it is next
    meetings = next_meetings(RULE, local(2026, 12, 9), count=2, exceptions={date(2027, 1, 12): local(2026, 12, 22)})

    assert [(m.scheduled_on, m.starts_at) for m in meetings] == [
        (date(2027, 1, 12), local(2026, 12, 22)),
        (date(2027, 2, 9), local(2027, 2, 9)),
    ]


def test_a_meeting_moved_out_of_the_window_is_not_in_it() -> None:
    window = meetings_between(
        RULE, local(2026, 12, 1), local(2026, 12, 31), exceptions={date(2026, 12, 8): local(2027, 1, 5)}
    )

    assert window == []


@pytest.mark.parametrize(
    ("now", "listed_for"),
    [
        (local(2026, 11, 19), date(2026, 12, 8)),
        (local(2026, 12, 5, 9, 59), date(2026, 12, 8)),  # exactly 3 days (listing_lead_days) before
        (local(2026, 12, 5, 10, 1), date(2027, 1, 12)),  # under 3 days: the next meeting
        (local(2026, 12, 8, 12), date(2027, 1, 12)),
    ],
)
def test_a_case_is_listed_for_the_next_meeting_that_leaves_listing_lead_days(now: datetime, listed_for: date) -> None:
    assert RULE.listing_lead_days == 3
    assert meeting_for_listing(RULE, now).scheduled_on == listed_for


def test_listing_honours_a_longer_lead_and_the_exceptions() -> None:
    longer = RULE.model_copy(update={"listing_lead_days": 10})

    assert meeting_for_listing(longer, local(2026, 11, 30)).scheduled_on == date(2027, 1, 12)
    assert meeting_for_listing(RULE, local(2026, 11, 19), {date(2026, 12, 8): None}).scheduled_on == date(2027, 1, 12)


def test_listing_with_no_lead_can_take_a_meeting_later_the_same_day() -> None:
    same_day = RULE.model_copy(update={"listing_lead_days": 0})

    assert meeting_for_listing(same_day, local(2026, 12, 8, 8)).scheduled_on == date(2026, 12, 8)


def test_a_weekly_rule_and_another_start_time_work_too() -> None:
    weekly = MeetingRule(rule="FREQ=WEEKLY;BYDAY=TH", start_time="14:30", timezone="Europe/London")

    meetings = next_meetings(weekly, local(2027, 3, 24), count=3)

    assert [m.starts_at for m in meetings] == [local(2027, 3, 25, 14, 30), local(2027, 4, 1, 14, 30), local(2027, 4, 8, 14, 30)]


def test_a_rule_that_has_ended_gives_no_meeting_to_list_for() -> None:
    ended = MeetingRule(rule="FREQ=MONTHLY;BYDAY=2TU;UNTIL=20260101T000000")

    with pytest.raises(ValueError, match="gives no future meeting"):
        meeting_for_listing(ended, local(2026, 11, 19))


def test_meetings_between_is_half_open_and_sorted() -> None:
    start, end = local(2026, 12, 8), local(2027, 2, 9)

    meetings = meetings_between(RULE, start, end)

    assert [m.scheduled_on for m in meetings] == [date(2026, 12, 8), date(2027, 1, 12)]
    assert meetings == sorted(meetings, key=lambda m: m.starts_at)
    assert all(start <= m.starts_at < end for m in meetings)
    assert end - start > timedelta(days=60)


# --- extraordinary meetings and "consideration happens at a meeting" -------------------------

def test_the_rule_gives_the_second_tuesday_and_no_other_day() -> None:
    assert rule_gives(RULE, date(2026, 12, 8)) and not rule_gives(RULE, date(2026, 12, 1))
    assert not rule_gives(RULE, date(2026, 12, 15))


def test_an_extraordinary_meeting_joins_the_calendar_between_the_rule_meetings() -> None:
    extra = local(2026, 12, 1, 14)  # Tuesday 1 December, 14:00: not a date the rule gives
    meetings = next_meetings(RULE, local(2026, 11, 20), count=3, exceptions={date(2026, 12, 1): extra})

    assert [(m.starts_at, m.extraordinary) for m in meetings] == [
        (extra, True), (local(2026, 12, 8), False), (local(2027, 1, 12), False)]
    # the next-meeting choice for listing takes it when it leaves the lead days for returns
    assert meeting_for_listing(RULE, local(2026, 11, 20), {date(2026, 12, 1): extra}).starts_at == extra
    # ... and not when it is too close
    assert meeting_for_listing(RULE, local(2026, 11, 30), {date(2026, 12, 1): extra}).scheduled_on == date(2026, 12, 8)


def test_an_extraordinary_meeting_added_then_cancelled_is_gone() -> None:
    meetings = next_meetings(RULE, local(2026, 11, 20), count=1, exceptions={date(2026, 12, 1): None})
    assert meetings[0].scheduled_on == date(2026, 12, 8) and not meetings[0].extraordinary


def test_a_recommendation_before_the_meeting_is_refused_naming_the_meeting() -> None:
    with pytest.raises(MeetingNotYetHeld) as refused:
        check_meeting_held("NSCP-2026-0001", local(2026, 12, 8), now=local(2026, 12, 1), zone=LONDON,
                           meeting_term="CIG meeting")
    assert str(refused.value) == ("NSCP-2026-0001 is listed for the CIG meeting on Tue 8 Dec 2026 10:00; "
                                  "its recommendation can be recorded from then")
    assert isinstance(refused.value, ValueError)  # every door refuses it as bad input (exit 1, the form asks again)


@settings(max_examples=300, deadline=None)
@given(minutes=st.integers(min_value=-60 * 24 * 40, max_value=60 * 24 * 40))
def test_a_recommendation_is_accepted_exactly_from_the_meetings_start(minutes: int) -> None:
    meeting_at = local(2026, 12, 8)
    now = meeting_at + timedelta(minutes=minutes)
    if minutes < 0:
        with pytest.raises(MeetingNotYetHeld):
            check_meeting_held("NSCP-2026-0001", meeting_at, now=now, zone=LONDON, meeting_term="CIG meeting")
    else:
        check_meeting_held("NSCP-2026-0001", meeting_at, now=now, zone=LONDON, meeting_term="CIG meeting")
