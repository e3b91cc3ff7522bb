"""Each decider's answer at a step the rule set's deciders take each by their own hand (wt2023: the safeguarding
partners): the case's recommendation (`DECISION`) and a review's drafts (`SIGN_OFF`), in the case database. Every function takes the session as a keyword argument
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

DECISION = "decision"  # the answers to the case's recommendation; their round is the case's
SIGN_OFF = "sign_off"  # the answers to a review's drafts; their round is the number of outcomes recorded before


def partner_answers(session: Session, *, case: Case, round: int | None = None,
                    step: str = DECISION) -> Sequence[PartnerDecision]:
    """The deciders' answers at `step` (default the case's recommendation) of `round` (default the case's), in the
    order given."""
    query = select(PartnerDecision).where(PartnerDecision.case_id == case.id, PartnerDecision.step == step,
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
    """Keep `partner`'s answer to the case's recommendation for the case's round, once: a second answer (the same
    partner, even at the same instant) raises AlreadyRecorded and nothing of it is kept. Audited (the answer, never
    the rationale)."""
    return keep_partner_answer(session, case=case, step=DECISION, round=case.round, partner=partner,
                               response=form.response.value, rationale=form.rationale,
                               national_importance=form.national_importance, link_id=link_id, now=now, actor=actor)


def keep_partner_answer(session: Session, *, case: Case, step: str, round: int, partner: str, response: str,
                        rationale: str, national_importance: bool, link_id: int | None, now: datetime,
                        actor: str) -> PartnerDecision:
    """Keep `partner`'s answer at `step` of `round`, once: a second answer (the same partner, even at the same
    instant) raises AlreadyRecorded and nothing of it is kept. Audited (the answer, never what it says)."""
    reference = case.reference
    if any(answer.partner == partner for answer in partner_answers(session, case=case, round=round, step=step)):
        raise AlreadyRecorded(f"{reference}: the answer of {partner} was already recorded; nothing changed")
    answer = PartnerDecision(case_id=case.id, step=step, round=round, partner=partner, response=response,
                             rationale=rationale, national_importance=national_importance, link_id=link_id,
                             recorded_at=now)
    session.add(answer)
    try:
        session.flush()
    except IntegrityError:  # the same partner's other submission was kept first (the unique constraint)
        raise AlreadyRecorded(f"{reference}: the answer of {partner} was already recorded; nothing changed") from None
    what = "partner answer" if step == DECISION else "partner sign-off"
    audit(session, reference=case.reference, actor=actor, action=f"{what}: {response}", now=now,
          partner=partner, round=round, national_importance=national_importance if step == DECISION else None,
          link=link_id)
    return answer
