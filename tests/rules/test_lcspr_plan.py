"""The LCSPR's own plan under wt2023 (issue 19 item 6): chosen by rule set and review type as data, and every
milestone, the safeguarding partners' sign-off included, inside the 6 months from the decision to initiate the
review, leaving the 7 working days the full report must go to the Panel and the Secretary of State before
publication. wt2015 keeps the staged SCR plan."""

from __future__ import annotations

from datetime import date, timedelta

from casework.clocks import WorkingCalendar, due_date, earliest_publication_date
from casework.review.rules import lay_out
from config.review_plans import load_review_plans, plan_for
from config.rulesets import load_ruleset

CALENDAR = WorkingCalendar.of()
WT2023 = load_ruleset("wt2023")


def test_the_plan_is_chosen_by_rule_set_and_review_type() -> None:
    plans = load_review_plans()
    assert plan_for("scr", plans, ruleset="wt2023").name == "lcspr"
    assert plan_for("scr", plans, ruleset="wt2015").name == "scr_staged"
    assert plan_for("scr", plans).name == "scr_staged"
    assert plan_for("critical_case_review", plans, ruleset="wt2023").name == "systems_review"
    assert [m.code for m in plans["lcspr"].milestones][-1] == "partners_sign_off"


def test_every_milestone_of_the_lcspr_plan_fits_the_six_months_on_a_working_day_for_every_day_of_two_years() -> None:
    plan = plan_for("scr", ruleset="wt2023")
    publication, notice = WT2023.clocks["publication"], WT2023.clocks["pre_publication_notice"]
    day = date(2026, 1, 1)
    while day < date(2028, 1, 1):  # every decision day of two years, Christmas and Easter included
        published_by = due_date(day, publication, CALENDAR)
        laid = lay_out(plan, day, CALENDAR)
        assert all(CALENDAR.is_working_day(m.target_on) for m in laid), day
        assert all(day <= m.target_on <= published_by for m in laid), day
        assert [m.target_on for m in laid] == sorted(m.target_on for m in laid), day
        # the report sent the day after the partners' sign-off may still be published inside the 6 months
        sign_off = laid[-1].target_on
        assert earliest_publication_date(sign_off + timedelta(days=1), notice, CALENDAR) <= published_by, day
        day += timedelta(days=1)
