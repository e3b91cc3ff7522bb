"""The review's rules, apart from Prefect and the database: the plan's dates, who may be lead reviewer,
the order of ratification, what publication needs, the report's 12 months, the Panel notice that waits
for the reviewer, and the reminders the review's deadlines owe. Every name here is invented."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from casework.clocks import WorkingCalendar
from casework.reminders import OpenDeadline
from casework.sweep import reminders_owed
from casework.review.forms import AppointmentForm, MilestoneForm, RatificationForm, ReviewPublicationForm
from casework.review.rules import (
    REVIEW_TYPES, FamilyInvolvement, MilestoneState, Ratification, RatificationResult, Ratifier, ReviewerKind,
    ReviewStage, available_until, check_milestone_done, check_publication, check_ratification, check_review_move,
    check_reviewer, days_overdue, lay_out, missed, next_milestone, next_ratifier, notice_waits_for_reviewer,
    starts_review, MOVES, clock_stopped, stopped_label, stops_for_national_review,
)
from config.loading import ConfigurationError
from config.partnership import load_partnership
from config.review_plans import load_review_plans, plan_for
from config.settings import CONFIG_DIR

TODAY = {"today": date(2027, 12, 31)}
PARTNERSHIP = load_partnership(CONFIG_DIR / "partnership.example.yaml")
CALENDAR = WorkingCalendar.of()
BM, IC = "business-manager@example.org", "independent-chair@example.org"


# --- the plans -----------------------------------------------------------------------------------

def test_every_review_type_has_a_plan_and_the_scr_follows_the_staged_table_of_seed_001() -> None:
    plans = load_review_plans()
    assert {t: plan_for(t, plans).name for t in sorted(REVIEW_TYPES)} == {
        "critical_case_review": "systems_review", "individual_agency_review": "concise_review",
        "multi_agency_concise_review": "concise_review", "scr": "scr_staged"}
    codes = [m.code for m in plans["scr_staged"].milestones]
    assert codes[:4] == ["initial_meeting", "spe_chronologies", "planning_meeting", "national_panel_engagement"]
    assert "family_involvement" in codes and codes[-1] == "family_feedback"


def test_the_plan_is_laid_out_from_the_day_of_commissioning_and_no_target_is_christmas_day() -> None:
    laid = lay_out(plan_for("scr"), date(2026, 12, 11), CALENDAR)
    # the initial meeting's fortnight ends on Friday 25 December 2026: its target is Thursday 24 December
    assert [(m.code, m.target_on) for m in laid[:3]] == [
        ("initial_meeting", date(2026, 12, 24)), ("spe_chronologies", date(2027, 1, 15)),
        ("planning_meeting", date(2027, 1, 22))]
    assert [m.position for m in laid] == list(range(len(laid)))


def test_a_target_on_a_closure_day_moves_to_the_working_day_before() -> None:
    closed = WorkingCalendar.of(closure_days=[date(2027, 1, 15)])  # a Friday the partnership's office is shut
    laid = lay_out(plan_for("scr"), date(2026, 12, 11), closed)
    assert laid[1].target_on == date(2027, 1, 14)


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31)))
def test_no_milestone_is_targeted_on_a_day_off_or_before_commissioning_and_the_order_is_kept(
        commissioned: date) -> None:
    for name in ("scr_staged", "systems_review", "concise_review"):
        laid = lay_out(load_review_plans()[name], commissioned, CALENDAR)
        assert all(CALENDAR.is_working_day(m.target_on) for m in laid)
        assert all(m.target_on >= commissioned for m in laid)
        assert [m.target_on for m in laid] == sorted(m.target_on for m in laid)


def test_a_plan_file_with_a_code_twice_or_a_type_claimed_twice_is_refused(tmp_path: Path) -> None:
    base = yaml.safe_load((CONFIG_DIR / "review_plans" / "concise_review.yaml").read_text())
    twice = dict(base, milestones=base["milestones"] + base["milestones"][:1])
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(twice))
    with pytest.raises(ConfigurationError, match="milestones: each code once"):
        load_review_plans(tmp_path)
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(base))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(dict(base, name="silp")))
    with pytest.raises(ConfigurationError, match="two plans"):
        load_review_plans(tmp_path)


def test_the_next_milestone_is_the_earliest_not_done_and_its_lateness_counts_in_days() -> None:
    states = [MilestoneState("a", "A", date(2027, 1, 10), date(2027, 1, 9)),
              MilestoneState("b", "B", date(2027, 2, 1)), MilestoneState("c", "C", date(2027, 1, 20))]
    upcoming = next_milestone(states)
    assert upcoming is not None and upcoming.code == "c"
    assert days_overdue(upcoming, date(2027, 1, 20)) == 0
    assert days_overdue(upcoming, date(2027, 1, 25)) == 5
    assert [m.code for m in missed(states, date(2027, 2, 2))] == ["b", "c"]
    assert next_milestone([states[0]]) is None


def test_a_milestone_outside_the_plan_or_done_before_commissioning_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="^stage: 'trial' is not a milestone"):
        check_milestone_done("trial", date(2027, 1, 5), date(2027, 1, 1), ["a", "b"])
    with pytest.raises(ValueError, match="^done_on: "):
        check_milestone_done("a", date(2026, 12, 31), date(2027, 1, 1), ["a", "b"])


def test_a_milestone_is_done_by_someone_or_replanned_with_a_reason() -> None:
    def refused(**data: object) -> str:
        with pytest.raises(ValidationError) as caught:
            MilestoneForm.model_validate({"stage": "planning_meeting", **data}, context=TODAY)
        return str(caught.value)

    assert "done_on: give either" in refused()
    assert "by: say who did it" in refused(done_on="2027-01-22")
    assert "reason: say why" in refused(replan_to="2027-02-01")
    assert "done_on: give either" in refused(done_on="2027-01-22", by="Bailey", replan_to="2027-02-01", reason="x")


# --- the lead reviewer ---------------------------------------------------------------------------

@pytest.mark.parametrize(("review_type", "kind", "confirmed", "agency", "refused"), [
    ("scr", ReviewerKind.independent, True, None, None),
    ("scr", ReviewerKind.internal, True, "CSC", "kind: "),
    ("scr", ReviewerKind.independent, False, None, "independent_of_agencies: "),
    ("scr", ReviewerKind.independent, True, "POL", "agency: "),
    ("multi_agency_concise_review", ReviewerKind.internal, False, "CSC", None),
    ("multi_agency_concise_review", ReviewerKind.internal, False, None, "agency: "),
    ("critical_case_review", ReviewerKind.independent, False, None, None),
])
def test_only_a_reviewer_independent_of_every_agency_leads_an_scr(
        review_type: str, kind: ReviewerKind, confirmed: bool, agency: str | None, refused: str | None) -> None:
    if refused is None:
        check_reviewer(review_type, kind, confirmed, agency)
    else:
        with pytest.raises(ValueError, match=f"^{refused}"):
            check_reviewer(review_type, kind, confirmed, agency)


def test_the_panel_notice_of_an_scr_waits_for_its_reviewer_only_when_none_was_named() -> None:
    assert notice_waits_for_reviewer("panel_notice", "scr", [])
    assert not notice_waits_for_reviewer("panel_notice", "scr", ["Rowan Reviewer"])
    assert not notice_waits_for_reviewer("ofsted_notice", "scr", [])
    assert not notice_waits_for_reviewer("panel_notice", "no_review", [])
    assert starts_review("scr") and starts_review("critical_case_review")
    assert not starts_review("no_review") and not starts_review("other_agency_action") and not starts_review(None)


def test_an_appointment_form_is_refused_naming_its_field() -> None:
    with pytest.raises(ValidationError, match="appointed_on"):
        AppointmentForm.model_validate({"reviewer": "Rowan Reviewer", "kind": "independent",
                                        "appointed_on": "2099-01-01", "appointed_by": "Review group"}, context=TODAY)
    with pytest.raises(ValidationError, match="kind"):
        AppointmentForm.model_validate({"reviewer": "Rowan Reviewer", "kind": "friendly",
                                        "appointed_on": "2027-01-01", "appointed_by": "Review group"}, context=TODAY)


# --- ratification and publication ----------------------------------------------------------------

def r(by: str, result: str = "ratified") -> Ratification:
    return Ratification(Ratifier(by), RatificationResult(result), date(2027, 6, 1))


def test_the_drafts_go_to_the_cig_the_executive_group_then_the_board_and_a_return_comes_back() -> None:
    assert next_ratifier([]) is Ratifier.cig
    assert next_ratifier([r("cig", "returned")]) is Ratifier.cig
    assert next_ratifier([r("cig", "returned"), r("cig")]) is Ratifier.executive_group
    assert next_ratifier([r("cig"), r("executive_group", "returned")]) is Ratifier.executive_group
    assert next_ratifier([r("cig"), r("executive_group"), r("board")]) is None
    with pytest.raises(ValueError, match="^by: the drafts go to the Critical Incident Group"):
        check_ratification([], Ratifier.board)
    with pytest.raises(ValueError, match="^by: the board has already ratified"):
        check_ratification([r("cig"), r("executive_group"), r("board")], Ratifier.board)


def test_drafts_returned_say_what_must_change() -> None:
    with pytest.raises(ValidationError, match="comments: say what must change"):
        RatificationForm.model_validate({"by": "cig", "result": "returned", "on": "2027-06-01"}, context=TODAY)


def test_an_scr_is_published_only_after_the_board_and_the_family_involvement() -> None:
    with pytest.raises(ValueError, match="^published_on: the partnership board"):
        check_publication("scr", FamilyInvolvement.complete, board_ratified=False)
    with pytest.raises(ValueError, match="^family_involvement: "):
        check_publication("scr", None, board_ratified=True)
    check_publication("scr", FamilyInvolvement.not_possible, board_ratified=True)
    check_publication("multi_agency_concise_review", None, board_ratified=True)


def test_publication_needs_the_partnership_response_link() -> None:
    with pytest.raises(ValidationError, match="response_link"):
        ReviewPublicationForm.model_validate({"published_on": "2027-06-01", "link": "https://example.org/r/1"},
                                             context=TODAY)


def test_the_report_stays_on_the_website_twelve_months() -> None:
    assert available_until(date(2027, 6, 1)) == date(2028, 6, 1)
    assert available_until(date(2028, 2, 29)) == date(2029, 2, 28)


def test_a_review_moves_only_forward_through_its_stages() -> None:
    assert check_review_move(ReviewStage.awaiting_reviewer, ReviewStage.under_way) is ReviewStage.under_way
    with pytest.raises(ValueError, match="cannot move from awaiting reviewer to published"):
        check_review_move(ReviewStage.awaiting_reviewer, ReviewStage.published)
    with pytest.raises(ValueError):
        check_review_move(ReviewStage.closed, ReviewStage.under_way)


def test_the_panels_national_review_stops_a_review_only_before_its_outcome_and_it_then_only_closes() -> None:
    stops = {stage for stage in ReviewStage if stops_for_national_review(stage)}
    assert stops == {ReviewStage.awaiting_reviewer, ReviewStage.under_way, ReviewStage.ratifying,
                     ReviewStage.awaiting_publication}
    assert MOVES[ReviewStage.superseded] == {ReviewStage.closed}
    with pytest.raises(ValueError, match="cannot move from published to superseded"):
        check_review_move(ReviewStage.published, ReviewStage.superseded)
    label = stopped_label("x" * 200)
    assert len(label) == 200 and clock_stopped(label) and not clock_stopped("LCSPR final report published")


# --- what the review's deadlines owe --------------------------------------------------------------

def at(day: int, month: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, 10, tzinfo=timezone.utc)


def owed(item: OpenDeadline, now: datetime) -> list[tuple[str, str]]:
    return sorted((m.to.email, m.key) for m in reminders_owed([item], now=now, partnership=PARTNERSHIP, calendar=CALENDAR))


def test_an_agency_silent_on_its_engagement_is_chased_once_overdue_with_a_copy_to_the_business_manager() -> None:
    item = OpenDeadline("NSCP-2026-0001", "review_engagement", "POL", 0, "POL confirms its engagement",
                        due_at=CALENDAR.end_of_day(date(2026, 12, 25)))
    assert owed(item, at(24)) == []
    assert owed(item, at(28)) == []  # the substitute Boxing Day bank holiday: the chase waits for the 29th
    assert owed(item, at(29)) == [
        (BM, "NSCP-2026-0001:chase.review_engagement.POL.overdue:business-manager@example.org:0"),
        ("police@example.org", "NSCP-2026-0001:chase.review_engagement.POL.overdue:police@example.org:0")]
    met = OpenDeadline(**{**item.__dict__, "met_at": at(20)})
    assert owed(met, at(29)) == []


def test_the_business_manager_is_reminded_before_the_reports_twelve_months_end_even_on_a_closed_case() -> None:
    item = OpenDeadline("NSCP-2026-0001", "report_availability", "", 0, "final report on the website for 12 months",
                        due_at=CALENDAR.end_of_day(date(2028, 6, 1)), case_open=False)
    assert owed(item, at(20, 5, 2028)) == []
    assert owed(item, at(30, 5, 2028)) == [(BM, "NSCP-2026-0001:warning.report_availability.case.2d:business-manager@example.org:0")]
    assert owed(item, at(2, 6, 2028)) == [(BM, "NSCP-2026-0001:escalation.report_availability.case.breached:business-manager@example.org:0")]
