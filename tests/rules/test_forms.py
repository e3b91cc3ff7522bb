"""The forms people fill in: each refusal names the field, so the person knows what to change.

The valid base is the invented referral in examples/referral.yaml; "the future" is measured from
the `today` in the validation context, never the machine's clock.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from casework.forms import (
    MAX_TEXT,
    AgencyReturnForm,
    DecisionForm,
    RecommendationForm,
    ReferralForm,
    ScreeningForm,
    check_decision_against_recommendation,
)
from casework.model import Recommendation

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "referral.yaml"
TODAY = {"today": date(2026, 11, 20)}


def referral(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        target = data
        for parent in parents:
            target = target[parent]
        target[key] = value
    return data


def refusal(model: type[BaseModel], data: dict[str, Any]) -> str:
    """The validation error as the person sees it: field locations and messages."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data, context=TODAY)
    return "\n".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in caught.value.errors())


def anonymised() -> dict[str, str]:
    return {
        "nature_of_incident": "Non-accidental head injury to an infant",
        "ages_of_children": "4 months",
        "relationship_to_alleged_perpetrator": "mother's partner",
        "agency_involvement": "Health visiting; children's social care assessment",
        "criminal_investigation": "Police investigation open",
    }


def decision(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "response": "affirm", "decision": "scr", "rationale": "The criteria are met.",
        "decided_by": "Indra Independent", "lead_reviewers": ["Rowan Reviewer"],
    }
    return data | changes


# --- CIGSCR1 -----------------------------------------------------------------------------------

def test_the_example_referral_is_valid() -> None:
    form = ReferralForm.model_validate(referral(), context=TODAY)

    assert form.child.name == "Robin Testchild"
    assert form.agency == "HEALTH"
    assert len(form.significant_people) == 2


def test_a_date_of_death_before_the_date_of_birth_is_refused_naming_date_of_death() -> None:
    data = referral(child__date_of_death=date(2026, 7, 1), facts__child_died=True, notified_on=date(2026, 7, 2))

    problem = refusal(ReferralForm, data)

    assert "child: " in problem and "date_of_death: the date of death is before the date of birth" in problem


def test_a_date_of_birth_in_the_future_is_refused() -> None:
    problem = refusal(ReferralForm, referral(child__date_of_birth=date(2026, 11, 21)))

    assert "child.date_of_birth: Value error, 2026-11-21 is in the future" in problem


@pytest.mark.parametrize("field", ["notified_on", "completed_on", "route__reviewed_with_safeguarding_lead_on"])
def test_form_dates_in_the_future_are_refused(field: str) -> None:
    problem = refusal(ReferralForm, referral(**{field: date(2026, 11, 21)}))

    where = field.replace("route__", "route.through_safeguarding_lead.")
    assert f"{where}: Value error, 2026-11-21 is in the future" in problem


def test_the_future_is_measured_from_the_context_today() -> None:
    data = referral()

    ReferralForm.model_validate(data, context={"today": date(2026, 11, 18)})
    with pytest.raises(ValidationError, match="2026-11-18 is in the future"):
        ReferralForm.model_validate(data, context={"today": date(2026, 11, 17)})


@pytest.mark.parametrize("blank", ["", "   ", "\n\n"])
def test_empty_reasons_are_refused(blank: str) -> None:
    assert refusal(ReferralForm, referral(reasons=blank)).startswith("reasons: ")


def test_a_referral_through_a_safeguarding_lead_needs_their_name_and_the_date() -> None:
    assert "route.through_safeguarding_lead.safeguarding_lead: Input should be a valid string" in refusal(
        ReferralForm, referral(route__safeguarding_lead=None))
    assert "route.through_safeguarding_lead.reviewed_with_safeguarding_lead_on: Field required" in refusal(
        ReferralForm, {**referral(), "route": {"safeguarding_lead": "Jo Lead, head of safeguarding"}})
    assert refusal(ReferralForm, {k: v for k, v in referral().items() if k != "route"}) == "route: Field required"


def test_any_professional_can_refer_from_an_organisation_that_is_not_a_member_agency() -> None:
    form = ReferralForm.model_validate(referral(agency=None, organisation="Northshire Primary School (invented)",
                                                referrer_phone="01234 567890"), context=TODAY)
    assert (form.agency, form.organisation) == (None, "Northshire Primary School (invented)")
    assert "agency: give the member agency referring, or the organisation" in refusal(
        ReferralForm, referral(organisation="Northshire Primary School (invented)"))
    assert "agency: give the member agency referring, or the organisation" in refusal(ReferralForm, referral(agency=None))


def test_a_strategy_meeting_referral_records_the_meetings_date_and_chair() -> None:
    data = {**referral(), "route": {"strategy_meeting_chair": "Sam Strategy, team manager (invented)"}}
    assert refusal(ReferralForm, data) == "route.by_strategy_meeting.strategy_meeting_on: Field required"


def test_a_strategy_meeting_referral_does_not_need_the_safeguarding_lead() -> None:
    data = {**referral(), "route": {"strategy_meeting_on": "2026-11-17",
                                    "strategy_meeting_chair": "Sam Strategy, team manager (invented)"}}

    form = ReferralForm.model_validate(data, context=TODAY)
    assert form.referred_by == "strategy_meeting"
    assert form.route.strategy_meeting_chair == "Sam Strategy, team manager (invented)"


def test_child_died_and_date_of_death_must_agree() -> None:
    assert "child.date_of_death: give the date of death" in refusal(ReferralForm, referral(facts__child_died=True))


def test_the_form_cannot_be_completed_before_notification() -> None:
    assert "completed_on: the form cannot be completed before" in refusal(
        ReferralForm, referral(completed_on=date(2026, 11, 15))
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("child__name", "Robin Testchild\nBcc: someone@example.org"),
        ("named_lead", "Dr Hale\r\nX-Header: injected"),
        ("route__safeguarding_lead", "Jo Lead\x00"),
    ],
)
def test_a_line_break_or_control_character_in_a_name_is_refused(field: str, value: str) -> None:
    problem = refusal(ReferralForm, referral(**{field: value}))

    assert problem.startswith(field.replace("route__", "route.through_safeguarding_lead.").replace("__", ".") + ": ")
    assert "must be a single line of text" in problem


def test_a_line_break_in_a_significant_persons_name_is_refused() -> None:
    data = referral()
    data["significant_people"][0]["name"] = "Jordan\nTestparent"

    assert refusal(ReferralForm, data).startswith("significant_people.0.name: ")


def test_a_line_break_in_the_referrer_email_is_refused() -> None:
    assert refusal(ReferralForm, referral(referrer_email="a@example.org\nBcc: b@example.org")).startswith(
        "referrer_email: "
    )


def test_oversized_text_is_refused_with_the_limit() -> None:
    problem = refusal(ReferralForm, referral(case_summary="x" * (MAX_TEXT + 1)))

    assert problem == f"case_summary: String should have at most {MAX_TEXT} characters"
    ReferralForm.model_validate(referral(case_summary="x" * MAX_TEXT), context=TODAY)


def test_an_oversized_name_is_refused_with_the_limit() -> None:
    assert "at most 120 characters" in refusal(ReferralForm, referral(child__name="R" * 121))


def test_unknown_fields_are_refused() -> None:
    assert refusal(ReferralForm, referral(nickname="x")).startswith("nickname: ")


# --- screening -----------------------------------------------------------------------------------

def test_declining_without_a_reason_is_refused_naming_reason() -> None:
    data = {"outcome": "decline", "decided_by": "Casey Chair", "independent_chair_consulted": True}

    assert "reason: give the reason the case is declined" in refusal(ScreeningForm, data)


def test_accepting_needs_no_reason_and_declining_with_one_is_valid() -> None:
    ScreeningForm.model_validate({"outcome": "accept", "decided_by": "Casey Chair", "independent_chair_consulted": True})
    ScreeningForm.model_validate(
        {"outcome": "decline", "reason": "Below threshold.", "decided_by": "Casey Chair", "independent_chair_consulted": True}
    )


# --- CIGINF1 return ------------------------------------------------------------------------------

def test_a_return_marked_returned_without_involvement_is_refused() -> None:
    assert "involvement: a return needs the agency's involvement" in refusal(
        AgencyReturnForm, {"agency": "POL", "status": "returned"}
    )


def test_a_nil_return_needs_no_involvement() -> None:
    assert AgencyReturnForm.model_validate({"agency": "EDU", "status": "nil"}).return_status.value == "nil"


def test_a_return_refuses_a_malformed_agency_code_and_a_line_break_in_an_attendee() -> None:
    assert refusal(AgencyReturnForm, {"agency": "pol", "status": "nil"}).startswith("agency: ")
    assert refusal(AgencyReturnForm, {"agency": "POL", "status": "nil", "attendees": ["DI Pat\nPolice"]}).startswith(
        "attendees.0: "
    )


# --- CIGSUM1 part 1: the recommendation ----------------------------------------------------------

def test_further_information_without_agencies_is_refused() -> None:
    data = {"outcome": "further_information", "rationale": "We cannot decide yet."}

    assert "further_information_from: name the agencies" in refusal(RecommendationForm, data)


def test_agencies_are_only_named_when_asking_for_further_information() -> None:
    data = {"outcome": "scr", "rationale": "Criteria met.", "further_information_from": ["POL"]}

    assert "further_information_from: only used when the outcome is further information needed" in refusal(
        RecommendationForm, data
    )


# --- CIGSUM1 part 2: the decision ----------------------------------------------------------------

def test_an_scr_decision_needs_no_lead_reviewers_they_are_appointed_on_the_review() -> None:
    form = DecisionForm.model_validate(decision(lead_reviewers=[]), context=TODAY)
    assert (form.decision, form.lead_reviewers) == ("scr", [])


def test_a_no_scr_decision_may_leave_the_anonymised_details_to_a_recorded_sin() -> None:
    data = decision(decision="no_review", lead_reviewers=[], criteria_explanation="No concern about joint working.")

    assert DecisionForm.model_validate(data).anonymised_details is None  # the store asks for them when no SIN is recorded


def test_a_no_scr_decision_needs_the_criteria_explanation() -> None:
    data = decision(decision="individual_agency_review", lead_reviewers=[], anonymised_details=anonymised())

    assert "criteria_explanation: explain why the case does not meet the SCR criteria" in refusal(DecisionForm, data)


def test_a_complete_no_scr_decision_is_valid() -> None:
    form = DecisionForm.model_validate(
        decision(decision="no_review", lead_reviewers=[], anonymised_details=anonymised(),
                 criteria_explanation="No concern about how agencies worked together.")
    )

    assert form.anonymised_details is not None


def test_a_line_break_in_the_deciders_name_is_refused() -> None:
    assert refusal(DecisionForm, decision(decided_by="Indra\nIndependent")).startswith("decided_by: ")


def test_an_oversized_rationale_is_refused_with_the_limit() -> None:
    assert f"at most {MAX_TEXT} characters" in refusal(DecisionForm, decision(rationale="y" * (MAX_TEXT + 1)))


def test_affirming_means_deciding_what_was_recommended() -> None:
    affirm_other = DecisionForm.model_validate(
        decision(decision="no_review", lead_reviewers=[], anonymised_details=anonymised(), criteria_explanation="x")
    )

    with pytest.raises(ValueError, match=r"^decision: affirming the recommendation \(scr\) means deciding scr"):
        check_decision_against_recommendation(affirm_other, Recommendation.scr)


def test_challenging_may_decide_something_else_and_affirming_the_same_passes() -> None:
    challenge = DecisionForm.model_validate(
        decision(response="challenge", decision="no_review", lead_reviewers=[], anonymised_details=anonymised(),
                 criteria_explanation="x")
    )
    affirm = DecisionForm.model_validate(decision())

    check_decision_against_recommendation(challenge, Recommendation.scr)
    check_decision_against_recommendation(affirm, Recommendation.scr)


def test_there_is_no_decision_without_a_recommendation() -> None:
    with pytest.raises(ValueError, match="has not recorded a recommendation"):
        check_decision_against_recommendation(DecisionForm.model_validate(decision()), None)
