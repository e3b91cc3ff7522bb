"""Who is told what at each step (casework.referral.messages), as the recipient reads it (notifications.render).

Every name here is invented. The child's name and date of birth go only to the agencies asked for
information; the statutory notices carry the reference and anonymised details.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime, timezone
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import yaml

from casework.clocks import LONDON
from casework.learning.messages import learning_write_up_notice
from casework.referral.actions import ciginf1_form
from casework.referral.messages import (
    CaseFile,
    Message,
    acceptance_notice,
    age_on,
    decision_advice,
    decision_notices,
    decline_notice,
    information_requests,
    listing_notices,
    recommendation_notice,
    referral_notices,
)
from config.loading import ConfigurationError
from config.partnership import load_partnership
from config.rulesets import RuleSet, load_ruleset
from config.settings import CONFIG_DIR
from notifications.render import RenderedMessage, render
from notifications.smtp import build_email

UTC = timezone.utc
PARTNERSHIP = load_partnership(CONFIG_DIR / "partnership.example.yaml")
WT2015 = load_ruleset("wt2015")
WT2023 = load_ruleset("wt2023")

CHILD_NAME = "Zephyrine Quillfeather-Testcase"
CHILD_BORN = date(2019, 2, 17)
DATE_FORMS_OF_BIRTH = ["2019-02-17", "17 February 2019", "17/02/2019", "February 17", "Sunday 17 February"]

CHAIR, MANAGER, ADMIN, INDEPENDENT = (
    "cig-chair@example.org", "business-manager@example.org", "cig-admin@example.org", "independent-chair@example.org",
)
OFSTED, PANEL, REFERRER = "ofsted@example.org", "national-panel@example.org", "named-nurse@example.org"
AGENCY_ADDRESSES = [
    "police@example.org", "social-care@example.org", "health@example.org", "commissioners@example.org",
    "education@example.org", "probation@example.org", "youth-justice@example.org",
]


def local(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def end_of(year: int, month: int, day: int) -> datetime:
    return local(year, month, day, 23, 59).replace(second=59)


REFERRED = CaseFile(
    reference="NSCP-2026-0007",
    regime="wt2015",
    referring_agency="HEALTH",
    notified_on=date(2026, 11, 16),
    referred_at=local(2026, 11, 18),
    facts={"abuse_or_neglect_suspected": True, "child_died": False, "seriously_harmed": True,
           "concern_about_joint_working": True},
    child_name=CHILD_NAME,
    child_date_of_birth=CHILD_BORN,
    child_date_of_death=None,
    significant_people=[
        {"name": "Jordan Testparent", "date_of_birth": "1990-05-01", "relationship": "mother",
         "address": "1 Invented Row, Northshire NS1 0AA"},
        {"name": "Lee Testpartner", "date_of_birth": None, "relationship": "mother's partner"},
    ],
    referrer_email=REFERRER,
    child_address="1 Invented Row, Northshire NS1 0AA",
    deadlines={"decision": end_of(2026, 12, 16)},
)
LISTED = dataclasses.replace(REFERRED, round=1, meeting_at=local(2026, 12, 8))
RECOMMENDED = dataclasses.replace(
    LISTED, recommendation="scr", recommendation_rationale="Serious harm and concern about information sharing."
)
DECIDED_SCR = dataclasses.replace(
    RECOMMENDED, chair_response="affirm", decision="scr", decision_rationale="Regulation 5(2)(b)(ii) is met.",
    decided_at=local(2026, 12, 10, 15), decided_by="Indra Independent", lead_reviewers=["Rowan Reviewer", "Sky Second"],
)
DECIDED_NO_SCR = dataclasses.replace(
    RECOMMENDED, chair_response="challenge", decision="individual_agency_review",
    decision_rationale="Learning is confined to one agency.", decided_at=local(2026, 12, 10, 15),
    decided_by="Indra Independent",
    panel_details={
        "anonymised": {
            "nature_of_incident": "Non-accidental injury to a young child",
            "ages_of_children": "7 years",
            "relationship_to_alleged_perpetrator": "mother's partner",
            "agency_involvement": "Universal health services; school",
            "criminal_investigation": "Police investigation open",
        },
        "criteria_explanation": "It is clear there are no concerns about how agencies worked together.",
    },
)


def recipients(messages: list[Message]) -> list[str]:
    return [m.to.email for m in messages]


def rendered(messages: list[Message]) -> list[RenderedMessage]:
    return [render(m) for m in messages]


def assert_no_child_identity(message: RenderedMessage) -> None:
    for part in (message.subject, message.text, message.html):
        for piece in (CHILD_NAME, "Zephyrine", "Quillfeather", *DATE_FORMS_OF_BIRTH):
            assert piece not in part, f"{message.kind} to {message.to} shows {piece!r}"


# --- step 2: the referral ----------------------------------------------------------------------

def test_a_referral_is_told_to_the_cig_chair_business_manager_administrator_and_independent_chair() -> None:
    messages = referral_notices(REFERRED, PARTNERSHIP, WT2015)

    assert recipients(messages) == [CHAIR, MANAGER, ADMIN, INDEPENDENT]
    assert {m.step for m in messages} == {"referral-notice"}
    for message in rendered(messages):
        assert message.subject == "[NSCP-2026-0007] New referral for CIG consideration"
        assert "Northshire Health Trust has referred case NSCP-2026-0007 for CIG consideration." in message.text
        assert "The independent chair's decision is due by Wednesday 16 December 2026, 23:59." in message.text
        assert "The recorded facts meet regulation 5(2)" in message.text
        assert "advice to the group, never the decision" in message.text
        assert_no_child_identity(message)


LA_DELEGATE, ICB_DELEGATE, POLICE_DELEGATE = (
    "children-director@example.org", "icb-safeguarding@example.org", "police-safeguarding@example.org",
)
WT2023_REFERRED = dataclasses.replace(REFERRED, regime="wt2023",
                                      deadlines={"serious_incident_notice": end_of(2026, 11, 23)})


def test_under_wt2023_the_referral_is_told_to_the_rule_sets_roles_and_the_local_authority_gets_the_notification() -> None:
    messages = referral_notices(WT2023_REFERRED, PARTNERSHIP, WT2023)

    # the rule set's referral step (not the independent chair); the notification's content to the local
    # authority, who makes it through the Panel's online service; the other partners told within 5 working days
    assert [(m.template, m.to.email) for m in messages] == [
        ("referral_notice", MANAGER), ("referral_notice", ADMIN), ("referral_notice", LA_DELEGATE),
        ("incident_notification", LA_DELEGATE),
        ("incident_notification", ICB_DELEGATE), ("incident_notification", POLICE_DELEGATE),
    ]
    assert PANEL not in recipients(messages)  # the software does not pretend to notify the Panel by email
    notice = render(messages[3])
    assert notice.subject == "[NSCP-2026-0007] Serious incident notification to make by Monday 23 November 2026"
    assert "through the Panel's online service by Monday 23 November 2026" in notice.text
    assert "The child, aged 7, has been seriously harmed." in notice.text
    assert "Abuse or neglect of the child is known or suspected." in notice.text
    assert "The child was not looked after by the local authority." in notice.text
    assert "The area: Northshire Council." in notice.text
    assert "- mother, aged 36" in notice.text and "- mother's partner\n" in notice.text
    assert "the Panel's reference" in notice.text
    told = render(messages[4])
    assert told.subject == "[NSCP-2026-0007] Serious incident notification: for the safeguarding partners"
    for mail in (notice, told):
        assert_no_child_identity(mail)
        assert "Testparent" not in mail.text and "Invented Row" not in mail.text


def test_the_notification_says_abuse_or_neglect_is_not_suspected_when_the_referral_records_so() -> None:
    facts = {"abuse_or_neglect_suspected": False, "child_died": True, "looked_after": True}
    died = dataclasses.replace(WT2023_REFERRED, facts=facts, child_date_of_death=date(2026, 11, 14))

    messages = [m for m in referral_notices(died, PARTNERSHIP, WT2023) if m.template == "incident_notification"]

    assert [m.to.email for m in messages] == [LA_DELEGATE, ICB_DELEGATE, POLICE_DELEGATE]
    text = render(messages[0]).text
    assert "Abuse or neglect of the child is NOT known or suspected (as recorded at referral)." in text
    assert "Abuse or neglect of the child is known or suspected" not in text
    assert "The child, aged 7, has died." in text
    assert "The child was looked after by the local authority." in text
    assert "notified whether or not abuse or neglect is known or suspected" in text
    # the looked-after death's recipients are the rule set's (steps.looked_after_death)
    assert "reaches the Child Safeguarding Practice Review Panel, the Secretary of State (Department for Education)" in text


def test_no_notification_is_prepared_for_what_is_not_a_serious_child_safeguarding_incident() -> None:
    harmed_no_abuse = dataclasses.replace(WT2023_REFERRED, facts={"abuse_or_neglect_suspected": False,
                                                                  "child_died": False, "seriously_harmed": True})

    assert [m.template for m in referral_notices(harmed_no_abuse, PARTNERSHIP, WT2023)] == ["referral_notice"] * 3


def test_under_wt2015_the_referral_is_told_to_the_chairs_as_before() -> None:
    assert recipients(referral_notices(REFERRED, PARTNERSHIP, WT2015)) == [CHAIR, MANAGER, ADMIN, INDEPENDENT]


# --- step 3: declined at screening -----------------------------------------------------------------

def test_a_declined_referral_tells_the_referrer_why() -> None:
    declined = dataclasses.replace(REFERRED, screening_reason="No abuse or neglect is suspected.")

    [message] = decline_notice(declined, PARTNERSHIP, WT2015)

    assert message.to.email == REFERRER
    mail = render(message)
    assert mail.subject == "[NSCP-2026-0007] Your referral will not go to the Critical Incident Group"
    assert "Reason:\nNo abuse or neglect is suspected." in mail.text
    assert_no_child_identity(mail)


def test_a_decline_without_a_referrer_address_tells_nobody() -> None:
    assert decline_notice(dataclasses.replace(REFERRED, referrer_email=None), PARTNERSHIP, WT2015) == []


# --- step 3 (CIGCON1) and step 5.1: accepted and listed ----------------------------------------------

def test_an_accepted_referral_tells_the_referrer_the_meeting_date_in_london_time() -> None:
    summer = dataclasses.replace(LISTED, meeting_at=local(2026, 7, 14))  # 09:00 UTC, 10:00 in London (BST)

    [message] = acceptance_notice(summer, PARTNERSHIP, WT2015)

    assert message.to.email == REFERRER
    assert message.key == "NSCP-2026-0007:screening-accept:named-nurse@example.org:0"
    mail = render(message)
    assert mail.subject == "[NSCP-2026-0007] Your referral will go to the Critical Incident Group on Tuesday 14 July 2026"
    assert "have accepted case NSCP-2026-0007 for CIG consideration." in mail.text
    assert "It is listed for the CIG meeting on Tuesday 14 July 2026, 10:00." in mail.text
    assert "Tuesday 14 July 2026, 10:00" in mail.html
    assert_no_child_identity(mail)


def test_the_listing_is_told_to_the_business_manager_and_the_administrator_with_the_meeting_date() -> None:
    messages = listing_notices(LISTED, PARTNERSHIP, WT2015)

    assert recipients(messages) == [MANAGER, ADMIN]
    assert [m.key for m in messages] == [
        "NSCP-2026-0007:listing-notice:business-manager@example.org:1", "NSCP-2026-0007:listing-notice:cig-admin@example.org:1",
    ]
    for mail in rendered(messages):
        assert mail.subject == "[NSCP-2026-0007] To be considered at the CIG meeting on Tuesday 8 December 2026"
        assert "is to be considered at the next CIG meeting, on Tuesday 8 December 2026, 10:00." in mail.text
        assert "The independent chair's decision is due by Wednesday 16 December 2026, 23:59." in mail.text
        assert "Casey Chair, Critical Incident Group chair" in mail.text
        assert_no_child_identity(mail)


@pytest.mark.parametrize("case", [
    REFERRED,  # not yet listed: no meeting date to tell
    dataclasses.replace(LISTED, round=2, meeting_at=local(2027, 1, 12)),  # a further-information round
], ids=["not listed", "second round"])
def test_acceptance_and_listing_are_told_only_when_the_case_is_first_listed(case: CaseFile) -> None:
    assert acceptance_notice(case, PARTNERSHIP, WT2015) == []
    assert listing_notices(case, PARTNERSHIP, WT2015) == []


def test_an_acceptance_without_a_referrer_address_tells_only_the_business_manager_and_administrator() -> None:
    anonymous = dataclasses.replace(LISTED, referrer_email=None)

    assert acceptance_notice(anonymous, PARTNERSHIP, WT2015) == []
    assert recipients(listing_notices(anonymous, PARTNERSHIP, WT2015)) == [MANAGER, ADMIN]


# --- step 5: requests for information ---------------------------------------------------------------

def requests_for(codes: list[str], *, by_return: bool = False, due_at: datetime | None = None) -> list[dict]:
    return [{"agency": c, "due_at": due_at or end_of(2026, 11, 26), "by_return": by_return} for c in codes]


def test_cigINF1_goes_to_each_agency_asked_with_who_is_involved_and_the_due_date() -> None:
    codes = [a.code for a in PARTNERSHIP.agencies]

    links = {code: f"https://cases.example.org/link/{code}-token" for code in codes}
    messages = information_requests(LISTED, PARTNERSHIP, WT2015, requests_for(codes), links=links)

    assert recipients(messages) == AGENCY_ADDRESSES
    police = render(messages[0])
    assert police.subject == "[NSCP-2026-0007] Request for information (CIGINF1) - due Thursday 26 November 2026"
    assert "Dear DI Pat Police (Northshire Police)," in police.text
    assert "listed for the CIG meeting on Tuesday 8 December 2026, 10:00" in police.text
    assert "Please return it within 7 days: by Thursday 26 November 2026, 23:59." in police.text
    # the agencies need the child's identity to search their records (CIGCON1 3.ii: "name, address and date of
    # birth of those involved"): it is behind each agency's own link to the secure website, never in the email
    assert "https://cases.example.org/link/POL-token" in police.text
    assert 'href="https://cases.example.org/link/POL-token"' in police.html
    assert "https://cases.example.org/link/CSC-token" in render(messages[1]).text
    for part in (police.subject, police.text, police.html):
        for identity in (CHILD_NAME, "Jordan Testparent", "Lee Testpartner", "1 Invented Row", "17 February 2019",
                         "1 May 1990"):
            assert identity not in part
    assert "BY RETURN" not in police.text


def test_cigINF1_says_by_return_when_the_meeting_is_under_7_days_away() -> None:
    [message] = information_requests(LISTED, PARTNERSHIP, WT2015, requests_for(["CSC"], by_return=True,
                                                                                 due_at=end_of(2026, 12, 3)))

    mail = render(message)
    assert mail.subject == "[NSCP-2026-0007] Request for information (CIGINF1) - due BY RETURN"
    assert "please return it BY RETURN, and no later than Thursday 3 December 2026, 23:59" in mail.text
    assert "BY RETURN" in mail.html


def test_cigINF1_due_the_day_before_the_meeting_says_so() -> None:
    [clamped] = information_requests(LISTED, PARTNERSHIP, WT2015, requests_for(["POL"], due_at=end_of(2026, 12, 7)))
    [by_return] = information_requests(LISTED, PARTNERSHIP, WT2015, requests_for(["POL"], by_return=True,
                                                                                   due_at=end_of(2026, 12, 7)))
    [earlier] = information_requests(LISTED, PARTNERSHIP, WT2015, requests_for(["POL"], due_at=end_of(2026, 12, 4)))

    assert "Please return it within 7 days: by Monday 7 December 2026, 23:59, the day before the meeting." in render(clamped).text
    assert "by <strong>Monday 7 December 2026, 23:59</strong>, the day before the meeting." in render(clamped).html
    assert "no later than Monday 7 December 2026, 23:59, the day before the meeting." in render(by_return).text
    assert "the day before the meeting" not in render(earlier).text


def test_cigINF1_carries_the_partnership_form_and_says_how_to_return_it() -> None:
    form = ciginf1_form(PARTNERSHIP)
    assert form is not None

    [message] = information_requests(LISTED, PARTNERSHIP, WT2015, requests_for(["POL"]), form=form)

    assert message.attachments == (form,)
    assert form["filename"] == "CIGINF1.docx"
    assert form["content_type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    mail = render(message)
    words = " ".join(mail.text.split())
    assert "Please complete CIGINF1 (the form is attached)" in words
    assert ("To return it, reply to this email with the completed form attached: replies go to Alex Admin, "
            "the partnership administrator (cig-admin@example.org).") in words
    parsed = message_from_bytes(build_email(mail, "cig-casework@example.org", "cig-admin@example.org").as_bytes(),
                                policy=policy.default)
    [attached] = list(parsed.iter_attachments())
    assert attached.get_filename() == "CIGINF1.docx"
    assert attached.get_content() == PARTNERSHIP.ciginf1_template.read_bytes()


def test_cigINF1_without_a_partnership_form_still_says_how_to_return_it() -> None:
    [message] = information_requests(LISTED, PARTNERSHIP, WT2015, requests_for(["POL"]))

    assert message.attachments == ()
    mail = render(message)
    assert "the form is attached" not in mail.text
    assert "reply to this email with the completed form attached" in mail.text


def test_a_further_information_round_asks_again_under_a_new_key() -> None:
    second = dataclasses.replace(LISTED, round=2, meeting_at=local(2027, 1, 12))

    [first_round] = information_requests(LISTED, PARTNERSHIP, WT2015, requests_for(["POL"]))
    [second_round] = information_requests(second, PARTNERSHIP, WT2015, requests_for(["POL"]))

    assert first_round.key == "NSCP-2026-0007:information-request:police@example.org:1"
    assert second_round.key == "NSCP-2026-0007:information-request:police@example.org:2"
    mail = render(second_round)
    assert mail.subject.startswith("[NSCP-2026-0007] Further information (CIGINF1)")
    assert "asked for further information from your agency" in mail.text


# --- step 7: the recommendation ---------------------------------------------------------------------

def test_the_recommendation_goes_to_the_independent_chair_with_the_rationale_and_the_decision_deadline() -> None:
    [message] = recommendation_notice(RECOMMENDED, PARTNERSHIP, WT2015)

    assert message.to.email == INDEPENDENT
    mail = render(message)
    assert mail.subject == "[NSCP-2026-0007] Critical Incident Group recommendation: Serious Case Review (CIGSUM1)"
    assert "Serious harm and concern about information sharing." in mail.text
    assert "Wednesday 16 December 2026, 23:59" in mail.text
    assert_no_child_identity(mail)


# --- step 8: the decision, to the CIG chair and the business manager --------------------------------

def test_the_decision_goes_to_the_cig_chair_and_the_business_manager_with_its_rationale() -> None:
    decided = dataclasses.replace(DECIDED_SCR, deadlines={**DECIDED_SCR.deadlines, "panel_notice": end_of(2026, 12, 24)})

    messages = decision_advice(decided, PARTNERSHIP, WT2015)

    assert recipients(messages) == [CHAIR, MANAGER]
    assert messages[0].key == "NSCP-2026-0007:decision-advice:cig-chair@example.org:0"
    for mail in rendered(messages):
        assert mail.subject == "[NSCP-2026-0007] The independent chair's decision: Serious Case Review"
        assert "made by Indra Independent on Thursday 10 December 2026, 15:00" in mail.text
        assert ("Decision: Serious Case Review (affirming the Critical Incident Group recommendation of "
                "Serious Case Review).") in mail.text
        assert "Rationale:\nRegulation 5(2)(b)(ii) is met." in mail.text
        assert "Lead reviewer(s): Rowan Reviewer, Sky Second." in mail.text
        assert ("- Notice to the National Panel of Independent Experts on Serious Case Reviews, "
                "by Thursday 24 December 2026, 23:59") in mail.text
        assert_no_child_identity(mail)


def test_a_review_other_than_an_scr_is_progressed_by_the_business_manager_and_administrator() -> None:
    chair, manager = rendered(decision_advice(DECIDED_NO_SCR, PARTNERSHIP, WT2015))

    assert "challenging the Critical Incident Group recommendation of Serious Case Review" in chair.text
    assert "The business manager and the administrator will progress the individual agency review." in manager.text
    assert "Learning is confined to one agency." in manager.html


def test_under_wt2023_the_decision_is_the_safeguarding_partners() -> None:
    case = dataclasses.replace(DECIDED_SCR, regime="wt2023", decided_by="Safeguarding partners")

    mail = render(decision_advice(case, PARTNERSHIP, WT2023)[0])

    assert mail.subject == (
        "[NSCP-2026-0007] The safeguarding partners' decision: local child safeguarding practice review (LCSPR)"
    )
    assert "- Rapid review and decision on a local child safeguarding practice review" in mail.text


# --- step 9: the decision notices -------------------------------------------------------------------

def test_an_scr_decision_tells_ofsted_the_panel_with_the_lead_reviewers_and_the_referrer() -> None:
    messages = decision_notices(DECIDED_SCR, PARTNERSHIP, WT2015)

    assert recipients(messages) == [OFSTED, PANEL, REFERRER]
    ofsted, panel, referrer = rendered(messages)
    assert ofsted.subject == (
        "[NSCP-2026-0007] Notice to Ofsted of the decision on a Serious Case Review: Serious Case Review"
    )
    assert "affirming the Critical Incident Group recommendation of Serious Case Review" in ofsted.text
    assert "made on Thursday 10 December 2026, 15:00" in ofsted.text
    assert "Lead reviewer(s): Rowan Reviewer, Sky Second." in panel.text
    assert referrer.subject == "[NSCP-2026-0007] Decision on your referral: Serious Case Review"
    assert "Bailey Manager, Business Manager" in referrer.text
    for mail in (ofsted, panel, referrer):
        assert_no_child_identity(mail)


def test_the_panel_notice_for_no_scr_has_the_anonymised_details_and_no_child_name_or_birth_date() -> None:
    ofsted, panel, referrer = rendered(decision_notices(DECIDED_NO_SCR, PARTNERSHIP, WT2015))

    assert panel.to == PANEL
    assert "No Serious Case Review will be initiated. Decision: individual agency review." in panel.text
    assert "- Ages of the children involved: 7 years" in panel.text
    assert "- Relationship with any alleged perpetrator: mother's partner" in panel.text
    assert "It is clear there are no concerns about how agencies worked together." in panel.text
    assert "Independent chair's decision (challenge): individual agency review" in panel.text
    assert "challenging the Critical Incident Group recommendation of Serious Case Review" in ofsted.text
    for mail in (ofsted, panel, referrer):
        assert_no_child_identity(mail)


def test_under_wt2023_the_decision_goes_to_the_panel_as_the_rapid_review() -> None:
    case = dataclasses.replace(DECIDED_NO_SCR, regime="wt2023")

    messages = decision_notices(case, PARTNERSHIP, WT2023)

    assert recipients(messages) == [PANEL, REFERRER]
    rapid = render(messages[0])
    assert rapid.subject.startswith("[NSCP-2026-0007] Rapid review and decision on a local child safeguarding")
    assert "(child aged 7)" in rapid.text
    assert "Attached: rapid-review-NSCP-2026-0007.docx" in rapid.text  # why the criteria are not met: in the document
    assert_no_child_identity(rapid)


def test_a_child_who_died_is_aged_at_the_date_of_death() -> None:
    died = dataclasses.replace(
        DECIDED_SCR, regime="wt2023", child_date_of_death=date(2026, 2, 16),
        facts=dict(DECIDED_SCR.facts, child_died=True), decision="scr",
    )

    rapid = render(decision_notices(died, PARTNERSHIP, WT2023)[0])

    assert "(child aged 6)" in rapid.text  # the day before the seventh birthday


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [(date(2019, 2, 17), date(2026, 2, 16), 6), (date(2019, 2, 17), date(2026, 2, 17), 7),
     (date(2012, 2, 29), date(2026, 2, 28), 13), (date(2012, 2, 29), date(2026, 3, 1), 14)],
)
def test_age_on_counts_whole_years(born: date, on: date, age: int) -> None:
    assert age_on(born, on) == age


# --- rendering safety -----------------------------------------------------------------------------

HOSTILE = "<script>alert('x')</script> & <b>bold</b>"


def test_html_in_a_case_field_is_escaped_in_the_html_part_and_kept_in_the_text_part() -> None:
    declined = dataclasses.replace(REFERRED, screening_reason=HOSTILE)

    mail = render(decline_notice(declined, PARTNERSHIP, WT2015)[0])

    assert "<script>" not in mail.html and "<b>bold</b>" not in mail.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in mail.html
    assert HOSTILE in mail.text


def test_html_in_rationales_and_panel_details_is_escaped() -> None:
    details = {**DECIDED_NO_SCR.panel_details, "criteria_explanation": HOSTILE}
    case = dataclasses.replace(DECIDED_NO_SCR, decision_rationale=HOSTILE, recommendation_rationale=HOSTILE,
                               panel_details=details)

    for mail in rendered(decision_notices(case, PARTNERSHIP, WT2015)):
        assert "<script>" not in mail.html


def test_a_subject_never_holds_a_line_break_even_from_hostile_values() -> None:
    hostile = dataclasses.replace(
        DECIDED_NO_SCR, reference="NSCP-2026-0007\r\nBcc: outsider@example.org",
        decision="individual_agency_review\nX-Injected: yes",
    )
    messages = (
        referral_notices(hostile, PARTNERSHIP, WT2015)
        + decision_notices(hostile, PARTNERSHIP, WT2015)
        + information_requests(hostile, PARTNERSHIP, WT2015, requests_for(["POL"]))
    )

    for mail in rendered(messages):
        assert "\n" not in mail.subject and "\r" not in mail.subject
        parsed = message_from_bytes(build_email(mail, "cig-casework@example.org").as_bytes(), policy=policy.default)
        assert parsed["Bcc"] is None and parsed["X-Injected"] is None
        assert parsed["To"] == mail.to


def test_every_message_has_a_plain_text_part_an_html_part_and_the_footer() -> None:
    messages = (
        referral_notices(REFERRED, PARTNERSHIP, WT2015)
        + referral_notices(REFERRED, PARTNERSHIP, WT2023)
        + decline_notice(dataclasses.replace(REFERRED, screening_reason="Below threshold."), PARTNERSHIP, WT2015)
        + information_requests(LISTED, PARTNERSHIP, WT2015, requests_for(["POL"]))
        + recommendation_notice(RECOMMENDED, PARTNERSHIP, WT2015)
        + decision_notices(DECIDED_SCR, PARTNERSHIP, WT2015)
        + decision_notices(DECIDED_NO_SCR, PARTNERSHIP, WT2015)
        + decision_notices(DECIDED_SCR, PARTNERSHIP, WT2023)
        + acceptance_notice(LISTED, PARTNERSHIP, WT2015)
        + listing_notices(LISTED, PARTNERSHIP, WT2015)
        + decision_advice(DECIDED_SCR, PARTNERSHIP, WT2015)
    )

    for mail in rendered(messages):
        assert mail.text.strip() and mail.html.strip()
        assert "OFFICIAL-SENSITIVE" in mail.text and "OFFICIAL-SENSITIVE" in mail.html
        assert "Northshire Safeguarding Children Partnership" in mail.text


def test_message_keys_are_stable_and_unique_per_recipient_and_step() -> None:
    first = decision_notices(DECIDED_SCR, PARTNERSHIP, WT2015) + referral_notices(REFERRED, PARTNERSHIP, WT2015)
    again = decision_notices(DECIDED_SCR, PARTNERSHIP, WT2015) + referral_notices(REFERRED, PARTNERSHIP, WT2015)

    assert [m.key for m in first] == [m.key for m in again]
    assert len({m.key for m in first}) == len(first)
    assert first[0].key == "NSCP-2026-0007:ofsted-notice:ofsted@example.org:0"


def every_message() -> list[Message]:
    return (
        referral_notices(REFERRED, PARTNERSHIP, WT2015)
        + referral_notices(dataclasses.replace(REFERRED, regime="wt2023"), PARTNERSHIP, WT2023)
        + decline_notice(dataclasses.replace(REFERRED, screening_reason="Below threshold."), PARTNERSHIP, WT2015)
        + acceptance_notice(LISTED, PARTNERSHIP, WT2015)
        + listing_notices(LISTED, PARTNERSHIP, WT2015)
        + information_requests(LISTED, PARTNERSHIP, WT2015, requests_for(["POL"]), form=ciginf1_form(PARTNERSHIP))
        + recommendation_notice(RECOMMENDED, PARTNERSHIP, WT2015)
        + decision_advice(DECIDED_SCR, PARTNERSHIP, WT2015)
        + decision_notices(DECIDED_SCR, PARTNERSHIP, WT2015)
        + decision_notices(DECIDED_NO_SCR, PARTNERSHIP, WT2015)
        + decision_notices(DECIDED_SCR, PARTNERSHIP, WT2023)
    )


def test_the_plain_text_footer_puts_the_reference_and_the_marking_on_lines_of_their_own() -> None:
    for mail in rendered(every_message()):
        assert mail.text.endswith(
            "\n--\nNorthshire Safeguarding Children Partnership - case NSCP-2026-0007\n"
            "OFFICIAL-SENSITIVE. Sent by the partnership's case-review system. Do not forward it outside your organisation.\n"
        ), mail.kind


def test_every_date_in_every_message_reads_one_way() -> None:
    iso = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
    for mail in rendered(every_message()):
        for part in (mail.subject, mail.text, mail.html):
            assert not iso.search(part), f"{mail.kind}: {iso.search(part).group()}"


def test_a_reply_goes_to_the_administrator() -> None:
    for mail in rendered(every_message()):
        parsed = message_from_bytes(build_email(mail, "cig-casework@example.org", "cig-admin@example.org").as_bytes(),
                                    policy=policy.default)
        assert parsed["Reply-To"] == "cig-admin@example.org" and parsed["From"] == "cig-casework@example.org"
    without = message_from_bytes(build_email(render(every_message()[0]), "cig-casework@example.org").as_bytes(),
                                 policy=policy.default)
    assert without["Reply-To"] is None


# --- the partnership's CIGINF1 form ------------------------------------------------------------------

def test_the_example_partnership_names_its_shipped_cigINF1_form() -> None:
    assert PARTNERSHIP.ciginf1_template == CONFIG_DIR / "forms" / "CIGINF1.docx"
    assert PARTNERSHIP.ciginf1_template.read_bytes().startswith(b"PK")  # a .docx is a zip


@pytest.mark.parametrize(("value", "refusal"), [
    ("forms/NO-SUCH-FORM.docx", "ciginf1_template: no file at"),
    ("partnership.example.yaml", "ciginf1_template: 'partnership.example.yaml' is not a .docx, .odt, .pdf, .rtf or .txt"),
])
def test_a_cigINF1_form_that_is_missing_or_not_a_document_is_refused_at_load(
    tmp_path: Path, value: str, refusal: str
) -> None:
    data = yaml.safe_load((CONFIG_DIR / "partnership.example.yaml").read_text(encoding="utf-8"))
    data["ciginf1_template"] = value
    path = tmp_path / "partnership.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")

    with pytest.raises(ConfigurationError, match=re.escape(refusal)):
        load_partnership(path)


def test_a_partnership_without_a_cigINF1_form_attaches_none(tmp_path: Path) -> None:
    data = yaml.safe_load((CONFIG_DIR / "partnership.example.yaml").read_text(encoding="utf-8"))
    del data["ciginf1_template"]
    path = tmp_path / "partnership.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")

    assert ciginf1_form(load_partnership(path)) is None


# --- the decision not to publish a review's report ---------------------------------------------------

def not_published(case: CaseFile, rules: RuleSet) -> list[Message]:
    from casework.review.messages import non_publication_notices

    return non_publication_notices(case, PARTNERSHIP, rules, decided_on=date(2027, 3, 10), decided_by="Partnership board",
                                   reason="Publication would identify the surviving siblings.",
                                   improvements_link="https://northshire-scp.example.org/scr/8-improvements")


def test_under_wt2015_an_scr_report_not_published_is_told_to_the_national_panel_with_the_reasons_once() -> None:
    messages = not_published(DECIDED_SCR, WT2015)

    assert sorted(recipients(messages)) == sorted([MANAGER, *AGENCY_ADDRESSES, INDEPENDENT, CHAIR, PANEL])
    [panel] = [m for m in messages if m.to.email == PANEL]
    assert panel.key == "NSCP-2026-0007:review-not-published-panel:national-panel@example.org:0"  # one key, one email
    mail = render(panel)
    assert mail.subject == "[NSCP-2026-0007] Serious Case Review report not published: notice to the National Panel"
    for part in (mail.text, mail.html):
        assert "Publication would identify the surviving siblings." in part
        assert "Partnership board" in part and "Wednesday 10 March 2027" in part
        assert "https://northshire-scp.example.org/scr/8-improvements" in part
        assert "Working Together 2015" in part
    assert "Lead reviewer(s): Rowan Reviewer, Sky Second." in mail.text
    assert_no_child_identity(mail)


@pytest.mark.parametrize("case, rules, told", [
    (DECIDED_NO_SCR, WT2015, [INDEPENDENT, CHAIR]),
    (DECIDED_SCR, WT2023, ["children-director@example.org", "icb-safeguarding@example.org",
                           "police-safeguarding@example.org"]),  # the acting safeguarding partners, not the chairs
], ids=["wt2015-individual-agency-review", "wt2023-lcspr"])
def test_a_report_not_published_goes_to_the_panel_only_where_the_rule_set_asks(case: CaseFile, rules: RuleSet,
                                                                             told: list[str]) -> None:
    assert sorted(recipients(not_published(case, rules))) == sorted([MANAGER, *AGENCY_ADDRESSES, *told])


def test_the_training_officer_is_told_the_reviews_learning_is_theirs_with_the_link_and_none_without_one() -> None:
    [told] = learning_write_up_notice("NSCP-2026-0007", review_type="Serious Case Review", ratified_on=date(2027, 5, 4),
                                      partnership=PARTNERSHIP)
    linked = render(dataclasses.replace(told, context=told.context | {"link": "https://cig.example.org/link/abc"}))
    assert linked.to == "training@example.org"
    assert linked.subject == "[NSCP-2026-0007] The review's learning is ready for you to write up"
    assert "ratified the final report of the Serious Case Review of case NSCP-2026-0007 on Tuesday 4 May 2027" \
        in linked.text
    assert "https://cig.example.org/link/abc" in linked.text and "https://cig.example.org/link/abc" in linked.html
    assert "the learning and improvement index (Excel)" in linked.text
    without = PARTNERSHIP.model_copy(update={"contacts": PARTNERSHIP.contacts.model_copy(
        update={"training_officer": None})})
    assert learning_write_up_notice("NSCP-2026-0007", review_type="Serious Case Review", ratified_on=date(2027, 5, 4),
                                    partnership=without) == []
