"""The `prepare-meeting` flow: each working morning (prefect.yaml, an RRULE schedule) it checks
which coming meetings' preparation days have come (`prepare_working_days_before` working days
ahead, after moves, cancellations and extraordinary meetings); for each with a case listed it builds
the CIGM1 agenda, writes that meeting's papers pack to disk (agenda and one owner-only paper per case,
as markdown and Word), publishes the agenda and the pack's index (case references, return counts,
file paths; no personal data) as a markdown artifact, and emails every member the agenda with an
iCalendar invitation and their papers link, and the administrator the returns still missing. A
meeting with no case listed gets no agenda. Running it again sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from tasks.mail import send_messages
from tasks.meetings import prepare_next_meetings


@flow(name="prepare-meeting", persist_result=False)
async def prepare_meeting(now: datetime | None = None) -> int:
    """Prepare each coming meeting whose day has come; returns how many messages were queued."""
    logger = get_run_logger()
    moment = now or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    prepared = prepare_next_meetings(moment)
    if not prepared:
        logger.info("No meeting with a case listed has reached its preparation day.")
        return 0
    for preparation in prepared:
        meeting = preparation.agenda.meeting
        await create_markdown_artifact(
            key=f"meeting-agenda-{meeting.starts_at:%Y-%m-%d}", markdown=preparation.artifact,
            description=f"CIGM1 agenda, returns and the papers pack index (case papers in {preparation.papers})",
        )
        logger.info("Meeting of %s prepared: %d case(s), %d message(s) queued", meeting.starts_at.isoformat(),
                    len(preparation.agenda.cases), preparation.queued)
    await send_messages(None)
    return sum(p.queued for p in prepared)
