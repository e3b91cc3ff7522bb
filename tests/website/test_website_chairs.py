"""The chairs act on their own step from the link in the email that asks them to: the CIG chair and the
business manager screen a referral, the independent chair records the decision, on a page showing what
the Prefect UI's form shows (the case summary and context) with the same model's fields and rules."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import yaml

from casework.referral import actions
from casework.delivery import deliver_pending
from casework.forms import AgencyReturnForm, RecommendationForm, ReferralForm
from casework.office import Office
from casework.store import cases as store
from tests.website.conftest import EXAMPLE_REFERRAL, IDENTITIES, link_in, mails_to, now

CHAIR, MANAGER, INDEPENDENT = "cig-chair@example.org", "business-manager@example.org", "independent-chair@example.org"


def token_of(page: str) -> str:
    return re.search(r'name="form_token" value="([0-9a-f]{64})"', page).group(1)  # type: ignore[union-attr]


def stage(office: Office, reference: str) -> str:
    with office.sessions() as session:
        return store.get_case(session, reference=reference).stage


async def referred(office: Office) -> str:
    form = ReferralForm.model_validate(yaml.safe_load(EXAMPLE_REFERRAL.read_text()), context={"today": now().date()})
    reference = actions.submit_referral(office, form, now=now(), actor="HEALTH safeguarding lead").reference
    await deliver_pending(office)
    return reference


async def test_the_cig_chair_screens_the_referral_from_the_link_in_the_referral_notice(
        office: Office, client: httpx.AsyncClient) -> None:
    reference = await referred(office)
    [notice] = mails_to(office, CHAIR, "New referral")
    link = link_in(notice)
    [managers] = mails_to(office, MANAGER, "New referral")
    assert link_in(managers) != link
    assert "secure website" not in mails_to(office, INDEPENDENT, "New referral")[0].text()  # not theirs to screen

    page = (await client.get(link)).text
    assert "Screen the referral" in page and f"Case {reference}" in page
    assert "Accept the case for the group, or decline it with the reason" in page  # the form's summary
    assert "Regulation 5" in page or "criteria" in page.lower()  # the criteria indication, as the UI shows it
    assert "Accept: the case goes to the group" in page and "The independent chair was consulted" in page
    for identity in IDENTITIES:
        assert identity not in page

    refused = await client.post(link, data={"outcome": "decline", "decided_by": "Casey Chair",
                                            "independent_chair_consulted": "true", "form_token": token_of(page)})
    assert refused.status_code == 400 and "There is a problem" in refused.text
    assert '<a href="#reason">Why (required when declining; the referrer is told): give the reason the case is declined' \
        in refused.text
    assert stage(office, reference) == "awaiting_screening"

    done = await client.post(link, data={"outcome": "accept", "decided_by": "Casey Chair and Bailey Manager",
                                         "independent_chair_consulted": "true", "form_token": token_of(page)})
    assert done.status_code == 200 and "Screening recorded" in done.text
    assert stage(office, reference) == "awaiting_returns"
    assert "already been recorded" in (await client.get(link_in(managers))).text  # the other chair's link too
    with office.sessions() as session:
        assert "screening: accept" in [e.action for e in store.audit_trail(session, reference=reference)]


async def recommended(office: Office, case: str) -> str:
    """Every return in, the group's recommendation (an SCR) recorded at its meeting and sent: the independent
    chair's link from the recommendation email."""
    for code in ("POL", "CSC", "HEALTH", "CCG", "EDU", "PROB", "YJS"):
        actions.record_return(office, case, AgencyReturnForm(agency=code, status="nil"), now=now(), actor="test")
    with office.sessions() as session:
        meeting_at = store.get_case(session, reference=case).meeting_at
    actions.record_recommendation(office, case, RecommendationForm(outcome="scr", rationale="Information was not shared."),
                                  now=meeting_at + timedelta(hours=1), actor="test")  # type: ignore[operator]
    await deliver_pending(office)
    [recommendation] = mails_to(office, INDEPENDENT, "recommendation")
    return link_in(recommendation)


async def test_the_independent_chair_decides_from_the_link_in_the_recommendation(
        office: Office, case: str, client: httpx.AsyncClient) -> None:
    link = await recommended(office, case)

    page = (await client.get(link)).text
    assert "Record your decision" in page and "Information was not shared." in page
    assert "Affirm the recommendation" in page and "Anonymised details" in page or "anonymised details" in page

    partial = await client.post(link, data={"response": "challenge", "decision": "no_review", "rationale": "Not met.",
                                            "decided_by": "Indra Independent", "criteria_explanation": "Not met.",
                                            "anonymised_details.nature_of_incident": "<script>x</script>",
                                            "form_token": token_of(page)})
    assert partial.status_code == 400  # the model's own rules: a group begun is a group to finish
    assert '<a href="#anonymised_details-ages_of_children">The ages of the children involved' in partial.text
    assert "&lt;script&gt;x&lt;/script&gt;" in partial.text and "<script>x" not in partial.text

    wrong = await client.post(link, data={"response": "affirm", "decision": "no_review", "rationale": "Not met.",
                                          "decided_by": "Indra Independent", "criteria_explanation": "Not met.",
                                          "form_token": token_of(page)})
    assert wrong.status_code == 400  # the case's rule, as `cig decide` is refused
    assert ('<a href="#decision">The decision: initiate an SCR, another review, or no review: affirming the '
            'recommendation (scr) means deciding scr') in wrong.text
    assert stage(office, case) == "awaiting_decision"

    done = await client.post(link, data={"response": "affirm", "decision": "scr", "rationale": "Regulation 5(2)(b)(ii) is met.",
                                         "decided_by": "Indra Independent", "form_token": token_of(page)})
    assert done.status_code == 200 and "Decision recorded" in done.text
    assert stage(office, case) in ("notifying", "decided")
    assert mails_to(office, "ofsted@example.org", case)  # the Ofsted notice went at once
