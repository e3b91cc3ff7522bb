"""The group's meeting calendar: a recurrence rule plus recorded exceptions (moved or cancelled),
and extraordinary meetings the administrator adds ("a further date to meet set", seed 000).

An exception is keyed by a date. On a date the rule gives, it moves (a datetime) or cancels (None)
that meeting; on any other date, a datetime is an extraordinary meeting held then (None: one that
was added and then cancelled). The group considers a case at its meeting, so its recommendation is
refused before the meeting the case is listed for (`check_meeting_held`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo

from dateutil.rrule import rrulestr

from config.partnership import MeetingRule


@dataclass(frozen=True)
class Meeting:
    """One meeting: when it starts (UTC) and the date the rule gave it (its identity)."""

    scheduled_on: date
    starts_at: datetime
    moved: bool = False
    extraordinary: bool = False  # added by the administrator on a date the rule does not give


class MeetingNotYetHeld(ValueError):
    """A recommendation arrived before the meeting its case is listed for."""


def rule_gives(rule: MeetingRule, day: date) -> bool:
    """Whether the recurrence rule itself gives a meeting on `day` (exceptions aside)."""
    dtstart = datetime.combine(day.replace(day=1) - timedelta(days=62), rule.start_time)
    recurrence = rrulestr(rule.rule, dtstart=dtstart)
    return bool(recurrence.between(datetime.combine(day, datetime.min.time()),
                                   datetime.combine(day, datetime.max.time()), inc=True))


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
    for day, held_at in exceptions.items():
        if held_at is not None and start <= held_at < end and not rule_gives(rule, day):
            meetings.append(Meeting(day, held_at.astimezone(timezone.utc), extraordinary=True))
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


def check_meeting_held(
    reference: str, meeting_at: datetime | None, *, now: datetime, zone: tzinfo, meeting_term: str
) -> None:
    """Refuse, naming the meeting, a recommendation for a case whose meeting has not yet begun: the
    group considers a case at its meeting (PROCESS.md step 6), so it can be recorded from then."""
    if meeting_at is not None and now < meeting_at:
        raise MeetingNotYetHeld(
            f"{reference} is listed for the {meeting_term} on {meeting_at.astimezone(zone):%a %-d %b %Y %H:%M}; "
            "its recommendation can be recorded from then"
        )
