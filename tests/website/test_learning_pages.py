"""A review's learning written up by the training officer (issue 20, item 6): the email telling them the learning is
theirs (sent when the board ratifies the final report) carries a personal link to a page with the learning
summary's form (every field of seed 001 Appendix B the case does not give, the rest shown from the case), the
dissemination and audits recorded, and the downloads of the summary (Word) and the learning and improvement index
(Excel). The same models and casework functions as `cig learning summary|disseminate|audit`: a text naming the
child is refused naming the field in the error summary, and nothing is written.

Every journey starts from the email the test SMTP server received and ends with the page's confirmation and the
record in the case database.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
from pathlib import Path

import httpx
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select

from casework.delivery import deliver_pending
from casework.learning import store as learning_store
from casework.office import Office
from casework.review import actions as review_actions
from casework.review.forms import RatificationForm
from casework.store import cases as store
from casework.store.tables import AuditEvent
from tests.system.browser import chromium
from tests.website.conftest import link_in, mails_to, now
from tests.website.test_ratification_pages import drafts_uploaded
from tests.website.test_review_pages import REVIEWER, token_of, today_parts
from tests.website.test_website_browser import AXE, violations
from website.app import create_app

TRAINING = "training@example.org"
SUMMARY = {
    "case_selection": "Referred by the named nurse; the CIG recommended a serious case review.",
    "learning_about_case": "Agencies did not share what they knew about the mother's partner.",
    "learning_about_method": "Practitioner events gave the most learning.",
    "single_agency_recommendations": "Health visitors ask who lives in the home at every visit.",
    "multi_agency_recommendations": "=HYPERLINK(\"http://example.org\") a shared chronology for infants under one.",
    "who_is_doing_what": "The training officer runs briefings; agencies' leads audit practice.",
    "impact_audit": "A multi-agency case file audit in six months.",
}


async def board_ratified(office: Office, client: httpx.AsyncClient) -> str:
    """A serious case review whose drafts the CIG, the executive group and the board have ratified (recorded as
    `cig review ratify` records them), the emails delivered; its reference."""
    reference = await drafts_uploaded(office, client)
    for body in ("cig", "executive_group", "board"):
        review_actions.record_ratification(office, reference, RatificationForm.model_validate(
            {"by": body, "result": "ratified", "on": now().date()}, context={"today": now().date()}),
            now=now(), actor="test")
    await deliver_pending(office)
    return reference


def summaries(office: Office, reference: str) -> list[dict]:
    with office.sessions() as session:
        review = store.get_case(session, reference=reference).review
        return [r.data["form"] for r in learning_store.records(session, kind="summary", review=review)]


def spread(office: Office, reference: str) -> list[dict]:
    with office.sessions() as session:
        review = store.get_case(session, reference=reference).review
        return [r.data for r in learning_store.records(session, kind="dissemination", review=review)]


async def test_the_training_officer_writes_the_summary_records_dissemination_and_downloads_the_index(
        office: Office, client: httpx.AsyncClient) -> None:
    reference = await drafts_uploaded(office, client)
    assert not mails_to(office, TRAINING)  # not before the board has ratified
    for body in ("cig", "executive_group"):
        review_actions.record_ratification(office, reference, RatificationForm.model_validate(
            {"by": body, "result": "ratified", "on": now().date()}, context={"today": now().date()}),
            now=now(), actor="test")
    await deliver_pending(office)
    assert not mails_to(office, TRAINING)
    review_actions.record_ratification(office, reference, RatificationForm.model_validate(
        {"by": "board", "result": "ratified", "on": now().date()}, context={"today": now().date()}),
        now=now(), actor="test")
    await deliver_pending(office)
    [told] = mails_to(office, TRAINING, "learning")
    assert f"[{reference}] The review's learning is ready for you to write up" == told.subject
    assert "ratified the final report" in told.text() and "Robin" not in told.text()
    link = link_in(told)

    page = await client.get(link)
    assert page.status_code == 200 and "Write up the review's learning" in page.text
    assert "Review reference" in page.text and "Serious Case Review" in page.text
    assert "The summary is not written yet." in page.text
    assert (await client.get(f"{link}/learning-summary.docx")).status_code == 404  # nothing to download yet

    form = await client.get(f"{link}/learning/summary")
    for label in ("How the case was selected for review", "The date the review was completed",
                  "What was learnt about the case", "What was learnt about the review / methodology",
                  "Key single-agency recommendations", "Key multi-agency recommendations",
                  "How the changes will be made and who is doing what", "How impact will be audited", "Other comments",
                  "Area", "Type of review", "Methodology", "Chairing/authoring", "Month/year of incident"):
        assert label in form.text, label

    # a text naming the child: refused, naming the field in the error summary; nothing written
    naming = SUMMARY | {"learning_about_case": "Robin was not seen alone by any agency."}
    refused = await client.post(f"{link}/learning/summary", data=naming | today_parts("completed_on")
                                | {"form_token": token_of(form.text)})
    assert refused.status_code == 400 and 'class="govuk-error-summary"' in refused.text
    assert '<a href="#learning_about_case">What was learnt about the case' in refused.text
    assert "word 1 is (part of) the name of someone in the case" in refused.text
    assert summaries(office, reference) == []

    saved = await client.post(f"{link}/learning/summary", data=SUMMARY | today_parts("completed_on")
                              | {"form_token": token_of(form.text)})
    assert saved.status_code == 200 and "Learning summary saved" in saved.text
    [kept] = summaries(office, reference)
    assert kept["learning_about_case"] == SUMMARY["learning_about_case"]
    assert kept["completed_on"] == now().date().isoformat()

    word = await client.get(f"{link}/learning-summary.docx")
    assert word.status_code == 200
    rows = {r.cells[0].text: r.cells[1].text for r in Document(io.BytesIO(word.content)).tables[0].rows}
    assert rows["Review reference"] == reference and rows["Area"] == office.partnership.name
    assert rows["How will impact be audited"] == SUMMARY["impact_audit"]
    assert "Methodology:" in rows["Type of review"] and SUMMARY["case_selection"] in rows["Type of review"]

    page = await client.get(link)
    dissemination = await client.get(f"{link}/learning/dissemination")
    done = await client.post(f"{link}/learning/dissemination", data={
        "kind": "practice_audit", **today_parts("on"), "audience": "12 practitioners",
        "note": "Eleven of twelve knew to ask who lives in the home.", "form_token": token_of(dissemination.text)})
    assert done.status_code == 200 and "Recorded" in done.text and "12 practitioners" in done.text
    [recorded] = spread(office, reference)
    assert recorded["kind"] == "practice_audit" and recorded["by"] == "Toni Training"
    page = await client.get(link)
    assert "A practice learning focus group audit" in page.text and "Eleven of twelve" in page.text

    audit = await client.get(f"{link}/learning/audit")
    entered = await client.post(f"{link}/learning/audit", data={
        "review_type": "multi-agency audit", "name": "Neglect: multi-agency case file audit",
        "overview": "Ten cases of neglect.", "findings": "Chronologies were missing.",
        "improvement_activity": "A chronology template.", "evidence_of_improvement": "Re-audit in 2027.",
        "form_token": token_of(audit.text)})
    assert entered.status_code == 200 and "Audit entered in the index" in entered.text

    workbook = await client.get(f"{link}/learning-index.xlsx")
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:2] == ["Type of review", "Name"]
    review_row = next(r for r in rows if r[1] == reference)
    assert review_row[4] == SUMMARY["learning_about_case"]
    assert "Eleven of twelve knew" in review_row[6]
    assert any(r[1] == "Neglect: multi-agency case file audit" for r in rows)
    assert all(sheet.cell(row=i, column=j).data_type == "s" for i in range(1, sheet.max_row + 1)
               for j in range(1, 8))  # text stays text: no formula

    # the pages are the training officer's link's only: the lead reviewer's link, or a post to the link itself,
    # finds nothing
    reviewer = link_in(mails_to(office, REVIEWER, f"[{reference}] Lead reviewer appointed")[0])
    for address in ("learning-index.xlsx", "learning-summary.docx", "learning/summary"):
        assert (await client.get(f"{reviewer}/{address}")).status_code == 404
    assert (await client.post(link, data={"form_token": token_of(audit.text)})).status_code == 404
    with office.sessions() as session:
        trail = session.execute(select(AuditEvent.actor, AuditEvent.action)
                                .where(AuditEvent.case_reference == reference)).all()
    assert any(actor.startswith("the training officer (link ") and action == "learning summary recorded"
               for actor, action in trail)  # the audit names the role, never the person

async def test_the_summary_is_changed_from_the_same_link_and_refused_posts_write_nothing(
        office: Office, client: httpx.AsyncClient) -> None:
    reference = await board_ratified(office, client)
    link = link_in(mails_to(office, TRAINING, "learning")[0])
    form = await client.get(f"{link}/learning/summary")
    future = await client.post(f"{link}/learning/summary", data=SUMMARY | today_parts("completed_on")
                               | today_parts("harmed_on", days_ago=-5) | {"form_token": token_of(form.text)})
    assert future.status_code == 400 and '<a href="#harmed_on">' in future.text
    missing = await client.post(f"{link}/learning/summary", data={"form_token": token_of(form.text)})
    assert missing.status_code == 400 and '<a href="#case_selection">' in missing.text
    forged = await client.post(f"{link}/learning/summary", data=SUMMARY | today_parts("completed_on")
                               | {"form_token": "0" * 64})
    assert forged.status_code == 403
    naming_parent = await client.post(f"{link}/learning/dissemination", data={
        "kind": "training", **today_parts("on"), "audience": "Jordan's health visitors", "form_token": token_of(form.text)})
    assert naming_parent.status_code == 400 and '<a href="#audience">' in naming_parent.text
    assert summaries(office, reference) == [] and spread(office, reference) == []

    await client.post(f"{link}/learning/summary", data=SUMMARY | today_parts("completed_on")
                      | {"form_token": token_of(form.text)})
    again = await client.get(f"{link}/learning/summary")
    assert SUMMARY["impact_audit"] in again.text  # the form opens with what was saved
    await client.post(f"{link}/learning/summary", data=SUMMARY | today_parts("completed_on")
                      | {"impact_audit": "A re-audit of 20 assessments.", "form_token": token_of(again.text)})
    [kept] = summaries(office, reference)
    assert kept["impact_audit"] == "A re-audit of 20 assessments."


def test_the_training_officer_writes_the_summary_in_a_browser(office: Office, served: str, tmp_path: Path) -> None:
    assert AXE.exists(), "make install puts axe-core under website/node_modules (npm ci)"
    transport = httpx.ASGITransport(app=create_app(office))

    async def prepared() -> str:
        async with httpx.AsyncClient(transport=transport, base_url=office.settings.website_url) as http:
            return await board_ratified(office, http)

    reference = asyncio.run(prepared())
    link = link_in(mails_to(office, TRAINING, "learning")[0])
    problems: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(link)
        page.get_by_role("heading", name="Write up the review's learning").wait_for()
        page.screenshot(path=str(tmp_path / "learning-page.png"))
        assert violations(page) == []
        page.get_by_role("link", name="Write the learning summary").click()
        page.get_by_role("heading", name="Write the learning summary").wait_for()
        on = now().date()
        page.get_by_label("Day").first.fill(str(on.day))
        page.get_by_label("Month").first.fill(str(on.month))
        page.get_by_label("Year").first.fill(str(on.year))
        for name, text in (SUMMARY | {"learning_about_case": "Robin was not seen alone."}).items():
            page.locator(f"#{name}").fill(text)
        page.get_by_role("button", name="Save the learning summary").click()
        page.get_by_role("heading", name="There is a problem").wait_for()
        assert page.title().startswith("Error: ")
        page.screenshot(path=str(tmp_path / "learning-problem.png"))
        assert violations(page) == []
        page.get_by_role("link", name=re.compile("^What was learnt about the case")).click()
        assert page.evaluate("document.activeElement.id") == "learning_about_case"
        page.locator("#learning_about_case").fill(SUMMARY["learning_about_case"])
        page.get_by_role("button", name="Save the learning summary").click()
        page.get_by_role("heading", name="Learning summary saved").wait_for()
        page.screenshot(path=str(tmp_path / "learning-saved.png"))
        assert violations(page) == []
    if folder := os.environ.get("LEARNING_SHOTS"):
        for shot in tmp_path.glob("*.png"):
            shutil.copy(shot, Path(folder) / shot.name)
    assert problems == []
    assert summaries(office, reference)[0]["case_selection"] == SUMMARY["case_selection"]
