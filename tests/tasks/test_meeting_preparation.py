"""Preparing a meeting: on its preparation day the agenda (CIGM1, no child names) and an iCalendar
invitation reach every member, the administrator hears which returns are missing and who attends,
and the papers are on disk. Against a real case database and a real SMTP server.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timezone

from icalendar import Calendar

from casework.delivery import deliver_pending
from casework.forms import AgencyReturnForm
from casework import actions
from casework.office import Office
from casework.preparation import prepare_meeting
from notifications.mailbox import read_mailbox
from tests.tasks.test_sweep import at, open_case, sweep_office  # noqa: F401 (fixture)

MEETING = datetime(2026, 12, 8, 10, tzinfo=timezone.utc)  # second Tuesday of December, 10:00 GMT


def test_the_agenda_and_invitation_go_out_three_working_days_before(sweep_office: Office) -> None:
    office = sweep_office
    first = open_case(office, at(date(2026, 11, 20)))
    second = open_case(office, at(date(2026, 11, 23)))
    actions.record_return(office, first, AgencyReturnForm(
        agency="POL", status="returned", involvement="Two call-outs to the address.", key_practitioners=["PC Example"],
        attendees=["DI Pat Police"]), now=at(date(2026, 11, 24)), actor="test")
    asyncio.run(deliver_pending(office))
    before = len(read_mailbox(office.settings.mail_dir))

    assert prepare_meeting(office, now=at(date(2026, 12, 2))) is None  # Wed 2 Dec: too early
    prepared = prepare_meeting(office, now=at(date(2026, 12, 3), 7))  # Thu 3 Dec: 3 working days before Tue 8
    assert prepared is not None and prepared.agenda.meeting.starts_at == MEETING
    assert prepared.queued == 7  # 3 agencies, CIG chair, business manager, administrator + the administrator's note
    assert prepare_meeting(office, now=at(date(2026, 12, 3), 8)).queued == 0  # type: ignore[union-attr]
    assert (prepared.papers / "agenda.md").read_text() == prepared.markdown
    assert f"A1. Case **{first}**" in prepared.markdown and f"B2. Case **{second}**" in prepared.markdown

    asyncio.run(deliver_pending(office))
    mails = read_mailbox(office.settings.mail_dir)[before:]
    agendas = [m for m in mails if m.subject.startswith("Agenda (CIGM1)")]
    assert sorted(m.to[0] for m in agendas) == sorted([
        "police@example.org", "social-care@example.org", "health@example.org",
        "cig-chair@example.org", "business-manager@example.org", "cig-admin@example.org"])
    message = agendas[0].message()
    text = agendas[0].text()
    assert "Part A: Practitioner review" in text and "Part B: Review and decision" in text and second in text
    assert "Robin" not in text + agendas[0].html() + prepared.markdown
    (ics,) = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
    event = next(c for c in Calendar.from_ical(ics.get_content()).walk("VEVENT"))
    assert event.decoded("dtstart") == MEETING
    assert event.decoded("dtend") == datetime(2026, 12, 8, 13, tzinfo=timezone.utc)
    assert len(event.get("attendee")) == 6 and str(event.get("uid")).startswith("cig-meeting-2026-12-08")

    (note,) = [m for m in mails if m.subject.startswith("Meeting on")]
    assert note.to == ["cig-admin@example.org"] and note.subject == "Meeting on Tuesday 8 December 2026: returns still missing"
    body = " ".join(note.text().split())
    assert f"{first}: CSC, HEALTH" in body and f"{second}: POL, CSC, HEALTH" in body
    assert f"{first}, POL: DI Pat Police" in body
