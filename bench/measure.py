"""The measurements of `make bench`, each against a running stack (cli.stack) and its case database.

People are simulated with `flows.people.submit_step`, the call `cig` and the website make: the step is
recorded in the case database at once, what it owes is sent, then the case's run is woken. The floor
flow, which has no case database, is resumed with `aresume_flow_run`. Times are wall-clock seconds on
this machine.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID

import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter
from prefect.deployments import run_deployment
from prefect.exceptions import PrefectHTTPStatusError
from prefect.flow_runs import aresume_flow_run
from pydantic import BaseModel

from casework.referral import actions
from casework.meetings import rescheduling
from casework.delivery import deliver_pending
from casework.forms import AgencyReturnForm, DecisionForm, RecommendationForm, ReferralForm, ScreeningForm
from casework.office import Office
from casework.store import cases as store
from flows.launch import recover_referral_run, start_referral_run
from flows.people import FormNotSaved, submit_step, waiting_for_input
from notifications.mailbox import read_mailbox

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE = PROJECT / "examples" / "referral.yaml"
SUSPENDS = 6  # screening, three returns, recommendation, decision (three agencies)
# How long a simulated person waits for the case to reach their step: `cig`'s 60 s default
# (CIG_HUMAN_STEP_WAIT_SECONDS) is too short when many cases queue for two busy cores.
PATIENCE = 600.0


@dataclass(frozen=True)
class People:
    """How the simulated people wait for a case to reach their step, with `in_flight` cases under way.

    With many cases in flight each step's flow run queues behind every other case's (about 4 s a run,
    four at a time: ~1 s a case), so a person waits 15 s a case before calling it an error; and all
    of them together look about 20 times a second, so their looking does not load the Prefect server
    the cases' runs need (100 people looking every 0.5 s, `cig`'s interval, would be 200 requests a
    second); a few cases look every 0.5 s, as `cig` does.
    """

    in_flight: int = 1
    # throughput: a run left suspended with no form saved is recovered as `cig` tells the person to
    # (`cig referral recover`), and listed; elsewhere it is an error
    recovered: list[str] | None = None

    @property
    def patience(self) -> float:
        return max(PATIENCE, 15.0 * self.in_flight)

    @property
    def look_every(self) -> float:
        return max(0.5, self.in_flight / 20)

    async def step(self, office: Office, reference: str, step: str, form: BaseModel) -> None:
        """Hand the case's run `form` at `step` as `cig` does, once the run asks for it."""
        try:
            await submit_step(office, reference, step, form, wait_seconds=self.patience, look_every=self.look_every)
        except FormNotSaved as lost:
            if self.recovered is None:
                raise
            self.recovered.append(f"{reference} at {step}: {lost}")
            await recover_referral_run(reference, office)
            await submit_step(office, reference, step, form, wait_seconds=self.patience, look_every=self.look_every)


# --- numbers -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Spread:
    """Median, 5th/95th percentile (nearest rank), min, max and count of a sample."""

    n: int
    median: float
    p95: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> "Spread":
        ordered = sorted(values)
        if not ordered:
            return cls(0, float("nan"), float("nan"), float("nan"), float("nan"))
        rank = max(0, min(len(ordered) - 1, round(0.95 * len(ordered) + 0.5) - 1))
        return cls(len(ordered), statistics.median(ordered), ordered[rank], ordered[0], ordered[-1])

    def text(self, unit: str = "s") -> str:
        return f"{self.median:.2f} {unit} (p95 {self.p95:.2f}, range {self.low:.2f}–{self.high:.2f}, n={self.n})"


# --- driving a referral ------------------------------------------------------------------------

def referral_form(now: datetime) -> ReferralForm:
    return ReferralForm.model_validate(yaml.safe_load(EXAMPLE.read_text()), context={"today": now.date()})


async def submit_case(office: Office) -> str:
    """Record a referral (as `cig referral submit` does) and start its run; return the reference."""
    now = datetime.now(timezone.utc)
    reference = actions.submit_referral(office, referral_form(now), now=now, actor="bench").reference
    await start_referral_run(reference, office)
    return reference


async def drive_to_decision(office: Office, reference: str, people: People = People()) -> None:
    """Screening, every agency's return, the recommendation: the case then awaits the chair."""
    await people.step(office, reference, "screening",
                      ScreeningForm(outcome="accept", decided_by="Casey Chair", independent_chair_consulted=True))
    for agency in office.partnership.agencies:
        returned = agency.code == "HEALTH"
        await people.step(office, reference, "return", AgencyReturnForm(
            agency=agency.code, status="returned" if returned else "nil",
            involvement="Seen by the health visitor." if returned else None))
    now = datetime.now(timezone.utc)  # the group meets at once for it (`cig meeting add now --list REF`)
    if rescheduling.add_meeting(office, now, now=now, reason="the group meets at once (bench)", actor="bench",
                                relist_cases=[reference]).queued:
        await deliver_pending(office)  # the members are told of the meeting, as `cig meeting add` does
    await people.step(office, reference, "recommendation", RecommendationForm(outcome="scr", rationale="5(2)(b)(ii) met"))


async def decide(office: Office, reference: str, people: People = People()) -> None:
    await people.step(office, reference, "decision", DecisionForm(
        response="affirm", decision="scr", rationale="Agreed.", decided_by="Indra Independent",
        lead_reviewers=["Rowan Reviewer"]))


def ofsted_received_at(office: Office, reference: str, after: datetime | None = None) -> datetime | None:
    """When the SMTP server accepted the case's Ofsted notice (received after `after`, if given)."""
    ofsted = office.partnership.contacts.ofsted.email
    for mail in read_mailbox(office.settings.mail_dir):
        if mail.key.startswith(f"{reference}:") and ofsted in mail.to and (after is None or mail.received_at > after):
            return mail.received_at
    return None


async def wait_for(predicate: Callable[[], object], seconds: float, what: str, every: float = 0.2) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(every)
    raise TimeoutError(f"timed out after {seconds:.0f} s waiting for {what}")


def case_stage(office: Office, reference: str) -> str:
    with office.sessions() as session:
        return store.get_case(session, reference=reference).stage


def flow_run_id(office: Office, reference: str) -> UUID:
    with office.sessions() as session:
        return UUID(store.get_case(session, reference=reference).flow_run_id)


async def paused_at(flow_run: UUID, key_prefix: str) -> bool:
    async with get_client() as client:
        return await waiting_for_input(client, flow_run, key_prefix)


async def wait_paused(flow_run: UUID, key_prefix: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not await paused_at(flow_run, key_prefix):
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {flow_run} did not suspend at {key_prefix} within {seconds:.0f} s")
        await asyncio.sleep(0.2)


# --- where a run's time goes, from its state history ---------------------------------------------

@dataclass
class StateTimes:
    """A run's wall time split by Prefect state: waiting for a worker, starting a process, running, suspended."""

    to_worker: float = 0.0  # Scheduled -> Pending: the worker's poll
    process_start: float = 0.0  # Pending -> Running: a new Python process imports the flow
    running: float = 0.0  # Running -> Paused/Completed: the flow's code, tasks and API calls
    suspended: float = 0.0  # Paused -> Scheduled: waiting for the (simulated) person
    starts: int = 0  # processes started

    def add(self, other: "StateTimes") -> None:
        for name in ("to_worker", "process_start", "running", "suspended", "starts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


async def state_times(flow_run: UUID, since: datetime | None = None) -> StateTimes:
    """The run's states (from `since`, if given) summed by kind."""
    async with get_client() as client:
        states = sorted(await client.read_flow_run_states(flow_run), key=lambda s: s.timestamp)
    if since is not None:
        states = [s for s in states if s.timestamp >= since]
    times = StateTimes()
    for state, following in zip(states, states[1:]):
        seconds = (following.timestamp - state.timestamp).total_seconds()
        if state.is_scheduled():
            times.to_worker += seconds
        elif state.is_pending():
            times.process_start += seconds
        elif state.is_running():
            times.running += seconds
            times.starts += 1
        elif state.is_paused():
            times.suspended += seconds
    return times


async def task_run_count(flow_run: UUID) -> int:
    count = 0
    async with get_client() as client:
        while True:
            page = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id={"any_": [flow_run]}), limit=200, offset=count)
            count += len(page)
            if len(page) < 200:
                return count


# --- database transactions (PostgreSQL only) ----------------------------------------------------

def transactions(admin_url: str | None, databases: Sequence[str]) -> int | None:
    """Committed + rolled-back transactions so far on `databases` (pg_stat_database), or None on SQLite."""
    if admin_url is None:
        return None
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute("SELECT pg_stat_clear_snapshot()")
        row = connection.execute(
            "SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database WHERE datname = ANY(%s)", (list(databases),)
        ).fetchone()
    return int(row[0] or 0)


# --- 1. overhead against the floor --------------------------------------------------------------

@dataclass
class OverheadRun:
    seconds: float
    task_runs: int
    transactions: int | None
    states: StateTimes


async def one_referral(office: Office, pg: tuple[str, Sequence[str]] | None) -> OverheadRun:
    """One referral driven through every step, one step after another; timed until the Ofsted notice is accepted."""
    before = transactions(*pg) if pg else None
    started = time.monotonic()
    reference = await submit_case(office)
    await drive_to_decision(office, reference)
    await decide(office, reference)
    await wait_for(lambda: case_stage(office, reference) in ("decided", "closed") and ofsted_received_at(office, reference),
                   180, f"{reference} decided and notified")
    run = flow_run_id(office, reference)
    async with get_client() as client:
        await wait_for_final(client, run)
    seconds = time.monotonic() - started
    after = transactions(*pg) if pg else None
    return OverheadRun(seconds, await task_run_count(run), None if before is None else after - before, await state_times(run))


async def wait_for_final(client, flow_run: UUID, seconds: float = 120) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = await client.read_flow_run(flow_run)
        if run.state and run.state.is_final():
            return run.state.type.value
        await asyncio.sleep(0.3)
    raise TimeoutError(f"flow run {flow_run} did not finish")


async def one_floor(tasks_per_segment: int, pg: tuple[str, Sequence[str]] | None, suspends: int = SUSPENDS) -> OverheadRun:
    """The floor flow through `suspends` waits (a referral's number by default), resumed as soon as it waits."""
    before = transactions(*pg) if pg else None
    started = time.monotonic()
    run = await run_deployment("floor/floor", parameters={"suspends": suspends, "tasks_per_segment": tasks_per_segment},
                               timeout=0, as_subflow=False)
    for step in range(suspends):
        await wait_paused(run.id, f"step-{step}")
        await aresume_flow_run(run.id, run_input={"step": step})
    async with get_client() as client:
        state = await wait_for_final(client, run.id)
    if state != "COMPLETED":
        raise RuntimeError(f"the floor run ended {state}")
    seconds = time.monotonic() - started
    after = transactions(*pg) if pg else None
    return OverheadRun(seconds, await task_run_count(run.id), None if before is None else after - before, await state_times(run.id))


# --- 2. human action to email -------------------------------------------------------------------

async def hold_cases(office: Office, count: int, concurrency: int) -> tuple[list[str], list[str]]:
    """`count` referrals driven (at most `concurrency` at once) to await the chair's decision; (references, errors)."""
    gate = asyncio.Semaphore(concurrency)
    errors: list[str] = []

    async def one() -> str | None:
        async with gate:
            try:
                reference = await submit_case(office)
                await drive_to_decision(office, reference)
                await wait_paused(flow_run_id(office, reference), "decision-")
                return reference
            except Exception as failure:  # counted and reported, never hidden
                errors.append(f"{type(failure).__name__}: {failure}")
                return None

    held = await asyncio.gather(*(one() for _ in range(count)))
    return [r for r in held if r], errors


async def decision_to_ofsted(office: Office, reference: str) -> tuple[float, StateTimes]:
    """Seconds from the chair's decision submitted (`submit_step`: recorded, its notices sent, the run woken)
    to the Ofsted notice accepted by SMTP; and the woken run's state history until it finishes."""
    run = flow_run_id(office, reference)
    await wait_paused(run, "decision-")
    resumed_at = datetime.now(timezone.utc)
    await decide(office, reference)
    accepted = await wait_for(lambda: ofsted_received_at(office, reference, after=resumed_at), 180, f"{reference}'s Ofsted notice", every=0.05)
    async with get_client() as client:
        await wait_for_final(client, run)
    states = await state_times(run, since=resumed_at)
    return (accepted - resumed_at).total_seconds(), states  # type: ignore[operator]


# --- 3. throughput ------------------------------------------------------------------------------

@dataclass
class Throughput:
    started: int
    decided: int
    seconds: float
    errors: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)  # runs suspended with no form saved, recovered

    @property
    def per_minute(self) -> float:
        return 60 * self.decided / self.seconds if self.seconds else 0.0


async def throughput(office: Office, count: int, concurrency: int) -> Throughput:
    """`count` referrals started together, each driven to the decision and its notices; failures counted."""
    gate = asyncio.Semaphore(concurrency)
    errors: list[str] = []
    people = People(in_flight=count, recovered=[])
    started = time.monotonic()

    async def one() -> bool:
        try:
            async with gate:
                reference = await submit_case(office)
            await drive_to_decision(office, reference, people)
            await decide(office, reference, people)
            await wait_for(lambda: ofsted_received_at(office, reference), people.patience, f"{reference}'s Ofsted notice",
                           every=people.look_every)
            return True
        except Exception as failure:
            errors.append(f"{type(failure).__name__}: {failure}")
            return False

    done = await asyncio.gather(*(one() for _ in range(count)))
    seconds = time.monotonic() - started
    errors += await failed_runs_and_messages(office)
    return Throughput(count, sum(done), seconds, errors, people.recovered or [])


async def failed_runs_and_messages(office: Office, settle: float = 60) -> list[str]:
    """Flow runs that failed or crashed, and outbox messages not sent once the runs still sending have
    had `settle` seconds to finish (the last case's Ofsted notice arrives before its other messages)."""
    from prefect.client.schemas.filters import FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType
    from sqlalchemy import select

    from casework.store.tables import OutboxMessage

    failed = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.FAILED, StateType.CRASHED])))
    async with get_client() as client:
        runs = await client.read_flow_runs(flow_run_filter=failed)
    problems = [f"flow run {r.name} {r.state.type.value}" for r in runs if r.state]
    deadline = time.monotonic() + settle
    while True:
        with office.sessions() as session:
            unsent = session.scalars(select(OutboxMessage).where(OutboxMessage.status.not_in(("sent", "withdrawn")))).all()
        if not unsent or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    return problems + [f"outbox {m.key} {m.status}: {m.last_error}" for m in unsent]


# --- 4. cost of holding cases -------------------------------------------------------------------

@dataclass(frozen=True)
class Footprint:
    processes: int
    flow_run_processes: int
    rss_mb: float
    by_role: dict[str, tuple[int, float]]


def _role(command: str) -> str:
    if "server start" in command or "uvicorn" in command:
        return "Prefect server"
    if "worker start" in command:
        return "worker"
    if "prefect.engine" in command or "flow-run execute" in command:
        return "flow run"
    if "mailserver" in command:
        return "mail server"
    return "other"


def footprint(root: int | None = None) -> Footprint:
    """Processes descended from `root` (default this process) and their resident memory, by role."""
    root = root or os.getpid()
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    descendants, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier and pid not in descendants}
        descendants |= frontier
    by_role: dict[str, list[float]] = {}
    for pid in descendants:
        try:
            command = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            status = (Path("/proc") / str(pid) / "status").read_text()
        except OSError:
            continue
        rss_kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        by_role.setdefault(_role(command), []).append(rss_kb / 1024)
    roles = {role: (len(sizes), sum(sizes)) for role, sizes in sorted(by_role.items())}
    return Footprint(sum(n for n, _ in roles.values()), roles.get("flow run", (0, 0.0))[0],
                     sum(mb for _, mb in roles.values()), roles)


async def settled_footprint(seconds: float = 30) -> Footprint:
    """The footprint once no flow-run process is left (suspended runs hand their process back)."""
    deadline = time.monotonic() + seconds
    while True:
        now = footprint()
        if now.flow_run_processes == 0 or time.monotonic() > deadline:
            return now
        await asyncio.sleep(0.5)


async def seed_suspended_cases(office: Office, count: int, deployment: str = "referral/referral") -> float:
    """`count` cases awaiting the chair, as a case row each and a referral flow run Suspended at the
    decision on the Prefect server: the records a driven case leaves while it waits, made directly
    (driving 1,000 cases there would take ~6,000 flow-run process starts). Returns the seconds taken.
    """
    from prefect.states import Suspended
    from sqlalchemy import insert, update

    from casework.store.tables import Case

    started = time.monotonic()
    now = datetime.now(timezone.utc)
    references = [f"HELD-{n:06d}" for n in range(1, count + 1)]
    with office.sessions.begin() as session:
        session.execute(insert(Case), [{
            "reference": reference, "regime": "wt2015", "status": "open", "stage": "awaiting_decision",
            "referring_agency": "POL", "notified_on": (now - timedelta(days=10)).date(), "referred_at": now - timedelta(days=10),
            "facts": {}, "personal": None, "referrer_email": None, "wait_seq": 5, "round": 1, "updated_at": now,
        } for reference in references])
    gate = asyncio.Semaphore(4)
    async with get_client() as client:
        deployment_id = (await client.read_deployment_by_name(deployment)).id

        async def one(reference: str) -> None:
            async with gate:
                for attempt in range(8):  # a loaded (SQLite) server answers 503 now and then: try again
                    try:
                        run = await client.create_flow_run_from_deployment(
                            deployment_id, parameters={"reference": reference}, name=f"referral-{reference}",
                            idempotency_key=f"referral-{reference}",
                            tags=["case", "stage:awaiting_decision", "bench:held"], state=Suspended(pause_key="decision-5"))
                        # the case knows its run, as start_referral_run records it: else the sweep would
                        # take it for a referral recorded while Prefect was down, and start a run for it
                        with office.sessions.begin() as session:
                            session.execute(update(Case).where(Case.reference == reference).values(flow_run_id=str(run.id)))
                        return
                    except PrefectHTTPStatusError as busy:
                        if busy.response.status_code < 500 or attempt == 7:
                            raise
                        await asyncio.sleep(2 + 2 * attempt)

        # one first, alone: the client fetches its CSRF token on its first change, and several at once each fetch
        # one, the server keeping the last (Prefect's client has no lock): the others were refused 403
        await one(references[0])
        await asyncio.gather(*(one(r) for r in references[1:]))
    return time.monotonic() - started


# --- 5. sweep cost against open cases -----------------------------------------------------------

@dataclass(frozen=True)
class SweepCost:
    held: int
    due: int
    looked_at: int
    selection: Spread
    whole_sweep: float


def seed_open_cases(office: Office, held: int, due: int, now: datetime) -> None:
    """`held` open cases awaiting a decision, straight into the database; `due` of them close to their deadline."""
    from sqlalchemy import insert

    from casework.store.tables import Case, Deadline

    later, soon = now + timedelta(days=60), now + timedelta(days=1)
    cases, deadlines = [], []
    for n in range(1, held + 1):
        cases.append({
            "id": n, "reference": f"SEED-{n:06d}", "regime": "wt2023", "status": "open", "stage": "awaiting_decision",
            "referring_agency": "POL", "notified_on": (now - timedelta(days=10)).date(), "referred_at": now - timedelta(days=10),
            "facts": {}, "personal": None, "referrer_email": None, "wait_seq": 5, "round": 1, "updated_at": now,
        })
        deadlines.append({"case_id": n, "kind": "decision", "subject": "", "round": 0, "label": "decision",
                          "due_at": soon if n <= due else later, "met_at": None})
    with office.sessions.begin() as session:
        for start in range(0, held, 2000):
            session.execute(insert(Case), cases[start:start + 2000])
            session.execute(insert(Deadline), deadlines[start:start + 2000])


def sweep_cost(office: Office, held: int, due: int, repeats: int) -> SweepCost:
    """Time the sweep's selection (the indexed read of open deadlines near now) and one whole sweep."""
    from casework.sweep import horizon
    from casework.sweep import queue_reminders

    now = datetime.now(timezone.utc)
    seed_open_cases(office, held, due, now)
    timings = []
    looked_at = 0
    for _ in range(repeats):
        started = time.perf_counter()
        with office.sessions() as session:
            looked_at = len(store.open_deadlines_due_before(session, before=now + horizon(office.partnership)))
        timings.append(time.perf_counter() - started)
    started = time.perf_counter()
    queue_reminders(office, now=now)
    whole = time.perf_counter() - started
    return SweepCost(held, due, looked_at, Spread.of(timings), whole)


async def timed(step: Awaitable[object]) -> float:
    started = time.monotonic()
    await step
    return time.monotonic() - started
