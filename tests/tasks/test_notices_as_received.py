"""The notices of issue 11 as their recipients receive them, over a real SMTP server: the referrer told
of acceptance with the meeting's date (CIGCON1), the business manager and the administrator told of
the listing (step 5.1), the CIG chair and the business manager told of the decision (step 8); and
every message as an agency member reads it: replies go to the administrator, the footer is on its
own lines, dates read one way, and CIGINF1 arrives with the blank form and how to send it back.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

from casework.referral import actions
from casework.delivery import deliver_pending
from casework.forms import ReferralForm
from casework.office import Office
from config.partnership import CONFIG_DIR
from notifications.mailbox import ReceivedMail, read_mailbox
from tests.tasks.test_case_actions import (
    ACCEPT, ADMIN, AGENCIES, CHAIR, DECIDE_SCR, INDEPENDENT, MANAGER, RECOMMEND_SCR, REFERENCE, REFERRER, all_returns,
    moment, submit,
)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


async def decided_case(office: Office, form: ReferralForm, *, listed_on: date = date(2026, 11, 19)) -> list[ReceivedMail]:
    """The example referral from CIGSCR1 to the decision notices, each action run twice, every message delivered."""
    reference = submit(office, form)
    actions.record_screening(office, reference, ACCEPT, now=moment(listed_on.month, listed_on.day, 9), actor="cig chair")
    for _ in range(2):
        actions.list_and_request_information(office, reference, now=moment(listed_on.month, listed_on.day))
    await deliver_pending(office)
    all_returns(office, reference)
    actions.record_recommendation(office, reference, RECOMMEND_SCR, now=moment(12, 8, 13), actor="cig chair")
    actions.record_decision(office, reference, DECIDE_SCR, now=moment(12, 10, 15), actor="independent chair")
    await deliver_pending(office)
    assert (await deliver_pending(office)).sent == []
    return read_mailbox(office.settings.mail_dir)


def received(mails: list[ReceivedMail], subject_part: str) -> Counter[str]:
    """How many messages whose subject holds `subject_part` each address received."""
    return Counter(to for mail in mails if subject_part in mail.subject for to in mail.to)


def text(mail: ReceivedMail) -> str:
    """The plain-text part as a reader sees it (the wire's CRLF line ends as newlines)."""
    return mail.text().replace("\r\n", "\n")


def one(mails: list[ReceivedMail], to: str, subject_part: str) -> ReceivedMail:
    [mail] = [m for m in mails if to in m.to and subject_part in m.subject]
    return mail


async def test_the_referrer_is_told_once_that_the_case_goes_to_the_group_and_when(
    office: Office, referral_form: ReferralForm
) -> None:
    mails = await decided_case(office, referral_form)

    assert received(mails, "Your referral will go to") == {REFERRER: 1}
    mail = one(mails, REFERRER, "Your referral will go to")
    assert mail.subject == f"[{REFERENCE}] Your referral will go to the Critical Incident Group on Tuesday 8 December 2026"
    assert "have accepted case NSCP-2026-0001 for CIG consideration." in text(mail)
    assert "It is listed for the CIG meeting on Tuesday 8 December 2026, 10:00." in text(mail)
    assert "Bailey Manager, Business Manager" in text(mail)
    assert "<strong>Tuesday 8 December 2026, 10:00</strong>" in mail.html()
    assert "Robin" not in text(mail) + mail.html()


async def test_the_business_manager_and_the_administrator_are_told_the_meeting_once_and_no_one_else(
    office: Office, referral_form: ReferralForm
) -> None:
    mails = await decided_case(office, referral_form)

    assert received(mails, "To be considered at") == {MANAGER: 1, ADMIN: 1}
    for to, name in ((MANAGER, "Bailey Manager"), (ADMIN, "Alex Admin")):
        mail = one(mails, to, "To be considered at")
        assert mail.subject == f"[{REFERENCE}] To be considered at the CIG meeting on Tuesday 8 December 2026"
        body = text(mail)
        assert body.startswith(f"Dear {name},")
        assert "is to be considered at the next CIG meeting, on Tuesday 8 December 2026, 10:00." in body
        assert "Casey Chair, Critical Incident Group chair" in body
        assert "Tuesday 8 December 2026, 10:00" in mail.html()
        assert "Robin" not in body + mail.html()


async def test_the_cig_chair_and_the_business_manager_receive_the_decision_with_its_rationale_once(
    office: Office, referral_form: ReferralForm
) -> None:
    mails = await decided_case(office, referral_form)

    assert received(mails, "The independent chair's decision") == {CHAIR: 1, MANAGER: 1}
    assert INDEPENDENT not in received(mails, "The independent chair's decision")
    for to in (CHAIR, MANAGER):
        mail = one(mails, to, "The independent chair's decision")
        assert mail.subject == f"[{REFERENCE}] The independent chair's decision: Serious Case Review"
        body = text(mail)
        assert "made by Indra Independent on Thursday 10 December 2026, 15:00" in body
        assert "Decision: Serious Case Review (affirming the Critical Incident Group recommendation" in body
        assert "Rationale:\nRegulation 5(2)(b)(ii) is met." in body
        assert "Lead reviewer(s): Rowan Reviewer." in body
        assert ("- Notice to the National Panel of Independent Experts on Serious Case Reviews, "
                "by Thursday 24 December 2026, 23:59") in body
        assert "Regulation 5(2)(b)(ii) is met." in mail.html()
        assert "Robin" not in body + mail.html()


async def test_every_message_replies_to_the_administrator_with_its_footer_on_its_own_lines(
    office: Office, referral_form: ReferralForm
) -> None:
    mails = await decided_case(office, referral_form)

    assert len(mails) == 20
    for mail in mails:
        email = mail.message()
        assert email["Reply-To"] == ADMIN, mail.subject
        assert email["From"] == office.settings.mail_from
        body = text(mail)
        assert f"Northshire Safeguarding Children Partnership - case {REFERENCE}\nOFFICIAL-SENSITIVE." in body, mail.subject
        assert "OFFICIAL-SENSITIVE" in mail.html()
        assert not ISO_DATE.search(body) and not ISO_DATE.search(mail.html()), mail.subject


async def test_cigINF1_arrives_with_the_blank_form_and_says_how_to_return_it(
    office: Office, referral_form: ReferralForm
) -> None:
    mails = await decided_case(office, referral_form)
    blank = (CONFIG_DIR / "forms" / "CIGINF1.docx").read_bytes()

    assert received(mails, "(CIGINF1)") == {address: 1 for address in AGENCIES.values()}
    for address in AGENCIES.values():
        mail = one(mails, address, "(CIGINF1)")
        [form] = list(mail.message().iter_attachments())
        assert (form.get_filename(), form.get_content_type()) == ("CIGINF1.docx", DOCX)
        assert form.get_content() == blank
        assert mail.message()["Reply-To"] == ADMIN
    police = one(mails, AGENCIES["POL"], "(CIGINF1)")
    words = " ".join(text(police).split())
    assert "Please complete CIGINF1 (the form is attached)" in words
    assert ("To return it another way, reply to this email with the completed form attached: replies go to "
            "Alex Admin, the partnership administrator (cig-admin@example.org).") in words
    # who is involved is behind the agency's personal link to the secure website, not in the email
    assert re.search(r"http://127\.0\.0\.1:8080/link/[A-Za-z0-9_-]{43}\n", text(police))
    for identity in ("Robin Testchild", "Jordan Testparent", "Lee Testpartner", "3 July 2026", "14 February 1998"):
        assert identity not in text(police) and identity not in police.html()
    assert 'href="mailto:cig-admin@example.org"' in police.html()


async def test_a_return_due_the_day_before_the_meeting_says_so(office: Office, referral_form: ReferralForm) -> None:
    # listed on Tuesday 1 December for Tuesday 8 December: 7 days would fall on the meeting day itself
    mails = await decided_case(office, referral_form, listed_on=date(2026, 12, 1))

    police = one(mails, AGENCIES["POL"], "(CIGINF1)")
    assert police.subject == f"[{REFERENCE}] Request for information (CIGINF1) - due Monday 7 December 2026"
    assert "Please return it within 7 days: by Monday 7 December 2026, 23:59, the day before the meeting." in text(police)
    assert "the day before the meeting." in police.html()
