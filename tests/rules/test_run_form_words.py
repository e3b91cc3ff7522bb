"""Every deployment's Run form (its parameter schema, as `prefect deploy` computes it from prefect.yaml) reads in
the words a person uses: no optional field shown as a "X | None" type switch, every choice in words (no code such
as "multi_agency"), no label made mechanically from a field name ("Deprivation Of Liberty 16 17"), and every
example reference in the partnership's own form (NSCP-2026-0001, not NS-2026-0001).

What is listed in LEFT_AS_IT_WAS was found by this test and left (operations' parameters); the test fails when
one of them is fixed (so the list only shrinks) or when anything new is added that breaks a rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.utilities.callables import parameter_schema_from_entrypoint

from flows.forms import STEP_INPUTS

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = {d["name"]: d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}
PREFIX = yaml.safe_load((ROOT / "config" / "partnership.example.yaml").read_text())["reference_prefix"]
CODE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")  # multi_agency, scr_staged
EXAMPLE_REFERENCE = re.compile(r"\b([A-Z]{2,8})-20\d\d-\d{4}\b")

# (deployment, where, rule) found when the rules were written and left: the operations' own parameters of the
# scheduled flows (`now`, the recovery limits, the schedule's switch), which no person's task needs. Prefect
# heads a flow's parameter with its name, so a parameter a person fills in is one word.
LEFT_AS_IT_WAS: set[tuple[str, str, str]] = {
    ('deadline-sweep', 'now', 'a switch between a value and None'),
    ('deadline-sweep', 'recovery_limit', "a label made from the field's name"),
    ('deadline-sweep', 'recovery_window_minutes', "a label made from the field's name"),
    ('monthly-report', 'only_on_first_working_day', "a label made from the field's name"),
    ('prepare-meeting', 'now', 'a switch between a value and None'),
    ('purge', 'now', 'a switch between a value and None'),
    ('recover-runs', 'recovery_limit', "a label made from the field's name"),
    ('recover-runs', 'recovery_window_minutes', "a label made from the field's name"),
}


def fields(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Each field a person sees: (where, its name, its schema), the parameters and every sub-form's fields."""
    for name, field in schema.get("properties", {}).items():
        yield name, name, field
    for form, definition in schema.get("definitions", {}).items():
        for name, field in definition.get("properties", {}).items():
            yield f"{form}.{name}", name, field


def broken_rules(schema: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, rule) for each rule a field of the schema breaks."""
    definitions = schema.get("definitions", {})
    for where, name, field in fields(schema):
        if any(option.get("type") == "null" for option in field.get("anyOf", [])):
            yield where, "a switch between a value and None"
        choices = list(field.get("enum", [])) + list(field.get("items", {}).get("enum", []))
        for ref in (field.get("$ref"), field.get("items", {}).get("$ref")):
            if ref and "properties" not in definitions.get(ref.rsplit("/", 1)[-1], {"properties": 1}):
                choices += definitions[ref.rsplit("/", 1)[-1]].get("enum", [])
        if any(isinstance(choice, str) and CODE.match(choice) for choice in choices):
            yield where, "a choice shown as its code"
        title = field.get("title", name)
        words = name.replace("_", " ")
        made = (name, words.title()) + ((words.capitalize(),) if any(ch.isdigit() for ch in name) else ())
        if ("_" in name or any(ch.isdigit() for ch in name)) and title in made:
            yield where, "a label made from the field's name"
        for example in EXAMPLE_REFERENCE.findall(field.get("description", "")):
            if example != PREFIX:
                yield where, "an example reference that is not the partnership's"


@pytest.mark.parametrize("deployment", sorted(DEPLOYMENTS))
def test_each_run_form_reads_in_a_persons_words(deployment: str) -> None:
    schema = parameter_schema_from_entrypoint(str(ROOT / DEPLOYMENTS[deployment]["entrypoint"])).model_dump()
    broken = {(deployment, where, rule) for where, rule in broken_rules(schema)}
    assert broken - LEFT_AS_IT_WAS == set()
    assert {left for left in LEFT_AS_IT_WAS if left[0] == deployment} - broken == set(), "fixed: take it off the list"


def test_the_rules_catch_what_the_administrator_met() -> None:
    """Each rule fails on the example the issue gives."""
    schema = {"properties": {"month": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "month"},
                             "plan": {"$ref": "#/definitions/Plan"},
                             "reference": {"title": "reference", "description": "e.g. NS-2026-0001"}},
              "definitions": {"Plan": {"enum": ["multi_agency", "single_agency"]},
                              "CaseFacts": {"properties": {"deprivation_of_liberty_16_17": {
                                  "title": "Deprivation Of Liberty 16 17"}}}}}
    assert set(broken_rules(schema)) == {
        ("month", "a switch between a value and None"), ("plan", "a choice shown as its code"),
        ("reference", "an example reference that is not the partnership's"),
        ("CaseFacts.deprivation_of_liberty_16_17", "a label made from the field's name")}


def test_a_plan_chosen_in_words_is_recorded_as_its_plan() -> None:
    from casework.learning.forms import ActionForm
    from casework.learning.rules import Plan

    schema = parameter_schema_from_entrypoint(str(ROOT / DEPLOYMENTS["add-action"]["entrypoint"])).model_dump()
    [multi, single] = schema["definitions"]["ActionForm"]["properties"]["plan"]["enum"]
    action = {"finding": "Late information.", "action": "A daily triage call.", "agency": "HEALTH: Northshire Health Trust",
              "lead_name": "Ash Lead", "lead_email": "ash.lead@example.org", "target_on": "2027-03-01",
              "evidence_of_impact": "Minutes."}
    assert (multi, single) == ("Multi-agency plan (the training officer's)", "Single-agency plan (the agency's own)")
    assert ActionForm.model_validate({**action, "plan": multi}).plan is Plan.multi_agency
    assert ActionForm.model_validate({**action, "plan": single}).plan is Plan.single_agency


@pytest.mark.parametrize("step", sorted(STEP_INPUTS))
def test_each_resume_form_reads_in_a_persons_words(step: str) -> None:
    """The forms on a run's page (Resume): the same rules (the ratification was "cig / executive_group / board")."""
    schema = STEP_INPUTS[step].model_json_schema()
    schema["definitions"] = schema.pop("$defs", {})
    assert list(broken_rules(schema)) == []
