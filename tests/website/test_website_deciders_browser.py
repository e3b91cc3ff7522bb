"""The deciders' pages in headless Chromium (Debian's, through Playwright), served by uvicorn as `make up`
serves it, on a laptop's screen (1366x768): the CIG chair screens a referral from the link in the referral
notice and reads the CIGSCR1 there; the independent chair decides from the link in the recommendation email
with the recommendation and the returns in view, is told in words when affirming contradicts the decision,
and both read what was recorded and what happens next. A second submit says it is already recorded. axe-core
finds no WCAG 2.2 AA violation on any of these pages. Screenshots are kept under the test's tmp_path.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from casework.office import Office
from casework.store import cases as store
from tests.system.browser import chromium
from tests.website.conftest import link_in, listed_case, mails_to, now
from tests.website.test_website_browser import violations
from tests.website.test_website_chairs import CHAIR, recommended, referred
from website.pages import day

LAPTOP = {"width": 1366, "height": 768}


def test_the_cig_chair_reads_the_referral_and_is_told_where_the_case_goes(
        office: Office, served: str, tmp_path: Path) -> None:
    reference = asyncio.run(referred(office))
    [notice] = mails_to(office, CHAIR, "New referral")
    with chromium() as browser:
        page = browser.new_page(viewport=LAPTOP)
        page.goto(link_in(notice))
        page.get_by_role("heading", name="Screen the referral").wait_for()
        main = page.inner_text("main")
        assert "Robin Testchild" in main and "Infant admitted with unexplained head injuries" in main
        assert "Dr Hale Health, named nurse for safeguarding" in main and "Robin" not in page.title()
        page.screenshot(path=str(tmp_path / "screening.png"))
        page.screenshot(path=str(tmp_path / "screening-full.png"), full_page=True)
        assert violations(page) == []

        earlier = browser.new_page(viewport=LAPTOP)  # the same page, left open in another tab
        earlier.goto(link_in(notice))
        for tab in (page, earlier):
            tab.get_by_label("Accept: the case goes to the group").check()
            tab.get_by_label("Who decided (CIG chair and business manager)").fill("Casey Chair and Bailey Manager")
            tab.get_by_label("Yes").check()
        page.get_by_role("button", name="Record the screening").click()
        page.get_by_role("heading", name="Screening recorded").wait_for()
        with office.sessions() as session:
            meeting_at = store.get_case(session, reference=reference).meeting_at
        assert f"Accepted for the CIG meeting on {day(meeting_at)}" in page.inner_text("main")
        page.screenshot(path=str(tmp_path / "screening-recorded.png"))
        assert violations(page) == []

        earlier.get_by_role("button", name="Record the screening").click()  # a second submit
        earlier.get_by_role("heading", name="This has already been recorded").wait_for()
        assert f"Accepted for the CIG meeting on {day(meeting_at)}" in earlier.inner_text("main")
        assert "This link does not open a page" not in earlier.inner_text("main")
        earlier.screenshot(path=str(tmp_path / "screening-again.png"))
        assert violations(earlier) == []


def test_the_independent_chair_reads_the_returns_and_is_told_of_a_contradiction(
        office: Office, served: str, tmp_path: Path) -> None:
    reference = asyncio.run(listed_case(office))
    link = asyncio.run(recommended(office, reference))
    with chromium() as browser:
        page = browser.new_page(viewport=LAPTOP)
        page.goto(link)
        page.get_by_role("heading", name="Record your decision").wait_for()
        main = page.inner_text("main")
        assert "Information was not shared." in main and "Two call-outs to the address in October." in main
        assert "Youth Justice Service: recorded as not received" in main
        page.screenshot(path=str(tmp_path / "decision.png"))
        page.screenshot(path=str(tmp_path / "decision-full.png"), full_page=True)
        assert violations(page) == []

        page.get_by_label("Affirm the recommendation").check()
        page.get_by_label("No review", exact=True).check()
        page.get_by_label("The rationale for the decision").fill("The criteria are not met.")
        page.get_by_label("The independent chair's name").fill("Indra Independent")
        page.get_by_label("When no SCR is initiated: why the case does not meet the SCR criteria").fill("Not met.")
        page.get_by_role("button", name="Record the decision").click()
        page.get_by_role("heading", name="There is a problem").wait_for()
        assert "but your decision is no review" in page.inner_text("main")
        page.screenshot(path=str(tmp_path / "decision-contradiction.png"))
        assert violations(page) == []

        page.get_by_label("Serious Case Review", exact=True).check()
        page.get_by_role("button", name="Record the decision").click()
        page.get_by_role("heading", name="Decision recorded").wait_for()
        confirmed = page.inner_text("main")
        assert "Your decision: Serious Case Review" in confirmed
        assert f"Told of your decision by email (sent {day(now())}" in confirmed
        page.screenshot(path=str(tmp_path / "decision-recorded.png"))
        assert violations(page) == []
    with office.sessions() as session:
        assert store.get_case(session, reference=reference).decision == "scr"
