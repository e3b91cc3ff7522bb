"""Working Together 2023: the Panel's reply that it will carry out a national review stops the case's LCSPR (the
local decision follows the Panel's, PROCESS.md), through casework.referral.actions.record_panel_reply and the
deadline sweep, on a real database and a real SMTP server: the review closes with its case, its deadlines no longer
run (the sweep past them escalates nothing), the business manager, each safeguarding partner and the lead reviewer
are told once in the regime's words, and the tracker, the timeline and the review's task list say what happened."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from casework.delivery import deliver_pending
from casework.forms import ReferralForm
from casework.office import Office
from casework.office_forms import PanelReplyForm
from casework.oversight.timeline import case_timeline_markdown
from casework.oversight.tracker import tracker_row
from casework.referral import actions
from casework.referral.panel import PanelReply
from casework.review import actions as review
from casework.review.forms import FullReportForm, NonPublicationForm, PublicationDelayForm
from casework.review.rules import ReviewStage
from casework.store import cases as store
from casework.store.cases import NotAtThisStep
from casework.sweep import queue_reminders
from config.rulesets import retired_word_in
from tests.tasks.conftest import Mailbox
from tests.tasks.test_lcspr_review import (  # noqa: F401 (lcspr_office: the fixture)
    commissioned_lcspr, lcspr_office, signed_off_lcspr,
)
from tests.tasks.test_review import MANAGER, at, received
from website.review_pages import review_tasks

REVIEWER = "rowan.reviewer@example.org"
PARTNERS = ["children-director@example.org", "icb-safeguarding@example.org", "police-safeguarding@example.org"]
REVIEW_CLOCKS = ("publication", "pre_publication_notice", "review_milestone", "review_engagement")


def national_review(on: date) -> PanelReplyForm:
    return PanelReplyForm.model_validate({"reply": PanelReply.national_review, "received_on": on.isoformat(),
                                          "recorded_by": "Ari Admin"}, context={"today": on})


async def test_the_panels_national_review_stops_the_lcspr_and_tells_those_working_on_it_once(
        lcspr_office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    office = lcspr_office
    reference = await commissioned_lcspr(office, referral_form, reviewer_email=REVIEWER)
    await deliver_pending(office, now=at(12, 14))
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert case.review.stage == ReviewStage.under_way
        open_clocks = {d.kind for d in case.deadlines if d.kind in REVIEW_CLOCKS and d.met_at is None}
        publication_due = next(d.due_at for d in case.deadlines if d.kind == "publication")
    assert open_clocks == {"publication", "review_milestone", "review_engagement"}
    before = len(mailbox.received())

    # the Panel replies on Monday 4 January 2027 that it will carry out a national review
    outcome = actions.record_panel_reply(office, reference, national_review(date(2027, 1, 4)),
                                         now=at(1, 4, year=2027), actor="t")
    await deliver_pending(office, now=at(1, 4, 11, year=2027))
    told = received(mailbox, before)
    assert outcome.queued == len(told) == 5
    assert Counter(to for m in told for to in m.to) == Counter({MANAGER: 1, REVIEWER: 1, **{p: 1 for p in PARTNERS}})
    retired = office.rules("wt2023").retired_words
    for mail in told:
        assert mail.subject == f"[{reference}] local child safeguarding practice review (LCSPR) stopped: the Panel " \
                               "will carry out a national review"
        text = " ".join(mail.text().split())
        assert "On Monday 4 January 2027 the Child Safeguarding Practice Review Panel replied to the rapid " \
               "review" in text
        assert "the local decision follows the Panel's" in text and "therefore stops, and the case is closed" in text
        assert "Its deadlines no longer run, and no reminder about them will follow" in text
        html = mail.message().get_body(("html",)).get_content()
        assert retired_word_in(f"{mail.subject} {text} {html}", retired) is None
    [to_reviewer] = [m for m in told if REVIEWER in m.to]
    assert "you are asked for no more drafts or reports" in " ".join(to_reviewer.text().split())

    # the review stopped and closed with its case; its clocks no longer run, and read as stopped, not kept
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert case.status == "closed" and case.review.stage == ReviewStage.closed
        stopped = [d for d in case.deadlines if d.kind in REVIEW_CLOCKS]
        assert stopped and all(d.met_at is not None for d in stopped)
        assert all(d.label.endswith("(stopped: the Panel carries out a national review)") for d in stopped)
        clock_words = {d.label.removesuffix(" (stopped: the Panel carries out a national review)") for d in stopped}
        trail = store.audit_trail(session, reference=reference)
        [event] = [e for e in trail if e.action == "review stopped: national review"]
        assert event.detail["stage_before"] == "under_way"
        assert {c.partition(":")[0] for c in event.detail["clocks_stopped"]} == open_clocks
        assert {"publication", "review_engagement:POL"} <= set(event.detail["clocks_stopped"])
        terms = office.rules("wt2023").terms
        row = tracker_row(case, now=publication_due + timedelta(days=1), calendar=office.calendar, terms=terms)
        story = case_timeline_markdown(case, trail, store.messages_for(session, case_id=case.id),
                                       calendar=office.calendar, now=at(1, 5, year=2027), terms=terms)
        tasks = {t.name: t for s in review_tasks(case, case.review, {}, date(2027, 1, 5)) for t in s.tasks}
    assert row.review_stage == "closed (stopped: the Panel carries out a national review)"
    assert row.next_milestone is None  # (the breach left is the seeds' notice of this case decided under wt2015)
    assert not [b for b in row.breaches if b.label in clock_words or "stopped" in b.label]
    assert office.rules("wt2023").clocks["publication"].label in clock_words
    assert row.panel_reply == ("the Panel will carry out a national review: national review by the Child "
                               "Safeguarding Practice Review Panel")
    assert "It stopped: the Panel carries out a national review, and the local decision follows the Panel's." in story
    assert "Review stopped: the Panel carries out a national review" in story
    assert "Review closed: the case is closed" in story
    assert "| review stopped for the Panel's national review (to 5) | 5 sent |" in story
    assert tasks["national-review"].hint == \
        "Its reply recorded on Monday 4 January 2027: this review stopped, and its deadlines with it"
    assert tasks["engagement-POL"].hint == "Not needed: the review stopped for the Panel's national review"

    # the sweep past the publication deadline reminds and escalates nothing of the review
    before = len(mailbox.received())
    for moment in (at(3, 1, year=2027), publication_due, at(6, 14, year=2027)):
        queue_reminders(office, now=moment)
        await deliver_pending(office, now=moment)
    assert [(m.to, m.subject) for m in received(mailbox, before) if reference in m.subject] == []

    # recording the reply again is refused, and tells no one again
    before = len(mailbox.received())
    with pytest.raises(store.AlreadyRecorded, match="the Panel's reply is already recorded"):
        actions.record_panel_reply(office, reference, national_review(date(2027, 1, 5)), now=at(1, 5, year=2027),
                                   actor="t")
    await deliver_pending(office, now=at(1, 5, 11, year=2027))
    assert received(mailbox, before) == []


async def test_a_signed_off_lcspr_awaiting_publication_stops_too_its_full_report_no_longer_owed(
        lcspr_office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    office = lcspr_office
    reference = await signed_off_lcspr(office, referral_form)  # its lead reviewer appointed with no email address
    before = len(mailbox.received())
    actions.record_panel_reply(office, reference, national_review(date(2027, 4, 26)), now=at(4, 26, year=2027),
                               actor="t")
    await deliver_pending(office, now=at(4, 26, 11, year=2027))
    told = received(mailbox, before)
    assert Counter(to for m in told for to in m.to) == Counter({MANAGER: 1, **{p: 1 for p in PARTNERS}})
    assert all("- full report to the Panel and the Secretary of State (at least 7 working days before publication)"
               in m.text() for m in told)
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert case.status == "closed" and case.review.stage == ReviewStage.closed
        [event] = [e for e in store.audit_trail(session, reference=reference)
                   if e.action == "review stopped: national review"]
    assert event.detail["stage_before"] == "awaiting_publication"
    assert {"publication", "pre_publication_notice"} <= set(event.detail["clocks_stopped"])
    with pytest.raises(NotAtThisStep):  # nothing more is recorded for it
        review.tell_publication_delay(office, reference, PublicationDelayForm(reasons="A trial is listed."),
                                      now=at(4, 27, year=2027), actor="t")


async def test_after_the_lcspr_finished_the_national_review_is_only_recorded(
        lcspr_office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    office = lcspr_office
    reference = await signed_off_lcspr(office, referral_form)
    review.send_full_report(office, reference, FullReportForm(publication_on=date(2027, 6, 1)),
                            now=at(5, 4, year=2027), actor="t")
    review.record_non_publication(office, reference, NonPublicationForm.model_validate(
        {"decided_on": date(2027, 5, 4), "decided_by": "The safeguarding partners", "reason": "To protect a sibling.",
         "improvements_link": "https://example.org/improvements"}, context={"today": date(2027, 5, 4)}),
        now=at(5, 4, 11, year=2027), actor="t")
    await deliver_pending(office, now=at(5, 4, 12, year=2027))
    before = len(mailbox.received())
    outcome = actions.record_panel_reply(office, reference, national_review(date(2027, 5, 10)),
                                         now=at(5, 10, year=2027), actor="t")
    await deliver_pending(office, now=at(5, 10, 11, year=2027))
    assert outcome.queued == 0 and received(mailbox, before) == []
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert case.panel_reply == PanelReply.national_review.value
        assert case.review.availability == "not_published"  # what the partners decided stands
        assert not [e for e in store.audit_trail(session, reference=reference)
                    if e.action == "review stopped: national review"]
