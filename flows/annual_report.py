"""The `annual-report` flow: after the partnership's year end (prefect.yaml's schedule, which a partnership
edits to its own year end), the annual report section on reviews and their impact for the year just ended,
written under the papers folder, published as the artifact `annual-report-YYYY`, emailed to the board
contact, with the learning and improvement index re-published beside it. `year` may be given.
"""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, get_run_logger

from tasks.learning import publish_learning_index, write_annual_report
from tasks.mail import send_messages


@flow(name="annual-report", persist_result=False)
async def annual_report(year: int = 0, email: bool = True) -> str:
    """Write, publish and email the year's section (default: the year before this one); the markdown's path.

    Args:
        year: The year to report on, e.g. 2026. Leave it at 0 for the year just ended
        email: Email it to the board contact
    """
    the_year = year or datetime.now(timezone.utc).year - 1
    path = await write_annual_report(the_year, email)
    await publish_learning_index()
    if email:
        await send_messages(None)
    get_run_logger().info("Annual report section for %s written to %s", the_year, path)
    return path
