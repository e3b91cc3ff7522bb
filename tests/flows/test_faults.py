"""Faults caused for real on a whole referral: the decision notices still arrive exactly once.

- the SMTP server answers 451 to every message while the decision is recorded, then recovers:
  the run's `send_messages` retries with backoff and each notice arrives once; a later
  `cig outbox retry` (casework.delivery.deliver_pending) finds nothing left to send;
- the SMTP server refuses connections (it is stopped) while the decision is recorded, then is
  started again on the same port: the same;
- the chair's decision arrives twice (a double click, a command run twice): the second is told it
  was already recorded, and there is one decision and one set of notices;
- the run suspends at the decision but its form is never saved (its process ended while a busy
  Prefect server refused the schema, seen in the SQLite smoke benchmark): the chair is told to
  recover the case, `cig referral recover` starts it again, and the decision goes in once.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest
import yaml
from aiosmtpd.controller import Controller
from prefect.client.orchestration import get_client
from sqlalchemy import func, select

from casework import actions
from casework.delivery import deliver_pending
from casework.forms import AgencyReturnForm, DecisionForm, RecommendationForm, ReferralForm, ScreeningForm
from casework.office import Office
from casework.store import cases as store
from casework.store.cases import AlreadyRecorded
from casework.store.tables import AuditEvent, OutboxMessage
from flows import people
from flows.launch import recover_referral_run, start_referral_run
from flows.people import FormNotSaved, submit_step, waiting_for_input
from notifications.mailbox import set_fault, start_mailbox
from tests.flows.conftest import mail_to, wait_until
from tests.flows.test_referral_flow import AGENCIES, EXAMPLE, finished, stage

DECISION_NOTICES = ("ofsted@example.org", "national-panel@example.org", "named-nurse@example.org")


def scr_decision() -> DecisionForm:
    return DecisionForm(response="affirm", decision="scr", rationale="Agreed.", decided_by="Indra Independent",
                        lead_reviewers=["Rowan Reviewer"])


async def case_awaiting_decision(office: Office) -> str:
    """A case whose screening, returns and recommendation are recorded (as the flow's own tasks record
    them) before its run starts. The run goes from the top straight to the chair's decision, as it
    does after every resume; the same path through the forms is test_referral_flow's. The faults are
    caused for the decision notices, so the CIGSUM1 to the independent chair is out first.
    """
    now = datetime.now(timezone.utc)
    form = ReferralForm.model_validate(yaml.safe_load(EXAMPLE.read_text()), context={"today": now.date()})
    reference = actions.submit_referral(office, form, now=now, actor="test").reference
    actions.record_screening(office, reference, ScreeningForm(
        outcome="accept", decided_by="Casey Chair", independent_chair_consulted=True), now=now, actor="screening form")
    actions.list_and_request_information(office, reference, now=now)
    for code in AGENCIES:
        actions.record_return(office, reference, AgencyReturnForm(agency=code, status="nil"), now=now, actor="return form")
    actions.record_recommendation(office, reference, RecommendationForm(outcome="scr", rationale="5(2)(b)(ii) met"),
                                  now=now, actor="recommendation form")
    await start_referral_run(reference, office)
    await wait_until(lambda: len(mail_to(office).get("independent-chair@example.org", [])) == 2, what="the CIGSUM1")
    assert stage(office, reference) == "awaiting_decision"
    return reference


def failed_attempts(office: Office, reference: str) -> int:
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        return sum(m.attempts for m in store.messages_for(session, case_id=case.id) if m.kind.startswith("ofsted"))


def outbox_status(office: Office, reference: str) -> dict[str, str]:
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        return {m.key: m.status for m in store.messages_for(session, case_id=case.id)}


def decision_mail(office: Office) -> dict[str, list[str]]:
    """The decision notices received (the referrer was told of the acceptance before)."""
    received = mail_to(office)
    return {to: [s for s in received.get(to, []) if to != "named-nurse@example.org" or "Decision on your referral" in s]
            for to in DECISION_NOTICES}


async def assert_notices_arrive_once(office: Office, reference: str) -> None:
    await wait_until(lambda: all(decision_mail(office).values()), seconds=120,
                     what="the decision notices after the fault cleared")
    await wait_until(finished(office, reference), what="the case to be decided")
    report = await deliver_pending(office)  # what `cig outbox retry` does: nothing is left to send
    assert report.sent == [] and report.temporary_failures == [] and report.permanent_failures == []
    assert {to: len(subjects) for to, subjects in decision_mail(office).items()} == {to: 1 for to in DECISION_NOTICES}
    assert set(outbox_status(office, reference).values()) == {"sent"}


async def test_a_451_from_the_mail_server_delays_the_notices_but_sends_each_once(office: Office) -> None:
    reference = await case_awaiting_decision(office)
    set_fault(office.settings.mail_dir, "451 4.3.0 try later")
    try:
        await submit_step(office, reference, "decision", scr_decision())
        await wait_until(lambda: failed_attempts(office, reference) >= 1, what="the Ofsted notice to meet the 451")
        assert "ofsted@example.org" not in mail_to(office)
        with office.sessions() as session:  # the failure is on record, with the server's words
            errors = session.scalars(select(OutboxMessage.last_error).where(OutboxMessage.kind.like("ofsted%"))).all()
            assert any("451" in (e or "") for e in errors), errors
    finally:
        set_fault(office.settings.mail_dir, None)
    await assert_notices_arrive_once(office, reference)


@contextmanager
def mail_server_down(office: Office) -> Iterator[None]:
    """Stop the test's SMTP server (connections are refused), then start one again on the same port."""
    port = office.settings.smtp_port
    running = [c for c in gc.get_objects() if isinstance(c, Controller) and c.port == port]
    assert len(running) == 1, "the office fixture's mail server"
    running[0].stop()
    try:
        yield
    finally:  # a stopped aiosmtpd Controller cannot start again: a new server takes the port, and the
        # fixture's teardown (which stops the server it started) stops the new one instead
        replacement = start_mailbox(office.settings.mail_dir, port=port)
        running[0].stop = replacement.stop  # type: ignore[method-assign]


async def test_a_refused_connection_delays_the_notices_but_sends_each_once(office: Office) -> None:
    reference = await case_awaiting_decision(office)
    with mail_server_down(office):
        await submit_step(office, reference, "decision", scr_decision())
        await wait_until(lambda: failed_attempts(office, reference) >= 1, what="the Ofsted notice to meet a refused connection")
        assert "ofsted@example.org" not in mail_to(office)
    await assert_notices_arrive_once(office, reference)


async def test_the_same_decision_twice_is_recorded_once(office: Office) -> None:
    reference = await case_awaiting_decision(office)
    await submit_step(office, reference, "decision", scr_decision())
    with pytest.raises(AlreadyRecorded, match="already recorded"):
        await submit_step(office, reference, "decision", scr_decision())
    with pytest.raises(AlreadyRecorded):  # straight to the store, as a second worker would
        actions.record_decision(office, reference, scr_decision(), now=datetime.now(timezone.utc), actor="decision form")
    await assert_notices_arrive_once(office, reference)
    with office.sessions() as session:
        decisions = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.case_reference == reference, AuditEvent.action.like("decision:%")))
        assert decisions == 1


async def test_a_run_suspended_without_its_form_is_recovered_and_takes_the_decision_once(
        office: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = await case_awaiting_decision(office)
    with office.sessions() as session:
        run_id = store.get_case(session, reference=reference).flow_run_id
    async with get_client() as client:  # the state the busy server left: suspended, no schema saved
        await wait_until(lambda: waiting_for_input(client, run_id, "decision-"), what="the decision form")
        keyset = (await client.read_flow_run(run_id)).state.state_details.run_input_keyset
        await client.delete_flow_run_input(run_id, keyset["schema"])

    with pytest.raises(ValueError, match="saving the form for its step; try again in a minute"):
        await recover_referral_run(reference, office)  # just suspended: its process may still be saving it
    monkeypatch.setattr(people, "FORM_SAVE_SECONDS", 0)  # a minute later
    with pytest.raises(FormNotSaved, match=f"without saving the form.*cig referral recover {reference}"):
        await submit_step(office, reference, "decision", scr_decision())  # at once, not after the step's wait
    assert await recover_referral_run(reference, office) == "PAUSED"

    await submit_step(office, reference, "decision", scr_decision())
    await assert_notices_arrive_once(office, reference)
    assert len(mail_to(office)["independent-chair@example.org"]) == 2  # the CIGSUM1 was not sent again
    with office.sessions() as session:  # the lost wait left no "form could not be used" on the case
        actions_on_case = session.scalars(select(AuditEvent.action).where(AuditEvent.case_reference == reference)).all()
    assert "decision input refused" not in actions_on_case and "flow run rescheduled" in actions_on_case
    with pytest.raises(ValueError, match="nothing to recover"):
        await recover_referral_run(reference, office)

