"""The `add-action` and `update-action` Run forms (flows/learning_actions.py) as the administrator uses them:
an action added on the form is in `cig action list` and its lead is reminded by the sweep; an update is
recorded and audited; bad input fails the run with one line naming the field, and the database is unchanged;
the deployments' schemas (as `prefect deploy` computes them from prefect.yaml) require what the forms require.

The flows are called in this process under the session's test Prefect server, with the form as the Prefect
UI submits it (JSON: dates as text, an agency as "HEALTH: <name>"). Invented names, example.org addresses.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.utilities.callables import parameter_schema_from_entrypoint
from sqlalchemy import func, select
from typer.testing import CliRunner

from casework.delivery import deliver_pending
from casework.forms import AgencyReturnForm, DecisionForm, RecommendationForm, ReferralForm, ScreeningForm
from casework.office import Office, open_office
from casework.referral import actions
from casework.review import actions as review
from casework.review.forms import AppointmentForm, RatificationForm
from casework.store import cases as store
from casework.store.tables import ActionUpdate, AuditEvent, LearningAction, OutboxMessage
from casework.sweep import queue_reminders
from cli import main as cig
from flows.forms import agency_choices
from flows.learning_actions import add_action, update_action
from tests.flows.conftest import mail_to

ROOT = Path(__file__).resolve().parents[2]
LATER = {"today": date(2030, 1, 1)}
LEAD = "ash.lead@example.org"


def _ago(days: int) -> datetime:
    return datetime.now(timezone.utc) - timedelta(days=days)


def referral_as_of(moment: datetime) -> ReferralForm:
    """The example CIGSCR1 with its dates moved to `moment`: notified two days before, completed that day."""
    data = yaml.safe_load((ROOT / "examples" / "referral.yaml").read_text())
    day = moment.date()
    data["notified_on"] = (day - timedelta(days=2)).isoformat()
    data["route"]["reviewed_with_safeguarding_lead_on"] = (day - timedelta(days=1)).isoformat()
    data["completed_on"] = day.isoformat()
    return ReferralForm.model_validate(data, context={"today": day})


async def commissioned_review(office: Office) -> str:
    """The example CIGSCR1 taken through its decision to a commissioned SCR in the last weeks; its mail sent.

    The flows run on the real clock, so every moment here is set from the meeting the case is actually
    listed for, whatever the date: referred seven weeks ago, it is listed for the first monthly meeting at
    least the listing lead time later (at most five weeks on), considered at that meeting, decided an hour
    later and commissioned the next day, all before today."""
    referred = _ago(49)
    reference = actions.submit_referral(office, referral_as_of(referred), now=referred, actor="t").reference
    actions.record_screening(office, reference, ScreeningForm(outcome="accept", decided_by="Casey Chair",
                                                              independent_chair_consulted=True), now=referred, actor="t")
    actions.list_and_request_information(office, reference, now=referred)
    with office.sessions() as session:
        meeting_at = store.get_case(session, reference=reference).meeting_at
    assert meeting_at is not None and meeting_at < _ago(11), f"listed for {meeting_at}"
    for agency in office.partnership.agencies:
        actions.record_return(office, reference, AgencyReturnForm(agency=agency.code, status="nil"),
                              now=referred + timedelta(days=1), actor="t")
    actions.record_recommendation(office, reference, RecommendationForm(outcome="scr", rationale="Serious harm."),
                                  now=meeting_at + timedelta(hours=2), actor="t")
    decided = meeting_at + timedelta(hours=3)
    actions.record_decision(office, reference, DecisionForm.model_validate(
        {"response": "affirm", "decision": "scr", "decided_by": "Indra Independent",
         "rationale": "Regulation 5(2)(b)(ii) is met: serious harm and concern about information sharing."}),
        now=decided, actor="independent chair")
    actions.finish_case(office, reference, now=decided)
    review.commission_review(office, reference, now=decided + timedelta(days=1))
    await deliver_pending(office)
    return reference


def action_as_typed(office: Office, **changes: Any) -> dict[str, Any]:
    """The add-action form as the Prefect UI submits it."""
    health = next(choice for choice in agency_choices(office.partnership) if choice.startswith("HEALTH: "))
    return {"plan": "multi_agency", "finding": "Information from health visiting reached the group late.",
            "action": "Daily triage call between health visiting and the front door.", "agency": health,
            "lead_name": "Ash Lead", "lead_email": LEAD, "target_on": (date.today() + timedelta(days=60)).isoformat(),
            "evidence_of_impact": "Triage minutes show each referral discussed within a day.", **changes}


def cig_json(*arguments: str) -> Any:
    result = CliRunner().invoke(cig.app, [*arguments, "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.output)


def what_is_recorded(office: Office, reference: str) -> tuple[Any, ...]:
    """Everything a form could change: the plans as `cig action list` shows them, the updates, the audit, the outbox."""
    with office.sessions() as session:
        counts = tuple(session.scalar(select(func.count()).select_from(table))
                       for table in (LearningAction, ActionUpdate, AuditEvent, OutboxMessage))
    return cig_json("action", "list", reference)["actions"], counts


def audited(office: Office, reference: str) -> list[tuple[str, str]]:
    with office.sessions() as session:
        return [(e.actor, e.action) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.case_reference == reference).order_by(AuditEvent.id))]


async def test_an_action_added_on_the_form_is_listed_and_its_lead_is_reminded_before_the_target_date(
        office: Office) -> None:
    reference = await commissioned_review(office)

    state = await add_action(reference=reference, action=action_as_typed(office), return_state=True)

    assert state.is_completed(), state.message
    assert await state.result() == 1
    [listed] = cig_json("action", "list", reference)["actions"]
    assert (listed["number"], listed["agency"], listed["plan"], listed["lead_name"], listed["lead_email"],
            listed["status"]) == (1, "HEALTH", "multi_agency", "Ash Lead", LEAD, "open")
    assert listed["target_on"] == (date.today() + timedelta(days=60)).isoformat()
    assert ("add-action form", "learning action added") in audited(office, reference)
    # its lead is told at once that it is theirs (as by `cig action add`), then reminded before the target date
    [told] = mail_to(office)[LEAD]
    assert told.startswith(f"[{reference}] You are the named lead: learning action 1 (")
    remind_on = date.fromisoformat(listed["target_on"]) - timedelta(days=14)  # a fortnight before, or the working day before that
    while not office.calendar.is_working_day(remind_on):
        remind_on -= timedelta(days=1)
    fortnight_before = datetime.combine(remind_on, time(10), tzinfo=timezone.utc)
    queue_reminders(office, now=fortnight_before)
    await deliver_pending(office, now=fortnight_before)
    [_, reminder] = mail_to(office)[LEAD]
    assert reminder.startswith(f"[{reference}] Due soon: learning action 1 (")


async def test_an_update_on_the_form_is_recorded_and_audited_and_after_ratification_needs_a_reason(
        office: Office) -> None:
    reference = await commissioned_review(office)
    assert (await add_action(reference=reference, action=action_as_typed(office), return_state=True)).is_completed()

    done = await update_action(reference=reference, update={"number": 1, "status": "done",
                                                            "evidence": "Triage minutes for March, every case."},
                               return_state=True)

    assert done.is_completed(), done.message
    [listed] = cig_json("action", "list", reference)["actions"]
    assert (listed["status"], listed["status_note"], listed["done_on"], listed["updates"]) == (
        "done", "Triage minutes for March, every case.", office.calendar.local_date(datetime.now(timezone.utc)).isoformat(), 1)
    assert ("update-action form", "learning action updated") in audited(office, reference)

    review.appoint_reviewer(office, reference, AppointmentForm.model_validate(
        {"reviewer": "Rowan Reviewer", "kind": "independent", "independent_of_agencies": True,
         "appointed_on": _ago(10).date().isoformat(), "appointed_by": "Review group"}, context=LATER),
        now=_ago(10), actor="t")
    for by in ("cig", "executive_group"):  # the executive group ratifies the plans: changes need a reason now
        review.record_ratification(office, reference, RatificationForm.model_validate(
            {"by": by, "result": "ratified", "on": date.today().isoformat()}, context=LATER),
            now=datetime.now(timezone.utc), actor="t")
    before = what_is_recorded(office, reference)
    refused = await update_action(reference=reference, update={"number": 1, "status": "open"}, return_state=True)
    assert refused.is_failed()
    assert refused.message == (f"Update not recorded for {reference}: Reason: the plans are ratified; "
                               "an action changes only with a reason recorded")
    assert what_is_recorded(office, reference) == before

    reopened = await update_action(reference=reference, update={
        "number": 1, "status": "open", "reason": "The March minutes missed two weekend referrals."}, return_state=True)
    assert reopened.is_completed(), reopened.message
    assert cig_json("action", "list", reference)["actions"][0]["updates"] == 2


REFUSED_ADDS = [
    pytest.param({"reference": "NOSUCH-0001"}, "Reference: no case with reference 'NOSUCH-0001'", id="unknown-reference"),
    pytest.param({"lead_email": "ash.lead at example.org"}, "Lead's email: not a valid lead's email", id="bad-email"),
    pytest.param({"agency": "NOPE"}, "Agency: unknown agency code 'NOPE'", id="unknown-agency"),
    pytest.param({"plan": "everyone"}, "Plan: Input should be 'multi_agency' or 'single_agency'", id="bad-plan"),
    pytest.param({"finding": None}, "Finding: Field required", id="no-finding"),
]


@pytest.mark.parametrize(("changes", "expected"), REFUSED_ADDS)
async def test_a_refused_action_fails_the_run_naming_the_field_and_adds_nothing(
        office: Office, changes: dict[str, Any], expected: str) -> None:
    reference = await commissioned_review(office)
    before = what_is_recorded(office, reference)
    given = changes.get("reference", reference)
    typed = {k: v for k, v in action_as_typed(office, **changes).items() if v is not None and k != "reference"}

    state = await add_action(reference=given, action=typed, return_state=True)

    assert state.is_failed()
    assert state.message.startswith(f"Action not added to {given}: {expected}"), state.message
    assert "Traceback" not in state.message and "pattern" not in state.message
    assert what_is_recorded(office, reference) == before


REFUSED_UPDATES = [
    pytest.param({"number": 7, "status": "done", "evidence": "Minutes."}, "Action number: {ref} has no action 7",
                 id="no-such-action"),
    pytest.param({"number": 1, "status": "done"}, "Evidence: say what shows the action is done", id="done-no-evidence"),
    pytest.param({"number": 1, "status": "dropped"}, "Reason: say why the action is dropped", id="dropped-no-reason"),
    pytest.param({"number": 1, "lead_name": "Sky Practitioner"},
                 "New lead's email: a new lead needs both a name and an email address", id="lead-without-email"),
    pytest.param({"number": 1}, "Status: the update changes nothing", id="nothing-changes"),
    pytest.param({"number": 1, "status": "done", "evidence": "Minutes.", "done_on": "2099-01-01"},
                 "Done on: 2099-01-01 is in the future", id="done-in-future"),
]


@pytest.mark.parametrize(("update", "expected"), REFUSED_UPDATES)
async def test_a_refused_update_fails_the_run_naming_the_field_and_changes_nothing(
        office: Office, update: dict[str, Any], expected: str) -> None:
    reference = await commissioned_review(office)
    assert (await add_action(reference=reference, action=action_as_typed(office), return_state=True)).is_completed()
    before = what_is_recorded(office, reference)

    state = await update_action(reference=reference, update=update, return_state=True)

    assert state.is_failed()
    assert state.message == f"Update not recorded for {reference}: {expected.format(ref=reference)}"
    assert what_is_recorded(office, reference) == before


def _deployment(name: str) -> dict[str, Any]:
    deployments = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    return next(d for d in deployments if d["name"] == name)


def test_the_deployments_run_forms_require_what_the_forms_require_and_list_the_choices() -> None:
    add = _deployment("add-action")
    update = _deployment("update-action")
    assert add["work_pool"] == update["work_pool"] == _deployment("submit-referral")["work_pool"]

    schema = parameter_schema_from_entrypoint(str(ROOT / add["entrypoint"])).model_dump()
    assert schema["required"] == ["reference", "action"]  # the reason only once the plans are ratified
    form = schema["definitions"]["ActionForm"]
    assert form["required"] == ["plan", "finding", "action", "agency", "lead_name", "lead_email", "target_on",
                                "evidence_of_impact"]
    assert not any("default" in field for field in form["properties"].values())
    assert form["properties"]["plan"]["enum"] == ["Multi-agency plan (the training officer's)",
                                                  "Single-agency plan (the agency's own)"]  # in words, not codes

    schema = parameter_schema_from_entrypoint(str(ROOT / update["entrypoint"])).model_dump()
    assert schema["required"] == ["reference", "update"]
    form = schema["definitions"]["ActionUpdateForm"]
    assert form["required"] == ["number"]
    assert form["properties"]["status"]["enum"] == ["open", "done", "dropped"]
    # each optional field is its one widget: no "X | None" type switch, no null default
    assert not any("anyOf" in field or field.get("default", "") is None for field in form["properties"].values())
    assert form["properties"]["target_on"] == {"title": "New target date", "description": "A new target date",
                                               "type": "string", "format": "date"}


async def test_a_refused_action_run_keeps_the_lead_as_typed_until_housekeeping_deletes_it(
        office: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    """The refused run keeps the form (a lead's name and email) so "Copy to new run" refills it, for
    CIG_INTAKE_KEEP_HOURS after it ended; then the sweep's housekeeping deletes the run, as for a CIGSCR1."""
    from prefect.client.orchestration import get_client

    from flows.launch import delete_finished_form_runs

    reference = await commissioned_review(office)
    state = await add_action(reference=reference, action=action_as_typed(office, lead_email="not-an-email"),
                             return_state=True)
    assert state.is_failed()
    run_id = state.state_details.flow_run_id
    async with get_client() as client:
        assert (await client.read_flow_run(run_id)).parameters["action"]["lead_email"] == "not-an-email"
        await delete_finished_form_runs(office)
        assert (await client.read_flow_run(run_id)).id == run_id  # kept for now
        monkeypatch.setenv("CIG_INTAKE_KEEP_HOURS", "0.0001")  # 0.36 s
        await asyncio.sleep(1)
        await delete_finished_form_runs(open_office())
        assert run_id not in [r.id for r in await client.read_flow_runs()]
