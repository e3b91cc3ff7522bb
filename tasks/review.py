"""Tasks of the review flow: each changes the case database once (casework.review.actions), retried only
when the database was busy; and starting a case's review run."""

from __future__ import annotations

from prefect import get_run_logger, task

from casework.review import actions
from casework.review.forms import AppointmentForm, RatificationForm, ReviewPublicationForm
from tasks.cases import DB_TASK, now, office


@task(name="start_review", cache_policy=DB_TASK["cache_policy"], persist_result=False, retries=2, retry_delay_seconds=5)
async def start_review(reference: str) -> str | None:
    """Start the case's review run (`review-<REFERENCE>`); if Prefect cannot start it now, the deadline
    sweep starts it later (`start_pending_review_runs`), so the referral run still finishes."""
    from flows.launch import start_review_run

    try:
        return await start_review_run(reference)
    except Exception as problem:  # the sweep starts it later; never fail the referral for it
        get_run_logger().warning("%s: its review run was not started yet (%s); the deadline sweep starts it",
                                 reference, problem)
        return None


@task(name="commission_review", **DB_TASK)
async def commission_review(reference: str) -> actions.ReviewOutcome:
    """Lay out the review's plan and queue the business manager's and the members' notices (once)."""
    return actions.commission_review(office(), reference, now=now(), actor="review run")


@task(name="record_review_run", **DB_TASK)
async def record_review_run(reference: str, flow_run_id: str) -> None:
    """Remember the review's run on the review (the sweep restarts it if it dies; `cig review` resumes it)."""
    actions.attach_review_run(office(), reference, flow_run_id, now=now())


@task(name="record_appointment", **DB_TASK)
async def record_appointment(reference: str, form: AppointmentForm, actor: str) -> actions.ReviewOutcome:
    return actions.appoint_reviewer(office(), reference, form, now=now(), actor=actor)


@task(name="record_ratification", **DB_TASK)
async def record_ratification(reference: str, form: RatificationForm, actor: str) -> actions.ReviewOutcome:
    return actions.record_ratification(office(), reference, form, now=now(), actor=actor)


@task(name="record_publication", **DB_TASK)
async def record_publication(reference: str, form: ReviewPublicationForm, actor: str) -> actions.ReviewOutcome:
    return actions.publish_review(office(), reference, form, now=now(), actor=actor)


@task(name="close_review", **DB_TASK)
async def close_review(reference: str) -> actions.ReviewOutcome:
    return actions.close_review(office(), reference, now=now())
