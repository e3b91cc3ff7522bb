"""The Resume forms of a case's steps in the rule set's words: under wt2023 the recommendation's outcomes are the rule
set's review labels, and the decision recorded after the partners' disagreement is theirs (the lead safeguarding
partners), not the independent chair's; under wt2015 each step's form is the one it always was."""

from __future__ import annotations

from config.rulesets import load_ruleset
from flows.forms import DecisionInput, RecommendationInput, decision_input, recommendation_input

WT2015, WT2023 = load_ruleset("wt2015"), load_ruleset("wt2023")
LCSPR = "Local child safeguarding practice review (LCSPR)"


def test_under_wt2015_the_recommendation_and_decision_forms_are_as_they_were() -> None:
    assert recommendation_input(WT2015) is RecommendationInput
    assert decision_input(WT2015) is DecisionInput
    assert DecisionInput.model_json_schema()["properties"]["decided_by"]["description"] == "The independent chair's name"


def test_under_wt2023_the_recommendation_offers_the_rule_sets_review_labels() -> None:
    form = recommendation_input(WT2023)
    outcome = form.model_json_schema()["properties"]["outcome"]
    assert outcome["description"] == "The rapid review recommendation"
    assert outcome["enum"][0] == LCSPR and "Serious Case Review" not in outcome["enum"]
    assert form.model_validate({"outcome": LCSPR, "rationale": "Invented."}).outcome.value == "scr"
    assert form.model_validate({"outcome": "scr", "rationale": "Invented."}).outcome.value == "scr"


def test_under_wt2023_the_resolved_decision_is_recorded_for_the_partners() -> None:
    form = decision_input(WT2023)
    schema = form.model_json_schema()
    assert schema["description"].startswith("The decision recorded on behalf of the safeguarding partners after their "
                                            "disagreement is resolved")
    assert schema["properties"]["decided_by"]["description"] == "Who decided (the lead safeguarding partners)"
    assert "anonymised_details" not in schema["properties"]  # the Panel had the serious incident notification
    decided = form.model_validate({"response": "challenge", "decision": LCSPR, "rationale": "Invented rationale.",
                                   "decided_by": "The lead safeguarding partners"})
    assert decided.decision.value == "scr" and decided.anonymised_details is None
    refused = form.model_validate  # no review needs its explanation, in the rule set's criteria
    try:
        refused({"response": "affirm", "decision": "No review", "rationale": "Invented.", "decided_by": "Partners"})
    except ValueError as problem:
        assert "does not meet the criteria for a local child safeguarding practice review" in str(problem)
        assert "SCR" not in str(problem)
    else:
        raise AssertionError("a decision of no review without its explanation was accepted")


def test_the_appointment_form_says_the_rule_sets_review_and_panel() -> None:
    from flows.forms import AppointmentInput, appointment_input

    assert appointment_input(WT2015) is AppointmentInput
    properties = appointment_input(WT2023).model_json_schema()["properties"]
    assert properties["kind"]["description"] == "**independent** of the case (for an LCSPR: of every agency), or **internal**"
    assert properties["independent_of_agencies"]["description"].startswith(
        "For a local child safeguarding practice review (LCSPR): I confirm the lead reviewer is fully independent")
    assert AppointmentInput.model_json_schema()["properties"]["independent_of_agencies"]["description"].startswith(
        "For a Serious Case Review: I confirm")


def test_the_run_forms_are_given_the_rule_sets_words_when_registered() -> None:
    """wt2015's Run forms are given what they always were (the referral's heading, the agencies); wt2023's the
    rule set's `run_forms` and its review labels, which the meeting-outcomes flow reads back as codes."""
    from prefect.utilities.callables import parameter_schema

    from casework.forms import MeetingOutcomesForm, meeting_outcomes_form, review_choices
    from config.partnership import load_partnership
    from config.settings import CONFIG_DIR
    from flows.forms import offered_schema, run_form_words
    from flows.intake import submit_referral
    from flows.outcomes import record_meeting_outcomes

    assert {name: words.heading for name, words in run_form_words(WT2015).items()} == {
        "submit-referral": "CIGSCR1: request for CIG consideration", "add-action": None, "resend-link": None,
        "revoke-links": None}
    assert review_choices(WT2015.terms) == {} and meeting_outcomes_form(WT2015.terms) is MeetingOutcomesForm
    partnership = load_partnership(CONFIG_DIR / "partnership.wt2023.example.yaml")
    given = run_form_words(WT2023)
    referral = offered_schema(parameter_schema(submit_referral.fn).model_dump_for_openapi(), partnership,
                              given["submit-referral"].heading, given["submit-referral"].fields,
                              forms=given["submit-referral"].forms)
    assert referral["properties"]["form"]["title"] == "CIGSCR1: referral of a serious incident for a rapid review"
    assert referral["definitions"]["ReferralForm"]["properties"]["reasons"]["description"].startswith(
        "1\\. Reason(s) for the referral: why this may be a serious child safeguarding incident")
    outcomes = offered_schema(parameter_schema(record_meeting_outcomes.fn).model_dump_for_openapi(), partnership,
                              words=given["meeting-outcomes"].fields, labels=review_choices(WT2023.terms))
    outcome = outcomes["definitions"]["CaseOutcome"]["properties"]["outcome"]
    assert outcome["description"] == "The rapid review recommendation" and outcome["enum"][0] == LCSPR
    read = meeting_outcomes_form(WT2023.terms).model_validate({"meeting_on": "2026-11-30", "outcomes": [
        {"reference": "SSCP-2026-0001", "outcome": LCSPR, "rationale": "Invented."}]})
    assert read.outcomes[0].outcome.value == "scr"


def test_the_appointments_refusals_name_the_review_in_the_cases_terms() -> None:
    import pytest

    from casework.review.rules import ReviewerKind, check_reviewer

    with pytest.raises(ValueError, match="^kind: the lead reviewer of a local child safeguarding practice review "):
        check_reviewer("scr", ReviewerKind.internal, True, "CSC", WT2023.term("scr"), WT2023.term("scr_short"))
    with pytest.raises(ValueError, match="^agency: an independent lead reviewer of an LCSPR belongs to none"):
        check_reviewer("scr", ReviewerKind.independent, True, "POL", WT2023.term("scr"), WT2023.term("scr_short"))
    with pytest.raises(ValueError, match="^kind: the lead reviewer of a Serious Case Review must be independent"):
        check_reviewer("scr", ReviewerKind.internal, True, "CSC", WT2015.term("scr"), WT2015.term("scr_short"))


def test_the_yearly_report_says_when_it_is_written_and_wt2015s_description_stays() -> None:
    """Under wt2023 the annual-report deployment's description says when the partners' yearly report is written
    (its schedule and the months: tests/rules/test_annual_report.py)."""
    from flows.forms import run_form_words

    assert "annual-report" not in run_form_words(WT2015)  # wt2015's description is prefect.yaml's, as it was
    description = run_form_words(WT2023)["annual-report"].description or ""
    assert "after the partnership's period ends" in description and "for April to March, 15 April" in description
