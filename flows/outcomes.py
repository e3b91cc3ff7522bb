"""After the meeting: the administrator records every listed case's outcome on one form.

Each outcome is handed to its case's run exactly as `cig recommend` does, and each case's flow
continues. An outcome for a case already recorded is reported and changes nothing. The form is read as its Run form
offers it under the partnership's rule set (wt2023: the outcomes by its review labels), so the flow reads its
parameter itself.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from pydantic import BaseModel

from casework.forms import MeetingOutcomesForm, RecommendationForm, meeting_outcomes_form
from casework.office import open_office
from flows.people import submit_step


class OutcomeResult(BaseModel):
    reference: str
    recorded: bool
    detail: str


@flow(name="meeting-outcomes", persist_result=False, validate_parameters=False)
async def record_meeting_outcomes(form: MeetingOutcomesForm) -> list[OutcomeResult]:
    """Hand each case's recommendation to its run; report what was recorded and what was not."""
    logger = get_run_logger()
    office = open_office()
    given = form.model_dump() if isinstance(form, BaseModel) else form
    form = meeting_outcomes_form(office.rules().terms).model_validate(given)  # its labels as its Run form offers them
    results = []
    for outcome in form.outcomes:
        recommendation = RecommendationForm.model_validate(outcome.model_dump(exclude={"reference"}))
        try:
            step = await submit_step(office, outcome.reference, "recommendation", recommendation)
        except (ValueError, LookupError, RuntimeError) as refused:
            logger.warning("%s: not recorded: %s", outcome.reference, refused)
            results.append(OutcomeResult(reference=outcome.reference, recorded=False, detail=str(refused)))
            continue
        results.append(OutcomeResult(reference=outcome.reference, recorded=True, detail=f"now {step.stage.value}"))
    return results
