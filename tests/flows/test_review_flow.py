"""One SCR on a Prefect server, from the chair's decision (no reviewer named) through its own review run,
`review-<REFERENCE>`, to publication and the case's closure: who received which email, exactly once,
though the review run re-ran from the top after each of its resumes. Every name here is invented."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client

from casework.forms import DecisionForm, RecommendationForm
from casework.office import Office
from casework.review import actions as review
from casework.review import store as review_store
from casework.review.forms import (
    AppointmentForm, FamilyInvolvementForm, MilestoneForm, NonPublicationForm, RatificationForm, ReviewPublicationForm,
)
from casework.store import cases as store
from casework.store.cases import NotAtThisStep
from flows.people import StepRefused, submit_review_step, submit_step
from notifications.mailbox import read_mailbox
from tests.flows.conftest import case_awaiting_decision, wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "referral.yaml"
MANAGER, INDEPENDENT, PANEL = "business-manager@example.org", "independent-chair@example.org", "national-panel@example.org"
MEMBERS = ["police@example.org", "social-care@example.org", "health@example.org", INDEPENDENT, "cig-chair@example.org"]


def today():  # type: ignore[no-untyped-def]
    return datetime.now(timezone.utc).date()


def run_of(office: Office, reference: str) -> tuple[str | None, str | None]:
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        found = review_store.find_review(session, case=case)
        return (found.stage, found.flow_run_id) if found else (None, None)


ANONYMISED = {"nature_of_incident": "Injury to an infant", "ages_of_children": "4 months",
              "relationship_to_alleged_perpetrator": "parent", "agency_involvement": "health visiting",
              "criminal_investigation": "none"}


async def decided(office: Office, recommendation: RecommendationForm, decision: DecisionForm,
                  scr_threshold: bool = True) -> str:
    """The example referral at the chair's `decision` in its referral run, given as the chair gives it; its
    reference. Below the SCR threshold (`scr_threshold=False`) for another review."""
    reference = await case_awaiting_decision(office, recommendation, scr_threshold)
    await submit_step(office, reference, "decision", decision)
    return reference


async def commissioned(office: Office, reference: str) -> str:
    """The review's run id, once the referral run has finished and started the review run, which has
    commissioned the review and waits for a reviewer."""
    await wait_until(lambda: run_of(office, reference)[0] == "awaiting_reviewer" and run_of(office, reference)[1],
                     seconds=120, what="the review to be commissioned and its run recorded")
    return run_of(office, reference)[1]  # type: ignore[return-value]


def every_milestone_done(office: Office, reference: str) -> None:
    """Every milestone of the review's plan recorded done today (facts in the case database, no step)."""
    with office.sessions() as session:
        codes = [m.code for m in review_store.get_review(session, case=store.get_case(session, reference=reference)).milestones]
    for code in codes:
        review.record_milestone(office, reference, MilestoneForm(stage=code, done_on=today(), by="Bailey Manager"),
                                now=datetime.now(timezone.utc), actor="test")


async def ratified_by_all(office: Office, reference: str) -> None:
    """The drafts ratified by the CIG, the executive group and the board in turn: the run then waits for
    the publication."""
    for by in ("cig", "executive_group", "board"):
        stage = await submit_review_step(office, reference, "ratification", RatificationForm(by=by, result="ratified", on=today()))
    assert stage == "awaiting_publication"


@pytest.mark.parametrize("office", ["sqlite"], indirect=True)
async def test_an_scr_runs_its_review_from_the_decision_to_publication_and_closure(office: Office) -> None:
    reference = await decided(office, RecommendationForm(outcome="scr", rationale="5(2)(b)(ii) met"), DecisionForm(
        response="affirm", decision="scr", rationale="Serious harm; information was not shared.",
        decided_by="Indra Independent"))

    # the referral run finishes and starts the review run, which commissions the review and waits for a reviewer
    run_id = await commissioned(office, reference)
    async with get_client() as client:
        run = await client.read_flow_run(run_id)
    assert run.name == f"review-{reference}"
    await wait_until(lambda: any(MANAGER in m.to and "commissioned" in m.subject for m in read_mailbox(office.settings.mail_dir)),
                     what="the business manager to be told")
    with pytest.raises(NotAtThisStep):  # the drafts cannot go anywhere before a reviewer is appointed
        await submit_review_step(office, reference, "ratification",
                                 RatificationForm(by="cig", result="ratified", on=today()))

    # a reviewer not confirmed independent of every agency, for an SCR: refused by the run, naming the field
    with pytest.raises(StepRefused, match="independent_of_agencies: "):
        await submit_review_step(office, reference, "appointment", AppointmentForm(
            reviewer="Morgan Maybe", kind="independent", appointed_on=today(), appointed_by="Review group"))
    stage = await submit_review_step(office, reference, "appointment", AppointmentForm(
        reviewer="Rowan Reviewer", kind="independent", independent_of_agencies=True, appointed_on=today(),
        appointed_by="Review group planning meeting"))
    assert stage == "under_way"

    # facts of the review, recorded at once (no resume): milestones done, the family's involvement
    every_milestone_done(office, reference)
    review.record_family(office, reference, FamilyInvolvementForm(involvement="complete", on=today()),
                         now=datetime.now(timezone.utc), actor="test")

    assert await submit_review_step(office, reference, "ratification", RatificationForm(
        by="cig", result="returned", on=today(), comments="Say more about the health visitor's caseload.")) == "ratifying"
    await ratified_by_all(office, reference)
    stage = await submit_review_step(office, reference, "publication", ReviewPublicationForm(
        published_on=today(), link="https://northshire-scp.example.org/scr/7",
        response_link="https://northshire-scp.example.org/scr/7-response"))
    assert stage in ("published", "closed")
    await wait_until(lambda: run_of(office, reference)[0] == "closed", what="the review to close")
    async with get_client() as client:
        await wait_until(lambda: _completed(client, run.id), what="the review run to complete")
        tags = (await client.read_flow_run(run.id)).tags
    assert "review-stage:closed" in tags
    with office.sessions() as session:
        assert store.get_case(session, reference=reference).status == "closed"

    await wait_until(lambda: any(PANEL in m.to for m in read_mailbox(office.settings.mail_dir)), what="the Panel notice")
    review_mail = Counter((to, m.subject.split("] ", 1)[1]) for m in read_mailbox(office.settings.mail_dir) for to in m.to
                          if "review" in m.subject.lower() or "Panel" in m.subject or "Lead reviewer" in m.subject
                          or "published" in m.subject)
    # the review run re-ran from the top after each of its 6 resumes (one refused): one of each message
    assert set(review_mail.values()) == {1}, review_mail
    assert review_mail[(MANAGER, "Serious Case Review commissioned: its plan")] == 1
    assert all(review_mail[(to, "A Serious Case Review has begun: please confirm your engagement")] == 1 for to in MEMBERS)
    assert [s for to, s in review_mail if to == PANEL] == [
        "Notice to the National Panel of Independent Experts on Serious Case Reviews: Serious Case Review"]
    assert sum(1 for to, s in review_mail if to == MANAGER and "Review drafts" in s) == 4
    assert sorted(to for to, s in review_mail if s == "Serious Case Review published") == sorted([MANAGER, *MEMBERS])


@pytest.mark.parametrize("office", ["sqlite"], indirect=True)
async def test_a_concise_review_whose_draft_is_returned_loops_back_then_is_ratified_and_published(office: Office) -> None:
    reference = await decided(office, RecommendationForm(  # below the SCR threshold: a concise review
        outcome="multi_agency_concise_review", rationale="Learning about a school's referral."), DecisionForm.model_validate({
        "response": "affirm", "decision": "multi_agency_concise_review", "rationale": "Local learning.",
        "decided_by": "Indra Independent", "criteria_explanation": "No concern about joint working.",
        "anonymised_details": ANONYMISED}), scr_threshold=False)
    run_id = await commissioned(office, reference)

    assert await submit_review_step(office, reference, "appointment", AppointmentForm(
        reviewer="Morgan Internal", kind="internal", agency="CSC", appointed_on=today(), appointed_by="Review group",
        email="morgan.internal@example.org")) == "under_way"
    every_milestone_done(office, reference)

    # the CIG returns the draft with comments: it loops back to the CIG; the executive group cannot take it yet
    assert await submit_review_step(office, reference, "ratification", RatificationForm(
        by="cig", result="returned", on=today(), comments="Say more about the school's referral in June.")) == "ratifying"
    with pytest.raises(StepRefused, match="by: the drafts go to the Critical Incident Group"):
        await submit_review_step(office, reference, "ratification",
                                 RatificationForm(by="executive_group", result="ratified", on=today()))
    # what the run's page says after each Resume, under the green "Flow run resumed": recorded, or not and why
    await wait_until(lambda: run_says(run_id, f"{reference}: the ratification form was NOT recorded: by: the drafts "
                                              "go to the Critical Incident Group"), what="the refusal on the run's page")
    await ratified_by_all(office, reference)
    stage = await submit_review_step(office, reference, "publication", ReviewPublicationForm(
        published_on=today(), link="https://northshire-scp.example.org/mcr/3",
        response_link="https://northshire-scp.example.org/mcr/3-response"))
    assert stage in ("published", "closed")
    await wait_until(lambda: run_of(office, reference)[0] == "closed", what="the review to close")
    async with get_client() as client:
        await wait_until(lambda: _completed(client, run_id), what="the review run to complete")

    await wait_until(lambda: any("published" in m.subject for m in read_mailbox(office.settings.mail_dir)),
                     what="the publication to be told")
    mails = read_mailbox(office.settings.mail_dir)
    drafts = Counter((to, m.subject.split("] ", 1)[1].split(" by ")[0]) for m in mails for to in m.to
                     if "Review drafts" in m.subject)
    assert drafts[(MANAGER, "Review drafts returned")] == 1 and drafts[(MANAGER, "Review drafts ratified")] == 3
    [returned] = [m for m in mails if "returned" in m.subject]
    assert "Say more about the school's referral in June." in returned.text()
    assert sum(PANEL in m.to for m in mails) == 1  # its notice at the decision; none at the appointment
    review_mail = Counter((to, m.subject) for m in mails for to in m.to if "review" in m.subject.lower())
    assert set(review_mail.values()) == {1}, review_mail  # the run re-ran from the top after each resume


@pytest.mark.parametrize("office", ["sqlite"], indirect=True)
async def test_a_review_the_partnership_decides_not_to_publish_finishes_its_run_and_closes_its_case(
        office: Office, prefect_server: Any) -> None:
    from flows.launch import catch_up_review_runs_behind

    reference = await decided(office, RecommendationForm(
        outcome="individual_agency_review", rationale="Learning for the health trust."), DecisionForm.model_validate({
        "response": "affirm", "decision": "individual_agency_review", "rationale": "Single-agency learning.",
        "decided_by": "Indra Independent", "criteria_explanation": "No concern about joint working.",
        "anonymised_details": ANONYMISED}), scr_threshold=False)
    run_id = await commissioned(office, reference)
    await submit_review_step(office, reference, "appointment", AppointmentForm(
        reviewer="Harper Health", kind="internal", agency="HEALTH", appointed_on=today(), appointed_by="Review group"))
    every_milestone_done(office, reference)
    await ratified_by_all(office, reference)

    # the run waits at the publication; the decision not to publish is recorded in the case database without
    # it (`cig review not-published` would also wake it); the deadline sweep wakes it, it finds the outcome
    # recorded and finishes
    async with get_client() as client:
        await wait_until(lambda: _paused(client, run_id), what="the run to wait at the publication")
        # and its process gone: a decision recorded while the process still looks whether it suspended behind
        # the case wakes the run from there (flows.waiting.wake_if_behind), before the sweep could
        await wait_until(lambda: _no_process(prefect_server, run_id), what="the suspended run's process to end")
        outcome = review.record_non_publication(office, reference, NonPublicationForm(
            decided_on=today(), decided_by="Partnership board", reason="Publication would identify the siblings."),
            now=datetime.now(timezone.utc), actor="test")
        assert outcome.closed
        assert await catch_up_review_runs_behind(office) == [reference]
        await wait_until(lambda: _completed(client, run_id), what="the review run to complete")
        tags = (await client.read_flow_run(run_id)).tags
    assert "review-stage:closed" in tags
    mails = read_mailbox(office.settings.mail_dir)
    told = Counter(to for m in mails for to in m.to if "not published" in m.subject)
    assert told[MANAGER] == 1 and set(told.values()) == {1}


async def _paused(client, run_id) -> bool:  # type: ignore[no-untyped-def]
    run = await client.read_flow_run(run_id)
    return run.state is not None and run.state.is_paused() and (run.state.state_details.pause_key or "").startswith(
        "publication")


async def _no_process(runner: Any, run_id: str) -> bool:
    return runner._process_manager.get(UUID(run_id)) is None


async def _completed(client, run_id) -> bool:  # type: ignore[no-untyped-def]
    run = await client.read_flow_run(run_id)
    return run.state is not None and run.state.is_completed()


async def run_says(run_id, words: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether a line of the run's logs (its page in the Prefect UI) holds `words`."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    async with get_client() as client:
        logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
    return any(words in log.message for log in logs)
