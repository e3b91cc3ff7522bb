"""Preparing the coming meetings, in the database: when a meeting's preparation day has come, build its
agenda from the cases listed for it now, write its papers pack to disk and queue the agenda (with the
invitation and each member's papers link) to every member and the missing returns to the administrator,
in one transaction. Every meeting whose day has come is prepared, an extraordinary one as well as the
regular one after it; a meeting with no case listed gets no agenda.

The papers pack is a folder per meeting under the settings' papers folder, named by the date the calendar
gave the meeting: the agenda and one paper per listed case (CIGSCR1 summary, returns received, returns
missing), each as markdown (`agenda.md`, `case-<reference>.md`: what the website's papers page shows) and
as a Word document (`agenda.docx`, `case-<reference>.docx`: what a member downloads). The case papers hold
special-category data, so folders are 0700 and files 0600. Needs the case database with its data keys
installed (casework.office). Safe to run every day: the messages carry the meeting's date and time in
their keys, so they go once per meeting (and again only if the meeting is moved); the papers are
rewritten each run with the returns received so far, and a case listed elsewhere since loses its paper.
Nothing here imports Prefect.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.referral.actions import queue
from casework.meetings.agenda import Agenda, ListedCase, agenda_docx, agenda_markdown, agenda_messages, preparation_day
from casework.links import LinkStep, link_url
from casework.meetings.calendar import Meeting, next_meetings
from casework.referral.messages import Message
from casework.office import Office
from casework.meetings.papers import (
    CasePapers, ReturnPaper, case_paper_docx, case_paper_markdown, paper_filename, papers_index_markdown,
)
from casework.meetings.rescheduling import change_sequence, exceptions_in
from casework.store import cases as store
from casework.store import links as link_store
from casework.store.tables import Case, OutboxMessage
from config.partnership import Partnership


AGENDA_MARKDOWN, AGENDA_DOCUMENT = "agenda.md", "agenda.docx"


@dataclass(frozen=True)
class Preparation:
    """A prepared meeting: its agenda (`markdown`, also `agenda.md`), the papers folder and its case
    papers (reference -> file), the artifact (agenda and pack index, no personal data) and how many
    messages were queued."""

    agenda: Agenda
    markdown: str
    papers: Path
    queued: int
    files: dict[str, Path]
    artifact: str


def case_papers(case: Case, partnership: Partnership) -> CasePapers:
    """The case's papers for its meeting, from the case row (personal data opened from the sealed columns)."""
    personal = case.personal or {}
    child = personal.get("child", {})
    returns = tuple(
        ReturnPaper(
            agency=r.agency, agency_name=_agency_name(partnership, r.agency), status=r.status,
            returned_at=r.returned_at, involvement=(r.content or {}).get("involvement"),
            key_practitioners=list((r.content or {}).get("key_practitioners") or []), attendees=list(r.attendees or []),
        )
        for r in store.round_requests(case)
    )
    return CasePapers(
        reference=case.reference, round=case.round,
        referring_agency=personal.get("organisation") or _agency_name(partnership, case.referring_agency), notified_on=case.notified_on,
        reasons=personal.get("reasons", ""), case_summary=personal.get("case_summary", ""),
        child_name=child.get("name", ""),
        child_date_of_birth=date.fromisoformat(child["date_of_birth"]) if child.get("date_of_birth") else None,
        child_date_of_death=date.fromisoformat(child["date_of_death"]) if child.get("date_of_death") else None,
        significant_people=list(personal.get("significant_people") or []),
        named_lead=personal.get("named_lead") or "", returns=returns,
    )


def _agency_name(partnership: Partnership, code: str) -> str:
    try:
        return partnership.agency(code).name
    except ValueError:  # an agency since removed from the partnership file
        return code


def with_papers_links(session: Session, office: Office, messages: list[Message], meeting: Meeting, *,
                      now: datetime) -> list[Message]:
    """The agenda messages, each member's (not yet queued) carrying a new personal link to the meeting's
    papers on the secure website, valid until `papers_link_hours` after the meeting starts."""
    queued = set(session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_([m.key for m in messages]))))
    expires_at = meeting.starts_at + timedelta(hours=office.settings.papers_link_hours)
    linked = []
    for message in messages:
        if message.template == "meeting_agenda" and message.key not in queued:
            token = link_store.issue_link(session, case=None, step=LinkStep.papers, recipient=message.to.email,
                                          agency=None, round=0, meeting_on=meeting.scheduled_on, expires_at=expires_at,
                                          now=now)
            message = dataclasses.replace(
                message, context=message.context | {"link": link_url(office.settings.website_url, token)})
        linked.append(message)
    return linked


def meeting_papers_folder(papers_dir: Path, scheduled_on: date) -> Path:
    """A meeting's papers folder, named by the day the calendar scheduled it: a moved meeting keeps
    its folder, so a case's papers are never left behind in one named after the old date."""
    return papers_dir / f"meeting-{scheduled_on:%Y-%m-%d}"


def delete_case_papers(papers_dir: Path, reference: str) -> int:
    """Delete every meeting paper of the case (retention); return how many files went."""
    stale = list(papers_dir.glob(f"meeting-*/{paper_filename(reference)}"))
    for path in stale:
        path.unlink()
    return len(stale)


def _private_folder(path: Path) -> Path:
    """Make the folder (owner only, 0700), tightening it if it was already there."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def _write_private(path: Path, content: str | bytes) -> None:
    """Replace the file whole with `content` (text is written as UTF-8), readable and writable by the owner
    only (0600)."""
    descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".draft")  # mode 0600
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content.encode("utf-8") if isinstance(content, str) else content)
        os.replace(draft, path)
    except BaseException:
        Path(draft).unlink(missing_ok=True)
        raise


def write_papers(folder: Path, agenda: Agenda, cases: list[CasePapers], zone_name: str) -> dict[str, Path]:
    """Write the pack: the agenda and one paper per case, each as markdown (read on the website's page) and as
    a Word document (the download); a case no longer listed loses its paper. The markdown papers by reference."""
    _private_folder(folder.parent)
    _private_folder(folder)
    _write_private(folder / AGENDA_MARKDOWN, agenda_markdown(agenda, zone_name))
    _write_private(folder / AGENDA_DOCUMENT, agenda_docx(agenda, zone_name))
    files = {c.reference: folder / paper_filename(c.reference) for c in cases}
    for papers in cases:
        _write_private(files[papers.reference], case_paper_markdown(papers, zone_name))
        _write_private(folder / paper_filename(papers.reference, ".docx"), case_paper_docx(papers, zone_name))
    kept = {name for reference in files for name in (paper_filename(reference), paper_filename(reference, ".docx"))}
    for stale in folder.glob("case-*"):
        if stale.name not in kept:
            stale.unlink()
    return files


def listed_for(session: Session, meeting: Meeting) -> list[Case]:
    """The open cases listed for `meeting` now: on its date and at its time (an extraordinary meeting held
    earlier the same day keeps the cases it considered)."""
    return [case for case in store.meeting_cases(session, meeting_on=meeting.scheduled_on)
            if case.meeting_at == meeting.starts_at]


def prepare_meetings(office: Office, *, now: datetime) -> list[Preparation]:
    """Prepare every coming meeting whose preparation day has come and which has a case listed (an
    extraordinary meeting as well as the regular one after it: each its own pack, agenda and papers links).
    A meeting with no case listed gets no agenda; its pack, if one was written before its cases moved, loses
    their papers."""
    rule = office.partnership.meetings
    prepared = []
    with office.sessions() as session:
        coming = next_meetings(rule, now, 6, exceptions_in(session))
    for meeting in coming:
        if office.calendar.local_date(now) < preparation_day(meeting, rule.prepare_working_days_before, office.calendar):
            break  # the meetings are in order: a later one's day has not come either
        preparation = _prepare(office, meeting, now=now)
        if preparation is not None:
            prepared.append(preparation)
    return prepared


def prepare_meeting(office: Office, *, now: datetime) -> Preparation | None:
    """The first meeting `prepare_meetings` prepared, or None when there was nothing to do yet."""
    return next(iter(prepare_meetings(office, now=now)), None)


def _prepare(office: Office, meeting: Meeting, *, now: datetime) -> Preparation | None:
    """Build the meeting's agenda and pack from the cases listed for it now, and queue its messages."""
    rule = office.partnership.meetings
    papers = meeting_papers_folder(office.settings.papers_dir, meeting.scheduled_on)
    with office.sessions.begin() as session:
        cases = listed_for(session, meeting)
        if not cases:
            for stale in papers.glob("case-*") if papers.is_dir() else ():
                stale.unlink()
            return None
        listed = []
        papers_of = []
        for case in cases:
            papers_of.append(case_papers(case, office.partnership))
            requests = store.round_requests(case)
            listed.append(ListedCase(
                reference=case.reference, round=case.round, referring_agency=case.referring_agency,
                returns={r.agency: r.status for r in requests},
                attendees={r.agency: list(r.attendees or []) for r in requests},
            ))
        agenda = Agenda(office.partnership.name, meeting, rule.location, tuple(listed))
        markdown = agenda_markdown(agenda, rule.timezone)
        files = write_papers(papers, agenda, papers_of, rule.timezone)
        artifact = markdown + "\n" + papers_index_markdown(papers_of, files, papers / AGENDA_MARKDOWN)
        sequence = change_sequence(session, meeting.scheduled_on)
        messages = agenda_messages(agenda, office.partnership, now, sequence)
        queued = queue(session, None, with_papers_links(session, office, messages, meeting, now=now), now)
        if queued:
            store.audit(session, reference=None, actor="system", action="meeting prepared", now=now,
                        meeting=meeting.starts_at.isoformat(), cases=[c.reference for c in listed])
        return Preparation(agenda, markdown, papers, queued, files, artifact)
