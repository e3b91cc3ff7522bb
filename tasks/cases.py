"""Tasks that change a case in the project's database. Retried only when the database was busy."""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import task
from prefect.cache_policies import NONE
from sqlalchemy.exc import OperationalError

from casework.referral import actions
from casework.forms import AgencyReturnForm, DecisionForm, RecommendationForm, ScreeningForm
from casework.office import Office, open_office
from casework.store import cases as store
from casework.store.tables import Case


def _database_busy(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
    # the engine hands over Failed(data=<the exception>); `state.result()` would be a coroutine
    # inside an async task, never awaited, and the condition would never retry
    return isinstance(state.data, OperationalError)


def office() -> Office:
    return open_office()


def now() -> datetime:
    return datetime.now(timezone.utc)


DB_TASK = dict(cache_policy=NONE, retries=3, retry_delay_seconds=[1, 5, 15], retry_condition_fn=_database_busy, persist_result=False)


def read_case(reference: str) -> Case:
    """The case as it is now (a read, not a task: re-running it is free)."""
    with office().sessions() as session:
        return store.get_case(session, reference=reference)


@task(name="record_screening", **DB_TASK)
async def record_screening(reference: str, form: ScreeningForm, actor: str) -> actions.Outcome:
    return actions.record_screening(office(), reference, form, now=now(), actor=actor)


@task(name="request_information", **DB_TASK)
async def request_information(reference: str) -> actions.Outcome:
    return actions.list_and_request_information(office(), reference, now=now())


@task(name="record_agency_return", **DB_TASK)
async def record_agency_return(reference: str, form: AgencyReturnForm, actor: str) -> actions.Outcome:
    return actions.record_return(office(), reference, form, now=now(), actor=actor)


@task(name="record_recommendation", **DB_TASK)
async def record_recommendation(reference: str, form: RecommendationForm, actor: str) -> actions.Outcome:
    return actions.record_recommendation(office(), reference, form, now=now(), actor=actor)


@task(name="record_chair_decision", **DB_TASK)
async def record_chair_decision(reference: str, form: DecisionForm, actor: str) -> actions.Outcome:
    return actions.record_decision(office(), reference, form, now=now(), actor=actor)


@task(name="refuse_input", **DB_TASK)
async def refuse_input(reference: str, step: str, problem: str, values: dict | None = None) -> None:
    actions.refuse_input(office(), reference, step, problem, now=now(), values=values)


@task(name="close_case", **DB_TASK)
async def close_case(reference: str) -> actions.Outcome:
    return actions.finish_case(office(), reference, now=now())
