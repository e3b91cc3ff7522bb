"""Bad input at every new door of the review is refused naming the field (a property over the review's
forms: any one required field dropped, given the wrong type, or an unknown field added)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from casework.review.forms import (
    AppointmentForm, AvailabilityForm, EngagementForm, FamilyInvolvementForm, GroupMemberForm, MilestoneForm,
    RatificationForm, ReviewPublicationForm, TermsForm,
)
from config.loading import describe_errors

TODAY = {"today": __import__("datetime").date(2027, 12, 31)}
BASES: dict[type[BaseModel], dict[str, Any]] = {
    AppointmentForm: {"reviewer": "Rowan Reviewer", "kind": "independent", "independent_of_agencies": True,
                      "appointed_on": "2027-01-22", "appointed_by": "Review group"},
    EngagementForm: {"agency": "POL", "confirmed_by": "DI Pat Police", "confirmed_on": "2026-12-14"},
    GroupMemberForm: {"group": "case", "name": "Quinn Healthvisitor", "agency": "HEALTH", "role": "Health visitor",
                      "email": "q.healthvisitor@example.org"},
    MilestoneForm: {"stage": "planning_meeting", "done_on": "2027-01-22", "by": "Bailey Manager"},
    TermsForm: {"terms_of_reference": "How information was shared.", "scope": "July to November 2026",
                "agreed_on": "2027-01-22"},
    FamilyInvolvementForm: {"involvement": "not_possible", "on": "2027-04-01", "reason": "Criminal proceedings."},
    RatificationForm: {"by": "cig", "result": "returned", "on": "2027-05-04", "comments": "Say more."},
    ReviewPublicationForm: {"published_on": "2027-06-01", "link": "https://example.org/scr/7",
                            "response_link": "https://example.org/scr/7-response"},
    AvailabilityForm: {"availability": "on_request", "decided_on": "2027-06-02"},
}
WRONG = [None, 12, [], {}, "", "2099-01-01", "<b>x</b>\x00"]


def test_every_base_is_valid() -> None:
    for form, data in BASES.items():
        form.model_validate(data, context=TODAY)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(BASES)), st.data())
def test_a_spoiled_review_form_is_refused_naming_the_field(form: type[BaseModel], data: st.DataObject) -> None:
    spoiled = copy.deepcopy(BASES[form])
    field = data.draw(st.sampled_from(sorted(spoiled)))
    kind = data.draw(st.sampled_from(["drop", "wrong", "extra"]))
    if kind == "drop":
        del spoiled[field]
    elif kind == "wrong":
        spoiled[field] = data.draw(st.sampled_from(WRONG))
    else:
        field = "unexpected_field"
        spoiled[field] = "x"
    try:
        form.model_validate(spoiled, context=TODAY)
    except ValidationError as refused:
        assert any(line.startswith(f"{field}") or f"{field}:" in line or line.startswith(f"{field}.")
                   for line in describe_errors(refused)), (field, describe_errors(refused))
        return
    # what stays valid: an optional field dropped or emptied, or a value the field accepts
    assert kind != "extra"
    assert field not in {n for n, f in form.model_fields.items() if f.is_required()} or kind == "wrong"


def test_the_review_run_s_forms_keep_their_required_fields_and_list_the_agencies() -> None:
    from config.partnership import load_partnership
    from config.settings import CONFIG_DIR
    from flows.forms import AppointmentInput, RatificationInput, ReviewPublicationInput, form_for

    partnership = load_partnership(CONFIG_DIR / "partnership.example.yaml")
    schemas = {f.__name__: form_for(f, partnership, "the review", "**what to do**").model_json_schema()
               for f in (AppointmentInput, RatificationInput, ReviewPublicationInput)}
    assert schemas["AppointmentInput"]["required"] == ["reviewer", "kind", "appointed_on", "appointed_by"]
    assert "POL: Northshire Police" in schemas["AppointmentInput"]["properties"]["agency"]["enum"]
    assert schemas["AppointmentInput"]["properties"]["reviewer"]["description"].startswith("**what to do**")
    assert schemas["RatificationInput"]["properties"]["by"]["enum"] == [  # in words, not cig / executive_group / board
        "The CIG (draft report and findings)", "The executive group (action plans)",
        "The partnership board (final report and action plans)"]
    assert schemas["ReviewPublicationInput"]["required"] == ["published_on", "link", "response_link"]
    # every choice is a list to pick from; the lead reviewer's email (for the milestone reminders) is optional
    assert schemas["AppointmentInput"]["$defs"]["ReviewerKind"]["enum"] == ["independent", "internal"]
    assert schemas["RatificationInput"]["$defs"]["RatificationResult"]["enum"] == ["ratified", "returned"]
    assert "email" in schemas["AppointmentInput"]["properties"]
