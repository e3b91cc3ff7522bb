"""Under wt2023 the safeguarding partners sign off an LCSPR's drafts each by their own hand (issue 19 item 6, issue 20
item 3), through casework.review.actions on a real database and a real SMTP server: the email that tells them the
drafts are ready goes to each acting partner (delegate, else lead) with a personal link of their own, and to no one
else; each answer is kept once; the sign-off is recorded once when the rule set's `sign_off` quorum (all) has signed
off, even when the last two partners answer at the same instant (SQLite); a return with comments by any partner
returns the drafts, and the business manager is told. Every name and address is invented."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from casework.delivery import deliver_pending
from casework.forms import ReferralForm
from casework.office import Office
from casework.review import actions as review
from casework.review.forms import AppointmentForm, RatificationForm, ReviewDocumentForm
from casework.review.rules import ReviewStage
from casework.store import cases as store
from casework.store import decisions as decision_store
from casework.store.cases import AlreadyRecorded, NotAtThisStep
from casework.store.tables import OutboxMessage, PersonalLink
from tests.tasks.conftest import Mailbox
from tests.tasks.test_lcspr_review import docx, lcspr_office  # noqa: F401 (the fixture)
from tests.tasks.test_review import MANAGER, at, decided, received

PARTNERS = {"local_authority": "children-director@example.org", "icb": "icb-safeguarding@example.org",
            "police": "police-safeguarding@example.org"}  # each partner's delegate acts for it
SIGNED = RatificationForm.model_validate({"by": "safeguarding_partners", "result": "ratified", "on": date(2027, 4, 20)},
                                         context={"today": date(2027, 4, 20)})


async def drafts_before_the_partners(office: Office, referral_form: ReferralForm, mailbox: Mailbox) -> tuple[str, int]:
    """An LCSPR (a case decided, then on wt2023) whose final report the lead reviewer uploaded on 1 April 2027, its
    mail delivered; its reference and how many emails the mailbox held before the upload."""
    reference = await decided(office, referral_form)
    with office.sessions.begin() as session:
        store.get_case(session, reference=reference).regime = "wt2023"
    review.commission_review(office, reference, now=at(12, 10, 17))
    review.appoint_reviewer(office, reference, AppointmentForm.model_validate(
        {"reviewer": "Rowan Reviewer", "kind": "independent", "independent_of_agencies": True,
         "appointed_on": date(2026, 12, 14), "appointed_by": "the safeguarding partners"},
        context={"today": date(2026, 12, 14)}), now=at(12, 14), actor="t")
    await deliver_pending(office, now=at(12, 14))
    before = len(mailbox.received())
    review.upload_review_document(office, reference, ReviewDocumentForm(kind="final_report"), filename="final.docx",
                                  data=docx(), now=at(4, 1, year=2027), actor="t")
    await deliver_pending(office, now=at(4, 1, year=2027))
    return reference, before


def counts(office: Office, reference: str) -> Counter[str]:
    """The outbox's messages of the case by key (reference, step, recipient, revision)."""
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        rows = session.execute(select(OutboxMessage.key, func.count()).where(OutboxMessage.case_id == case.id)
                               .group_by(OutboxMessage.key)).all()
    return Counter({key: n for key, n in rows})


def ratifications(office: Office, reference: str) -> list[tuple[str, str, str | None]]:
    with office.sessions() as session:
        return [(r["by"], r["result"], r["comments"])
                for r in store.get_case(session, reference=reference).review.ratifications]


async def test_each_partner_gets_their_own_link_each_answer_is_kept_once_and_the_sign_off_is_recorded_once(
        lcspr_office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    office = lcspr_office
    reference, before = await drafts_before_the_partners(office, referral_form, mailbox)
    ready = [m for m in received(mailbox, before) if "drafts ready" in m.subject]
    assert Counter(to for m in ready for to in m.to) == Counter(PARTNERS.values())  # no lead, no chair, no board
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        links = {(link.recipient, link.partner, link.round) for link in session.scalars(
            select(PersonalLink).where(PersonalLink.case_id == case.id, PersonalLink.step == "ratification"))}
    assert links == {(address, partner, 0) for partner, address in PARTNERS.items()}
    for mail in ready:
        assert "/link/" in mail.text() and "sign them off" in mail.text().replace("\r\n", " ")

    # the business manager cannot record it whole: it is the partners'
    with pytest.raises(ValueError, match="^by: the safeguarding partners sign off each from their own link"):
        review.record_ratification(office, reference, SIGNED, now=at(4, 20, year=2027), actor="t")

    first = review.record_partner_sign_off(office, reference, "local_authority", SIGNED, link_id=None,
                                           now=at(4, 20, year=2027), actor="t")
    assert (first.signed, first.signers, first.signed_off, first.stage) == (1, 3, False, ReviewStage.under_way)
    with pytest.raises(AlreadyRecorded):  # the same partner again: kept once
        review.record_partner_sign_off(office, reference, "local_authority", SIGNED, link_id=None,
                                       now=at(4, 20, 11, year=2027), actor="t")
    with pytest.raises(ValueError, match="does not sign off"):  # not a partner of the file
        review.record_partner_sign_off(office, reference, "education", SIGNED, link_id=None,
                                       now=at(4, 20, 11, year=2027), actor="t")
    assert ratifications(office, reference) == []

    # the last two at the same instant: both kept, one sign-off, one set of notices
    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def sign_now(partner: str) -> None:
        start.wait()
        try:
            outcomes[partner] = review.record_partner_sign_off(office, reference, partner, SIGNED, link_id=None,
                                                               now=at(4, 20, 12, year=2027), actor="t")
        except (AlreadyRecorded, NotAtThisStep) as refused:
            outcomes[partner] = refused

    threads = [threading.Thread(target=sign_now, args=(p,)) for p in ("icb", "police")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(getattr(o, "signed_off", None) for o in outcomes.values()) == [False, True], outcomes
    assert ratifications(office, reference) == [("safeguarding_partners", "ratified", None)]
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert case.review.stage == ReviewStage.awaiting_publication
        answers = decision_store.partner_answers(session, case=case, round=0, step=decision_store.SIGN_OFF)
        assert sorted(a.partner for a in answers) == sorted(PARTNERS)
        assert decision_store.partner_answers(session, case=case) == []  # the decision's answers are apart
    sent = counts(office, reference)
    assert sum(n for key, n in sent.items() if ":review-ratification-" in key) == 1  # the business manager, once
    assert sum(n for key, n in sent.items() if ":learning-write-up:" in key) == 1  # the training officer, once
    with pytest.raises(AlreadyRecorded):  # after the sign-off: nothing more
        review.record_partner_sign_off(office, reference, "police", SIGNED, link_id=None,
                                       now=at(4, 21, year=2027), actor="t")
    before = len(mailbox.received())
    await deliver_pending(office, now=at(4, 20, 13, year=2027))
    [told] = [m for m in received(mailbox, before) if MANAGER in m.to]  # the business manager is told, once
    assert "Review drafts signed off by the safeguarding partners" in told.subject


async def test_a_return_with_comments_by_any_partner_returns_the_drafts_and_the_revised_drafts_come_with_new_links(
        lcspr_office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    office = lcspr_office
    reference, _ = await drafts_before_the_partners(office, referral_form, mailbox)
    review.record_partner_sign_off(office, reference, "local_authority", SIGNED, link_id=None,
                                   now=at(4, 20, year=2027), actor="t")
    returned = RatificationForm.model_validate({"by": "safeguarding_partners", "result": "returned",
                                                "on": date(2027, 4, 20), "comments": "Name each action's owner."},
                                               context={"today": date(2027, 4, 20)})
    outcome = review.record_partner_sign_off(office, reference, "police", returned, link_id=None,
                                             now=at(4, 20, 11, year=2027), actor="t")
    assert outcome.returned and not outcome.signed_off and outcome.stage is ReviewStage.ratifying
    assert ratifications(office, reference) == [("safeguarding_partners", "returned",
                                                 "Northshire Police: Name each action's owner.")]
    with pytest.raises(NotAtThisStep):  # the ICB's link of the returned drafts
        review.record_partner_sign_off(office, reference, "icb", SIGNED, link_id=None, now=at(4, 20, 12, year=2027),
                                       actor="t", round=0)
    before = len(mailbox.received())
    await deliver_pending(office, now=at(4, 20, 12, year=2027))
    [told] = [m for m in received(mailbox, before) if MANAGER in m.to]
    assert "Name each action's owner." in told.text()

    # the revised drafts: each partner gets a new link of the next round, and all three sign off again
    review.upload_review_document(office, reference, ReviewDocumentForm(kind="final_report"), filename="final2.docx",
                                  data=docx(), now=at(4, 26, year=2027), actor="t")
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        fresh = {(link.partner, link.round) for link in session.scalars(select(PersonalLink).where(
            PersonalLink.case_id == case.id, PersonalLink.step == "ratification", PersonalLink.round == 1))}
    assert fresh == {(partner, 1) for partner in PARTNERS}
    for partner in PARTNERS:
        last = review.record_partner_sign_off(office, reference, partner, SIGNED.model_copy(
            update={"on": date(2027, 4, 27)}), link_id=None, now=at(4, 27, year=2027), actor="t", round=1)
    assert last.signed_off and last.stage is ReviewStage.awaiting_publication
    assert [r[:2] for r in ratifications(office, reference)] == [("safeguarding_partners", "returned"),
                                                                 ("safeguarding_partners", "ratified")]


async def test_the_resume_form_at_the_partners_sign_off_says_it_records_nothing_for_them(
        lcspr_office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    """The review run's Resume form at the drafts' sign-off: under wt2023 the partners sign off each by their own
    link, so the form says so rather than ask for an outcome it would refuse (record_ratification)."""
    from casework.review import store as review_store
    from casework.review.views import review_markdown, review_view

    reference, _ = await drafts_before_the_partners(lcspr_office, referral_form, mailbox)
    with lcspr_office.sessions() as session:
        case = store.get_case(session, reference=reference)
        _, summary = review_markdown(review_view(case, review_store.get_review(session, case=case), date(2027, 4, 2)),
                                     "ratification")

    assert "sign off each from their own link, in the email that tells them the drafts are ready" in summary
    assert "This form records nothing for them" in summary
    assert "Record the outcome" not in summary
    with pytest.raises(ValueError, match="sign off each from their own link"):
        review.record_ratification(lcspr_office, reference, SIGNED, now=at(4, 2, year=2027), actor="t")
