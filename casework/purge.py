"""Retention: a closed case's data is deleted once the partnership's retention period has passed.

What goes: the case row with its sealed personal data, its requests for information, deadlines and
outbox messages, and its meeting papers on disk. What stays: the audit trail (metadata only) and an
audit event of the deletion.
"""

from __future__ import annotations

from datetime import datetime

from dateutil.relativedelta import relativedelta
from sqlalchemy import delete, select

from casework.office import Office
from casework.meetings.preparation import delete_case_papers
from casework.store import cases as store
from casework.store.tables import Case, OutboxMessage


def purge_due(closed_at: datetime, retention_years: int, now: datetime) -> bool:
    """True when a case closed at `closed_at` has been kept for the whole retention period."""
    return closed_at + relativedelta(years=retention_years) <= now


def purge_expired_cases(office: Office, *, now: datetime, actor: str = "purge") -> list[str]:
    """Delete the data of closed cases past retention; return their references."""
    years = office.partnership.retention_years
    cutoff = now - relativedelta(years=years)
    purged = []
    with office.sessions.begin() as session:
        cases = session.scalars(select(Case).where(Case.status == "closed", Case.closed_at <= cutoff)).all()
        for case in cases:
            session.execute(delete(OutboxMessage).where(OutboxMessage.case_id == case.id))
            store.audit(session, reference=case.reference, actor=actor, action="case data purged", now=now,
                        closed_at=case.closed_at.isoformat() if case.closed_at else None, retention_years=years)
            session.delete(case)
            purged.append(case.reference)
    for reference in purged:  # after the commit: a failed purge leaves the papers with their case
        delete_case_papers(office.settings.papers_dir, reference)
    return purged
