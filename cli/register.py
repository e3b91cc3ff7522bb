"""Put the system's Prefect objects on a running server, in one process: the `cig` work pool and its queues, the
deployments of prefect.yaml, the deadline Automations, the Runs page's saved views and the Run forms' words and
choices. `make up` (cli.stack) runs it once the server answers; every step replaces what an earlier run made.

One process, not one per step: each Python process that imports Prefect costs about 2 s of CPU, and a stack
started nine of them one after another before its first case could run.

    python -m cli.register                    # all of it (PREFECT_API_URL names the server)
    python -m cli.register --deployments-only # the pool and the deployments (the fault tests' stacks)
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


class RegistrationFailed(RuntimeError):
    """A step could not be registered; the message names it and gives Prefect's answer."""


async def create_work_pool(pool_limit: int, ops_limit: int) -> None:
    """The `cig` process pool with the closed base job template (cli.stack.cig_base_job_template), created or
    replaced; at most `pool_limit` case runs at once on its default queue and `ops_limit` sweeps and recovery checks
    on its `ops` queue, and no pool-wide limit (cli.stack.create_work_pool says why)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate, WorkQueueUpdate
    from prefect.exceptions import ObjectAlreadyExists

    from cli.stack import OPS_QUEUE, cig_base_job_template

    async with get_client() as client:
        await client.create_work_pool(WorkPoolCreate(name="cig", type="process", base_job_template=cig_base_job_template()),
                                      overwrite=True)
        await client.update_work_pool("cig", WorkPoolUpdate(concurrency_limit=None))
        try:
            await client.create_work_queue(OPS_QUEUE, work_pool_name="cig")
        except ObjectAlreadyExists:
            pass
        for name, limit in (("default", pool_limit), (OPS_QUEUE, ops_limit)):
            queue = await client.read_work_queue_by_name(name, work_pool_name="cig")
            await client.update_work_queue(queue.id, concurrency_limit=limit)


def deploy() -> None:
    """The deployments of prefect.yaml, as `prefect deploy --all` registers them."""
    done = subprocess.run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"], cwd=PROJECT, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise RegistrationFailed(f"registering the deployments failed:\n{done.stdout}\n{done.stderr}")


async def after_deployments() -> None:
    """The Automations, the Runs page's saved views and each deployment's Run form in the rule set's words."""
    from casework.office import open_office
    from config.settings import get_settings
    from flows.automations import ensure_automations
    from flows.forms import offer_run_form, review_choices, run_form_words
    from flows.views import ensure_saved_views

    office = open_office()
    try:
        await ensure_automations(office.partnership, alert_block=get_settings().alert_block)
    except ValueError as problem:
        raise RegistrationFailed(f"creating the deadline Automations failed: {problem}") from problem
    await ensure_saved_views()
    rules = office.rules()
    for name, words in run_form_words(rules).items():  # each deployment is named as its flow
        await offer_run_form(f"{name}/{name}", office.partnership, words, review_choices(rules.terms))


def main(argv: list[str] | None = None) -> int:
    import os

    from cli.stack import OPS_LIMIT, POOL_LIMIT

    parser = argparse.ArgumentParser(prog="python -m cli.register", description=__doc__.splitlines()[0])
    parser.add_argument("--deployments-only", action="store_true", help="the work pool and the deployments only")
    args = parser.parse_args(argv)
    try:
        asyncio.run(create_work_pool(int(os.environ.get("CIG_POOL_LIMIT", POOL_LIMIT)), int(OPS_LIMIT)))
        deploy()
        if not args.deployments_only:
            asyncio.run(after_deployments())
    except RegistrationFailed as failed:
        print(failed, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
