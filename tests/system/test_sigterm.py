"""SIGTERM to `make demo` (as `timeout` or a CI runner sends it) stops the whole stack: no Prefect
server, worker, flow run or mail server is left running, and the stack's ports are free again.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from collections.abc import Callable

import pytest

pytestmark = pytest.mark.system


def processes_with(marker: bytes) -> dict[int, str]:
    """Live processes whose environment holds `marker`: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone, or not ours
            continue
    return found


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_sigterm_to_make_demo_once_its_stack_is_up_stops_every_process_of_the_stack(
        tmp_path: Path, stack_command: Callable[..., subprocess.Popen[bytes]]) -> None:
    home = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIG_", "PREFECT_"))}
    env.update(CIG_DEMO_HOME=str(home), PYTHONUNBUFFERED="1")
    output = tmp_path / "demo.out"
    with output.open("wb") as out:
        demo = stack_command([sys.executable, "-m", "cli.stack", "demo"], env, stdout=out, stderr=subprocess.STDOUT)

    deadline = time.monotonic() + 240
    while not (up := re.search(r"Prefect UI: http://127\.0\.0\.1:(\d+) .*SMTP on 127\.0\.0\.1:(\d+)", output.read_text())):
        assert demo.poll() is None, f"the demo stopped before its stack was up:\n{output.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"the demo's stack was not up within 240 s:\n{output.read_text()[-3000:]}"
        time.sleep(0.5)
    ports = [int(port) for port in up.groups()]
    marker = f"CIG_HOME={home}".encode()
    stack = processes_with(marker)
    for part in ("prefect server start", "prefect worker start", "mailserver"):
        assert any(part in command for command in stack.values()), f"no {part} among {stack}"
    assert all(listening(port) for port in ports)

    demo.send_signal(signal.SIGTERM)
    demo.wait(timeout=90)

    assert demo.returncode == 128 + signal.SIGTERM
    assert processes_with(marker) == {}, "left running after SIGTERM"
    assert not any(listening(port) for port in ports)
