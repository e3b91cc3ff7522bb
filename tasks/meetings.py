"""The meeting preparation's database step as a Prefect task (retried only when the database was busy)."""

from __future__ import annotations

from datetime import datetime

from prefect import task

from casework.office import open_office
from casework.meetings.preparation import Preparation, prepare_meetings
from tasks.cases import DB_TASK


@task(name="prepare_meeting", **DB_TASK)
def prepare_next_meetings(now: datetime) -> list[Preparation]:
    """Build the agenda and papers of every coming meeting whose preparation day has come and which has a case
    listed, and queue them; each meeting's messages go once."""
    return prepare_meetings(open_office(), now=now)
