"""The partnership's office: settings, partnership file, rule sets, working calendar and case database,
opened once per process and handed to every action.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from casework.clocks import WorkingCalendar
from casework.store import open_store
from config.partnership import Partnership, load_partnership
from config.rulesets import RuleSet
from config.settings import Settings, get_settings


@dataclass(frozen=True)
class Office:
    settings: Settings
    partnership: Partnership
    sessions: sessionmaker[Session]
    calendar: WorkingCalendar

    def rules(self, regime: str | None = None) -> RuleSet:
        """The rule set of a case (or the partnership's current one)."""
        return self.partnership.rules(regime)


def open_office(settings: Settings | None = None) -> Office:
    """Read the settings and partnership file, open (and migrate) the case database."""
    settings = settings or get_settings()
    partnership = load_partnership(settings.partnership_file)
    return Office(
        settings=settings,
        partnership=partnership,
        sessions=open_store(settings),
        calendar=WorkingCalendar.of(partnership.closure_days, partnership.meetings.zone),
    )
