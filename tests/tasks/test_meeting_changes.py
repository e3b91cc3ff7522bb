"""Moving and cancelling a meeting: the exception is recorded, the listed cases are re-listed with
their outstanding returns re-dated, every member agency and the partnership's officers are told
with a calendar update (.ics) that moves or cancels the invitation, and the sweep follows the new
dates. Against a real case database and a real local SMTP server.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone

import pytest
from icalendar import Calendar, Event
from sqlalchemy import select
from typer.testing import CliRunner

from casework.meetings import rescheduling
from casework.delivery import deliver_pending
from casework.office import Office
from casework.meetings.preparation import prepare_meeting
from casework.store import cases as store
from casework.store.tables import AuditEvent, MeetingException
from casework.sweep import queue_reminders
from notifications.mailbox import ReceivedMail, read_mailbox
from tests.tasks.test_sweep import at, nil_return, open_case, sweep_office  # noqa: F401 (fixture)

MEMBERS = {"police@example.org", "social-care@example.org", "health@example.org"}
OFFICERS = {"cig-chair@example.org", "business-manager@example.org", "cig-admin@example.org",
            "independent-chair@example.org"}
UID = "cig-meeting-2026-12-08@case-review.invalid"


def _calendar(mail: ReceivedMail) -> tuple[Calendar, Event]:
    """The mail's one .ics attachment, parsed: the calendar and its one event."""
    (part,) = [p for p in mail.message().iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_filename().endswith(".ics")
    calendar = Calendar.from_ical(part.get_content())
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def _case(office: Office, reference: str):  # type: ignore[no-untyped-def]
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        return case, {r.agency: r for r in case.requests}, {(d.kind, d.subject): d for d in case.deadlines}


def test_moving_a_meeting_earlier_redates_the_returns_and_tells_the_members(sweep_office: Office) -> None:
    office = sweep_office
    reference = open_case(office, at(date(2026, 11, 20)))  # listed for Tue 8 Dec; returns due Fri 27 Nov
    nil_return(office, reference, "POL", at(date(2026, 11, 20), 11))
    asyncio.run(deliver_pending(office))
    before = len(read_mailbox(office.settings.mail_dir))

    new_time = datetime(2026, 11, 27, 10, tzinfo=timezone.utc)  # Friday 27 November, 10:00 GMT
    change = rescheduling.move_meeting(office, date(2026, 12, 8), new_time, now=at(date(2026, 11, 21)),
                                       reason="chair unavailable", actor="test")
    assert change.relisted == [reference] and change.queued == 7

    case, requests, deadlines = _case(office, reference)
    assert (case.meeting_on, case.meeting_at) == (date(2026, 12, 8), new_time)
    day_before = datetime(2026, 11, 26, 23, 59, 59, tzinfo=timezone.utc)  # never due after the meeting
    assert requests["CSC"].due_at == requests["HEALTH"].due_at == day_before
    assert deadlines[("information_return", "HEALTH")].due_at == day_before
    assert not requests["HEALTH"].by_return
    assert requests["POL"].due_at == datetime(2026, 11, 27, 23, 59, 59, tzinfo=timezone.utc)  # returned: untouched
    with office.sessions() as session:
        (exception,) = session.scalars(select(MeetingException)).all()
        assert (exception.scheduled_on, exception.moved_to, exception.reason) == (date(2026, 12, 8), new_time, "chair unavailable")

    asyncio.run(deliver_pending(office))
    notices = read_mailbox(office.settings.mail_dir)[before:]
    assert sorted(to for m in notices for to in m.to) == sorted(MEMBERS | OFFICERS)
    assert {m.subject for m in notices} == {"Meeting moved: Tuesday 8 December 2026 is now Friday 27 November 2026, 10:00"}
    to_health = next(m for m in notices if m.to == ["health@example.org"])
    assert f"for {reference} is now due by Thursday 26 November 2026, 23:59" in to_health.text()
    to_police = next(m for m in notices if m.to == ["police@example.org"])
    assert "now due" not in to_police.text() and "Robin" not in to_health.text() + to_health.html()
    to_chair = next(m for m in notices if m.to == ["independent-chair@example.org"])
    assert f"Cases listed: {reference}." in to_chair.text() and "now due" not in to_chair.text()
    for mail in notices:
        calendar, event = _calendar(mail)
        assert str(calendar["method"]) == "REQUEST" and str(event["uid"]) == UID
        assert event.decoded("dtstart") == new_time and int(event["sequence"]) == 1

    # the same move again changes and sends nothing more: no return is re-dated, nothing re-audited
    def dates_and_trail() -> tuple[list, int]:
        with office.sessions() as session:
            case = store.get_case(session, reference=reference)
            return sorted((r.agency, r.due_at, r.by_return) for r in case.requests), len(store.audit_trail(session, reference=reference))

    before_again = dates_and_trail()
    again = rescheduling.move_meeting(office, date(2026, 12, 8), new_time, now=at(date(2026, 11, 23), 10),
                                      reason="chair unavailable", actor="test")
    assert again.queued == 0 and dates_and_trail() == before_again

    # the sweep follows the new due date: 1 working day before Thursday 26 is Wednesday 25
    queue_reminders(office, now=at(date(2026, 11, 25), 8))
    asyncio.run(deliver_pending(office))
    latest = read_mailbox(office.settings.mail_dir)[before + 7:]
    assert sorted((m.to[0], m.key.split(":")[1]) for m in latest) == [
        ("health@example.org", "reminder.information_return.HEALTH.1wd"),
        ("social-care@example.org", "reminder.information_return.CSC.1wd"),
    ]


def test_a_meeting_moved_to_days_away_makes_returns_due_by_return_from_the_notice(sweep_office: Office) -> None:
    office = sweep_office
    reference = open_case(office, at(date(2026, 11, 20)))
    rescheduling.move_meeting(office, date(2026, 12, 8), datetime(2026, 11, 25, 10, tzinfo=timezone.utc),
                              now=at(date(2026, 11, 24)), reason="urgent", actor="test")
    _, requests, _ = _case(office, reference)
    # counted from the issue day it would be "by return" on Monday 23, already past when the members
    # are told on Tuesday 24: by return from the notice instead, and still before the meeting day
    assert requests["HEALTH"].by_return
    assert requests["HEALTH"].due_at == datetime(2026, 11, 24, 23, 59, 59, tzinfo=timezone.utc)


def test_cancelling_a_meeting_lists_its_cases_for_the_next_one(sweep_office: Office) -> None:
    office = sweep_office
    reference = open_case(office, at(date(2026, 11, 20)))
    change = rescheduling.cancel_meeting(office, date(2026, 12, 8), now=at(date(2026, 11, 21)), reason="snow", actor="test")
    january = datetime(2027, 1, 12, 10, tzinfo=timezone.utc)
    assert change.now_at is None and change.relisted == [reference]
    assert change.relisted_to is not None and change.relisted_to.starts_at == january

    case, requests, _ = _case(office, reference)
    assert (case.meeting_on, case.meeting_at) == (date(2027, 1, 12), january)
    assert requests["HEALTH"].due_at == datetime(2026, 11, 27, 23, 59, 59, tzinfo=timezone.utc)  # 7 days still fits

    coming = rescheduling.coming_meetings(office, now=at(date(2026, 11, 21)), count=2)
    assert [(m.meeting.starts_at, m.references) for m in coming] == [
        (january, [reference]), (datetime(2027, 2, 9, 10, tzinfo=timezone.utc), [])
    ]
    asyncio.run(deliver_pending(office))
    cancelled = [m for m in read_mailbox(office.settings.mail_dir) if m.subject.startswith("Meeting cancelled")]
    assert sorted(m.to[0] for m in cancelled) == sorted(MEMBERS | OFFICERS)
    assert "now listed for the meeting on Tuesday 12 January 2027, 10:00" in " ".join(cancelled[0].text().split())
    for mail in cancelled:
        calendar, event = _calendar(mail)
        assert str(calendar["method"]) == "CANCEL" and str(event["status"]) == "CANCELLED"
        assert str(event["uid"]) == UID and int(event["sequence"]) == 1
        assert event.decoded("dtstart") == datetime(2026, 12, 8, 10, tzinfo=timezone.utc)

    # cancelling it again is refused, and tells no one again
    with pytest.raises(rescheduling.NoSuchMeeting, match="already cancelled"):
        rescheduling.cancel_meeting(office, date(2026, 12, 8), now=at(date(2026, 11, 22)), reason="snow", actor="test")
    asyncio.run(deliver_pending(office))
    assert len([m for m in read_mailbox(office.settings.mail_dir) if m.subject.startswith("Meeting cancelled")]) == 7


def test_cig_meeting_commands(sweep_office: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.meetings import app

    office = sweep_office
    today = at(date(2026, 11, 20))  # listed for Tue 8 Dec, the first meeting listed
    monkeypatch.setattr("cli.meetings._now", lambda: today)
    reference = open_case(office, today)
    runner = CliRunner()
    listed = runner.invoke(app, ["list", "--count", "2"])
    assert listed.exit_code == 0, listed.output
    assert reference in listed.output.splitlines()[0]

    with office.sessions() as session:
        meeting_on = store.get_case(session, reference=reference).meeting_on
    refused = runner.invoke(app, ["move", meeting_on.isoformat(), "2020-01-01T10:00"])
    assert isinstance(refused.exception, ValueError) and "future" in str(refused.exception)

    moved = runner.invoke(app, ["move", meeting_on.isoformat(), f"{meeting_on.year + 1}-01-05T14:30", "--json"])
    assert moved.exit_code == 0, moved.output
    assert reference in moved.output and '"notices_queued": 7' in moved.output
    assert "(moved from" in runner.invoke(app, ["list", "--count", "1"]).output


def test_a_move_after_the_invitation_updates_it_and_a_cancellation_removes_it(sweep_office: Office) -> None:
    office = sweep_office
    open_case(office, at(date(2026, 11, 20)))
    prepared = prepare_meeting(office, now=at(date(2026, 12, 3), 7))  # the agenda and invitation go out
    assert prepared is not None and prepared.queued == 7
    asyncio.run(deliver_pending(office))
    mails = read_mailbox(office.settings.mail_dir)
    invitation = next(m for m in mails if m.subject.startswith("Agenda (CIGM1)"))
    _, original = _calendar(invitation)
    assert str(original["uid"]) == UID and int(original.get("sequence", 0)) == 0
    seen = len(mails)

    def received() -> list[ReceivedMail]:
        nonlocal seen
        asyncio.run(deliver_pending(office))
        mails = read_mailbox(office.settings.mail_dir)
        new, seen = mails[seen:], len(mails)
        return new

    thursday = datetime(2026, 12, 10, 14, tzinfo=timezone.utc)
    first = rescheduling.move_meeting(office, date(2026, 12, 8), thursday, now=at(date(2026, 12, 4)),
                                      reason="chair unavailable", actor="test")
    assert first.queued == 7
    moved = received()
    assert sorted(m.to[0] for m in moved) == sorted(MEMBERS | OFFICERS)
    for mail in moved:
        calendar, event = _calendar(mail)
        assert str(calendar["method"]) == "REQUEST"
        assert str(event["uid"]) == str(original["uid"]) and int(event["sequence"]) > int(original.get("sequence", 0))
        assert event.decoded("dtstart") == thursday and event.decoded("dtend") == datetime(2026, 12, 10, 17, tzinfo=timezone.utc)

    # the command run twice sends nothing more
    assert rescheduling.move_meeting(office, date(2026, 12, 8), thursday, now=at(date(2026, 12, 4), 10),
                                     reason="chair unavailable", actor="test").queued == 0
    assert received() == []

    # on the moved meeting's preparation day the agenda goes again, at the new time, never older than the move
    again = prepare_meeting(office, now=at(date(2026, 12, 7), 7))
    assert again is not None and again.queued == 7
    agendas = [m for m in received() if m.subject.startswith("Agenda (CIGM1)")]
    assert len(agendas) == 6
    _, event = _calendar(agendas[0])
    assert str(event["uid"]) == UID and int(event["sequence"]) == 1 and event.decoded("dtstart") == thursday

    # moved again, then back: each change is told, with a higher SEQUENCE each time
    friday = datetime(2026, 12, 11, 10, tzinfo=timezone.utc)
    rescheduling.move_meeting(office, date(2026, 12, 8), friday, now=at(date(2026, 12, 7), 12), reason="room", actor="test")
    rescheduling.move_meeting(office, date(2026, 12, 8), thursday, now=at(date(2026, 12, 7), 13), reason="room", actor="test")
    changes = received()
    assert len(changes) == 14
    assert sorted((_calendar(m)[1].decoded("dtstart"), int(_calendar(m)[1]["sequence"])) for m in changes
                  if m.to == ["cig-chair@example.org"]) == [(thursday, 3), (friday, 2)]

    cancelled = rescheduling.cancel_meeting(office, date(2026, 12, 8), now=at(date(2026, 12, 8)), reason="snow",
                                            actor="test")
    assert cancelled.queued == 7
    notices = received()
    assert sorted(m.to[0] for m in notices) == sorted(MEMBERS | OFFICERS)
    for mail in notices:
        calendar, event = _calendar(mail)
        assert str(calendar["method"]) == "CANCEL" and str(event["status"]) == "CANCELLED"
        assert str(event["uid"]) == UID and int(event["sequence"]) == 4 and event.decoded("dtstart") == thursday


# --- extraordinary meetings: the group meets before the next monthly meeting ----------------

def test_a_recommendation_waits_for_the_meeting_unless_an_extraordinary_one_is_added(sweep_office: Office) -> None:
    from casework.referral import actions
    from casework.forms import RecommendationForm
    from casework.meetings.calendar import MeetingNotYetHeld
    from casework.model import Stage

    office = sweep_office
    reference = open_case(office, at(date(2026, 11, 20)))  # listed for Tue 8 Dec 2026, 10:00
    nil_return(office, reference, "POL", at(date(2026, 11, 21)))
    nil_return(office, reference, "CSC", at(date(2026, 11, 21)))
    recommend = RecommendationForm(outcome="scr", rationale="Criteria met.")

    # returns are not all in, and 8 December is far: a further date to meet is set for Tuesday 1 December, 14:00
    extra = datetime(2026, 12, 1, 14, tzinfo=timezone.utc)
    added = rescheduling.add_meeting(office, extra, now=at(date(2026, 11, 23)), reason="a further date to meet set",
                                     actor="test", relist_cases=[reference])
    assert added.added and added.relisted == [reference] and added.meeting.extraordinary
    case, requests, deadlines = _case(office, reference)
    assert (case.meeting_on, case.meeting_at) == (date(2026, 12, 1), extra)
    # HEALTH's return (due Fri 27 Nov) stays due then: before the day before the new meeting
    assert requests["HEALTH"].due_at == datetime(2026, 11, 27, 23, 59, 59, tzinfo=timezone.utc)
    with office.sessions() as session:
        (exception,) = session.scalars(select(MeetingException)).all()
        assert (exception.scheduled_on, exception.moved_to, exception.reason) == (
            date(2026, 12, 1), extra, "a further date to meet set")
        (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "meeting added")).all()
        assert event.detail == {"scheduled_on": "2026-12-01", "starts_at": extra.isoformat(),
                                "reason": "a further date to meet set", "cases": [reference]}
        assert [e.action for e in store.audit_trail(session, reference=reference)][-1] == "re-listed"

    # the calendar shows it first, with the case listed for it; the rule's 8 December stays
    coming = rescheduling.coming_meetings(office, now=at(date(2026, 11, 23)), count=2)
    assert [(m.meeting.starts_at, m.meeting.extraordinary, m.references) for m in coming] == [
        (extra, True, [reference]), (datetime(2026, 12, 8, 10, tzinfo=timezone.utc), False, [])]

    nil_return(office, reference, "HEALTH", at(date(2026, 11, 30)))
    with pytest.raises(MeetingNotYetHeld) as refused:
        actions.record_recommendation(office, reference, recommend, now=datetime(2026, 12, 1, 13, 59, tzinfo=timezone.utc),
                                      actor="cig chair")
    assert str(refused.value) == (f"{reference} is listed for the CIG meeting on Tue 1 Dec 2026 14:00; "
                                  "its recommendation can be recorded from then")
    assert _case(office, reference)[0].recommendation is None
    outcome = actions.record_recommendation(office, reference, recommend, now=extra, actor="cig chair")
    assert outcome.stage == Stage.awaiting_decision

    # the same addition again records nothing more
    again = rescheduling.add_meeting(office, extra, now=at(date(2026, 11, 24)), reason="a further date to meet set",
                                     actor="test", relist_cases=[reference])
    assert not again.added and again.relisted == []


def test_the_rule_meeting_refuses_an_early_recommendation_in_its_own_words(sweep_office: Office) -> None:
    from casework.referral import actions
    from casework.forms import RecommendationForm

    office = sweep_office
    reference = open_case(office, at(date(2026, 11, 20)))
    for code in ("POL", "CSC", "HEALTH"):
        nil_return(office, reference, code, at(date(2026, 11, 21)))
    with pytest.raises(ValueError, match=rf"^{reference} is listed for the CIG meeting on Tue 8 Dec 2026 10:00; "
                                         "its recommendation can be recorded from then$"):
        actions.record_recommendation(office, reference, RecommendationForm(outcome="no_review", rationale="r"),
                                      now=at(date(2026, 11, 23)), actor="cig chair")


def test_adding_a_meeting_refuses_the_past_a_day_with_a_meeting_and_a_case_listed_earlier(sweep_office: Office) -> None:
    office = sweep_office
    reference = open_case(office, at(date(2026, 11, 20)))  # listed for Tue 8 Dec
    now = at(date(2026, 11, 23))

    def refusal(when: datetime, cases: list[str] = []) -> str:  # noqa: B006
        with pytest.raises(ValueError) as refused:
            rescheduling.add_meeting(office, when, now=now, reason="a further date to meet set", actor="test",
                                     relist_cases=cases)
        return str(refused.value)

    assert "not in the past" in refusal(datetime(2026, 11, 20, 10, tzinfo=timezone.utc))
    assert "already has a meeting on Tuesday 8 December 2026" in refusal(datetime(2026, 12, 8, 15, tzinfo=timezone.utc))
    later = datetime(2026, 12, 15, 10, tzinfo=timezone.utc)
    assert f"{reference} is listed for the meeting on Tue 8 Dec 2026 10:00, before this one" in refusal(later, [reference])
    with office.sessions() as session:  # nothing written by any refusal
        assert session.scalars(select(MeetingException)).all() == []
        assert _case(office, reference)[0].meeting_at == datetime(2026, 12, 8, 10, tzinfo=timezone.utc)


def test_cig_meeting_add_lists_the_extraordinary_meeting_and_can_be_cancelled(
        sweep_office: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.meetings import app

    office = sweep_office
    today = at(date(2026, 11, 20))  # listed for Tue 8 Dec
    monkeypatch.setattr("cli.meetings._now", lambda: today)
    reference = open_case(office, today)
    runner = CliRunner()
    listed_for = _case(office, reference)[0].meeting_at
    extra = (listed_for - timedelta(days=1)).astimezone(office.partnership.meetings.zone).replace(hour=16, minute=0)
    added = runner.invoke(app, ["add", f"{extra:%Y-%m-%dT%H:%M}", "--reason", "a further date to meet set",
                                "--list", reference])
    assert added.exit_code == 0, added.output
    assert f"The extraordinary meeting of {extra:%a %d %b %Y} 16:00 added; " in added.output and reference in added.output
    # every member is told once, with the invitation; an agency whose return was re-dated, its new due date
    told = [m for m in read_mailbox(office.settings.mail_dir) if m.subject.startswith("Extraordinary meeting: ")]
    members = {to for m in told for to in m.to}
    assert len(told) == len(members) and {"police@example.org", "independent-chair@example.org"} <= members
    police = next(m for m in told if "police@example.org" in m.to)
    assert "Why: a further date to meet set" in police.text() and f"Cases listed: {reference}." in police.text()
    assert f"Your agency's return (CIGINF1) for {reference} is now due by" in police.text()
    assert [a.get_content_type() for a in police.message().iter_attachments()] == ["text/calendar"]
    again = runner.invoke(app, ["add", f"{extra:%Y-%m-%dT%H:%M}", "--reason", "a further date to meet set",
                                "--list", reference])
    assert "was already in the calendar." in again.output  # nothing told twice
    assert len([m for m in read_mailbox(office.settings.mail_dir) if m.subject.startswith("Extraordinary")]) == len(told)
    shown = runner.invoke(app, ["list", "--count", "2"]).output.splitlines()
    assert shown[0] == f"{extra:%a %d %b %Y} 16:00  (extraordinary)  {reference}"
    assert "no cases listed" in shown[1]

    cancelled = runner.invoke(app, ["cancel", f"{extra:%Y-%m-%d}", "--json"])
    assert cancelled.exit_code == 0, cancelled.output
    assert _case(office, reference)[0].meeting_at == listed_for  # back to the next meeting
    assert "(extraordinary)" not in runner.invoke(app, ["list", "--count", "2"]).output
    refused = runner.invoke(app, ["add", "2020-01-01T10:00", "--reason", "x"])
    assert isinstance(refused.exception, ValueError) and "not in the past" in str(refused.exception)
