"""Moving and cancelling a meeting: the exception is recorded, the listed cases are re-listed with
their outstanding returns re-dated, every member agency is told, and the sweep follows the new
dates. Against a real case database and a real local SMTP server.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timezone

from sqlalchemy import select
from typer.testing import CliRunner

from casework import rescheduling
from casework.delivery import deliver_pending
from casework.office import Office
from casework.store import cases as store
from casework.store.tables import MeetingException
from casework.sweep import queue_reminders
from notifications.mailbox import read_mailbox
from tests.tasks.test_sweep import at, nil_return, open_case, sweep_office  # noqa: F401 (fixture)

MEMBERS = {"police@example.org", "social-care@example.org", "health@example.org"}


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
    assert change.relisted == [reference] and change.queued == 3

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
    assert {to for m in notices for to in m.to} == MEMBERS
    assert {m.subject for m in notices} == {"Meeting moved: Tuesday 8 December 2026 is now Friday 27 November 2026, 10:00"}
    to_health = next(m for m in notices if m.to == ["health@example.org"])
    assert f"for {reference} is now due by Thursday 26 November 2026, 23:59" in to_health.text()
    to_police = next(m for m in notices if m.to == ["police@example.org"])
    assert "now due" not in to_police.text() and "Robin" not in to_health.text() + to_health.html()

    # the same move again changes and sends nothing more
    again = rescheduling.move_meeting(office, date(2026, 12, 8), new_time, now=at(date(2026, 11, 21), 10),
                                      reason="chair unavailable", actor="test")
    assert again.queued == 0

    # the sweep follows the new due date: 1 working day before Thursday 26 is Wednesday 25
    queue_reminders(office, now=at(date(2026, 11, 25), 8))
    asyncio.run(deliver_pending(office))
    latest = read_mailbox(office.settings.mail_dir)[before + 3:]
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
    assert {m.to[0] for m in cancelled} == MEMBERS
    assert "now listed for the meeting on Tuesday 12 January 2027, 10:00" in " ".join(cancelled[0].text().split())


def test_cig_meeting_commands(sweep_office: Office) -> None:
    from cli.meetings import app

    office = sweep_office
    reference = open_case(office, datetime.now(timezone.utc))
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
    assert reference in moved.output and '"notices_queued": 3' in moved.output
    assert "(moved from" in runner.invoke(app, ["list", "--count", "1"]).output
