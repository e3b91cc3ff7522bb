"""No reminder on a day no one works: every reminder, warning, chase and escalation of every kind lands on a
working day (not a weekend, an England and Wales bank holiday or one of the partnership's closure days). One
before a due day goes on the working day on or before its offset's day; one after on the first working day
on or after its day. Over Christmas 2026 (Fri 25 Dec, Mon 28 Dec for Boxing Day, Fri 1 Jan) and Easter 2027
(Good Friday 26 Mar, Easter Monday 29 Mar), and as a property of every kind of deadline.

The sweep is simulated by asking the pure rules (casework.sweep.reminders_owed) what is owed at
chosen moments: the outbox keeps one message per key, so the day a key is first owed is the day it goes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from casework.clocks import LONDON, WorkingCalendar, reminder_day
from casework.learning.rules import ACTION_KIND, IMPACT_REVIEW_KIND, ActionDue
from casework.reminders import OpenDeadline
from casework.sweep import reminders_owed
from casework.review.reminders import REVIEW_MILESTONE
from config.partnership import Contact, Partnership, load_partnership
from config.settings import CONFIG_DIR
from notifications.render import render

PARTNERSHIP = load_partnership(CONFIG_DIR / "partnership.example.yaml")
CALENDAR = WorkingCalendar.of()
LEAD = Contact(name="Ash Lead", email="ash.lead@example.org")
REFERENCE = "NSCP-2026-0001"


def sweeps(first: date, last: date, hours: Iterable[int] = (0, 6, 9, 12, 18)) -> list[datetime]:
    """The moments a sweep runs, each day from `first` to `last` (London local hours)."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [datetime.combine(day, time(hour), tzinfo=LONDON).astimezone(timezone.utc) for day in days for hour in hours]


def first_owed(item: OpenDeadline, moments: Iterable[datetime], partnership: Partnership = PARTNERSHIP,
               calendar: WorkingCalendar = CALENDAR) -> dict[str, date]:
    """The step of each message (purpose.kind.subject.offset, and to whom) and the local day it first went."""
    first: dict[str, date] = {}
    for now in moments:
        for message in reminders_owed([item], now=now, partnership=partnership, calendar=calendar):
            first.setdefault(f"{message.step} to {message.to.email}", calendar.local_date(now))
    return first


def action(target_on: date, created_on: date, number: int = 1) -> OpenDeadline:
    due = ActionDue(number=number, agency="CSC", action="Audit 20 assessments.", lead=LEAD, target_on=target_on,
                    status="open", revision=0, created_on=created_on)
    return OpenDeadline(reference=REFERENCE, kind=ACTION_KIND, subject=f"A{number}", round=0, label="action",
                        due_at=CALENDAR.end_of_day(target_on), action=due)


# --- the days themselves --------------------------------------------------------------------------

def test_a_reminder_day_on_a_day_no_one_works_is_brought_back_to_the_working_day_before() -> None:
    # Easter 2027: 3 and 2 days before Wednesday 31 March are Easter Sunday and Easter Monday; the Saturday and
    # Good Friday before them are not working days either: Thursday 25 March
    assert reminder_day(date(2027, 3, 31), 3, CALENDAR) == date(2027, 3, 25)
    assert reminder_day(date(2027, 3, 31), 2, CALENDAR) == date(2027, 3, 25)
    assert reminder_day(date(2027, 3, 31), 1, CALENDAR) == date(2027, 3, 30)
    assert reminder_day(date(2027, 3, 31), 14, CALENDAR) == date(2027, 3, 17)
    assert reminder_day(date(2027, 3, 31), 2, CALENDAR, working_days=True) == date(2027, 3, 25)
    # Christmas 2026: 1 day before Tuesday 29 December is the substitute Boxing Day; 7 days before Friday 1
    # January is Christmas Day: both Thursday 24 December
    assert reminder_day(date(2026, 12, 29), 1, CALENDAR) == date(2026, 12, 24)
    assert reminder_day(date(2027, 1, 1), 7, CALENDAR) == date(2026, 12, 24)
    # the partnership's own closure days between Christmas and the New Year
    closed = WorkingCalendar.of([date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)])
    assert reminder_day(date(2027, 1, 4), 3, closed) == date(2026, 12, 24)


def test_the_action_due_on_wednesday_31_march_2027_is_reminded_chased_and_escalated_on_working_days() -> None:
    """Its reminders are due 14 and 3 days before (the 3-day one on Easter Sunday: it goes on Thursday 25 March,
    before Good Friday, not on Easter Monday); the chase the day after; the escalation 14 days overdue."""
    owed = first_owed(action(date(2027, 3, 31), created_on=date(2027, 2, 1)),
                      sweeps(date(2027, 3, 1), date(2027, 4, 30)))
    assert owed == {
        "reminder.learning_action.A1.14d to ash.lead@example.org": date(2027, 3, 17),
        "reminder.learning_action.A1.3d to ash.lead@example.org": date(2027, 3, 25),
        "chase.learning_action.A1.overdue to ash.lead@example.org": date(2027, 4, 1),
        "chase.learning_action.A1.overdue to social-care@example.org": date(2027, 4, 1),
        "escalation.learning_action.A1.14d to business-manager@example.org": date(2027, 4, 14),
    }
    assert all(CALENDAR.is_working_day(day) for day in owed.values())


def test_an_action_due_on_good_friday_is_chased_after_easter_monday_and_escalated_on_a_working_day() -> None:
    owed = first_owed(action(date(2027, 3, 26), created_on=date(2027, 2, 1)),  # due on Good Friday
                      sweeps(date(2027, 3, 1), date(2027, 4, 30)))
    assert owed["reminder.learning_action.A1.3d to ash.lead@example.org"] == date(2027, 3, 23)
    assert owed["chase.learning_action.A1.overdue to ash.lead@example.org"] == date(2027, 3, 30)  # after Easter Monday
    assert owed["escalation.learning_action.A1.14d to business-manager@example.org"] == date(2027, 4, 9)  # Fri


def test_over_christmas_2026_every_statutory_warning_and_escalation_lands_on_a_working_day() -> None:
    moments = sweeps(date(2026, 12, 1), date(2027, 1, 15))
    panel = OpenDeadline(reference=REFERENCE, kind="panel_notice", subject="", round=0, label="National Panel notice",
                         due_at=CALENDAR.end_of_day(date(2026, 12, 24)))
    assert first_owed(panel, moments) == {  # breached on Christmas Day: told after the bank holidays
        "warning.panel_notice.case.2d to business-manager@example.org": date(2026, 12, 22),
        "warning.panel_notice.case.2d to independent-chair@example.org": date(2026, 12, 22),
        "escalation.panel_notice.case.breached to business-manager@example.org": date(2026, 12, 29),
        "escalation.panel_notice.case.breached to independent-chair@example.org": date(2026, 12, 29),
    }
    decision = OpenDeadline(reference=REFERENCE, kind="decision", subject="", round=0, label="decision",
                            due_at=CALENDAR.end_of_day(date(2027, 1, 4)))
    assert first_owed(decision, moments) == {  # 7 days before: Mon 28 Dec; 2 days before: Sat 2 Jan
        "warning.decision.case.7d to cig-chair@example.org": date(2026, 12, 24),
        "warning.decision.case.7d to independent-chair@example.org": date(2026, 12, 24),
        "warning.decision.case.2d to cig-chair@example.org": date(2026, 12, 31),
        "warning.decision.case.2d to independent-chair@example.org": date(2026, 12, 31),
        "escalation.decision.case.breached to business-manager@example.org": date(2027, 1, 5),
        "escalation.decision.case.breached to independent-chair@example.org": date(2027, 1, 5),
    }
    milestone = OpenDeadline(reference=REFERENCE, kind=REVIEW_MILESTONE, subject="initial_meeting", round=0,
                             label="Review milestone", due_at=CALENDAR.end_of_day(date(2027, 1, 1)))
    assert first_owed(milestone, moments) == {  # 7 days before: Christmas Day; missed on New Year's Day
        "warning.review_milestone.initial_meeting.7d to business-manager@example.org": date(2026, 12, 24),
        "chase.review_milestone.initial_meeting.missed to business-manager@example.org": date(2027, 1, 4),
    }
    ret = OpenDeadline(reference=REFERENCE, kind="information_return", subject="POL", round=1, label="CIGINF1 return",
                       due_at=CALENDAR.end_of_day(date(2026, 12, 24)), started_on=date(2026, 12, 14))
    assert first_owed(ret, moments) == {
        "reminder.information_return.POL.2wd to police@example.org": date(2026, 12, 22),
        "reminder.information_return.POL.1wd to police@example.org": date(2026, 12, 23),
        "chase.information_return.POL.overdue to police@example.org": date(2026, 12, 29),
        "chase.information_return.POL.overdue to cig-admin@example.org": date(2026, 12, 29),
    }


def test_a_warning_brought_back_over_christmas_says_how_long_is_really_left() -> None:
    """The decision due Monday 4 January 2027 is warned of on Thursday 24 December (7 days before is a bank
    holiday): the email says it falls due in 11 days, not 7; a return due after Easter says its working days."""
    decision = OpenDeadline(reference=REFERENCE, kind="decision", subject="", round=0, label="decision",
                            due_at=CALENDAR.end_of_day(date(2027, 1, 4)))
    on_christmas_eve = datetime(2026, 12, 24, 9, tzinfo=timezone.utc)
    [warning, _] = reminders_owed([decision], now=on_christmas_eve, partnership=PARTNERSHIP, calendar=CALENDAR)
    assert "falls due in 11 days:" in " ".join(render(warning).text.split())
    ret = OpenDeadline(reference=REFERENCE, kind="information_return", subject="POL", round=1, label="CIGINF1 return",
                       due_at=CALENDAR.end_of_day(date(2027, 3, 31)), started_on=date(2027, 3, 20))
    on_maundy_thursday = datetime(2027, 3, 25, 9, tzinfo=timezone.utc)
    [reminder] = reminders_owed([ret], now=on_maundy_thursday, partnership=PARTNERSHIP, calendar=CALENDAR)
    assert reminder.step == "reminder.information_return.POL.2wd"
    assert "is due in 2 working days: by Wednesday 31 March 2027" in " ".join(render(reminder).text.split())


def test_the_partnerships_closure_days_hold_reminders_back_as_bank_holidays_do() -> None:
    closed = [date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)]
    partnership = PARTNERSHIP.model_copy(update={"closure_days": closed})
    calendar = WorkingCalendar.of(closed)
    panel = OpenDeadline(reference=REFERENCE, kind="panel_notice", subject="", round=0, label="National Panel notice",
                         due_at=calendar.end_of_day(date(2026, 12, 24)))
    owed = first_owed(panel, sweeps(date(2026, 12, 1), date(2027, 1, 15)), partnership, calendar)
    assert owed["escalation.panel_notice.case.breached to business-manager@example.org"] == date(2027, 1, 4)


# --- the property ---------------------------------------------------------------------------------

def _deadline(kind: str, due_day: date) -> OpenDeadline:
    due_at = CALENDAR.end_of_day(due_day)
    if kind == ACTION_KIND:
        return action(due_day, created_on=due_day - timedelta(days=90))
    subject = {"information_return": "POL", "review_engagement": "POL", REVIEW_MILESTONE: "planning_meeting"}.get(kind, "")
    started_on = due_day - timedelta(days=30) if kind == "information_return" else None
    return OpenDeadline(reference=REFERENCE, kind=kind, subject=subject, round=1, label=kind, due_at=due_at,
                        started_on=started_on)


KINDS = ["information_return", "decision", "ofsted_notice", "panel_notice", "serious_incident_notice",
         "rapid_review_notice", "review_engagement", REVIEW_MILESTONE, "report_availability", ACTION_KIND,
         IMPACT_REVIEW_KIND]


def _expected_day(step: str, due_day: date, calendar: WorkingCalendar) -> date:
    """The day a message of this step should go: before the due day, the working day on or before its
    offset's day; after it, the first working day after the due day (or after so many days overdue)."""
    purpose, _kind, _subject, offset = step.split(" ")[0].split(".")
    if purpose in ("reminder", "warning"):
        if offset.endswith("wd"):
            return calendar.subtract_working_days(due_day, int(offset[:-2]))
        return calendar.working_day_on_or_before(due_day - timedelta(days=int(offset[:-1])))
    if offset[:-1].isdigit():  # an escalation so many days overdue ("14d")
        return calendar.working_day_on_or_after(due_day + timedelta(days=int(offset[:-1])))
    return calendar.add_working_days(due_day, 1)


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(KINDS),
       due_day=st.dates(min_value=date(2026, 11, 1), max_value=date(2027, 6, 30)),
       closed=st.frozensets(st.dates(min_value=date(2026, 10, 1), max_value=date(2027, 8, 31)), max_size=15),
       hour=st.integers(min_value=0, max_value=23))
def test_no_reminder_chase_or_escalation_ever_goes_on_a_weekend_a_bank_holiday_or_a_closure_day(
        kind: str, due_day: date, closed: frozenset[date], hour: int) -> None:
    partnership = PARTNERSHIP.model_copy(update={"closure_days": sorted(closed)})
    calendar = WorkingCalendar.of(closed)
    item = _deadline(kind, due_day)
    moments = sweeps(due_day - timedelta(days=40), due_day + timedelta(days=40), hours=(hour,))
    for now in moments:  # whatever is owed, it is never owed on a day no one works
        if reminders_owed([item], now=now, partnership=partnership, calendar=calendar):
            assert calendar.is_working_day(calendar.local_date(now))
    for step, day in first_owed(item, moments, partnership, calendar).items():  # and each goes on its own day
        assert calendar.is_working_day(day), step
        assert day == _expected_day(step, due_day, calendar), step
