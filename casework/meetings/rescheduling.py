"""Changes to the meeting calendar: a meeting moved, cancelled or added, in one transaction each.

The change is recorded as a MeetingException on the date the rule gave the meeting. The open
cases listed for it are re-listed (a moved meeting keeps its cases; a cancelled one's go to the
next meeting), their outstanding returns get new due dates (never after the meeting), and every
member agency, the CIG chair, the business manager, the administrator and the independent chair
are told, each with an iCalendar update (the invitation's UID, a higher SEQUENCE) so calendar
programs move or cancel the entry. Each effective change is audited; the count of those audit
events is the meeting's SEQUENCE. Safe to run twice: the same change again is no new change, so it
writes the same keyed messages and the outbox keeps the first. A case's own rapid review meeting (wt2023) is
never cancelled into a breach: when its case would go to a meeting past the rapid review's deadline, the
cancellation is refused and the meeting is moved instead. Nothing here imports Prefect.

An extraordinary meeting ("a further date to meet set", seed 000) is recorded the same way, on its
own date (one the rule does not give), and audited. Cases the administrator names are re-listed
for it when they still await a meeting and are listed for a later one, their outstanding returns
re-dated by the CIGINF1 rules a moved meeting follows. It can then be moved or cancelled like any
other meeting. Adding it tells no one by email (no template yet): `prepare-meeting` sends its
agenda and invitation as for any meeting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.referral.actions import queue
from casework.meetings.agenda import change_invitation, meeting_members
from casework.clocks import ReturnDue, WorkingCalendar, information_return_due
from casework.forms import MeetingChangeForm
from casework.meetings.calendar import Meeting, check_meeting_held, meetings_between, next_meetings, rule_gives
from casework.referral.messages import Message, role_contacts
from casework.model import ReturnStatus, Stage
from casework.office import Office
from casework.rapid_review import (
    MeetingMove,
    MoveOutcome,
    RapidReviewMeeting,
    check_meeting_move,
    information_due,
    rapid_review_window,
    schedule_rapid_review_meeting,
)
from casework.store import cases as store
from casework.store.tables import AuditEvent, Case, MeetingException
from config.loading import describe_errors
from config.partnership import Contact, MeetingRule, Partnership
from config.rulesets import RuleSet


CHANGE_ACTIONS = ("meeting moved", "meeting cancelled")
ADDED_ACTION = "meeting added"


class NoSuchMeeting(ValueError):
    """No meeting (as the calendar stands) on the date given."""


@dataclass(frozen=True)
class ListedMeeting:
    """A coming meeting and the open cases listed for it."""

    meeting: Meeting
    references: list[str]


@dataclass(frozen=True)
class MeetingChange:
    """What a move or cancellation did: the meeting, where its cases went, and the notices queued."""

    scheduled_on: date
    was_at: datetime
    now_at: datetime | None  # None: cancelled
    relisted: list[str]
    relisted_to: Meeting | None
    queued: int


def exceptions_in(session: Session) -> dict[date, datetime | None]:
    """The recorded exceptions: the rule's date, and where the meeting went (None: cancelled)."""
    return {e.scheduled_on: e.moved_to for e in session.scalars(select(MeetingException))}


def change_sequence(session: Session, scheduled_on: date) -> int:
    """How many times the meeting the rule gave on `scheduled_on` has been moved or cancelled: the
    SEQUENCE of its iCalendar entry (0 for the first invitation)."""
    details = session.scalars(
        select(AuditEvent.detail).where(AuditEvent.case_reference.is_(None), AuditEvent.action.in_(CHANGE_ACTIONS))
    )
    return sum(1 for detail in details if (detail or {}).get("scheduled_on") == scheduled_on.isoformat())


def find_meeting(rule: MeetingRule, on: date, exceptions: Mapping[date, datetime | None]) -> Meeting:
    """The meeting the rule gave on `on`, or the one now held on `on` after a move."""
    around = datetime.combine(on, rule.start_time, tzinfo=rule.zone)
    for meeting in meetings_between(rule, around - timedelta(days=75), around + timedelta(days=75), exceptions):
        if meeting.scheduled_on == on or meeting.starts_at.astimezone(rule.zone).date() == on:
            return meeting
    raise NoSuchMeeting(f"on: there is no meeting on {on:%A %-d %B %Y} in the calendar")


def _awaiting_meeting(case: Case) -> bool:
    return case.stage == Stage.awaiting_returns or (case.stage == Stage.awaiting_recommendation and not case.recommendation)


def _at_own_meeting(case: Case, rules: RuleSet) -> bool:
    """Whether the case is listed for its own rapid review meeting: every round under a rule set with one (a
    further-information round is re-listed inside the window too, `late_further_round`)."""
    return rules.rapid_review is not None and (case.round or 0) >= 1


def late_moves(cases: Sequence[Case], office: Office, moved_to: datetime, *, reason: str,
               now: datetime) -> list[tuple[Case, MeetingMove]]:
    """Check moving the rapid review meeting of each case listed for it (`casework.rapid_review.check_meeting_move`):
    a refusal (a day no one works, before the rapid review began, past its deadline with no reason) is raised,
    naming the field; the moves past a deadline, with their reason, are returned to be escalated."""
    late = []
    for case in cases:
        rules = office.rules(case.regime)
        if not _at_own_meeting(case, rules):
            continue
        move = check_meeting_move(moved_to, aware_on=case.notified_on, reason=reason, now=now, rules=rules,
                                  calendar=office.calendar)
        if move.outcome is MoveOutcome.refused:
            raise ValueError(f"{move.refusal} ({case.reference})")
        if move.outcome is MoveOutcome.escalated:
            late.append((case, move))
    return late


def refuse_late_cancellation(cases: Sequence[Case], office: Office, meeting: Meeting, target: Meeting | None) -> None:
    """Refuse (ValueError naming the field `on`) cancelling a rapid review meeting when a case listed for it would
    go to a meeting after its rapid review's deadline, or to none: a cancellation gives no new date and no reason
    for the delay, so it would breach the deadline unseen. The administrator moves the meeting instead: inside the
    window, or past it with the reason, which is escalated once (`late_moves`)."""
    for case in cases:
        rules = office.rules(case.regime)
        if not _at_own_meeting(case, rules):
            continue
        deadline_day = rapid_review_window(case.notified_on, rules, office.calendar).deadline_day
        if target is not None and office.calendar.local_date(target.starts_at) <= deadline_day:
            continue
        held = (f"go to the next meeting, {target.starts_at.astimezone(office.calendar.zone):%A %-d %B %Y}, after "
                if target is not None else "have no later meeting before ")
        raise ValueError(
            f"on: the meeting on {meeting.starts_at.astimezone(office.calendar.zone):%A %-d %B %Y} is the "
            f"{rules.term('meeting')} of {case.reference}; cancelled, the case would {held}the "
            f"{rules.term('consideration')}'s deadline, {deadline_day:%A %-d %B %Y}. Move the meeting instead: to a "
            "day up to the deadline, or past it with the reason, which is recorded and escalated")


def late_move_notices(office: Office, case: Case, move: MeetingMove, *, was_at: datetime) -> list[Message]:
    """The escalation of a rapid review meeting moved past the rapid review's deadline: to the rule set's
    `rapid_review.late_meeting_told`, with the recorded reason; once per case and new time."""
    rules = office.rules(case.regime)
    deadline_day = rapid_review_window(case.notified_on, rules, office.calendar).deadline_day
    context = {"partnership": office.partnership.name, "reference": case.reference, "terms": rules.terms,
               "was_at": was_at, "now_at": move.starts_at, "deadline": deadline_day, "reason": move.reason,
               "location": office.partnership.meetings.location}
    return [Message(case.reference, f"rapid-review-meeting-late.{move.starts_at:%Y%m%dT%H%M%z}", "rapid_review_meeting_late",
                    person, case.round, context | {"role": role})
            for person, role in role_contacts(office.partnership, rules, list(move.escalate_to))]


def late_further_round(session: Session, office: Office, case: Case, meeting: Meeting, *, was_at: datetime | None,
                       now: datetime, actor: str = "system") -> list[Message]:
    """A further-information round listed for a rapid review meeting after the rapid review's deadline (no working
    day was left in the window, `hold_rapid_review_meeting`): audited and escalated as a move past the deadline is,
    to the rule set's `rapid_review.late_meeting_told`, with the reason; none when the meeting is inside the window.
    Once: the listing runs once per round, and the outbox keeps the first notice."""
    rules = office.rules(case.regime)
    calendar = office.calendar
    deadline_day = rapid_review_window(case.notified_on, rules, calendar).deadline_day
    if rules.rapid_review is None or calendar.local_date(meeting.starts_at) <= deadline_day:
        return []
    held = f" on {was_at.astimezone(calendar.zone):%A %-d %B %Y}" if was_at else ""
    reason = (f"further information was asked for at the {rules.term('meeting')}{held}, and no working day is left "
              f"before the deadline to meet again")
    move = MeetingMove(MoveOutcome.escalated, meeting.starts_at, reason=reason,
                       escalate_to=tuple(rules.rapid_review.late_meeting_told))
    store.audit(session, reference=case.reference, actor=actor, action="rapid review meeting moved past the deadline",
                now=now, moved_to=meeting.starts_at.isoformat(), reason=reason, escalated_to=list(move.escalate_to))
    return late_move_notices(office, case, move, was_at=was_at or meeting.starts_at)


def relist(session: Session, *, case: Case, meeting: Meeting, rules: RuleSet, calendar: WorkingCalendar,
           now: datetime, actor: str) -> None:
    """List the case for `meeting` (same round) and move its outstanding returns' due dates with it.

    The form the case's run shows for its wait (the meeting, the dates due) is then stale: the wait takes
    a fresh key (`wait_seq`), so the run, once woken (flows.people.refresh_waiting_forms), suspends again
    with the form as the case is now."""
    case.meeting_on = meeting.scheduled_on
    case.meeting_at = meeting.starts_at
    case.updated_at = now
    case.wait_seq = (case.wait_seq or 0) + 1
    clock = rules.clocks["information_return"]
    for request in store.round_requests(case):
        if request.status != ReturnStatus.outstanding:
            continue
        if _at_own_meeting(case, rules):  # the rule set's working days before the rapid review meeting
            due_on, by_return = information_due(calendar.local_date(meeting.starts_at), today=calendar.local_date(now),
                                                 schedule=rules.rapid_review, calendar=calendar)
            due = ReturnDue(calendar.end_of_day(due_on), by_return)
        else:
            due = information_return_due(request.issued_at, meeting.starts_at, clock, calendar)
            told_now = information_return_due(now, meeting.starts_at, clock, calendar)
            if told_now.by_return and told_now.due_at > due.due_at:  # never due before the agency could know
                due = told_now
        request.due_at = due.due_at
        request.by_return = due.by_return
        for item in case.deadlines:
            if item.kind == "information_return" and item.subject == request.agency and item.round == request.round \
                    and item.met_at is None:
                item.due_at = due.due_at
    store.audit(session, reference=case.reference, actor=actor, action="re-listed", now=now,
                meeting=meeting.starts_at.isoformat(), round=case.round)


def change_recipients(partnership: Partnership) -> list[tuple[str | None, Contact]]:
    """Who is told of a move, cancellation or addition: those the rule set's `meeting_change` step names
    (`agenda.meeting_members`; wt2015: the members and the independent chair; wt2023: the members), each
    agency's contact with its code; each address once."""
    codes = {a.contact.email: a.code for a in partnership.agencies}
    return [(codes.get(person.email), person) for person in meeting_members(partnership, "meeting_change")]


def change_notices(
    partnership: Partnership, *, scheduled_on: date, was_at: datetime, now_at: datetime | None,
    relisted_to: Meeting | None, references: Sequence[str], stamp: datetime, sequence: int,
    returns_due: Mapping[str, Sequence[tuple[str, datetime]]] | None = None,
    links: Mapping[tuple[str, str], str] | None = None,
) -> list[Message]:
    """One notice to each recipient (`change_recipients`): the meeting moved or cancelled, where the
    cases go, an agency's new due dates, and the updated calendar entry as an .ics attachment.

    The key holds the change's `sequence`, so moving a meeting back to a time it had before is told
    again, while the same change run twice is not."""
    what = f"moved.{now_at:%Y%m%dT%H%M%z}" if now_at else "cancelled"
    recipients = change_recipients(partnership)
    ics = change_invitation(
        partnership, scheduled_on=scheduled_on, starts_at=now_at or was_at, references=references,
        attendees=[person for _, person in recipients], stamp=stamp, sequence=sequence, cancelled=now_at is None,
    )
    day = (now_at or was_at).astimezone(partnership.meetings.zone)
    attachment = {"filename": f"meeting-{day:%Y-%m-%d}{'' if now_at else '-cancelled'}.ics",
                  "content_type": "text/calendar", "content": ics}
    context = {
        "partnership": partnership.name,
        "reference": "",
        "was_at": was_at,
        "now_at": now_at,
        "relisted_at": relisted_to.starts_at if relisted_to else None,
        "references": list(references),
        "location": partnership.meetings.location,
    }
    returns_due = returns_due or {}
    return [
        Message(None, f"meeting-{what}.{scheduled_on.isoformat()}.{sequence}", "meeting_change", person, 0,
                context | {"returns": _returns(code, returns_due, links)}, (attachment,))
        for code, person in recipients
    ]


def _returns(code: str | None, returns_due: Mapping[str, Sequence[tuple[str, datetime]]],
             links: Mapping[tuple[str, str], str] | None) -> list[dict[str, object]]:
    """An agency's re-dated returns as a notice lists them, each with its new personal link (`links`, by
    agency and case: the old one stops when the case moves to another meeting); none for a non-agency."""
    if not code:
        return []
    return [{"reference": r, "due_at": d, "link": (links or {}).get((code, r))} for r, d in returns_due.get(code, ())]


def addition_notices(
    partnership: Partnership, *, meeting: Meeting, reason: str, references: Sequence[str], stamp: datetime,
    returns_due: Mapping[str, Sequence[tuple[str, datetime]]], links: Mapping[tuple[str, str], str] | None = None,
) -> list[Message]:
    """One notice to each member and the independent chair (`change_recipients`): an extraordinary
    meeting was added, why, the cases listed for it, an agency's new due dates, and the invitation."""
    recipients = change_recipients(partnership)
    ics = change_invitation(
        partnership, scheduled_on=meeting.scheduled_on, starts_at=meeting.starts_at, references=references,
        attendees=[person for _, person in recipients], stamp=stamp, sequence=0, cancelled=False,
    )
    attachment = {"filename": f"meeting-{meeting.starts_at.astimezone(partnership.meetings.zone):%Y-%m-%d}.ics",
                  "content_type": "text/calendar", "content": ics}
    context = {"partnership": partnership.name, "reference": "", "at": meeting.starts_at, "reason": reason,
               "references": list(references), "location": partnership.meetings.location}
    key = f"meeting-added.{meeting.scheduled_on.isoformat()}.{meeting.starts_at:%Y%m%dT%H%M%z}"
    return [
        Message(None, key, "meeting_added", person, 0, context | {"returns": _returns(code, returns_due, links)},
                (attachment,))
        for code, person in recipients
    ]


RAPID_REVIEW_ACTION = "rapid review meeting scheduled"


def hold_rapid_review_meeting(session: Session, office: Office, case: Case, *, now: datetime,
                              actor: str = "system") -> tuple[Meeting, ReturnDue, RapidReviewMeeting]:
    """The accepted case's own meeting, under a rule set with a `rapid_review` section: on the day
    `casework.rapid_review.schedule_rapid_review_meeting` gives (inside the window, at the partnership's usual
    start time), recorded as an extraordinary meeting on that day and audited; a meeting still to come that day
    (another case's, or the calendar's) holds it too. A day whose calendar meeting was moved away, or that had one
    already held, gives way to the next working day. The agencies' information is due the rule set's working days
    before it (`information_working_days_before`), or by return."""
    rules = office.rules(case.regime)
    rule = office.partnership.meetings
    calendar = office.calendar
    planned = schedule_rapid_review_meeting(case.notified_on, now=now, rules=rules, start_time=rule.start_time,
                                            zone=rule.zone, calendar=calendar)
    exceptions = exceptions_in(session)
    day = planned.day
    while True:
        around = datetime.combine(day, rule.start_time, tzinfo=rule.zone)
        held = [m for m in meetings_between(rule, around - timedelta(days=1), around + timedelta(days=1), exceptions)
                if m.starts_at.astimezone(rule.zone).date() == day and m.starts_at > now]
        if held:
            meeting = held[0]
            break
        if not rule_gives(rule, day) and exceptions.get(day) is None:
            starts_at = datetime.combine(day, rule.start_time, tzinfo=rule.zone).astimezone(timezone.utc)
            row = session.scalars(select(MeetingException).where(MeetingException.scheduled_on == day)).first()
            if row is None:
                row = MeetingException(scheduled_on=day, reason="", recorded_at=now)
                session.add(row)
            row.moved_to, row.reason, row.recorded_at = starts_at, f"the {rules.term('meeting')} of {case.reference}", now
            store.audit(session, reference=None, actor=actor, action=ADDED_ACTION, now=now, scheduled_on=day.isoformat(),
                        starts_at=starts_at.isoformat(), reason=row.reason, cases=[case.reference])
            meeting = Meeting(day, starts_at, extraordinary=True)
            break
        day = calendar.add_working_days(day, 1)
    due_on, by_return = information_due(calendar.local_date(meeting.starts_at), today=calendar.local_date(now),
                                        schedule=rules.rapid_review, calendar=calendar)
    store.audit(session, reference=case.reference, actor=actor, action=RAPID_REVIEW_ACTION, now=now,
                meeting=meeting.starts_at.isoformat(), information_due_on=due_on.isoformat(),
                deadline=planned.window.deadline_day.isoformat(),
                inside_window=calendar.local_date(meeting.starts_at) <= planned.window.deadline_day)
    return meeting, ReturnDue(calendar.end_of_day(due_on), by_return), planned


def rapid_review_invitation(session: Session, office: Office, case: Case, meeting: Meeting, *, due: ReturnDue,
                            deadline_day: date, stamp: datetime) -> list[Message]:
    """The invitation to the case's rapid review meeting, to those the rule set's `meeting` step names (the
    agencies, the safeguarding partners, the business manager and the administrator), each with the calendar
    entry (.ics) of the meeting and the cases listed for it; once per case."""
    partnership = office.partnership
    rules = office.rules(case.regime)
    members = meeting_members(partnership)
    references = sorted({c.reference for c in store.meeting_cases(session, meeting_on=meeting.scheduled_on)}
                        | {case.reference})
    ics = change_invitation(partnership, scheduled_on=meeting.scheduled_on, starts_at=meeting.starts_at,
                            references=references, attendees=members, stamp=stamp, sequence=0, cancelled=False)
    attachment = {"filename": f"meeting-{meeting.starts_at.astimezone(partnership.meetings.zone):%Y-%m-%d}.ics",
                  "content_type": "text/calendar", "content": ics}
    context = {"partnership": partnership.name, "reference": case.reference, "terms": rules.terms,
               "at": meeting.starts_at, "location": partnership.meetings.location, "references": references,
               "information_due_at": due.due_at, "by_return": due.by_return, "deadline": deadline_day,
               "window_days": rules.clocks[rules.rapid_review.window_clock].amount}
    return [Message(case.reference, "rapid-review-meeting", "rapid_review_meeting", person, case.round, context,
                    (attachment,)) for person in members]


def _return_links(session: Session, office: Office, cases: Sequence[Case], now: datetime) -> dict[tuple[str, str], str]:
    """A new personal link for each outstanding return of `cases`, by (agency, reference), valid for the
    meeting each case is now listed for."""
    from casework.referral.actions import return_link

    return {(request.agency, case.reference): return_link(session, office, case, request.agency, now=now)
            for case in cases for request in store.round_requests(case) if request.status == ReturnStatus.outstanding}


def _outstanding_returns(cases: Sequence[Case]) -> dict[str, list[tuple[str, datetime]]]:
    """Each agency's outstanding returns for `cases`: (reference, due) pairs."""
    due: dict[str, list[tuple[str, datetime]]] = {}
    for case in cases:
        for request in store.round_requests(case):
            if request.status == ReturnStatus.outstanding:
                due.setdefault(request.agency, []).append((case.reference, request.due_at))
    return due


def _change(office: Office, on: date, moved_to: datetime | None, *, now: datetime, reason: str, actor: str) -> MeetingChange:
    try:
        reason = MeetingChangeForm(on=on, to=moved_to, reason=reason).reason
    except ValidationError as refused:
        raise ValueError("; ".join(describe_errors(refused))) from None
    rule = office.partnership.meetings
    with office.sessions.begin() as session:
        exceptions = exceptions_in(session)
        try:
            meeting = find_meeting(rule, on, exceptions)
        except NoSuchMeeting:
            if on in exceptions and exceptions[on] is None:
                raise NoSuchMeeting(f"the meeting on {on:%A %-d %B %Y} is already cancelled; no one is told again") from None
            raise
        if meeting.starts_at <= now:
            raise ValueError(f"on: the meeting on {on:%-d %B %Y} has already started; only a coming meeting can change")
        if moved_to is not None and moved_to <= now:
            raise ValueError("to: a meeting can only be moved to a time in the future")
        listed = [c for c in store.meeting_cases(session, meeting_on=meeting.scheduled_on) if _awaiting_meeting(c)]
        late = late_moves(listed, office, moved_to, reason=reason, now=now) if moved_to is not None else []
        row = session.scalars(select(MeetingException).where(MeetingException.scheduled_on == meeting.scheduled_on)).first()
        repeated = row is not None and row.moved_to == moved_to  # the same change again: nothing new to tell
        sequence = change_sequence(session, meeting.scheduled_on)
        if row is None:
            row = MeetingException(scheduled_on=meeting.scheduled_on, reason=reason, recorded_at=now)
            session.add(row)
        if not repeated:
            row.moved_to, row.reason, row.recorded_at = moved_to, reason, now
        exceptions[meeting.scheduled_on] = moved_to
        if moved_to is not None:
            target: Meeting | None = Meeting(meeting.scheduled_on, moved_to, moved=True)
        else:
            later = next_meetings(rule, meeting.starts_at + timedelta(minutes=1), 1, exceptions)
            target = later[0] if later else None
        cases = [c for c in store.meeting_cases(session, meeting_on=meeting.scheduled_on) if _awaiting_meeting(c)]
        if moved_to is None:
            refuse_late_cancellation(cases, office, meeting, target)
        if cases and target is None:
            raise ValueError("the calendar gives no later meeting for the listed cases")
        for case in cases if target is not None and not repeated else ():  # a repeat re-dates nothing
            relist(session, case=case, meeting=target, rules=office.rules(case.regime), calendar=office.calendar,
                   now=now, actor=actor)
        if not repeated:
            sequence += 1
            store.audit(session, reference=None, actor=actor, action=CHANGE_ACTIONS[0] if moved_to else CHANGE_ACTIONS[1],
                        now=now, scheduled_on=meeting.scheduled_on.isoformat(),
                        moved_to=moved_to.isoformat() if moved_to else None, cases=[c.reference for c in cases])
        references = [c.reference for c in cases]
        returns_due = _outstanding_returns(cases)
        notices = change_notices(office.partnership, scheduled_on=meeting.scheduled_on, was_at=meeting.starts_at,
                                 now_at=moved_to, relisted_to=target, references=references, stamp=now,
                                 sequence=max(sequence, 1), returns_due=returns_due,
                                 links=_return_links(session, office, cases, now) if not repeated else None)
        queued = queue(session, None, notices, now)
        for case, move in late:  # past a rapid review's deadline: escalated, once (the outbox keeps the first)
            if not repeated:
                store.audit(session, reference=case.reference, actor=actor, action="rapid review meeting moved past "
                            "the deadline", now=now, moved_to=moved_to.isoformat(), reason=move.reason,
                            escalated_to=list(move.escalate_to))
            queued += queue(session, case, late_move_notices(office, case, move, was_at=meeting.starts_at), now)
        return MeetingChange(meeting.scheduled_on, meeting.starts_at, moved_to, references, target, queued)


@dataclass(frozen=True)
class MeetingAddition:
    """What adding an extraordinary meeting did: the meeting, and the cases re-listed for it."""

    meeting: Meeting
    relisted: list[str]
    added: bool  # False: the same meeting was already in the calendar (nothing new recorded)
    queued: int = 0  # notices to the members


def add_meeting(
    office: Office, at: datetime, *, now: datetime, reason: str, actor: str, relist_cases: Sequence[str] = ()
) -> MeetingAddition:
    """Add an extraordinary meeting at `at` (from `now` on, on a day with no other meeting still to come), audited,
    and re-list the named cases for it: each must await a meeting (returns or recommendation) and be
    listed for a later one. Refuses, writing nothing, anything else. Safe to run twice."""
    rule = office.partnership.meetings
    day = at.astimezone(rule.zone).date()
    try:
        reason = MeetingChangeForm(on=day, to=at, reason=reason).reason
    except ValidationError as refused:
        raise ValueError("; ".join(describe_errors(refused))) from None
    if at < now:
        raise ValueError("at: an extraordinary meeting can only be added from now on, not in the past")
    at = at.astimezone(timezone.utc)
    with office.sessions.begin() as session:
        exceptions = exceptions_in(session)
        same = day in exceptions and exceptions[day] == at and not rule_gives(rule, day)
        if not same:
            held_at = exceptions.get(day)  # an extraordinary meeting already held that day may be followed by another
            if rule_gives(rule, day) or (held_at is not None and held_at > now):
                raise ValueError(f"at: the calendar already has a meeting on {day:%A %-d %B %Y}, or a change recorded "
                                 "for that day; move that meeting instead, or choose another day")
            held = [m for m in meetings_between(rule, at - timedelta(days=1), at + timedelta(days=1), exceptions)
                    if m.starts_at.astimezone(rule.zone).date() == day and m.starts_at > now]
            if held:
                raise ValueError(f"at: a meeting is already held on {day:%A %-d %B %Y} "
                                 f"({held[0].starts_at.astimezone(rule.zone):%H:%M}); move that meeting instead")
        meeting = Meeting(day, at, extraordinary=True)
        cases = []
        for reference in dict.fromkeys(relist_cases):
            case = store.get_case(session, reference=reference, for_update=True)
            if case.meeting_at == at:
                continue  # listed for it already (the same command run again)
            if case.status != "open" or not _awaiting_meeting(case):
                raise ValueError(f"list: {reference} is not waiting for a meeting (it is {case.stage.replace('_', ' ')})")
            if case.meeting_at is not None and case.meeting_at < at:
                listed = case.meeting_at.astimezone(rule.zone)
                raise ValueError(f"list: {reference} is listed for the meeting on {listed:%a %-d %b %Y %H:%M}, before this "
                                 "one; only a case listed for a later meeting moves to an extraordinary one")
            cases.append(case)
        if not same:
            row = session.scalars(select(MeetingException).where(MeetingException.scheduled_on == day)).first()
            if row is None:
                row = MeetingException(scheduled_on=day, reason=reason, recorded_at=now)
                session.add(row)
            row.moved_to, row.reason, row.recorded_at = at, reason, now
            store.audit(session, reference=None, actor=actor, action=ADDED_ACTION, now=now, scheduled_on=day.isoformat(),
                        starts_at=at.isoformat(), reason=reason, cases=[c.reference for c in cases])
        for case in cases:
            relist(session, case=case, meeting=meeting, rules=office.rules(case.regime), calendar=office.calendar,
                   now=now, actor=actor)
        queued = 0
        if not same or cases:  # the members are told once, and again only when cases are listed for it
            listed = [c.reference for c in store.meeting_cases(session, meeting_on=day) if _awaiting_meeting(c)]
            queued = queue(session, None, addition_notices(
                office.partnership, meeting=meeting, reason=reason, references=listed, stamp=now,
                returns_due=_outstanding_returns(cases), links=_return_links(session, office, cases, now)), now)
        return MeetingAddition(meeting, [c.reference for c in cases], added=not same, queued=queued)


def check_recommendation_time(office: Office, reference: str, *, now: datetime) -> None:
    """Refuse (MeetingNotYetHeld), naming the meeting, a recommendation for a case awaiting one before
    the meeting it is listed for has begun; anything else is left to the step itself to judge."""
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        if case.stage == Stage.awaiting_recommendation and not case.recommendation:
            check_meeting_held(case.reference, case.meeting_at, now=now, zone=office.partnership.meetings.zone,
                               meeting_term=office.rules(case.regime).term("meeting"))


def move_meeting(office: Office, on: date, to: datetime, *, now: datetime, reason: str, actor: str) -> MeetingChange:
    """Move the meeting on `on` to `to`; its cases stay listed for it with their returns re-dated."""
    return _change(office, on, to, now=now, reason=reason, actor=actor)


def cancel_meeting(office: Office, on: date, *, now: datetime, reason: str, actor: str) -> MeetingChange:
    """Cancel the meeting on `on`; its cases go to the next meeting, with their returns re-dated. Refused for a
    rapid review meeting whose case would then miss its deadline (`refuse_late_cancellation`): move it instead."""
    return _change(office, on, None, now=now, reason=reason, actor=actor)


def coming_meetings(office: Office, *, now: datetime, count: int = 3) -> list[ListedMeeting]:
    """The next `count` meetings and the open cases listed for each."""
    with office.sessions() as session:
        exceptions = exceptions_in(session)
        return [
            ListedMeeting(m, [c.reference for c in store.meeting_cases(session, meeting_on=m.scheduled_on)])
            for m in next_meetings(office.partnership.meetings, now, count, exceptions)
        ]
