"""What the stack of `make up` refuses, tried against one real stack (Prefect server, worker, mail server,
website) as an attacker and as a second `make up` would:

- a page of another origin open in the administrator's browser gets no answer from the Prefect API, and a
  request the browser sends without asking (a bare POST .../resume) changes nothing;
- a flow run or deployment that names the worker's command (or its environment) is refused, and nothing runs;
- a second stack on the ports of the first refuses to start, naming the service and the port, and touches
  nothing of the first's (`make up` at once; a stack that found the port free and lost it, after);
- a service of the running stack that dies stops the whole stack, saying which (this one last: it ends the
  module's stack).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import cli.stack
from cli.stack import PROJECT, ServiceStopped, StackRefused, port_is_free, running_stack
from tests.system.api import call, csrf_headers

pytestmark = pytest.mark.system

EVIL = "http://evil.example"


def processes_with(marker: bytes, part: str = "") -> dict[int, str]:
    """Live processes whose environment holds `marker` and whose command line holds `part`: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if part in command:
                    found[int(entry.name)] = command
        except OSError:  # gone, or not ours
            continue
    return found


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    home = tmp_path_factory.mktemp("guarded") / "var"
    # the last test kills a service: the stack is then stopped already, and says so once more on the way out
    with contextlib.suppress(ServiceStopped), running_stack(home, api_port=4340, smtp_port=8340) as env:
        yield env


def request(url: str, method: str, headers: dict[str, str], data: bytes | None = None) -> tuple[int, dict[str, str], str]:
    """The status, headers and body of one HTTP request, an error status included."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=headers),
                                    timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_a_page_of_another_origin_gets_no_answer_from_the_prefect_api(stack: dict[str, str]) -> None:
    api = stack["PREFECT_API_URL"]
    ui = api.removesuffix("/api")
    asks = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}

    evil = request(f"{api}/flow_runs/filter", "OPTIONS", {"Origin": EVIL, **asks})
    own = request(f"{api}/flow_runs/filter", "OPTIONS", {"Origin": ui, **asks})
    evil_read = request(f"{api}/flow_runs/filter", "POST", {"Origin": EVIL, "Content-Type": "application/json"}, b"{}")

    assert evil[0] == 400 and "access-control-allow-origin" not in {k.lower() for k in evil[1]}
    assert own[0] == 200 and own[1]["access-control-allow-origin"] == ui  # the UI itself still works
    assert "access-control-allow-origin" not in {k.lower() for k in evil_read[1]}  # the browser hides the answer


def test_a_request_a_page_of_another_origin_sends_without_asking_changes_nothing(stack: dict[str, str]) -> None:
    api = stack["PREFECT_API_URL"]
    flow = call(api, "/flows/", {"name": "guard-suspended"})
    run = call(api, "/flow_runs/", {"flow_id": flow["id"], "state": {"type": "PAUSED", "name": "Suspended"}})

    # what `fetch(url, {method: "POST", mode: "no-cors"})` sends: no preflight, no body, no token
    resumed = request(f"{api}/flow_runs/{run['id']}/resume", "POST", {"Origin": EVIL})

    assert resumed[0] == 403 and "CSRF" in resumed[2]
    assert call(api, f"/flow_runs/{run['id']}")["state"]["name"] == "Suspended"


def commands(touched: Path) -> dict[str, dict]:
    """Job variables that would each make a process worker run `touch <touched>` (with the default template)."""
    return {
        "command": {"command": f"touch {touched}"},
        # Python imports the module a warning filter names; antigravity opens $BROWSER, a command
        "env": {"env": {"PYTHONWARNINGS": "all:0:antigravity.x:0:0", "BROWSER": f"touch {touched} %s"}},
        "working_dir": {"working_dir": str(touched.parent)},  # `python -m` imports from there first
    }


@pytest.mark.parametrize("name", ["command", "env", "working_dir"])
def test_a_run_that_names_the_workers_command_is_refused_and_nothing_runs(
        stack: dict[str, str], tmp_path: Path, name: str) -> None:
    api = stack["PREFECT_API_URL"]
    touched = tmp_path / "touched"
    deployment = next(d for d in call(api, "/deployments/filter", {}) if d["name"] == "deadline-sweep")
    runs = {"deployments": {"id": {"any_": [deployment["id"]]}}}
    runs_before = call(api, "/flow_runs/count", runs)

    with pytest.raises(urllib.error.HTTPError) as refused:
        call(api, f"/deployments/{deployment['id']}/create_flow_run", {"job_variables": commands(touched)[name]})

    assert refused.value.code == 422 and f"'{name}' was unexpected" in refused.value.read().decode()
    assert call(api, "/flow_runs/count", runs) == runs_before
    assert not touched.exists()


def test_a_command_brought_past_the_refusal_is_not_the_one_the_worker_runs(stack: dict[str, str], tmp_path: Path) -> None:
    """Prefect checks job variables when a deployment's run is asked for, not when a deployment is changed or a
    run is written directly: those reach the worker, which runs the flow its own way all the same."""
    api = stack["PREFECT_API_URL"]
    touched = tmp_path / "touched"
    named = commands(touched)["command"] | commands(touched)["env"]
    deployment = next(d for d in call(api, "/deployments/filter", {}) if d["name"] == "deadline-sweep")
    change = {"Content-Type": "application/json", **csrf_headers(api)}
    patched = request(f"{api}/deployments/{deployment['id']}", "PATCH", change, json.dumps({"job_variables": named}).encode())
    try:
        run = call(api, "/flow_runs/", {
            "flow_id": deployment["flow_id"], "deployment_id": deployment["id"], "work_pool_name": "cig",
            "work_queue_name": "default", "job_variables": named, "state": {"type": "SCHEDULED"}})
        deadline = time.monotonic() + 180
        while (state := call(api, f"/flow_runs/{run['id']}")["state"])["type"] not in ("COMPLETED", "FAILED", "CRASHED"):
            assert not touched.exists(), "the worker ran the command the run named"
            assert time.monotonic() < deadline, f"the worker did not finish the run within 180 s: {state['name']}"
            time.sleep(1)
    finally:
        request(f"{api}/deployments/{deployment['id']}", "PATCH", change, b'{"job_variables": {}}')

    assert patched[0] == 204
    assert not touched.exists(), "the worker ran the command the run named"
    assert state["type"] == "COMPLETED", state


def test_case_runs_left_running_by_a_dead_worker_do_not_hold_back_the_recovery_check(stack: dict[str, str]) -> None:
    """A worker killed with as many case runs as the pool's limit leaves them all Running: the recovery check
    that would restart them must still start (it has its own queue and slots), or nothing ever recovers them."""
    api = stack["PREFECT_API_URL"]
    deployments = {d["name"]: d for d in call(api, "/deployments/filter", {})}
    referral, check = deployments["referral"], deployments["recover-runs"]
    left_running = [call(api, f"/deployments/{referral['id']}/create_flow_run", {
        "parameters": {"reference": f"NSCP-2026-09{n:02d}"}, "state": {"type": "RUNNING"}})
        for n in range(int(cli.stack.POOL_LIMIT))]  # no process behind them: their worker was killed
    try:
        assert {run["work_queue_name"] for run in left_running} == {"default"}
        run = call(api, f"/deployments/{check['id']}/create_flow_run", {})
        assert run["work_queue_name"] == cli.stack.OPS_QUEUE
        deadline = time.monotonic() + 120
        while (state := call(api, f"/flow_runs/{run['id']}")["state"])["type"] not in ("COMPLETED", "FAILED", "CRASHED"):
            assert time.monotonic() < deadline, f"the recovery check did not run within 120 s: {state['name']}"
            time.sleep(1)
        assert state["type"] == "COMPLETED", state
    finally:
        for stuck in left_running:
            call(api, f"/flow_runs/{stuck['id']}/set_state", {"state": {"type": "CANCELLED"}, "force": True})


def test_make_up_beside_a_running_stack_refuses_naming_the_port(stack: dict[str, str], tmp_path: Path) -> None:
    api_port = stack["PREFECT_SERVER_API_PORT"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIG_", "PREFECT_"))}
    env.update(CIG_HOME=str(tmp_path / "var"), CIG_PREFECT_PORT=api_port, CIG_SMTP_PORT=stack["CIG_SMTP_PORT"])

    second = subprocess.run([sys.executable, "-m", "cli.stack", "up"], env=env, cwd=PROJECT, capture_output=True,
                            text=True, timeout=120)

    assert second.returncode == 1
    assert second.stderr.strip() == f"The Prefect server could not start: port {api_port} is in use by another program."
    assert "Prefect UI" not in second.stdout
    assert processes_with(f"CIG_HOME={tmp_path / 'var'}".encode()) == {}


def test_a_stack_that_found_a_port_free_and_lost_it_refuses_and_leaves_the_other_alone(
        stack: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two stacks started at once both find the port free; the one whose server then cannot listen on it must
    not take the other's server, answering there, for its own."""
    api, api_port = stack["PREFECT_API_URL"], int(stack["PREFECT_SERVER_API_PORT"])
    before = {d["name"]: d["updated"] for d in call(api, "/deployments/filter", {})}
    monkeypatch.setattr(cli.stack, "free_port", lambda preferred: preferred)  # as if the port was free when looked at
    home = tmp_path / "var"

    with pytest.raises(StackRefused) as refused, running_stack(home, api_port=api_port, smtp_port=free_smtp_port()):
        pass

    assert str(refused.value) == f"The Prefect server could not start: port {api_port} is in use by another program."
    assert processes_with(f"CIG_HOME={home}".encode()) == {}
    assert {d["name"]: d["updated"] for d in call(api, "/deployments/filter", {})} == before  # nothing registered there
    assert call(api, "/health") is True


def free_smtp_port() -> int:
    port = 8341
    while not port_is_free(port):
        port += 1
    return port


def test_a_service_that_dies_stops_the_stack_saying_which(stack: dict[str, str]) -> None:
    marker = f"CIG_HOME={stack['CIG_HOME']}".encode()
    mailserver = processes_with(marker, "mailserver")
    assert len(mailserver) == 1, mailserver
    ports = [int(stack["PREFECT_SERVER_API_PORT"]), int(stack["CIG_SMTP_PORT"])]

    os.killpg(next(iter(mailserver)), signal.SIGKILL)
    with pytest.raises(ServiceStopped) as stopped:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # what `make up` does while the stack runs: wait
            time.sleep(0.2)

    assert str(stopped.value).startswith("The mail server stopped (killed by SIGKILL), so the whole stack was stopped")
    assert processes_with(marker) == {}, "left running after the mail server died"
    assert all(port_is_free(port) for port in ports)
