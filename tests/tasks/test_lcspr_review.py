"""The LCSPR under wt2023 (issue 19 item 6), through casework.review.actions and the deadline sweep, on a real
database and a real SMTP server: its own plan; the Panel told of the reviewer's appointment (and the emails say
so only because it is); the safeguarding partners' sign-off; the full final report, attached, to the Panel and the
Secretary of State at least 7 working days before publication, with the sweep's warning before it is due (once);
publication refused before then, naming the earliest allowed date; a delay told to both with its reasons.

The decision itself is the partners' (issue 19 items 2-5): here a case decided through the seeds' steps is moved
to wt2023 before its review is commissioned, so this test exercises the review alone."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import yaml

import casework.store
from casework.delivery import deliver_pending
from casework.forms import ReferralForm
from casework.office import Office, open_office
from casework.review import actions as review
from casework.review.forms import (
    AppointmentForm, FamilyInvolvementForm, FullReportForm, NonPublicationForm, PublicationDelayForm, RatificationForm,
    ReviewDocumentForm, ReviewPublicationForm,
)
from casework.review.rules import ReviewStage
from casework.store import cases as store
from casework.clocks import deadline
from casework.store.cases import AlreadyRecorded, _set_deadline
from casework.sweep import queue_reminders
from config.partnership import CONFIG_DIR
from tests.tasks.conftest import Mailbox
from tests.tasks.test_review import MANAGER, PANEL, at, decided, received

SOS = "review-reports@education.example.org"


@pytest.fixture
def lcspr_office(cig_home: Path, mailbox: Mailbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Office:
    """The example partnership naming the Secretary of State's mailbox, on its own database and mailbox."""
    data = yaml.safe_load((CONFIG_DIR / "partnership.example.yaml").read_text())
    data["contacts"]["secretary_of_state"] = {"name": "Department for Education", "email": SOS}
    (tmp_path / "partnership.yaml").write_text(yaml.safe_dump(data))
    for name in ("CIG_DATABASE_URL", "CIG_DATA_KEYS", "CIG_PROFILE", "CIG_SMTP_HOST", "CIG_SMTP_USERNAME",
                 "CIG_SMTP_PASSWORD", "CIG_SMTP_STARTTLS", "CIG_SMTP_IMPLICIT_TLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CIG_HOME", str(cig_home))
    monkeypatch.setenv("CIG_PARTNERSHIP_FILE", str(tmp_path / "partnership.yaml"))
    monkeypatch.setenv("CIG_SMTP_PORT", str(mailbox.port))
    casework.store._factory.cache_clear()
    office = open_office()
    yield office  # type: ignore[misc]
    office.sessions.kw["bind"].dispose()
    casework.store._factory.cache_clear()


def docx() -> bytes:
    from docx import Document
    import io

    document = Document()
    document.add_paragraph("Final report of an invented review.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


async def test_an_lcspr_runs_its_own_plan_signs_off_and_sends_the_full_report_before_publication(
        lcspr_office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    office = lcspr_office
    reference = await decided(office, referral_form)  # decided Thursday 10 December 2026
    with office.sessions.begin() as session:  # as the partners' decision under wt2023 leaves it: its 6 months
        case = store.get_case(session, reference=reference)
        case.regime = "wt2023"
        clock = office.rules("wt2023").clocks["publication"]
        _set_deadline(session, case, kind="publication", label=clock.label,
                      due_at=deadline(case.decided_at, clock, office.calendar))
    first = review.commission_review(office, reference, now=at(12, 10, 17))
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert case.review.plan == "lcspr"
        assert [m.code for m in case.review.milestones][-1] == "partners_sign_off"
        publication_due = next(d.due_at for d in case.deadlines if d.kind == "publication")
        assert all(m.target_on <= publication_due.date() for m in case.review.milestones)
    assert first.stage is ReviewStage.awaiting_reviewer
    await deliver_pending(office, now=at(12, 10, 17))
    before = len(mailbox.received())

    # the reviewer appointed: the Panel is told in an email of its own, and the others read that it is
    review.appoint_reviewer(office, reference, AppointmentForm.model_validate(
        {"reviewer": "Rowan Reviewer", "kind": "independent", "independent_of_agencies": True,
         "appointed_on": date(2026, 12, 14), "appointed_by": "the safeguarding partners"},
        context={"today": date(2026, 12, 14)}), now=at(12, 14), actor="t")
    await deliver_pending(office, now=at(12, 14))
    appointed = received(mailbox, before)
    assert Counter(to for m in appointed for to in m.to) == Counter({MANAGER: 1, PANEL: 1})
    [to_manager] = [m for m in appointed if MANAGER in m.to]
    assert "The Panel is told of the appointment in an email of its own" in to_manager.text().replace("\r\n", " ")
    assert "National Panel" not in to_manager.text() and "Serious Case Review" not in to_manager.text()
    before = len(mailbox.received())

    # the final report uploaded and signed off by the safeguarding partners, each from their own link
    review.upload_review_document(office, reference, ReviewDocumentForm(kind="final_report"), filename="final.docx",
                                  data=docx(), now=at(4, 1, year=2027), actor="t")
    with pytest.raises(ValueError, match="the drafts go to the safeguarding partners"):
        review.record_ratification(office, reference, RatificationForm.model_validate(
            {"by": "cig", "result": "ratified", "on": date(2027, 4, 20)}, context={"today": date(2027, 4, 20)}),
            now=at(4, 20, year=2027), actor="t")
    signed = sign_off_by_every_partner(office, reference)
    assert signed.stage is ReviewStage.awaiting_publication and signed.signed_off
    with office.sessions() as session:
        due = next(d.due_at for d in store.get_case(session, reference=reference).deadlines
                   if d.kind == "pre_publication_notice")
    assert due.date() == date(2027, 6, 1)  # 7 working days before Thursday 10 June, the 6 months (31 May: a holiday)

    review.record_family(office, reference, FamilyInvolvementForm.model_validate(
        {"involvement": "complete", "on": date(2027, 4, 1)}, context={"today": date(2027, 4, 1)}),
        now=at(4, 21, year=2027), actor="t")
    # publication refused before the report went, naming the earliest allowed date
    publish = ReviewPublicationForm.model_validate(
        {"published_on": date(2027, 4, 23), "link": "https://example.org/lcspr", "response_link":
         "https://example.org/response", "themes": []}, context={"today": date(2027, 4, 23)})
    with pytest.raises(ValueError, match="earliest allowed publication date is Friday 30 April 2027"):
        review.publish_review(office, reference, publish, now=at(4, 21, year=2027), actor="t")
    await deliver_pending(office, now=at(4, 21, year=2027))
    before = len(mailbox.received())

    # a delay told to both, with its reasons
    review.tell_publication_delay(office, reference, PublicationDelayForm(
        reasons="A parallel criminal trial is listed for June.", expected_on=date(2027, 7, 15)),
        now=at(5, 26, year=2027), actor="t")
    await deliver_pending(office, now=at(5, 26, year=2027))
    delay = received(mailbox, before)
    assert Counter(to for m in delay for to in m.to) == Counter({PANEL: 1, SOS: 1, MANAGER: 1})
    assert all("A parallel criminal trial" in m.text() for m in delay)
    before = len(mailbox.received())

    # the sweep warns the business manager before the report is due, once
    queue_reminders(office, now=at(5, 28, 9, year=2027))  # 2 days before 1 June: Friday 28 May
    queue_reminders(office, now=at(5, 28, 11, year=2027))
    await deliver_pending(office, now=at(5, 28, 11, year=2027))
    warned = [m for m in received(mailbox, before) if "full report" in m.subject]
    assert [m.to for m in warned] == [[MANAGER]]
    before = len(mailbox.received())

    # the full report: a date under 7 working days away refused, naming the earliest; then sent, attached
    with pytest.raises(ValueError, match="earliest allowed publication date is Wednesday 9 June 2027"):
        review.send_full_report(office, reference, FullReportForm(publication_on=date(2027, 6, 8)),
                                now=at(5, 28, 12, year=2027), actor="t")
    review.send_full_report(office, reference, FullReportForm(publication_on=date(2027, 6, 9)),
                            now=at(5, 28, 12, year=2027), actor="t")
    with pytest.raises(AlreadyRecorded):  # a second send is refused; nothing goes twice
        review.send_full_report(office, reference, FullReportForm(publication_on=date(2027, 6, 10)),
                                now=at(5, 28, 13, year=2027), actor="t")
    await deliver_pending(office, now=at(5, 28, 13, year=2027))
    sent = received(mailbox, before)
    assert Counter(to for m in sent for to in m.to) == Counter({PANEL: 1, SOS: 1, MANAGER: 1})
    for mail in sent:
        names = [a.get_filename() for a in mail.message().iter_attachments()]
        assert names == (["final.docx"] if MANAGER not in mail.to else [])
        assert "Wednesday 9 June 2027" in mail.text()
    before = len(mailbox.received())
    queue_reminders(office, now=at(6, 2, year=2027))
    await deliver_pending(office, now=at(6, 2, year=2027))
    assert not [m for m in received(mailbox, before) if "full report" in m.subject]  # sent: no escalation

    # publication on the date given is allowed; a day before it is refused
    early = publish.model_copy(update={"published_on": date(2027, 6, 8)})
    with pytest.raises(ValueError, match="earliest allowed publication date is Wednesday 9 June 2027"):
        review.publish_review(office, reference, early, now=at(6, 8, year=2027), actor="t")
    done = review.publish_review(office, reference, publish.model_copy(update={"published_on": date(2027, 6, 9)}),
                                 now=at(6, 9, year=2027), actor="t")
    assert done.stage in (ReviewStage.published, ReviewStage.closed)

    # the learning index and the business manager's task list speak of an LCSPR and the partners' sign-off
    from casework.learning.actions import learning_index
    from website.review_pages import review_tasks

    [entry] = [e for e in learning_index(office, today=date(2027, 6, 9)) if e.name == reference]
    assert (entry.review_type, entry.reported_on) == ("local child safeguarding practice review (LCSPR)",
                                                      date(2027, 4, 20))
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        sections = review_tasks(case, case.review, {}, date(2027, 6, 9), None, ("final_report",),
                                ("Northshire Council", "Northshire ICB", "Northshire Police"))
    tasks = {t.name: t for s in sections for t in s.tasks}
    assert tasks["ratification-safeguarding_partners"].title == \
        "The safeguarding partners' sign-off of the final report"
    assert not tasks["ratification-safeguarding_partners"].opens  # the partners record it, each by their own link
    assert tasks["ratification-safeguarding_partners"].hint == \
        "Signed off on Tuesday 20 April 2027. The partners: Northshire Council, Northshire ICB, Northshire Police"
    assert tasks["full-report"].hint == "Sent on Friday 28 May 2027"
    words = " ".join(f"{s.heading} {t.title} {t.hint}" for s in sections for t in s.tasks)
    for retired in ("Serious Case Review", "Critical Incident Group", "CIG", "National Panel", "board"):
        assert retired not in words


async def commissioned_lcspr(office: Office, referral_form: ReferralForm, reviewer_email: str | None = None) -> str:
    """An LCSPR decided on Thursday 10 December 2026 (its 6 months to publication running), commissioned that day,
    its lead reviewer Rowan Reviewer appointed on Monday 14 December (with `reviewer_email`, when given)."""
    reference = await decided(office, referral_form)
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference)
        case.regime = "wt2023"
        clock = office.rules("wt2023").clocks["publication"]
        _set_deadline(session, case, kind="publication", label=clock.label,
                      due_at=deadline(case.decided_at, clock, office.calendar))
    review.commission_review(office, reference, now=at(12, 10, 17))
    review.appoint_reviewer(office, reference, AppointmentForm.model_validate(
        {"reviewer": "Rowan Reviewer", "kind": "independent", "independent_of_agencies": True,
         "appointed_on": date(2026, 12, 14), "appointed_by": "the safeguarding partners", "email": reviewer_email},
        context={"today": date(2026, 12, 14)}), now=at(12, 14), actor="t")
    return reference


async def signed_off_lcspr(office: Office, referral_form: ReferralForm) -> str:
    """An LCSPR decided on Thursday 10 December 2026, its final report uploaded and signed off on 20 April 2027."""
    reference = await commissioned_lcspr(office, referral_form)
    review.upload_review_document(office, reference, ReviewDocumentForm(kind="final_report"), filename="final.docx",
                                  data=docx(), now=at(4, 1, year=2027), actor="t")
    sign_off_by_every_partner(office, reference)
    await deliver_pending(office, now=at(4, 20, year=2027))
    return reference


def sign_off_by_every_partner(office: Office, reference: str) -> review.PartnerSignOff:
    """Each safeguarding partner signs off the drafts on Tuesday 20 April 2027 (as their own links record it)."""
    signed = RatificationForm.model_validate({"by": "safeguarding_partners", "result": "ratified",
                                              "on": date(2027, 4, 20)}, context={"today": date(2027, 4, 20)})
    for partner in office.partnership.safeguarding_partners:
        outcome = review.record_partner_sign_off(office, reference, partner, signed, link_id=None,
                                                 now=at(4, 20, year=2027), actor=f"partner {partner}")
    return outcome


async def test_where_the_partners_do_not_publish_the_report_the_improvements_are_published_and_both_have_it(
        lcspr_office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    office = lcspr_office
    reference = await signed_off_lcspr(office, referral_form)
    before = len(mailbox.received())
    decision = {"decided_on": date(2027, 5, 3), "decided_by": "The safeguarding partners",
                "reason": "To protect a surviving sibling."}
    with pytest.raises(ValueError, match="^improvements_link: "):  # the improvements are published instead
        review.record_non_publication(office, reference, NonPublicationForm.model_validate(
            decision, context={"today": date(2027, 5, 3)}), now=at(5, 3, year=2027), actor="t")
    not_published = NonPublicationForm.model_validate(
        decision | {"improvements_link": "https://example.org/improvements"}, context={"today": date(2027, 5, 3)})
    with pytest.raises(ValueError, match="^decided_on: the full final report still goes to"):
        review.record_non_publication(office, reference, not_published, now=at(5, 3, year=2027), actor="t")
    review.send_full_report(office, reference, FullReportForm(publication_on=date(2027, 6, 1)),
                            now=at(5, 4, year=2027), actor="t")
    review.record_non_publication(office, reference, not_published, now=at(5, 4, 11, year=2027), actor="t")
    await deliver_pending(office, now=at(5, 4, 11, year=2027))
    mails = received(mailbox, before)
    full = [m for m in mails if m.message().get_content_maintype() == "multipart"
            and any(True for _ in m.message().iter_attachments())]
    assert sorted(to for m in full for to in m.to) == [PANEL, SOS]  # the full report, attached, to both
    told = [m for m in mails if "the improvements published instead" in m.subject]
    assert sorted(to for m in told for to in m.to) == [PANEL, SOS]
    assert all("https://example.org/improvements" in m.text() and "surviving sibling" in m.text() for m in told)
