"""The review's task list and a task's form in headless Chromium (Debian's, through Playwright), served by
uvicorn as `make up` serves it: the business manager opens the link from the "review commissioned" email the
test SMTP server received, sees the task list, opens the terms of reference, is told what is missing, records
them and is back on the task list with them completed; an agency confirms its engagement from its
commencement email. axe-core checks every page against WCAG 2.2 AA: no violations. Screenshots (1366x768)
are kept under the test's tmp_path.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from casework.office import Office
from tests.system.browser import chromium, watched_page
from tests.website.conftest import POLICE, link_in, mails_to, now
from tests.website.test_review_pages import MANAGER, commissioned, review_of
from tests.website.test_website_browser import AXE, violations


def test_the_business_manager_records_the_terms_of_reference_from_the_task_list(
        office: Office, served: str, tmp_path: Path) -> None:
    assert AXE.exists(), "make install puts axe-core under website/node_modules (npm ci)"
    reference = asyncio.run(commissioned(office))
    [mail] = mails_to(office, MANAGER, "commissioned")
    problems: list[str] = []
    with chromium() as browser:
        page = watched_page(browser, problems)

        page.goto(link_in(mail))
        page.get_by_role("heading", name="Serious Case Review: the review's tasks").wait_for()
        assert page.get_by_role("heading", name="The plan's milestones").is_visible()
        assert reference not in page.title()
        page.screenshot(path=str(tmp_path / "review-tasks.png"))
        page.screenshot(path=str(tmp_path / "review-tasks-full.png"), full_page=True)
        assert violations(page) == []

        page.get_by_role("link", name="Record the terms of reference and scope").click()
        page.get_by_role("heading", name="Terms of reference and scope").wait_for()
        page.screenshot(path=str(tmp_path / "review-terms.png"), full_page=True)
        assert violations(page) == []

        page.get_by_role("button", name="Record the terms of reference").click()
        page.get_by_role("heading", name="There is a problem").wait_for()
        assert page.title().startswith("Error: ")
        page.get_by_role("link", name="The terms of reference: this is required").click()
        assert page.evaluate("document.activeElement.id") == "terms_of_reference"
        page.screenshot(path=str(tmp_path / "review-terms-problems.png"), full_page=True)
        assert violations(page) == []

        agreed = (now() - timedelta(days=1)).date()
        page.get_by_label("The terms of reference").fill("How agencies shared information about the family.")
        page.get_by_label("The scope: period, agencies, questions").fill("July to November 2026; all agencies")
        page.get_by_label("Day").fill(str(agreed.day))
        page.get_by_label("Month").fill(str(agreed.month))
        page.get_by_label("Year").fill(str(agreed.year))
        page.get_by_role("button", name="Record the terms of reference").click()
        page.get_by_role("heading", name="Serious Case Review: the review's tasks").wait_for()
        assert "Terms of reference recorded" in page.inner_text("main")
        page.screenshot(path=str(tmp_path / "review-terms-recorded.png"))
        assert violations(page) == []
    assert problems == []
    assert review_of(office, reference)["terms"]["agreed_on"] == agreed.isoformat()


def test_an_agency_confirms_its_engagement_in_the_browser(office: Office, served: str, tmp_path: Path) -> None:
    reference = asyncio.run(commissioned(office))
    [mail] = mails_to(office, POLICE, "please confirm your engagement")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(link_in(mail))
        page.get_by_role("heading", name="Confirm your agency's engagement with the review").wait_for()
        assert violations(page) == []
        page.get_by_label("Your name").fill("DI Pat Police")
        page.get_by_role("button", name="Confirm our engagement").click()
        page.get_by_role("heading", name="Engagement confirmed").wait_for()
        page.screenshot(path=str(tmp_path / "engagement-confirmed.png"))
        assert violations(page) == []
    assert review_of(office, reference)["engagement"]["POL"] is not None


def test_the_lead_reviewer_uploads_a_draft_and_records_a_milestone_in_the_browser(
        office: Office, served: str, tmp_path: Path) -> None:
    from casework.review import actions as review_actions
    from casework.review.forms import AppointmentForm
    from tests.website.test_review_pages import REVIEWER
    from tests.website.test_website_browser import PDF

    reference = asyncio.run(commissioned(office))
    review_actions.appoint_reviewer(office, reference, AppointmentForm(
        reviewer="Rowan Reviewer", kind="independent", independent_of_agencies=True, appointed_on=now().date(),
        appointed_by="Review group", email=REVIEWER), now=now(), actor="test")
    from casework.delivery import deliver_pending

    asyncio.run(deliver_pending(office))
    [mail] = mails_to(office, REVIEWER, "Lead reviewer appointed")
    document = tmp_path / "Draft report.pdf"
    document.write_bytes(PDF)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(link_in(mail))
        page.get_by_role("link", name="Upload the drafts and the final report").click()
        page.get_by_role("heading", name="Upload a draft or the final report").wait_for()
        assert violations(page) == []
        page.get_by_label("The draft report and findings (for the CIG)").check()
        page.get_by_label("The document (PDF, Word or OpenDocument, 10 MB at most)").set_input_files(str(document))
        page.get_by_role("button", name="Upload the document").click()
        page.get_by_text("Document uploaded", exact=True).wait_for()
        page.get_by_role("link", name="Upload the drafts and the final report").click()
        assert "Draft report.pdf" in page.inner_text("main")
        page.screenshot(path=str(tmp_path / "review-drafts.png"), full_page=True)
        assert violations(page) == []

        page.get_by_role("link", name="Back to the review's tasks").click()
        page.get_by_role("link", name="Review group initial meeting").click()
        page.get_by_role("button", name="Record the milestone").click()
        page.get_by_role("heading", name="There is a problem").wait_for()
        assert "give either the date it was done or a new target date" in page.inner_text("main")
        assert "replan_to" not in page.inner_text("main")  # the page speaks in words, not field names
        assert page.get_by_label("A document, as a link (optional)").evaluate("e => e.tagName") == "INPUT"
        page.screenshot(path=str(tmp_path / "review-milestone-problems.png"), full_page=True)
        assert violations(page) == []
    assert review_of(office, reference)["stage"] == "under_way"
