"""Intake: the `submit-referral` deployment's Run form is CIGSCR1. It records the referral in the
case database under a new reference and starts the case's own `referral` flow run, which carries
only the reference. The form's personal data never goes into the long-running run.
"""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, task
from prefect.cache_policies import NONE

from casework import actions
from casework.forms import ReferralForm
from casework.office import open_office
from flows.launch import start_referral_run


@task(name="record_referral", cache_policy=NONE, persist_result=False)
def record_referral(form: ReferralForm) -> str:
    """Record the referral and queue its notices; return the new case reference."""
    now = datetime.now(timezone.utc)
    checked = ReferralForm.model_validate(form.model_dump(), context={"today": now.date()})
    return actions.submit_referral(open_office(), checked, now=now, actor="submit-referral form").reference


@flow(name="submit-referral", persist_result=False)
async def submit_referral(form: ReferralForm) -> str:
    """CIGSCR1: request for CIG consideration. Records the referral and starts its case run."""
    reference = record_referral(form)
    await start_referral_run(reference)
    return reference
