"""Personal data stays in the case database, sealed: Prefect keeps no personal value a case holds.

A referral with distinctive invented people and words goes in through the `submit-referral` flow
(the CIGSCR1 as the intake run's parameters, as the Prefect UI sends it) and is carried through
every step to a no-SCR decision on the test Prefect server, with a decision input the run refuses
on the way: the CIG chair screens it and one agency returns its CIGINF1 on the secure website (over
HTTP, from the links in their emails, naming two attendees, one typed with HTML and a "|"), the
others by `cig`; the `prepare-meeting` flow prepares the meeting the case is listed for, and the
monthly and annual reports are published, so that every kind of artifact the flows publish is
there (`ARTIFACT_KINDS`). Then every place Prefect keeps anything,
and the website's log, is searched for every personal value: each
name, date of birth, the reasons and summary of the CIGSCR1, the involvement text, practitioners
and attendees of the returns, the free text of every person's form (the refused one too): every
text value of every table of its database (and the database file's raw bytes once its
write-ahead log is checkpointed, so a deleted input left in a free page would count too), every
file under PREFECT_HOME (persisted results, local storage), the artifacts and the flow-run logs
read through the API. None may appear. The case database holds them only as Fernet ciphertext,
and the National Panel notice of a no-SCR decision carries neither names nor dates of birth.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID

import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId,
                                            FlowRunFilterName, LogFilter, LogFilterFlowRunId)
from prefect.flow_runs import aresume_flow_run
from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL
from sqlalchemy import select, text

import logging

import httpx
import pytest

from casework.forms import AgencyReturnForm, DecisionForm, RecommendationForm, ReferralForm, ScreeningForm
from casework.model import ChairResponse
from casework.office import Office, open_office
from casework.store import cases as store
from casework.store.tables import AuditEvent
from flows.forms import presented_input
from casework.meetings.calendar import next_meetings
from casework.meetings.rescheduling import exceptions_in
from flows.annual_report import annual_report
from flows.intake import submit_referral
from flows.meetings import prepare_meeting
from flows.report import monthly_report
from flows.launch import delete_finished_form_runs
from flows.people import submit_step, waiting_for_input
from notifications.mailbox import read_mailbox
from tests.flows.conftest import mail_to, meet_now, wait_until
from tests.flows.test_referral_flow import EXAMPLE, finished, no_scr_decision
from tasks.artifacts import TRACKER_KEY, artifact_key, case_key
from tasks.learning import INDEX_KEY
from tasks.reports import report_artifact_key
from tests.website.conftest import link_in
from tests.website.test_website_return import PDF  # a one-page PDF, as the upload check parses it
from website.app import create_app

CHILD = "Zephyrine Quillfeather"
CHILD_BORN = date(2019, 2, 17)
MOTHER = "Oswaldine Marrowgate"
MOTHER_BORN = date(1990, 8, 23)


def spellings(born: date) -> list[str]:
    return [born.isoformat(), born.strftime("%d/%m/%Y"), born.strftime("%d %b %Y"), born.strftime("%d %B %Y"),
            born.strftime("%Y%m%d")]


ADDRESS = "7 Gorsewhistle Lane, Northshire NS9 9ZZ"
NAMED_LEAD = "Perpetua Wrenfield"
SAFEGUARDING_LEAD = "Barnaby Ottershaw"
REASONS = "Unexplained bruising noticed by the quillwort nursery"
SUMMARY = "Ambulance called to the marrowgate flat at night"
SCREENED_BY = "Thaddeus Screenwright"
INVOLVEMENT = "Health visitor saw the family at the lantern clinic"
PRACTITIONER = "Ysolde Brackenbury"
ATTENDEE = "Cosimo Fernleigh"
MARKED_UP_ATTENDEE = "Lysander Quaile"
MARKED_UP = f"<i>{MARKED_UP_ATTENDEE}</i> | deputy head"  # HTML and a table's "|", as an agency typed it
RECOMMENDED_WHY = "Agencies missed the bramblegate referral"
DECIDED_BY = "Ignatius Deciderworth"
DECIDED_WHY = "Learning is local to the hollowmere team"
REFUSED_WHY = "Refused draft about the thistledown visit"
CRITERIA_WHY = "Joint working at the copperbeech hub was sound"
NATURE = "Non-accidental injury reported by the saltmarsh ward"

FREE_TEXT = [ADDRESS, "Gorsewhistle", NAMED_LEAD, SAFEGUARDING_LEAD, REASONS, SUMMARY, SCREENED_BY, INVOLVEMENT, PRACTITIONER, ATTENDEE,
             MARKED_UP_ATTENDEE, RECOMMENDED_WHY, DECIDED_BY, DECIDED_WHY, REFUSED_WHY, CRITERIA_WHY, NATURE]
IDENTITIES = [CHILD, CHILD.split()[1], MOTHER, MOTHER.split()[1], *spellings(CHILD_BORN), *spellings(MOTHER_BORN)]
NEEDLES = IDENTITIES + FREE_TEXT


def hits(haystack: str, needles: list[str] = NEEDLES) -> list[str]:
    lowered = haystack.lower()
    return [n for n in needles if n.lower() in lowered]


def prefect_database() -> Path:
    url = PREFECT_API_DATABASE_CONNECTION_URL.value()
    assert url and url.startswith("sqlite"), f"the scan reads the test server's SQLite database, not {url}"
    return Path(url.split("///", 1)[1])


def database_text(path: Path) -> str:
    """Every value of every table, as text, read while the server runs."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        values = []
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                values += [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row]
    finally:
        connection.close()
    return "\n".join(values)


def checkpointed_bytes(path: Path) -> str:
    """The database file's raw bytes, free pages included, once the write-ahead log is folded in and
    truncated (what a copy of the server's database would hold)."""
    connection = sqlite3.connect(path, timeout=30)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in path.parent.glob(path.name + "*"))


def files_text(directory: Path) -> str:
    """Every file under a directory, bytes read as text."""
    return "\n".join(f.read_bytes().decode("utf-8", "replace") for f in directory.rglob("*") if f.is_file())


def stage_of(office: Office, reference: str) -> str:
    with office.sessions() as session:
        return store.get_case(session, reference=reference).stage


def referral_about_zephyrine() -> ReferralForm:
    data = yaml.safe_load(EXAMPLE.read_text())
    data.update(reasons=REASONS, case_summary=SUMMARY, named_lead=NAMED_LEAD)
    data["route"]["safeguarding_lead"] = SAFEGUARDING_LEAD
    data["child"] = {"name": CHILD, "date_of_birth": CHILD_BORN, "address": ADDRESS}
    data["significant_people"] = [{"name": MOTHER, "date_of_birth": MOTHER_BORN, "relationship": "mother",
                                   "address": ADDRESS}]
    return ReferralForm.model_validate(data, context={"today": datetime.now(timezone.utc).date()})


def decision(rationale: str, nature: str) -> DecisionForm:
    return no_scr_decision().model_copy(update={
        "response": ChairResponse.affirm, "rationale": rationale, "decided_by": DECIDED_BY,
        "criteria_explanation": CRITERIA_WHY,
        "anonymised_details": no_scr_decision().anonymised_details.model_copy(update={"nature_of_incident": nature}),
    })


async def next_form_schema(flow_run_id: UUID, key_prefix: str) -> dict:  # type: ignore[type-arg]
    """The JSON schema of the form the run now waits with (what the Resume dialog draws)."""
    async with get_client() as client:
        await wait_until(lambda: waiting_for_input(client, flow_run_id, key_prefix), what="the next form")
        keyset = (await client.read_flow_run(flow_run_id)).state.state_details.run_input_keyset
        return json.loads(await client.read_flow_run_input(flow_run_id, keyset["schema"]))


async def refused_in_the_run(office: Office, reference: str, flow_run_id: str, form: DecisionForm) -> None:
    """Resume the run the way the UI's Resume button does, with a form the run itself refuses."""
    async with get_client() as client:
        await wait_until(lambda: waiting_for_input(client, UUID(flow_run_id), "decision-"), what="the decision form")
    await aresume_flow_run(UUID(flow_run_id), run_input=presented_input(form, office.partnership))

    def refused() -> bool:
        with office.sessions() as session:
            return session.scalars(select(AuditEvent).where(
                AuditEvent.case_reference == reference, AuditEvent.action == "decision input refused")).first() is not None
    await wait_until(refused, what="the run to refuse the decision input")


def form_token(page: str) -> str:
    import re

    found = re.search(r'name="form_token" value="([0-9a-f]{64})"', page)
    assert found, page
    return found.group(1)


async def on_the_website(office: Office, to: str, subject_part: str, fields: dict[str, str],
                         files: list[tuple[str, bytes]] | None = None) -> str:
    """Open the link in the email `to` received, post the page's form as a browser would; the reply page."""
    await wait_until(lambda: any(subject_part in m.subject for m in read_mailbox(office.settings.mail_dir) if to in m.to),
                     what=f"the email to {to}")
    [mail] = [m for m in read_mailbox(office.settings.mail_dir) if to in m.to and subject_part in m.subject]
    link = link_in(mail)
    transport = httpx.ASGITransport(app=create_app(office))
    async with httpx.AsyncClient(transport=transport, base_url=office.settings.website_url) as browser:
        page = (await browser.get(link)).text
        uploads = [("documents", (name, data, "application/pdf")) for name, data in (files or [])]
        done = await browser.post(link, data={**fields, "form_token": form_token(page)}, files=uploads or None)
    assert done.status_code == 200, done.text
    return done.text


def artifact_kinds(reference: str, meeting_on: date, month: date, year: int) -> dict[str, str]:
    """Every kind of artifact the flows publish, by the key this test's journey gives it: the intake
    run's link, the case's timeline and progress, the tracker, the meeting agenda, the monthly and
    annual reports and the learning and improvement index."""
    return {"intake": artifact_key("intake", reference), "timeline": case_key(reference),
            "progress": artifact_key("case", reference, "progress"), "tracker": TRACKER_KEY,
            "meeting agenda": f"meeting-agenda-{meeting_on:%Y-%m-%d}", "monthly report": report_artifact_key(month),
            "annual report": f"annual-report-{year}", "learning index": INDEX_KEY}


async def prepare_the_listed_meeting(office: Office, reference: str) -> date:
    """Run `prepare-meeting` as its schedule would on the morning of the meeting the case is listed for
    (the papers go out from its preparation day on); the meeting's date."""
    with office.sessions() as session:
        listed_on = store.get_case(session, reference=reference).meeting_on
        exceptions = exceptions_in(session)
    coming = next_meetings(office.partnership.meetings, datetime.now(timezone.utc), 6, exceptions)
    [meeting] = [m for m in coming if m.scheduled_on == listed_on]
    assert await prepare_meeting(now=meeting.starts_at - timedelta(minutes=1)) > 0
    return meeting.starts_at.date()




async def test_no_personal_value_stays_on_the_prefect_server(office: Office, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="website")
    reference = await submit_referral(referral_about_zephyrine())
    with office.sessions() as session:
        flow_run_id = store.get_case(session, reference=reference).flow_run_id
    screened = await on_the_website(office, "cig-chair@example.org", "New referral", {
        "outcome": "accept", "decided_by": SCREENED_BY, "independent_chair_consulted": "true"})
    assert "Screening recorded" in screened
    for code in ("POL", "CSC"):
        await submit_step(office, reference, "return", AgencyReturnForm(agency=code, status="nil"))
    returned = await on_the_website(office, "health@example.org", "(CIGINF1)", {
        "status": "returned", "involvement": INVOLVEMENT, "key_practitioners": PRACTITIONER,
        "attendees": f"{ATTENDEE}\n{MARKED_UP}"},
        [("CIGINF1 health.pdf", PDF)])
    assert "Return recorded" in returned
    await wait_until(lambda: stage_of(office, reference) == "awaiting_recommendation", what="every return recorded")
    meeting_on = await prepare_the_listed_meeting(office, reference)
    meet_now(office, reference)
    await submit_step(office, reference, "recommendation",
                      RecommendationForm(outcome="multi_agency_concise_review", rationale=RECOMMENDED_WHY))
    # the anonymised details name the mother: the run refuses the input, which held free text too
    await refused_in_the_run(office, reference, flow_run_id, decision(REFUSED_WHY, f"{NATURE}; {MOTHER} present"))
    # the next form comes back filled in with what was typed, and says what to change
    schema = await next_form_schema(UUID(flow_run_id), "decision-")
    assert schema["properties"]["rationale"]["default"] == REFUSED_WHY
    assert schema["properties"]["response"]["default"] == "Affirm the recommendation"
    assert schema["required"] == ["response", "decision", "rationale", "decided_by"]
    assert schema["properties"]["response"]["description"].startswith(
        "**Not recorded, please change:** anonymised_details.nature_of_incident: word 8 is (part of) the name")
    await submit_step(office, reference, "decision", decision(DECIDED_WHY, NATURE))
    await wait_until(finished(office, reference), what="the case to be decided")
    await wait_until(lambda: "national-panel@example.org" in mail_to(office), what="the Panel notice")

    today = office.calendar.local_date(datetime.now(timezone.utc))  # the reports, for the artifacts they publish
    await monthly_report(month=f"{today:%Y-%m}", email=False)
    await annual_report(year=today.year, email=False)

    async with get_client() as client:  # the intake run: renamed after the case, its CIGSCR1 deleted
        [intake] = await client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[f"intake-{reference}"])))
        assert intake.parameters == {} and intake.state.is_completed()

    # Prefect's database, read table by table, and its raw file (free pages included)
    database = prefect_database()
    rows = database_text(database)
    assert reference in rows, "the scan reads the server's database (the run is named after the case)"
    assert hits(rows) == []
    assert hits(checkpointed_bytes(database)) == []

    # everything under PREFECT_HOME: persisted results, local storage, the profile
    assert hits(files_text(Path(os.environ["PREFECT_HOME"]))) == []

    # artifacts and the run's logs, through the API: every kind of artifact the flows publish is there
    kinds = artifact_kinds(reference, meeting_on, today.replace(day=1), today.year)
    async with get_client() as client:
        published = ArtifactFilter(key=ArtifactFilterKey(any_=list(kinds.values())))
        artifacts = await client.read_artifacts(artifact_filter=published)
        assert {a.key for a in artifacts} == set(kinds.values())
        assert hits("\n".join(a.model_dump_json() for a in artifacts)) == []
        # who attends, counted, never named (the newest version: the server is the session's, and the test on
        # the other database prepared a meeting on the same day under the same key)
        agenda = max((a for a in artifacts if a.key == kinds["meeting agenda"]), key=lambda a: a.created)
        assert f"| {reference} | HEALTH | returned | 2 |" in agenda.data
        assert f"- {reference}: 2 attending (HEALTH: 2)" in agenda.data
        assert "<i>" not in agenda.data
        logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id, intake.id])))
        assert hits("\n".join(log.message for log in logs)) == []
        runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        assert runs and hits("\n".join(r.model_dump_json() for r in runs)) == []  # parameters, state, tags

    # the website's log, after the whole journey: the routes it served, never a name or a date of birth
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("website"))
    assert "POST /link/{token} 200" in logged, "the scan reads the website's log"
    assert hits(logged) == []

    # the case database holds them sealed
    with office.sessions() as session:
        sealed = session.execute(text("SELECT personal FROM cases WHERE reference = :r"), {"r": reference}).scalar_one()
        case = store.get_case(session, reference=reference)
        assert case.personal["child"]["name"] == CHILD  # it opens with the key
    assert sealed.startswith("gAAAAA") and hits(sealed) == []

    # the National Panel is told the age, not the name or the date of birth
    panel = [m for m in read_mailbox(office.settings.mail_dir) if "national-panel@example.org" in m.to]
    assert len(panel) == 1
    assert hits("\n".join([panel[0].subject, panel[0].text(), panel[0].html()]), IDENTITIES) == []
    assert hits(panel[0].file.read_bytes().decode("utf-8", "replace"), IDENTITIES) == []


async def test_a_refused_cigscr1_is_told_in_one_line_and_kept_to_correct(office: Office, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    form = referral_about_zephyrine().model_dump(mode="json")
    form["child"]["date_of_death"] = "2019-01-01"  # before the date of birth
    form["facts"]["child_died"] = True

    state = await submit_referral(form, return_state=True)

    assert state.is_failed()
    assert state.message == ("CIGSCR1 not recorded: child: date_of_death: the date of death is before the date of birth")
    async with get_client() as client:
        run = await client.read_flow_run(state.state_details.flow_run_id)
        assert run.parameters["form"]["child"]["name"] == CHILD  # kept, so "Copy to new run" refills the form

        async def logged() -> bool:
            logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
            return state.message in [log.message for log in logs]
        await wait_until(logged, what="the refusal in the run's logs")
    await wait_until(lambda: "cig-admin@example.org" in mail_to(office), what="the administrator's email")
    [told] = [m for m in read_mailbox(office.settings.mail_dir) if "cig-admin@example.org" in m.to]
    assert told.subject == "A referral (CIGSCR1) was not recorded: please correct it"
    assert "the date of death is before the date of birth" in told.text() and run.name in told.text()
    assert hits(told.text(), IDENTITIES) == []
    with office.sessions() as session:
        assert session.scalar(select(text("count(*)")).select_from(text("cases"))) == 0

    # kept for CIG_INTAKE_KEEP_HOURS after it ended, then the sweep's housekeeping deletes it
    assert run.id in [r.id for r in await _runs_after_housekeeping()]
    monkeypatch.setenv("CIG_INTAKE_KEEP_HOURS", "0.0001")  # 0.36 s
    await asyncio.sleep(1)
    assert run.id not in [r.id for r in await _runs_after_housekeeping()]


async def _runs_after_housekeeping() -> list:  # type: ignore[type-arg]
    await delete_finished_form_runs(open_office())
    async with get_client() as client:
        return await client.read_flow_runs()
