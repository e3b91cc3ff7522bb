"""A meeting's papers, as pure functions: the CIGM1 agenda, its iCalendar invitation (and the
updates to it when the meeting is moved or cancelled) and the messages that carry them (to every
member, and to the administrator the returns still missing).

Plain data in, plain data out; no clock, database or Prefect. The agenda names cases by reference
and referring agency only: never a child's or family member's name, nor who will attend (it is the
Prefect artifact too, and Prefect keeps no name): it counts them per agency. The names go to the
administrator in the preparation note and to members in each case's papers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from icalendar import Calendar, Event, vCalAddress, vText

from casework.cells import markdown_cell
from casework.clocks import WorkingCalendar
from casework.meetings.calendar import Meeting
from casework.referral.messages import Message, role_contacts
from config.partnership import Contact, Partnership


@dataclass(frozen=True)
class ListedCase:
    """A case on the agenda: reference, round, referring agency and the state of each return."""

    reference: str
    round: int
    referring_agency: str
    returns: dict[str, str]  # agency code -> returned | nil | not_received | outstanding
    attendees: dict[str, list[str]] = field(default_factory=dict)  # agency code -> who will attend


@dataclass(frozen=True)
class Agenda:
    """CIGM1: Part A practitioner review, Part B review and decision, one entry per listed case."""

    partnership: str
    meeting: Meeting
    location: str
    cases: tuple[ListedCase, ...]

    def missing(self) -> dict[str, list[str]]:
        """Case reference -> the agencies whose returns are still outstanding."""
        return {
            c.reference: [code for code, status in c.returns.items() if status == "outstanding"]
            for c in self.cases
            if any(status == "outstanding" for status in c.returns.values())
        }


def preparation_day(meeting: Meeting, working_days_before: int, calendar: WorkingCalendar) -> date:
    """The working day, `working_days_before` working days ahead of the meeting day, when its papers go out."""
    return calendar.subtract_working_days(calendar.local_date(meeting.starts_at), working_days_before)


def agenda_markdown(agenda: Agenda, zone_name: str = "Europe/London") -> str:
    """The agenda and papers summary as markdown (the Prefect artifact and the file on disk)."""
    from zoneinfo import ZoneInfo

    when = agenda.meeting.starts_at.astimezone(ZoneInfo(zone_name)).strftime("%A %-d %B %Y, %H:%M")
    lines = [f"# CIGM1 agenda: {agenda.partnership}", "", f"**{when}**, {agenda.location}", ""]
    if not agenda.cases:
        return "\n".join(lines + ["No cases are listed for this meeting.", ""])
    for part, title in (("A", "Practitioner review"), ("B", "Review and decision")):
        lines += [f"## Part {part}: {title}", ""]
        for number, case in enumerate(agenda.cases, start=1):
            lines.append(f"{part}{number}. Case **{case.reference}** (round {case.round}, referred by {case.referring_agency})")
        lines.append("")
    lines += ["## Returns (CIGINF1)", "", "| case | agency | return | attending |", "| --- | --- | --- | --- |"]
    for case in agenda.cases:
        for code, status in case.returns.items():
            cells = (case.reference, code, status.replace("_", " "), str(len(case.attendees.get(code, []))))
            lines.append("| " + " | ".join(markdown_cell(c) for c in cells) + " |")
    lines += ["", "## Attending", "", *(f"- {case.reference}: {attending_words(case)}" for case in agenda.cases)]
    return "\n".join(lines + [""])


def agenda_docx(agenda: Agenda, zone_name: str = "Europe/London") -> bytes:
    """The agenda as a Word document: what `agenda_markdown` says (parts A and B, the returns table, who
    attends counted by agency), with no name of a child, a family member or an attendee."""
    import io
    from zoneinfo import ZoneInfo

    from docx import Document  # (imported here: `cig` starts faster without it)

    when = agenda.meeting.starts_at.astimezone(ZoneInfo(zone_name)).strftime("%A %-d %B %Y, %H:%M")
    document = Document()
    document.add_heading(f"CIGM1 agenda: {agenda.partnership}", level=1)
    document.add_paragraph().add_run(f"{when}, {agenda.location}").bold = True
    if not agenda.cases:
        document.add_paragraph("No cases are listed for this meeting.")
    for part, title in (("A", "Practitioner review"), ("B", "Review and decision")) if agenda.cases else ():
        document.add_heading(f"Part {part}: {title}", level=2)
        for number, case in enumerate(agenda.cases, start=1):
            document.add_paragraph(f"{part}{number}. Case {case.reference} (round {case.round}, referred by "
                                   f"{case.referring_agency})")
    if agenda.cases:
        document.add_heading("Returns (CIGINF1)", level=2)
        table = document.add_table(rows=1, cols=4)
        table.style = "Table Grid"
        for cell, heading in zip(table.rows[0].cells, ("Case", "Agency", "Return", "Attending")):
            cell.text = heading
            cell.paragraphs[0].runs[0].bold = True
        for case in agenda.cases:
            for code, status in case.returns.items():
                cells = table.add_row().cells
                for cell, text in zip(cells, (case.reference, code, status.replace("_", " "),
                                              str(len(case.attendees.get(code, []))))):
                    cell.text = text
        document.add_heading("Attending", level=2)
        for case in agenda.cases:
            document.add_paragraph(f"{case.reference}: {attending_words(case)}", style="List Bullet")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def attending_words(case: ListedCase) -> str:
    """How many will attend for the case, by agency, never who: "3 attending (POL: 2, HEALTH: 1)"."""
    counts = {code: len(names) for code, names in case.attendees.items() if names}
    if not counts:
        return "no one named to attend"
    by_agency = ", ".join(f"{code}: {count}" for code, count in counts.items())
    return f"{sum(counts.values())} attending ({by_agency})"


def meeting_uid(scheduled_on: date) -> str:
    """The meeting's iCalendar UID, from the date the rule gave it: the same for the invitation and
    every later update or cancellation, so calendar programs change one entry rather than add one."""
    return f"cig-meeting-{scheduled_on.isoformat()}@case-review.invalid"


def _calendar_entry(
    method: str, *, scheduled_on: date, starts_at: datetime, duration_minutes: int, summary: str, location: str,
    description: str, organiser: Contact, attendees: Sequence[Contact], stamp: datetime, sequence: int,
    cancelled: bool = False,
) -> str:
    calendar = Calendar()
    calendar.add("prodid", "-//Case review//CIG meetings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", meeting_uid(scheduled_on))
    event.add("sequence", sequence)
    event.add("dtstamp", stamp.astimezone(timezone.utc))
    event.add("dtstart", starts_at.astimezone(timezone.utc))
    event.add("dtend", starts_at.astimezone(timezone.utc) + timedelta(minutes=duration_minutes))
    event.add("summary", summary)
    event.add("location", vText(location))
    event.add("description", description)
    if cancelled:
        event.add("status", "CANCELLED")
    organizer = vCalAddress(f"mailto:{organiser.email}")
    organizer.params["cn"] = vText(organiser.name)
    event["organizer"] = organizer
    for person in attendees:
        attendee = vCalAddress(f"mailto:{person.email}")
        attendee.params["cn"] = vText(person.name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        if not cancelled:
            attendee.params["rsvp"] = vText("TRUE")
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    return calendar.to_ical().decode()


def invitation(agenda: Agenda, duration_minutes: int, organiser: Contact, attendees: Sequence[Contact],
               stamp: datetime, sequence: int = 0) -> str:
    """An iCalendar (RFC 5545) REQUEST for the meeting, with a UID that stays the same when it is re-sent.

    `sequence` is the number of changes the meeting has had (moves), so a re-sent invitation is never
    older, to a calendar program, than an update it already holds."""
    return _calendar_entry(
        "REQUEST", scheduled_on=agenda.meeting.scheduled_on, starts_at=agenda.meeting.starts_at,
        duration_minutes=duration_minutes, summary=f"{agenda.partnership}: meeting", location=agenda.location,
        description=", ".join(c.reference for c in agenda.cases) or "no cases listed",
        organiser=organiser, attendees=attendees, stamp=stamp, sequence=sequence,
    )


def change_invitation(
    partnership: Partnership, *, scheduled_on: date, starts_at: datetime, references: Sequence[str],
    attendees: Sequence[Contact], stamp: datetime, sequence: int, cancelled: bool,
) -> str:
    """The update to a meeting's invitation: a REQUEST at its new time (a move) or a CANCEL with
    STATUS:CANCELLED (`starts_at` then the time it had), under the invitation's UID and a higher SEQUENCE."""
    return _calendar_entry(
        "CANCEL" if cancelled else "REQUEST", scheduled_on=scheduled_on, starts_at=starts_at,
        duration_minutes=partnership.meetings.duration_minutes, summary=f"{partnership.name}: meeting",
        location=partnership.meetings.location, description=", ".join(references) or "no cases listed",
        organiser=partnership.contacts.administrator, attendees=attendees, stamp=stamp, sequence=sequence,
        cancelled=cancelled,
    )


def meeting_members(partnership: Partnership, step: str = "meeting") -> list[Contact]:
    """Who is invited: the people the partnership's rule set names at `step` (`meeting`; `meeting_change`, who is
    told of a change), `agencies` being each member agency's contact (wt2015: the agencies, the CIG chair, the
    business manager and the administrator; wt2023: the agencies, the safeguarding partners, the business manager
    and the administrator). Each address once, in order."""
    rules = partnership.rules()
    seen: dict[str, Contact] = {}
    for key in rules.step(step).told:
        people = ([a.contact for a in partnership.agencies] if key == "agencies"
                  else [contact for contact, _ in role_contacts(partnership, rules, [key])])
        for person in people:
            seen.setdefault(person.email.lower(), person)
    return list(seen.values())


def agenda_messages(agenda: Agenda, partnership: Partnership, stamp: datetime, sequence: int = 0) -> list[Message]:
    """The agenda with its invitation to every member, and the missing returns and attendance to the administrator.

    `sequence`: how many times the meeting has been changed (see `invitation`)."""
    members = meeting_members(partnership)
    ics = invitation(agenda, partnership.meetings.duration_minutes, partnership.contacts.administrator, members, stamp,
                     sequence)
    step = f"meeting-agenda.{agenda.meeting.scheduled_on.isoformat()}.{agenda.meeting.starts_at:%Y%m%dT%H%M}"
    attachment = {"filename": f"meeting-{agenda.meeting.starts_at:%Y-%m-%d}.ics",
                  "content_type": "text/calendar", "content": ics}
    context = {
        "partnership": agenda.partnership,
        "reference": "",
        "meeting_at": agenda.meeting.starts_at,
        "location": agenda.location,
        "cases": [{"reference": c.reference, "round": c.round, "agency": c.referring_agency} for c in agenda.cases],
        "link": None,  # a member's personal link to the papers, set when the message is queued (casework.meetings.preparation)
    }
    messages = [Message(None, step, "meeting_agenda", person, 0, context, (attachment,)) for person in members]
    missing = agenda.missing()
    attending = [
        {"reference": c.reference, "agency": code, "who": ", ".join(who)}
        for c in agenda.cases for code, who in c.attendees.items() if who
    ]
    messages.append(Message(None, step.replace("meeting-agenda", "meeting-preparation"), "meeting_preparation",
                            partnership.contacts.administrator, 0,
                            context | {"missing": [{"reference": r, "agencies": a} for r, a in missing.items()],
                                       "attending": attending}))
    return messages
