"""Run the whole system on this machine: Prefect server, local SMTP server, the secure website, process worker.

`python -m cli.stack up` starts everything on embedded defaults (SQLite under var/, aiosmtpd),
registers the deployments of prefect.yaml, creates the Automations and the Runs page's saved views
(flows.views), prints the UI address and stops it all on Ctrl-C.
`python -m cli.stack demo` does the same, runs one referral through every step with the people
simulated by `cig` commands, prints the timeline and the mail, and stops.
`python -m cli.stack up --profile production` runs the production profile on this machine (cli.production):
Prefect server and case database on PostgreSQL, an API auth string, a Fernet data key, SMTP over
STARTTLS, and two process workers on the one `cig` pool. Workers keep nothing of a case on their own
disk: idempotency (the outbox keys, the case rows) lives in the case database every worker reads.

Whatever stops the stack (Ctrl-C, SIGTERM from `timeout` or a CI runner, an error) stops all of it:
the servers and workers run in their own process groups, out of reach of a signal sent to the
command's group, so `running_stack` turns SIGTERM into an exception (`stopping_on_signals`) and its
`finally` stops them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]


def stack_env(home: Path, api_port: int, smtp_port: int) -> dict[str, str]:
    """The environment every process of the stack shares."""
    env = dict(os.environ)
    env.update({
        "CIG_HOME": str(home),
        "CIG_PROJECT_DIR": str(PROJECT),
        "CIG_SMTP_PORT": str(smtp_port),
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{api_port}/api",
        "PREFECT_UI_API_URL": f"http://127.0.0.1:{api_port}/api",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(api_port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # SQLite's busy timeout on the server (PostgreSQL: its statement timeout): Prefect's 10 s
        # default answered 'database is locked' (HTTP 503) when several runs started together
        "PREFECT_SERVER_DATABASE_TIMEOUT": env.get("PREFECT_SERVER_DATABASE_TIMEOUT", "30"),
        "PREFECT_LOGGING_LEVEL": env.get("PREFECT_LOGGING_LEVEL", "INFO"),
        "PREFECT_WORKER_QUERY_SECONDS": env.get("PREFECT_WORKER_QUERY_SECONDS", "2"),
        "PREFECT_RUNNER_POLL_FREQUENCY": env.get("PREFECT_RUNNER_POLL_FREQUENCY", "2"),
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": env.get("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "30"),  # dead runs seen in 90 s
        "PATH": f"{BIN}:{env.get('PATH', '')}",
    })
    return env


POOL_LIMIT = "4"  # flow runs the `cig` pool runs at once: each flow-run process costs ~4 s of CPU to start


def create_work_pool(env: dict[str, str]) -> None:
    """Create the `cig` process pool (if missing) with at most CIG_POOL_LIMIT flow runs running at once.

    Unbounded, workers handed 50 referrals start 50 Python processes together and a two-core
    machine thrashes; bounded, the rest wait as Scheduled runs on the server, holding nothing.
    Suspended cases do not count. The limit is the server's, not the worker's `--limit`: that one
    crashes a process worker when a run it just let go is resumed at once (Prefect issue 16806).
    """
    prefect = str(BIN / "prefect")
    run = lambda *a: subprocess.run(list(a), env=env, cwd=PROJECT, check=False, capture_output=True, text=True)  # noqa: E731
    run(prefect, "work-pool", "create", "cig", "--type", "process")
    limited = run(prefect, "work-pool", "set-concurrency-limit", "cig", env.get("CIG_POOL_LIMIT", POOL_LIMIT))
    if limited.returncode != 0:
        raise RuntimeError(f"limiting the cig work pool failed:\n{limited.stdout}\n{limited.stderr}")


def worker_command(name: str) -> list[str]:
    """`prefect worker start` for one process worker on the `cig` pool."""
    return [str(BIN / "prefect"), "worker", "start", "--pool", "cig", "--type", "process", "--name", name]


def wait_for_http(url: str, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not answer at {url} within {seconds:.0f} s")


def wait_for_port(port: int, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
            return
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not answer on port {port} within {seconds:.0f} s")


def website_command(env: dict[str, str]) -> list[str]:
    """The command serving the secure website (website.app), and CIG_WEBSITE_URL set in `env` to where it
    answers: a URL given in the environment is kept (a reverse proxy's, the website then listening on
    CIG_WEBSITE_PORT if given), else this machine on a free port from 8080 (https on 8443 in production,
    with the local certificate)."""
    from urllib.parse import urlsplit

    given = os.environ.get("CIG_WEBSITE_URL")
    url = urlsplit(given or env.get("CIG_WEBSITE_URL") or "http://127.0.0.1:8080")
    listen = os.environ.get("CIG_WEBSITE_PORT") or env.get("CIG_WEBSITE_PORT")
    port = int(listen) if listen else url.port or (443 if url.scheme == "https" else 80)
    if not given:
        port = port if listen else free_port(port)
        env["CIG_WEBSITE_URL"] = f"{url.scheme}://127.0.0.1:{port}"
    command = [sys.executable, "-m", "website.app", "--port", str(port)]
    if url.scheme == "https" and "CIG_SMTP_TLS_CERT" in env:
        command += ["--ssl-certfile", env["CIG_SMTP_TLS_CERT"], "--ssl-keyfile", env["CIG_SMTP_TLS_KEY"]]
    return command


class Terminated(SystemExit):
    """The process was sent SIGTERM (exit status 143), raised where it was running, as Ctrl-C raises KeyboardInterrupt."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    # once: a second SIGTERM or Ctrl-C must not cut short the clean-up the first one started
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Terminated(128 + signum) if signum == signal.SIGTERM else KeyboardInterrupt()


@contextlib.contextmanager
def stopping_on_signals() -> Iterator[None]:
    """While inside, SIGTERM raises `Terminated` and Ctrl-C `KeyboardInterrupt` in the main thread, so every
    `with` and `finally` on the way out runs and stops what it started; the signals after the first are
    ignored until the block is left. Python's default lets SIGTERM end the process with no clean-up at all.

    Nested uses and uses outside the main thread (where signals cannot be handled) change nothing.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) is _raise_stop:
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    for signum in previous:
        signal.signal(signum, _raise_stop)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


@contextlib.contextmanager
def running_stack(home: Path, api_port: int = 4200, smtp_port: int = 8025, workers: int | None = None,
                  log_dir: Path | None = None, profile: str = "development") -> Iterator[dict[str, str]]:
    """Start server, mail server and worker(s); register deployments; stop everything on exit,
    SIGTERM and Ctrl-C included (`stopping_on_signals`), even while starting.

    `workers` defaults to one in development and two in production.
    """
    with stopping_on_signals(), _started_stack(home, api_port, smtp_port, workers, log_dir, profile) as env:
        yield env


@contextlib.contextmanager
def _started_stack(home: Path, api_port: int, smtp_port: int, workers: int | None, log_dir: Path | None,
                   profile: str) -> Iterator[dict[str, str]]:
    home.mkdir(parents=True, exist_ok=True)
    api_port, smtp_port = free_port(api_port), free_port(smtp_port)
    env = stack_env(home, api_port, smtp_port)
    if profile == "production":
        from cli.production import production_env

        env.update(production_env(home, environ=env))
    website = website_command(env)
    workers = workers if workers is not None else (2 if profile == "production" else 1)
    logs = log_dir or home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> None:
        out = (logs / f"{name}.log").open("ab")
        processes.append(subprocess.Popen(list(args), env=env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True))

    try:
        start("server", str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(api_port))
        if profile == "production":
            start("mailserver", sys.executable, "-m", "cli.production", "mailserver", "--port", str(smtp_port),
                  "--cert", env["CIG_SMTP_TLS_CERT"], "--key", env["CIG_SMTP_TLS_KEY"])
        else:
            start("mailserver", str(BIN / "cig"), "mailserver", "--port", str(smtp_port))
        wait_for_http(f"http://127.0.0.1:{api_port}/api/health", 120, "the Prefect server")
        run = lambda *a: subprocess.run(list(a), env=env, cwd=PROJECT, check=False, capture_output=True, text=True)  # noqa: E731
        create_work_pool(env)
        deployed = run(str(BIN / "prefect"), "--no-prompt", "deploy", "--all")
        if deployed.returncode != 0:
            raise RuntimeError(f"registering the deployments failed:\n{deployed.stdout}\n{deployed.stderr}")
        automations = run(sys.executable, "-m", "flows.automations")
        if automations.returncode != 0:
            raise RuntimeError(f"creating the deadline Automations failed:\n{automations.stderr}")
        views = run(sys.executable, "-m", "flows.views")  # the Runs page's saved views, every open case in range
        if views.returncode != 0:
            raise RuntimeError(f"creating the saved views of the Runs page failed:\n{views.stderr}")
        choices = run(sys.executable, "-m", "flows.forms")  # the Run form's agencies, from the partnership file
        if choices.returncode != 0:
            raise RuntimeError(f"listing the agencies on the referral form failed:\n{choices.stderr}")
        start("website", *website)  # before the workers: it opens (and migrates) the case database first
        wait_for_port(int(website[website.index("--port") + 1]), 60, "the secure website")
        for n in range(workers):
            start(f"worker-{n + 1}", *worker_command(f"cig-worker-{n + 1}"))
        yield env
    finally:
        for process in reversed(processes):  # the worker first, the server last
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)


def up(profile: str = "development") -> int:
    home = Path(os.environ.get("CIG_HOME", PROJECT / "var"))
    with running_stack(home, int(os.environ.get("CIG_PREFECT_PORT", "4200")), int(os.environ.get("CIG_SMTP_PORT", "8025")),
                       profile=profile) as env:
        ui = env["PREFECT_API_URL"].removesuffix("/api")
        print(f"Prefect UI: {ui}  (profile: {profile})")
        if profile == "production":
            print(f"  Prefect on {env['PREFECT_API_DATABASE_CONNECTION_URL']}, cases on {env['CIG_DATABASE_URL']}; "
                  f"secrets in {home / 'production'}; the UI asks for the auth string kept there")
            shell_env = home / "production" / "stack.env"
            shell_env.touch(mode=0o600)
            shell_env.write_text("".join(f"{k}={v}\n" for k, v in sorted(env.items())
                                         if k.startswith(("CIG_", "PREFECT_API_")) and "DATABASE_CONNECTION" not in k))
            print(f"  in another shell:  set -a; . {shell_env}; set +a; .venv/bin/cig referral list")
        print(f"Secure website: {env['CIG_WEBSITE_URL']}  (agencies answer CIGINF1 from the personal link in their email)")
        print(f"  start a referral: {ui}/deployments  ->  submit-referral  ->  Run  ->  Custom run")
        print(f"  local mail: {env['CIG_HOME']}/mail (or `cig mail`), SMTP on 127.0.0.1:{env['CIG_SMTP_PORT']}")
        if profile != "production":
            print(f"  in another shell:  export PREFECT_API_URL={env['PREFECT_API_URL']} CIG_HOME={env['CIG_HOME']} "
                  f"CIG_SMTP_PORT={env['CIG_SMTP_PORT']} CIG_WEBSITE_URL={env['CIG_WEBSITE_URL']}; "
                  ".venv/bin/cig referral list")
        print("Ctrl-C stops everything.", flush=True)
        with contextlib.suppress(KeyboardInterrupt, Terminated):
            while True:
                time.sleep(3600)
        print("stopping...", flush=True)
    return 0


def demo() -> int:
    from cli.demo import run_demo

    home = Path(os.environ.get("CIG_DEMO_HOME", PROJECT / "var" / "demo"))
    if home.exists():
        import shutil

        shutil.rmtree(home)
    with running_stack(home, 4250, 8125) as env:
        print(f"Prefect UI: {env['PREFECT_API_URL'].removesuffix('/api')}  "
              f"(SMTP on 127.0.0.1:{env['CIG_SMTP_PORT']}; SIGTERM or Ctrl-C stops everything)", flush=True)
        return run_demo(env)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Run the whole system on this machine.")
    parser.add_argument("command", nargs="?", default="up", choices=["up", "demo"])
    parser.add_argument("--profile", default="development", choices=["development", "production"])
    arguments = parser.parse_args()
    sys.exit(up(arguments.profile) if arguments.command == "up" else demo())
