"""Preparing the next meeting, in the database: when its preparation day has come, build the agenda
from the cases listed for it, write the papers to disk and queue the agenda (with the invitation)
to every member and the missing returns to the administrator, in one transaction.

Safe to run every day: the messages carry the meeting's date and time in their keys, so they go
once per meeting (and again only if the meeting is moved). Nothing here imports Prefect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from casework.actions import queue
from casework.agenda import Agenda, ListedCase, agenda_markdown, agenda_messages, preparation_day
from casework.meetings import next_meetings
from casework.office import Office
from casework.rescheduling import exceptions_in
from casework.store import cases as store


@dataclass(frozen=True)
class Preparation:
    """A prepared meeting: its agenda, where the papers are, and how many messages were queued."""

    agenda: Agenda
    markdown: str
    papers: Path
    queued: int


def prepare_meeting(office: Office, *, now: datetime) -> Preparation | None:
    """Prepare the next meeting if its preparation day has come; None when there is nothing to do yet."""
    rule = office.partnership.meetings
    with office.sessions.begin() as session:
        coming = next_meetings(rule, now, 1, exceptions_in(session))
        if not coming:
            return None
        meeting = coming[0]
        if office.calendar.local_date(now) < preparation_day(meeting, rule.prepare_working_days_before, office.calendar):
            return None
        listed = []
        for case in store.meeting_cases(session, meeting_on=meeting.scheduled_on):
            requests = store.round_requests(case)
            listed.append(ListedCase(
                reference=case.reference, round=case.round, referring_agency=case.referring_agency,
                returns={r.agency: r.status for r in requests},
                attendees={r.agency: list(r.attendees or []) for r in requests},
            ))
        agenda = Agenda(office.partnership.name, meeting, rule.location, tuple(listed))
        markdown = agenda_markdown(agenda, rule.timezone)
        papers = Path(office.settings.home) / "papers" / f"meeting-{meeting.starts_at:%Y-%m-%d}"
        papers.mkdir(parents=True, exist_ok=True)
        (papers / "agenda.md").write_text(markdown, encoding="utf-8")
        queued = queue(session, None, agenda_messages(agenda, office.partnership, now), now)
        if queued:
            store.audit(session, reference=None, actor="system", action="meeting prepared", now=now,
                        meeting=meeting.starts_at.isoformat(), cases=[c.reference for c in listed])
        return Preparation(agenda, markdown, papers, queued)
