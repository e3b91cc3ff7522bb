"""The return page in headless Chromium (Debian's, through Playwright), served by uvicorn as `make up`
serves it: an agency opens the link from the email the test SMTP server received, sees the problems
named when it sends too little, fills the form in, uploads its CIGINF1, and sees the confirmation; the
receipt arrives. axe-core checks every page against WCAG 2.2 AA: no violations. Without JavaScript
the same page works. Screenshots are kept under the test's tmp_path.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from casework.office import Office
from casework.store import cases as store
from tests.system.browser import chromium
from tests.website.conftest import POLICE, link_in, listed_case, mails_to

AXE = Path(__file__).resolve().parents[2] / "website" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> "
       b"endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\nxref\n0 4\n"
       b"0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n0000000115 00000 n \n"
       b"trailer << /Size 4 /Root 1 0 R >>\nstartxref\n186\n%%EOF\n")  # a one-page PDF, its cross-reference table counted


def violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's WCAG 2.2 AA violations on the page as it stands, one line each."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_22_AA)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes: {json.dumps([n['target'] for n in v['nodes']])})"
            for v in result["violations"]]


@pytest.fixture
def listed(office: Office) -> str:
    return asyncio.run(listed_case(office))


def test_an_agency_returns_its_ciginf1_in_the_browser(office: Office, listed: str, served: str, tmp_path: Path) -> None:
    assert AXE.exists(), "make install puts axe-core under website/node_modules (npm ci)"
    [request] = mails_to(office, POLICE, "(CIGINF1)")
    link = link_in(request)
    assert link.startswith(served)
    document = tmp_path / "CIGINF1 police.pdf"
    document.write_bytes(PDF)
    problems: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1024, "height": 900})
        # a script error, or an asset (style, script, font, image) that did not load; a page's own 400 or
        # 410 is what the test expects
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
                if response.status >= 400 and response.request.resource_type != "document" else None)
        page.on("console", lambda message: problems.append(message.text)
                if message.type == "error" and not message.text.startswith("Failed to load resource") else None)

        page.goto(link)
        page.get_by_role("heading", name="Return your request for information (CIGINF1)").wait_for()
        assert "Robin Testchild" in page.inner_text("main")
        assert "Robin" not in page.title()
        assert page.evaluate("document.body.classList.contains('govuk-frontend-supported')")  # its script ran
        page.screenshot(path=str(tmp_path / "1-request.png"), full_page=True)
        assert violations(page) == []

        page.get_by_role("button", name="Send the return").click()
        page.get_by_role("heading", name="There is a problem").wait_for()
        assert page.title().startswith("Error: ")
        page.get_by_role("link", name="Select whether your agency was involved with the child or family").click()
        assert page.evaluate("document.activeElement.id") == "status"
        page.screenshot(path=str(tmp_path / "2-problems.png"), full_page=True)
        assert violations(page) == []

        page.get_by_label("Yes: this is our return").check()
        page.get_by_label("Your agency's involvement with the child and family").fill(
            "Two home visits in August; a referral to early help.")
        page.get_by_label("Key practitioners (optional)").fill("PC Ash Example, neighbourhood officer")
        page.get_by_label("Who will attend the meeting (optional)").fill("DI Pat Police")
        page.get_by_label("Upload the completed CIGINF1").set_input_files(str(document))
        page.get_by_role("button", name="Send the return").click()
        page.get_by_role("heading", name="Return recorded").wait_for()
        assert listed in page.inner_text("main") and "with 1 document" in page.inner_text("main")
        page.screenshot(path=str(tmp_path / "3-recorded.png"), full_page=True)
        assert violations(page) == []

        page.goto(link)  # the link has done its work
        assert "This has already been recorded" in page.inner_text("main")
        assert violations(page) == []
    assert problems == []
    with office.sessions() as session:
        case = store.get_case(session, reference=listed)
        assert next(r for r in case.requests if r.agency == "POL").status == "returned"
    assert len(mails_to(office, POLICE, "Your CIGINF1 return is recorded")) == 1


def test_the_return_page_works_without_javascript(office: Office, listed: str, served: str, tmp_path: Path) -> None:
    [request] = mails_to(office, "education@example.org", "(CIGINF1)")
    with chromium() as browser:
        page = browser.new_context(java_script_enabled=False).new_page()
        page.goto(link_in(request))
        page.get_by_label("No: a nil return, no involvement").check()
        page.get_by_role("button", name="Send the return").click()
        page.get_by_role("heading", name="Return recorded").wait_for()
        assert "nil return is recorded" in page.inner_text("main")
        page.screenshot(path=str(tmp_path / "4-nil-without-javascript.png"), full_page=True)
    with office.sessions() as session:
        case = store.get_case(session, reference=listed)
        assert next(r for r in case.requests if r.agency == "EDU").status == "nil"


def test_a_member_reads_the_meeting_papers_in_the_browser(office: Office, listed: str, served: str, tmp_path: Path) -> None:
    from casework.delivery import deliver_pending
    from tests.website.test_website_papers import prepared

    prepared(office, listed)
    asyncio.run(deliver_pending(office))
    [agenda] = mails_to(office, "business-manager@example.org", "Agenda (CIGM1)")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1024, "height": 900})
        page.goto(link_in(agenda))
        page.get_by_role("heading", name="Papers for the CIG meeting on").wait_for()
        assert "Robin Testchild" in page.inner_text("main")
        page.screenshot(path=str(tmp_path / "5-papers.png"), full_page=True)
        assert violations(page) == []


def test_the_cig_chair_screens_a_referral_in_the_browser(office: Office, served: str, tmp_path: Path) -> None:
    from tests.website.test_website_chairs import CHAIR, referred, stage

    reference = asyncio.run(referred(office))
    [notice] = mails_to(office, CHAIR, "New referral")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1024, "height": 900})
        page.goto(link_in(notice))
        page.get_by_role("heading", name="Screen the referral").wait_for()
        page.get_by_text("The case: deadlines, returns and the criteria indication").click()
        page.screenshot(path=str(tmp_path / "6-screening.png"), full_page=True)
        assert violations(page) == []
        page.get_by_label("Decline: the case does not go to the group").check()
        page.get_by_role("button", name="Record the screening").click()
        page.get_by_role("heading", name="There is a problem").wait_for()
        page.screenshot(path=str(tmp_path / "7-screening-problems.png"), full_page=True)
        assert violations(page) == []
        page.get_by_label("Accept: the case goes to the group").check()
        page.get_by_label("Who decided (CIG chair and business manager)").fill("Casey Chair and Bailey Manager")
        page.get_by_label("Yes").check()
        page.get_by_role("button", name="Record the screening").click()
        page.get_by_role("heading", name="Screening recorded").wait_for()
        assert violations(page) == []
    assert stage(office, reference) == "awaiting_returns"


def test_the_independent_chair_decides_in_the_browser(office: Office, listed: str, served: str, tmp_path: Path) -> None:
    from tests.website.test_website_chairs import recommended, stage

    link = asyncio.run(recommended(office, listed))
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1024, "height": 900})
        page.goto(link)
        page.get_by_role("heading", name="Record your decision").wait_for()
        assert "Information was not shared." in page.inner_text("main")
        page.screenshot(path=str(tmp_path / "8-decision.png"), full_page=True)
        assert violations(page) == []
        page.get_by_label("Affirm the recommendation").check()
        page.get_by_label("Serious Case Review", exact=True).check()
        page.get_by_label("The rationale for the decision").fill("Regulation 5(2)(b)(ii) is met.")
        page.get_by_label("The independent chair's name").fill("Indra Independent")
        page.get_by_role("button", name="Record the decision").click()
        page.get_by_role("heading", name="Decision recorded").wait_for()
        assert violations(page) == []
    assert stage(office, listed) in ("notifying", "decided")
    assert mails_to(office, "ofsted@example.org", listed)
