"""Tasks that talk to the Prefect API about the case's own flow run: its tags and its captured inputs."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from prefect import task
from prefect.cache_policies import NONE
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

INPUTS_PER_READ = 200


@task(name="tag_flow_run", cache_policy=NONE, persist_result=False, retries=2, retry_delay_seconds=2)
async def tag_flow_run(flow_run_id: UUID, tags: list[str]) -> None:
    """Tag the case's flow run with its stage, regime and outcome, for the UI's filters."""
    async with get_client() as client:
        run = await client.read_flow_run(flow_run_id)
        keep = [t for t in run.tags if not t.split(":", 1)[0] in {t2.split(":", 1)[0] for t2 in tags}]
        await client.update_flow_run(flow_run_id, tags=sorted(set(keep) | set(tags)))


@task(name="read_captured_response", cache_policy=NONE, persist_result=False, retries=2, retry_delay_seconds=2)
async def read_captured_response(flow_run_id: UUID) -> dict[str, Any] | None:
    """The person's response as the run holds it (the input named `*-response`), before it is deleted:
    a response the form could not even read is kept to fill the next form in with."""
    async with get_client() as client:
        for captured in await client.filter_flow_run_input(flow_run_id, "", INPUTS_PER_READ, set()):
            if captured.key.endswith("-response"):
                value = json.loads(captured.value)
                return value if isinstance(value, dict) else None
    return None


@task(name="delete_captured_inputs", cache_policy=NONE, persist_result=False, retries=2, retry_delay_seconds=2)
async def delete_captured_inputs(flow_run_id: UUID) -> int:
    """Delete every input the Prefect server holds for the run (the person's response, a refused one,
    the form's schema and its case context), whatever Prefect's key scheme, once the case database
    holds what was given. Called between waits, when the run is waiting for nothing. Returns how many.
    """
    seen: set[str] = set()
    async with get_client() as client:
        while inputs := await client.filter_flow_run_input(flow_run_id, "", INPUTS_PER_READ, seen):
            for captured in inputs:
                seen.add(captured.key)
                try:
                    await client.delete_flow_run_input(flow_run_id, captured.key)
                except ObjectNotFound:
                    pass
                except PrefectHTTPStatusError as exc:
                    if exc.response.status_code != 404:
                        raise
    return len(seen)
