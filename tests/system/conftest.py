"""System tests start real servers and workers in their own process groups: a SIGTERM to pytest (a CI
runner's timeout, `timeout make test`) must stop them, not orphan them.

For the whole system-test session SIGTERM raises `Terminated` in the test that is running (the
mechanism of `make up`, `cli.stack.stopping_on_signals`), so its `with` blocks and fixtures stop what
they started; the session then stops. A command started with `stack_command` (a `make demo`, a
`make bench`) is sent SIGTERM and given time to stop its own stack when its test ends early.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cli.stack import PROJECT, Terminated, stopping_on_signals


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which reads the group into each test's id
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test`) the system tests run one after another on one worker, beside the
    other layers on the other: each starts a stack of its own, and two stacks at once (with a flow test's
    server) on two cores made a SQLite-backed server answer 503 and a restarted one lose its run.

    The group works with pytest 8 only (pyproject pins it): pytest-xdist 3.8 writes the group into a test's
    `_nodeid`, which pytest 9 no longer reads. Under pytest 9 the system tests were spread over both workers:
    two stacks at once, and a module's stack started again for each run of its tests a worker was handed, the
    new one finding the old one's port still held (`make test` failed so on 7 Dec)."""
    for item in items:
        if "tests/system/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.xdist_group("stacks"))


@pytest.fixture(scope="session", autouse=True)
def sigterm_stops_the_stacks() -> Iterator[None]:
    with stopping_on_signals():
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    yield
    if call.excinfo is not None and call.excinfo.errisinstance(Terminated):
        item.session.shouldstop = "stopped by SIGTERM"


@pytest.fixture
def stack_command() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start a command that runs a stack of its own (`python -m cli.stack demo`, `python -m bench`), in its
    own process group; one still running when the test ends is sent SIGTERM and waited for (SIGKILL,
    what subprocess.run does on a timeout, would orphan its stack)."""
    started: list[subprocess.Popen[bytes]] = []

    def start(args: list[str], env: dict[str, str], **popen: Any) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(args, env=env, cwd=PROJECT, start_new_session=True, **popen)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
