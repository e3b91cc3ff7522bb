"""Who is told what in learning and improvement (pure): the 6-month review pack to the professional
development committee with its iCalendar invitation, copied to the business manager and training officer; the
training officer told a review's learning is theirs to write up once the board ratifies its final report.
Stable keys (reference or "-", step with the meeting's time, recipient), so a second send keeps one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone

from icalendar import Calendar, Event, vCalAddress, vText

from casework.learning.rules import ImpactPack
from casework.referral.messages import Message
from config.partnership import Contact, Partnership


def pack_recipients(partnership: Partnership) -> list[Contact]:
    """The committee (or, in a partnership file that names none, the business manager), the business manager
    and the training officer, each once."""
    contacts = partnership.contacts
    people = [contacts.professional_development_committee or contacts.business_manager, contacts.business_manager,
              contacts.training_officer]
    seen: dict[str, Contact] = {}
    for person in people:
        if person is not None:
            seen.setdefault(person.email, person)
    return list(seen.values())


def impact_invitation(*, reference: str | None, meeting_at: datetime, duration_minutes: int, location: str,
                      title: str, organiser: Contact, attendees: list[Contact], stamp: datetime) -> str:
    """An iCalendar (RFC 5545) REQUEST for the committee's meeting, its UID stable for the review and the time."""
    calendar = Calendar()
    calendar.add("prodid", "-//Case review//Learning and improvement//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", f"impact-review-{reference or 'all'}-{meeting_at:%Y%m%dT%H%M}@case-review.invalid")
    event.add("sequence", 0)
    event.add("dtstamp", stamp.astimezone(timezone.utc))
    event.add("dtstart", meeting_at.astimezone(timezone.utc))
    event.add("dtend", meeting_at.astimezone(timezone.utc) + timedelta(minutes=duration_minutes))
    event.add("summary", title)
    event.add("location", vText(location))
    event.add("description", "Learning and improvement: activity and impact on practice reviewed for scrutiny and challenge")
    organizer = vCalAddress(f"mailto:{organiser.email}")
    organizer.params["cn"] = vText(organiser.name)
    event["organizer"] = organizer
    for person in attendees:
        attendee = vCalAddress(f"mailto:{person.email}")
        attendee.params["cn"] = vText(person.name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["rsvp"] = vText("TRUE")
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    return calendar.to_ical().decode()


def impact_pack_messages(pack: ImpactPack, markdown: str, *, reference: str | None, meeting_at: datetime,
                         partnership: Partnership, stamp: datetime) -> list[Message]:
    """The pack (markdown attached, the counts in the body) and the meeting's invitation, to each recipient."""
    people = pack_recipients(partnership)
    ics = impact_invitation(reference=reference, meeting_at=meeting_at,
                            duration_minutes=partnership.meetings.duration_minutes,
                            location=partnership.meetings.location, title=pack.title,
                            organiser=partnership.contacts.administrator, attendees=people, stamp=stamp)
    name = f"impact-review-{reference or 'all'}-{meeting_at:%Y-%m-%d}"
    attachments = ({"filename": f"{name}.md", "content_type": "text/markdown", "content": markdown},
                   {"filename": f"{name}.ics", "content_type": "text/calendar", "content": ics})
    overdue = [a for a in pack.actions if a.status.value == "overdue"]
    context = {"partnership": partnership.name, "reference": reference or "", "title": pack.title,
               "meeting_at": meeting_at, "counts": pack.counts, "overdue": overdue, "actions": len(pack.actions),
               "link": None}  # the committee's personal link to the pack's page, set when queued (casework.learning.actions)
    step = f"impact-pack.{meeting_at:%Y%m%dT%H%M}"
    return [Message(reference, step, "impact_pack", person, 0, context, attachments) for person in people]


def target_date_message(reference: str, *, purpose: str, number: int, action: str, agency: str, target_on: date,
                        asked_for: date, reason: str, note: str | None, to: Contact, revision: int, link: str,
                        partnership: Partnership, stamp: datetime) -> Message:
    """A new target date for an action: asked for (`purpose` "asked", to the business manager, with the link to
    answer it) or answered ("accepted" or "declined", to the named lead, with a link to the action's page). Its
    key carries the moment it was asked or answered, so each is sent once."""
    context = {"partnership": partnership.name, "reference": reference, "purpose": purpose, "number": number,
               "action": action, "agency": agency, "target_on": target_on, "asked_for": asked_for, "reason": reason,
               "note": note, "link": link}
    step = f"target-{purpose}.A{number}.{stamp:%Y%m%dT%H%M%S}"
    return Message(reference, step, "action_target", to, revision, context)


def learning_write_up_notice(reference: str, *, review_type: str, ratified_on: date, partnership: Partnership,
                             terms: Mapping[str, str] | None = None) -> list[Message]:
    """The training officer is told the review's learning is theirs to write up (the learning summary, its
    dissemination and the audits that test it), once the board has ratified the final report; nobody when the
    partnership file names no training officer. The link to the learning page is set when queued
    (casework.learning.actions.learning_write_up). `terms`: the case's rule set's (who signed the report off);
    else the partnership's."""
    officer = partnership.contacts.training_officer
    if officer is None:
        return []
    context = {"partnership": partnership.name, "reference": reference, "review_type": review_type,
               "ratified_on": ratified_on, "terms": terms or partnership.rules().terms, "link": None}
    return [Message(reference, "learning-write-up", "learning_write_up", officer, 0, context)]
