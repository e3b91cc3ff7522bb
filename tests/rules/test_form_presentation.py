"""How the forms read on the Prefect UI: the JSON schema a person's form is drawn from."""

from __future__ import annotations

import json

from prefect._internal.pydantic.v2_schema import create_v2_schema

from casework.forms import AgencyReturnForm, DecisionForm, RecommendationForm, ReferralForm, present_schema
from flows.forms import AgencyReturnInput, form_for
from config.partnership import load_partnership
from config.settings import CONFIG_DIR


def ui_schema(model: type) -> dict:
    """The schema as Prefect saves it for the UI (its own generator, $defs under definitions)."""
    return create_v2_schema(model.__name__, model_base=model)


def test_item_numbers_read_as_written_not_as_a_markdown_list() -> None:
    child = ui_schema(ReferralForm)["definitions"]["Child"]["properties"]
    assert child["name"]["description"] == "3\\. Name of the child or young person"  # markdown shows "3. Name..."


def test_an_optional_field_is_one_widget_not_a_type_switch() -> None:
    schema = ui_schema(ReferralForm)
    assert '"type": "null"' not in json.dumps(schema)
    assert [name for name, field in schema["properties"].items() if "anyOf" in field] == ["route"]


def test_the_referral_route_is_a_choice_of_two_sub_forms_each_with_its_own_required_fields() -> None:
    schema = ui_schema(ReferralForm)
    routes = [schema["definitions"][option["$ref"].rsplit("/", 1)[1]] for option in schema["properties"]["route"]["anyOf"]]
    assert [(r["title"], r["required"]) for r in routes] == [
        ("Through a safeguarding lead", ["reviewed_with_safeguarding_lead_on", "safeguarding_lead"]),
        ("By the chair of a strategy meeting", ["strategy_meeting_on", "strategy_meeting_chair"]),
    ]
    assert "route" in schema["required"]


def test_coded_choices_are_listed_by_their_labels_and_either_is_accepted() -> None:
    decision = ui_schema(DecisionForm)["properties"]["decision"]
    assert "Multi-agency concise review" in decision["enum"] and "multi_agency_concise_review" not in decision["enum"]
    form = AgencyReturnForm.model_validate({"agency": "POL: Northshire Police", "status": "Nil return: no involvement"})
    assert (form.agency, form.status) == ("POL", "nil")
    assert AgencyReturnForm.model_validate({"agency": "POL", "status": "nil"}).status == "nil"


def test_free_text_that_looks_like_a_choice_is_kept_as_typed() -> None:
    form = RecommendationForm.model_validate({"outcome": "No review", "rationale": "CSC: shared information promptly"})
    assert (form.outcome, form.rationale) == ("no_review", "CSC: shared information promptly")


def test_the_step_forms_list_the_partnerships_agencies() -> None:
    partnership = load_partnership(CONFIG_DIR / "partnership.example.yaml")
    model = form_for(AgencyReturnInput, partnership, "context")
    agency = ui_schema(model)["properties"]["agency"]
    assert agency["enum"][0] == "POL: Northshire Police" and "pattern" not in agency
    assert model._description == "context"


def test_present_schema_leaves_a_form_without_choices_alone() -> None:
    schema = {"properties": {"rationale": {"type": "string", "description": "Why"}}}
    present_schema(schema, RecommendationForm)
    assert schema == {"properties": {"rationale": {"type": "string", "description": "Why", "title": "Rationale"}}}
