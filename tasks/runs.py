"""Tasks that talk to the Prefect API about the case's own flow run: its tags and its captured inputs."""

from __future__ import annotations

from uuid import UUID

from prefect import task
from prefect.cache_policies import NONE
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.input.run_input import keyset_from_base_key


def input_keyset(pause_key: str) -> dict[str, str]:
    """The flow-run input keys Prefect uses for a suspend with this key."""
    return keyset_from_base_key(f"paused-{pause_key}")


@task(name="tag_flow_run", cache_policy=NONE, persist_result=False, retries=2, retry_delay_seconds=2)
async def tag_flow_run(flow_run_id: UUID, tags: list[str]) -> None:
    """Tag the case's flow run with its stage, regime and outcome, for the UI's filters."""
    async with get_client() as client:
        run = await client.read_flow_run(flow_run_id)
        keep = [t for t in run.tags if not t.split(":", 1)[0] in {t2.split(":", 1)[0] for t2 in tags}]
        await client.update_flow_run(flow_run_id, tags=sorted(set(keep) | set(tags)))


@task(name="delete_captured_input", cache_policy=NONE, persist_result=False, retries=2, retry_delay_seconds=2)
async def delete_captured_input(flow_run_id: UUID, pause_key: str) -> None:
    """Delete a person's input from the Prefect server once the case database holds it."""
    async with get_client() as client:
        for key in input_keyset(pause_key).values():
            try:
                await client.delete_flow_run_input(flow_run_id, key)
            except ObjectNotFound:
                pass
            except PrefectHTTPStatusError as exc:
                if exc.response.status_code != 404:
                    raise
