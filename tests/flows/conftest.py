"""Layer 3: whole referral and review flows under one session-scoped Prefect test server.

The `referral` and `review` flows are served from this process (a Runner in a background thread), so each
flow run executes in a process of its own, as under a worker, and suspends release it (forked from a
preloaded forkserver, or spawned for the fault tests: `flow_runs_forked`). The case
database, the data key and the local SMTP server are per test; `people` hands in each person's
form through the same function `cig` uses.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import random
import string
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.testing.utilities import prefect_test_harness

from casework import store as store_package
from casework.forms import RecommendationForm
from casework.office import Office, open_office
from notifications.mailbox import read_mailbox, start_mailbox
from tests.conftest import drop_postgres_database, free_port, new_postgres_database

DATABASES = ["sqlite"] + (["postgres"] if os.environ.get("CIG_TEST_POSTGRES_URL") else [])


# The server services no flow test exercises, off (as Prefect's own test suite runs them): the deadline
# sweep, not Prefect, acts on late or expired runs here, and no deployment has a schedule.
QUIET_SERVICES = {
    f"PREFECT_SERVER_SERVICES_{service}_ENABLED": "false"
    for service in ("SCHEDULER", "LATE_RUNS", "PAUSE_EXPIRATIONS", "CANCELLATION_CLEANUP", "FOREMAN")
}

# What each flow run imports before it starts: a run forked from a server process that holds these
# starts in a fraction of the CPU of one spawned to import them again.
PRELOADED = ["prefect", "prefect.flow_engine", "prefect.runner", "flows.referral", "flows.review", "casework.referral.actions",
             "casework.store", "alembic.command", "docx"]


@contextmanager
def quiet_services() -> Iterator[None]:
    """QUIET_SERVICES in the environment while the test server starts (it reads them then), and
    only then: a system test later in the same worker starts a stack that needs its scheduler."""
    saved = {name: os.environ.get(name) for name in QUIET_SERVICES}
    os.environ.update(QUIET_SERVICES)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[Any]:
    """One Prefect test server for the session, serving the `referral` and `review` flows from a Runner
    in this process (the fixture's value: it knows the process of each flow run it started); at the end, any flow-run process still running (a test ended while its run was
    finishing) is stopped with the server, not left retrying a server that has gone."""
    import multiprocessing

    with ExitStack() as harness:
        with quiet_services():
            harness.enter_context(prefect_test_harness(server_startup_timeout=120))
        from prefect.runner import Runner

        from flows.referral import referral
        from flows.review import review

        runner = Runner(name="cig-test-runner", query_seconds=0.5, limit=20)  # a resumed run waits for its look

        async def serve() -> None:
            await runner.aadd_flow(referral, name="referral")
            await runner.aadd_flow(review, name="review")
            await runner.start()

        thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
        thread.start()
        _start_forkserver()
        asyncio.run(_wait_for_deployment("referral/referral"))
        asyncio.run(_wait_for_deployment("review/review"))
        yield runner
        for process in multiprocessing.active_children():
            process.kill()


@pytest.fixture(autouse=True)
def flow_runs_forked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each flow run is still a process of its own that a suspend releases, as under a worker, but
    forked from a forkserver that has imported Prefect and the flows, not spawned to import them
    again (about 3 s of CPU saved per step). Tests marked `spawned_runs` (two fault tests: one kills its spawned run by the pid its Runner holds,
    command line, one loads code into it through PYTHONPATH) keep spawn."""
    if request.node.get_closest_marker("spawned_runs"):
        return
    import multiprocessing
    import types

    import prefect.flow_engine

    forkserver = _start_forkserver()
    monkeypatch.setattr(prefect.flow_engine, "multiprocessing",
                        types.SimpleNamespace(get_context=lambda method: forkserver, context=multiprocessing.context))


def _start_forkserver():  # type: ignore[no-untyped-def]
    """The forkserver, started (once) with the session's environment, before any test sets its own: a
    forked run inherits the forkserver's environment and Prefect only adds the test's to it, so a
    variable one test set (a PostgreSQL test's CIG_DATABASE_URL) must not be there for the next."""
    import multiprocessing
    import multiprocessing.forkserver

    forkserver = multiprocessing.get_context("forkserver")
    forkserver.set_forkserver_preload(PRELOADED)
    multiprocessing.forkserver.ensure_running()
    return forkserver


async def _wait_for_deployment(name: str) -> None:
    async with get_client() as client:
        for _ in range(120):
            try:
                await client.read_deployment_by_name(name)
                return
            except Exception:
                await asyncio.sleep(0.5)
    raise RuntimeError(f"deployment {name} was not served")


def small_partnership(directory: Path, **changes: object) -> Path:
    """The example partnership with three agencies (fewer returns keep flow tests short)."""
    import yaml

    from config.settings import CONFIG_DIR

    data = yaml.safe_load((CONFIG_DIR / "partnership.example.yaml").read_text())
    data["agencies"] = [a for a in data["agencies"] if a["code"] in ("POL", "CSC", "HEALTH")]
    data.update(changes)
    path = directory / "partnership.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(params=DATABASES)
def office(request: pytest.FixtureRequest, prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    """A fresh case database and mailbox for one test; the flow subprocesses see the same settings."""
    port = free_port()
    monkeypatch.setenv("CIG_HOME", str(tmp_path / "cig"))
    # a fresh case database restarts references at 0001; the Prefect server outlives it, so each
    # test gets its own prefix (a case's run is keyed by its reference)
    prefix = "".join(random.choices(string.ascii_uppercase, k=6))
    monkeypatch.setenv("CIG_PARTNERSHIP_FILE", str(small_partnership(tmp_path, reference_prefix=prefix)))
    monkeypatch.setenv("CIG_SMTP_PORT", str(port))
    database = None
    if request.param == "postgres":
        # a database of its own, not emptied tables: a run an earlier test left (a review run its
        # decision started) may still be connected to that test's database, and would migrate or
        # lock this one's under it
        database = new_postgres_database(os.environ["CIG_TEST_POSTGRES_URL"], prefix.lower())
        monkeypatch.setenv("CIG_DATABASE_URL", database)
    else:
        monkeypatch.delenv("CIG_DATABASE_URL", raising=False)
    store_package._factory.cache_clear()
    the_office = open_office()
    mailbox = start_mailbox(the_office.settings.mail_dir, port=port)
    yield the_office
    mailbox.stop()
    if database:
        the_office.sessions.kw["bind"].dispose()
        drop_postgres_database(database)


def mail_to(office: Office) -> dict[str, list[str]]:
    """Subjects received, by recipient."""
    received: dict[str, list[str]] = {}
    for mail in read_mailbox(office.settings.mail_dir):
        for to in mail.to:
            received.setdefault(to, []).append(mail.subject)
    return received


async def wait_until(predicate, seconds: float = 90, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    """Until `predicate()` is true (awaited, if it returns an awaitable)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        met = predicate()
        if inspect.isawaitable(met):
            met = await met
        if met:
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "referral.yaml"


async def case_awaiting_decision(office: Office, recommendation: RecommendationForm | None = None,
                                 scr_threshold: bool = True) -> str:
    """The example referral with its screening, returns (of small_partnership's three agencies) and the
    group's `recommendation` recorded as the flow's own tasks record them, before its run starts: the run
    goes from the top straight to the chair's decision, as it does after every resume (the path through
    each form is test_referral_flow's). Below the SCR threshold (`scr_threshold=False`) for another
    review. Returns once the CIGSUM1 has gone to the independent chair."""
    from datetime import datetime, timezone

    import yaml

    from casework.forms import AgencyReturnForm, ReferralForm, ScreeningForm
    from casework.referral import actions
    from casework.store import cases as store
    from flows.launch import start_referral_run

    now = datetime.now(timezone.utc)
    data = yaml.safe_load(EXAMPLE.read_text())
    data["facts"]["concern_about_joint_working"] = scr_threshold
    form = ReferralForm.model_validate(data, context={"today": now.date()})
    reference = actions.submit_referral(office, form, now=now, actor="test").reference
    actions.record_screening(office, reference, ScreeningForm(
        outcome="accept", decided_by="Casey Chair", independent_chair_consulted=True), now=now, actor="screening form")
    actions.list_and_request_information(office, reference, now=now)
    for code in ("POL", "CSC", "HEALTH"):
        actions.record_return(office, reference, AgencyReturnForm(agency=code, status="nil"), now=now, actor="return form")
    with office.sessions() as session:  # the group considers the case at its meeting
        meeting_at = store.get_case(session, reference=reference).meeting_at
    actions.record_recommendation(office, reference, recommendation or RecommendationForm(
        outcome="scr", rationale="5(2)(b)(ii) met"), now=max(now, meeting_at or now), actor="recommendation form")
    await start_referral_run(reference, office)
    await wait_until(lambda: len(mail_to(office).get("independent-chair@example.org", [])) == 2, what="the CIGSUM1")
    with office.sessions() as session:
        assert store.get_case(session, reference=reference).stage == "awaiting_decision"
    return reference


def meet_now(office: Office, reference: str) -> None:
    """The group has just met for the case: an extraordinary meeting now, the case re-listed for it
    (`cig meeting add now --list REF`), so its recommendation can be recorded; the flows run on the
    real clock, and the monthly meeting the case was listed for is weeks away.

    A day the calendar's rule gives a meeting takes no extraordinary one (the meeting day itself, when
    the suite runs on it): then the group met at this hour on the last day before that has no meeting,
    recorded as added then."""
    from datetime import datetime, timedelta, timezone

    from casework.meetings import rescheduling
    from casework.meetings.calendar import rule_gives

    rule = office.partnership.meetings
    at = datetime.now(timezone.utc)
    while rule_gives(rule, at.astimezone(rule.zone).date()):
        at -= timedelta(days=1)
    rescheduling.add_meeting(office, at, now=at, reason="the group meets at once (test)", actor="test",
                             relist_cases=[reference])
