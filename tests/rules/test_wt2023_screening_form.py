"""The screening step's form in the rule set's words (casework.forms.screening_form, flows.forms.screening_input):
wt2015's as it was; wt2023's two outcomes, its deciders, and no question about an independent chair."""

from __future__ import annotations

import json

from casework.forms import ScreeningForm, screening_form
from casework.model import ScreeningOutcome
from config.rulesets import load_ruleset
from flows.forms import ScreeningInput, presented_values, screening_input

WT2015, WT2023 = load_ruleset("wt2015"), load_ruleset("wt2023")


def test_wt2015_keeps_its_screening_form() -> None:
    assert screening_form(WT2015) is ScreeningForm and screening_input(WT2015) is ScreeningInput
    assert "independent_chair_consulted" in ScreeningForm.model_json_schema()["required"]


def test_wt2023_shows_its_two_outcomes_and_asks_nothing_of_an_independent_chair() -> None:
    form = screening_form(WT2023)
    schema = form.model_json_schema()
    assert schema["properties"]["outcome"]["enum"] == [WT2023.term("screening_accept"), WT2023.term("screening_decline")]
    assert "independent_chair_consulted" not in schema["properties"]
    assert "independent chair" not in json.dumps(schema).lower() and "CIG" not in json.dumps(schema)
    assert "the business manager and the local authority" in schema["properties"]["decided_by"]["description"]
    taken = form.model_validate({"outcome": WT2023.term("screening_accept"), "decided_by": "Bo Business"})
    assert taken.outcome is ScreeningOutcome.accept and taken.independent_chair_consulted is False
    assert form.model_validate({"outcome": "decline", "reason": "Not serious.", "decided_by": "Bo"}).outcome \
        is ScreeningOutcome.decline
    run_form = screening_input(WT2023).model_json_schema()
    assert "independent_chair_consulted" not in run_form["properties"]


def test_a_refused_wt2023_screening_fills_in_again_in_its_words() -> None:
    from config.partnership import load_partnership
    from config.settings import CONFIG_DIR

    partnership = load_partnership(CONFIG_DIR / "partnership.wt2023.example.yaml")
    again = presented_values({"outcome": "accept", "decided_by": "Bo"}, partnership, screening_form(WT2023).choice_labels)
    assert again["outcome"] == WT2023.term("screening_accept")
