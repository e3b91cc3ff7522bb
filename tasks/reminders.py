"""The deadline sweep's database step as a Prefect task: queue what the open deadlines owe.

Retried only when the database was busy; running it twice queues nothing new (outbox keys).
"""

from __future__ import annotations

from datetime import datetime

from prefect import task

from casework.office import open_office
from casework.sweep import SweepOutcome, queue_reminders
from tasks.cases import DB_TASK


@task(name="queue_reminders", **DB_TASK)
def queue_deadline_reminders(now: datetime) -> SweepOutcome:
    """Queue every reminder, warning, chase and escalation owed at `now`, each at most once."""
    return queue_reminders(open_office(), now=now)
