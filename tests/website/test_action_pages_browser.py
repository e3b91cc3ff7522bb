"""Learning actions in headless Chromium (Debian's, through Playwright), served by uvicorn as `make up` serves it:
a named lead opens the link in the email telling them the action is theirs, is told what is missing, records it
done with the evidence and a file, and sees the confirmation; the committee opens the 6-month pack's link and
records an outcome. axe-core checks every page against WCAG 2.2 AA: no violations. Screenshots (1366x768) are
kept under the test's tmp_path (and ACTION_SHOTS, when set, for a person to look at).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from datetime import timedelta
from pathlib import Path

from casework.delivery import deliver_pending
from casework.learning import actions as learning
from casework.office import Office
from tests.system.browser import chromium, watched_page
from tests.website.conftest import link_in, mails_to, now
from tests.website.test_action_pages import COMMITTEE, SKY, action_of, with_actions
from tests.website.test_website_browser import AXE, PDF, violations


def kept(tmp_path: Path) -> None:
    if folder := os.environ.get("ACTION_SHOTS"):
        for shot in tmp_path.glob("*.png"):
            shutil.copy(shot, Path(folder) / shot.name)


def test_a_named_lead_records_the_action_done_with_a_file_and_the_committee_its_outcome(
        office: Office, served: str, tmp_path: Path) -> None:
    assert AXE.exists(), "make install puts axe-core under website/node_modules (npm ci)"
    reference = asyncio.run(with_actions(office))
    [notice] = mails_to(office, SKY, "You are the named lead")
    learning.send_impact_pack(office, reference, meeting_at=now() + timedelta(days=7), now=now(), actor="test")
    asyncio.run(deliver_pending(office))  # the pack's page reads the actions as they stand when it is opened
    [pack] = mails_to(office, COMMITTEE, "6-month review")
    document = tmp_path / "Audit findings.pdf"
    document.write_bytes(PDF)
    problems: list[str] = []
    with chromium() as browser:
        page = watched_page(browser, problems)

        page.goto(link_in(notice))
        page.get_by_role("heading", name="Learning action 2").wait_for()
        assert "Audit 20 assessments for the father's involvement." in page.inner_text("main")
        page.screenshot(path=str(tmp_path / "action-page.png"))
        assert violations(page) == []

        page.get_by_role("link", name="Record it done, with the evidence").click()
        page.get_by_role("heading", name="Record the action done, with its evidence").wait_for()
        page.get_by_role("button", name="Record it done").click()
        page.get_by_role("heading", name="There is a problem").wait_for()
        assert page.title().startswith("Error: ")
        page.get_by_role("link", name="The evidence that the action is done: say what shows the action is done").click()
        assert page.evaluate("document.activeElement.id") == "evidence"
        page.screenshot(path=str(tmp_path / "action-done-problems.png"), full_page=True)
        assert violations(page) == []

        page.get_by_label("The evidence that the action is done").fill("The audit of 20 assessments found fathers seen in 16.")
        page.get_by_label("Files of evidence").set_input_files(str(document))
        page.get_by_role("button", name="Record it done").click()
        page.get_by_role("heading", name="Action recorded done").wait_for()
        assert "Audit findings.pdf" in page.inner_text("main")
        page.screenshot(path=str(tmp_path / "action-done.png"))
        assert violations(page) == []

        page.goto(link_in(pack))
        page.get_by_role("heading", name="6-month review of the learning and improvement plans").wait_for()
        page.screenshot(path=str(tmp_path / "action-pack.png"))
        page.screenshot(path=str(tmp_path / "action-pack-full.png"), full_page=True)
        assert violations(page) == []
        page.get_by_role("link", name="Record the outcome for action 2").click()  # "Record", and for whom to a screen reader
        page.get_by_role("heading", name="The committee's outcome for action 2").wait_for()
        assert violations(page) == []
        page.get_by_label("Impact evidenced").check()
        on = now().date()
        page.get_by_label("Day").fill(str(on.day))
        page.get_by_label("Month").fill(str(on.month))
        page.get_by_label("Year").fill(str(on.year))
        page.get_by_role("button", name="Record the outcome").click()
        page.get_by_text("Outcome recorded for action 2").wait_for()
        page.screenshot(path=str(tmp_path / "action-pack-recorded.png"))
        assert violations(page) == []
    kept(tmp_path)
    assert problems == []
    assert action_of(office, reference, 2)["status"] == "done" and action_of(office, reference, 2)["outcome"] == \
        "impact_evidenced"
