"""Shared test setup: each test session gets its own PREFECT_HOME and CIG_HOME under a temporary
directory, so nothing touches the developer's var/ or ~/.prefect.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="cig-tests-"))
os.environ["PREFECT_HOME"] = str(_SESSION_DIR / "prefect")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ["PREFECT_RUNNER_POLL_FREQUENCY"] = "1"
os.environ["CIG_HOME"] = str(_SESSION_DIR / "cig")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
