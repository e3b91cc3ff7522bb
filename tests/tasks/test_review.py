"""A review, from the decision to publication and closure, through casework.review.actions and the
deadline sweep, on a real database and a real SMTP server (no Prefect: the flow's tasks call these).

Asserts what a user would check: who received which email with what in it, exactly once; what the
review shows; that what was refused changed nothing. Every name and address here is invented.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from casework.referral import actions
from casework.delivery import deliver_pending
from casework.forms import AgencyReturnForm, DecisionForm, RecommendationForm, ReferralForm, ScreeningForm
from casework.model import Stage
from casework.office import Office
from casework.purge import purge_expired_cases
from casework.oversight.report import monthly_report, report_markdown
from casework.review import actions as review
from casework.review import store as review_store
from casework.review.forms import (
    AppointmentForm, EngagementForm, FamilyInvolvementForm, GroupMemberForm, MilestoneForm, RatificationForm,
    ReviewPublicationForm, TermsForm,
)
from casework.review.rules import ReviewStage
from casework.review.views import review_view
from casework.store import cases as store
from casework.sweep import queue_reminders
from casework.oversight.exports import current_tracker
from casework.oversight.timeline import case_timeline_markdown, people_of
from tests.tasks.conftest import Mailbox

CHAIR, MANAGER, INDEPENDENT = "cig-chair@example.org", "business-manager@example.org", "independent-chair@example.org"
PANEL = "national-panel@example.org"
AGENCIES = {"POL": "police@example.org", "CSC": "social-care@example.org", "HEALTH": "health@example.org",
            "CCG": "commissioners@example.org", "EDU": "education@example.org", "PROB": "probation@example.org",
            "YJS": "youth-justice@example.org"}
MEMBERS = [*AGENCIES.values(), INDEPENDENT, CHAIR]
LATER = {"today": date(2030, 1, 1)}
RATIONALE = "Regulation 5(2)(b)(ii) is met: serious harm and concern about information sharing."


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=timezone.utc)


def form(model, **data):  # type: ignore[no-untyped-def]
    return model.model_validate(data, context=LATER)


async def decided(office: Office, referral: ReferralForm, decision: str = "scr") -> str:
    """A referral taken to the independent chair's decision (no lead reviewer named), its mail delivered."""
    reference = actions.submit_referral(office, referral, now=at(11, 18), actor="HEALTH safeguarding lead").reference
    actions.record_screening(office, reference, ScreeningForm(outcome="accept", decided_by="Casey Chair",
                                                              independent_chair_consulted=True), now=at(11, 19, 9), actor="t")
    actions.list_and_request_information(office, reference, now=at(11, 19))
    for code in AGENCIES:
        actions.record_return(office, reference, AgencyReturnForm(agency=code, status="nil"), now=at(11, 24), actor="t")
    actions.record_recommendation(office, reference, RecommendationForm(outcome=decision, rationale="Serious harm."),
                                  now=at(12, 8, 13), actor="t")
    extra = {} if decision == "scr" else {"criteria_explanation": "No concern about joint working.",
                                          "anonymised_details": {
                                              "nature_of_incident": "Injury to an infant", "ages_of_children": "4 months",
                                              "relationship_to_alleged_perpetrator": "parent",
                                              "agency_involvement": "health visiting",
                                              "criminal_investigation": "none"}}
    actions.record_decision(office, reference, DecisionForm.model_validate(
        {"response": "affirm", "decision": decision, "rationale": RATIONALE, "decided_by": "Indra Independent",
         **extra}), now=at(12, 10, 15), actor="independent chair")
    await deliver_pending(office, now=at(12, 10, 15))
    assert actions.finish_case(office, reference, now=at(12, 10, 16)).stage is Stage.decided
    return reference


def received(mailbox: Mailbox, since: int = 0) -> list:  # type: ignore[type-arg]
    return mailbox.received()[since:]


def to_and_subject(mails) -> Counter[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return Counter((to, m.subject) for m in mails for to in m.to)


def reviewed(office: Office, reference: str):  # type: ignore[no-untyped-def]
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        return review_view(case, review_store.get_review(session, case=case), date(2027, 1, 1))


async def test_an_scr_is_commissioned_and_its_panel_notice_waits_for_the_reviewer_warned_then_escalated(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    reference = await decided(office, referral_form)
    before = len(mailbox.received())
    assert PANEL not in {to for m in mailbox.received() for to in m.to}  # not at the decision: nobody to name yet

    first = review.commission_review(office, reference, now=at(12, 11))
    assert (first.stage, first.queued) == (ReviewStage.awaiting_reviewer, 1 + len(MEMBERS))
    assert review.commission_review(office, reference, now=at(12, 11, 11)).queued == 0  # a re-run sends nothing
    await deliver_pending(office, now=at(12, 11))
    mails = received(mailbox, before)
    assert to_and_subject(mails) == Counter(
        {(MANAGER, f"[{reference}] Serious Case Review commissioned: its plan"): 1,
         **{(to, f"[{reference}] A Serious Case Review has begun: please confirm your engagement"): 1 for to in MEMBERS}})
    [police] = [m for m in mails if "police@example.org" in m.to]
    assert RATIONALE in police.text() and "Friday 25 December 2026" in police.text()
    assert "Robin" not in police.text()  # members get the rationale, never the child's name
    [plan] = [m for m in mails if MANAGER in m.to]
    assert "Review group initial meeting: by Thursday 24 December 2026" in plan.text()  # not Christmas Day

    # the sweep: a warning to the business manager and the independent chair 2 days before the 14 days run
    # out, and the escalation once they have
    queue_reminders(office, now=at(12, 22))
    await deliver_pending(office, now=at(12, 22))
    warned = [(m.to, m.subject) for m in received(mailbox, before) if "National Panel" in m.subject]
    assert warned == [([to], f"[{reference}] Warning: National Panel notice (14 days from the decision) due "
                             "Thursday 24 December 2026") for to in (MANAGER, INDEPENDENT)]
    assert queue_reminders(office, now=at(12, 25)).queued == 0  # Christmas Day, the weekend, the substitute Boxing
    assert queue_reminders(office, now=at(12, 28, 11)).queued == 0  # Day: no one works; the first working day after
    queue_reminders(office, now=at(12, 29))
    queue_reminders(office, now=at(12, 29, 11))
    await deliver_pending(office, now=at(12, 29))
    escalated = sorted(to for m in received(mailbox, before) if "DEADLINE BREACHED: National Panel" in m.subject for to in m.to)
    assert escalated == [MANAGER, INDEPENDENT]

    # an internal reviewer, or one not confirmed independent of the agencies, is refused; nothing changes
    for bad, field in ((dict(kind="internal", agency="CSC"), "kind: "), (dict(kind="independent"), "independent_of_agencies: ")):
        with pytest.raises(ValueError, match=field):
            review.appoint_reviewer(office, reference, form(AppointmentForm, reviewer="Rowan Reviewer", appointed_on="2026-12-30",
                                                            appointed_by="Review group", **bad), now=at(12, 30), actor="t")
    assert reviewed(office, reference).lead_reviewers == []

    appointed = review.appoint_reviewer(office, reference, form(
        AppointmentForm, reviewer="Rowan Reviewer", kind="independent", independent_of_agencies=True,
        appointed_on="2026-12-30", appointed_by="Review group planning meeting"), now=at(12, 30), actor="t")
    assert (appointed.stage, appointed.queued) == (ReviewStage.under_way, 3)  # the Panel, the BM, the independent chair
    with pytest.raises(store.AlreadyRecorded):
        review.appoint_reviewer(office, reference, form(
            AppointmentForm, reviewer="Rowan Reviewer", kind="independent", independent_of_agencies=True,
            appointed_on="2026-12-30", appointed_by="Review group"), now=at(12, 30), actor="t")
    await deliver_pending(office, now=at(12, 30))
    [notice] = [m for m in received(mailbox, before) if PANEL in m.to]
    assert "Lead reviewer(s): Rowan Reviewer." in notice.text()
    since = len(mailbox.received())
    queue_reminders(office, now=at(12, 31))  # the notice went: nothing more about it
    await deliver_pending(office, now=at(12, 31))
    assert not [m.subject for m in received(mailbox, since) if "National Panel" in m.subject]


async def test_an_agency_is_chased_for_its_engagement_until_it_confirms(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    reference = await decided(office, referral_form)
    review.commission_review(office, reference, now=at(12, 11))
    review.confirm_engagement(office, reference, form(EngagementForm, agency="POL", confirmed_by="DI Pat Police",
                                                      confirmed_on="2026-12-14"), now=at(12, 14), actor="t")
    with pytest.raises(store.AlreadyRecorded):
        review.confirm_engagement(office, reference, form(EngagementForm, agency="POL", confirmed_by="DI Pat Police",
                                                          confirmed_on="2026-12-14"), now=at(12, 14), actor="t")
    await deliver_pending(office, now=at(12, 14))
    before = len(mailbox.received())
    assert queue_reminders(office, now=at(12, 26)).queued == 0  # due on Christmas Day; a Saturday, then a bank holiday
    queue_reminders(office, now=at(12, 29))  # chased on the first working day after it
    queue_reminders(office, now=at(12, 29, 12))
    await deliver_pending(office, now=at(12, 29))
    chased = to_and_subject(m for m in received(mailbox, before) if "engagement" in m.subject)
    assert sorted(to for to, _ in chased) == sorted([*(e for c, e in AGENCIES.items() if c != "POL"), *[MANAGER] * 6])
    assert set(chased.values()) == {1}
    assert reviewed(office, reference).engagement_outstanding == sorted(c for c in AGENCIES if c != "POL")


async def test_an_scr_from_its_plan_to_publication_and_closure(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    reference = await decided(office, referral_form)
    review.commission_review(office, reference, now=at(12, 11))
    review.appoint_reviewer(office, reference, form(AppointmentForm, reviewer="Rowan Reviewer", kind="independent",
                                                    independent_of_agencies=True, appointed_on="2026-12-20",
                                                    appointed_by="Review group"), now=at(12, 20), actor="t")
    # the review and case groups: who they are is sealed in the database
    review.add_member(office, reference, form(GroupMemberForm, group="review", name="Harper Headofservice", agency="CSC",
                                              role="Head of Service", email="h.headofservice@example.org"), now=at(12, 21), actor="t")
    review.add_member(office, reference, form(GroupMemberForm, group="case", name="Quinn Healthvisitor", agency="HEALTH",
                                              role="Health visitor", email="q.healthvisitor@example.org"), now=at(12, 21), actor="t")
    with office.sessions() as session:
        raw = " ".join(str(v) for v in session.execute(text("SELECT * FROM review_people")).all())
        audit = " ".join(str(e.detail) for e in store.audit_trail(session, reference=reference))
    assert "Quinn" not in raw and "healthvisitor@" not in raw and "Quinn" not in audit
    assert (reviewed(office, reference).review_group, reviewed(office, reference).case_group) == (1, 1)

    # milestones: done, re-planned with a reason; one the plan does not have is refused
    review.record_milestone(office, reference, form(MilestoneForm, stage="initial_meeting", done_on="2026-12-22",
                                                    by="Bailey Manager", note="Parallel police investigation noted."),
                            now=at(12, 22), actor="t")
    review.record_milestone(office, reference, form(MilestoneForm, stage="spe_chronologies", replan_to="2027-01-29",
                                                    reason="Two agencies asked for more time over Christmas."),
                            now=at(12, 23), actor="t")
    with pytest.raises(ValueError, match="^stage: 'trial'"):
        review.record_milestone(office, reference, form(MilestoneForm, stage="trial", done_on="2026-12-22", by="B"),
                                now=at(12, 23), actor="t")
    view = reviewed(office, reference)
    assert (view.next_milestone, view.next_milestone_on) == ("Review group planning meeting (half a day)", date(2027, 1, 22))
    assert [m.replanned for m in view.milestones if m.code == "spe_chronologies"] == [1]
    [row] = current_tracker(office, now=at(1, 25, year=2027))  # what managers open first
    assert (row.review_stage, row.lead_reviewer, row.next_milestone, row.next_milestone_on, row.milestone_days_overdue) \
        == ("under way", "Rowan Reviewer", "Review group planning meeting (half a day)", date(2027, 1, 22), 3)
    with office.sessions() as session:  # the monthly report: the review in progress, its missed milestones
        report = monthly_report(store.list_cases(session), month=date(2027, 1, 1), now=at(2, 1, year=2027),
                                calendar=office.calendar)
    assert report.reviews_in_progress == (reference,)
    assert [(b.label, b.days_overdue) for b in report.milestones_missed][:2] == [
        ("Review group planning meeting (half a day)", 10), ("SPE chronologies from every agency involved", 3)]
    assert "## Reviews" in report_markdown(report)
    review.record_terms(office, reference, form(TermsForm, terms_of_reference="How agencies shared information.",
                                                scope="July to November 2026; all agencies.", agreed_on="2027-01-22"),
                        now=at(1, 22, year=2027), actor="t")

    # drafts: out of order refused; the CIG returns them, then ratifies; the executive group; the board
    def ratify(by: str, result: str = "ratified", comments: str | None = None) -> review.ReviewOutcome:
        return review.record_ratification(office, reference, form(RatificationForm, by=by, result=result, on="2027-05-04",
                                                                  comments=comments), now=at(5, 4, year=2027), actor="t")

    with pytest.raises(ValueError, match="^by: the drafts go to the Critical Incident Group"):
        ratify("board")
    assert ratify("cig", "returned", "Say more about the health visitor's caseload.").stage is ReviewStage.ratifying
    assert ratify("cig").stage is ReviewStage.ratifying
    assert ratify("executive_group").stage is ReviewStage.ratifying
    assert ratify("board").stage is ReviewStage.awaiting_publication
    await deliver_pending(office, now=at(5, 4, year=2027))
    told = [(to, m.subject) for m in mailbox.received() for to in m.to if "Review drafts" in m.subject]
    assert Counter(to for to, _ in told) == {MANAGER: 4, "executive-group@example.org": 1, "board@example.org": 1}
    [returned] = [m for m in mailbox.received() if "returned" in m.subject]
    assert "Say more about the health visitor's caseload." in returned.text()

    published = form(ReviewPublicationForm, published_on="2027-06-01", link="https://northshire-scp.example.org/scr/7",
                     response_link="https://northshire-scp.example.org/scr/7-response")
    with pytest.raises(ValueError, match="^family_involvement: "):
        review.publish_review(office, reference, published, now=at(6, 1, year=2027), actor="t")
    assert reviewed(office, reference).published_on is None
    review.record_family(office, reference, form(FamilyInvolvementForm, involvement="not_possible", on="2027-04-01",
                                                 reason="Criminal proceedings are ongoing."), now=at(4, 1, year=2027), actor="t")
    await deliver_pending(office, now=at(4, 1, year=2027))
    before = len(mailbox.received())
    outcome = review.publish_review(office, reference, published, now=at(6, 1, year=2027), actor="t")
    assert (outcome.stage, outcome.closed) == (ReviewStage.published, False)  # milestones are still outstanding
    await deliver_pending(office, now=at(6, 1, year=2027))
    mails = received(mailbox, before)
    assert sorted(to for m in mails for to in m.to) == sorted([MANAGER, *MEMBERS])
    assert "https://northshire-scp.example.org/scr/7-response" in mails[0].text()
    assert "Thursday 1 June 2028" in mails[0].text()  # 12 months on the website

    codes = [m.code for m in reviewed(office, reference).milestones if m.done_on is None]
    for code in codes:
        last = review.record_milestone(office, reference, form(MilestoneForm, stage=code, done_on="2027-06-02", by="B"),
                                       now=at(6, 2, year=2027), actor="t")
    assert (last.stage, last.closed) == (ReviewStage.closed, True)
    with office.sessions() as session:
        assert store.get_case(session, reference=reference).status == "closed"
    with office.sessions() as session:  # the case's timeline continues through its review
        case = store.get_case(session, reference=reference)
        story = case_timeline_markdown(case, store.audit_trail(session, reference=reference),
                                       store.messages_for(session, case_id=case.id), calendar=office.calendar,
                                       now=at(6, 3, year=2027), people=people_of(office.partnership))
    for words in ("Review commissioned: Serious Case Review, plan scr_staged", "Review milestone spe chronologies re-planned",
                  "Review drafts returned by the CIG", "Review drafts ratified by the partnership board",
                  "Review published on", "Review complete: the case is closed"):
        assert words in story, words
    assert purge_expired_cases(office, now=at(6, 3, year=2037)) == [reference]  # retention reaches it


async def test_a_concise_review_has_its_own_plan_an_internal_reviewer_and_no_panel_notice(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    referral_form = referral_form.model_copy(update={"facts": referral_form.facts.model_copy(update={"concern_about_joint_working": False})})
    reference = await decided(office, referral_form, "multi_agency_concise_review")
    review.commission_review(office, reference, now=at(12, 11))
    assert reviewed(office, reference).plan == "concise_review"
    before = len(mailbox.received())
    outcome = review.appoint_reviewer(office, reference, form(
        AppointmentForm, reviewer="Morgan Internal", kind="internal", agency="CSC", appointed_on="2026-12-15",
        appointed_by="Review group"), now=at(12, 15), actor="t")
    assert (outcome.stage, outcome.queued) == (ReviewStage.under_way, 2)  # the BM and the independent chair
    await deliver_pending(office, now=at(12, 15))
    assert PANEL not in {to for m in received(mailbox, before) for to in m.to}
    # no family involvement needed before a concise review is published
    for by in ("cig", "executive_group", "board"):
        review.record_ratification(office, reference, form(RatificationForm, by=by, result="ratified", on="2027-03-01"),
                                   now=at(3, 1, year=2027), actor="t")
    outcome = review.publish_review(office, reference, form(
        ReviewPublicationForm, published_on="2027-03-10", link="https://northshire-scp.example.org/mcr/2",
        response_link="https://northshire-scp.example.org/mcr/2-response"), now=at(3, 10, year=2027), actor="t")
    assert outcome.stage is ReviewStage.published
