"""The meeting preparation's database step as a Prefect task (retried only when the database was busy)."""

from __future__ import annotations

from datetime import datetime

from prefect import task

from casework.office import open_office
from casework.meetings.preparation import Preparation, prepare_meeting
from tasks.cases import DB_TASK


@task(name="prepare_meeting", **DB_TASK)
def prepare_next_meeting(now: datetime) -> Preparation | None:
    """Build the next meeting's agenda and papers and queue them, once its preparation day has come."""
    return prepare_meeting(open_office(), now=now)
