"""Under `wt2023` each safeguarding partner answers the rapid review's recommendation on the decision page of
their own link (the chair's decision page, generalised): the facts, the agencies' information, the LCSPR
criteria with what the recorded facts suggest, the answers given so far and the national-importance question;
each answer kept once. A link used twice, a partner's link after their answer or after the decision: refused and
audited, nothing changed. Every name and address is invented.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

import casework.store
from casework.delivery import deliver_pending
from casework.forms import AgencyReturnForm, DecisionForm, RecommendationForm, ReferralForm, ScreeningForm
from casework.model import ChairResponse, ReviewType
from casework.office import Office, open_office
from casework.referral import actions
from casework.store import cases as store
from casework.store import decisions as decision_store
from config.rulesets import retired_word_in
from notifications.mailbox import start_mailbox
from tests.tasks.test_sweep import write_partnership
from tests.website.conftest import EXAMPLE_REFERRAL, free_port, link_in, mails_to, now
from tests.website.test_website_chairs import stage, token_of, words

PARTNERS = {"local_authority": "children-director@example.org", "icb": "icb-safeguarding@example.org",
            "police": "police-safeguarding@example.org"}
LEADS = ("la-chief-executive@example.org", "icb-chief-executive@example.org", "chief-constable@example.org")


@pytest.fixture
def office(tmp_path: Path, website_port: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    """The example partnership on `ruleset: wt2023` (three agencies; three partners, each with a delegate), on its own
    SQLite file and SMTP server; links point at http://127.0.0.1:`website_port`."""
    home = tmp_path / "cig"
    mail_port = free_port()
    controller = start_mailbox(home / "mail", port=mail_port)
    for name in ("CIG_DATABASE_URL", "CIG_DATA_KEYS", "CIG_PROFILE", "CIG_SMTP_HOST", "CIG_SMTP_USERNAME",
                 "CIG_SMTP_PASSWORD", "CIG_SMTP_STARTTLS", "CIG_SMTP_IMPLICIT_TLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CIG_HOME", str(home))
    monkeypatch.setenv("CIG_PARTNERSHIP_FILE", str(write_partnership(tmp_path, ruleset="wt2023")))
    monkeypatch.setenv("CIG_SMTP_PORT", str(mail_port))
    monkeypatch.setenv("CIG_SMTP_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("CIG_WEBSITE_URL", f"http://127.0.0.1:{website_port}")
    casework.store._factory.cache_clear()
    the_office = open_office()
    yield the_office
    the_office.sessions.kw["bind"].dispose()
    casework.store._factory.cache_clear()
    controller.stop()


async def partners_asked(office: Office) -> tuple[str, dict[str, str]]:
    """A referral through its rapid review meeting, the recommendation (an LCSPR) sent to each acting partner: the
    reference and each partner's link, from the email they received."""
    import yaml

    form = ReferralForm.model_validate(yaml.safe_load(EXAMPLE_REFERRAL.read_text()), context={"today": now().date()})
    reference = actions.submit_referral(office, form, now=now(), actor="HEALTH safeguarding lead").reference
    actions.record_screening(office, reference, ScreeningForm(outcome="accept", decided_by="Casey Chair and Bailey Manager",
                                                              independent_chair_consulted=True), now=now(), actor="test")
    actions.list_and_request_information(office, reference, now=now())
    actions.record_return(office, reference, AgencyReturnForm(
        agency="POL", status="returned", involvement="Two call-outs to the address in October.",
        key_practitioners=["PC Ash Example"], attendees=["DI Pat Police"]), now=now(), actor="test")
    for code in ("CSC", "HEALTH"):
        actions.record_return(office, reference, AgencyReturnForm(agency=code, status="nil"), now=now(), actor="test")
    with office.sessions() as session:
        meeting_at = store.get_case(session, reference=reference).meeting_at
    actions.record_recommendation(office, reference, RecommendationForm(outcome="scr", rationale="Information was not "
                                  "shared."), now=meeting_at + timedelta(hours=1), actor="test")  # type: ignore[operator]
    await deliver_pending(office)
    return reference, {key: link_in(mails_to(office, to, "recommendation")[0]) for key, to in PARTNERS.items()}


def answers(office: Office, reference: str) -> list[tuple[str, str]]:
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        return [(a.partner, a.response) for a in decision_store.partner_answers(session, case=case)]


def audited(office: Office, reference: str) -> list[str]:
    with office.sessions() as session:
        return [e.action for e in store.audit_trail(session, reference=reference)]


async def test_each_partner_answers_on_their_own_page_and_a_used_or_closed_link_changes_nothing(
        office: Office, client: httpx.AsyncClient) -> None:
    reference, links = await partners_asked(office)
    assert len(set(links.values())) == 3

    page = (await client.get(links["local_authority"])).text
    text = words(page)
    assert "Record your answer to the recommendation" in text and "Information was not shared." in text
    assert "Northshire Police Received" in text and "Two call-outs to the address in October." in text  # the returns
    assert "The criteria, and what the recorded facts suggest" in text and "advice, never the decision" in text
    assert "concerns about two or more organisations or agencies working together" in text
    assert "May the case raise issues of national importance" in text
    assert "Agree with the recommendation" in text and "Disagree with the recommendation" in text
    assert retired_word_in(text, office.rules("wt2023").retired_words) is None, retired_word_in(
        text, office.rules("wt2023").retired_words)

    missing = await client.post(links["local_authority"], data={"response": "agree", "form_token": token_of(page)})
    assert missing.status_code == 400 and answers(office, reference) == []
    done = await client.post(links["local_authority"], data={
        "response": "agree", "rationale": "Agencies did not share what they knew.", "national_importance": "false",
        "form_token": token_of(page)})
    assert done.status_code == 200 and "Answer recorded" in done.text
    assert "Still to answer: Northshire Integrated Care Board and Northshire Police" in words(done.text)

    again = await client.post(links["local_authority"], data={
        "response": "disagree", "rationale": "Changed my mind.", "national_importance": "true",
        "form_token": token_of(page)})  # the same link used twice: refused, nothing changed
    assert again.status_code == 409 and "This has already been recorded" in again.text
    assert answers(office, reference) == [("local_authority", "agree")]
    assert "link refused" in audited(office, reference)

    icb = (await client.get(links["icb"])).text  # another partner's link still opens: the answer was theirs alone
    assert "Northshire Council Agrees with the recommendation" in words(icb)
    disagreed = await client.post(links["icb"], data={
        "response": "disagree", "rationale": "Single-agency learning only.", "national_importance": "false",
        "form_token": token_of(icb)})
    assert "A disagreement is recorded: it was escalated to the lead safeguarding partners" in words(disagreed.text)
    assert sorted(to for lead in LEADS for m in mails_to(office, lead, "Disagreement") for to in m.to) == sorted(LEADS)
    police = words((await client.get(links["police"])).text)
    assert "Northshire Integrated Care Board Disagrees with the recommendation" in police
    assert "Single-agency learning only." in police

    # the lead partners resolve it; the decision is recorded: the police's unused link is closed, nothing changed
    actions.record_decision(office, reference, DecisionForm(
        response=ChairResponse.challenge, decision=ReviewType.no_review, rationale="Resolved by the lead partners.",
        decided_by="the safeguarding partners", criteria_explanation="Single-agency learning only."),
        now=now(), actor="administrator")
    closed = await client.post(links["police"], data={
        "response": "agree", "rationale": "Late.", "national_importance": "false", "form_token": token_of(icb)})
    assert closed.status_code in (403, 410) and answers(office, reference) == [("local_authority", "agree"),
                                                                                ("icb", "disagree")]
    late = await client.get(links["police"])
    assert late.status_code == 410 and "This step is no longer open" in late.text
    assert stage(office, reference) in ("notifying", "decided")


def test_the_last_partner_reads_the_others_answers_and_records_the_decision_in_a_browser(
        office: Office, served: str, tmp_path: Path) -> None:
    """Headless Chromium (Debian's, through Playwright) on a laptop's screen: the police's delegate opens the link
    in the email the test's mail server received, reads the others' answers and the criteria, agrees, and the
    partners' decision is recorded; axe-core finds no WCAG 2.2 AA violation on either page."""
    import asyncio

    from casework.forms import PartnerDecisionForm
    from tests.system.browser import chromium
    from tests.website.test_website_browser import violations

    reference, links = asyncio.run(partners_asked(office))
    for partner in ("local_authority", "icb"):
        actions.record_partner_decision(office, reference, partner, PartnerDecisionForm(
            response="agree", rationale=f"Invented rationale of {partner}.", national_importance=False),
            link_id=None, now=now(), actor="test")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(links["police"])
        page.get_by_role("heading", name="Record your answer to the recommendation").wait_for()
        main = page.inner_text("main")
        assert "Invented rationale of icb." in main and "Two call-outs to the address in October." in main
        assert "The criteria, and what the recorded facts suggest" in main
        page.screenshot(path=str(tmp_path / "partner-decision.png"), full_page=True)
        assert violations(page) == []

        page.get_by_label("Agree with the recommendation", exact=True).check()
        page.get_by_label("Your rationale (the criteria you considered and why)").fill("Agencies did not work together.")
        page.get_by_role("group", name="May the case raise issues of national importance").get_by_label("No").check()
        page.get_by_role("button", name="Record your answer").click()
        page.get_by_role("heading", name="Answer recorded").wait_for()
        confirmed = page.inner_text("main")
        assert "The safeguarding partners' decision was made on" in confirmed
        page.screenshot(path=str(tmp_path / "partner-decision-recorded.png"))
        assert violations(page) == []
    with office.sessions() as session:
        assert store.get_case(session, reference=reference).decision == "scr"
    assert mails_to(office, "scrutineer@example.org", reference)  # the independent scrutineer is told the outcome
