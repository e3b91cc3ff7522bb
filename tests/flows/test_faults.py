"""Faults caused for real on a whole referral: the decision notices still arrive exactly once.

- the SMTP server answers 451 to every message while the decision is recorded, then recovers:
  the run's `send_messages` retries with backoff and each notice arrives once; a later
  `cig outbox retry` (casework.delivery.deliver_pending) finds nothing left to send;
- the SMTP server refuses connections (it is stopped) while the decision is recorded, then is
  started again on the same port: the same;
- the chair's decision arrives twice (a double click, a command run twice): the second is told it
  was already recorded, and there is one decision and one set of notices;
- the case's run dies, and the deadline sweep (not a person) restarts it; the chair's `cig decide`
  meanwhile is recorded at once, its notices sent at once, and says at once what happened to the run
  and that the system restarts it; the restarted run finds the decision done and finishes the case;
  each notice goes once and the administrator is told once: its flow-run process SIGKILLed while running (sending the
  decision notices), or while suspending (after Prefect recorded it Suspended, before its form was
  saved); the run forced Crashed through the API; its form's schema deleted (as a busy
  SQLite-backed server left one in the smoke benchmark); shown Running with no heartbeat (its worker
  killed). A run that keeps dying is left stopped and escalated to the business manager, until a
  person's `cig referral recover` restarts it; a decision given meanwhile is recorded and says so.
"""

from __future__ import annotations

import gc
import os
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from aiosmtpd.controller import Controller
from prefect.client.orchestration import get_client
from sqlalchemy import func, select

from casework.referral import actions
from casework.delivery import deliver_pending
from casework.forms import DecisionForm
from casework.office import Office
from casework.store import cases as store
from casework.store.cases import AlreadyRecorded
from casework.store.tables import AuditEvent, OutboxMessage
from flows import people
from flows.launch import recover_referral_run
from casework import recovery
from casework.recovery import RunFault
from flows.people import RunNews, latest_heartbeat, submit_step, waiting_for_input
from flows.sweep import deadline_sweep
from notifications.mailbox import read_mailbox, set_fault, start_mailbox
from tests.flows.conftest import case_awaiting_decision, mail_to, wait_until
from tests.flows.test_referral_flow import finished


DECISION_NOTICES = ("ofsted@example.org", "national-panel@example.org", "named-nurse@example.org")


def scr_decision() -> DecisionForm:
    return DecisionForm(response="affirm", decision="scr", rationale="Agreed.", decided_by="Indra Independent",
                        lead_reviewers=["Rowan Reviewer"])


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
    report = await deliver_pending(office)  # what `cig outbox retry` does: nothing of the decision is left to send
    # (the review run the decision started may not have sent its own messages yet: this retry may send them)
    assert [key for key in report.sent if ":review-" not in key] == []
    assert report.temporary_failures == [] and report.permanent_failures == []
    assert {to: len(subjects) for to, subjects in decision_mail(office).items()} == {to: 1 for to in DECISION_NOTICES}
    # the review run the decision started may be sending its own messages of the case right now
    await wait_until(lambda: set(outbox_status(office, reference).values()) == {"sent"},
                     what="every message of the case sent (none left pending or in flight)")


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


# --- dead runs, restarted by the deadline sweep ---------------------------------------------------

ADMINISTRATOR = "cig-admin@example.org"
BUSINESS_MANAGER = "business-manager@example.org"
HOLD_FORM_SAVE = Path(__file__).resolve().parent / "hold_form_save"


def run_of(office: Office, reference: str):  # type: ignore[no-untyped-def]
    with office.sessions() as session:
        return UUID(store.get_case(session, reference=reference).flow_run_id)


def flow_run_pid(runner: Any, run_id: UUID) -> int:
    """The pid of the process running the flow run `run_id` now, as the session's Runner started it (a run
    another test left, resumed meanwhile, is a process of the same Runner: the newest child is not always
    this test's run)."""
    handle = runner._process_manager.get(run_id)
    assert handle is not None and handle.pid, "no flow-run process is running for the run"
    return int(handle.pid)


async def state_of(run_id: UUID) -> str:
    async with get_client() as client:
        return (await client.read_flow_run(run_id)).state.type.value


def system_mail(office: Office, to: str) -> list[str]:
    """Subjects of what the case's runs' recoveries sent `to`."""
    return [m.subject for m in read_mailbox(office.settings.mail_dir)
            if to in m.to and (":run-recovered-" in m.key or ":run-left-stopped-" in m.key)]


def sweep_actions(office: Office, reference: str) -> list[tuple[str, str]]:
    with office.sessions() as session:
        return [(e.actor, e.action) for e in store.audit_trail(session, reference=reference)
                if e.action in ("flow run rescheduled", "flow run left stopped")]


async def sweep() -> None:
    """The deadline sweep, as its deployment runs it every 15 minutes (here in this process)."""
    await deadline_sweep()


async def caught_up_after_restart(office: Office, reference: str) -> None:
    """The restarted run finds the decision recorded and finishes the case: the decision went in once."""
    await assert_notices_arrive_once(office, reference)
    cigsum1 = [s for s in mail_to(office)["independent-chair@example.org"] if "(CIGSUM1)" in s]
    assert len(cigsum1) == 1  # the CIGSUM1 was not sent again (the review run may have told the chair it began)
    with office.sessions() as session:  # the lost wait left no "form could not be used" on the case
        actions_on_case = session.scalars(select(AuditEvent.action).where(AuditEvent.case_reference == reference)).all()
    assert "decision input refused" not in actions_on_case
    assert [a for a in actions_on_case if a.startswith("decision:")] == ["decision: scr"]


async def assert_told_at_once(office: Office, reference: str, faults: set[RunFault], happened: str,
                              then: str = "the system restarts it within a minute") -> None:
    """The chair's decision is recorded and its notices sent though the run is dead, and the chair is told
    at once what happened to the run and what the system does about it."""
    started = time.monotonic()
    result = await submit_step(office, reference, "decision", scr_decision())
    assert time.monotonic() - started < 10  # at once, not after the step's whole wait
    assert result.stage == "notifying" and result.run is RunNews.stopped and result.run_fault in faults
    assert re.search(f"{happened}.*{then}.*Your decision is recorded and what it owes is sent", result.run_words or "")
    assert {to: len(subjects) for to, subjects in decision_mail(office).items()} == {to: 1 for to in DECISION_NOTICES}


@pytest.mark.spawned_runs  # its run is a process spawned as a worker's are, killed by its pid
async def test_a_run_killed_while_sending_the_notices_is_restarted_by_the_sweep_and_each_goes_once(
        office: Office, prefect_server: Any) -> None:
    reference = await case_awaiting_decision(office)
    run_id = run_of(office, reference)
    with mail_server_down(office):
        await submit_step(office, reference, "decision", scr_decision())  # its own attempt at once: refused
        await wait_until(lambda: failed_attempts(office, reference) >= 2, what="the run to be retrying the notices")
        assert await state_of(run_id) == "RUNNING"
        os.kill(flow_run_pid(prefect_server, run_id), signal.SIGKILL)
        await wait_until(lambda: _is(run_id, "CRASHED"), what="the Runner to report the run crashed")
    await sweep()
    await assert_notices_arrive_once(office, reference)
    await sweep()  # the run is well again: nothing more is done, nobody is told again
    assert system_mail(office, ADMINISTRATOR) == [
        f"[{reference}] Case run restarted by the system: its run crashed"]
    assert sweep_actions(office, reference) == [("deadline sweep", "flow run rescheduled")]


async def _is(run_id: UUID, state: str) -> bool:
    return await state_of(run_id) == state


@pytest.mark.spawned_runs  # its run is held through PYTHONPATH, which a forked run never reads
async def test_a_run_killed_while_saving_its_form_is_restarted_by_the_sweep_and_takes_the_decision_once(
        office: Office, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    hold = tmp_path / "form-save.pid"
    monkeypatch.setenv("CIG_TEST_HOLD_FORM_SAVE", str(hold))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(HOLD_FORM_SAVE), os.environ.get("PYTHONPATH")])))
    reference = await case_awaiting_decision(office)
    run_id = run_of(office, reference)
    await wait_until(hold.exists, what="the run to suspend and start saving its form")
    assert await state_of(run_id) == "PAUSED"  # Prefect has recorded it Suspended; the form is not saved
    os.kill(int(hold.read_text()), signal.SIGKILL)
    monkeypatch.setattr(people, "FORM_SAVE_SECONDS", 0)  # half a minute later
    await assert_told_at_once(office, reference, set(RunFault), "its run")
    await sweep()
    await caught_up_after_restart(office, reference)
    assert len(system_mail(office, ADMINISTRATOR)) == 1


async def test_a_run_suspended_without_its_form_is_restarted_by_the_sweep_and_takes_the_decision_once(
        office: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = await case_awaiting_decision(office)
    run_id = run_of(office, reference)
    async with get_client() as client:  # the state the busy server left: suspended, no schema saved
        await wait_until(lambda: waiting_for_input(client, run_id, "decision-"), what="the decision form")
        keyset = (await client.read_flow_run(run_id)).state.state_details.run_input_keyset
        await client.delete_flow_run_input(run_id, keyset["schema"])

    await sweep()  # just suspended: its process may still be saving the form, and is left alone
    assert sweep_actions(office, reference) == []
    monkeypatch.setattr(people, "FORM_SAVE_SECONDS", 0)  # half a minute later
    await assert_told_at_once(office, reference, {RunFault.form_missing},
                              "its run stopped at the step without saving the form")
    await sweep()
    await caught_up_after_restart(office, reference)
    assert system_mail(office, ADMINISTRATOR) == [
        f"[{reference}] Case run restarted by the system: its run stopped at a step without saving the form for it"]


async def test_a_run_shown_running_without_heartbeats_is_marked_crashed_and_restarted_by_the_sweep(
        office: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.events import emit_event
    from prefect.states import Running

    reference = await case_awaiting_decision(office)
    run_id = run_of(office, reference)
    async with get_client() as client:
        await wait_until(lambda: waiting_for_input(client, run_id, "decision-"), what="the decision form")
        suspended_at = (await client.read_flow_run(run_id)).state.timestamp
        # a last heartbeat after the Suspended state says nothing about a properly waiting run
        emit_event("prefect.flow-run.heartbeat", resource={"prefect.resource.id": f"prefect.flow-run.{run_id}"})
        await wait_until(lambda: _heartbeat_after(client, run_id, suspended_at), what="the heartbeat event to be stored")
    every = people.heartbeat_seconds
    monkeypatch.setattr(people, "heartbeat_seconds", lambda: 1)  # a beat overdue: 1 s, not 40 s
    monkeypatch.setattr(recovery, "HEARTBEAT_SLACK_SECONDS", 0)
    time.sleep(3.5)
    await sweep()
    assert sweep_actions(office, reference) == []

    async with get_client() as client:  # the run was picked up again and its worker killed: nothing reports it
        await client.set_flow_run_state(run_id, Running(), force=True)
    time.sleep(3.5)
    await assert_told_at_once(office, reference, {RunFault.stalled}, "its run stopped answering")
    async with get_client() as client:
        before = len(await client.read_flow_run_states(run_id))
    await sweep()
    async with get_client() as client:
        history = [s.type.value for s in await client.read_flow_run_states(run_id)]
    marked = [i for i in range(len(history) - 2) if history[i:i + 3] == ["RUNNING", "CRASHED", "SCHEDULED"]]
    assert marked and marked[-1] >= before - 1, history  # by the sweep: said so on the run, then restarted
    monkeypatch.undo()  # the restarted run is watched with real intervals
    await caught_up_after_restart(office, reference)
    assert system_mail(office, ADMINISTRATOR) == [
        f"[{reference}] Case run restarted by the system: its run stopped answering (no heartbeat: its worker was "
        "stopped or killed)"]


async def _heartbeat_after(client, run_id: UUID, moment: datetime) -> bool:  # type: ignore[no-untyped-def]
    beat = await latest_heartbeat(client, run_id, since=moment)
    return beat is not None and beat > moment


async def test_a_run_that_keeps_dying_is_left_stopped_and_escalated_until_a_person_restarts_it(office: Office) -> None:
    """The limit here is one restart an hour (the sweep deployment's `recovery_limit`; by default three)."""
    from prefect.states import Crashed

    async def crash_while_waiting() -> None:
        async with get_client() as client:
            await wait_until(lambda: waiting_for_input(client, run_id, "decision-"), what="the decision form")
            await client.set_flow_run_state(run_id, Crashed(), force=True)

    reference = await case_awaiting_decision(office)
    run_id = run_of(office, reference)
    await crash_while_waiting()
    await deadline_sweep(recovery_limit=1)
    await crash_while_waiting()
    await deadline_sweep(recovery_limit=1)  # a second death within the hour: left alone, escalated
    await deadline_sweep(recovery_limit=1)  # and told once
    assert await state_of(run_id) == "CRASHED"
    escalation = f"[{reference}] ACTION NEEDED: the case's run keeps stopping and is no longer restarted"
    assert system_mail(office, BUSINESS_MANAGER) == [escalation]
    assert system_mail(office, ADMINISTRATOR) == [
        f"[{reference}] Case run restarted by the system: its run crashed", escalation]
    await assert_told_at_once(office, reference, {RunFault.crashed}, "its run crashed",
                              then="left it stopped and told the business manager.*cig referral recover")

    assert await recover_referral_run(reference, office) == "CRASHED"  # the person's `cig referral recover`
    await caught_up_after_restart(office, reference)
    assert sweep_actions(office, reference) == [
        ("deadline sweep", "flow run rescheduled"), ("deadline sweep", "flow run left stopped"),
        ("cig referral recover", "flow run rescheduled")]
    with pytest.raises(ValueError, match="nothing to recover"):
        await recover_referral_run(reference, office)
