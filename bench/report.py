"""docs/performance.md from the benchmark's numbers: one table per measurement, SQLite and PostgreSQL side by side."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from bench.measure import Spread


def _spread(values: list[float], unit: str = "s") -> str:
    return Spread.of(values).text(unit) if values else "not measured"


def _mean(runs: list[dict], key: str) -> float:
    return sum(r[key] for r in runs) / len(runs) if runs else float("nan")


def _states(runs: list[dict]) -> dict[str, float]:
    names = ("to_worker", "process_start", "running", "suspended", "starts")
    return {n: sum(r["states"][n] for r in runs) / len(runs) for n in names} if runs else {}


def render(results: list[Any], *, size: str, command: str, seconds: float, machine: str,
           website: str | None = None, website_errors: list[str] | tuple[str, ...] = ()) -> str:
    lines = [
        "# Performance of the referral workflow",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC with `{command}` (size `{size}`, {seconds / 60:.1f} min in all).",
        f"Machine: {machine}.",
        "",
        "Each database gets the stack of `make up`: **SQLite** is the development profile (Prefect server and",
        "case database on SQLite, one process worker); **PostgreSQL** is `make up PROFILE=production` (both on",
        "PostgreSQL, two process workers on the `cig` pool, API auth string, STARTTLS to the local SMTP server,",
        "Fernet-sealed personal data). A three-agency partnership; people simulated by `flows.people.submit_step`,",
        "the call `cig` makes. Unless stated, workers poll every 1 s (`PREFECT_WORKER_QUERY_SECONDS=1`).",
        "Figures are medians with p95 (nearest rank), range and count; p95 of a handful of samples is close to the maximum.",
        "",
    ]
    add = lines.append
    if size == "smoke":
        add("**Smoke run:** every measurement's code path once, side by side, to show the benchmark works. Its times")
        add("measure the measurements competing for two cores, not the workflow, and its floor suspends once, not")
        add("six: read `make bench` for numbers.")
        add("")

    add("## 1. One referral against Prefect's floor")
    add("")
    add("Wall time for one referral driven through every step (submit, screening, three returns, recommendation,")
    add("decision, Ofsted notice accepted), one step after another, against `bench/floor.py`: a bare flow with the")
    add("same six suspends for input and about the same number of task runs, doing nothing, resumed as soon as it waits.")
    add("")
    add("| database | referral | floor | ratio (medians) | task runs (referral / floor) | DB transactions (referral / floor) |")
    add("|---|---|---|---|---|---|")
    for r in results:
        ref = [x["seconds"] for x in r.referral]
        flo = [x["seconds"] for x in r.floor]
        ratio = Spread.of(ref).median / Spread.of(flo).median if ref and flo else float("nan")
        tx = (f"{_mean(r.referral, 'transactions'):.0f} / {_mean(r.floor, 'transactions'):.0f}"
              if r.referral and r.referral[0]["transactions"] is not None else "n/a on SQLite")
        add(f"| {r.database} | {_spread(ref)} | {_spread(flo)} | {ratio:.2f} | "
            f"{_mean(r.referral, 'task_runs'):.0f} / {_mean(r.floor, 'task_runs'):.0f} | {tx} |")
    add("")
    add("Where a run's wall time goes, from its Prefect state history (mean seconds per run; `starts` = flow-run")
    add("processes started, one per resume):")
    add("")
    add("| database | flow | waiting for a worker (Scheduled→Pending) | process start (Pending→Running) | running code | suspended (waiting for the person) | starts |")
    add("|---|---|---|---|---|---|---|")
    for r in results:
        for name, runs in (("referral", r.referral), ("floor", r.floor)):
            s = _states(runs)
            if s:
                add(f"| {r.database} | {name} | {s['to_worker']:.1f} | {s['process_start']:.1f} | {s['running']:.1f} | "
                    f"{s['suspended']:.1f} | {s['starts']:.0f} |")
    add("")

    add("## 2. Human action to email")
    add("")
    add("From the chair's decision submitted with `flows.people.submit_step` (the call `cig decide` and the website")
    add("make: the decision recorded in the case database, its Ofsted notice sent at once, then the case's run")
    add("woken) to the notice accepted by the SMTP server (its receive time), one case at a time, cases held")
    add("awaiting decision. The worker poll and the last three columns are the woken run's (it finds the decision")
    add("recorded and finishes the case); the notice does not wait for them:")
    add("")
    add("| database | worker poll | decision → Ofsted accepted | of which: waiting for a worker | process start | running |")
    add("|---|---|---|---|---|---|")
    for r in results:
        for name, values in r.latency.items():
            s = r.latency_states.get(name, {})
            n = max(1, len(values))
            add(f"| {r.database} | {name} | {_spread(values)} | {s.get('to_worker', 0) / n:.1f} | "
                f"{s.get('process_start', 0) / n:.1f} | {s.get('running', 0) / n:.1f} |")
    add("")

    add("## 3. Throughput")
    add("")
    add("Referrals started together (runs started at most four at a time), each driven through every step to the")
    add("decision and its Ofsted notice; errors are failed or crashed flow runs, unsent outbox messages and any")
    add("step that raised, over the whole database's run. Recovered: runs left suspended with no form saved (a busy")
    add("server), which the simulated person recovered with `cig referral recover` as `cig` told them, then went on.")
    add("")
    add("| database | started | decided | wall time | cases per minute | errors | recovered |")
    add("|---|---|---|---|---|---|---|")
    recovered = []
    for r in results:
        for t in r.throughput:
            add(f"| {r.database} | {t['started']} | {t['decided']} | {t['seconds']:.0f} s | {t['per_minute']:.1f} | "
                f"{len(t['errors'])} | {len(t.get('recovered', []))} |")
            recovered += [f"{r.database}: {line}" for line in t.get("recovered", [])]
    add("")
    if recovered:
        add("Recovered:\n\n" + "\n".join(f"- {line[:300]}" for line in recovered))
        add("")

    add("## 4. Cost of holding cases")
    add("")
    add("Processes descended from the benchmark (Prefect server, workers, mail server, flow runs) and their resident")
    add("memory, with the stack idle and while cases wait for the chair's decision:")
    add("")
    add("| database | state | processes | flow-run processes | RSS total | by role |")
    add("|---|---|---|---|---|---|")
    for r in results:
        for label, f in (("idle, no case", r.idle), (f"{r.held_cases} cases suspended", r.holding),
                         (f"{r.seeded_cases} more cases suspended (seeded)", r.seeded_holding)):
            if f:
                roles = "; ".join(f"{role} ×{n}: {mb:.0f} MB" for role, (n, mb) in f["by_role"].items())
                add(f"| {r.database} | {label} | {f['processes']} | {f['flow_run_processes']} | {f['rss_mb']:.0f} MB | {roles} |")
    add("")

    seeded = [r for r in results if r.seeded_cases]
    if seeded:
        add("The seeded rows add cases that wait for the chair without having been driven there: a case row each and")
        add("a referral flow run created Suspended at the decision (`bench.measure.seed_suspended_cases`), the records a")
        add("driven case leaves while it waits. " + "; ".join(
            f"{r.database}: {r.seeded_cases} seeded in {r.seeding_seconds:.0f} s" for r in seeded) + ".")
        add("")

    add("## 5. Sweep cost against open cases")
    add("")
    add("`casework.sweep`'s selection (`open_deadlines_due_before` through the `(met_at, due_at)` index) on a new")
    add("database seeded directly with N open cases awaiting decision, five of them due within the sweep's horizon;")
    add("and one whole `queue_reminders` (selection, rules, queueing the five cases' warnings):")
    add("")
    add("| database | open cases | due | rows looked at | selection | whole sweep |")
    add("|---|---|---|---|---|---|")
    for r in results:
        for s in r.sweep:
            sel = s["selection"]
            add(f"| {r.database} | {s['held']:,} | {s['due']} | {s['looked_at']} | {sel['median'] * 1000:.1f} ms "
                f"(range {sel['low'] * 1000:.1f}–{sel['high'] * 1000:.1f}, n={sel['n']}) | {s['whole_sweep'] * 1000:.0f} ms |")
    add("")
    if website:
        lines.append(website)
    errors = [f"{r.database}: {e}" for r in results for e in r.errors] + list(website_errors)
    add("## Errors")
    add("")
    add("none" if not errors else f"{len(errors)} in all; the first 40:\n\n" + "\n".join(f"- {e[:300]}" for e in errors[:40]))
    add("")
    return "\n".join(lines)
