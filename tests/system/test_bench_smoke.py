"""CI's smoke run of `make bench SIZE=smoke`: every measurement's code path once, on SQLite.

It asserts nothing about speed: only that the benchmark finishes, every case reaches its Ofsted
notice with no error, and the results name each measurement. The smoke size runs its measurements
side by side (one stack start, then a referral, a floor run with one suspend and a held case
together, one decision, the sweep), so it takes 102–108 s on a quiet two-core machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = [pytest.mark.system, pytest.mark.scale]


def test_the_smallest_bench_runs_every_measurement_without_error(
        tmp_path: Path, stack_command: Callable[..., subprocess.Popen[bytes]]) -> None:
    out = tmp_path / "performance.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIG_", "PREFECT_"))}
    log = tmp_path / "bench.log"
    with log.open("wb") as output:
        bench = stack_command([sys.executable, "-m", "bench", "--size", "smoke", "--out", str(out)],
                              env, stdout=output, stderr=subprocess.STDOUT)
    bench.wait(timeout=600)  # on a timeout, stack_command sends the bench SIGTERM and it stops its stack
    assert bench.returncode == 0, log.read_text()[-6000:]
    report = out.read_text()
    for heading in ("One referral against Prefect's floor", "Human action to email", "Cost of holding cases",
                    "Sweep cost against open cases", "A person's step on the secure website, 2 at once"):
        assert heading in report
    from bench.website import REVIEW_PAGES, REVIEW_SUBMITS  # issue 20's pages and their submits, in section 6

    for title in REVIEW_PAGES:
        assert f"| {title}, page shown |" in report, title
    for title in REVIEW_SUBMITS:
        assert f"| {title}, submit to confirmation page |" in report, title
    assert "## Errors\n\nnone" in report
