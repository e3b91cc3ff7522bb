"""Learning and improvement on the secure website (issue 20, items 4 and 5): each action's named lead reports on
their own action from the link in every email about it (progress, done with evidence, a new target date asked
for, which the business manager accepts from the link in the email telling them); the agency's CIG member sees
the agency's actions from the chase's copy; the professional development committee reads the 6-month pack as a
page and records its outcome per action. Each form is the model `cig action ...` fills in, refuses what it
refuses naming the field, and writes nothing then; a link opens its own action only, saying nothing of another.

Every journey starts from the email the test SMTP server received and ends with the page's confirmation and the
record in the case database. Dates are the website's (today's): target dates are set relative to it.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta, timezone

import httpx
from sqlalchemy import text

from casework.delivery import deliver_pending
from casework.learning import actions as learning
from casework.learning.forms import ActionForm
from casework.learning.store import get_action, updates_of
from casework.office import Office
from casework.review import store as review_store
from casework.store import cases as store
from casework.store.tables import ActionUpdate
from casework.sweep import queue_reminders
from tests.website.conftest import link_in, mails_to, now
from tests.website.test_review_pages import MANAGER, commissioned, today_parts, token_of
from tests.website.test_website_browser import PDF

ASH, SKY, JO = "ash.lead@example.org", "sky.practitioner@example.org", "jo.constable@example.org"
SOCIAL_CARE, COMMITTEE = "social-care@example.org", "pdc@example.org"


def plan(today: date) -> list[ActionForm]:
    def action(**data: str) -> ActionForm:
        return ActionForm.model_validate(data, context={"today": today})

    return [
        action(plan="multi_agency", finding="Health visitors did not hear of the police call-outs.",
               action="Add health visiting to the daily domestic abuse triage.", agency="HEALTH", lead_name="Ash Lead",
               lead_email=ASH, target_on=(today + timedelta(days=30)).isoformat(),
               evidence_of_impact="Triage minutes show health visiting at 9 in 10 meetings."),
        action(plan="single_agency", finding="Assessments did not ask about the father.",
               action="Audit 20 assessments for the father's involvement.", agency="CSC", lead_name="Sky Practitioner",
               lead_email=SKY, target_on=(today + timedelta(days=20)).isoformat(),
               evidence_of_impact="Audit shows fathers seen in 15 of 20 assessments."),
        action(plan="single_agency", finding="Supervision did not test the plan.",
               action="Add the plan's test to supervision notes.", agency="CSC", lead_name="Jo Constable",
               lead_email=JO, target_on=(today + timedelta(days=10)).isoformat(),
               evidence_of_impact="Supervision notes record the test."),
    ]


async def with_actions(office: Office) -> str:
    """A commissioned review with three actions, each lead told by email (a link each); its reference."""
    reference = await commissioned(office)
    assert learning.add_actions(office, reference, plan(now().date()), now=now(), actor="training officer") == [1, 2, 3]
    await deliver_pending(office)
    return reference


def action_of(office: Office, reference: str, number: int) -> dict[str, object]:
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        review = review_store.get_review(session, case=case)
        found = get_action(session, case=case, review=review, number=number)
        return {"status": found.status, "note": found.status_note, "target_on": found.target_on,
                "outcome": found.outcome, "updates": [(u.changes, u.reason, u.actor) for u in updates_of(session, action=found)]}


async def test_a_named_lead_reports_progress_and_asks_a_new_date_the_business_manager_accepts(
        office: Office, client: httpx.AsyncClient) -> None:
    reference = await with_actions(office)
    [notice] = mails_to(office, ASH, "You are the named lead")
    link = link_in(notice)
    assert "send the evidence to the business manager" not in notice.text()  # the page, not an email, takes it
    page = (await client.get(link)).text
    assert "Learning action 1" in page and "Add health visiting to the daily domestic abuse triage." in page
    assert "Report progress" in page and "Ask for a new target date" in page and "Open" in page

    # progress: blank refused naming the field, nothing written; then recorded
    form = (await client.get(f"{link}/report/progress")).text
    refused = await client.post(f"{link}/report/progress", data={"progress": " ", "form_token": token_of(form)})
    assert refused.status_code == 400 and "There is a problem" in refused.text
    assert '<a href="#progress">What has been done so far, and what is still to do: this is required</a>' in refused.text
    assert action_of(office, reference, 1)["updates"] == []
    done = await client.post(f"{link}/report/progress", data={
        "progress": "Triage invitations sent to health visiting.", "number": "2", "form_token": token_of(form)})
    assert done.status_code == 303 and done.headers["location"] == "/" + link.split("/", 3)[3] + "?recorded=progress"
    shown = (await client.get(f"{link}?recorded=progress")).text
    assert "Progress recorded" in shown and "Triage invitations sent to health visiting." in shown
    [(changes, words, actor)] = action_of(office, reference, 1)["updates"]  # action 1's, whatever number was posted
    assert changes == {"progress": True} and words == "Triage invitations sent to health visiting."
    assert re.fullmatch(r"the action's named lead \(link \d+\)", actor)
    assert action_of(office, reference, 2)["updates"] == []

    # a new target date: in the past refused; then asked, and the business manager told with a link
    form = (await client.get(f"{link}/report/new-date")).text
    past = await client.post(f"{link}/report/new-date", data={**today_parts("target_on", 1), "reason": "Staff away.",
                                                              "form_token": token_of(form)})
    assert past.status_code == 400 and "give a date after today" in past.text
    asked_for = now().date() + timedelta(days=60)
    asked = await client.post(f"{link}/report/new-date", data={
        "target_on-day": str(asked_for.day), "target_on-month": str(asked_for.month),
        "target_on-year": str(asked_for.year), "reason": "The triage moves to a new rota in the spring.",
        "form_token": token_of(form)})
    assert asked.status_code == 303
    assert "waiting for the business manager's answer" in (await client.get(link)).text
    await deliver_pending(office)
    [request] = mails_to(office, MANAGER, "New target date asked for")
    assert "The triage moves to a new rota in the spring." in request.text()
    decisions = re.search(r"https?://\S+/link/[A-Za-z0-9_-]{43}/actions", request.text()).group(0)  # type: ignore[union-attr]
    listing = (await client.get(decisions)).text
    assert "New target dates asked for" in listing and "Action 1: a new target date of" in listing
    form = (await client.get(f"{decisions.removesuffix('/actions')}/report/new-date-1")).text
    declined_blank = await client.post(f"{decisions.removesuffix('/actions')}/report/new-date-1", data={
        "decision": "declined", "form_token": token_of(form)})
    assert declined_blank.status_code == 400 and "say why the new date is declined" in declined_blank.text
    accepted = await client.post(f"{decisions.removesuffix('/actions')}/report/new-date-1", data={
        "decision": "accepted", "form_token": token_of(form)})
    assert accepted.status_code == 303 and accepted.headers["location"].endswith("/actions?recorded=new-date-1")
    assert "Decision recorded for action 1" in (await client.get(decisions + "?recorded=new-date-1")).text
    twice = await client.post(f"{decisions.removesuffix('/actions')}/report/new-date-1", data={
        "decision": "declined", "note": "No.", "form_token": token_of(form)})
    assert twice.status_code == 409 and "This has already been recorded" in twice.text
    after = action_of(office, reference, 1)
    assert after["target_on"] == asked_for
    assert after["updates"][-1][0]["target_on"][1] == asked_for.isoformat()  # as `cig action update --target-on`
    assert re.fullmatch(r"the business manager \(link \d+\)", str(after["updates"][-1][2]))
    await deliver_pending(office)
    [told] = mails_to(office, ASH, "New target date accepted")
    assert link_in(told) != link and "Learning action 1" in (await client.get(link_in(told))).text
    assert "Learning action 1" in (await client.get(link)).text  # the first email's link still opens


async def test_a_named_lead_records_the_action_done_with_a_file_and_the_link_then_says_so(
        office: Office, client: httpx.AsyncClient) -> None:
    reference = await with_actions(office)
    link = link_in(mails_to(office, SKY, "You are the named lead")[0])
    form = (await client.get(f"{link}/report/done")).text
    assert 'type="file" multiple' in form
    nothing = await client.post(f"{link}/report/done", data={"form_token": token_of(form)})
    assert nothing.status_code == 400 and '<a href="#evidence">The evidence that the action is done: ' in nothing.text
    disguised = await client.post(f"{link}/report/done", data={"evidence": "Audit done.", "form_token": token_of(form)},
                                  files={"evidence_files": ("Audit.pdf", b"<html>no</html>", "application/pdf")})
    assert disguised.status_code == 400
    assert "Audit.pdf is not a PDF, Word (.docx) or OpenDocument (.odt) document" in disguised.text
    assert action_of(office, reference, 2)["status"] == "open"
    recorded = await client.post(f"{link}/report/done", data={
        "evidence": "The audit of 20 assessments found fathers seen in 16.", "form_token": token_of(form)},
        files={"evidence_files": ("Audit findings.pdf", PDF, "application/pdf")})
    assert recorded.status_code == 200 and "Action recorded done" in recorded.text
    assert "1 file (Audit findings.pdf)" in recorded.text
    after = action_of(office, reference, 2)
    assert after["status"] == "done" and after["note"] == "The audit of 20 assessments found fathers seen in 16."
    with office.sessions() as session:
        raw = session.execute(text("SELECT document FROM action_documents")).scalar()
    assert "Audit findings" not in raw and "JVBER" not in raw  # sealed, its name too
    again = await client.get(link)
    assert again.status_code == 410 and "This has already been recorded" in again.text
    twice = await client.post(f"{link}/report/done", data={"evidence": "Again.", "form_token": token_of(form)})
    assert twice.status_code == 410 and action_of(office, reference, 2)["note"] != "Again."


async def test_the_chase_brings_a_fresh_link_and_the_cig_member_sees_the_agencys_actions(
        office: Office, client: httpx.AsyncClient) -> None:
    reference = await with_actions(office)
    first = link_in(mails_to(office, JO, "You are the named lead")[0])
    overdue = office.calendar.working_day_on_or_after((now() + timedelta(days=12)).date())  # no chase on a day
    late = datetime(overdue.year, overdue.month, overdue.day, 12, tzinfo=timezone.utc)  # no one works (a Saturday)
    assert queue_reminders(office, now=late).queued
    await deliver_pending(office, now=late)
    [chase] = mails_to(office, JO, "Overdue: learning action 3")
    assert link_in(chase) != first and "on the action's page" in chase.text()
    assert "Learning action 3" in (await client.get(link_in(chase))).text
    assert "Learning action 3" in (await client.get(first)).text
    [copy] = mails_to(office, SOCIAL_CARE, "Overdue: learning action 3")
    view = html.unescape((await client.get(link_in(copy))).text)
    assert "Children's Social Care's learning and improvement actions" in view
    assert "Add the plan's test to supervision notes." in view and "Audit 20 assessments" in view
    assert "Add health visiting" not in view  # another agency's action
    assert (await client.get(f"{link_in(copy)}/report/progress")).status_code == 404  # read only


async def test_a_link_opens_its_own_action_only_and_says_nothing_of_another(
        office: Office, client: httpx.AsyncClient) -> None:
    reference = await with_actions(office)
    ash = link_in(mails_to(office, ASH, "You are the named lead")[0])
    sky = link_in(mails_to(office, SKY, "You are the named lead")[0])
    form = (await client.get(f"{sky}/report/done")).text
    await client.post(f"{sky}/report/done", data={"evidence": "Audit done.", "form_token": token_of(form)},
                      files={"evidence_files": ("Audit findings.pdf", PDF, "application/pdf")})
    with office.sessions() as session:
        document = session.execute(text("SELECT id FROM action_documents")).scalar()
    for address in (f"{ash}/evidence/{document}", f"{ash}/report/outcome-2", f"{ash}/actions", f"{ash}/report/new-date-2"):
        refused = await client.get(address)
        assert refused.status_code == 404 and "Audit" not in refused.text and reference not in refused.text
    stolen = await client.post(f"{ash}/report/progress", data={"progress": "x", "form_token": token_of(form)})
    assert stolen.status_code == 403  # the other link's form token
    assert action_of(office, reference, 1)["updates"] == []


async def test_the_committee_reads_the_pack_overdue_first_and_records_an_outcome_per_action(
        office: Office, client: httpx.AsyncClient) -> None:
    reference = await with_actions(office)
    with office.sessions.begin() as session:  # action 3 past its target: overdue
        session.execute(text("UPDATE learning_actions SET target_on = :on WHERE number = 3"),
                        {"on": now().date() - timedelta(days=5)})
    learning.send_impact_pack(office, reference, meeting_at=now() + timedelta(days=7), now=now(), actor="administrator")
    await deliver_pending(office)
    [pack] = mails_to(office, COMMITTEE, "6-month review")
    assert "to the partnership administrator" not in pack.text()
    page = html.unescape((await client.get(link_in(pack))).text)
    assert "6-month review of the learning and improvement plans" in page and "1 overdue" in page
    assert page.index("Add the plan's test to supervision notes.") < page.index("Audit 20 assessments")  # overdue first
    assert [m for m in mails_to(office, MANAGER, "6-month review") if "/link/" in m.text()] == []  # the committee's link only

    form = html.unescape((await client.get(f"{link_in(pack)}/report/outcome-3")).text)
    assert "The committee's outcome for this action" in form and "Impact evidenced" in form
    blank = await client.post(f"{link_in(pack)}/report/outcome-3", data={"form_token": token_of(form)})
    assert blank.status_code == 400 and "The committee's outcome for this action: this is required" in \
        html.unescape(blank.text)
    recorded = await client.post(f"{link_in(pack)}/report/outcome-3", data={
        "outcome": "more_needed", "note": "Ask for the supervision audit.", **today_parts("on"), "form_token": token_of(form)})
    assert recorded.status_code == 303
    assert "Outcome recorded for action 3" in (await client.get(f"{link_in(pack)}?recorded=outcome-3")).text
    assert action_of(office, reference, 3)["outcome"] == "more_needed"
    assert (await client.get(f"{link_in(pack)}/report/outcome-9")).status_code == 404
    with office.sessions() as session:
        assert session.query(ActionUpdate).count() == 1


def test_the_administrators_throttling_notice_names_an_action_links_holder_in_words(office: Office) -> None:
    from casework.links import LinkStep
    from website.notices import link_holder

    p = office.partnership
    assert link_holder(p, LinkStep.action, "HEALTH") == "Northshire Health Trust's action lead"
    assert link_holder(p, LinkStep.agency_actions, "CSC") == "Children's Social Care's CIG member"
    assert link_holder(p, LinkStep.impact_review, None) == "the professional development committee"
