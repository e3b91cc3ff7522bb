"""When a case's run has died, and whether the system may start it again: pure rules, no Prefect.

A case's run lives on the Prefect server; the case database says where the case is. The recovery
check (woken by the Prefect Automations of flows.automations within seconds of a run going silent,
and the deadline sweep every 15 minutes as a backstop) looks at each open case's run and asks these
rules two questions:

- has the run died (`run_fault`)? Crashed or failed; suspended at a step with no form saved past
  the grace its process has to save one; taken by a worker (Pending, Submitting) whose process never
  reported Running; or shown running while its heartbeat is overdue (its worker was killed: nothing
  reported the run). How long each may stay silent (`silence_allowed`) is also the window of the
  Automation that wakes the check, so a check woken by one always finds the run judged dead.
  A suspended run sends no heartbeats, and a last heartbeat that arrives after its Suspended state
  says nothing about it: only its form does. A scheduled run is not dead: any live worker takes it
  (a late one waits for a free slot of the pool, which restarting the dead runs that hold them frees).
- may it be started again (`recovery_decision`)? Yes, unless the case's run has already been
  recovered `limit.recoveries` times within `limit.within` (three in an hour): a run that keeps
  dying is left alone and the business manager is told, not restarted in a loop.

Times are timezone-aware; `now` is always an argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

SWEEP_MINUTES = 15  # the deadline sweep's interval (prefect.yaml): the backstop, if no Automation woke the check
RECOVERY_SECONDS = 60  # what is promised: a dead run is found and restarted within a minute of its death
START_SECONDS = 30  # a run a worker took (Pending, Submitting) reports Running within this, on a loaded machine
HEARTBEAT_SLACK_SECONDS = 10  # how late a running run's next heartbeat may be before it is judged dead
FORM_SAVE_SECONDS = 30  # a suspended run's process saves its form's schema within this (a few 5xx retries included)


class RunFault(StrEnum):
    """How a case's run died."""

    crashed = "crashed"
    failed = "failed"
    form_missing = "form_missing"
    stalled = "stalled"

    @property
    def words(self) -> str:
        """What happened, in a sentence's words: "its run crashed"."""
        return {
            RunFault.crashed: "its run crashed",
            RunFault.failed: "its run failed",
            RunFault.form_missing: "its run stopped at a step without saving the form for it",
            RunFault.stalled: "its run stopped answering (no heartbeat: its worker was stopped or killed)",
        }[self]


@dataclass(frozen=True)
class RunSighting:
    """What the Prefect server shows of a case's run.

    `state` is the Prefect state type ("RUNNING", "PAUSED", ...), `state_at` when the run entered it;
    `last_heartbeat` the time of its latest heartbeat event, if any; `form_saved` whether the form of
    the step it is suspended at is saved (None when it is not suspended at a step with a form).
    """

    state: str
    state_at: datetime
    last_heartbeat: datetime | None = None
    form_saved: bool | None = None


def silence_allowed(state: str, heartbeat_seconds: float | None) -> timedelta | None:
    """How long a run in `state` may go without a sign of life (a state change or a heartbeat) before it is
    judged dead (None: silence says nothing of it). A run taken by a worker has `START_SECONDS` to report
    Running, whatever its heartbeats; a running one its heartbeat interval and `HEARTBEAT_SLACK_SECONDS`
    (the engine beats once on starting, then every interval)."""
    if state == "PENDING":
        return timedelta(seconds=START_SECONDS)
    if state == "RUNNING" and heartbeat_seconds:
        return timedelta(seconds=heartbeat_seconds + HEARTBEAT_SLACK_SECONDS)
    return None


def last_sign_of_life(sighting: RunSighting) -> datetime:
    """The later of the run's state change and its latest heartbeat."""
    if sighting.last_heartbeat is None:
        return sighting.state_at
    return max(sighting.state_at, sighting.last_heartbeat)


def run_fault(sighting: RunSighting, *, now: datetime, heartbeat_seconds: float | None,
              form_save_seconds: float = FORM_SAVE_SECONDS) -> RunFault | None:
    """How the run died, or None while it lives (or waits properly, or is somewhere a person put it).

    `heartbeat_seconds` None means runs send no heartbeats: a running run is then never judged dead.
    """
    state = sighting.state
    if state == "CRASHED":
        return RunFault.crashed
    if state == "FAILED":
        return RunFault.failed
    if state == "PAUSED":  # heartbeats say nothing here, not even one sent after the Suspended state
        suspended_for = (now - sighting.state_at).total_seconds()
        return RunFault.form_missing if sighting.form_saved is False and suspended_for > form_save_seconds else None
    allowed = silence_allowed(state, heartbeat_seconds)
    if allowed is not None and now - last_sign_of_life(sighting) > allowed:
        return RunFault.stalled
    return None


@dataclass(frozen=True)
class RecoveryLimit:
    """At most `recoveries` restarts of one case's run within `within`; past that it is escalated."""

    recoveries: int = 3
    within: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.recoveries < 1:
            raise ValueError("recoveries: at least 1")
        if self.within <= timedelta(0):
            raise ValueError("within: a positive duration")


class PastEvent(StrEnum):
    recovered = "recovered"  # restarted, by the system or a person
    left_stopped = "left_stopped"  # left alone and escalated


@dataclass(frozen=True)
class PastRecovery:
    """One earlier recovery or escalation of the case's run, from the audit trail; `state_ids` are the
    ids of the dead states it dealt with."""

    at: datetime
    event: PastEvent
    state_ids: tuple[str, ...] = ()


class RecoveryDecision(StrEnum):
    restart = "restart"
    escalate = "escalate"  # left alone; the business manager and the administrator are told
    already_dealt_with = "already_dealt_with"  # this death was recovered or escalated before


def recoveries_within(history: Sequence[PastRecovery], *, now: datetime, limit: RecoveryLimit) -> int:
    """How many times the case's run was restarted in the `limit.within` before `now`."""
    return sum(1 for past in history if past.event is PastEvent.recovered and now - limit.within < past.at <= now)


def recovery_decision(history: Sequence[PastRecovery], *, state_id: str, now: datetime,
                      limit: RecoveryLimit) -> RecoveryDecision:
    """Whether the run, found dead in the state `state_id`, is restarted or left alone and escalated."""
    if any(state_id in past.state_ids for past in history):
        return RecoveryDecision.already_dealt_with
    if recoveries_within(history, now=now, limit=limit) >= limit.recoveries:
        return RecoveryDecision.escalate
    return RecoveryDecision.restart


def recovery_number(history: Sequence[PastRecovery]) -> int:
    """How many times the case's run has been restarted, ever: numbers each recovery's alert."""
    return sum(1 for past in history if past.event is PastEvent.recovered)


def restart_promise() -> str:
    """What a person is told will happen to a dead run (it is judged dead only once it is: the check acts then)."""
    return "the system restarts it within a minute"
