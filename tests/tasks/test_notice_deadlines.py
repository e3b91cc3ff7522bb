"""A statutory notice meets its deadline in the transaction that sends it, whatever sent it: the Panel notice
that waited for an SCR's lead reviewer, the Ofsted notice of the decision, wt2023's serious incident notice at
referral. From that moment the tracker, `cig referral show`, the case's timeline and the monthly report show
it met, with no sweep near its date. Against a real case database and a real SMTP server; every name and
address is invented.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime

from casework.delivery import deliver_pending
from casework.forms import AgencyReturnForm, DecisionForm, RecommendationForm, ReferralForm, ScreeningForm
from casework.office import Office
from casework.oversight.exports import current_tracker
from casework.oversight.report import monthly_report
from casework.oversight.timeline import case_timeline_markdown, people_of
from casework.referral import actions
from casework.referral.views import case_record, case_summary_markdown
from casework.review import actions as review
from casework.review.forms import AppointmentForm
from casework.store import cases as store
from notifications.mailbox import read_mailbox
from tests.tasks.conftest import Mailbox
from tests.tasks.test_regime_wt2023 import wt2023_office  # noqa: F401 (the fixture)
from tests.tasks.test_review import AGENCIES, PANEL, RATIONALE, at, decided, form
from tests.tasks.test_sweep import open_case

OFSTED = "ofsted@example.org"


def _seen(office: Office, reference: str, now: datetime) -> tuple[dict, str, str, object]:  # type: ignore[type-arg]
    """What people see of the case at `now`: `cig referral show --json`, its summary, its timeline, its tracker row."""
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        rules = office.rules(case.regime)
        record = case_record(case, office.calendar, now)
        summary = case_summary_markdown(case, rules, office.calendar, now)
        story = case_timeline_markdown(case, store.audit_trail(session, reference=reference),
                                       store.messages_for(session, case_id=case.id), calendar=office.calendar,
                                       now=now, terms=rules.terms, people=people_of(office.partnership))
    [row] = [r for r in current_tracker(office, now=now) if r.reference == reference]
    return record, summary, story, row


def _deadline(record: dict, kind: str) -> dict:  # type: ignore[type-arg]
    [found] = [d for d in record["deadlines"] if d["kind"] == kind]
    return found


async def test_the_panel_notice_sent_at_the_lead_reviewers_appointment_is_met_at_once(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    """An SCR decided on Thursday 10 December 2026 with no lead reviewer: its Panel notice is due by Thursday 24
    December. The reviewer is appointed on Monday 14 December at noon and the notice goes at once: from then
    the deadline is met (no "14 days left", no sweep needed), and December's report counts it, on time."""
    reference = await decided(office, referral_form)
    review.commission_review(office, reference, now=at(12, 11))
    await deliver_pending(office, now=at(12, 11))
    label = "National Panel notice (14 days from the decision)"
    before = _seen(office, reference, at(12, 14, 11))
    assert _deadline(before[0], "panel_notice")["met_at"] is None  # still owed before the appointment

    appointed = at(12, 14, 12)
    review.appoint_reviewer(office, reference, form(
        AppointmentForm, reviewer="Rowan Reviewer", kind="independent", independent_of_agencies=True,
        appointed_on="2026-12-14", appointed_by="Review group planning meeting"), now=appointed, actor="t")
    await deliver_pending(office, now=appointed)
    assert [m.subject for m in mailbox.received() if PANEL in m.to] == [
        f"[{reference}] Notice to the National Panel of Independent Experts on Serious Case Reviews: Serious Case Review"]

    now = at(12, 14, 13)
    record, summary, story, row = _seen(office, reference, now)
    assert _deadline(record, "panel_notice") | {"due_at": "-"} == {
        "kind": "panel_notice", "subject": "", "round": 0, "label": label, "due_at": "-",
        "met_at": appointed.isoformat(), "days_left": None}
    assert label not in summary
    assert label not in story.split("## What is due next")[1]
    assert row.panel_notice_on == date(2026, 12, 14)
    assert row.next_deadline != label

    with office.sessions() as session:
        report = monthly_report(store.list_cases(session), month=date(2026, 12, 1), now=now, calendar=office.calendar)
    assert (report.panel_notices_on_time.count, report.panel_notices_on_time.of) == (1, 1)


def test_the_ofsted_notice_is_met_when_it_is_delivered_before_the_case_is_finished(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    """The Ofsted notice meets its deadline as it is sent, not when the referral's run finishes the case."""
    reference = actions.submit_referral(office, referral_form, now=at(11, 18), actor="HEALTH safeguarding lead").reference
    actions.record_screening(office, reference, ScreeningForm(outcome="accept", decided_by="Casey Chair",
                                                              independent_chair_consulted=True), now=at(11, 19, 9), actor="t")
    actions.list_and_request_information(office, reference, now=at(11, 19))
    for code in AGENCIES:
        actions.record_return(office, reference, AgencyReturnForm(agency=code, status="nil"), now=at(11, 24), actor="t")
    actions.record_recommendation(office, reference, RecommendationForm(outcome="scr", rationale="Serious harm."),
                                  now=at(12, 8, 13), actor="t")
    actions.record_decision(office, reference, DecisionForm.model_validate(
        {"response": "affirm", "decision": "scr", "rationale": RATIONALE, "decided_by": "Indra Independent",
         "lead_reviewers": ["Rowan Reviewer"]}), now=at(12, 10, 15), actor="independent chair")
    asyncio.run(deliver_pending(office, now=at(12, 10, 15)))
    assert {to for m in mailbox.received() for to in m.to} >= {OFSTED, PANEL}

    record, _summary, _story, row = _seen(office, reference, at(12, 10, 15))
    assert _deadline(record, "ofsted_notice")["met_at"] == at(12, 10, 15).isoformat()
    assert _deadline(record, "panel_notice")["met_at"] == at(12, 10, 15).isoformat()
    assert (row.ofsted_notice_on, row.panel_notice_on) == (date(2026, 12, 10), date(2026, 12, 10))


def test_the_serious_incident_notification_is_met_when_recorded_as_made_under_wt2023(wt2023_office: Office) -> None:
    """wt2023: the local authority makes the serious incident notification through the Panel's online service (due
    5 working days from awareness); its content emailed to the local authority meets nothing, the administrator's
    record that it was made meets it, weeks before the case is decided, and the tracker's next deadline is then the
    decision."""
    from casework.forms import PanelNotificationForm

    office = wt2023_office
    referred = at(11, 20)
    reference = open_case(office, referred)
    asyncio.run(deliver_pending(office, now=referred))
    assert not any(PANEL in m.to for m in read_mailbox(office.settings.mail_dir))
    record, _summary, _story, row = _seen(office, reference, at(11, 20, 11))
    assert _deadline(record, "serious_incident_notice")["met_at"] is None

    actions.record_panel_notification(office, reference, PanelNotificationForm(
        notified_on=date(2026, 11, 20), notified_by="Dana Director", panel_reference="SIN-0001"),
        now=at(11, 20, 12), actor="administrator")
    record, _summary, _story, row = _seen(office, reference, at(11, 20, 13))
    assert _deadline(record, "serious_incident_notice")["met_at"] == at(11, 20, 12).isoformat()
    assert row.serious_incident_notice_on == date(2026, 11, 20)
    assert row.next_deadline and "serious incident" not in row.next_deadline
