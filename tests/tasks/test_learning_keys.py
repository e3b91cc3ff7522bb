"""A named lead's name and email, sealed in the action, survive key rotation: sealed with key A, re-sealed
by `cig keys rotate` under "B,A", and then open with B alone (A alone no longer opens them)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select, text

from casework.referral import actions
from casework.forms import ReferralForm
from casework.store import cases as store
from casework.store.keys import reseal_all
from casework.store.sealed import KeyProblem, new_key
from casework.store.tables import LearningAction, Review
from tests.tasks.test_keys import keyed  # noqa: F401 (the fixture)

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


def test_a_leads_details_are_resealed_with_the_new_key(keyed, referral_form: ReferralForm) -> None:  # type: ignore[no-untyped-def]
    a, b = new_key(), new_key()
    office = keyed(a)
    reference = actions.submit_referral(office, referral_form, now=NOW, actor="t").reference
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference)
        review = Review(case_id=case.id, review_type="scr", plan="scr_staged", stage="ratifying", commissioned_at=NOW,
                        commissioned_on=NOW.date(), reviewers=[], ratifications=[], updated_at=NOW)
        session.add(review)
        session.flush()
        session.add(LearningAction(review_id=review.id, number=1, plan="single_agency", agency="CSC", finding="f",
                                   action="a", lead={"name": "Sky Practitioner", "email": "sky.practitioner@example.org"},
                                   target_on=date(2027, 6, 30), evidence_of_impact="e", status="open", revision=0,
                                   created_at=NOW, updated_at=NOW))
    with office.sessions() as session:
        before = session.execute(text("SELECT lead FROM learning_actions")).scalar_one()
    assert "Sky" not in before and "sky.practitioner" not in before

    office = keyed(b, a)
    with office.sessions.begin() as session:
        assert reseal_all(session, now=NOW, actor="t") >= 1
    office = keyed(b)
    with office.sessions() as session:
        assert session.scalars(select(LearningAction)).one().lead == {
            "name": "Sky Practitioner", "email": "sky.practitioner@example.org"}
    office = keyed(a)
    with office.sessions() as session, pytest.raises(KeyProblem):
        session.scalars(select(LearningAction)).one().lead
