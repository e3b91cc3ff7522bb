"""The review on the secure website (issue 20, items 1 and 2): the business manager and each lead reviewer keep
the review as a GOV.UK task list from the personal link in the "review commissioned" email, the appointment
email and the milestone reminders; each task's form records what `cig review ...` records (the same model, the
same casework function), refuses what it refuses naming the field, and writes nothing then. Each agency
confirms its engagement from the link in the commencement email.

Every journey starts from the email the test SMTP server received and ends with the page's confirmation and
the record in the case database. Dates are today's (the website's clock): a form's dates are never in the
future and a review's milestones are never done before it was commissioned.
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from casework.delivery import deliver_pending
from casework.forms import AgencyReturnForm, DecisionForm, RecommendationForm
from casework.office import Office
from casework.referral import actions
from casework.review import actions as review_actions
from casework.store import cases as store
from casework.sweep import queue_reminders
from tests.website.conftest import POLICE, link_in, listed_case, mails_to, now

MANAGER, REVIEWER = "business-manager@example.org", "rowan.reviewer@example.org"
HEALTH = "health@example.org"


def token_of(page: str) -> str:
    return re.search(r'name="form_token" value="([0-9a-f]{64})"', page).group(1)  # type: ignore[union-attr]


def today_parts(name: str, days_ago: int = 0) -> dict[str, str]:
    on = (now() - timedelta(days=days_ago)).date()
    return {f"{name}-day": str(on.day), f"{name}-month": str(on.month), f"{name}-year": str(on.year)}


async def commissioned(office: Office, regime: str | None = None) -> str:
    """A case decided for a Serious Case Review with no lead reviewer named, its review commissioned and the
    commissioning emails delivered; its reference. With `regime` (wt2023), the decided case is moved to that
    rule set before its review is commissioned: an LCSPR with its own plan, signed off by the partners."""
    reference = await listed_case(office)
    for code in ("POL", "CSC", "HEALTH", "CCG", "EDU", "PROB", "YJS"):
        actions.record_return(office, reference, AgencyReturnForm(agency=code, status="nil"), now=now(), actor="test")
    with office.sessions() as session:
        meeting_at = store.get_case(session, reference=reference).meeting_at
    actions.record_recommendation(office, reference, RecommendationForm(outcome="scr", rationale="Information was not shared."),
                                  now=meeting_at + timedelta(hours=1), actor="test")  # type: ignore[operator]
    actions.record_decision(office, reference, DecisionForm(
        response="affirm", decision="scr", rationale="Information was not shared.", decided_by="Indra Independent"),
        now=now(), actor="test")
    if regime is not None:
        with office.sessions.begin() as session:
            store.get_case(session, reference=reference).regime = regime
    review_actions.commission_review(office, reference, now=now())
    await deliver_pending(office)
    return reference


def review_of(office: Office, reference: str):  # type: ignore[no-untyped-def]
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        review = case.review
        return {"stage": review.stage, "terms": review.terms, "reviewers": list(review.reviewers),
                "family": review.family, "people": [(p.group, p.agency) for p in review.people],
                "milestones": {m.code: (m.target_on, m.done_on, m.done_by, list(m.replans or [])) for m in review.milestones},
                "engagement": {d.subject: d.met_at for d in case.deadlines if d.kind == "review_engagement"}}


def actors(office: Office, reference: str, action: str) -> list[str]:
    with office.sessions() as session:
        return [e.actor for e in store.audit_trail(session, reference=reference) if e.action == action]


async def test_the_business_manager_keeps_the_review_from_the_link_in_the_commissioned_email(
        office: Office, client: httpx.AsyncClient) -> None:
    reference = await commissioned(office)
    [commissioned_mail] = mails_to(office, MANAGER, "commissioned")
    link = link_in(commissioned_mail)
    assert "cig review" not in commissioned_mail.text().split(link)[0][-400:]  # the link is said in words

    page = (await client.get(link)).text
    assert "Serious Case Review: the review's tasks" in page and f"Case {reference}" in page
    assert 'class="govuk-task-list"' in page
    assert "Engagement: Northshire Police" in page and "Appoint the lead reviewer" in page
    assert "Not yet started" in page and "Cannot start yet" in page and "Completed" in page  # commissioning
    assert "Next: <a class=\"govuk-link\" href=\"/link/" in page and "appoint the lead reviewer</a>" in page

    # terms of reference: refused naming the field, nothing written; then recorded
    form = (await client.get(f"{link}/task/terms")).text
    assert "Terms of reference and scope" in form and 'class="govuk-date-input"' in form
    refused = await client.post(f"{link}/task/terms", data={"scope": "July to November 2026; all agencies",
                                                            **today_parts("agreed_on"), "form_token": token_of(form)})
    assert refused.status_code == 400 and "There is a problem" in refused.text
    assert '<a href="#terms_of_reference">The terms of reference: this is required</a>' in refused.text
    assert "July to November 2026; all agencies" in refused.text  # what was typed is kept
    assert review_of(office, reference)["terms"] is None

    future = await client.post(f"{link}/task/terms", data={
        "terms_of_reference": "How agencies shared information.", "scope": "All agencies",
        "agreed_on-day": "31", "agreed_on-month": "2", "agreed_on-year": "2027", "form_token": token_of(form)})
    assert future.status_code == 400 and '<a href="#agreed_on">The date of the planning meeting: enter a real date' \
        in future.text
    done = await client.post(f"{link}/task/terms", data={
        "terms_of_reference": "How agencies shared information.", "scope": "July to November 2026; all agencies",
        **today_parts("agreed_on"), "form_token": token_of(form)})
    assert done.status_code == 303 and done.headers["location"].endswith("?recorded=terms")
    shown = (await client.get(link + "?recorded=terms")).text
    assert "Terms of reference recorded" in shown and "govuk-notification-banner--success" in shown
    assert review_of(office, reference)["terms"]["scope"] == "July to November 2026; all agencies"
    assert re.fullmatch(r"the business manager \(link \d+\)", actors(office, reference, "terms of reference recorded")[0])

    # the lead reviewer: the SCR's rule refused as `cig review appoint` refuses it; then appointed, and told
    form = (await client.get(f"{link}/task/appointment")).text
    internal = await client.post(f"{link}/task/appointment", data={
        "reviewer": "Rowan Reviewer", "kind": "internal", "agency": "CSC", "appointed_by": "Review group",
        **today_parts("appointed_on"), "email": REVIEWER, "form_token": token_of(form)})
    assert internal.status_code == 400
    assert "must be independent, not internal" in internal.text and '<a href="#kind">' in internal.text
    assert review_of(office, reference)["reviewers"] == []
    appointed = await client.post(f"{link}/task/appointment", data={
        "reviewer": "Rowan Reviewer", "kind": "independent", "independent_of_agencies": "true",
        "appointed_by": "Review group planning meeting", **today_parts("appointed_on"), "email": REVIEWER,
        "form_token": token_of(form)})
    assert appointed.status_code == 303
    assert review_of(office, reference)["stage"] == "under_way"
    await deliver_pending(office)
    assert mails_to(office, "national-panel@example.org", reference)  # the SCR's Panel notice waited for this
    [told] = mails_to(office, REVIEWER, "Lead reviewer appointed")
    assert "You are appointed lead reviewer" in told.text()
    reviewer_link = link_in(told)
    assert reviewer_link != link
    assert "Rowan Reviewer" in (await client.get(reviewer_link)).text

    # a milestone re-planned by the lead reviewer (a reason is required), then done
    with office.sessions() as session:
        code = store.get_case(session, reference=reference).review.milestones[0].code
    form = (await client.get(f"{reviewer_link}/task/milestone-{code}")).text
    later = (now() + timedelta(days=40)).date()
    no_reason = await client.post(f"{reviewer_link}/task/milestone-{code}", data={
        "replan_to-day": str(later.day), "replan_to-month": str(later.month), "replan_to-year": str(later.year),
        "form_token": token_of(form)})
    assert no_reason.status_code == 400 and '<a href="#reason">Why it is re-planned: say why' in no_reason.text
    assert review_of(office, reference)["milestones"][code][3] == []
    replanned = await client.post(f"{reviewer_link}/task/milestone-{code}", data={
        "replan_to-day": str(later.day), "replan_to-month": str(later.month), "replan_to-year": str(later.year),
        "reason": "Practitioners on leave", "form_token": token_of(form)})
    assert replanned.status_code == 303
    target, _, _, replans = review_of(office, reference)["milestones"][code]
    assert target == later and replans[0]["reason"] == "Practitioners on leave"
    assert "In progress" in (await client.get(reviewer_link)).text
    assert re.fullmatch(r"a lead reviewer \(link \d+\)", actors(office, reference, "review milestone re-planned")[0])
    done = await client.post(f"{reviewer_link}/task/milestone-{code}", data={
        **today_parts("done_on"), "by": "Rowan Reviewer", "form_token": token_of(form)})
    assert done.status_code == 303 and review_of(office, reference)["milestones"][code][1] == now().date()
    again = await client.get(f"{reviewer_link}/task/milestone-{code}")  # a milestone done is done
    assert again.status_code == 409 and "is already recorded" in again.text

    # a case group member, and the family's involvement
    form = (await client.get(f"{link}/task/case-group")).text
    assert "Northshire Police" in form  # the agency as a choice of the partnership's agencies
    added = await client.post(f"{link}/task/case-group", data={
        "name": "Quinn Healthvisitor", "agency": "HEALTH", "role": "Health visitor", "email": "q.healthvisitor@example.org",
        "form_token": token_of(form)})
    assert added.status_code == 303 and review_of(office, reference)["people"] == [("case", "HEALTH")]
    form = (await client.get(f"{link}/task/family")).text
    refused = await client.post(f"{link}/task/family", data={"involvement": "not_possible", **today_parts("on"),
                                                             "form_token": token_of(form)})
    assert refused.status_code == 400 and '<a href="#reason">' in refused.text
    assert review_of(office, reference)["family"] is None
    recorded = await client.post(f"{link}/task/family", data={"involvement": "complete", **today_parts("on"),
                                                               "form_token": token_of(form)})
    assert recorded.status_code == 303 and review_of(office, reference)["family"]["involvement"] == "complete"

    # the drafts before the CIG: the next body's task opens, later ones cannot start yet
    page = (await client.get(link)).text
    board = page.split("Drafts before the partnership board (final report and action plans)", 1)
    assert "Cannot start yet" in board[1].split("</li>", 1)[0] and "<a " not in board[0][-120:]  # no link to it yet
    assert '<a class="govuk-link govuk-task-list__link" href="/link/' in page.split(
        "Drafts before the Critical Incident Group", 1)[0][-200:]
    assert (await client.get(f"{link}/task/ratification-board")).status_code == 409
    assert (await client.get(f"{link}/task/publication")).status_code == 409
    form = (await client.get(f"{link}/task/ratification-cig")).text
    returned = await client.post(f"{link}/task/ratification-cig", data={"result": "returned", **today_parts("on"),
                                                                        "form_token": token_of(form)})
    assert returned.status_code == 400 and '<a href="#comments">' in returned.text
    ratified = await client.post(f"{link}/task/ratification-cig", data={"result": "ratified", **today_parts("on"),
                                                                        "form_token": token_of(form)})
    assert ratified.status_code == 303
    assert review_of(office, reference)["stage"] == "ratifying"


async def test_an_agency_confirms_its_engagement_from_the_commencement_email(
        office: Office, client: httpx.AsyncClient) -> None:
    reference = await commissioned(office)
    [commencement] = mails_to(office, POLICE, "please confirm your engagement")
    link = link_in(commencement)
    assert link not in mails_to(office, MANAGER, "commissioned")[0].text()

    page = (await client.get(link)).text
    assert "Confirm your agency's engagement with the review" in page and "Northshire Police" in page
    nameless = await client.post(link, data={"confirmed_by": "", "form_token": token_of(page)})
    assert nameless.status_code == 400 and '<a href="#confirmed_by">Your name: this is required</a>' in nameless.text
    assert review_of(office, reference)["engagement"]["POL"] is None

    done = await client.post(link, data={"confirmed_by": "DI Pat Police", "form_token": token_of(page)})
    assert done.status_code == 200 and "Engagement confirmed" in done.text
    assert review_of(office, reference)["engagement"]["POL"] is not None
    assert re.fullmatch(r"agency POL \(link \d+\)", actors(office, reference, "agency engagement confirmed")[0])
    assert "already been recorded" in (await client.get(link)).text  # a second submit is told so
    assert (await client.post(link, data={"confirmed_by": "DI Pat Police", "form_token": token_of(page)})).status_code == 410

    manager = (await client.get(link_in(mails_to(office, MANAGER, "commissioned")[0]))).text
    assert re.search(r"Engagement: Northshire Police</a>\s*<div[^>]*>Confirmed</div>", manager) is None  # no link
    assert re.search(r"Engagement: Northshire Police</div>\s*<div[^>]*>Confirmed</div>\s*</div>\s*"
                     r'<div class="govuk-task-list__status"[^>]*>Completed', manager)


async def test_a_review_link_is_refused_for_another_review_a_task_it_has_not_and_once_revoked(
        office: Office, client: httpx.AsyncClient) -> None:
    first = await commissioned(office)
    second = await commissioned(office)
    manager_links = [link_in(m) for m in mails_to(office, MANAGER, "commissioned")]
    first_link, second_link = (next(link for link, m in zip(manager_links, mails_to(office, MANAGER, "commissioned"))
                                    if reference in m.subject) for reference in (first, second))
    [police_engagement] = mails_to(office, POLICE, f"[{first}] A Serious Case Review has begun")

    # the first review's form posted through the second review's link: refused, nothing recorded on either
    form = (await client.get(f"{first_link}/task/terms")).text
    crossed = await client.post(f"{second_link}/task/terms", data={
        "terms_of_reference": "Crossed.", "scope": "Crossed.", **today_parts("agreed_on"), "form_token": token_of(form)})
    assert crossed.status_code == 403
    assert review_of(office, first)["terms"] is None and review_of(office, second)["terms"] is None
    assert second not in (await client.get(first_link)).text

    # an engagement link opens no task; a task the review has not is not found
    assert (await client.get(f"{link_in(police_engagement)}/task/terms")).status_code == 404
    assert (await client.get(f"{first_link}/task/milestone-no_such_stage")).status_code == 404

    # withdrawn by the administrator: the page says so and nothing about the case
    actions.revoke_case_links(office, first, agency=None, now=now(), actor="test")
    withdrawn = await client.get(first_link)
    assert withdrawn.status_code == 410 and "withdrawn" in withdrawn.text and first not in withdrawn.text
    assert (await client.post(f"{first_link}/task/terms", data={"form_token": token_of(form)})).status_code == 410
    assert (await client.get(second_link)).status_code == 200


async def test_each_milestone_reminder_carries_a_fresh_link_to_the_task_list(office: Office,
                                                                              client: httpx.AsyncClient) -> None:
    reference = await commissioned(office)
    [commissioned_mail] = mails_to(office, MANAGER, "commissioned")
    with office.sessions() as session:
        first = store.get_case(session, reference=reference).review.milestones[0]
    after = office.calendar.working_day_on_or_after(first.target_on + timedelta(days=1))  # nothing goes on a day off
    queue_reminders(office, now=office.calendar.end_of_day(after) - timedelta(hours=10))
    await deliver_pending(office)
    reminders = mails_to(office, MANAGER, f"Overdue: Review milestone: {first.label}")
    assert reminders, [m.subject for m in mails_to(office, MANAGER)]
    fresh = link_in(reminders[0])
    assert fresh != link_in(commissioned_mail)
    assert (await client.get(fresh)).status_code == 200
    assert (await client.get(link_in(commissioned_mail))).status_code == 200  # the earlier one still opens
    chases = mails_to(office, POLICE, "Overdue")
    assert chases and "/link/" in chases[0].text()  # the agency's chase carries its engagement link


async def test_the_lead_reviewer_uploads_the_drafts_checked_by_content_and_sealed(
        office: Office, client: httpx.AsyncClient) -> None:
    from sqlalchemy import text

    from casework.review.forms import AppointmentForm
    from tests.website.test_website_browser import PDF

    reference = await commissioned(office)
    review_actions.appoint_reviewer(office, reference, AppointmentForm(
        reviewer="Rowan Reviewer", kind="independent", independent_of_agencies=True, appointed_on=now().date(),
        appointed_by="Review group", email=REVIEWER), now=now(), actor="test")
    await deliver_pending(office)
    link = link_in(mails_to(office, REVIEWER, "Lead reviewer appointed")[0])
    form = (await client.get(f"{link}/task/drafts")).text
    assert 'enctype="multipart/form-data"' in form and 'type="file"' in form

    nothing = await client.post(f"{link}/task/drafts", data={"kind": "draft_report", "form_token": token_of(form)})
    assert nothing.status_code == 400 and '<a href="#document">The document (PDF, Word or OpenDocument, 10 MB at ' \
        'most): select the document to upload</a>' in nothing.text
    disguised = await client.post(f"{link}/task/drafts", data={"kind": "draft_report", "form_token": token_of(form)},
                                  files={"document": ("Draft report.pdf", b"<html>not a report</html>", "application/pdf")})
    assert disguised.status_code == 400
    assert "Draft report.pdf is not a PDF, Word (.docx) or OpenDocument (.odt) document" in disguised.text
    unchosen = await client.post(f"{link}/task/drafts", data={"form_token": token_of(form)},
                                 files={"document": ("Draft report.pdf", PDF, "application/pdf")})
    assert unchosen.status_code == 400 and '<a href="#kind">' in unchosen.text
    too_big = await client.post(f"{link}/task/drafts", data={"kind": "final_report", "form_token": token_of(form)},
                                files={"document": ("Final report.pdf", PDF + b"%" * (11 * 1048576), "application/pdf")})
    assert too_big.status_code == 400 and "Final report.pdf is 11.0 MB; the limit is 10 MB" in too_big.text
    with office.sessions() as session:
        assert session.execute(text("SELECT count(*) FROM review_documents")).scalar() == 0  # nothing kept

    uploaded = await client.post(f"{link}/task/drafts", data={"kind": "draft_report", "form_token": token_of(form)},
                                 files={"document": ("Draft report Robin.pdf", PDF, "application/pdf")})
    assert uploaded.status_code == 303
    listed = (await client.get(f"{link}/task/drafts")).text
    assert "Draft report and findings" in listed and "Draft report Robin.pdf" in listed
    [number] = re.findall(r'/review-documents/(\d+)"', listed)
    download = await client.get(f"{link}/review-documents/{number}")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    with office.sessions() as session:
        raw = session.execute(text("SELECT document FROM review_documents")).scalar()
    assert "Robin" not in raw and "PDF-1.4" not in raw  # sealed, its name too
    assert "In progress" in (await client.get(link)).text.split("Upload the drafts and the final report", 1)[1][:400]
    [police] = mails_to(office, POLICE, "please confirm your engagement")
    assert (await client.get(f"{link_in(police)}/review-documents/{number}")).status_code == 404


async def test_the_drafts_go_through_ratification_to_publication_and_the_report_s_availability(
        office: Office, client: httpx.AsyncClient) -> None:
    from casework.review.forms import AppointmentForm

    reference = await commissioned(office)
    review_actions.appoint_reviewer(office, reference, AppointmentForm(
        reviewer="Rowan Reviewer", kind="independent", independent_of_agencies=True, appointed_on=now().date(),
        appointed_by="Review group"), now=now(), actor="test")
    link = link_in(mails_to(office, MANAGER, "commissioned")[0])
    token = token_of((await client.get(f"{link}/task/terms")).text)
    assert (await client.get(f"{link}/task/not-published")).status_code == 409  # not before the board ratifies
    for body in ("cig", "executive_group", "board"):
        assert (await client.post(f"{link}/task/ratification-{body}", data={
            "result": "ratified", **today_parts("on"), "form_token": token})).status_code == 303
    assert review_of(office, reference)["stage"] == "awaiting_publication"
    await deliver_pending(office)
    assert mails_to(office, MANAGER, "ratif")  # the business manager is told each outcome, as by `cig review ratify`

    publication = {"link": "https://www.example.org/reviews/scr-1", "response_link": "https://www.example.org/reviews/scr-1-response",
                   **today_parts("published_on"), "form_token": token}
    refused = await client.post(f"{link}/task/publication", data=publication)
    assert refused.status_code == 400 and ("record the family&#39;s and child&#39;s involvement first (its task on the "
                                           "review&#39;s task list)") in refused.text
    assert review_of(office, reference)["stage"] == "awaiting_publication"  # an SCR needs the family's involvement

    assert (await client.post(f"{link}/task/family", data={"involvement": "complete", **today_parts("on"),
                                                           "form_token": token})).status_code == 303
    assert (await client.post(f"{link}/task/publication", data=publication)).status_code == 303
    assert review_of(office, reference)["stage"] == "published"
    await deliver_pending(office)
    assert mails_to(office, POLICE, "published")  # the members are told where, with the response

    page = (await client.get(link)).text
    assert "Record a decision not to publish" not in page  # published: no longer a choice
    assert (await client.post(f"{link}/task/availability", data={"availability": "on_request", **today_parts("decided_on"),
                                                                 "form_token": token})).status_code == 303
    with office.sessions() as session:
        assert store.get_case(session, reference=reference).review.availability == "on_request"
