"""The forms people fill in on a flow run's page: the domain forms as Prefect RunInputs.

Changing a form is changing its class in `casework.forms`; these only make it a RunInput.
Every field without a default is required in the JSON schema, so an empty resume is refused.
"""

from __future__ import annotations

from prefect.input import RunInput

from casework.forms import AgencyReturnForm, DecisionForm, RecommendationForm, ScreeningForm


class ScreeningInput(RunInput, ScreeningForm):
    """Screening by the CIG chair and business manager."""


class AgencyReturnInput(RunInput, AgencyReturnForm):
    """One agency's CIGINF1 return, recorded by the administrator."""


class RecommendationInput(RunInput, RecommendationForm):
    """The CIG recommendation and rationale (CIGSUM1)."""


class DecisionInput(RunInput, DecisionForm):
    """The independent chair's decision and rationale (CIGSUM1)."""


STEP_INPUTS: dict[str, type[RunInput]] = {
    "screening": ScreeningInput,
    "return": AgencyReturnInput,
    "recommendation": RecommendationInput,
    "decision": DecisionInput,
}
