"""The forms people fill in on a flow run's page: the domain forms as Prefect RunInputs.

Changing a form is changing its class in `casework.forms`; these only make it a RunInput.
Every field without a default is required in the JSON schema, so an empty resume is refused.
"""

from __future__ import annotations

from prefect.input import RunInput
from functools import lru_cache
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from casework.forms import (
    AGENCY_FIELDS,
    CHOICE_FIELDS,
    NUMBERED,
    AgencyReturnForm,
    DecisionForm,
    RecommendationForm,
    ScreeningForm,
    decision_form,
    recommendation_form,
    referral_words,
    review_choices,
    screening_form,
    list_agencies,
    present_schema,
)
from casework.model import CHOICE_LABELS
from casework.review.forms import (
    AppointmentForm, RatificationForm, ReviewPublicationForm, appointment_form, ratification_form,
)
from config.partnership import Partnership
from config.rulesets import RuleSet, RunFormWords


class ScreeningInput(RunInput, ScreeningForm):
    """Screening by the CIG chair and business manager."""


def screening_input(rules: RuleSet) -> type[RunInput]:
    """The screening step's form under `rules` (casework.forms.screening_form): wt2015's as it was; wt2023's with
    the rule set's two outcomes and no question about an independent chair."""
    form = screening_form(rules)
    if form is ScreeningForm:
        return ScreeningInput
    return _screening_input(form)


@lru_cache(maxsize=8)
def _screening_input(form: type[ScreeningForm]) -> type[RunInput]:
    return type("ScreeningInput", (RunInput, form), {"__module__": __name__, "__doc__": form.__doc__})


class AgencyReturnInput(RunInput, AgencyReturnForm):
    """One agency's CIGINF1 return, recorded by the administrator."""


class RecommendationInput(RunInput, RecommendationForm):
    """The CIG recommendation and rationale (CIGSUM1)."""


def recommendation_input(rules: RuleSet) -> type[RunInput]:
    """The recommendation step's form under `rules`: wt2015's as it was; a rule set that sends the rapid review to
    the Panel (wt2023) adds what the rapid review meeting records for it, each field optional and in the rule
    set's words (casework.forms.recommendation_form)."""
    words = rules.rapid_review_document
    if words is None:
        return RecommendationInput
    return _recommendation_input(tuple(words.fields.items()), tuple(rules.terms.items()))


@lru_cache(maxsize=8)
def _recommendation_input(fields: tuple[tuple[str, str], ...], terms: tuple[tuple[str, str], ...]) -> type[RunInput]:
    form = recommendation_form(dict(fields), dict(terms))
    return type("RecommendationInput", (RunInput, form), {"__module__": __name__, "__doc__": form.__doc__})


class DecisionInput(RunInput, DecisionForm):
    """The independent chair's decision and rationale (CIGSUM1)."""


def decision_input(rules: RuleSet) -> type[RunInput]:
    """The decision step's form under `rules` (casework.forms.decision_form): wt2015's, the independent chair's, as
    it was; wt2023's records the decision made on the safeguarding partners' behalf after their disagreement."""
    form = decision_form(rules)
    return DecisionInput if form is DecisionForm else _decision_input(form)


@lru_cache(maxsize=4)
def _decision_input(form: type[DecisionForm]) -> type[RunInput]:
    return type("DecisionInput", (RunInput, form), {"__module__": __name__, "__doc__": form.__doc__})


class AppointmentInput(RunInput, AppointmentForm):
    """Appointment of a lead reviewer of the review."""


def appointment_input(rules: RuleSet) -> type[RunInput]:
    """The appointment's form under `rules` (casework.review.forms.appointment_form): wt2015's as it was; wt2023's
    says the LCSPR and the Panel."""
    form = appointment_form(rules)
    return AppointmentInput if form is AppointmentForm else _appointment_input(form)


@lru_cache(maxsize=4)
def _appointment_input(form: type[AppointmentForm]) -> type[RunInput]:
    return type("AppointmentInput", (RunInput, form), {"__module__": __name__, "__doc__": AppointmentInput.__doc__})


class RatificationInput(RunInput, RatificationForm):
    """The review's drafts before the CIG, the executive group or the partnership board."""


def ratification_input(rules: RuleSet) -> type[RunInput]:
    """The drafts' form under `rules` (casework.review.forms.ratification_form): wt2015's as it was; wt2023's offers
    the safeguarding partners only."""
    form = ratification_form(rules)
    return RatificationInput if form is RatificationForm else _ratification_input(form)


@lru_cache(maxsize=4)
def _ratification_input(form: type[RatificationForm]) -> type[RunInput]:
    return type("RatificationInput", (RunInput, form), {"__module__": __name__, "__doc__": form.__doc__})


class ReviewPublicationInput(RunInput, ReviewPublicationForm):
    """Publication of the review's final report, with the partnership's response."""


STEP_INPUTS: dict[str, type[RunInput]] = {
    "screening": ScreeningInput,
    "return": AgencyReturnInput,
    "recommendation": RecommendationInput,
    "decision": DecisionInput,
    "appointment": AppointmentInput,
    "ratification": RatificationInput,
    "publication": ReviewPublicationInput,
}


def agency_choices(partnership: Partnership) -> list[str]:
    """The partnership's agencies as a form lists them: "POL: Northshire Police"."""
    return [f"{agency.code}: {agency.name}" for agency in partnership.agencies]


def presented_input(form: BaseModel, partnership: Partnership) -> dict[str, Any]:
    """A form's values as the run page's form gives them (each coded choice by its label, each agency as
    "POL: Northshire Police", an empty field left out): the Prefect server checks a resume against
    the form's schema."""
    return presented_values(form.model_dump(mode="json", exclude_none=True), partnership, type(form).choice_labels)


def presented_values(values: dict[str, Any], partnership: Partnership,
                     labels: dict[str, str] | None = None) -> dict[str, Any]:
    """Form values (codes or labels) as the run page's form gives them (see `presented_input`); `labels`, the
    form's own words for some choices (a rule set's, casework.forms.Form.choice_labels)."""
    listed = {agency.code: f"{agency.code}: {agency.name}" for agency in partnership.agencies}
    choices = CHOICE_LABELS | (labels or {})

    def shown(field: str, value: Any) -> Any:
        if isinstance(value, list):
            return [shown(field, item) for item in value]
        if field in CHOICE_FIELDS and isinstance(value, str):
            return choices.get(value, value)
        if field in AGENCY_FIELDS and isinstance(value, str):
            return listed.get(value, value)
        return value

    return {field: shown(field, value) for field, value in values.items() if value is not None}


def form_for(form: type[RunInput], partnership: Partnership, description: str, summary: str = "",
             typed: dict[str, Any] | None = None) -> type[RunInput]:
    """The step's form as the run page shows it: the case context with it, the partnership's agencies
    as a choice list the form enforces before submit, and filled in with what was `typed` in a refused
    input. The Resume dialog gives the context a box too small to read, so the `summary` (what to do,
    the recommendation, the deadline, the last refusal) also heads the form's first field, where the
    person reads first."""
    choices = agency_choices(partnership)

    def presented(schema: dict[str, Any], cls: type[BaseModel]) -> None:
        present_schema(schema, cls, choices)
        # filling a field in gives it a default: what the form requires, it still requires
        schema["required"] = [name for name, field in form.model_fields.items() if field.is_required()]
        first = next(iter(schema.get("properties", {}).values()), None)
        if summary and first is not None:
            first["description"] = f"{summary}\n\n{first.get('description', '')}"

    listed = type(form.__name__, (form,), {
        "__module__": form.__module__, "__doc__": form.__doc__,
        "model_config": ConfigDict(json_schema_extra=presented),
    })
    again = {k: v for k, v in presented_values(typed or {}, partnership, form.choice_labels).items()
             if k in form.model_fields}
    return listed.with_initial_data(description=description, **again)  # type: ignore[return-value]


def offered_schema(schema: dict[str, Any], partnership: Partnership, heading: str | None = None,
                   words: Mapping[str, str] | None = None, *, forms: Mapping[str, str] | None = None,
                   labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A deployment's Run form schema, in place: its one parameter headed `heading`, the agency fields a choice of
    the partnership's agencies, the fields of its forms named in `words` and the forms named in `forms` (by model)
    described in the rule set's words (e.g. casework.forms.referral_words), and each coded choice whose code
    `labels` names offered by that label instead of its own (casework.forms.review_choices)."""
    choices = agency_choices(partnership)
    words, forms = words or {}, forms or {}
    relabelled = {CHOICE_LABELS[code]: label for code, label in (labels or {}).items() if code in CHOICE_LABELS}
    if heading:  # the UI heads the form with the parameter's title, else its name ("form")
        for field in schema.get("properties", {}).values():
            field["title"] = heading
    for model, definition in schema.get("definitions", {}).items():
        if model in forms:
            definition["description"] = forms[model]
        for name, field in definition.get("properties", {}).items():
            if name == "agency":
                list_agencies(field, choices)
            if name in words:
                field["description"] = NUMBERED.sub(r"\1\\. ", words[name])  # "1. Reasons" as written, as present_schema
            target = field.get("items", field)
            if name in CHOICE_FIELDS and "enum" in target:
                target["enum"] = [relabelled.get(label, label) for label in target["enum"]]
    return schema


OFFERED = {  # the Run forms given the partnership's agencies and its rule set's words, by deployment, and their own
    "submit-referral": RunFormWords(heading="CIGSCR1: request for CIG consideration"),  # the paper form's heading
    "add-action": RunFormWords(),
    "resend-link": RunFormWords(),  # flows.office
    "revoke-links": RunFormWords(),
}


def run_form_words(rules: RuleSet) -> dict[str, RunFormWords]:
    """The words each deployment's Run form is given when the deployments are registered, by deployment name: its
    own (OFFERED), the referral's date in the rule set's words (casework.forms.referral_words), and the rule set's
    `run_forms` over them (wt2023: the referral, the notification's text, the meeting's outcomes)."""
    given = dict(OFFERED)
    given["submit-referral"] = given["submit-referral"].model_copy(update={"fields": referral_words(rules)})
    for name, own in rules.run_forms.items():
        base = given.get(name, RunFormWords())
        given[name] = RunFormWords(heading=own.heading or base.heading, description=own.description or base.description,
                                   forms={**base.forms, **own.forms}, fields={**base.fields, **own.fields})
    return given


async def offer_run_form(deployment_name: str, partnership: Partnership, words: RunFormWords,
                         labels: Mapping[str, str]) -> None:
    """Give a deployment's Run form the partnership's agencies as a choice list and its rule set's `words` and
    choice `labels` (`offered_schema`), and the deployment the rule set's description if it has one (called when
    the deployments are registered: the form's schema comes from code, the agencies and words from the partnership
    file and its rule set)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentUpdate

    async with get_client() as client:
        deployment = await client.read_deployment_by_name(deployment_name)
        schema = offered_schema(deployment.parameter_openapi_schema or {}, partnership, words.heading, words.fields,
                                forms=words.forms, labels=labels)
        update = {"description": words.description} if words.description else {}
        await client.update_deployment(deployment.id, DeploymentUpdate(parameter_openapi_schema=schema, **update))


if __name__ == "__main__":  # `make up`, once the deployments are registered
    import asyncio

    from casework.office import open_office

    office = open_office()
    rules = office.rules()
    for name, words in run_form_words(rules).items():  # each deployment is named as its flow
        asyncio.run(offer_run_form(f"{name}/{name}", office.partnership, words, review_choices(rules.terms)))
