"""The `purge` flow: monthly, delete the data of closed cases past the partnership's retention period."""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, get_run_logger

from casework.office import open_office
from casework.purge import purge_expired_cases


@flow(name="purge", persist_result=False)
async def purge(now: datetime | None = None) -> int:
    """Delete what retention allows; the audit of each deletion stays. Returns how many cases went."""
    moment = now or datetime.now(timezone.utc)
    purged = purge_expired_cases(open_office(), now=moment)
    get_run_logger().info("Purged %d closed case(s) past retention: %s", len(purged), ", ".join(purged) or "none")
    return len(purged)
