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

The stack is its own and alive, or it stops: each server must listen on its port itself (another
program's server answering there is refused, naming the port; `make up` refuses a port in use at once),
and while it runs a service that stops stops the whole stack, saying which (`ServiceWatch`). Its Prefect
API answers only the UI's own origin and takes no change without a CSRF token, and the `cig` pool lets
no run choose the worker's command (`cig_base_job_template`).

Whatever stops the stack (Ctrl-C, SIGTERM from `timeout` or a CI runner, an error) stops all of it:
the servers and workers run in their own process groups, out of reach of a signal sent to the
command's group, so `running_stack` turns SIGTERM into an exception (`stopping_on_signals`) and its
`finally` stops them.
"""

from __future__ import annotations

import contextlib
import enum
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port(preferred: int) -> int:
    """`preferred` if it is free now, else (or for 0) a free port below the range the kernel gives outgoing
    connections: a port from that range (bind to port 0) was free when chosen, then taken as the local end of a
    connection (the stack's own worker calling its server) before the service listened on it, and the stack
    refused to start ("port 34527 is in use by another program")."""
    import random

    if preferred and _binds(preferred):
        return preferred
    low = _ephemeral_ports_start()
    ports = list(range(max(1024, low - 12000), low))
    start = random.randrange(len(ports))
    for port in ports[start:] + ports[:start]:
        if _binds(port):
            return port
    raise StackRefused(f"no free port below {low} on 127.0.0.1")


def _binds(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _ephemeral_ports_start() -> int:
    """The first port the kernel may give an outgoing connection (Linux's ip_local_port_range; 32768 elsewhere)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def ui_origins(api_port: int) -> str:
    """The origins of the Prefect UI this stack serves, the only ones its API answers across origins."""
    return f"http://127.0.0.1:{api_port},http://localhost:{api_port}"


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
        # the API answers the UI's own pages only: with CORS `*` any page open in the administrator's browser
        # could read and write cases through it (a reverse proxy in front serves the UI and API on one origin)
        "PREFECT_SERVER_API_CORS_ALLOWED_ORIGINS": ui_origins(api_port),
        # ... and a page of another origin cannot act through a request the browser sends without asking (a bare
        # POST .../resume): every change needs a token only the UI and Prefect's clients fetch
        "PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED": "true",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # SQLite's busy timeout on the server (PostgreSQL: its statement timeout): Prefect's 10 s
        # default answered 'database is locked' (HTTP 503) when several runs started together
        "PREFECT_SERVER_DATABASE_TIMEOUT": env.get("PREFECT_SERVER_DATABASE_TIMEOUT", "30"),
        "PREFECT_LOGGING_LEVEL": env.get("PREFECT_LOGGING_LEVEL", "INFO"),
        "PREFECT_WORKER_QUERY_SECONDS": env.get("PREFECT_WORKER_QUERY_SECONDS", "2"),
        "PREFECT_RUNNER_POLL_FREQUENCY": env.get("PREFECT_RUNNER_POLL_FREQUENCY", "2"),
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": env.get("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "30"),  # a dead run seen in 40 s
        "PATH": f"{BIN}:{env.get('PATH', '')}",
    })
    return env


POOL_LIMIT = "4"  # case flow runs the `cig` pool runs at once: each flow-run process costs ~4 s of CPU to start
OPS_QUEUE = "ops"  # the pool's queue for the deadline sweep and the recovery check (prefect.yaml)
OPS_LIMIT = "2"  # their runs at once: a check waits for the one before it anyway


# What a flow run may set on the `cig` pool: `command`, `env` and `working_dir` each let whoever creates a run
# choose what the worker executes (a shell command; PYTHONWARNINGS naming a module to import; a directory to
# import from), so they are not variables of the pool; the worker runs every flow its own way.
REFUSED_JOB_VARIABLES = ("command", "env", "working_dir")


def cig_base_job_template() -> dict[str, Any]:
    """The process worker's default base job template without the refused variables, closed: the server refuses
    (422) a deployment's run, or a deployment, whose job variables name a variable it does not have. Job
    variables that reach the worker another way (a deployment changed, a run written directly: Prefect checks
    neither) are ignored, as the worker's configuration takes only the template's variables."""
    from prefect.workers.process import ProcessWorker

    template = ProcessWorker.get_default_base_job_template()
    for name in REFUSED_JOB_VARIABLES:
        template["variables"]["properties"].pop(name, None)
        template["job_configuration"].pop(name, None)
    template["variables"]["additionalProperties"] = False
    template["job_configuration"]["command"] = ENGINE_COMMAND
    return template


# The command each flow run's process runs: a constant of the template, not a variable, so no run can change it.
# Named, it also spares every run a process: with no command the process worker starts Prefect's workspace
# supervisor, which then starts the engine (two Python processes importing Prefect, about 2 s of CPU each).
# The venv's own Python, by path: workers on other machines have their checkout at the same path.
ENGINE_COMMAND = f"{BIN / 'python'} -m prefect.engine"


def register(env: dict[str, str], deployments_only: bool = False) -> None:
    """Put the system's objects on the stack's Prefect server (cli.register, one process): the `cig` process pool
    with `cig_base_job_template()`, at most CIG_POOL_LIMIT case runs at once on its default queue and at most
    OPS_LIMIT sweeps and recovery checks on its `ops` queue; the deployments; unless `deployments_only`, the
    Automations, the Runs page's saved views and the Run forms.

    Unbounded, workers handed 50 referrals start 50 Python processes together and a two-core
    machine thrashes; bounded, the rest wait as Scheduled runs on the server, holding nothing.
    Suspended cases do not count. The limit is the server's, not the worker's `--limit`: that one
    crashes a process worker when a run it just let go is resumed at once (Prefect issue 16806).
    The limits are the queues', not the pool's: a worker killed with four case runs left them Running,
    holding every slot of a pool-wide limit, so the check that restarts them could never start.
    """
    done = subprocess.run([sys.executable, "-m", "cli.register", *(["--deployments-only"] if deployments_only else [])],
                          env=env, cwd=PROJECT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip() or f"registering on the Prefect server failed:\n{done.stdout}")


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


class StackRefused(RuntimeError):
    """The stack did not start: a service's port is another program's, or a service stopped while starting."""


class ServiceStopped(RuntimeError):
    """A service of the running stack stopped by itself; the whole stack has been stopped."""


class PortHolder(enum.Enum):
    """Who listens on a port, as far as the machine says."""

    OURS = "the service's own process (or one it started)"
    ANOTHER = "another program"
    NOBODY = "nobody yet"
    UNKNOWN = "not known (no /proc): something answers"


def port_is_free(port: int) -> bool:
    """Whether a server may listen on 127.0.0.1:`port` now. A port left only by closed connections counts as
    free, as the servers reuse it."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _listening_sockets(port: int) -> set[str] | None:
    """The inodes of the sockets listening on TCP `port` (Linux's /proc/net/tcp and tcp6); None without them."""
    inodes: set[str] = set()
    tables = [Path(name) for name in ("/proc/net/tcp", "/proc/net/tcp6") if Path(name).exists()]
    if not tables:
        return None
    for table in tables:
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(fields[9])
    return inodes


def _sockets_of_group(pgid: int) -> set[str]:
    """The inodes of the sockets the processes of process group `pgid` hold open."""
    held: set[str] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):  # gone meanwhile, or not ours to read
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if (target := os.readlink(fd)).startswith("socket:["):
                        held.add(target[len("socket:["):-1])
    return held


def port_holder(process: subprocess.Popen[bytes], port: int) -> PortHolder:
    """Who listens on `port`: `process` or a process it started (its process group, as the stack starts each
    service in a session of its own), another program, nobody."""
    listening = _listening_sockets(port)
    if listening is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
            return PortHolder.UNKNOWN
        return PortHolder.NOBODY
    if not listening:
        return PortHolder.NOBODY
    return PortHolder.OURS if listening & _sockets_of_group(process.pid) else PortHolder.ANOTHER


def port_in_use(what: str, port: int) -> str:
    return f"{what} could not start: port {port} is in use by another program."


def how_it_ended(process: subprocess.Popen[bytes]) -> str:
    code = process.returncode
    return f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"


def wait_until_serving(process: subprocess.Popen[bytes], port: int, what: str, log: Path, seconds: float) -> None:
    """Return once `process` itself listens on `port`; refuse (StackRefused) when another program does, or
    the process ends, or nothing listens within `seconds`. A port that answers is not enough: a second stack
    started on the ports of a first found the first's servers answering, while its own had died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if not port_is_free(port):
                raise StackRefused(port_in_use(what, port))
            raise StackRefused(f"{what} stopped while starting ({how_it_ended(process)}); its log is {log}")
        holder = port_holder(process, port)
        if holder is PortHolder.ANOTHER:
            raise StackRefused(port_in_use(what, port))
        if holder in (PortHolder.OURS, PortHolder.UNKNOWN):
            return
        time.sleep(0.3)
    raise StackRefused(f"{what} did not answer on port {port} within {seconds:.0f} s; its log is {log}")


def website_command(env: dict[str, str], exact_port: bool = False) -> list[str]:
    """The command serving the secure website (website.app), and CIG_WEBSITE_URL set in `env` to where it
    answers: a URL given in the environment is kept (a reverse proxy's, the website then listening on
    CIG_WEBSITE_PORT if given), else this machine on a free port the kernel gives (https in production, with the local
    certificate), on 8080 (8443) itself with `exact_port`."""
    from urllib.parse import urlsplit

    given = os.environ.get("CIG_WEBSITE_URL")
    url = urlsplit(given or env.get("CIG_WEBSITE_URL") or "http://127.0.0.1:8080")
    listen = os.environ.get("CIG_WEBSITE_PORT") or env.get("CIG_WEBSITE_PORT")
    port = int(listen) if listen else url.port or (443 if url.scheme == "https" else 80)
    if not given:
        # a stack that may move takes a port the kernel hands out, not the first free one from 8080: two stacks
        # starting at once (a system test beside a website test) both found 8080 free, and one lost it
        port = port if listen or exact_port else free_port(0)
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
                  log_dir: Path | None = None, profile: str = "development",
                  exact_ports: bool = False) -> Iterator[dict[str, str]]:
    """Start server, mail server and worker(s); register deployments; stop everything on exit,
    SIGTERM and Ctrl-C included (`stopping_on_signals`), even while starting.

    Each server is checked to be the one it started, listening on its port, before anything uses it; else
    `StackRefused` names the service and the port (another program's, or the service stopped). The ports
    are the ones given, or free ones near them; with `exact_ports` (`make up`) a port in use is refused at
    once. While the stack runs, a service that stops by itself stops the whole stack, and `ServiceStopped`
    (raised at once in the main thread, where the stack was started from it) names the service.

    `workers` defaults to one in development and two in production.
    """
    with stopping_on_signals(), _started_stack(home, api_port, smtp_port, workers, log_dir, profile,
                                               exact_ports) as env:
        yield env


SERVICES = {"server": "The Prefect server", "mailserver": "The mail server", "website": "The secure website"}


def service_name(name: str) -> str:
    """What the stack's messages call the service started as `name` (its log is logs/<name>.log)."""
    return SERVICES.get(name) or f"The worker cig-{name}"


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each process's group, the last started first; SIGKILL a group still there after 35 s."""
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


class ServiceWatch:
    """A thread that looks at the stack's processes twice a second. The first that ends by itself (it was not
    stopped) stops all the others, and the main thread is interrupted with `ServiceStopped` naming it, if
    the watch was started from the main thread; `stop()` ends the watch before the stack stops its services."""

    def __init__(self, processes: dict[str, subprocess.Popen[bytes]], logs: Path) -> None:
        self.processes, self.logs = processes, logs
        self.stopped: str | None = None  # what ServiceStopped says, once a service has stopped by itself
        self._ending = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="stack-service-watch", daemon=True)
        self._main = threading.current_thread() is threading.main_thread()
        self._previous_handler: Callable[..., Any] | int | None = None

    def start(self) -> None:
        if self._main:
            self._previous_handler = signal.signal(signal.SIGUSR1, self._interrupt)
        self._thread.start()

    def stop(self) -> None:
        self._ending.set()
        if self._thread.is_alive():
            self._thread.join()
        if self._main and self._previous_handler is not None:
            signal.signal(signal.SIGUSR1, self._previous_handler)
            self._previous_handler = None

    def _watch(self) -> None:
        while not self._ending.wait(0.5):
            for name, process in list(self.processes.items()):
                if process.poll() is None:
                    continue
                self.stopped = (f"{service_name(name)} stopped ({how_it_ended(process)}), so the whole stack was "
                                f"stopped; its log is {self.logs / f'{name}.log'}")
                stop_processes(list(self.processes.values()))
                if self._main and not self._ending.is_set():
                    signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)  # type: ignore[arg-type]
                return

    def _interrupt(self, signum: int, frame: FrameType | None) -> None:
        if self.stopped is not None and not self._ending.is_set():  # not once the stack is being stopped anyway
            raise ServiceStopped(self.stopped)


@contextlib.contextmanager
def _started_stack(home: Path, api_port: int, smtp_port: int, workers: int | None, log_dir: Path | None,
                   profile: str, exact_ports: bool) -> Iterator[dict[str, str]]:
    home.mkdir(parents=True, exist_ok=True)
    if not exact_ports:
        api_port, smtp_port = free_port(api_port), free_port(smtp_port)
    env = stack_env(home, api_port, smtp_port)
    if profile == "production":
        from cli.production import production_env

        env.update(production_env(home, environ=env))
    website = website_command(env, exact_port=exact_ports)
    website_port = int(website[website.index("--port") + 1])
    if exact_ports:
        for name, port in (("server", api_port), ("mailserver", smtp_port), ("website", website_port)):
            if not port_is_free(port):
                raise StackRefused(port_in_use(service_name(name), port))
    workers = workers if workers is not None else (2 if profile == "production" else 1)
    logs = log_dir or home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    watch = ServiceWatch(processes, logs)

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        out = (logs / f"{name}.log").open("ab")
        processes[name] = subprocess.Popen(list(args), env=env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT,
                                           start_new_session=True)
        return processes[name]

    def serving(name: str, port: int, seconds: float) -> None:
        wait_until_serving(processes[name], port, service_name(name), logs / f"{name}.log", seconds)

    try:
        start("server", str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(api_port))
        if profile == "production":
            start("mailserver", sys.executable, "-m", "cli.production", "mailserver", "--port", str(smtp_port),
                  "--cert", env["CIG_SMTP_TLS_CERT"], "--key", env["CIG_SMTP_TLS_KEY"])
        else:
            start("mailserver", str(BIN / "cig"), "mailserver", "--port", str(smtp_port))
        serving("mailserver", smtp_port, 60)
        serving("server", api_port, 120)
        wait_for_http(f"http://127.0.0.1:{api_port}/api/health", 60, "the Prefect server")
        watch.start()  # from here a service that stops stops the stack, whatever it was doing
        register(env)
        start("website", *website)  # before the workers: it opens (and migrates) the case database first
        serving("website", website_port, 60)
        for n in range(workers):
            start(f"worker-{n + 1}", *worker_command(f"cig-worker-{n + 1}"))
        yield env
    except (KeyboardInterrupt, Terminated):
        raise  # a person or a runner stopped the stack: that is the story, whatever stopped meanwhile
    except BaseException as error:
        watch.stop()
        if watch.stopped is not None and not isinstance(error, ServiceStopped):
            raise ServiceStopped(watch.stopped) from error  # what failed failed because the service had stopped
        raise
    finally:
        watch.stop()
        stop_processes(list(processes.values()))
    if watch.stopped is not None:  # not interrupted (the stack was started outside the main thread)
        raise ServiceStopped(watch.stopped)


def up(profile: str = "development") -> int:
    home = Path(os.environ.get("CIG_HOME", PROJECT / "var"))
    # on the ports asked for, or none: a second `make up` beside a first would share its var/ and its servers
    with running_stack(home, int(os.environ.get("CIG_PREFECT_PORT", "4200")), int(os.environ.get("CIG_SMTP_PORT", "8025")),
                       profile=profile, exact_ports=True) as env:
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
    try:
        sys.exit(up(arguments.profile) if arguments.command == "up" else demo())
    except (StackRefused, ServiceStopped) as stopped:
        print(stopped, file=sys.stderr)
        sys.exit(1)
