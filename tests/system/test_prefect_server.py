"""The Prefect server this project is pinned to: it starts and answers, and its scheduler puts runs
of an interval-scheduled deployment on the calendar.

These are the behaviours the old pins protected (fastapi<0.151: Prefect 3.8.8's server would not
start on a newer fastapi; sqlalchemy<2.1: 3.8.8's scheduler could not insert runs on SQLAlchemy 2.1,
so no scheduled deployment ever ran). Run them in a venv with the newest fastapi and SQLAlchemy to
check whether a pin is still needed.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cli.stack import BIN, PROJECT, free_port, stack_env, wait_for_http
from tests.system.api import call

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("prefect-server")
    port = free_port(4280)
    env = stack_env(home, port, free_port(8280))
    env["PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS"] = "1"
    with (home / "server.log").open("ab") as log:
        server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, cwd=PROJECT, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/health", 120, "the Prefect server")
        yield f"http://127.0.0.1:{port}/api"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.returncode not in (0, -15):
            print((home / "server.log").read_text()[-3000:])


def test_the_prefect_server_starts_and_answers_reads_and_writes(prefect_api: str) -> None:
    version = call(prefect_api, "/admin/version")
    flow = call(prefect_api, "/flows/", {"name": "pin-check-answers"})

    assert version.startswith("3.9.")
    assert [f["name"] for f in call(prefect_api, "/flows/filter", {"flows": {"id": {"any_": [flow["id"]]}}})] \
        == ["pin-check-answers"]


def test_the_scheduler_puts_runs_of_an_interval_deployment_on_the_calendar(prefect_api: str) -> None:
    flow = call(prefect_api, "/flows/", {"name": "pin-check-schedule"})
    deployment = call(prefect_api, "/deployments/", {
        "name": "every-fifteen-minutes", "flow_id": flow["id"],
        "schedules": [{"schedule": {"interval": 900}, "active": True}]})

    runs: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120
    while not runs and time.monotonic() < deadline:
        time.sleep(1)
        runs = call(prefect_api, "/flow_runs/filter", {"flow_runs": {
            "deployment_id": {"any_": [deployment["id"]]}, "state": {"type": {"any_": ["SCHEDULED"]}}}})

    assert runs, "the scheduler put no run of the interval deployment on the calendar within 120 s"
    assert all("auto-scheduled" in run["tags"] for run in runs)
