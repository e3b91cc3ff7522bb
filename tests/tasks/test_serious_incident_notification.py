"""Step 1 and step 9 (seed 002): the safeguarding unit manager's Serious Incident Notification is recorded
on the case, sent to Ofsted, the CIG chair, the business manager and the partnership chair once, and
goes to the National Panel with a decision not to initiate an SCR (the anonymised details only when
there is none)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from casework.referral import actions
from casework.delivery import deliver_pending
from casework.forms import DecisionForm, RecommendationForm, ReferralForm, ScreeningForm, SeriousIncidentNotificationForm
from casework.office import Office
from casework.store import cases as store
from notifications.mailbox import read_mailbox

SIN_DOCUMENT = Path(__file__).resolve().parents[2] / "config" / "forms" / "CIGINF1.docx"  # a real .docx file
FOUR = {"ofsted@example.org", "cig-chair@example.org", "business-manager@example.org", "independent-chair@example.org"}
SIN = SeriousIncidentNotificationForm(completed_on=date(2026, 11, 17), completed_by="Sam Unit")


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=timezone.utc)


def received(office: Office, subject_has: str) -> list:  # type: ignore[type-arg]
    return [m for m in read_mailbox(office.settings.mail_dir) if subject_has in m.subject]


async def test_the_sin_goes_to_the_four_once_with_its_document(office: Office, referral_form: ReferralForm) -> None:
    reference = actions.submit_referral(office, referral_form, now=at(11, 18), actor="administrator").reference

    outcome = actions.record_serious_incident_notification(
        office, reference, SIN, document=("SIN NSCP.docx", SIN_DOCUMENT.read_bytes()), now=at(11, 18, 11), actor="cig")
    with pytest.raises(store.AlreadyRecorded):
        actions.record_serious_incident_notification(office, reference, SIN, document=None, now=at(11, 18, 12), actor="cig")
    await deliver_pending(office)
    await deliver_pending(office)

    assert outcome.queued == 4
    mails = received(office, "Serious Incident Notification")
    assert sorted(to for m in mails for to in m.to) == sorted(FOUR)
    attachment = list(mails[0].message().iter_attachments())[-1]  # the last MIME part
    assert attachment.get_filename() == "SIN NSCP.docx" and attachment.get_payload(decode=True) == SIN_DOCUMENT.read_bytes()
    assert "completed on Tuesday 17 November 2026 by Sam Unit" in mails[0].text()
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert (case.sin_completed_on, case.sin_sent_on) == (date(2026, 11, 17), date(2026, 11, 18))
        sealed = session.execute(text("SELECT sin FROM cases WHERE reference = :r"), {"r": reference}).scalar_one()
    assert sealed.startswith("gAAAAA") and "Sam Unit" not in sealed


def test_a_sin_sent_before_is_recorded_and_not_sent_again(office: Office, referral_form: ReferralForm) -> None:
    reference = actions.submit_referral(office, referral_form, now=at(11, 18), actor="administrator").reference
    form = SIN.model_copy(update={"sent_on": date(2026, 11, 17), "notification": "Infant admitted with head injuries."})

    assert actions.record_serious_incident_notification(office, reference, form, document=None, now=at(11, 18),
                                                        actor="cig").queued == 0


def test_a_document_is_known_by_its_content_not_its_name(office: Office, referral_form: ReferralForm) -> None:
    reference = actions.submit_referral(office, referral_form, now=at(11, 18), actor="administrator").reference

    with pytest.raises(ValueError, match=r"document: sin\.pdf is not a PDF, Word \(\.docx\) or OpenDocument"):
        actions.record_serious_incident_notification(office, reference, SIN, document=("sin.pdf", b"MZ\x90\x00 program"),
                                                     now=at(11, 18), actor="cig")
    with pytest.raises(ValueError, match="notification: give the notification's text or attach the document"):
        actions.record_serious_incident_notification(office, reference, SIN, document=None, now=at(11, 18), actor="cig")
    with office.sessions() as session:
        assert store.get_case(session, reference=reference).sin is None  # nothing recorded


async def test_without_an_scr_the_panel_gets_the_sin_and_the_anonymised_details_are_the_fallback(
    office: Office, referral_form: ReferralForm
) -> None:
    decision = DecisionForm(response="affirm", decision="no_review", rationale="Single-agency learning.",
                            decided_by="Indra Independent", criteria_explanation="Agencies worked together well.")

    async def to_the_decision() -> str:
        reference = actions.submit_referral(office, referral_form, now=at(11, 18), actor="administrator").reference
        actions.record_screening(office, reference, ScreeningForm(outcome="accept", decided_by="Casey Chair",
                                                                  independent_chair_consulted=True), now=at(11, 19), actor="cig")
        actions.list_and_request_information(office, reference, now=at(11, 19))
        for code in [a.code for a in office.partnership.agencies]:
            from casework.forms import AgencyReturnForm
            actions.record_return(office, reference, AgencyReturnForm(agency=code, status="nil"), now=at(11, 24), actor="cig")
        actions.record_recommendation(office, reference, RecommendationForm(outcome="no_review", rationale="Local."),
                                      now=at(12, 8, 13), actor="cig")
        return reference

    without = await to_the_decision()
    with pytest.raises(ValueError, match="anonymised_details: no Serious Incident Notification is recorded"):
        actions.record_decision(office, without, decision, now=at(12, 9), actor="cig")

    reference = await to_the_decision()
    actions.record_serious_incident_notification(
        office, reference, SIN, document=("SIN.docx", SIN_DOCUMENT.read_bytes()), now=at(12, 8), actor="cig")
    actions.record_decision(office, reference, decision, now=at(12, 9), actor="cig")
    await deliver_pending(office)

    [panel] = [m for m in received(office, "National Panel") if reference in m.subject]
    assert "A copy of the local authority's Serious Incident Notification, completed on Tuesday 17 November 2026, " \
           "is attached." in panel.text()
    assert "Brief anonymised details" not in panel.text()
    assert list(panel.message().iter_attachments())[-1].get_filename() == "SIN.docx"


def test_the_tracker_and_the_timeline_show_the_sins_dates(office: Office, referral_form: ReferralForm) -> None:
    from casework.oversight.timeline import case_timeline_markdown
    from casework.oversight.exports import current_tracker

    reference = actions.submit_referral(office, referral_form, now=at(11, 18), actor="administrator").reference
    actions.record_serious_incident_notification(office, reference, SIN.model_copy(update={"notification": "Text."}),
                                                 document=None, now=at(11, 18, 11), actor="cig sin record")

    [row] = [r for r in current_tracker(office, now=at(11, 18, 12)) if r.reference == reference]
    assert row.serious_incident_notice_on == date(2026, 11, 18)
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        story = case_timeline_markdown(case, store.audit_trail(session, reference=reference),
                                       store.messages_for(session, case_id=case.id), calendar=office.calendar,
                                       now=at(11, 18, 12))
    assert "Serious Incident Notification recorded: completed Tue 17 Nov 2026, sent Wed 18 Nov 2026" in story
