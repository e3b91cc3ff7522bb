"""Layer 3 for the review: a session Prefect test server serving both the `referral` and the `review`
flows from this process (each run in a subprocess, as under a worker). The case database, data key
and SMTP server are per test, as in tests/flows (whose `office` fixture this reuses)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from prefect.testing.utilities import prefect_test_harness

from tests.flows.conftest import _wait_for_deployment, office  # noqa: F401  (the per-test office)


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        from prefect.runner import Runner

        from flows.referral import referral
        from flows.review import review

        runner = Runner(name="cig-review-test-runner", query_seconds=1, limit=20)

        async def serve() -> None:
            await runner.aadd_flow(referral, name="referral")
            await runner.aadd_flow(review, name="review")
            await runner.start()

        thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
        thread.start()
        asyncio.run(_wait_for_deployment("referral/referral"))
        asyncio.run(_wait_for_deployment("review/review"))
        yield
