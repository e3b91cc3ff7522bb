"""Delivering the outbox when the mail server says no: a 4xx or a refused connection leaves messages
pending to try again, a 5xx marks them failed and they are never retried.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from casework.referral import actions
from casework.delivery import deliver_pending
from casework.forms import ReferralForm
from casework.office import Office
from casework.store import cases as store
from casework.store.tables import OutboxMessage
from notifications.mailbox import set_fault

REFERENCE = "NSCP-2026-0001"
REFERRAL_NOTICE_TO = {
    "cig-chair@example.org", "business-manager@example.org", "cig-admin@example.org", "independent-chair@example.org",
}


def submit(office: Office, form: ReferralForm) -> str:
    """A referral, which queues its four referral notices."""
    now = datetime(2026, 11, 18, 10, tzinfo=timezone.utc)
    outcome = actions.submit_referral(office, form, now=now, actor="HEALTH safeguarding lead")
    assert outcome.queued == 4
    return outcome.reference


def outbox(office: Office) -> list[OutboxMessage]:
    with office.sessions.begin() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def failure_events(office: Office) -> list[dict]:
    with office.sessions.begin() as session:
        return [e.detail for e in store.audit_trail(session, reference=REFERENCE) if e.action == "message delivery failed"]


async def test_a_451_leaves_messages_pending_and_they_go_once_when_the_server_recovers(
    office: Office, referral_form: ReferralForm, mailbox
) -> None:
    submit(office, referral_form)
    set_fault(mailbox.directory, "451 4.3.0 try later")

    report = await deliver_pending(office)

    assert report.sent == [] and report.permanent_failures == []
    assert len(report.temporary_failures) == 4
    rows = outbox(office)
    assert [(m.status, m.attempts) for m in rows] == [("pending", 1)] * 4
    assert all("451" in m.last_error and "try later" in m.last_error for m in rows)
    assert mailbox.received() == []
    assert [e["temporary"] for e in failure_events(office)] == [True] * 4

    set_fault(mailbox.directory, None)
    assert len((await deliver_pending(office)).sent) == 4
    assert (await deliver_pending(office)).sent == []

    received = mailbox.received()
    assert sorted(to for mail in received for to in mail.to) == sorted(REFERRAL_NOTICE_TO)
    assert [(m.status, m.attempts) for m in outbox(office)] == [("sent", 2)] * 4


async def test_a_550_marks_messages_failed_and_they_are_not_retried(
    office: Office, referral_form: ReferralForm, mailbox
) -> None:
    submit(office, referral_form)
    set_fault(mailbox.directory, "550 5.1.1 no such user")

    report = await deliver_pending(office)

    assert report.sent == [] and report.temporary_failures == []
    assert len(report.permanent_failures) == 4
    rows = outbox(office)
    assert [(m.status, m.attempts) for m in rows] == [("failed", 1)] * 4
    assert all("550" in m.last_error and "no such user" in m.last_error for m in rows)
    assert [e["temporary"] for e in failure_events(office)] == [False] * 4

    set_fault(mailbox.directory, None)
    assert (await deliver_pending(office)).sent == []
    assert mailbox.received() == []
    assert [(m.status, m.attempts) for m in outbox(office)] == [("failed", 1)] * 4


async def test_a_stopped_mail_server_is_a_temporary_failure(
    office: Office, referral_form: ReferralForm, mailbox
) -> None:
    submit(office, referral_form)
    mailbox.stop()

    report = await deliver_pending(office)

    assert report.sent == [] and report.permanent_failures == []
    assert len(report.temporary_failures) == 4
    rows = outbox(office)
    assert [(m.status, m.attempts) for m in rows] == [("pending", 1)] * 4
    assert all(m.last_error for m in rows)

    mailbox.start()
    assert len((await deliver_pending(office)).sent) == 4
    assert (await deliver_pending(office)).sent == []
    assert sorted(to for mail in mailbox.received() for to in mail.to) == sorted(REFERRAL_NOTICE_TO)


async def test_delivery_of_one_case_leaves_the_others_pending(
    office: Office, referral_form: ReferralForm, mailbox
) -> None:
    first = submit(office, referral_form)
    second = actions.submit_referral(
        office, referral_form, now=datetime(2026, 11, 18, 11, tzinfo=timezone.utc), actor="HEALTH safeguarding lead"
    ).reference
    assert (first, second) == ("NSCP-2026-0001", "NSCP-2026-0002")

    report = await deliver_pending(office, reference=second)

    assert len(report.sent) == 4 and all(key.startswith(f"{second}:") for key in report.sent)
    assert {m.status for m in outbox(office) if m.key.startswith(f"{first}:")} == {"pending"}
    assert len(mailbox.received()) == 4


def test_a_case_stays_notifying_until_its_notices_are_out_then_the_sweep_finishes_it(tmp_path, monkeypatch) -> None:
    """A mail outage after the decision: the case is not marked decided while Ofsted has not been told."""
    import asyncio
    import yaml
    from datetime import datetime, timezone

    from casework.referral import actions
    from casework import store as store_package
    from casework.delivery import deliver_pending
    from casework.meetings import rescheduling
    from casework.forms import AgencyReturnForm, DecisionForm, RecommendationForm, ReferralForm, ScreeningForm
    from casework.office import open_office
    from casework.store import cases as store
    from notifications.mailbox import set_fault, start_mailbox
    from tests.conftest import free_port

    port = free_port()
    monkeypatch.setenv("CIG_HOME", str(tmp_path / "cig"))
    monkeypatch.setenv("CIG_SMTP_PORT", str(port))
    monkeypatch.delenv("CIG_DATABASE_URL", raising=False)
    store_package._factory.cache_clear()
    office = open_office()
    mailbox = start_mailbox(office.settings.mail_dir, port=port)
    try:
        now = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
        base = yaml.safe_load(open("examples/referral.yaml"))
        ref = actions.submit_referral(office, ReferralForm.model_validate(base, context={"today": now.date()}), now=now, actor="t").reference
        actions.record_screening(office, ref, ScreeningForm(outcome="accept", decided_by="C", independent_chair_consulted=True), now=now, actor="t")
        actions.list_and_request_information(office, ref, now=now)
        for agency in office.partnership.agency_by_code:
            actions.record_return(office, ref, AgencyReturnForm(agency=agency, status="nil"), now=now, actor="t")
        rescheduling.add_meeting(office, now, now=now, reason="the group meets at once", actor="t", relist_cases=[ref])
        actions.record_recommendation(office, ref, RecommendationForm(outcome="scr", rationale="r"), now=now, actor="t")
        actions.record_decision(office, ref, DecisionForm(response="affirm", decision="scr", rationale="r", decided_by="I",
                                                          lead_reviewers=["R"]), now=now, actor="t")
        set_fault(office.settings.mail_dir, "451 4.3.0 try later")
        asyncio.run(deliver_pending(office))
        assert actions.finish_case(office, ref, now=now).stage == "notifying"
        assert actions.finish_notified_cases(office, now=now) == []
        set_fault(office.settings.mail_dir, None)
        asyncio.run(deliver_pending(office))
        assert actions.finish_notified_cases(office, now=now) == [ref]
        with office.sessions() as session:
            case = store.get_case(session, reference=ref)
            assert case.stage == "decided"
            assert all(d.met_at for d in case.deadlines if d.kind in ("ofsted_notice", "panel_notice"))
    finally:
        mailbox.stop()


async def test_deliverers_racing_for_the_same_outbox_send_each_message_once(
    office: Office, referral_form: ReferralForm, mailbox
) -> None:
    """A case's run, the sweep and `cig outbox retry` delivering at the same moment: one sends each message."""
    import asyncio

    submit(office, referral_form)
    reports = await asyncio.gather(*(deliver_pending(office) for _ in range(4)))

    assert sorted(key for report in reports for key in report.sent) == sorted(m.key for m in outbox(office))
    received = [to for mail in mailbox.received() for to in mail.to]
    assert sorted(received) == sorted(REFERRAL_NOTICE_TO)
    assert [(m.status, m.attempts) for m in outbox(office)] == [("sent", 1)] * 4


async def test_a_message_claimed_by_a_deliverer_that_died_is_sent_once_its_claim_runs_out(
    office: Office, referral_form: ReferralForm, mailbox
) -> None:
    from datetime import timedelta

    from casework.store.cases import CLAIM_LEASE

    submit(office, referral_form)
    claimed_at = datetime.now(timezone.utc)
    with office.sessions.begin() as session:  # a worker took the first message, then was killed
        first = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
        assert store.claim_message(session, message_id=first.id, now=claimed_at)
        assert not store.claim_message(session, message_id=first.id, now=claimed_at)

    report = await deliver_pending(office, now=claimed_at + timedelta(seconds=5))
    assert len(report.sent) == 3 and report.in_flight == 1
    assert first.recipient not in [to for mail in mailbox.received() for to in mail.to]

    report = await deliver_pending(office, now=claimed_at + CLAIM_LEASE + timedelta(seconds=1))
    assert report.sent == [first.key] and report.in_flight == 0
    received = [to for mail in mailbox.received() for to in mail.to]
    assert sorted(received) == sorted(REFERRAL_NOTICE_TO)
