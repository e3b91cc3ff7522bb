"""A referral end to end under `wt2023` (Working Together 2018/2023), through casework.referral.actions and
the deadline sweep, against a real case database and a real SMTP server: the serious incident
notice goes to the Panel at referral, the rapid review notice at the decision, the deadlines are
counted in working days, and the sweep warns about the decision but not about a notice already sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

import casework.store
from casework.referral import actions
from casework.delivery import deliver_pending
from casework.forms import DecisionForm, PanelNotificationForm, RecommendationForm
from casework.model import ChairResponse, Recommendation, ReviewType
from casework.office import Office, open_office
from casework.store import cases as store
from casework.sweep import queue_reminders
from notifications.mailbox import read_mailbox, start_mailbox
from tests.tasks.test_sweep import _free_port, at, nil_return, open_case, write_partnership

PANEL = "national-panel@example.org"
OFSTED = "ofsted@example.org"
LA = "children-director@example.org"  # the local authority's delegated safeguarding partner


@pytest.fixture
def wt2023_office(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    """The example partnership switched to `ruleset: wt2023`, on its own database and mailbox."""
    port = _free_port()
    for name in ("CIG_DATABASE_URL", "CIG_DATA_KEYS", "CIG_PROFILE", "CIG_SMTP_HOST", "CIG_SMTP_USERNAME",
                 "CIG_SMTP_PASSWORD", "CIG_SMTP_STARTTLS", "CIG_SMTP_IMPLICIT_TLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CIG_HOME", str(tmp_path / "cig"))
    monkeypatch.setenv("CIG_PARTNERSHIP_FILE", str(write_partnership(tmp_path, ruleset="wt2023")))
    monkeypatch.setenv("CIG_SMTP_PORT", str(port))
    casework.store._factory.cache_clear()
    office = open_office()
    mailbox = start_mailbox(office.settings.mail_dir, port=port)
    yield office
    mailbox.stop()
    office.sessions.kw["bind"].dispose()
    casework.store._factory.cache_clear()


def _end_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=timezone.utc)  # GMT in winter


def _deliver(office: Office) -> list[tuple[str, str]]:
    asyncio.run(deliver_pending(office))
    return [(m.to[0], m.subject) for m in read_mailbox(office.settings.mail_dir)]


def test_a_referral_under_wt2023_notifies_the_panel_at_referral_and_at_decision(wt2023_office: Office) -> None:
    office = wt2023_office
    reference = open_case(office, at(date(2026, 11, 20)))  # aware (notified) Monday 16 November 2026
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert case.regime == "wt2023"
        due = {d.kind: d.due_at for d in case.deadlines if not d.subject}
    assert due == {
        "serious_incident_notice": _end_of(date(2026, 11, 23)),  # 5 working days from Monday 16
        "decision": _end_of(date(2026, 12, 7)),  # 15 working days
        "rapid_review_notice": _end_of(date(2026, 12, 7)),
    }
    mail = _deliver(office)
    # the local authority is sent the notification's content, to make it through the Panel's online service
    assert (LA, f"[{reference}] Serious incident notification to make by Monday 23 November 2026") in mail
    assert not any(to in (OFSTED, PANEL) for to, _ in mail)  # no email pretends to notify the Panel

    # the administrator records it as made: two days before its deadline the sweep warns nobody about it
    actions.record_panel_notification(office, reference, PanelNotificationForm(
        notified_on=date(2026, 11, 20), notified_by="Dana Director", panel_reference="SIN-0001"),
        now=at(date(2026, 11, 20), 10), actor="test")
    seen = len(mail)
    queue_reminders(office, now=at(date(2026, 11, 21), 12))
    assert _deliver(office)[seen:] == []
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert all(d.met_at for d in case.deadlines if d.kind == "serious_incident_notice")

    for code in ("POL", "CSC", "HEALTH"):
        nil_return(office, reference, code, at(date(2026, 11, 24)))
    # seven days before the rapid review is due (Monday 30 November): the business manager and the safeguarding
    # partners are warned (the rule set's steps.decision_due), in the regime's words
    queue_reminders(office, now=at(date(2026, 11, 30), 6))
    warned = _deliver(office)[seen:]
    assert sorted(to for to, _ in warned) == ["business-manager@example.org", LA, "icb-safeguarding@example.org",
                                              "police-safeguarding@example.org"]
    assert warned[0][1] == (f"[{reference}] Warning: rapid review sent to the Panel with the LCSPR decision "
                            "(15 working days from awareness) due Monday 7 December 2026")
    seen += len(warned)

    # the case's own rapid review meeting, scheduled at listing inside its 15 working days (Monday 30 November, before
    # the monthly meeting of 8 December): no one adds a meeting
    with office.sessions() as session:
        assert store.get_case(session, reference=reference).meeting_at == datetime(2026, 11, 30, 10, tzinfo=timezone.utc)
    actions.record_recommendation(office, reference, RecommendationForm(outcome=Recommendation.scr, rationale="Criteria met."),
                                  now=at(date(2026, 12, 1)), actor="test")
    actions.record_decision(office, reference, DecisionForm(
        response=ChairResponse.affirm, decision=ReviewType.scr, rationale="Criteria met.", decided_by="Indra Independent",
        lead_reviewers=["Rowan Reviewer (invented)"]), now=at(date(2026, 12, 2)), actor="test")
    after_decision = _deliver(office)[seen:]
    actions.finish_case(office, reference, now=at(date(2026, 12, 2), 10))
    assert (PANEL, f"[{reference}] Rapid review and decision on a local child safeguarding practice review: LCSPR initiated") \
        in after_decision
    seen += len(after_decision)

    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        publication = next(d for d in case.deadlines if d.kind == "publication")
        assert publication.due_at == datetime(2027, 6, 2, 22, 59, 59, tzinfo=timezone.utc)  # 6 months; 23:59:59 BST
    # everything due is done: later sweeps (before the LCSPR's own horizon) send nothing
    for day in (date(2026, 12, 5), date(2026, 12, 8), date(2026, 12, 20)):
        queue_reminders(office, now=at(day))
    assert _deliver(office)[seen:] == []

    # the case's story and the decision notice read in the regime's words, never "Serious Case Review"
    from casework.oversight.timeline import case_timeline_markdown

    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        story = case_timeline_markdown(case, store.audit_trail(session, reference=reference),
                                       store.messages_for(session, case_id=case.id), calendar=office.calendar,
                                       now=at(date(2026, 12, 3)), terms=office.rules(case.regime).terms)
        bodies = [m.body["text"] for m in store.messages_for(session, case_id=case.id)]
    assert "Decision: **local child safeguarding practice review (LCSPR)**" in story
    assert "Serious Case Review" not in story and not any("Serious Case Review" in body for body in bodies)
