"""Shared test setup: each test session (each pytest-xdist worker) gets its own PREFECT_HOME and
CIG_HOME under a temporary directory, so nothing touches the developer's var/ or ~/.prefect, and,
when CIG_TEST_POSTGRES_URL is set, its own PostgreSQL database made from it, dropped at the end: the
task and flow tests drop and re-create the case tables, which two workers must not do to each other.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="cig-tests-"))
os.environ["PREFECT_HOME"] = str(_SESSION_DIR / "prefect")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ["PREFECT_RUNNER_POLL_FREQUENCY"] = "1"
# the stacks the system tests start: their workers look for resumed runs every second, not every 2 s (a
# resumed run waits for the next look; an end-to-end test resumes some thirty). Not more often: each look
# also writes the worker's heartbeat, and a SQLite-backed server under load then answers 503 more often.
os.environ["PREFECT_WORKER_QUERY_SECONDS"] = "1"
os.environ["CIG_HOME"] = str(_SESSION_DIR / "cig")


def new_postgres_database(url: str, suffix: str) -> str:
    """A new, empty PostgreSQL database named after the one in `url` plus `suffix` (an old one of that
    name dropped first, its connections ended); its URL, in the same form as `url`."""
    import psycopg

    server, _, base = url.rpartition("/")
    name = f"{base}_{suffix}"
    with psycopg.connect(_admin_url(url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def drop_postgres_database(url: str) -> None:
    """Drop the database of `url`, ending whatever is still connected to it."""
    import psycopg

    name = url.rpartition("/")[2]
    with psycopg.connect(_admin_url(url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_url(url: str) -> str:
    return f"{url.rpartition('/')[0]}/postgres".replace("postgresql+psycopg://", "postgresql://")


def _database_of_this_worker() -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("CIG_TEST_POSTGRES_URL")
    if not (worker and url) or url.endswith(f"_{worker}"):
        return
    import atexit

    own = new_postgres_database(url, worker)
    os.environ["CIG_TEST_POSTGRES_URL"] = own
    atexit.register(drop_postgres_database, own)


_database_of_this_worker()


def free_port() -> int:
    """A free port on 127.0.0.1 outside the kernel's range for outgoing connections (cli.stack.free_port)."""
    from cli.stack import free_port as stack_free_port

    return stack_free_port(0)


def pytest_make_parametrize_id(config, val, argname):  # type: ignore[no-untyped-def]
    """A bytes parameter (a generated PDF with its random file id, a zip with its timestamps) is named by its
    argument, not its content: pytest 8 writes the bytes into the test's id, and the two xdist workers, each
    generating its own, must collect the same ids (pytest numbers repeated names)."""
    if isinstance(val, bytes):
        return argname
    return None
