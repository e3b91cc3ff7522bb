"""Personal links and uploaded CIGINF1 documents, in the case database. Every function takes the
session as a keyword argument and never commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from casework.links import LinkFacts, LinkStep, new_token, token_digest
from casework.store.cases import audit
from casework.store.tables import Case, PersonalLink, ReturnDocument


def issue_link(
    session: Session, *, case: Case | None, step: LinkStep, recipient: str, agency: str | None, round: int,
    meeting_on: date | None, expires_at: datetime, now: datetime, partner: str | None = None,
) -> str:
    """Make a personal link and return its token (the only time it exists in the clear: it goes into
    the email); the database keeps its SHA-256. The email that carries it is the record of its issue."""
    token = new_token()
    link = PersonalLink(
        token_hash=token_digest(token), case_id=case.id if case else None, step=step.value, recipient=recipient,
        agency=agency, partner=partner, round=round, meeting_on=meeting_on, issued_at=now, expires_at=expires_at,
    )
    session.add(link)
    session.flush()
    return token


def find_link(session: Session, *, token: str) -> PersonalLink | None:
    """The link a token opens, if any (looked up by the token's digest)."""
    return session.scalars(select(PersonalLink).where(PersonalLink.token_hash == token_digest(token))).first()


def link_facts(link: PersonalLink) -> LinkFacts:
    return LinkFacts(step=LinkStep(link.step), round=link.round, meeting_on=link.meeting_on,
                     expires_at=link.expires_at, used_at=link.used_at, revoked_at=link.revoked_at)


def live_links(session: Session, *, case: Case, step: LinkStep | None = None, agency: str | None = None,
               now: datetime) -> Sequence[PersonalLink]:
    """The case's links not yet used, revoked or expired (of one step, or one agency's)."""
    query = select(PersonalLink).where(
        PersonalLink.case_id == case.id, PersonalLink.used_at.is_(None), PersonalLink.revoked_at.is_(None),
        PersonalLink.expires_at > now,
    ).order_by(PersonalLink.id)
    if step is not None:
        query = query.where(PersonalLink.step == step.value)
    if agency is not None:
        query = query.where(PersonalLink.agency == agency)
    return session.scalars(query).all()


def revoke_links(session: Session, *, case: Case, step: LinkStep | None = None, agency: str | None = None,
                 now: datetime, actor: str) -> int:
    """Withdraw the case's live links (of one step, or one agency's); how many were withdrawn. Audited."""
    ids = [link.id for link in live_links(session, case=case, step=step, agency=agency, now=now)]
    if ids:
        session.execute(update(PersonalLink).where(PersonalLink.id.in_(ids)).values(revoked_at=now)
                        .execution_options(synchronize_session=False))
        audit(session, reference=case.reference, actor=actor, action="links revoked", now=now, links=ids,
              step=step.value if step else None, agency=agency)
    return len(ids)


def mark_link_used(session: Session, *, link: PersonalLink, now: datetime) -> None:
    """The step was recorded through this link: it opens no page again, nor do the person's other
    links to the same step (a reminder's link, a resent one)."""
    session.execute(
        update(PersonalLink).where(
            PersonalLink.case_id == link.case_id, PersonalLink.step == link.step, PersonalLink.agency == link.agency
            if link.agency is not None else PersonalLink.agency.is_(None),
            PersonalLink.partner == link.partner if link.partner is not None else PersonalLink.partner.is_(None),
            PersonalLink.round == link.round, PersonalLink.used_at.is_(None),
        ).values(used_at=now).execution_options(synchronize_session=False)
    )
    link.used_at = now


def save_return_documents(session: Session, *, case: Case, agency: str, round: int,
                          documents: Sequence[dict[str, str]], now: datetime) -> None:
    """Keep an agency's uploaded CIGINF1 documents (outbox attachments), sealed, with its return."""
    for document in documents:
        session.add(ReturnDocument(case_id=case.id, agency=agency, round=round, document=dict(document),
                                   uploaded_at=now))
    session.flush()


def return_documents(session: Session, *, case: Case, agency: str | None = None,
                     round: int | None = None) -> Sequence[ReturnDocument]:
    """The documents uploaded with the case's returns (of one agency, one round), oldest first."""
    query = select(ReturnDocument).where(ReturnDocument.case_id == case.id).order_by(ReturnDocument.id)
    if agency is not None:
        query = query.where(ReturnDocument.agency == agency)
    if round is not None:
        query = query.where(ReturnDocument.round == round)
    return session.scalars(query).all()


def issued_links(session: Session, *, case: Case, step: LinkStep, agency: str | None = None) -> Sequence[PersonalLink]:
    """Every link ever issued for the case's step (of one agency), live or not, oldest first."""
    query = select(PersonalLink).where(PersonalLink.case_id == case.id, PersonalLink.step == step.value)
    if agency is not None:
        query = query.where(PersonalLink.agency == agency)
    return session.scalars(query.order_by(PersonalLink.id)).all()
