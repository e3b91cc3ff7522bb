"""The chairs act on their own step from the link in the email that asks them to: the CIG chair and the
business manager screen a referral, the independent chair records the decision, on a page showing what
the Prefect UI's form shows (the case summary and context) with the same model's fields and rules."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import httpx
import yaml

from casework.referral import actions
from casework.delivery import deliver_pending
from casework.forms import AgencyReturnForm, RecommendationForm, ReferralForm
from casework.office import Office
from casework.store import cases as store
from tests.website.conftest import EXAMPLE_REFERRAL, IDENTITIES, link_in, mails_to, now
from website.pages import day

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
    # the CIGSCR1: who it is about, the referrer, the reasons and the summary (the chair holds the link)
    text = words(page)
    assert "Who it is about Robin Testchild, born Friday 3 July 2026" in text
    assert "Jordan Testparent, mother, born Saturday 14 February 1998" in text and "Lee Testpartner" in text
    assert "Dr Hale Health, named nurse for safeguarding" in text and "named-nurse@example.org" in text
    assert "Infant admitted with unexplained head injuries" in text and "Skeletal survey shows older fractures." in text
    for identity in IDENTITIES:
        assert identity not in page.split("</title>")[0]

    refused = await client.post(link, data={"outcome": "decline", "decided_by": "Casey Chair",
                                            "independent_chair_consulted": "true", "form_token": token_of(page)})
    assert refused.status_code == 400 and "There is a problem" in refused.text
    assert '<a href="#reason">Why (required when declining; the referrer is told): give the reason the case is declined' \
        in refused.text
    assert stage(office, reference) == "awaiting_screening"

    done = await client.post(link, data={"outcome": "accept", "decided_by": "Casey Chair and Bailey Manager",
                                         "independent_chair_consulted": "true", "form_token": token_of(page)})
    assert done.status_code == 200 and "Screening recorded" in done.text
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        meeting_at, dues = case.meeting_at, {office.calendar.local_date(r.due_at) for r in case.requests}
    assert meeting_at is not None and case.stage == "awaiting_returns"  # listed at once, as its run would list it
    confirmed = words(done.text)
    assert f"Accepted for the CIG meeting on {day(meeting_at)}" in confirmed
    assert f"The referral was accepted on {day(now())} for the Critical Incident Group to consider." in confirmed
    assert f"Each of the 7 member agencies has been asked for information (CIGINF1), returns due by {day(max(dues))}" \
        in confirmed or f"and {day(max(dues))}." in confirmed
    assert "The agenda and the papers go to the members on" in confirmed
    assert mails_to(office, "police@example.org", "(CIGINF1)")  # the requests went with the page
    assert "already been recorded" in (await client.get(link_in(managers))).text  # the other chair's link too
    with office.sessions() as session:
        assert "screening: accept" in [e.action for e in store.audit_trail(session, reference=reference)]

    again = await client.post(link, data={"outcome": "decline", "reason": "Changed my mind.", "decided_by": "Casey Chair",
                                          "independent_chair_consulted": "true", "form_token": token_of(page)})
    assert again.status_code == 409
    assert "This has already been recorded" in again.text and "This link does not open a page" not in again.text
    assert f"Accepted for the CIG meeting on {day(meeting_at)}" in words(again.text)
    assert stage(office, reference) == "awaiting_returns"


def words(html: str) -> str:
    """The page's text, tags taken out and spaces joined, as a person reads it."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split()).replace(" ,", ",").replace(" .", ".")


async def recommended(office: Office, case: str) -> str:
    """Every return in, the group's recommendation (an SCR) recorded at its meeting and sent: the independent
    chair's link from the recommendation email."""
    actions.record_return(office, case, AgencyReturnForm(
        agency="POL", status="returned", involvement="Two call-outs to the address in October.",
        key_practitioners=["PC Ash Example"], attendees=["DI Pat Police"]), now=now(), actor="test")
    for code in ("CSC", "HEALTH", "CCG", "EDU", "PROB"):
        actions.record_return(office, case, AgencyReturnForm(agency=code, status="nil"), now=now(), actor="test")
    actions.record_return(office, case, AgencyReturnForm(agency="YJS", status="not_received"), now=now(), actor="test")
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
    text = words(page)  # the recommendation and the returns, as the papers have them
    assert "The Critical Incident Group's recommendation Serious Case Review, recorded" in text
    assert "Northshire Police Received" in text and "Two call-outs to the address in October." in text
    assert "Key practitioners: PC Ash Example" in text and "Attended: DI Pat Police" in text
    assert "A nil return: the agency had no involvement with the child and family." in text
    assert "Returns not received Youth Justice Service: recorded as not received" in text
    assert "Robin Testchild" in text and "Infant admitted with unexplained head injuries" in text  # the CIGSCR1 too

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
    assert wrong.status_code == 400  # the contradiction, in words
    contradiction = ("You chose to affirm the Critical Incident Group's recommendation, which is Serious Case Review, but your decision "
                     "is no review. To decide no review, choose to challenge the recommendation; to affirm it, "
                     "decide Serious Case Review.")
    assert f'<a href="#decision">{contradiction}</a>'.replace("'", "&#39;") in wrong.text
    assert "(scr)" not in wrong.text and "no_review" not in words(wrong.text).replace('value="no_review"', "")
    assert stage(office, case) == "awaiting_decision"

    done = await client.post(link, data={"response": "affirm", "decision": "scr", "rationale": "Regulation 5(2)(b)(ii) is met.",
                                         "decided_by": "Indra Independent", "form_token": token_of(page)})
    assert done.status_code == 200 and "Decision recorded" in done.text
    assert stage(office, case) in ("notifying", "decided")
    assert mails_to(office, "ofsted@example.org", case)  # the Ofsted notice went at once
    confirmed = words(done.text)
    assert "Your decision: Serious Case Review" in confirmed
    assert (f"You affirmed the Critical Incident Group's recommendation (Serious Case Review) and decided: Serious Case Review on "
            f"{day(now())}.") in confirmed
    assert f"Told of your decision by email (sent {day(now())}" in confirmed
    assert all(who in confirmed for who in ("Ofsted", "the referrer", "the CIG chair", "the business manager"))
    with office.sessions() as session:
        decided = store.get_case(session, reference=case)
        assert (decided.chair_response, decided.decision, decided.decided_by) == ("affirm", "scr", "Indra Independent")

    again = await client.post(link, data={"response": "affirm", "decision": "scr", "rationale": "Again.",
                                          "decided_by": "Indra Independent", "form_token": token_of(page)})
    assert again.status_code == 409 and "This has already been recorded" in again.text
    assert "Your decision: Serious Case Review" in words(again.text)
    with office.sessions() as session:
        assert store.get_case(session, reference=case).decision_rationale == "Regulation 5(2)(b)(ii) is met."


async def test_a_declined_referral_is_confirmed_with_its_reason_and_the_referrer_told(
        office: Office, client: httpx.AsyncClient) -> None:
    reference = await referred(office)
    link = link_in(mails_to(office, CHAIR, "New referral")[0])
    page = (await client.get(link)).text
    told_before = len(mails_to(office, "named-nurse@example.org", reference))

    done = await client.post(link, data={"outcome": "decline", "reason": "The criteria for a review are not met.",
                                         "decided_by": "Casey Chair and Bailey Manager",
                                         "independent_chair_consulted": "true", "form_token": token_of(page)})

    assert done.status_code == 200
    confirmed = words(done.text)
    assert "Referral declined" in confirmed and f"The referral was declined on {day(now())}." in confirmed
    assert "The reason given: The criteria for a review are not met." in confirmed
    assert "The referrer is told the reason by email." in confirmed
    assert stage(office, reference) == "declined"
    assert len(mails_to(office, "named-nurse@example.org", reference)) == told_before + 1  # sent with the page
