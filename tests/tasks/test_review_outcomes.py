"""How a review ends, through casework.review.actions on a real database and a real SMTP server: a
multi-agency concise review whose draft is returned with comments and loops back, then is ratified and
published; and an SCR the partnership decides not to publish, whose case closes with its reason recorded on the
review, shown on the timeline and the tracker, and told to the National Panel once (wt2015).

Every name and address here is invented.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from casework.delivery import deliver_pending
from casework.forms import ReferralForm
from casework.office import Office
from casework.purge import purge_expired_cases
from casework.review import actions as review
from casework.review.forms import (
    AppointmentForm, FamilyInvolvementForm, MilestoneForm, NonPublicationForm, RatificationForm, ReviewPublicationForm,
)
from casework.oversight.exports import current_tracker
from casework.oversight.tracker import COLUMNS
from casework.referral.actions import case_file, queue
from casework.review.messages import non_publication_notices
from casework.review.rules import ReviewStage
from casework.sweep import queue_reminders
from casework.store import cases as store
from casework.oversight.timeline import case_timeline_markdown, people_of
from tests.tasks.conftest import Mailbox
from tests.tasks.test_review import MANAGER, MEMBERS, PANEL, at, decided, form, received, reviewed

EXECUTIVE, BOARD = "executive-group@example.org", "board@example.org"


def finish_milestones(office: Office, reference: str, on: str) -> None:
    day = date.fromisoformat(on)
    for code in [m.code for m in reviewed(office, reference).milestones if m.done_on is None]:
        review.record_milestone(office, reference, form(MilestoneForm, stage=code, done_on=on, by="Bailey Manager"),
                                now=at(day.month, day.day, year=day.year), actor="t")


def ratify(office: Office, reference: str, by: str, result: str = "ratified", comments: str | None = None,
           on: str = "2027-03-02") -> review.ReviewOutcome:
    return review.record_ratification(office, reference, form(RatificationForm, by=by, result=result, on=on,
                                                              comments=comments), now=at(3, 2, year=2027), actor="t")


async def test_a_concise_review_whose_draft_is_returned_loops_back_then_is_ratified_published_and_closed(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    referral_form = referral_form.model_copy(update={"facts": referral_form.facts.model_copy(
        update={"concern_about_joint_working": False})})
    reference = await decided(office, referral_form, "multi_agency_concise_review")
    review.commission_review(office, reference, now=at(12, 11))
    review.appoint_reviewer(office, reference, form(
        AppointmentForm, reviewer="Morgan Internal", kind="internal", agency="CSC", appointed_on="2026-12-15",
        appointed_by="Review group", email="morgan.internal@example.org"), now=at(12, 15), actor="t")
    finish_milestones(office, reference, "2027-02-26")
    await deliver_pending(office, now=at(3, 1, year=2027))
    before = len(mailbox.received())

    # the CIG returns the draft with comments: it goes back to the CIG, and nobody else may take it yet
    returned = ratify(office, reference, "cig", "returned", "Say more about the school's referral in June.")
    assert returned.stage is ReviewStage.ratifying
    assert reviewed(office, reference).next_ratifier == "cig"
    with pytest.raises(ValueError, match="^by: the drafts go to the Critical Incident Group"):
        ratify(office, reference, "executive_group")
    with pytest.raises(ValueError, match="comments: say what must change"):  # a return says what must change
        form(RatificationForm, by="cig", result="returned", on="2027-03-02")
    await deliver_pending(office, now=at(3, 2, year=2027))
    [back] = received(mailbox, before)
    assert (back.to, back.subject) == ([MANAGER], f"[{reference}] Review drafts returned by the Critical Incident Group "
                                                  "(draft report and findings)")
    assert "Say more about the school's referral in June." in back.text()

    # revised, and round again: the CIG, the executive group, the board, each body told the drafts are coming
    for by in ("cig", "executive_group", "board"):
        outcome = ratify(office, reference, by, on="2027-03-09")
    assert outcome.stage is ReviewStage.awaiting_publication
    await deliver_pending(office, now=at(3, 9, year=2027))
    told = Counter((to, m.subject.split("] ", 1)[1].split(" by ")[0]) for m in received(mailbox, before) for to in m.to)
    assert told == {(MANAGER, "Review drafts returned"): 1, (MANAGER, "Review drafts ratified"): 3,
                    (EXECUTIVE, "Review drafts ratified"): 1, (BOARD, "Review drafts ratified"): 1,
                    ("training@example.org", "The review's learning is ready for you to write up"): 1}  # the board ratified

    published = review.publish_review(office, reference, form(
        ReviewPublicationForm, published_on="2027-03-16", link="https://northshire-scp.example.org/mcr/3",
        response_link="https://northshire-scp.example.org/mcr/3-response"), now=at(3, 16, year=2027), actor="t")
    assert (published.stage, published.closed) == (ReviewStage.closed, True)  # every milestone was done
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert case.status == "closed"
        story = case_timeline_markdown(case, store.audit_trail(session, reference=reference),
                                       store.messages_for(session, case_id=case.id), calendar=office.calendar,
                                       now=at(3, 17, year=2027), people=people_of(office.partnership))
    assert story.index("Review drafts returned by the CIG") < story.index("Review drafts ratified by the CIG")


async def test_an_scr_the_partnership_decides_not_to_publish_closes_with_its_reason(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    reference = await decided(office, referral_form)
    review.commission_review(office, reference, now=at(12, 11))
    review.appoint_reviewer(office, reference, form(
        AppointmentForm, reviewer="Rowan Reviewer", kind="independent", independent_of_agencies=True,
        appointed_on="2026-12-20", appointed_by="Review group"), now=at(12, 20), actor="t")
    decision = form(NonPublicationForm, decided_on="2027-03-10", decided_by="Partnership board",
                    reason="Publication would identify the surviving siblings.",
                    improvements_link="https://northshire-scp.example.org/scr/8-improvements")

    # not before the board has ratified the final report; nothing changes
    with pytest.raises(ValueError, match="^decided_on: the partnership board has not ratified"):
        review.record_non_publication(office, reference, decision, now=at(3, 10, year=2027), actor="t")
    for by in ("cig", "executive_group", "board"):
        ratify(office, reference, by)
    # a reason naming the child is refused, naming the field, never the child
    with pytest.raises(ValueError, match="^reason: ") as refused:
        review.record_non_publication(office, reference, decision.model_copy(
            update={"reason": "Robin's siblings would be identified."}), now=at(3, 10, year=2027), actor="t")
    assert "Robin" not in str(refused.value)
    assert reviewed(office, reference).stage == "awaiting_publication"
    await deliver_pending(office, now=at(3, 10, year=2027))
    before = len(mailbox.received())

    # no family involvement is needed for a report that is not published
    outcome = review.record_non_publication(office, reference, decision, now=at(3, 10, year=2027), actor="t")
    assert (outcome.stage, outcome.closed) == (ReviewStage.not_published, False)  # milestones are outstanding
    review.record_family(office, reference, form(FamilyInvolvementForm, involvement="complete", on="2027-03-10"),
                         now=at(3, 10, year=2027), actor="t")
    with pytest.raises(store.NotAtThisStep):  # nor is it published afterwards
        review.publish_review(office, reference, form(
            ReviewPublicationForm, published_on="2027-03-11", link="https://northshire-scp.example.org/scr/8",
            response_link="https://northshire-scp.example.org/scr/8-response"), now=at(3, 11, year=2027), actor="t")
    with pytest.raises(ValueError, match="^decided_on: the review is not published"):  # decided once
        review.record_non_publication(office, reference, decision, now=at(3, 11, year=2027), actor="t")
    with office.sessions.begin() as session:  # queued again, as a retried step would: the stable keys keep one each
        case = store.get_case(session, reference=reference)
        assert queue(session, case, non_publication_notices(
            case_file(case), office.partnership, office.rules(case.regime), decided_on=decision.decided_on,
            decided_by=decision.decided_by, reason=decision.reason, improvements_link=decision.improvements_link),
            at(3, 11, year=2027)) == 0
    await deliver_pending(office, now=at(3, 10, year=2027))
    await deliver_pending(office, now=at(3, 11, year=2027))
    queue_reminders(office, now=at(3, 11, year=2027))
    await deliver_pending(office, now=at(3, 11, year=2027))
    mails = [m for m in received(mailbox, before) if ":review-not-published" in m.key]  # not the sweep's reminders
    # the business manager and the members are told; under wt2015 the National Panel is told of an SCR report not
    # published, with the reasons (Working Together 2015 ch. 4): each exactly once
    assert Counter(to for m in mails for to in m.to) == Counter([MANAGER, *MEMBERS, PANEL])
    [panel] = [m for m in mails if PANEL in m.to]
    assert panel.to == [PANEL]
    assert panel.subject == f"[{reference}] Serious Case Review report not published: notice to the National Panel"
    assert "Partnership board decided on Wednesday 10 March 2027" in panel.text()
    assert "The reasons:\r\nPublication would identify the surviving siblings." in panel.text()
    others = [m for m in mails if PANEL not in m.to]
    assert {m.subject for m in others} == {f"[{reference}] Serious Case Review: the final report is not published"}
    assert "Publication would identify the surviving siblings." in others[0].text()
    assert "https://northshire-scp.example.org/scr/8-improvements" in others[0].text()

    finish_milestones(office, reference, "2027-03-12")
    view = reviewed(office, reference)
    assert (view.stage, view.case_status, view.availability, view.published_on) == ("closed", "closed", "not_published", None)
    assert view.non_publication_reason == "Publication would identify the surviving siblings."  # on the review itself
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        [event] = [e for e in store.audit_trail(session, reference=reference) if e.action == "review not published"]
        assert "reason" not in event.detail  # the audit trail outlives the case's data; the reason goes with the case
        story = case_timeline_markdown(case, store.audit_trail(session, reference=reference),
                                       store.messages_for(session, case_id=case.id), calendar=office.calendar,
                                       now=at(3, 13, year=2027), people=people_of(office.partnership))
    assert "Review stage: **closed**. The final report is not published. Why: Publication would identify the " \
           "surviving siblings." in story
    assert "Review not published (decided Wed 10 Mar 2027)" in story
    assert "The decision not to publish the review, with its reasons, sent to the National Panel" in story
    assert "| decision not to publish, to the National Panel | sent |" in story
    assert "Review complete: the case is closed" in story
    [row] = current_tracker(office, now=at(3, 13, year=2027))  # the tracker, beside the review's stage
    assert (row.review_stage, row.non_publication_reason) == ("closed", "Publication would identify the surviving siblings.")
    assert [c.heading for c in COLUMNS].index("Why not published") == [c.heading for c in COLUMNS].index("Review stage") + 1
    assert purge_expired_cases(office, now=at(3, 13, year=2037)) == [reference]  # retention reaches it
