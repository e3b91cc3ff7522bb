"""The office's own Run forms (flows/office.py) as the administrator uses them in the Prefect UI: the SIN recorded
and sent to its four recipients; a meeting added, moved or cancelled and every member told; an agency's link
re-issued or a case's links withdrawn; the tracker written as a workbook and named in an artifact. Bad input fails
the run with one line naming the field as the form heads it, and nothing changes.

The flows are called in this process under the session's test Prefect server, with the form as the Prefect UI
submits it (JSON: dates and times as text). They run on the real clock, so every date is taken from it.
Invented names, example.org addresses.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from openpyxl import load_workbook
from prefect.client.orchestration import get_client
from sqlalchemy import func, select

from casework.delivery import deliver_pending
from casework.links import LinkStep
from casework.forms import ScreeningForm
from casework.meetings import rescheduling
from casework.meetings.calendar import rule_gives
from casework.office import Office
from casework.referral import actions
from casework.store import cases as store
from casework.store.links import issued_links
from casework.store.tables import AuditEvent, MeetingException, OutboxMessage, PersonalLink
from flows.launch import FORM_FLOWS
from flows.office import (
    TRACKER_WORKBOOK_KEY, add_meeting, cancel_meeting, move_meeting, record_sin, resend_link, revoke_links,
    tracker_workbook,
)
from tests.flows.conftest import mail_to
from tests.flows.test_learning_forms import referral_as_of

FOUR = {"ofsted@example.org", "cig-chair@example.org", "business-manager@example.org", "independent-chair@example.org"}
MEMBERS = {"police@example.org", "social-care@example.org", "health@example.org"}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _today(office: Office) -> date:
    return office.calendar.local_date(_now())


def referred(office: Office) -> str:
    """A CIGSCR1 recorded yesterday, its case awaiting screening."""
    return actions.submit_referral(office, referral_as_of(_now() - timedelta(days=1)), now=_now(), actor="t").reference


def asked_for_returns(office: Office) -> str:
    """A case screened in and listed, every agency asked for its CIGINF1 (each with a link)."""
    reference = referred(office)
    actions.record_screening(office, reference, ScreeningForm(outcome="accept", decided_by="Casey Chair",
                                                              independent_chair_consulted=True), now=_now(), actor="t")
    actions.list_and_request_information(office, reference, now=_now())
    return reference


def everything(office: Office) -> tuple[Any, ...]:
    """All a form could change: the audit, the outbox, the links, the calendar's exceptions, each case's SIN."""
    with office.sessions() as session:
        counts = tuple(session.scalar(select(func.count()).select_from(table))
                       for table in (AuditEvent, OutboxMessage, PersonalLink, MeetingException))
        revoked = session.scalar(select(func.count()).select_from(PersonalLink).where(PersonalLink.revoked_at.is_not(None)))
        sins = tuple(case.sin_completed_on for case in store.list_cases(session))
    return counts, revoked, sins


def audited(office: Office) -> list[tuple[str, str]]:
    with office.sessions() as session:
        return [(e.actor, e.action) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


async def run_of(state) -> Any:  # type: ignore[no-untyped-def]
    async with get_client() as client:
        return await client.read_flow_run(state.state_details.flow_run_id)


# --- the SIN -------------------------------------------------------------------------------------------------

async def test_a_sin_recorded_on_the_form_goes_to_its_four_recipients_and_leaves_nothing_in_prefect(
        office: Office) -> None:
    reference = referred(office)
    today = _today(office)

    state = await record_sin(reference=reference, notification={
        "completed_on": today.isoformat(), "completed_by": "Sam Unit",
        "notification": "A young child was admitted to hospital with serious injuries."}, return_state=True)

    assert state.is_completed(), state.message
    subjects = mail_to(office)
    assert {to for to in FOUR if any("Serious Incident Notification" in s for s in subjects.get(to, []))} == FOUR
    assert ("record-sin form", "serious incident notification recorded") in audited(office)
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert (case.sin_completed_on, case.sin_sent_on) == (today, today)
    run = await run_of(state)
    assert run.name == f"record-sin-{reference}" and run.parameters == {}  # the text is sealed in the case database


SIN_REFUSALS = [
    pytest.param({"reference": "NOSUCH-0001"}, "Reference: no case with reference 'NOSUCH-0001'", id="unknown-case"),
    pytest.param({"completed_on": "2099-01-01"}, "Date completed: 2099-01-01 is in the future", id="future"),
    pytest.param({"notification": None}, "Notification: type or paste the notification's text", id="no-text"),
    pytest.param({"sent_on": "2020-01-01"}, "Date sent, if sent before: the notification cannot be sent before it "
                 "was completed", id="sent-before-completed"),
    pytest.param({"completed_by": None}, "Who completed it: Field required", id="no-name"),
]


@pytest.mark.parametrize(("changes", "expected"), SIN_REFUSALS)
async def test_a_refused_sin_fails_the_run_naming_the_field_and_records_nothing(
        office: Office, changes: dict[str, Any], expected: str) -> None:
    reference = referred(office)
    await deliver_pending(office)
    before, mail_before = everything(office), mail_to(office)
    given = changes.get("reference", reference)  # (not pop: the parameters are shared by the test on each database)
    changes = {k: v for k, v in changes.items() if k != "reference"}
    form = {"completed_on": _today(office).isoformat(), "completed_by": "Sam Unit",
            "notification": "A young child was admitted to hospital.", **changes}

    state = await record_sin(reference=given, notification={k: v for k, v in form.items() if v is not None},
                             return_state=True)

    assert state.is_failed()
    assert state.message == f"Serious Incident Notification not recorded for {given}: {expected}"
    assert everything(office) == before and mail_to(office) == mail_before


# --- the meeting calendar ------------------------------------------------------------------------------------

def _day_with_no_meeting(office: Office) -> date:
    day = _today(office) + timedelta(days=10)
    while rule_gives(office.partnership.meetings, day) or not office.calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


async def test_a_meeting_moved_on_the_form_is_moved_and_every_member_is_told(office: Office) -> None:
    [coming] = rescheduling.coming_meetings(office, now=_now(), count=1)
    on = coming.meeting.starts_at.astimezone(office.partnership.meetings.zone).date()
    to_on = on + timedelta(days=2)

    state = await move_meeting(meeting={"on": on.isoformat(), "to_on": to_on.isoformat(), "to_time": "10:30",
                                        "reason": "The chair is at court that day."}, return_state=True)

    assert state.is_completed(), state.message
    [now_first] = rescheduling.coming_meetings(office, now=_now(), count=1)
    local = now_first.meeting.starts_at.astimezone(office.partnership.meetings.zone)
    assert (now_first.meeting.moved, local.date(), local.strftime("%H:%M")) == (True, to_on, "10:30")
    told = {to for to, subjects in mail_to(office).items() if any(s.startswith("Meeting moved:") for s in subjects)}
    assert MEMBERS | {"cig-chair@example.org", "business-manager@example.org"} <= told
    assert ("meeting form", "meeting moved") in audited(office)


async def test_a_meeting_cancelled_on_the_form_is_gone_and_an_extraordinary_one_is_added(office: Office) -> None:
    [coming] = rescheduling.coming_meetings(office, now=_now(), count=1)
    on = coming.meeting.starts_at.astimezone(office.partnership.meetings.zone).date()

    cancelled = await cancel_meeting(meeting={"on": on.isoformat(), "reason": "Too few members can come."},
                                     return_state=True)

    assert cancelled.is_completed(), cancelled.message
    assert on not in [m.meeting.starts_at.astimezone(office.partnership.meetings.zone).date()
                      for m in rescheduling.coming_meetings(office, now=_now(), count=2)]
    assert any(s.startswith("Meeting cancelled:") for s in mail_to(office)["police@example.org"])

    extra = _day_with_no_meeting(office)
    added = await add_meeting(meeting={"on": extra.isoformat(), "starts_at": "14:00",
                                       "reason": "A further date to meet set at the last meeting."}, return_state=True)

    assert added.is_completed(), added.message
    listed = [m.meeting for m in rescheduling.coming_meetings(office, now=_now(), count=4) if m.meeting.extraordinary]
    assert [m.starts_at.astimezone(office.partnership.meetings.zone).strftime("%Y-%m-%d %H:%M") for m in listed] == [
        f"{extra.isoformat()} 14:00"]
    assert any(s.startswith("Extraordinary meeting:") for s in mail_to(office)["police@example.org"])
    assert ("meeting form", "meeting added") in audited(office)


async def test_refused_meeting_forms_fail_the_run_naming_the_field_and_change_nothing(office: Office) -> None:
    reference = referred(office)  # awaiting screening: not waiting for a meeting
    [coming] = rescheduling.coming_meetings(office, now=_now(), count=1)
    meeting_day = coming.meeting.starts_at.astimezone(office.partnership.meetings.zone).date()
    free = _day_with_no_meeting(office)
    await deliver_pending(office)
    before = everything(office)

    no_meeting = await move_meeting(meeting={"on": free.isoformat(), "to_on": (free + timedelta(days=1)).isoformat(),
                                             "reason": "r"}, return_state=True)
    to_the_past = await move_meeting(meeting={"on": meeting_day.isoformat(), "to_on": "2020-01-06", "reason": "r"},
                                     return_state=True)
    on_a_meeting_day = await add_meeting(meeting={"on": meeting_day.isoformat(), "reason": "r"}, return_state=True)
    not_waiting = await add_meeting(meeting={"on": free.isoformat(), "reason": "r", "cases": [reference]},
                                    return_state=True)
    no_reason = await cancel_meeting(meeting={"on": meeting_day.isoformat()}, return_state=True)

    assert no_meeting.message == (f"Meeting not moved: Date of the meeting: there is no meeting on "
                                  f"{free:%A %-d %B %Y} in the calendar")
    assert to_the_past.message == "Meeting not moved: New date: a meeting can only be moved to a time in the future"
    assert on_a_meeting_day.message.startswith(
        f"Meeting not added: Date of the meeting: the calendar already has a meeting on {meeting_day:%A %-d %B %Y}")
    assert not_waiting.message == (f"Meeting not added: Cases to consider at it: {reference} is not waiting for a "
                                   "meeting (it is awaiting screening)")
    assert no_reason.message == "Meeting not cancelled: Why it is cancelled: Field required"
    assert all(s.is_failed() for s in (no_meeting, to_the_past, on_a_meeting_day, not_waiting, no_reason))
    assert everything(office) == before


# --- personal links ------------------------------------------------------------------------------------------

async def test_a_link_reissued_on_the_form_reaches_the_agency_and_its_earlier_link_stops(office: Office) -> None:
    reference = asked_for_returns(office)
    await deliver_pending(office)
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        [first] = issued_links(session, case=case, step=LinkStep.information_return, agency="POL")
        first_id = first.id

    state = await resend_link(reference=reference, link={"agency": "POL: Northshire Police"}, return_state=True)

    assert state.is_completed(), state.message
    assert f"[{reference}] Your new link to the request for information (CIGINF1)" in mail_to(office)["police@example.org"]
    with office.sessions() as session:
        assert session.get(PersonalLink, first_id).revoked_at is not None
    assert ("link form", "link resent") in audited(office)
    assert (await run_of(state)).name == f"resend-link-{reference}-POL"


async def test_links_withdrawn_on_the_form_for_one_agency_then_all(office: Office) -> None:
    reference = asked_for_returns(office)
    with office.sessions() as session:
        case_id = store.get_case(session, reference=reference).id
        live = session.scalar(select(func.count()).select_from(PersonalLink).where(
            PersonalLink.case_id == case_id, PersonalLink.revoked_at.is_(None)))

    police = await revoke_links(reference=reference, links={"agency": "POL"}, return_state=True)
    rest = await revoke_links(reference=reference, links={}, return_state=True)

    assert police.is_completed() and rest.is_completed(), (police.message, rest.message)
    assert (await police.result(), await rest.result()) == (1, live - 1)  # the police's link, then every other
    with office.sessions() as session:
        links = session.scalars(select(PersonalLink).where(PersonalLink.case_id == case_id)).all()
        assert links and all(link.revoked_at is not None for link in links)
    assert [name for name in [(await run_of(police)).name, (await run_of(rest)).name]] == [
        f"revoke-links-{reference}-POL", f"revoke-links-{reference}"]


async def test_refused_link_forms_fail_the_run_naming_the_field_and_change_nothing(office: Office) -> None:
    reference = asked_for_returns(office)
    await deliver_pending(office)
    before = everything(office)

    unknown_case = await resend_link(reference="NOSUCH-0001", link={"agency": "POL"}, return_state=True)
    unknown_agency = await revoke_links(reference=reference, links={"agency": "NOPE"}, return_state=True)
    not_an_agency = await resend_link(reference=reference, link={"agency": "police"}, return_state=True)

    assert unknown_case.message == "No new link sent for NOSUCH-0001: Reference: no case with reference 'NOSUCH-0001'"
    assert unknown_agency.message.startswith(f"No link withdrawn for {reference}: Only this agency's links: unknown agency code 'NOPE'")
    assert not_an_agency.message == f"No new link sent for {reference}: Agency: not a valid agency"
    assert everything(office) == before


# --- the tracker workbook ------------------------------------------------------------------------------------

async def test_the_tracker_workbook_is_written_under_the_papers_folder_and_named_in_an_artifact(office: Office) -> None:
    reference = asked_for_returns(office)

    state = await tracker_workbook(return_state=True)

    assert state.is_completed(), state.message
    path = office.settings.papers_dir / f"case-tracker-{_today(office).isoformat()}.xlsx"
    assert await state.result() == str(path)
    sheet = load_workbook(path).active
    headings = [cell.value for cell in sheet[1]]
    assert headings[0] == "Reference" and headings[-1] == "Overdue"
    assert sheet.cell(row=2, column=1).value == reference
    async with get_client() as client:
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

        [artifact] = await client.read_latest_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=[TRACKER_WORKBOOK_KEY])))
    assert f"**{path.name}**" in artifact.data and "1 case(s)" in artifact.data
    assert reference not in artifact.data  # the workbook's rows stay on disk
    assert ("tracker-workbook form", "tracker exported") in audited(office)


def test_the_housekeeping_deletes_the_finished_runs_of_every_office_form() -> None:
    assert {"record-sin", "add-meeting", "move-meeting", "cancel-meeting", "resend-link", "revoke-links",
            "record-panel-notification", "record-panel-reply"} <= set(FORM_FLOWS)
