"""Faults caused for real against the real stack (Prefect server, process workers, aiosmtpd):
the Prefect server restarted while a case is suspended, the mail server down and the worker
killed with SIGKILL between recording the chair's decision and sending the Ofsted notice (the
deadline sweep finds the run silent, shown Running with no heartbeat, and restarts it), and
two workers sharing 50 referrals on PostgreSQL. People are simulated with `cig` commands.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from cli.stack import BIN, PROJECT, free_port, register, stack_env, wait_for_http, worker_command
from config.settings import CONFIG_DIR
from notifications.mailbox import read_mailbox

pytestmark = pytest.mark.system


class LocalStack:
    """The processes of `make up`, each of which a test can stop, kill or start again."""

    def __init__(self, home: Path, agencies: tuple[str, ...] = ("POL", "CSC", "HEALTH"), **extra_env: str) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.env = stack_env(home, free_port(4300), free_port(8300))
        self.env.update(extra_env)
        self.env["PREFECT_LOGGING_LEVEL"] = "INFO"
        data = yaml.safe_load((CONFIG_DIR / "partnership.example.yaml").read_text())
        data["agencies"] = [a for a in data["agencies"] if a["code"] in agencies]
        (home / "partnership.yaml").write_text(yaml.safe_dump(data))
        self.env["CIG_PARTNERSHIP_FILE"] = str(home / "partnership.yaml")
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> None:
        log = (self.home / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(list(args), env=self.env, cwd=PROJECT, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def start_server(self) -> None:
        port = self.env["PREFECT_SERVER_API_PORT"]
        self.start("server", str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", port)
        wait_for_http(f"http://127.0.0.1:{port}/api/health", 120, "the Prefect server")

    def start_mailbox(self) -> None:
        self.start("mailbox", str(BIN / "cig"), "mailserver", "--port", self.env["CIG_SMTP_PORT"])
        time.sleep(1.5)

    def start_worker(self, name: str) -> None:
        self.start(name, *worker_command(name))

    def deploy(self, automations: bool = False) -> None:
        """The work pool and the deployments; with `automations`, the Automations (and the rest `make up` registers)."""
        register(self.env, deployments_only=not automations)

    def cig(self, *args: str) -> dict:
        done = subprocess.run([str(BIN / "cig"), *args, "--json"], env=self.env, cwd=PROJECT, capture_output=True, text=True)
        assert done.returncode == 0, f"cig {' '.join(args)}: {done.stderr}"
        return json.loads(done.stdout)

    def stage(self, reference: str) -> str:
        return self.cig("referral", "show", reference)["stage"]

    def wait_for_stage(self, reference: str, stage: str, seconds: float = 180) -> None:
        deadline = time.monotonic() + seconds
        while self.stage(reference) != stage:
            assert time.monotonic() < deadline, f"{reference} did not reach {stage}"
            time.sleep(1)

    def wait_until_suspended(self, reference: str, seconds: float = 180) -> None:
        """Until the case's run is suspended (waiting for a person): `cig` records a step in the case
        database and wakes the run, so the run moves on after the command has returned."""
        from tests.system.api import call

        run_id = self.cig("referral", "show", reference)["flow_run_id"]
        deadline = time.monotonic() + seconds
        while True:
            if call(self.env["PREFECT_API_URL"], f"/flow_runs/{run_id}")["state"]["type"] == "PAUSED":
                return
            assert time.monotonic() < deadline, f"the run of {reference} did not suspend"
            time.sleep(1)

    def mail(self) -> Counter[tuple[str, str]]:
        """(recipient, message kind) -> how many arrived."""
        return Counter((to, mail.key.split(":")[1]) for mail in read_mailbox(self.home / "mail") for to in mail.to)

    def mail_keys(self) -> Counter[str]:
        """Outbox key (case, step, recipient, round) -> how many times it arrived."""
        return Counter(mail.key for mail in read_mailbox(self.home / "mail"))

    def sweep(self) -> None:
        """One deadline sweep, as its deployment runs it every 15 minutes."""
        done = subprocess.run([sys.executable, "-c", SWEEP], env=self.env, cwd=PROJECT, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]

    def close(self) -> None:
        for name in list(self.processes)[::-1]:
            self.stop(name)


SWEEP = "import asyncio; from flows.sweep import deadline_sweep; asyncio.run(deadline_sweep())"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    the_stack = LocalStack(tmp_path / "var")
    try:
        yield the_stack
    finally:
        the_stack.close()


def test_server_restart_then_worker_killed_before_the_ofsted_notice(stack: LocalStack) -> None:
    stack.start_server()
    stack.start_mailbox()
    stack.deploy()
    stack.start_worker("worker-1")
    reference = stack.cig("referral", "submit", str(PROJECT / "examples" / "referral.yaml"))["reference"]
    stack.cig("screen", reference, "--accept")
    stack.wait_until_suspended(reference)

    # the Prefect server restarts while the case is suspended, waiting for returns
    stack.stop("server")
    stack.start_server()
    for code in ("POL", "CSC", "HEALTH"):
        stack.cig("return", reference, "--agency", code, "--nil")
    stack.cig("meeting", "add", "now", "--reason", "a further date to meet set", "--list", reference)
    stack.cig("recommend", reference, "--outcome", "scr", "--rationale", "5(2)(b)(ii) is met")

    # the mail server goes down; the decision is recorded; the worker dies before any notice goes
    stack.stop("mailbox")
    stack.cig("decide", reference, "--affirm", "--decision", "scr", "--by", "Indra Independent",
              "--rationale", "Agreed.", "--lead-reviewer", "Rowan Reviewer")
    time.sleep(3)
    stack.stop("worker-1", signal.SIGKILL)
    outbox = {(m["kind"], m["status"]) for m in stack.cig("outbox")}
    assert ("ofsted_notice", "pending") in outbox and ("panel_notice", "pending") in outbox

    # a new worker and a running mail server: the deadline sweep restarts the dead run (one shown
    # running once its heartbeat, every 30 s in cli/stack.py, is ten seconds overdue)
    stack.start_mailbox()
    stack.start_worker("worker-2")
    deadline = time.monotonic() + 240
    while not (restarts := [e for e in stack.cig("audit", reference) if e["action"] == "flow run rescheduled"]):
        assert time.monotonic() < deadline, "the sweep did not restart the silent run"
        stack.sweep()
        time.sleep(5)
    # silent (its flow-run process killed with the worker) or, if that process outlived it, crashed
    assert [(e["actor"], e["detail"]["fault"] in ("stalled", "crashed")) for e in restarts] == [("deadline sweep", True)]
    stack.wait_for_stage(reference, "decided")
    stack.sweep()  # the run is well again: nobody is told twice
    received = stack.mail()
    assert received[("ofsted@example.org", "ofsted-notice")] == 1
    assert received[("national-panel@example.org", "panel-notice")] == 1
    assert received[("named-nurse@example.org", "decision-to-referrer")] == 1
    assert received[("police@example.org", "information-request")] == 1
    assert received[("cig-admin@example.org", "run-recovered-1")] == 1  # the administrator's one alert
    assert all(count == 1 for count in received.values()), received


REFERRALS = int(os.environ.get("CIG_FAULT_REFERRALS", "50"))

DRIVER = textwrap.dedent("""
    import asyncio, sys, yaml
    from datetime import datetime, timezone
    from casework.referral import actions
    from casework.forms import ReferralForm, ScreeningForm
    from casework.office import open_office
    from flows.launch import start_referral_run
    from flows.people import submit_step

    async def main(count):
        office = open_office()
        base = yaml.safe_load(open("examples/referral.yaml"))
        now = datetime.now(timezone.utc)
        references = []
        for n in range(count):
            form = ReferralForm.model_validate({**base, "referrer_email": f"referrer-{n}@example.org"},
                                               context={"today": now.date()})
            references.append(actions.submit_referral(office, form, now=now, actor="test").reference)
        gate = asyncio.Semaphore(10)
        async def start(reference):
            async with gate:
                await start_referral_run(reference, office)
        await asyncio.gather(*(start(r) for r in references))
        async def decline(reference):
            async with gate:
                await submit_step(office, reference, "screening", ScreeningForm(
                    outcome="decline", reason="Below the threshold.", decided_by="Casey Chair",
                    independent_chair_consulted=True), wait_seconds=600)
        await asyncio.gather(*(decline(r) for r in references))
        print(" ".join(references))

    asyncio.run(main(int(sys.argv[1])))
""")


@pytest.mark.scale
@pytest.mark.skipif(not os.environ.get("CIG_TEST_POSTGRES_URL"), reason="needs CIG_TEST_POSTGRES_URL (PostgreSQL)")
def test_two_workers_share_fifty_referrals_on_postgresql_and_process_each_once(tmp_path: Path) -> None:
    import psycopg

    base_url = os.environ["CIG_TEST_POSTGRES_URL"].replace("postgresql+psycopg://", "postgresql://")
    suffix = uuid.uuid4().hex[:8]
    databases = [f"cig_cases_{suffix}", f"cig_prefect_{suffix}"]
    with psycopg.connect(base_url, autocommit=True) as connection:
        for name in databases:
            connection.execute(f"CREATE DATABASE {name}")
    server_root = base_url.rsplit("/", 1)[0]
    stack = LocalStack(
        tmp_path / "var",
        CIG_DATABASE_URL=f"postgresql+psycopg://{server_root.split('://', 1)[1]}/{databases[0]}",
        PREFECT_API_DATABASE_CONNECTION_URL=f"postgresql+asyncpg://{server_root.split('://', 1)[1]}/{databases[1]}",
    )
    try:
        stack.start_server()
        stack.start_mailbox()
        stack.deploy()
        stack.start_worker("worker-1")
        stack.start_worker("worker-2")
        done = subprocess.run([sys.executable, "-c", DRIVER, str(REFERRALS)], env=stack.env, cwd=PROJECT,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        references = done.stdout.split()
        assert len(references) == REFERRALS
        for reference in references:
            stack.wait_for_stage(reference, "declined", 300)
        deadline = time.monotonic() + 120
        while sum(1 for m in stack.cig("outbox") if m["status"] == "pending") and time.monotonic() < deadline:
            time.sleep(1)
        received = stack.mail_keys()
        assert all(count == 1 for count in received.values()), [k for k, v in received.items() if v > 1]
        kinds = Counter(key.split(":")[1] for key in received)
        assert kinds == {"screening-decline": REFERRALS, "referral-notice": 4 * REFERRALS}
        workers = {line.split("Worker '")[1].split("'")[0] for name in ("worker-1", "worker-2")
                   for line in (stack.home / f"{name}.log").read_text().splitlines() if "submitting flow run" in line}
        assert workers == {"worker-1", "worker-2"}, "both workers should have taken runs"
    finally:
        stack.close()
        with psycopg.connect(base_url, autocommit=True) as connection:
            for name in databases:
                connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
