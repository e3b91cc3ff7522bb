"""`make bench` (`python -m bench --size default|smoke`): the referral workflow measured on this machine.

For each database it starts the stack of `make up` (SQLite: the development profile, one worker;
PostgreSQL: the production profile, two workers, STARTTLS and API auth) with a three-agency
partnership, and measures: one referral against the floor flow, decision-to-Ofsted latency with
Prefect's default worker poll and a tuned one, referrals started together, the processes and memory
while cases wait, and the sweep's selection against 100-10,000 open cases. Results go to
docs/performance.md (or --out). `--size smoke` is CI's run: SQLite only, a few cases, no profile;
it asserts nothing about speed and exits non-zero only if a case fails.

Needs PostgreSQL at CIG_PG_ADMIN_URL (default postgres@127.0.0.1:5432) for the PostgreSQL half.
SIGTERM (`timeout`, a CI runner) and Ctrl-C stop every process it started before it exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from bench import measure
from bench.measure import Spread
from cli.stack import stopping_on_signals, worker_command

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TUNED_POLL, DEFAULT_POLL = "1", "10"  # PREFECT_WORKER_QUERY_SECONDS: tuned, and Prefect's default


@dataclass(frozen=True)
class Size:
    databases: tuple[str, ...]
    overhead_repeats: int
    latency_cases: int  # held awaiting decision; half resumed under each poll interval
    throughput: tuple[int, ...]
    sweep_held: tuple[int, ...]
    seeded_held: int
    profile: bool
    concurrency: int = 4
    website: tuple[int, int] = (20, 3)  # people posting at once on the secure website, rounds
    # smoke: the measurements run side by side (every code path once, in under two minutes); their
    # times then measure contention, not the workflow, and the smoke run reports them as such
    overlap: bool = False


SIZES = {
    # CI's run: every measurement's code path once on SQLite, no throughput batch (the referral of 1. is one)
    "smoke": Size(("sqlite",), 1, 1, (), (100,), 10, profile=False, overlap=True, website=(2, 1)),
    "default": Size(("sqlite", "postgres"), 3, 10, (10,), (100, 1_000, 10_000), 1_000, profile=True),
}


@dataclass
class DatabaseResult:
    database: str
    workers: int
    referral: list[dict] = field(default_factory=list)
    floor: list[dict] = field(default_factory=list)
    floor_tasks_per_segment: int = 0
    latency: dict[str, list[float]] = field(default_factory=dict)
    latency_states: dict[str, dict] = field(default_factory=dict)
    throughput: list[dict] = field(default_factory=list)
    idle: dict = field(default_factory=dict)
    holding: dict = field(default_factory=dict)
    held_cases: int = 0
    seeded_holding: dict = field(default_factory=dict)
    seeded_cases: int = 0
    seeding_seconds: float = 0.0
    sweep: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def small_partnership(directory: Path) -> Path:
    """The example partnership with three agencies, so a run is short."""
    import yaml

    from config.settings import CONFIG_DIR

    data = yaml.safe_load((CONFIG_DIR / "partnership.example.yaml").read_text())
    data["agencies"] = [a for a in data["agencies"] if a["code"] in ("POL", "CSC", "HEALTH")]
    path = directory / "partnership.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


class Workers:
    """The benchmark's own process workers on the `cig` pool, restartable with another poll interval."""

    def __init__(self, env: dict[str, str], count: int, logs: Path) -> None:
        self.env, self.count, self.logs = env, count, logs
        self.processes: list[subprocess.Popen[bytes]] = []
        self.running_with: dict[str, str] | None = None

    def start(self, poll: str, extra: dict[str, str] | None = None) -> None:
        """(Re)start the workers polling every `poll` seconds; nothing to do if they already run so."""
        env = dict(self.env, PREFECT_WORKER_QUERY_SECONDS=poll, **(extra or {}))
        if env == self.running_with and all(p.poll() is None for p in self.processes):
            return
        self.stop()
        self.running_with = env
        for n in range(self.count):
            out = (self.logs / f"bench-worker-{n + 1}.log").open("ab")
            self.processes.append(subprocess.Popen(
                worker_command(f"bench-worker-{n + 1}"),
                env=env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
        time.sleep(3)

    def stop(self) -> None:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
        self.processes = []
        self.running_with = None


@contextlib.contextmanager
def stack_for(database: str, home: Path) -> Iterator[tuple[dict[str, str], tuple[str, list[str]] | None]]:
    """The stack of `make up` on `database`, with no worker of its own; the PostgreSQL databases are new."""
    from cli.production import DEFAULT_ADMIN_URL, database_url, drop_database, ensure_database
    from cli.stack import running_stack

    saved = dict(os.environ)
    pg = None
    os.environ["CIG_PARTNERSHIP_FILE"] = str(small_partnership(home))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    if database == "postgres":
        admin = os.environ.get("CIG_PG_ADMIN_URL", DEFAULT_ADMIN_URL)
        names = ["cig_bench_prefect", "cig_bench_cases"]
        for name in names:
            drop_database(admin, name)
            ensure_database(admin, name)
        os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url(admin, names[0], "asyncpg")
        os.environ["CIG_DATABASE_URL"] = database_url(admin, names[1], "psycopg")
        pg = (admin, names)
    else:
        os.environ.pop("CIG_DATABASE_URL", None)
    try:
        profile = "production" if database == "postgres" else "development"
        with running_stack(home / database / "var", api_port=4470, smtp_port=8470, workers=0, profile=profile) as env:
            os.environ.update({k: v for k, v in env.items() if k.startswith(("CIG_", "PREFECT_"))})
            deployed = subprocess.run([str(BIN / "prefect"), "--no-prompt", "deploy", "--prefect-file", "bench/prefect.yaml", "--all"],
                                      env=env, cwd=PROJECT, capture_output=True, text=True)
            if deployed.returncode != 0:
                raise RuntimeError(f"registering the floor deployment failed:\n{deployed.stdout}\n{deployed.stderr}")
            yield env, pg
    finally:
        os.environ.clear()
        os.environ.update(saved)


def open_bench_office():  # type: ignore[no-untyped-def]
    from casework import store
    from casework.office import open_office

    store._factory.cache_clear()
    return open_office()


PHASES = ("overhead", "holding", "latency", "throughput", "profile", "seeded", "sweep", "website")
SELECTED = set(PHASES)


def wanted(name: str) -> bool:
    """Whether the measurement was selected with --phases."""
    return name in SELECTED


@contextlib.contextmanager
def phase(result: DatabaseResult, name: str) -> Iterator[None]:
    """Run one measurement; a failure is recorded as an error of the run and the next measurement goes on."""
    try:
        yield
    except Exception as failure:  # reported in docs/performance.md, and the exit status
        log(f"  {name} failed: {type(failure).__name__}: {failure}")
        result.errors.append(f"{name} failed: {type(failure).__name__}: {failure}")


def log(message: str) -> None:
    print(f"[{datetime.now(timezone.utc):%H:%M:%S}] {message}", flush=True)


async def run_database(database: str, size: Size, home: Path) -> DatabaseResult:
    workers_count = 2 if database == "postgres" else 1
    result = DatabaseResult(database, workers_count)
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    with stack_for(database, home) as (env, pg), temporary_settings(
            updates={PREFECT_API_URL: env["PREFECT_API_URL"], PREFECT_API_AUTH_STRING: env.get("PREFECT_API_AUTH_STRING")}):
        office = open_bench_office()
        workers = Workers(env, workers_count, home / database / "var" / "logs")
        try:
            workers.start(TUNED_POLL)
            result.idle = asdict(await measure.settled_footprint())

            async def measure_overhead() -> None:
                if wanted("overhead"):
                    log(f"{database}: overhead, {size.overhead_repeats} referral(s) and floor run(s)")
                    with phase(result, "overhead"):
                        await overhead(office, pg, size, result)

            async def hold() -> list[str]:
                if not (wanted("holding") or wanted("latency")):  # the latency cases are the ones held
                    return []
                log(f"{database}: holding {size.latency_cases} case(s) awaiting decision")
                with phase(result, "holding"):
                    held, errors = await measure.hold_cases(office, size.latency_cases, size.concurrency)
                    result.errors += errors
                    result.held_cases = len(held)
                    result.holding = asdict(await measure.settled_footprint(5 if size.overlap else 30))
                    return held
                return []

            if size.overlap:
                _, held = await asyncio.gather(measure_overhead(), hold())
            else:
                await measure_overhead()
                held = await hold()

            half = max(1, len(held) // 2)
            groups = [("tuned", TUNED_POLL, held)] if len(held) < 2 or size.latency_cases < 4 else \
                [("default", DEFAULT_POLL, held[:half]), ("tuned", TUNED_POLL, held[half:])]
            for name, poll, references in groups if wanted("latency") else []:
                with phase(result, f"latency {name}"):
                    await latency(office, workers, name, poll, references, result)
            workers.start(TUNED_POLL)

            for count in size.throughput if wanted("throughput") else ():
                log(f"{database}: throughput, {count} referrals started together")
                with phase(result, f"throughput {count}"):
                    outcome = await measure.throughput(office, count, size.concurrency)
                    result.throughput.append(asdict(outcome) | {"per_minute": outcome.per_minute})
                    log(f"  {outcome.decided}/{count} decided in {outcome.seconds:.0f} s, {len(outcome.errors)} error(s)")
            result.errors += await measure.failed_runs_and_messages(office)

            if wanted("seeded"):
                log(f"{database}: {size.seeded_held} cases suspended awaiting decision, seeded")
                with phase(result, "seeded holding"):
                    result.seeding_seconds = await measure.seed_suspended_cases(office, size.seeded_held)
                    result.seeded_cases = size.seeded_held
                    await asyncio.sleep(2 if size.overlap else 10)  # worker polls and server loops with the runs held
                    result.seeded_holding = asdict(await measure.settled_footprint(5 if size.overlap else 30))

            if size.profile and database == "sqlite" and wanted("profile"):
                log(f"{database}: one referral under pyinstrument")
                with phase(result, "profile"):
                    await profile_one_referral(office, workers, home)
        finally:
            workers.stop()
    for held_count, due in [(n, 5) for n in size.sweep_held] + [(max(size.sweep_held), d) for d in (50, 500)] \
            if wanted("sweep") else ():
        log(f"{database}: sweep selection with {held_count} open cases, {due} due")
        with phase(result, f"sweep {held_count}/{due}"):
            result.sweep.append(asdict(sweep_on_fresh_database(database, held_count, home, due)))
    return result


async def overhead(office, pg, size: Size, result: DatabaseResult) -> None:  # type: ignore[no-untyped-def]
    """Referrals and floor runs, alternately; the floor gets the first referral's task runs spread over its segments."""
    if size.overlap:  # side by side, the floor with one suspend (its code path, five process starts fewer)
        referral, floor = await asyncio.gather(measure.one_referral(office, pg),
                                               measure.one_floor(FLOOR_TASKS_PER_SEGMENT, pg, suspends=1))
        result.referral.append(asdict(referral))
        result.floor.append(asdict(floor))
        result.floor_tasks_per_segment = FLOOR_TASKS_PER_SEGMENT
        return
    for n in range(size.overhead_repeats):
        referral = await measure.one_referral(office, pg)
        result.referral.append(asdict(referral))
        if n == 0:  # six suspends: seven starts from the top run 1 + 2 + ... + 7 = 28 segments
            result.floor_tasks_per_segment = max(1, round(referral.task_runs / 28))
        result.floor.append(asdict(await measure.one_floor(result.floor_tasks_per_segment, pg)))
        log(f"  referral {referral.seconds:.1f} s, floor {result.floor[-1]['seconds']:.1f} s")


FLOOR_TASKS_PER_SEGMENT = 3  # a referral's ~95 task runs over its 28 segments


async def latency(office, workers: Workers, name: str, poll: str, references: list[str],  # type: ignore[no-untyped-def]
                  result: DatabaseResult) -> None:
    """Decision to Ofsted notice for each held case in turn, the workers polling every `poll` seconds."""
    workers.start(poll)
    log(f"{result.database}: decision to Ofsted, PREFECT_WORKER_QUERY_SECONDS={poll}, {len(references)} case(s)")
    label = f"{name} ({poll} s)"
    result.latency[label] = []
    states = measure.StateTimes()
    for reference in references:
        seconds, run_states = await measure.decision_to_ofsted(office, reference)
        result.latency[label].append(seconds)
        states.add(run_states)
        result.latency_states[label] = asdict(states)


def sweep_on_fresh_database(database: str, held: int, home: Path, due: int = 5) -> measure.SweepCost:
    """The sweep's cost on a new, empty case database seeded with `held` open cases, `due` of them due."""
    from casework.office import open_office
    from cli.production import DEFAULT_ADMIN_URL, database_url, drop_database, ensure_database
    from config.settings import Settings

    saved = dict(os.environ)
    try:
        directory = home / f"sweep-{database}-{held}-{due}"
        directory.mkdir(parents=True, exist_ok=True)
        url = None
        if database == "postgres":
            admin = os.environ.get("CIG_PG_ADMIN_URL", DEFAULT_ADMIN_URL)
            drop_database(admin, "cig_bench_sweep")
            ensure_database(admin, "cig_bench_sweep")
            url = database_url(admin, "cig_bench_sweep", "psycopg")
        for name in [k for k in os.environ if k.startswith("CIG_")]:
            del os.environ[name]
        settings = Settings(home=directory, database_url=url, partnership_file=small_partnership(directory))
        from casework import store

        store._factory.cache_clear()
        return measure.sweep_cost(open_office(settings), held, due=due, repeats=7)
    finally:
        os.environ.clear()
        os.environ.update(saved)


async def profile_one_referral(office, workers: Workers, home: Path) -> None:  # type: ignore[no-untyped-def]
    """One referral with every flow-run process under pyinstrument; the combined profile to docs/."""
    from pyinstrument.renderers import ConsoleRenderer
    from pyinstrument.session import Session

    sessions_dir = home / "profile"
    sessions_dir.mkdir(exist_ok=True)
    workers.start(TUNED_POLL, {"CIG_BENCH_PROFILE_DIR": str(sessions_dir),
                               "PYTHONPATH": str(PROJECT / "bench" / "profiling")})
    try:
        await measure.one_referral(office, None)
        await asyncio.sleep(3)
    finally:
        workers.start(TUNED_POLL)
    PROFILE_FILE.parent.mkdir(parents=True, exist_ok=True)
    sessions = [Session.load(str(path)) for path in sorted(sessions_dir.glob("*.pyisession"))]
    if not sessions:
        log("  no profile was written")
        return
    combined = sessions[0]
    for session in sessions[1:]:
        combined = Session.combine(combined, session)
    text = ConsoleRenderer(unicode=True, color=False, show_all=False, short_mode=False,
                           processor_options={"filter_threshold": 0.02}).render(combined)
    PROFILE_FILE.write_text(f"pyinstrument: {len(sessions)} flow-run processes of one referral (SQLite), combined\n\n{text}")
    log(f"  profile of {len(sessions)} processes written to {PROFILE_FILE.relative_to(PROJECT)}")


PROFILE_FILE = PROJECT / "docs" / "performance-profile.txt"


def merged(earlier: list[list[dict]], latest: list[DatabaseResult]) -> list[DatabaseResult]:
    """Earlier runs' numbers with this run's laid over them, measurement by measurement, per database."""
    by_database: dict[str, DatabaseResult] = {}
    for run in earlier:
        for item in run:
            by_database[item["database"]] = combine(by_database.get(item["database"]), DatabaseResult(**item))
    for result in latest:
        by_database[result.database] = combine(by_database.get(result.database), result)
    return list(by_database.values())


def combine(base: DatabaseResult | None, newer: DatabaseResult) -> DatabaseResult:
    if base is None:
        return newer
    for name, value in asdict(newer).items():
        if name == "errors":
            base.errors = base.errors + [e for e in newer.errors if e not in base.errors]
        elif value and name not in ("database", "workers"):
            setattr(base, name, value)
    return base


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark the referral workflow on SQLite and PostgreSQL.")
    parser.add_argument("--size", choices=sorted(SIZES), default="default")
    parser.add_argument("--databases", help="comma-separated subset of sqlite,postgres")
    parser.add_argument("--out", type=Path, help="markdown results (default docs/performance.md; smoke: none)")
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    parser.add_argument("--throughput", help="comma-separated batch sizes for the throughput measurement, e.g. 10,100")
    parser.add_argument("--latency-cases", type=int, help="cases held awaiting decision for the latency measurement")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated subset of {','.join(PHASES)}")
    parser.add_argument("--merge", type=Path, nargs="*", default=[],
                        help="raw numbers of earlier runs (--json) to report with this one's; this run's measurements win")
    arguments = parser.parse_args()
    size = SIZES[arguments.size]
    global SELECTED
    SELECTED = set(arguments.phases.split(","))
    if arguments.databases:
        size = replace(size, databases=tuple(arguments.databases.split(",")))
    if arguments.latency_cases:
        size = replace(size, latency_cases=arguments.latency_cases)
    if arguments.throughput:
        size = replace(size, throughput=tuple(int(n) for n in arguments.throughput.split(",")))
    out = arguments.out or (PROJECT / "docs" / "performance.md" if arguments.size != "smoke" else None)
    started, load_before = time.monotonic(), os.getloadavg()[0]
    home = Path(tempfile.mkdtemp(prefix="cig-bench-"))
    results: list[DatabaseResult] = []
    try:  # SIGTERM (`timeout make bench`) and Ctrl-C stop the stack and the workers, then remove home
        with stopping_on_signals():
            for database in size.databases:
                results.append(asyncio.run(run_database(database, size, home)))
            website, website_errors = measure_website(size) if wanted("website") else (None, [])
    finally:
        shutil.rmtree(home, ignore_errors=True)
    seconds = time.monotonic() - started
    results = merged([json.loads(path.read_text()) for path in arguments.merge], results)
    command = "make bench" + ("" if arguments.size == "default" else f" SIZE={arguments.size}")
    if arguments.json:
        arguments.json.write_text(json.dumps([asdict(r) for r in results], indent=2, default=str))
    from bench.report import render

    report = render(results, size=arguments.size, command=command, seconds=seconds, machine=machine(load_before),
                    website=website, website_errors=website_errors)
    if out:
        write_report(out, report)
        log(f"results written to {out}")
    else:
        print(report)
    errors = [e for r in results for e in r.errors] + website_errors
    log(f"bench: {sum(len(r.referral) + r.held_cases + sum(t['decided'] for t in r.throughput) for r in results)} "
        f"referrals in {seconds:.0f} s, {len(errors)} error(s)")
    return 1 if errors else 0


NOTES = "<!-- Below: notes and findings written by people. `make bench` rewrites the file above this line only. -->"


def write_report(out: Path, report: str) -> None:
    """The measured tables replace the file's top; the notes people wrote below NOTES are kept."""
    notes = out.read_text().partition(NOTES)[2] if out.exists() else ""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.rstrip("\n") + "\n\n" + NOTES + (notes or "\n"))


def measure_website(size: Size) -> tuple[str | None, list[str]]:
    """Section 6: the secure website with people posting at once (bench.website), after the databases'
    stacks have stopped. It needs no Prefect: the step is recorded in the case database at once."""
    from bench import website

    people, rounds = size.website
    log(f"website: {people} people at once, {rounds} round(s)")
    started = time.monotonic()
    try:
        returns, decisions, review = asyncio.run(website.measure(people, rounds))
    except Exception as failure:  # reported in the file and the exit status, as a measurement's failure is
        log(f"  website failed: {type(failure).__name__}: {failure}")
        return None, [f"website failed: {type(failure).__name__}: {failure}"]
    return website.section(returns, decisions, people, rounds, time.monotonic() - started, review), []


def machine(load_before: float) -> str:
    """The machine, and how busy it was before the run started (anything above ~0 is someone else's work)."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    return (f"{os.cpu_count()} cores ({cpu}), {memory / 1024:.0f} GiB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, Prefect {__import__('prefect').__version__}; 1-minute load average "
            f"{load_before:.1f} before the run and {os.getloadavg()[0]:.1f} at its end")


if __name__ == "__main__":
    sys.exit(main())
