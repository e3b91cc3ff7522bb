"""A review's learning and improvement actions, through casework.learning and the deadline sweep, on a real
database and a real SMTP server: plans drafted, ratified, changed only by recorded updates; the named
leads reminded, chased (the agency's CIG member copied) and escalated on the right days of a simulated
half-year, exactly once each, never for an action done or dropped. Every name and address is invented.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from casework.delivery import deliver_pending
from casework.forms import ReferralForm
from casework.learning import actions as learning
from casework.learning.forms import ActionForm, ActionUpdateForm
from casework.learning.rules import ActionStatus
from casework.office import Office
from casework.review import actions as review
from casework.review.forms import AppointmentForm, RatificationForm
from casework.store import cases as store
from casework.store.tables import OutboxMessage
from casework.sweep import queue_reminders
from tests.tasks.conftest import Mailbox
from tests.tasks.test_review import at, decided, form

MANAGER = "business-manager@example.org"
SOCIAL_CARE, HEALTH = "social-care@example.org", "health@example.org"


def action(**data) -> ActionForm:  # type: ignore[no-untyped-def]
    return form(ActionForm, **data)


PLAN = [
    action(plan="multi_agency", finding="Health visitors did not hear of the police call-outs.",
           action="Add health visiting to the daily domestic abuse triage.", agency="HEALTH", lead_name="Ash Lead",
           lead_email="ash.lead@example.org", target_on="2027-07-31",
           evidence_of_impact="Triage minutes show health visiting at 9 in 10 meetings."),
    action(plan="single_agency", finding="Assessments did not ask about the father.",
           action="Audit 20 assessments for the father's involvement.", agency="CSC", lead_name="Sky Practitioner",
           lead_email="sky.practitioner@example.org", target_on="2027-06-30",
           evidence_of_impact="Audit shows fathers seen in 15 of 20 assessments."),
    action(plan="single_agency", finding="Call handlers did not flag the infant.",
           action="Brief all call handlers on infants at incidents.", agency="POL", lead_name="Jo Constable",
           lead_email="jo.constable@example.org", target_on="2027-09-30",
           evidence_of_impact="Flags raised for infants at incidents."),
]


async def ratified_review(office: Office, referral: ReferralForm) -> str:
    """An SCR whose drafts and three actions the CIG and the executive group ratified on 4 May 2027."""
    reference = await decided(office, referral)
    review.commission_review(office, reference, now=at(12, 11))
    review.appoint_reviewer(office, reference, form(AppointmentForm, reviewer="Rowan Reviewer", kind="independent",
                                                    independent_of_agencies=True, appointed_on="2026-12-20",
                                                    appointed_by="Review group"), now=at(12, 20), actor="t")
    assert learning.add_actions(office, reference, PLAN, now=at(4, 20, year=2027), actor="training officer") == [1, 2, 3]
    for by in ("cig", "executive_group"):
        review.record_ratification(office, reference, form(RatificationForm, by=by, result="ratified", on="2027-05-04"),
                                   now=at(5, 4, year=2027), actor="t")
    await deliver_pending(office, now=at(5, 4, year=2027))
    return reference


async def test_actions_are_listed_and_after_ratification_change_only_through_a_recorded_update(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    reference = await ratified_review(office, referral_form)
    plan = learning.plan_view(office, reference, today=date(2027, 7, 5))
    assert (plan.ratified_on, plan.impact_review_due) == (date(2027, 5, 4), date(2027, 11, 4))
    assert [(a.number, a.agency, a.lead_name, a.status) for a in plan.actions] == [
        (1, "HEALTH", "Ash Lead", ActionStatus.open), (2, "CSC", "Sky Practitioner", ActionStatus.overdue),
        (3, "POL", "Jo Constable", ActionStatus.open)]
    text_view = learning.plan_text(plan)
    assert "plans ratified 2027-05-04, 6-month review due 2027-11-04" in text_view
    assert "2. [overdue] CSC single-agency, lead Sky Practitioner <sky.practitioner@example.org>, by 2027-06-30" in text_view

    # ratified: a new target date without a reason is refused, and changes nothing
    with pytest.raises(ValueError, match="^reason: the plans are ratified"):
        learning.update_action(office, reference, form(ActionUpdateForm, number=2, target_on="2027-08-31"),
                               now=at(7, 5, year=2027), actor="t")
    with pytest.raises(ValueError, match="^reason: the plans are ratified"):
        learning.add_actions(office, reference, PLAN[:1], now=at(7, 5, year=2027), actor="t")
    with pytest.raises(ValueError, match="^number: .* has no action 9"):
        learning.update_action(office, reference, form(ActionUpdateForm, number=9, status="done", evidence="x"),
                               now=at(7, 5, year=2027), actor="t")
    assert learning.plan_view(office, reference, today=date(2027, 7, 5)).actions[1].target_on == date(2027, 6, 30)

    updated = learning.update_action(office, reference, form(
        ActionUpdateForm, number=2, target_on="2027-08-31", reason="The audit team was redeployed to a child death."),
        now=at(7, 5, year=2027), actor="Bailey Manager")
    assert (updated.status, updated.target_on, updated.updates) == (ActionStatus.open, date(2027, 8, 31), 1)
    done = learning.update_action(office, reference, form(
        ActionUpdateForm, number=1, status="done", evidence="Triage minutes June: health visiting at 19 of 20.",
        done_on="2027-07-02"), now=at(7, 5, year=2027), actor="Bailey Manager")
    assert (done.status, done.status_note, done.done_on) == (
        ActionStatus.done, "Triage minutes June: health visiting at 19 of 20.", date(2027, 7, 2))
    with pytest.raises(ValueError, match="^evidence: word 1 is \\(part of\\) the name"):  # the pack and index go wide
        learning.update_action(office, reference, form(ActionUpdateForm, number=3, status="done",
                                                       evidence="Jordan's case was re-audited."),
                               now=at(7, 5, year=2027), actor="t")
    with pytest.raises(ValueError, match="reason: say why the action is dropped"):
        form(ActionUpdateForm, number=3, status="dropped")

    # the leads' names and emails are sealed; the audit and the updates never hold them
    with office.sessions() as session:
        raw = " ".join(str(v) for v in session.execute(text("SELECT * FROM learning_actions")).all())
        raw += " ".join(str(v) for v in session.execute(text("SELECT * FROM action_updates")).all())
        audit = " ".join(str(e.detail) for e in store.audit_trail(session, reference=reference))
    assert "Sky" not in raw and "ash.lead@" not in raw and "Sky" not in audit and "ash.lead" not in audit
    assert "learning action updated" in {e.action for e in _trail(office, reference)}


async def test_each_named_lead_is_told_once_that_the_action_is_theirs_and_a_new_lead_when_named(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    reference = await ratified_review(office, referral_form)  # its three actions added on 20 April 2027

    def told() -> list[tuple[str, str]]:
        return sorted((to, m.subject) for m in mailbox.received() for to in m.to if "You are the named lead" in m.subject)

    named = f"[{reference}] You are the named lead: learning action"
    assert told() == [("ash.lead@example.org", f"{named} 1 (Northshire Health Trust)"),
                      ("jo.constable@example.org", f"{named} 3 (Northshire Police)"),
                      ("sky.practitioner@example.org", f"{named} 2 (Children's Social Care)")]
    [mail] = [m for m in mailbox.received() if "ash.lead@example.org" in m.to]
    assert "Add health visiting to the daily domestic abuse triage." in mail.text()
    assert "due by Saturday 31 July 2027" in mail.text() and "Report on the action on its page" in mail.text()
    assert "/link/" in mail.text() and "send the evidence to the business manager" not in mail.text()  # a personal link

    # a new target date tells no one; a new lead is told, once, however often the update is recorded
    learning.update_action(office, reference, form(ActionUpdateForm, number=2, target_on="2027-08-31",
                                                   reason="The audit team was redeployed."), now=at(7, 5, year=2027), actor="t")
    for _ in range(2):
        learning.update_action(office, reference, form(
            ActionUpdateForm, number=2, lead_name="Robin Newlead", lead_email="robin.newlead@example.org",
            reason="Sky Practitioner moved to another team."), now=at(7, 6, year=2027), actor="t")
    await deliver_pending(office, now=at(7, 6, year=2027))
    assert [t for t in told() if t[0] == "robin.newlead@example.org"] == [
        ("robin.newlead@example.org", f"{named} 2 (Children's Social Care)")]
    assert len(told()) == 4
    [mail] = [m for m in mailbox.received() if "robin.newlead@example.org" in m.to]
    assert "due by Tuesday 31 August 2027" in mail.text()
    # the audit says a message went, not to whose address (a lead's is sealed personal data)
    sent = [e.detail for e in _trail(office, reference) if e.action == "message sent" and e.detail["kind"] == "action_reminder"]
    assert len(sent) == 4 and all(d["to"] is None for d in sent)


def _trail(office: Office, reference: str):  # type: ignore[no-untyped-def]
    with office.sessions() as session:
        return list(store.audit_trail(session, reference=reference))


async def test_leads_are_reminded_chased_and_escalated_on_the_right_days_of_a_half_year_once_each(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    reference = await ratified_review(office, referral_form)
    seen = len(mailbox.received())
    arrived: dict[tuple[str, str], list[date]] = defaultdict(list)
    day = date(2027, 5, 5)
    while day <= date(2027, 11, 5):
        now = datetime(day.year, day.month, day.day, 8, 0, tzinfo=timezone.utc)
        if day == date(2027, 7, 20):  # action 1 is done before its 3-day reminder
            learning.update_action(office, reference, form(ActionUpdateForm, number=1, status="done",
                                                           evidence="Triage minutes show health visiting."),
                                   now=now, actor="t")
        if day == date(2027, 6, 1):  # action 3 is dropped: nothing more for it
            learning.update_action(office, reference, form(ActionUpdateForm, number=3, status="dropped",
                                                           reason="The force replaced its call handling system."),
                                   now=now, actor="t")
        if queue_reminders(office, now=now).queued:
            assert queue_reminders(office, now=now).queued == 0  # the sweep runs every 15 minutes: once each
            await deliver_pending(office, now=now)
        for mail in mailbox.received()[seen:]:
            if "learning action" in mail.subject:
                for to in mail.to:
                    arrived[(to, mail.subject)].append(day)
        seen = len(mailbox.received())
        day += timedelta(days=1)

    due1 = f"[{reference}] Due soon: learning action 1 (Northshire Health Trust)"
    due2 = f"[{reference}] Due soon: learning action 2 (Children's Social Care)"
    late2 = f"[{reference}] Overdue: learning action 2 (Children's Social Care)"
    assert dict(arrived) == {
        # 14 days before 31 July is Saturday 17 July, 3 days before 30 June Sunday 27 June: each reminder goes on
        # the working day before (no reminder on a day no one works)
        ("ash.lead@example.org", due1): [date(2027, 7, 16)],
        ("sky.practitioner@example.org", due2): [date(2027, 6, 16), date(2027, 6, 25)],
        ("sky.practitioner@example.org", late2): [date(2027, 7, 1)],
        (SOCIAL_CARE, late2): [date(2027, 7, 1)],
        (MANAGER, late2): [date(2027, 7, 14)],
    }
    mails = {(to, m.subject): m for m in mailbox.received() for to in m.to}
    copy = mails[(SOCIAL_CARE, late2)].text()
    assert "accountable for the agency's actions" in copy and "Sky Practitioner" in copy
    assert "Audit 20 assessments for the father's involvement." in mails[("sky.practitioner@example.org", late2)].text()
    assert "14 days overdue" in mails[(MANAGER, late2)].text()


async def test_a_chase_still_waiting_when_the_action_is_done_is_withdrawn_unsent(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    reference = await ratified_review(office, referral_form)
    learning.update_action(office, reference, form(ActionUpdateForm, number=2, target_on="2027-07-15",
                                                   reason="Agreed at the executive group."), now=at(5, 10, year=2027),
                           actor="t")
    seen = len(mailbox.received())
    mailbox.stop()  # the mail server is down when the chase is queued
    assert queue_reminders(office, now=at(7, 16, 8, year=2027)).queued >= 2
    await deliver_pending(office, now=at(7, 16, 8, year=2027))
    learning.update_action(office, reference, form(ActionUpdateForm, number=2, status="done",
                                                   evidence="Audit report July."), now=at(7, 16, 9, year=2027), actor="t")
    mailbox.start()
    await deliver_pending(office, now=at(7, 16, 12, year=2027))
    late = [m for m in mailbox.received()[seen:] if "learning action 2" in m.subject]
    assert late == []
    with office.sessions() as session:
        statuses = {row.recipient: row.status for row in session.scalars(
            select(OutboxMessage).where(OutboxMessage.key.like(f"{reference}:chase.learning_action.A2.%")))}
    assert statuses == {"sky.practitioner@example.org": "withdrawn", SOCIAL_CARE: "withdrawn"}
