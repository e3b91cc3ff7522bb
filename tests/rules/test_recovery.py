"""When a case's run is judged dead, and whether the system restarts it (casework.recovery), and what the
administrator and business manager read of it (casework.referral.messages)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casework.referral.messages import run_left_stopped, run_recovered
from casework.recovery import (
    PastEvent, PastRecovery, RecoveryDecision, RecoveryLimit, RunFault, RunSighting, recovery_decision,
    recovery_number, restart_promise, run_fault, silence_allowed,
)
from casework.recovery import FORM_SAVE_SECONDS, RECOVERY_SECONDS
from config.partnership import load_partnership
from config.settings import CONFIG_DIR
from notifications.render import render

NOW = datetime(2026, 11, 3, 10, 0, tzinfo=timezone.utc)
BEAT = 30  # PREFECT_FLOWS_HEARTBEAT_FREQUENCY of the stack


def fault(state: str, ago: float, *, heartbeat_ago: float | None = None, form_saved: bool | None = None,
          heartbeat_seconds: float | None = BEAT) -> RunFault | None:
    sighting = RunSighting(
        state=state, state_at=NOW - timedelta(seconds=ago), form_saved=form_saved,
        last_heartbeat=None if heartbeat_ago is None else NOW - timedelta(seconds=heartbeat_ago))
    return run_fault(sighting, now=NOW, heartbeat_seconds=heartbeat_seconds)


def test_a_crashed_or_failed_run_is_dead_at_once() -> None:
    assert fault("CRASHED", 0) is RunFault.crashed
    assert fault("FAILED", 0) is RunFault.failed


def test_a_run_suspended_with_no_form_is_dead_only_after_the_grace_to_save_it() -> None:
    assert fault("PAUSED", 29, form_saved=False) is None
    assert fault("PAUSED", 31, form_saved=False) is RunFault.form_missing
    assert fault("PAUSED", 86400, form_saved=True) is None
    assert fault("PAUSED", 86400, form_saved=None) is None  # suspended at no step with a form


def test_a_properly_waiting_run_is_not_dead_whatever_its_heartbeats_say() -> None:
    # the engine's heartbeat thread may send one more beat after the Suspended state, and then none
    assert fault("PAUSED", 86400, heartbeat_ago=86390, form_saved=True) is None
    assert fault("PAUSED", 86400, heartbeat_ago=None, form_saved=True) is None


def test_a_running_run_is_dead_once_its_heartbeat_is_ten_seconds_overdue() -> None:
    assert fault("RUNNING", 600, heartbeat_ago=39) is None
    assert fault("RUNNING", 600, heartbeat_ago=41) is RunFault.stalled
    assert fault("RUNNING", 39) is None  # no heartbeat yet: the state's own time counts
    assert fault("RUNNING", 41) is RunFault.stalled
    assert fault("RUNNING", 30, heartbeat_ago=3600) is None  # an old beat from before a resume


def test_a_run_a_worker_took_is_dead_when_its_process_does_not_report_running_within_half_a_minute() -> None:
    assert fault("PENDING", 29) is None  # Pending or Submitting: its process is starting
    assert fault("PENDING", 31) is RunFault.stalled  # its worker died before the process started
    assert fault("PENDING", 31, heartbeat_seconds=None) is RunFault.stalled  # heartbeats or not


def test_each_silence_allowed_leaves_time_to_restart_within_the_minute_promised() -> None:
    # the Automation fires at the window's end (proactive triggers are evaluated every 5 s), and the
    # check it runs needs about 15 s to start, judge and reschedule
    for state in ("PENDING", "RUNNING"):
        assert silence_allowed(state, BEAT) + timedelta(seconds=20) <= timedelta(seconds=RECOVERY_SECONDS)
    assert timedelta(seconds=FORM_SAVE_SECONDS + 20) <= timedelta(seconds=RECOVERY_SECONDS)
    assert silence_allowed("SCHEDULED", BEAT) is None and silence_allowed("PAUSED", BEAT) is None


def test_without_heartbeats_a_running_run_is_never_judged_dead() -> None:
    assert fault("RUNNING", 86400, heartbeat_seconds=None) is None


@pytest.mark.parametrize("state", ["SCHEDULED", "COMPLETED", "CANCELLED", "CANCELLING"])
def test_other_states_are_left_to_people(state: str) -> None:
    assert fault(state, 86400) is None


@given(ago=st.floats(0, 10**6), beat_ago=st.one_of(st.none(), st.floats(0, 10**6)), every=st.integers(30, 600))
def test_a_run_with_a_sign_of_life_within_an_interval_and_ten_seconds_is_never_dead(
        ago: float, beat_ago: float | None, every: int) -> None:
    judged = fault("RUNNING", ago, heartbeat_ago=beat_ago, heartbeat_seconds=every)
    latest = min(ago, beat_ago if beat_ago is not None else ago)
    assert (judged is RunFault.stalled) == (latest > every + 10)


def recovered(minutes_ago: float, *states: str) -> PastRecovery:
    return PastRecovery(NOW - timedelta(minutes=minutes_ago), PastEvent.recovered, states)


def test_a_run_is_restarted_twice_in_an_hour_then_the_third_death_is_escalated() -> None:
    limit = RecoveryLimit()
    assert recovery_decision([], state_id="s1", now=NOW, limit=limit) is RecoveryDecision.restart
    two = [recovered(50, "s1"), recovered(20, "s2")]
    assert recovery_decision(two, state_id="s3", now=NOW, limit=limit) is RecoveryDecision.restart
    three = two + [recovered(5, "s3")]
    assert recovery_decision(three, state_id="s4", now=NOW, limit=limit) is RecoveryDecision.escalate


def test_recoveries_older_than_the_window_do_not_count() -> None:
    history = [recovered(90, "s1"), recovered(61, "s2"), recovered(10, "s3")]
    assert recovery_decision(history, state_id="s4", now=NOW, limit=RecoveryLimit()) is RecoveryDecision.restart
    tight = RecoveryLimit(recoveries=1, within=timedelta(minutes=15))
    assert recovery_decision(history, state_id="s4", now=NOW, limit=tight) is RecoveryDecision.escalate


def test_a_death_dealt_with_once_is_not_dealt_with_again() -> None:
    left = PastRecovery(NOW - timedelta(minutes=1), PastEvent.left_stopped, ("s4", "s4-crashed"))
    history = [recovered(30, "s1"), left]
    assert recovery_decision(history, state_id="s1", now=NOW, limit=RecoveryLimit()) is RecoveryDecision.already_dealt_with
    assert recovery_decision(history, state_id="s4-crashed", now=NOW,
                             limit=RecoveryLimit()) is RecoveryDecision.already_dealt_with
    assert recovery_number(history) == 1


def test_a_limit_must_allow_one_recovery_in_a_positive_window() -> None:
    with pytest.raises(ValueError, match="recoveries"):
        RecoveryLimit(recoveries=0)
    with pytest.raises(ValueError, match="within"):
        RecoveryLimit(within=timedelta(0))


def test_the_promise_names_the_sweep_interval() -> None:
    assert restart_promise() == "the system restarts it within a minute"


PARTNERSHIP = load_partnership(CONFIG_DIR / "partnership.example.yaml")


def test_the_administrator_is_told_of_a_restart_once_per_recovery_naming_the_case_and_what_happened() -> None:
    messages = run_recovered(PARTNERSHIP, reference="NSCP-2026-0007", what_happened=RunFault.crashed.words,
                             stage="awaiting_decision", number=2, at=NOW)
    assert [m.to for m in messages] == [PARTNERSHIP.contacts.administrator]
    assert messages[0].key == f"NSCP-2026-0007:run-recovered-2:{PARTNERSHIP.contacts.administrator.email}:0"
    mail = render(messages[0])
    assert mail.subject == "[NSCP-2026-0007] Case run restarted by the system: its run crashed"
    assert "awaiting decision" in mail.text and "Nothing needs doing" in mail.text
    assert "NSCP-2026-0007" in mail.html


def test_a_run_left_stopped_is_escalated_to_the_business_manager_and_the_administrator() -> None:
    messages = run_left_stopped(PARTNERSHIP, reference="NSCP-2026-0007", what_happened=RunFault.stalled.words,
                                stage="awaiting_returns", recoveries=3, within=timedelta(hours=1), total=3, at=NOW)
    contacts = PARTNERSHIP.contacts
    assert [m.to for m in messages] == [contacts.business_manager, contacts.administrator]
    assert len({m.key for m in messages}) == 2
    mail = render(messages[0])
    assert "ACTION NEEDED" in mail.subject
    assert "3 times in\n60 minutes" in mail.text and "restart the case's run" in mail.text
