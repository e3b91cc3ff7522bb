"""The `prepare-meeting` flow: each working morning (prefect.yaml, an RRULE schedule) it checks
whether the next meeting's preparation day has come (`prepare_working_days_before` working days
ahead, after moves and cancellations); if so it builds the CIGM1 agenda, writes the papers pack
to disk (agenda and one owner-only paper per case), publishes the agenda and the pack's index (case
references, return counts, file paths; no personal data) as a markdown artifact, and emails
every member the agenda with an iCalendar invitation and the administrator the returns still
missing. Running it again sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from tasks.mail import send_messages
from tasks.meetings import prepare_next_meeting


@flow(name="prepare-meeting", persist_result=False)
async def prepare_meeting(now: datetime | None = None) -> int:
    """Prepare the next meeting when its day has come; returns how many messages were queued."""
    logger = get_run_logger()
    moment = now or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    prepared = prepare_next_meeting(moment)
    if prepared is None:
        logger.info("The next meeting's preparation day has not come yet.")
        return 0
    meeting = prepared.agenda.meeting
    await create_markdown_artifact(
        key=f"meeting-agenda-{meeting.starts_at:%Y-%m-%d}", markdown=prepared.artifact,
        description=f"CIGM1 agenda, returns and the papers pack index (case papers in {prepared.papers})",
    )
    logger.info("Meeting of %s prepared: %d case(s), %d message(s) queued", meeting.starts_at.isoformat(),
                len(prepared.agenda.cases), prepared.queued)
    await send_messages(None)
    return prepared.queued
