"""The review's drafts before the CIG, the executive group and the board (issue 20, item 3): each body ratifies
from the personal link in the email that tells it the drafts are ready, on a page that shows the drafts uploaded
(downloads through this link only) and the action plans as a table, and records ratified, or returned with
comments, as `cig review ratify` records it (the same form, the same casework function); what the form refuses is
named in the error summary and nothing is written; a second submit is told it is already recorded.

Every journey starts from the email the test SMTP server received and ends with the page's confirmation and the
record in the case database.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

import httpx

from casework.delivery import deliver_pending
from casework.learning.actions import add_actions
from casework.learning.forms import ActionForm
from casework.office import Office
from casework.review import actions as review_actions
from casework.review.forms import AppointmentForm, RatificationForm
from casework.store import cases as store
from config.rulesets import retired_word_in
from tests.website.conftest import POLICE, link_in, mails_to, now
from tests.website.test_review_pages import MANAGER, REVIEWER, commissioned, today_parts, token_of
from tests.website.test_website_browser import PDF
from website.app import create_app

CIG_CHAIR, EXECUTIVE, BOARD = "cig-chair@example.org", "executive-group@example.org", "board@example.org"


async def drafts_uploaded(office: Office, client: httpx.AsyncClient) -> str:
    """A commissioned SCR with its lead reviewer appointed, who uploads the draft report on the task list; one
    action in the plans. Its reference."""
    reference = await commissioned(office)
    review_actions.appoint_reviewer(office, reference, AppointmentForm(
        reviewer="Rowan Reviewer", kind="independent", independent_of_agencies=True, appointed_on=now().date(),
        appointed_by="Review group", email=REVIEWER), now=now(), actor="test")
    await deliver_pending(office)
    add_actions(office, reference, [ActionForm(
        plan="multi_agency", finding="Information was not shared between health and social care.",
        action="Audit 20 assessments for information sharing.", agency="CSC", lead_name="Ash Lead",
        lead_email="ash.lead@example.org", target_on=now().date() + timedelta(days=120),
        evidence_of_impact="The audit's results, before and after.")], now=now(), actor="test")
    await upload(office, client, reference, "draft_report", "Draft report.pdf")
    return reference


async def upload(office: Office, client: httpx.AsyncClient, reference: str, kind: str, filename: str) -> None:
    link = link_in(mails_to(office, REVIEWER, f"[{reference}] Lead reviewer appointed")[0])
    form = (await client.get(f"{link}/task/drafts")).text
    assert (await client.post(f"{link}/task/drafts", data={"kind": kind, "form_token": token_of(form)},
                              files={"document": (filename, PDF, "application/pdf")})).status_code == 303
    await deliver_pending(office)


def ratifications(office: Office, reference: str) -> list[tuple[str, str, str | None]]:
    with office.sessions() as session:
        review = store.get_case(session, reference=reference).review
        return [(r["by"], r["result"], r["comments"]) for r in review.ratifications]


def stage(office: Office, reference: str) -> str:
    with office.sessions() as session:
        return store.get_case(session, reference=reference).review.stage


async def test_the_cig_the_executive_group_and_the_board_ratify_from_the_emails_that_say_the_drafts_are_ready(
        office: Office, client: httpx.AsyncClient) -> None:
    reference = await drafts_uploaded(office, client)
    [ready] = mails_to(office, CIG_CHAIR, "drafts ready")
    assert "Review drafts ready for the Critical Incident Group" in ready.subject
    assert "the draft report and findings" in ready.text() and "Draft report.pdf" not in ready.text()
    assert not mails_to(office, EXECUTIVE) and not mails_to(office, BOARD)  # not their turn yet

    cig = link_in(ready)
    page = await client.get(cig)
    assert page.status_code == 200 and "Ratify the review's drafts" in page.text
    assert "Draft report and findings" in page.text and "Draft report.pdf" in page.text
    assert "Audit 20 assessments for information sharing." in page.text and "Ash Lead" in page.text
    assert "Children&#39;s Social Care" in page.text or "CSC" in page.text
    [number] = re.findall(r'/ratification-documents/(\d+)"', page.text)
    download = await client.get(f"{cig}/ratification-documents/{number}")
    assert download.status_code == 200 and download.content == PDF
    assert (await client.post(cig, data={"result": "ratified", **today_parts("on"),
                                         "form_token": token_of(page.text)})).text.count("Drafts ratified") >= 1
    assert ratifications(office, reference) == [("cig", "ratified", None)]
    again = await client.post(cig, data={"result": "ratified", **today_parts("on"), "form_token": token_of(page.text)})
    assert again.status_code == 410 and "This has already been recorded" in again.text
    assert ratifications(office, reference) == [("cig", "ratified", None)]  # nothing written twice
    await deliver_pending(office)

    # the executive group: told the CIG ratified and that the drafts are ready for it, with its own link
    [told] = mails_to(office, EXECUTIVE, "ratified")
    assert "The drafts are ready for you" in told.text()
    executive = link_in(told)
    page = await client.get(executive)
    assert "before the executive group" in page.text and "Draft report.pdf" in page.text
    refused = await client.post(executive, data={"result": "returned", **today_parts("on"),
                                                 "form_token": token_of(page.text)})
    assert refused.status_code == 400 and 'class="govuk-error-summary"' in refused.text
    assert '<a href="#comments">' in refused.text and "say what must change when the drafts are returned" in refused.text
    future = await client.post(executive, data={"result": "ratified", **today_parts("on", days_ago=-3),
                                                "form_token": token_of(page.text)})
    assert future.status_code == 400 and '<a href="#on">' in future.text
    assert ratifications(office, reference) == [("cig", "ratified", None)]  # nothing written on a refusal
    returned = await client.post(executive, data={
        "result": "returned", **today_parts("on"), "comments": "Give each action a measurable target.",
        "form_token": token_of(page.text)})
    assert returned.status_code == 200 and "Drafts returned with comments" in returned.text
    assert "The lead reviewer revises the drafts" in returned.text
    assert ratifications(office, reference)[-1] == ("executive_group", "returned", "Give each action a measurable target.")
    assert (await client.get(executive)).status_code == 410  # used up by its outcome
    await deliver_pending(office)
    [manager] = mails_to(office, MANAGER, "returned")
    assert "Give each action a measurable target." in manager.text()

    # revised plans uploaded: the executive group is told they are ready, with a new link, and ratifies
    await upload(office, client, reference, "action_plans", "Action plans v2.pdf")
    [again_ready] = mails_to(office, EXECUTIVE, "drafts ready")
    executive = link_in(again_ready)
    page = await client.get(executive)
    assert "Action plans v2.pdf" in page.text and "returned on" in page.text
    done = await client.post(executive, data={"result": "ratified", **today_parts("on"),
                                              "form_token": token_of(page.text)})
    assert "Drafts ratified" in done.text and "The drafts go to the partnership board" in done.text
    await deliver_pending(office)

    # the board: its own link in the email that the executive group ratified
    [board_told] = mails_to(office, BOARD, "ratified by the executive group")
    board = link_in(board_told)
    page = await client.get(board)
    assert "before the partnership board" in page.text
    done = await client.post(board, data={"result": "ratified", **today_parts("on"), "form_token": token_of(page.text)})
    assert done.status_code == 200 and "the business manager arranges its publication" in done.text
    assert [r[:2] for r in ratifications(office, reference)] == [
        ("cig", "ratified"), ("executive_group", "returned"), ("executive_group", "ratified"), ("board", "ratified")]
    assert stage(office, reference) == "awaiting_publication"
    with office.sessions() as session:
        trail = [e.actor for e in store.audit_trail(session, reference=reference) if e.action == "review drafts ratified"]
    assert trail[-1].startswith("board (link ")  # the audit names the body, never a person


async def test_a_ratification_link_is_refused_for_another_review_another_body_s_turn_and_once_recorded_elsewhere(
        office: Office, client: httpx.AsyncClient) -> None:
    reference = await drafts_uploaded(office, client)
    cig = link_in(mails_to(office, CIG_CHAIR, "drafts ready")[0])
    other = await drafts_uploaded(office, client)
    other_cig = link_in([m for m in mails_to(office, CIG_CHAIR, "drafts ready") if other in m.subject][0])
    ours = re.findall(r'/ratification-documents/(\d+)"', (await client.get(cig)).text)
    theirs = re.findall(r'/ratification-documents/(\d+)"', (await client.get(other_cig)).text)
    assert ours and theirs and set(ours).isdisjoint(theirs)
    assert (await client.get(f"{cig}/ratification-documents/{theirs[0]}")).status_code == 404  # another review's
    manager = link_in(mails_to(office, MANAGER, f"[{reference}] Serious Case Review commissioned")[0])
    police = link_in(mails_to(office, POLICE, f"[{reference}] A Serious Case Review has begun")[0])
    for holder in (manager, police):  # the review's other links do not open the ratification's downloads
        assert (await client.get(f"{holder}/ratification-documents/{ours[0]}")).status_code == 404

    # the business manager records the CIG's outcome on the task list: the CIG's link is then already recorded
    token = token_of((await client.get(f"{manager}/task/terms")).text)
    assert (await client.post(f"{manager}/task/ratification-cig", data={
        "result": "ratified", **today_parts("on"), "form_token": token})).status_code == 303
    page = await client.get(cig)
    assert page.status_code == 410 and "This has already been recorded" in page.text
    assert (await client.get(f"{cig}/ratification-documents/{ours[0]}")).status_code == 410
    assert ratifications(office, reference) == [("cig", "ratified", None)]
    assert ratifications(office, other) == []  # the other review is untouched

    # a post from another site, or without the page's token, is refused and writes nothing
    await deliver_pending(office)
    executive = link_in([m for m in mails_to(office, EXECUTIVE, "ratified") if reference in m.subject][0])
    forged = await client.post(executive, data={"result": "ratified", **today_parts("on"), "form_token": "0" * 64})
    assert forged.status_code == 403 and len(ratifications(office, reference)) == 1


def test_the_executive_group_returns_the_drafts_with_comments_in_the_browser(
        office: Office, served: str, tmp_path: Path) -> None:
    """Headless Chromium (Debian's, through Playwright) on the website uvicorn serves: the executive group opens
    the link in its email, sees the drafts and the plans, is told a return needs comments, returns them; axe-core
    finds no WCAG 2.2 AA violation on any page. Screenshots (1366x768) under the test's tmp_path."""
    from tests.system.browser import chromium, watched_page
    from tests.website.test_website_browser import AXE, violations

    assert AXE.exists(), "make install puts axe-core under website/node_modules (npm ci)"

    async def ratified_by_the_cig() -> str:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(office)),
                                     base_url=office.settings.website_url) as client:
            reference = await drafts_uploaded(office, client)
        review_actions.record_ratification(office, reference, RatificationForm(by="cig", result="ratified",
                                                                               on=now().date()), now=now(), actor="test")
        await deliver_pending(office)
        return reference

    reference = asyncio.run(ratified_by_the_cig())
    [mail] = mails_to(office, EXECUTIVE, "ratified")
    problems: list[str] = []
    with chromium() as browser:
        page = watched_page(browser, problems)

        page.goto(link_in(mail))
        page.get_by_role("heading", name="Ratify the review's drafts").wait_for()
        assert page.get_by_role("link", name="Draft report.pdf").is_visible()
        assert page.get_by_role("cell", name="Audit 20 assessments for information sharing.").is_visible()
        assert reference not in page.title()
        page.screenshot(path=str(tmp_path / "ratify-drafts.png"))
        page.screenshot(path=str(tmp_path / "ratify-drafts-full.png"), full_page=True)
        assert violations(page) == []

        page.get_by_label("Returned with comments: revised, and back to the same body").check()
        on = now().date()
        page.get_by_label("Day").fill(str(on.day))
        page.get_by_label("Month").fill(str(on.month))
        page.get_by_label("Year").fill(str(on.year))
        page.get_by_role("button", name="Record the outcome").click()
        page.get_by_role("heading", name="There is a problem").wait_for()
        page.get_by_role("link", name=re.compile("say what must change when the drafts are returned")).click()
        assert page.evaluate("document.activeElement.id") == "comments"
        page.screenshot(path=str(tmp_path / "ratify-problem.png"), full_page=True)
        assert violations(page) == []
        assert ratifications(office, reference) == [("cig", "ratified", None)]

        page.locator("#comments").fill("Give each action a measurable target.")
        page.get_by_role("button", name="Record the outcome").click()
        page.get_by_role("heading", name="Drafts returned with comments").wait_for()
        page.screenshot(path=str(tmp_path / "ratify-returned.png"))
        assert violations(page) == []
    assert problems == []
    assert ratifications(office, reference)[-1] == ("executive_group", "returned", "Give each action a measurable target.")


PARTNERS = {"local_authority": "children-director@example.org", "icb": "icb-safeguarding@example.org",
            "police": "police-safeguarding@example.org"}  # who acts for each partner: its delegate
LEADS = ("la-chief-executive@example.org", "icb-chief-executive@example.org", "chief-constable@example.org")


def partner_answers(office: Office, reference: str) -> list[tuple[int, str, str]]:
    from casework.store.decisions import SIGN_OFF
    from casework.store.tables import PartnerDecision

    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        return [(a.round, a.partner, a.response) for a in session.query(PartnerDecision).filter_by(
            case_id=case.id, step=SIGN_OFF).order_by(PartnerDecision.id)]


async def drafts_before_the_partners(office: Office, client: httpx.AsyncClient) -> str:
    """A commissioned review under wt2023 (the safeguarding partners sign off) whose lead reviewer uploaded the
    final report on the task list, its mail delivered; one action in the plans. Its reference."""
    reference = await commissioned(office, regime="wt2023")  # an LCSPR under today's law: the partners sign off
    review_actions.appoint_reviewer(office, reference, AppointmentForm(
        reviewer="Rowan Reviewer", kind="independent", independent_of_agencies=True, appointed_on=now().date(),
        appointed_by="The safeguarding partners", email=REVIEWER), now=now(), actor="test")
    await deliver_pending(office)
    add_actions(office, reference, [ActionForm(
        plan="multi_agency", finding="Information was not shared between health and social care.",
        action="Audit 20 assessments for information sharing.", agency="CSC", lead_name="Ash Lead",
        lead_email="ash.lead@example.org", target_on=now().date() + timedelta(days=120),
        evidence_of_impact="The audit's results, before and after.")], now=now(), actor="test")
    await upload(office, client, reference, "final_report", "Final report.pdf")
    return reference


async def test_under_wt2023_each_safeguarding_partner_signs_off_from_their_own_link_and_a_return_returns_the_drafts(
        office: Office, client: httpx.AsyncClient) -> None:
    reference = await drafts_before_the_partners(office, client)

    # each acting partner, and no one else, is told the drafts are ready, with a link of their own
    links = {}
    for partner, address in PARTNERS.items():
        [ready] = mails_to(office, address, "drafts ready")
        assert "sign them off, or return them with comments" in ready.text().replace("\r\n", " ")
        links[partner] = link_in(ready)
    assert len(set(links.values())) == 3
    assert not any(mails_to(office, lead, "drafts ready") for lead in LEADS)
    assert not mails_to(office, MANAGER, "drafts ready")

    la = await client.get(links["local_authority"])
    assert la.status_code == 200 and "Sign off the review's drafts" in la.text
    assert "Final report.pdf" in la.text and "Audit 20 assessments for information sharing." in la.text
    assert "Signed off" in la.text and "Ratified" not in la.text  # the choices in the partners' words
    [number] = re.findall(r'/ratification-documents/(\d+)"', la.text)
    assert (await client.get(f"{links['local_authority']}/ratification-documents/{number}")).content == PDF
    done = await client.post(links["local_authority"], data={"result": "ratified", **today_parts("on"),
                                                             "form_token": token_of(la.text)})
    assert done.status_code == 200 and "Sign-off recorded" in done.text and "Northshire Council" in done.text
    again = await client.post(links["local_authority"], data={"result": "ratified", **today_parts("on"),
                                                              "form_token": token_of(la.text)})
    assert again.status_code == 410  # the same partner's answer is kept once
    assert partner_answers(office, reference) == [(0, "local_authority", "ratified")]
    assert ratifications(office, reference) == []  # not signed off until every partner has

    # the business manager's task list shows the answers so far, and records nothing itself
    manager = link_in(mails_to(office, MANAGER, "commissioned")[0])
    tasks = await client.get(manager)
    assert "So far: Northshire Council: signed off on" in tasks.text
    assert (await client.get(f"{manager}/task/ratification-safeguarding_partners")).status_code != 200

    # the ICB sees the council's answer and returns the drafts with comments: returned, as the board's return is
    icb = await client.get(links["icb"])
    assert "The partners' answers so far" in icb.text and "Northshire Council: signed off" in icb.text
    returned = await client.post(links["icb"], data={"result": "returned", **today_parts("on"), "form_token":
                                                     token_of(icb.text), "comments": "Name the actions' owners."})
    assert returned.status_code == 200 and "Drafts returned with comments" in returned.text
    assert ratifications(office, reference) == [
        ("safeguarding_partners", "returned", "Northshire Integrated Care Board: Name the actions' owners.")]
    assert (await client.get(links["police"])).status_code == 410  # the drafts before it were returned
    await deliver_pending(office)
    [told] = mails_to(office, MANAGER, "returned")
    assert "Name the actions' owners." in told.text()

    # the revised drafts: a new link each; every partner signs off, and the sign-off is recorded once
    await upload(office, client, reference, "final_report", "Final report v2.pdf")
    for partner, address in PARTNERS.items():
        fresh = link_in(mails_to(office, address, "drafts ready")[-1])
        assert fresh != links[partner]
        page = await client.get(fresh)
        assert (await client.post(fresh, data={"result": "ratified", **today_parts("on"),
                                               "form_token": token_of(page.text)})).status_code == 200
    assert ratifications(office, reference)[-1] == ("safeguarding_partners", "ratified", None)
    assert len(ratifications(office, reference)) == 2 and stage(office, reference) == "awaiting_publication"
    assert [p for r, p, _ in partner_answers(office, reference) if r == 1] == list(PARTNERS)
    with office.sessions() as session:
        trail = [e.actor for e in store.audit_trail(session, reference=reference)
                 if e.action == "partner sign-off: ratified"]
    assert [t.split(" (")[0] for t in trail] == ["partner local_authority", "partner local_authority", "partner icb",
                                                 "partner police"]


def test_a_safeguarding_partner_signs_off_from_their_own_link_in_the_browser(
        office: Office, served: str, tmp_path: Path) -> None:
    """Headless Chromium on the website uvicorn serves, under wt2023: the ICB's delegate opens the link in the
    email that the drafts are ready, sees the drafts to download and the council's answer so far, signs off; the
    answer is kept, and the drafts are not signed off until every partner has (the rule set's quorum: all).
    axe-core finds no WCAG 2.2 AA violation on either page. Screenshots (1366x768) under the test's tmp_path."""
    from tests.system.browser import chromium, watched_page
    from tests.website.test_website_browser import AXE, violations

    assert AXE.exists(), "make install puts axe-core under website/node_modules (npm ci)"

    async def the_council_signed_off() -> str:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(office)),
                                     base_url=office.settings.website_url) as client:
            reference = await drafts_before_the_partners(office, client)
        review_actions.record_partner_sign_off(office, reference, "local_authority", RatificationForm(
            by="safeguarding_partners", result="ratified", on=now().date()), link_id=None, now=now(), actor="test")
        return reference

    reference = asyncio.run(the_council_signed_off())
    [mail] = mails_to(office, PARTNERS["icb"], "drafts ready")
    problems: list[str] = []
    with chromium() as browser:
        page = watched_page(browser, problems)

        page.goto(link_in(mail))
        page.get_by_role("heading", name="Sign off the review's drafts").wait_for()
        assert page.get_by_role("link", name="Final report.pdf").is_visible()
        assert page.get_by_role("cell", name="Audit 20 assessments for information sharing.").is_visible()
        assert page.get_by_role("heading", name="The partners' answers so far").is_visible()
        assert page.get_by_text("Northshire Council: signed off").is_visible()
        assert reference not in page.title()
        shown = page.inner_text("body")
        assert retired_word_in(shown, office.rules("wt2023").retired_words) is None, shown
        page.screenshot(path=str(tmp_path / "partner-sign-off.png"))
        page.screenshot(path=str(tmp_path / "partner-sign-off-full.png"), full_page=True)
        assert violations(page) == []

        page.get_by_label(re.compile("^Signed off")).check()
        on = now().date()
        page.get_by_label("Day").fill(str(on.day))
        page.get_by_label("Month").fill(str(on.month))
        page.get_by_label("Year").fill(str(on.year))
        page.get_by_role("button", name="Record the outcome").click()
        page.get_by_role("heading", name="Sign-off recorded").wait_for()
        text = " ".join(page.inner_text("main").split())
        assert "Northshire Integrated Care Board signed off the drafts" in text
        assert "The drafts are signed off when the partners have signed off" in text
        assert "Every partner needed has signed off" not in text
        page.screenshot(path=str(tmp_path / "partner-sign-off-recorded.png"))
        assert violations(page) == []
    assert problems == []
    assert partner_answers(office, reference) == [(0, "local_authority", "ratified"), (0, "icb", "ratified")]
    assert ratifications(office, reference) == []  # the police have not answered: not signed off yet
    assert stage(office, reference) == "under_way"
