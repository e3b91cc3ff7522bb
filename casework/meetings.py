"""The group's meeting calendar: a recurrence rule plus recorded exceptions (moved or cancelled)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from dateutil.rrule import rrulestr

from config.partnership import MeetingRule


@dataclass(frozen=True)
class Meeting:
    """One meeting: when it starts (UTC) and the date the rule gave it (its identity)."""

    scheduled_on: date
    starts_at: datetime
    moved: bool = False


def meetings_between(
    rule: MeetingRule,
    start: datetime,
    end: datetime,
    exceptions: Mapping[date, datetime | None] | None = None,
) -> list[Meeting]:
    """Meetings starting in [start, end), after applying exceptions (None: cancelled; a datetime: moved)."""
    exceptions = exceptions or {}
    zone = rule.zone
    local_start = start.astimezone(zone) - timedelta(days=62)  # a moved meeting may move forward
    dtstart = datetime.combine(local_start.date().replace(day=1), rule.start_time)
    recurrence = rrulestr(rule.rule, dtstart=dtstart)
    meetings = []
    for naive in recurrence.between(dtstart, end.astimezone(zone).replace(tzinfo=None) + timedelta(days=62), inc=True):
        scheduled_on = naive.date()
        if scheduled_on in exceptions:
            moved_to = exceptions[scheduled_on]
            if moved_to is None:
                continue
            meeting = Meeting(scheduled_on, moved_to.astimezone(timezone.utc), moved=True)
        else:
            meeting = Meeting(scheduled_on, naive.replace(tzinfo=zone).astimezone(timezone.utc))
        if start <= meeting.starts_at < end:
            meetings.append(meeting)
    return sorted(meetings, key=lambda m: m.starts_at)


def next_meetings(
    rule: MeetingRule, now: datetime, count: int = 3, exceptions: Mapping[date, datetime | None] | None = None
) -> list[Meeting]:
    """The next `count` meetings after `now`."""
    found: list[Meeting] = []
    horizon = 120
    while len(found) < count and horizon < 3000:
        found = meetings_between(rule, now, now + timedelta(days=horizon), exceptions)
        horizon *= 2
    return found[:count]


def meeting_for_listing(
    rule: MeetingRule, now: datetime, exceptions: Mapping[date, datetime | None] | None = None
) -> Meeting:
    """The next meeting that leaves at least `listing_lead_days` for returns."""
    earliest = now + timedelta(days=rule.listing_lead_days)
    meetings = next_meetings(rule, earliest, 1, exceptions)
    if not meetings:
        raise ValueError("the meeting rule gives no future meeting")
    return meetings[0]
