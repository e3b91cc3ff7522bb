"""Each decider's answer to a case's recommendation, where the rule set's deciders answer each by their own hand
(wt2023: the safeguarding partners), in the case database. Every function takes the session as a keyword argument
and never commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casework.forms import PartnerDecisionForm
from casework.store.cases import AlreadyRecorded, audit
from casework.store.tables import Case, PartnerDecision


def partner_answers(session: Session, *, case: Case, round: int | None = None) -> Sequence[PartnerDecision]:
    """The deciders' answers to the case's recommendation of `round` (default the case's), in the order given."""
    query = select(PartnerDecision).where(PartnerDecision.case_id == case.id,
                                          PartnerDecision.round == (case.round if round is None else round))
    return session.scalars(query.order_by(PartnerDecision.id)).all()


def hold_case(session: Session, *, case: Case) -> None:
    """Take the case's write lock for the rest of the transaction and read the case afresh: PostgreSQL locks its row
    (as SELECT ... FOR UPDATE does); SQLite, which takes no lock for a read, takes the database's write lock, waiting
    for another writer to finish. Answers given at the same instant are then counted one after the other."""
    session.execute(update(Case).where(Case.id == case.id).values(updated_at=Case.updated_at)
                    .execution_options(synchronize_session=False))
    session.refresh(case)


def record_partner_answer(session: Session, *, case: Case, partner: str, form: PartnerDecisionForm,
                          link_id: int | None, now: datetime, actor: str) -> PartnerDecision:
    """Keep `partner`'s answer for the case's round, once: a second answer (the same partner, even at the same
    instant) raises AlreadyRecorded and nothing of it is kept. Audited (the answer, never the rationale)."""
    reference = case.reference
    if any(answer.partner == partner for answer in partner_answers(session, case=case)):
        raise AlreadyRecorded(f"{reference}: the answer of {partner} was already recorded; nothing changed")
    answer = PartnerDecision(case_id=case.id, round=case.round, partner=partner, response=form.response.value,
                             rationale=form.rationale, national_importance=form.national_importance,
                             link_id=link_id, recorded_at=now)
    session.add(answer)
    try:
        session.flush()
    except IntegrityError:  # the same partner's other submission was kept first (the unique constraint)
        raise AlreadyRecorded(f"{reference}: the answer of {partner} was already recorded; nothing changed") from None
    audit(session, reference=case.reference, actor=actor, action=f"partner answer: {form.response.value}", now=now,
          partner=partner, round=case.round, national_importance=form.national_importance, link=link_id)
    return answer
