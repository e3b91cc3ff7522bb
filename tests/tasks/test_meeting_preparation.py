"""Preparing a meeting: on its preparation day the agenda (CIGM1, no child names) and an iCalendar
invitation reach every member, the administrator hears which returns are missing and who attends,
and the papers pack is on disk (one owner-only paper per case, with the personal data the artifact
never shows). Against a real case database and a real SMTP server.
"""

from __future__ import annotations

import asyncio
import stat
from datetime import date, datetime, timezone
from pathlib import Path

from docx import Document
from icalendar import Calendar

from casework.delivery import deliver_pending
from casework.forms import AgencyReturnForm
from casework.referral import actions
from casework.office import Office
from casework.cells import markdown_cell
from casework.meetings.preparation import prepare_meeting, prepare_meetings
from casework.meetings.rescheduling import add_meeting
from notifications.mailbox import read_mailbox
from tests.tasks.test_sweep import at, open_case, sweep_office  # noqa: F401 (fixture)

MEETING = datetime(2026, 12, 8, 10, tzinfo=timezone.utc)  # second Tuesday of December, 10:00 GMT
# the child in examples/referral.yaml, as any of its words or its date of birth could appear
CHILD = ("Robin", "Testchild", "2026-07-03", "3 July 2026", "03/07/2026", "Jordan", "Testparent", "1998-02-14")


def word_text(path: Path) -> str:
    """Every paragraph and table cell of a Word document, as python-docx opens it."""
    document = Document(str(path))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return " ".join([p.text for p in document.paragraphs] + cells)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def two_listed_cases(office: Office) -> tuple[str, str]:
    """Two cases listed for Tuesday 8 December; the police have returned CIGINF1 for the first."""
    first = open_case(office, at(date(2026, 11, 20)))
    second = open_case(office, at(date(2026, 11, 23)))
    actions.record_return(office, first, AgencyReturnForm(
        agency="POL", status="returned", involvement="Two call-outs to the address.", key_practitioners=["PC Example"],
        attendees=["DI Pat Police"]), now=at(date(2026, 11, 24)), actor="test")
    return first, second


def test_the_agenda_and_invitation_go_out_three_working_days_before(sweep_office: Office) -> None:
    office = sweep_office
    first, second = two_listed_cases(office)
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


def test_the_papers_pack_holds_each_case_on_disk_for_the_owner_only(sweep_office: Office) -> None:
    office = sweep_office
    first, second = two_listed_cases(office)
    actions.record_return(office, first, AgencyReturnForm(agency="CSC", status="nil"), now=at(date(2026, 11, 25)),
                          actor="test")

    prepared = prepare_meeting(office, now=at(date(2026, 12, 3), 7))
    assert prepared is not None
    folder = office.settings.papers_dir / "meeting-2026-12-08"
    assert prepared.papers == folder
    assert prepared.files == {first: folder / f"case-{first}.md", second: folder / f"case-{second}.md"}
    assert sorted(p.name for p in folder.iterdir()) == sorted([
        "agenda.md", "agenda.docx", f"case-{first}.md", f"case-{second}.md", f"case-{first}.docx", f"case-{second}.docx"])
    assert _mode(office.settings.papers_dir) == _mode(folder) == 0o700
    assert {_mode(p) for p in folder.iterdir()} == {0o600}

    paper = " ".join(prepared.files[first].read_text(encoding="utf-8").split())
    assert f"# Case {first}: papers for the meeting (round 1)" in paper
    assert "Robin Testchild, born 3 July 2026" in paper and "Jordan Testparent (mother, born 14 February 1998)" in paper
    assert "Skeletal survey shows older fractures." in paper and "Infant admitted with unexplained head injuries" in paper
    assert "Referring agency: Northshire Health Trust" in paper
    received, missing = paper.split("## Returns missing")
    assert "### Northshire Police (POL) Received 24 November 2026." in received
    assert "Two call-outs to the address." in received and "Key practitioners: PC Example" in received
    assert "Attending: DI Pat Police" in received
    assert "(CSC) Received 25 November 2026. Nil return" in received
    assert "(HEALTH): still outstanding" in missing and "(POL)" not in missing and "(CSC)" not in missing
    # the Word document a member downloads says what the markdown says
    word = word_text(folder / f"case-{first}.docx")
    assert f"Case {first}: papers for the meeting (round 1)" in word and "Robin Testchild, born 3 July 2026" in word
    assert "Two call-outs to the address." in word and "Northshire Health Trust (HEALTH): still outstanding" in word
    agenda = word_text(folder / "agenda.docx")
    assert "CIGM1 agenda" in agenda and f"A1. Case {first}" in agenda and f"B2. Case {second}" in agenda
    assert "Tuesday 8 December 2026, 10:00" in agenda and "DI Pat Police" not in agenda
    assert not [word for word in CHILD if word in agenda]
    other = prepared.files[second].read_text(encoding="utf-8")
    assert "No return has been received yet." in other
    assert all(f"({code}): still outstanding" in other for code in ("POL", "CSC", "HEALTH"))

    # the artifact and the agenda: references, counts and paths, never the child or the family
    for public in (prepared.artifact, (folder / "agenda.md").read_text(encoding="utf-8")):
        assert not [word for word in CHILD if word in public], public
        assert "Skeletal survey" not in public and "Two call-outs" not in public
    assert prepared.artifact.startswith(prepared.markdown)
    # each case's papers by their path as text, never a code span (no backtick in what a person reads)
    assert f"| {first} | 2 of 3 | 1 | {markdown_cell(str(prepared.files[first]))} |" in prepared.artifact
    assert f"| {second} | 0 of 3 | 3 | {markdown_cell(str(prepared.files[second]))} |" in prepared.artifact
    assert "`" not in prepared.artifact

    # a later run rewrites the papers with what has come in since (the messages are not sent again)
    actions.record_return(office, second, AgencyReturnForm(
        agency="HEALTH", status="returned", involvement="Health visitor saw the baby at 8 weeks."),
        now=at(date(2026, 12, 4), 8), actor="test")
    again = prepare_meeting(office, now=at(date(2026, 12, 4), 9))
    assert again is not None and again.queued == 0
    assert "Health visitor saw the baby at 8 weeks." in again.files[second].read_text(encoding="utf-8")
    assert f"| {second} | 1 of 3 | 2 |" in again.artifact
    assert _mode(again.files[second]) == 0o600


def agendas_to_the_chair(office: Office) -> list:  # type: ignore[type-arg]
    asyncio.run(deliver_pending(office))
    return [m for m in read_mailbox(office.settings.mail_dir)
            if m.subject.startswith("Agenda (CIGM1)") and m.to == ["cig-chair@example.org"]]


def test_an_extraordinary_meeting_gets_its_own_pack_and_agenda_and_the_regular_one_keeps_its_day(
        sweep_office: Office) -> None:
    office = sweep_office
    first, second = two_listed_cases(office)
    extraordinary = datetime(2026, 12, 4, 14, tzinfo=timezone.utc)  # Friday 4 December, before Tuesday 8
    add_meeting(office, extraordinary, now=at(date(2026, 11, 30)), reason="An urgent case cannot wait",
                actor="administrator", relist_cases=[second])

    prepared = prepare_meetings(office, now=at(date(2026, 12, 3), 7))  # both preparation days have come

    assert [p.agenda.meeting.starts_at for p in prepared] == [extraordinary, MEETING]
    own, regular = prepared
    assert [c.reference for c in own.agenda.cases] == [second] and [c.reference for c in regular.agenda.cases] == [first]
    assert own.papers != regular.papers
    assert sorted(p.name for p in own.papers.glob("case-*")) == [f"case-{second}.docx", f"case-{second}.md"]
    assert sorted(p.name for p in regular.papers.glob("case-*")) == [f"case-{first}.docx", f"case-{first}.md"]
    agendas = {m.subject.split(" on ", 1)[1].split(",")[0]: " ".join(m.text().split())
               for m in agendas_to_the_chair(office)}
    assert sorted(agendas) == ["Friday 4 December 2026", "Tuesday 8 December 2026"]
    assert second in agendas["Friday 4 December 2026"] and first not in agendas["Friday 4 December 2026"]
    assert first in agendas["Tuesday 8 December 2026"] and second not in agendas["Tuesday 8 December 2026"]
    links = {text.split("/link/")[1].split()[0] for text in agendas.values()}
    assert len(links) == 2  # a papers link for each meeting


def test_a_pack_lists_only_the_cases_listed_for_its_meeting_now(sweep_office: Office) -> None:
    office = sweep_office
    first, second = two_listed_cases(office)
    before = prepare_meeting(office, now=at(date(2026, 12, 3), 7))  # Tuesday 8 December's pack: both cases
    assert before is not None and len(before.agenda.cases) == 2
    add_meeting(office, datetime(2026, 12, 7, 14, tzinfo=timezone.utc), now=at(date(2026, 12, 3), 12),
                reason="The second case is urgent", actor="administrator", relist_cases=[second])

    prepared = prepare_meetings(office, now=at(date(2026, 12, 4), 7))

    by_day = {p.agenda.meeting.scheduled_on: p for p in prepared}
    assert [c.reference for c in by_day[date(2026, 12, 7)].agenda.cases] == [second]
    assert [c.reference for c in by_day[date(2026, 12, 8)].agenda.cases] == [first]
    assert sorted(p.name for p in before.papers.glob("case-*")) == [f"case-{first}.docx", f"case-{first}.md"]
    assert second not in word_text(before.papers / "agenda.docx")


def test_no_agenda_goes_out_for_a_meeting_with_no_case_listed(sweep_office: Office) -> None:
    office = sweep_office
    asyncio.run(deliver_pending(office))
    sent = len(read_mailbox(office.settings.mail_dir))

    assert prepare_meetings(office, now=at(date(2026, 12, 3), 7)) == []  # Tuesday 8 December's day: nothing listed

    asyncio.run(deliver_pending(office))
    assert read_mailbox(office.settings.mail_dir)[sent:] == []
    assert not (office.settings.papers_dir / "meeting-2026-12-08").exists()
