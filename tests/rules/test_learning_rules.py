"""The pure rules of learning and improvement: an action's status, when the plans are ratified, what an
action owes its lead on each day of a half-year (hypothesis: once each, never after it is done), the pack's
order, and the documents read back from their bytes."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone

from docx import Document
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.clocks import WorkingCalendar
from casework.learning.documents import LearningSummary, summary_docx, summary_markdown
from casework.learning.rules import (
    ACTION_KIND, ActionDue, ActionStatus, PackAction, action_status, impact_pack, impact_review_due, incident_month_year,
    plans_ratified_on,
)
from casework.reminders import OpenDeadline
from casework.sweep import reminders_owed
from casework.review.rules import Ratification, RatificationResult, Ratifier
from config.partnership import CONFIG_DIR, Contact, load_partnership

PARTNERSHIP = load_partnership(CONFIG_DIR / "partnership.example.yaml")
CALENDAR = WorkingCalendar.of(PARTNERSHIP.closure_days, PARTNERSHIP.meetings.zone)
LEAD = Contact(name="Ash Lead", email="ash.lead@example.org")


def test_an_open_action_past_its_target_date_is_overdue_and_done_or_dropped_never_is() -> None:
    target = date(2027, 6, 30)
    assert action_status("open", target, date(2027, 6, 30)) is ActionStatus.open
    assert action_status("open", target, date(2027, 7, 1)) is ActionStatus.overdue
    assert action_status("done", target, date(2028, 1, 1)) is ActionStatus.done
    assert action_status("dropped", target, date(2028, 1, 1)) is ActionStatus.dropped


def test_the_plans_are_ratified_when_the_executive_group_ratifies_them_and_not_while_returned() -> None:
    cig = Ratification(Ratifier.cig, RatificationResult.ratified, date(2027, 4, 1))
    returned = Ratification(Ratifier.executive_group, RatificationResult.returned, date(2027, 4, 20))
    ratified = Ratification(Ratifier.executive_group, RatificationResult.ratified, date(2027, 5, 4))
    assert plans_ratified_on([]) is None
    assert plans_ratified_on([cig]) is None
    assert plans_ratified_on([cig, returned]) is None
    assert plans_ratified_on([cig, returned, ratified]) == date(2027, 5, 4)
    assert impact_review_due(date(2027, 5, 4), 6) == date(2027, 11, 4)
    assert impact_review_due(date(2027, 8, 31), 6) == date(2028, 2, 29)


def test_under_wt2023_the_plans_lock_at_the_safeguarding_partners_sign_off_of_the_rule_sets_order() -> None:
    from casework.review.rules import sign_off_order
    from config.rulesets import load_ruleset

    order = sign_off_order(load_ruleset("wt2023"))
    returned = Ratification(Ratifier.safeguarding_partners, RatificationResult.returned, date(2027, 4, 20))
    signed = Ratification(Ratifier.safeguarding_partners, RatificationResult.ratified, date(2027, 5, 4))
    assert plans_ratified_on([], order) is None
    assert plans_ratified_on([returned], order) is None
    assert plans_ratified_on([returned, signed], order) == date(2027, 5, 4)
    assert plans_ratified_on([signed]) is None  # the wt2015 order: the executive group has not ratified them


def _half_year(due: ActionDue, start: date, days: int, done_on: date | None = None) -> dict[str, list[date]]:
    """Every message key owed, by the first day it was owed, as a sweep each day with an outbox would see it."""
    first: dict[str, list[date]] = {}
    for n in range(days):
        day = start + timedelta(days=n)
        status = "done" if done_on and day >= done_on else "open"
        now = datetime(day.year, day.month, day.day, 9, tzinfo=timezone.utc)
        action = ActionDue(**{**due.__dict__, "status": status})
        item = OpenDeadline(reference="NSCP-2026-0001", kind=ACTION_KIND, subject=f"A{due.number}", round=due.revision,
                            label="action", due_at=CALENDAR.end_of_day(due.target_on), action=action)
        for message in reminders_owed([item], now=now, partnership=PARTNERSHIP, calendar=CALENDAR):  # as the sweep asks
            first.setdefault(message.key, []).append(day)
    return {key: [days_[0]] for key, days_ in first.items()}


def test_a_lead_is_reminded_14_and_3_days_before_chased_the_day_after_and_escalated_14_days_late() -> None:
    """Wednesday 30 June 2027: 14 days before is Wednesday 16 June; 3 days before is Sunday 27 June, so the
    reminder goes on the working day before it, Friday 25 June."""
    due = ActionDue(number=2, agency="CSC", action="Audit 20 assessments.", lead=LEAD, target_on=date(2027, 6, 30),
                    status="open", revision=0, created_on=date(2027, 4, 20))
    owed = _half_year(due, date(2027, 5, 5), 180)
    assert owed == {
        "NSCP-2026-0001:reminder.learning_action.A2.14d:ash.lead@example.org:0": [date(2027, 6, 16)],
        "NSCP-2026-0001:reminder.learning_action.A2.3d:ash.lead@example.org:0": [date(2027, 6, 25)],
        "NSCP-2026-0001:chase.learning_action.A2.overdue:ash.lead@example.org:0": [date(2027, 7, 1)],
        "NSCP-2026-0001:chase.learning_action.A2.overdue:social-care@example.org:0": [date(2027, 7, 1)],
        "NSCP-2026-0001:escalation.learning_action.A2.14d:business-manager@example.org:0": [date(2027, 7, 14)],
    }


@settings(max_examples=200, deadline=None)
@given(target_in=st.integers(min_value=1, max_value=120), done_after=st.one_of(st.none(), st.integers(0, 150)))
def test_nothing_is_owed_for_an_action_once_done_and_nothing_before_it_was_added(target_in: int, done_after: int | None) -> None:
    created = date(2027, 5, 4)
    due = ActionDue(number=1, agency="POL", action="Brief call handlers.", lead=LEAD,
                    target_on=created + timedelta(days=target_in), status="open", revision=0, created_on=created)
    done_on = created + timedelta(days=done_after) if done_after is not None else None
    owed = _half_year(due, created, 200, done_on)
    for key, [first] in owed.items():
        assert first > created or "chase" in key
        if done_on is not None:
            assert first < done_on
    reminders = [k for k in owed if ".reminder." in f".{k.split(':')[1]}"]
    assert len(reminders) <= 2


def test_the_month_of_the_incident_is_the_death_or_the_harm_and_the_month_notified_only_when_neither_is_known() -> None:
    notified = date(2026, 11, 2)
    assert incident_month_year(died_on=date(2026, 10, 30), harmed_on=None, notified_on=notified) == "October 2026"
    assert incident_month_year(died_on=date(2026, 10, 30), harmed_on=date(2026, 9, 1), notified_on=notified) == "October 2026"
    assert incident_month_year(died_on=None, harmed_on=date(2026, 9, 30), notified_on=notified) == "September 2026"
    assert incident_month_year(died_on=None, harmed_on=None, notified_on=notified) == (
        "November 2026 (the month the partnership was notified: no date of the incident is recorded)")


def test_the_pack_puts_overdue_first_longest_overdue_first_then_open_done_dropped() -> None:
    def row(number: int, status: ActionStatus, target: date) -> PackAction:
        return PackAction("NSCP-2026-0001", number, "single_agency", "CSC", "f", "a", "Ash Lead", target, "e", status, None)

    pack = impact_pack("Pack", [row(1, ActionStatus.done, date(2027, 5, 1)), row(2, ActionStatus.open, date(2027, 12, 1)),
                                row(3, ActionStatus.overdue, date(2027, 9, 1)), row(4, ActionStatus.dropped, date(2027, 1, 1)),
                                row(5, ActionStatus.overdue, date(2027, 6, 1))], date(2027, 11, 1))
    assert [a.number for a in pack.actions] == [5, 3, 2, 1, 4]
    assert pack.counts == {"open": 1, "overdue": 2, "done": 1, "dropped": 1}


def test_the_learning_summary_reads_back_from_its_word_document_with_every_field() -> None:
    summary = LearningSummary(
        area="Northshire", date_completed=date(2027, 5, 4), review_type="Serious Case Review", methodology="Systems",
        chairing_authoring="lead reviewer(s) Rowan Reviewer", case_selection="Referred by health.",
        incident_month_year="November 2026", reference="NSCP-2026-0001", learning_about_case="Case learning.",
        learning_about_method="Method learning.", single_agency_recommendations="SA recs.",
        multi_agency_recommendations="MA recs.", who_is_doing_what="Who.", impact_audit="Audit.", other_comments="")
    table = Document(io.BytesIO(summary_docx(summary))).tables[0]
    cells = {row.cells[0].text: row.cells[1].text for row in table.rows}
    assert len(cells) == 12 and cells["Other comments"] == "None" and cells["How will impact be audited"] == "Audit."
    assert summary_markdown(summary).count("\n## ") == 12
