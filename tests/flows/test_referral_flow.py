"""Whole referrals on a Prefect server: who received which email, exactly once, through every path."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from casework.referral import actions
from casework.forms import AgencyReturnForm, AnonymisedDetails, DecisionForm, RecommendationForm, ReferralForm, ScreeningForm
from casework.office import Office
from casework.store import cases as store
from casework.store.cases import AlreadyRecorded
from flows.launch import start_referral_run
from flows.people import submit_step
from tests.flows.conftest import mail_to, meet_now, wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "referral.yaml"
AGENCIES = ["POL", "CSC", "HEALTH"]


async def start_case(office: Office) -> str:
    now = datetime.now(timezone.utc)
    form = ReferralForm.model_validate(yaml.safe_load(EXAMPLE.read_text()), context={"today": now.date()})
    reference = actions.submit_referral(office, form, now=now, actor="test").reference
    await start_referral_run(reference, office)
    return reference


def stage(office: Office, reference: str) -> str:
    with office.sessions() as session:
        return store.get_case(session, reference=reference).stage


async def all_returned(office: Office, reference: str, agencies: list[str] = AGENCIES) -> None:
    for code in agencies:
        status = "returned" if code == "HEALTH" else "nil"
        form = AgencyReturnForm(agency=code, status=status, involvement="Seen by the health visitor." if status == "returned" else None)
        await submit_step(office, reference, "return", form)


# The decline, the meeting-outcomes form, the UI intake and the wt2023 regime differ from the
# accepted path in the flow and the rules, not in the database: their database work runs on
# PostgreSQL in the task layer, and here on SQLite only, which keeps the suite to minutes.
sqlite_only = pytest.mark.parametrize("office", ["sqlite"], indirect=True)


def no_scr_decision() -> DecisionForm:
    return DecisionForm(
        response="challenge", decision="multi_agency_concise_review", rationale="Learning is local.",
        decided_by="Indra Independent",
        anonymised_details=AnonymisedDetails(
            nature_of_incident="Non-accidental head injury to an infant", ages_of_children="4 months",
            relationship_to_alleged_perpetrator="parent", agency_involvement="health visiting; social care assessment",
            criminal_investigation="police investigation open"),
        criteria_explanation="Agencies shared information promptly; no concern about joint working.",
    )


def finished(office: Office, reference: str):  # type: ignore[no-untyped-def]
    return lambda: stage(office, reference) in ("decided", "declined")


async def test_accepted_referral_sends_every_notice_exactly_once(office: Office) -> None:
    reference = await start_case(office)
    result = await submit_step(office, reference, "screening",
                               ScreeningForm(outcome="accept", decided_by="Casey Chair", independent_chair_consulted=True))
    assert result.stage == "awaiting_returns"
    await all_returned(office, reference)
    meet_now(office, reference)
    await submit_step(office, reference, "recommendation", RecommendationForm(outcome="scr", rationale="5(2)(b)(ii) met"))
    await submit_step(office, reference, "decision", DecisionForm(
        response="affirm", decision="scr", rationale="Agreed.", decided_by="Indra Independent", lead_reviewers=["Rowan Reviewer"]))
    await wait_until(finished(office, reference), what="the case to be decided")
    await wait_until(lambda: "ofsted@example.org" in mail_to(office), what="the Ofsted notice")

    received = mail_to(office)
    expected = {
        "cig-chair@example.org": 2,  # the referral notice, then the chair's decision (step 8)
        "business-manager@example.org": 3,  # the referral, the listing for the meeting (5.1), the decision
        "cig-admin@example.org": 2,  # the referral, the listing for the meeting (5.1)
        "independent-chair@example.org": 2,  # the referral notice, then the CIGSUM1 recommendation
        "police@example.org": 1, "social-care@example.org": 1, "health@example.org": 1,
        "ofsted@example.org": 1, "national-panel@example.org": 1,
        "named-nurse@example.org": 2,  # accepted for the group (CIGCON1), then the decision
    }
    assert {to: len(subjects) for to, subjects in received.items()} == expected
    assert "Lead reviewer" not in received["ofsted@example.org"][0]
    assert any("Serious Case Review" in s for s in received["national-panel@example.org"])
    assert any("Decision on your referral" in s for s in received["named-nurse@example.org"])
    # the flow re-ran from the top on each of its 6 resumes: the outbox kept one of each message
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert case.status == "open"  # an SCR keeps the case open for the review itself
        assert case.wait_seq == 7  # 6 inputs, and the re-listing for the meeting (its form shown afresh)


@sqlite_only
async def test_declined_referral_tells_the_referrer_why(office: Office) -> None:
    reference = await start_case(office)
    await submit_step(office, reference, "screening", ScreeningForm(
        outcome="decline", reason="Single-agency matter; no concern about joint working.",
        decided_by="Casey Chair", independent_chair_consulted=True))
    await wait_until(finished(office, reference), what="the case to close")
    await wait_until(lambda: "named-nurse@example.org" in mail_to(office), what="the decline notice")
    received = mail_to(office)
    assert received["named-nurse@example.org"] == [f"[{reference}] Your referral will not go to the Critical Incident Group"]
    assert all(reference not in to for to in received)
    assert "police@example.org" not in received
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert (case.status, case.stage) == ("closed", "declined")
    with pytest.raises(AlreadyRecorded):
        await submit_step(office, reference, "screening",
                          ScreeningForm(outcome="accept", decided_by="Casey Chair", independent_chair_consulted=True))


async def test_further_information_lists_the_case_again_and_asks_only_the_named_agencies(office: Office) -> None:
    reference = await start_case(office)
    await submit_step(office, reference, "screening",
                      ScreeningForm(outcome="accept", decided_by="Casey Chair", independent_chair_consulted=True))
    await all_returned(office, reference)
    meet_now(office, reference)
    await submit_step(office, reference, "recommendation", RecommendationForm(
        outcome="further_information", rationale="Need the police timeline.", further_information_from=["POL"]))
    await all_returned(office, reference, ["POL"])
    meet_now(office, reference)
    await submit_step(office, reference, "recommendation", RecommendationForm(outcome="multi_agency_concise_review", rationale="Local learning."))
    with pytest.raises(ValueError, match="affirming"):  # refused before it reaches the run
        await submit_step(office, reference, "decision", DecisionForm(**{**no_scr_decision().model_dump(), "response": "affirm", "decision": "no_review"}))
    await submit_step(office, reference, "decision", no_scr_decision())
    await wait_until(finished(office, reference), what="the case to be decided")
    await wait_until(lambda: "national-panel@example.org" in mail_to(office), what="the Panel notice")

    received = mail_to(office)
    assert len(received["police@example.org"]) == 2
    assert "Further information" in received["police@example.org"][1]
    assert len(received["social-care@example.org"]) == 1 and len(received["health@example.org"]) == 1
    assert len(received["ofsted@example.org"]) == 1 and len(received["national-panel@example.org"]) == 1
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert case.round == 2 and case.decision == "multi_agency_concise_review"


@sqlite_only
async def test_meeting_outcomes_form_records_each_listed_case(office: Office) -> None:
    from casework.forms import MeetingOutcomesForm
    from flows.outcomes import record_meeting_outcomes

    reference = await start_case(office)
    await submit_step(office, reference, "screening",
                      ScreeningForm(outcome="accept", decided_by="Casey Chair", independent_chair_consulted=True))
    await all_returned(office, reference)
    form = MeetingOutcomesForm.model_validate({"meeting_on": datetime.now(timezone.utc).date(), "outcomes": [
        {"reference": reference, "outcome": "no_review", "rationale": "Below the threshold."},
        {"reference": "NOPE-2026-0001", "outcome": "no_review", "rationale": "Unknown case."},
    ]})
    refused = await record_meeting_outcomes(form)  # before the meeting the case is listed for: refused, naming it
    assert [(r.reference, r.recorded) for r in refused] == [(reference, False), ("NOPE-2026-0001", False)]
    assert refused[0].detail.startswith(f"{reference} is listed for the CIG meeting on ")
    assert refused[0].detail.endswith("; its recommendation can be recorded from then")
    meet_now(office, reference)
    results = await record_meeting_outcomes(form)
    assert [(r.reference, r.recorded) for r in results] == [(reference, True), ("NOPE-2026-0001", False)]
    assert stage(office, reference) == "awaiting_decision"


@sqlite_only
async def test_the_ui_intake_run_is_emptied_of_the_cigscr1_and_shows_the_new_reference(office: Office) -> None:
    """The Run form's parameters are the CIGSCR1: once recorded, the intake run keeps only the new reference,
    in its name and in an artifact linking to the case's run."""
    from prefect.client.orchestration import get_client

    from flows.intake import submit_referral

    form = ReferralForm.model_validate({**yaml.safe_load(EXAMPLE.read_text()), "child": {
        "name": "Tamsin Intakeonly", "date_of_birth": "2026-07-03"}}, context={"today": datetime.now(timezone.utc).date()})
    reference = await submit_referral(form)
    await wait_until(lambda: stage(office, reference) == "awaiting_screening", what="the case")
    from prefect.client.schemas.filters import (
        ArtifactFilter, ArtifactFilterKey, FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterName,
    )

    async with get_client() as client:
        intakes = await client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["submit-referral"])))
        assert not [r for r in intakes if "Tamsin Intakeonly" in str(r.parameters)], "a run still holds the CIGSCR1"
        [intake] = [r for r in intakes if r.name == f"intake-{reference}"]
        [case_run] = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[f"referral-{reference}"])))
        assert intake.parameters == {} and case_run.parameters == {"reference": reference}
        [artifact] = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"intake-{reference.lower()}"])))
        assert f"[referral-{reference}](" in artifact.data and f"/runs/flow-run/{case_run.id})" in artifact.data


@sqlite_only
async def test_under_wt2023_the_same_flow_runs_a_rapid_review_with_the_panel_notices(office: Office) -> None:
    """Working Together 2023: the notification's content to the local authority at referral, the rapid review meeting
    scheduled by the rule set, the rapid review to the Panel with the decision."""
    import os

    from casework.office import open_office

    path = Path(os.environ["CIG_PARTNERSHIP_FILE"])
    path.write_text(path.read_text().replace("ruleset: wt2015", "ruleset: wt2023"))
    office = open_office()
    assert office.rules().name == "wt2023"
    reference = await start_case(office)
    await submit_step(office, reference, "screening",
                      ScreeningForm(outcome="accept", decided_by="Casey Chair", independent_chair_consulted=True))
    await all_returned(office, reference)
    with office.sessions() as session:  # listed for its own rapid review meeting (scheduled by the rule set)
        trail = [e.action for e in store.audit_trail(session, reference=reference)]
        assert trail.count("rapid review meeting scheduled") == 1
    # the flows run on the real clock, days before that meeting: it is held now (an extraordinary meeting)
    meet_now(office, reference)
    await submit_step(office, reference, "recommendation", RecommendationForm(outcome="scr", rationale="Rapid review: LCSPR"))
    await submit_step(office, reference, "decision", DecisionForm(
        response="affirm", decision="scr", rationale="LCSPR", decided_by="Partners", lead_reviewers=["Rowan Reviewer"]))
    await wait_until(finished(office, reference), what="the case to be decided")
    received = mail_to(office)
    [rapid_review] = received["national-panel@example.org"]  # the rapid review itself, with the decision; the
    assert "Rapid review" in rapid_review  # notification is the local authority's to make on the Panel's service
    assert any("serious incident notification" in subject.lower() for subject in received["children-director@example.org"])
    assert "ofsted@example.org" not in received  # the Panel shares the notification with Ofsted
    assert "cig-chair@example.org" not in received  # the safeguarding partners are invited, no CIG chair
    assert any("Rapid review meeting" in subject for subject in received["children-director@example.org"])
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        kinds = {d.kind for d in case.deadlines}
        assert case.regime == "wt2023" and {"serious_incident_notice", "rapid_review_notice", "publication"} <= kinds
        decision = next(d for d in case.deadlines if d.kind == "decision")
        assert decision.due_at.weekday() < 5  # 15 working days never ends on a weekend
        assert case.wait_seq >= 6  # the run re-ran from the top after each step it was given
    # and every message of the referral's steps went once, each recipient's list ending at the rapid review
    sent = Counter((to, subject) for to, subjects in received.items() for subject in subjects)
    assert [message for message, times in sent.items() if times > 1] == []
    assert sum(sent.values()) >= 12, sent
