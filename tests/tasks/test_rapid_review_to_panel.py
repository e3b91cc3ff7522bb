"""wt2023: the rapid review sent to the Child Safeguarding Practice Review Panel, against a real case database and a
real SMTP server. The rapid review meeting records what the Panel's rapid review needs (a name refused); the
decision sends the Panel one email with the rapid review attached as a Word document, once however often the step
is repeated, and, with the mail server down past the deadline, once when it is back, the deadline then shown met
late; with no reply recorded the business manager is reminded once after the `panel_reply` clock; the reply is
recorded, and a national review shows on the tracker and the case timeline. When the Panel asks for more, the reply
clock restarts from the day it asked: one reminder more, none once a further reply is recorded."""

from __future__ import annotations

import asyncio
import io
from datetime import date

import pytest
from docx import Document

from casework.delivery import deliver_pending
from casework.forms import DecisionForm, recommendation_form
from casework.meetings import rescheduling
from casework.model import ChairResponse, ReviewType
from casework.office import Office
from casework.office_forms import PanelReplyForm
from casework.oversight.timeline import case_timeline_markdown
from casework.oversight.tracker import tracker_row
from casework.referral import actions
from casework.referral.messages import decision_notices
from casework.referral.panel import PanelReply
from casework.store import cases as store
from casework.sweep import queue_reminders
from notifications.mailbox import read_mailbox, set_fault
from tests.tasks.test_regime_wt2023 import PANEL, wt2023_office  # noqa: F401 (wt2023_office: the fixture)
from tests.tasks.test_sweep import at, nil_return, open_case

MANAGER = "business-manager@example.org"


def _record_at_the_rapid_review_meeting(office: Office, reference: str) -> None:
    with office.sessions() as session:
        listed_for = store.get_case(session, reference=reference).meeting_at
    if listed_for is None or listed_for > at(date(2026, 12, 1)):  # not yet listed for its own rapid review meeting
        rescheduling.add_meeting(office, at(date(2026, 12, 1)), now=at(date(2026, 12, 1)),
                                 reason="rapid review meeting", actor="test", relist_cases=[reference])
    form = recommendation_form(office.rules("wt2023").rapid_review_document.fields)
    with pytest.raises(ValueError, match="^immediate_action: word 5 is"):  # names no one: refused, nothing kept
        actions.record_recommendation(office, reference, form(
            outcome="scr", rationale="Criteria met.", immediate_action="A protection plan for Robin's sibling."),
            now=at(date(2026, 12, 1), 15), actor="test")
    actions.record_recommendation(office, reference, form(
        outcome="scr", rationale="Robin Testchild was known to three agencies.",
        immediate_action="A child protection plan for the sibling, aged 4.",
        learning_so_far="What the health visitor knew was not shared at the strategy meeting."),
        now=at(date(2026, 12, 1), 15), actor="test")


def test_the_panel_gets_the_rapid_review_once_then_its_reply_is_chased_once_and_recorded(wt2023_office: Office) -> None:
    office = wt2023_office
    reference = open_case(office, at(date(2026, 11, 20)))  # aware Monday 16 November: rapid review due 7 December
    for code in ("POL", "CSC", "HEALTH"):
        nil_return(office, reference, code, at(date(2026, 11, 24)))
    _record_at_the_rapid_review_meeting(office, reference)

    # the mail server is down from the decision (7 December) past the deadline: the rapid review waits in the outbox
    set_fault(office.settings.mail_dir, "421 4.3.0 try later")
    decision = DecisionForm(response=ChairResponse.affirm, decision=ReviewType.scr, rationale="Criteria met for "
                            "Robin Testchild.", decided_by="the safeguarding partners")
    actions.record_decision(office, reference, decision, now=at(date(2026, 12, 7), 10), actor="test")
    asyncio.run(deliver_pending(office, now=at(date(2026, 12, 7), 11)))
    with pytest.raises(store.AlreadyRecorded):  # the step repeated: nothing more is queued
        actions.record_decision(office, reference, decision, now=at(date(2026, 12, 7), 12), actor="test")
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference)
        assert actions.queue(session, case, decision_notices(actions.case_file(case), office.partnership,
                                                             office.rules("wt2023")), at(date(2026, 12, 7), 12)) == 0
        row = tracker_row(case, now=at(date(2026, 12, 8), 8), calendar=office.calendar,
                          terms=office.rules("wt2023").terms)
    assert "rapid review notice to the Panel (1 day overdue)" in row.breach_flags  # still queued: shown breached
    set_fault(office.settings.mail_dir, None)
    asyncio.run(deliver_pending(office, now=at(date(2026, 12, 8), 9)))
    asyncio.run(deliver_pending(office, now=at(date(2026, 12, 8), 10)))

    [panel] = [m for m in read_mailbox(office.settings.mail_dir) if PANEL in m.to]
    assert panel.subject == (f"[{reference}] Rapid review and decision on a local child safeguarding practice review: "
                             "LCSPR initiated")
    assert f"Attached: rapid-review-{reference}.docx" in panel.text()
    [attachment] = list(panel.message().iter_attachments())
    assert attachment.get_filename() == f"rapid-review-{reference}.docx"
    document = Document(io.BytesIO(attachment.get_content()))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "A child protection plan for the sibling, aged 4." in text
    assert "the child was known to three agencies." in text
    assert "Robin" not in text and "Testchild" not in text and "Robin" not in panel.text()
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        notice = next(d for d in case.deadlines if d.kind == "rapid_review_notice")
        assert notice.met_at is not None and notice.met_at > notice.due_at  # sent once the server was back: late
        reply_due = next(d for d in case.deadlines if d.kind == "panel_reply")
        assert office.calendar.local_date(reply_due.due_at) == date(2026, 12, 22)  # 10 working days from 8 December

    # no reply recorded: the business manager is reminded once, from the clock's last day
    sent = len(read_mailbox(office.settings.mail_dir))
    for day in (date(2026, 12, 21), date(2026, 12, 22), date(2026, 12, 23), date(2026, 12, 29)):
        queue_reminders(office, now=at(day, 8))
        asyncio.run(deliver_pending(office, now=at(day, 8)))
    reminders = [(m.to, m.subject) for m in read_mailbox(office.settings.mail_dir)[sent:] if "Panel's reply" in m.subject]
    assert reminders == [([MANAGER], f"[{reference}] Reminder: the Panel's reply to the rapid review, none recorded")]

    # the Panel will carry out a national review: recorded, on the tracker and the timeline
    today = {"today": date(2027, 1, 4)}
    with pytest.raises(ValueError, match="reasons: the Panel disagrees"):
        PanelReplyForm.model_validate({"reply": "disagrees", "received_on": "2027-01-04", "recorded_by": "Ari Admin"},
                                      context=today)
    reply = PanelReplyForm.model_validate({"reply": PanelReply.national_review, "received_on": "2027-01-04",
                                           "recorded_by": "Ari Admin"}, context=today)
    actions.record_panel_reply(office, reference, reply, now=at(date(2027, 1, 4), 10), actor="test")
    with pytest.raises(store.AlreadyRecorded):
        actions.record_panel_reply(office, reference, reply, now=at(date(2027, 1, 4), 11), actor="test")
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        terms = office.rules(case.regime).terms
        row = tracker_row(case, now=at(date(2027, 1, 5)), calendar=office.calendar, terms=terms)
        story = case_timeline_markdown(case, store.audit_trail(session, reference=reference),
                                       store.messages_for(session, case_id=case.id), calendar=office.calendar,
                                       now=at(date(2027, 1, 5)), terms=terms)
    assert row.panel_reply == ("the Panel will carry out a national review: national review by the Child "
                               "Safeguarding Practice Review Panel")
    assert row.panel_reply_on == date(2027, 1, 4)
    assert not [b for b in row.breaches if "reply" in b.label]
    assert "a national review is recorded on the case" in story


def test_the_panel_asking_for_more_restarts_the_reply_reminder_from_that_day(wt2023_office: Office) -> None:
    office = wt2023_office
    reference = open_case(office, at(date(2026, 11, 20)))
    for code in ("POL", "CSC", "HEALTH"):
        nil_return(office, reference, code, at(date(2026, 11, 24)))
    _record_at_the_rapid_review_meeting(office, reference)
    actions.record_decision(office, reference, DecisionForm(
        response=ChairResponse.affirm, decision=ReviewType.scr, rationale="Criteria met.",
        decided_by="the safeguarding partners"), now=at(date(2026, 12, 7), 10), actor="test")
    asyncio.run(deliver_pending(office, now=at(date(2026, 12, 7), 11)))  # sent: the reply is due 21 December

    def reminded(days: tuple[date, ...]) -> list[str]:
        sent = len(read_mailbox(office.settings.mail_dir))
        for day in days:
            queue_reminders(office, now=at(day, 8))
            asyncio.run(deliver_pending(office, now=at(day, 8)))
        return [m.subject for m in read_mailbox(office.settings.mail_dir)[sent:] if "Panel's reply" in m.subject]

    assert len(reminded((date(2026, 12, 21), date(2026, 12, 22)))) == 1
    more = PanelReplyForm.model_validate({"reply": PanelReply.asks_for_more, "received_on": "2027-01-04",
                                          "reasons": "The Panel asks what the school knew.", "recorded_by": "Ari Admin"},
                                         context={"today": date(2027, 1, 4)})
    actions.record_panel_reply(office, reference, more, now=at(date(2027, 1, 4), 10), actor="test")
    with office.sessions() as session:
        due = [office.calendar.local_date(d.due_at) for d in store.get_case(session, reference=reference).deadlines
               if d.kind == "panel_reply" and d.met_at is None]
    assert due == [date(2027, 1, 18)]  # 10 working days from the day the Panel asked
    # no further reply: the business manager is reminded once again, from the restarted clock's last day
    assert reminded((date(2027, 1, 4), date(2027, 1, 15), date(2027, 1, 18), date(2027, 1, 19), date(2027, 1, 25))) == [
        f"[{reference}] Reminder: the Panel's reply to the rapid review, none recorded"]
    agrees = PanelReplyForm.model_validate({"reply": PanelReply.agrees, "received_on": "2027-01-26",
                                            "recorded_by": "Ari Admin"}, context={"today": date(2027, 1, 26)})
    actions.record_panel_reply(office, reference, agrees, now=at(date(2027, 1, 26), 10), actor="test")
    assert reminded((date(2027, 1, 27), date(2027, 2, 1))) == []
