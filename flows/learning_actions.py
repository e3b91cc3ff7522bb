"""The learning actions' forms in the Prefect UI: the `add-action` and `update-action` deployments, whose Run
form is the same pydantic model `cig action add` and `cig action update` read (casework.learning.forms), with
the review's case reference beside it. Each records through the same casework.learning.actions function as
`cig` (the same rules, audit and outbox) in one transaction, then sends at once whatever the step queued for
the case (the deadline sweep sends it otherwise).

What the form's JSON schema can say (required fields, the plan and status choices, an email's and an agency
code's form) the Prefect UI refuses before submit. The rest (an unknown reference, an action the review does
not have, an update after ratification without a reason) fails the run with one line naming the field in the
form's words, as its state message; nothing is recorded and the run keeps what was typed, so "Copy to new
run" refills the form. A recorded run is emptied of the form at once (the lead's name and email are sealed in
the case database, not left in Prefect) and renamed `add-action-<REF>-<N>` or `update-action-<REF>-<N>`.

Needs the case database (through the office), the mail server and a Prefect API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.client.orchestration import get_client
from prefect.context import get_run_context
from prefect.states import Failed, State
from pydantic import BaseModel, ValidationError

from casework.delivery import deliver_pending
from casework.learning import actions as learning
from casework.learning.forms import ActionForm, ActionUpdateForm
from casework.office import open_office

ADD_ACTOR = "add-action form"
UPDATE_ACTOR = "update-action form"


class ActionRefused(ValueError):
    """The form cannot be recorded; the message names each field to change, in the form's words."""


@dataclass(frozen=True)
class Recorded:
    """What a form's step did: the action's number, or, nothing recorded, why (one line naming the field)."""

    number: int | None = None
    refusal: str | None = None


def field_title(model: type[BaseModel], name: str) -> str:
    """A field as the form heads it ("lead_email" -> "Lead's email"); "Reference" for the case reference."""
    if name == "reference":
        return "Reference"
    field = model.model_fields.get(name)
    title = field.title if field is not None and field.title else name.replace("_", " ").capitalize()
    return title[0].upper() + title[1:].lower()


def in_words(model: type[BaseModel], problem: str) -> str:
    """A refusal ("lead_email: ...", the casework's way of naming a field) with the field as the form heads it."""
    name, colon, rest = problem.partition(": ")
    if colon and (name in model.model_fields or name == "reference"):
        return f"{field_title(model, name)}: {rest}"
    return problem


def _refusal(model: type[BaseModel], problem: Exception) -> ActionRefused:
    """What `problem` (a ValidationError, or a ValueError/LookupError of the casework) says, one line a person
    can act on. An unknown case or a case with no review is the Reference's fault; an unknown agency the Agency's."""
    if isinstance(problem, ValidationError):
        lines = []
        for error in problem.errors():
            where = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "string_pattern_mismatch":  # the pattern says nothing to a person
                message = f"not a valid {field_title(model, where).lower()}"
            if error["type"] == "extra_forbidden":
                message = "not a field of this form"
            lines.append(in_words(model, f"{where}: {message}" if where else message))
        return ActionRefused("; ".join(lines))
    text = str(problem)
    if text.startswith("unknown agency code"):
        return ActionRefused(f"Agency: {text}")
    if text.startswith("no case with reference") or " has no review" in text:
        return ActionRefused(f"Reference: {text}")
    return ActionRefused(in_words(model, text))


def check_form(model: type[BaseModel], form: BaseModel | dict[str, Any] | None, today: date) -> Any:
    """The form as `model`, every field rule checked as `cig` checks it; ActionRefused names each field."""
    data = form.model_dump() if isinstance(form, BaseModel) else form
    try:
        return model.model_validate({k: v for k, v in (data or {}).items() if v is not None}, context={"today": today})
    except ValidationError as invalid:
        raise _refusal(model, invalid) from None


# A refusal is the step's result, not its exception: the run's page shows one line, not a task's traceback.

@task(name="record_action", cache_policy=NONE, persist_result=False)
def record_action(reference: str, action: ActionForm, reason: str | None) -> Recorded:
    """Add the action to the review's plans (with its deadline and audit): its number, or why not (nothing added)."""
    try:
        [number] = learning.add_actions(open_office(), reference, [action], now=datetime.now(timezone.utc),
                                        actor=ADD_ACTOR, reason=reason)
    except (ValueError, LookupError) as refused:
        return Recorded(refusal=str(_refusal(ActionForm, refused)))
    return Recorded(number=number)


@task(name="record_action_update", cache_policy=NONE, persist_result=False)
def record_action_update(reference: str, update: ActionUpdateForm) -> Recorded:
    """Record the update to the action (what changed, why, who, when; audited): its number, or why not."""
    try:
        view = learning.update_action(open_office(), reference, update, now=datetime.now(timezone.utc),
                                      actor=UPDATE_ACTOR)
    except (ValueError, LookupError) as refused:
        return Recorded(refusal=str(_refusal(ActionUpdateForm, refused)))
    get_run_logger().info("%s: action %d is %s, due %s (%d recorded update%s)", reference, view.number,
                          view.status.value, view.target_on.isoformat(), view.updates, "" if view.updates == 1 else "s")
    return Recorded(number=view.number)


@task(name="send_case_messages", cache_policy=NONE, persist_result=False)
async def send_case_messages(reference: str) -> int:
    """Send the case's pending messages now, once each; what cannot be sent yet stays queued for the sweep."""
    report = await deliver_pending(open_office(), reference=reference)
    if report.temporary_failures or report.permanent_failures:
        get_run_logger().warning("%d message(s) not sent yet; the deadline sweep sends them: %s",
                                 len(report.temporary_failures) + len(report.permanent_failures),
                                 (report.temporary_failures + report.permanent_failures)[0])
    return len(report.sent)


@task(name="empty_form_run", cache_policy=NONE, persist_result=False, retries=3, retry_delay_seconds=[1, 5, 15])
async def empty_form_run(name: str) -> None:
    """Rename this run `name` and delete the form from its parameters: the case database holds it now."""
    run_id = get_run_context().task_run.flow_run_id  # type: ignore[union-attr]
    async with get_client() as client:
        await client.update_flow_run(run_id, name=name, parameters={})


def _refused(what: str, refusal: str) -> State:
    problem = f"{what}: {refusal}"
    get_run_logger().error(problem)
    return Failed(message=problem)


def _today() -> date:
    return open_office().calendar.local_date(datetime.now(timezone.utc))


@flow(name="add-action", persist_result=False, validate_parameters=False)
async def add_action(reference: str, action: ActionForm, reason: str = "") -> int | State:
    """Add an action to a review's multi-agency or single-agency learning and improvement plan.

    Args:
        reference: The review's case reference, e.g. NSCP-2026-0001
        action: The action, its finding, agency, named lead, target date and evidence of impact
        reason: Why it is added: required once the executive group has ratified the plans, else leave empty
    """
    reference = reference.strip()
    try:
        checked = check_form(ActionForm, action, _today())
    except ActionRefused as refused:
        return _refused(f"Action not added to {reference}", str(refused))
    recorded = record_action(reference, checked, (reason or "").strip() or None)
    if recorded.number is None:
        return _refused(f"Action not added to {reference}", recorded.refusal or "refused")
    await send_case_messages(reference)
    await empty_form_run(f"add-action-{reference}-{recorded.number}")
    get_run_logger().info("%s: action %d added (`cig action list %s`)", reference, recorded.number, reference)
    return recorded.number


@flow(name="update-action", persist_result=False, validate_parameters=False)
async def update_action(reference: str, update: ActionUpdateForm) -> int | State:
    """Record an update to an action: done with evidence, dropped with a reason, a new target date, lead or wording.

    Args:
        reference: The review's case reference, e.g. NSCP-2026-0001
        update: The action's number and what changes; leave the rest empty
    """
    reference = reference.strip()
    try:
        checked = check_form(ActionUpdateForm, update, _today())
    except ActionRefused as refused:
        return _refused(f"Update not recorded for {reference}", str(refused))
    recorded = record_action_update(reference, checked)
    if recorded.number is None:
        return _refused(f"Update not recorded for {reference}", recorded.refusal or "refused")
    await send_case_messages(reference)
    await empty_form_run(f"update-action-{reference}-{recorded.number}")
    return recorded.number
