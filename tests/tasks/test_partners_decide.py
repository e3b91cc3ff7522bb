"""Under `wt2023` the safeguarding partners decide the rapid review, each by their own hand
(casework.referral.actions.record_partner_decision): each acting partner gets their own link in the email that
sends the recommendation; each answer is kept once; the decision is made when the rule set's quorum (all) agrees,
once, even when two partners answer at the same instant (SQLite, and PostgreSQL when CIG_TEST_POSTGRES_URL is set);
a disagreement is escalated to the lead safeguarding partners once; the sweep warns of the decision's clock only the
partners who have not answered; the scrutineer and the referrer are told in
the rule set's words. Every name and address is invented.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

import casework.store
from casework.delivery import deliver_pending
from casework.forms import DecisionForm, PartnerDecisionForm, RecommendationForm
from casework.model import ChairResponse, ReviewType
from casework.office import Office, open_office
from casework.referral import actions
from casework.store import cases as store
from casework.store import decisions as decision_store
from casework.store.cases import AlreadyRecorded, NotAtThisStep
from casework.store.tables import OutboxMessage, PersonalLink
from casework.sweep import queue_reminders
from notifications.mailbox import read_mailbox
from tests.tasks.conftest import Mailbox
from tests.tasks.test_sweep import at, nil_return, open_case, write_partnership

DELEGATES = {"local_authority": "children-director@example.org", "icb": "icb-safeguarding@example.org",
             "police": "police-safeguarding@example.org"}
LEADS = ["la-chief-executive@example.org", "icb-chief-executive@example.org", "chief-constable@example.org"]
SCRUTINEER = "scrutineer@example.org"


@pytest.fixture
def partners_office(database_url: str | None, cig_home: Path, mailbox: Mailbox, tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    """The example partnership on `ruleset: wt2023` (its three partners with delegates), on its own database (a
    SQLite file, or PostgreSQL) and mailbox."""
    for name in ("CIG_DATABASE_URL", "CIG_DATA_KEYS", "CIG_PROFILE", "CIG_SMTP_HOST", "CIG_SMTP_USERNAME",
                 "CIG_SMTP_PASSWORD", "CIG_SMTP_STARTTLS", "CIG_SMTP_IMPLICIT_TLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CIG_HOME", str(cig_home))
    monkeypatch.setenv("CIG_PARTNERSHIP_FILE", str(write_partnership(tmp_path, ruleset="wt2023")))
    monkeypatch.setenv("CIG_SMTP_PORT", str(mailbox.port))
    if database_url:
        monkeypatch.setenv("CIG_DATABASE_URL", database_url)
    casework.store._factory.cache_clear()
    office = open_office()
    yield office
    office.sessions.kw["bind"].dispose()
    casework.store._factory.cache_clear()


def recommended(office: Office, outcome: str = "scr") -> tuple[str, datetime]:
    """A case through its rapid review meeting, its recommendation recorded; the reference and a moment after."""
    reference = open_case(office, at(date(2026, 11, 20)))
    for code in ("POL", "CSC", "HEALTH"):
        nil_return(office, reference, code, at(date(2026, 11, 24)))
    with office.sessions() as session:
        after = store.get_case(session, reference=reference).meeting_at + timedelta(hours=3)  # type: ignore[operator]
    actions.record_recommendation(office, reference, RecommendationForm(outcome=outcome, rationale="Agencies did not "
                                  "share what they knew."), now=after, actor="test")
    return reference, after


def answer(response: str, national: bool = False) -> PartnerDecisionForm:
    return PartnerDecisionForm(response=response, rationale=f"We {response}: invented rationale.",
                               national_importance=national)


def delivered(office: Office) -> list[tuple[str, str, str]]:
    asyncio.run(deliver_pending(office))
    return [(m.to[0], m.subject, m.text()) for m in read_mailbox(office.settings.mail_dir)]


def decisions_recorded(office: Office, reference: str) -> int:
    with office.sessions() as session:
        return sum(e.action.startswith("decision:") for e in store.audit_trail(session, reference=reference))


def test_each_partner_answers_by_their_own_link_and_all_agreeing_make_one_decision(partners_office: Office) -> None:
    office = partners_office
    reference, after = recommended(office)
    sent = delivered(office)
    asked = {to: text for to, subject, text in sent if "recommendation" in subject}
    assert sorted(asked) == sorted(DELEGATES.values())  # the acting partners, not the leads nor an independent chair
    with office.sessions() as session:
        links = session.scalars(select(PersonalLink).where(PersonalLink.step == "decision")).all()
    assert sorted((link.partner, link.recipient) for link in links) == sorted(DELEGATES.items())
    assert len({link.token_hash for link in links}) == 3
    assert all("agree with the recommendation" in text and "/link/" in text for text in asked.values())

    first = actions.record_partner_decision(office, reference, "local_authority", answer("agree"), link_id=None,
                                            now=after, actor="test")
    assert (first.agreeing, first.deciders, first.decided, first.stage) == (1, 3, False, "awaiting_decision")
    with pytest.raises(AlreadyRecorded):  # a partner's answer is kept once
        actions.record_partner_decision(office, reference, "local_authority", answer("disagree"), link_id=None,
                                        now=after, actor="test")
    with pytest.raises(ValueError, match="does not decide"):
        actions.record_partner_decision(office, reference, "education", answer("agree"), link_id=None, now=after,
                                        actor="test")
    actions.record_partner_decision(office, reference, "icb", answer("agree", national=True), link_id=None,
                                    now=after, actor="test")
    last = actions.record_partner_decision(office, reference, "police", answer("agree"), link_id=None, now=after,
                                           actor="test")
    assert last.decided and last.stage == "notifying"
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert (case.decision, case.decided_by) == ("scr", "the safeguarding partners")
        assert "National importance: 1 of 3" in (case.decision_rationale or "")
        assert [a.response for a in decision_store.partner_answers(session, case=case)] == ["agree"] * 3
    with pytest.raises(AlreadyRecorded):
        actions.record_partner_decision(office, reference, "police", answer("agree"), link_id=None, now=after,
                                        actor="test")

    after_decision = delivered(office)[len(sent):]
    told = {to: (subject, text) for to, subject, text in after_decision}
    assert "The safeguarding partners have decided on case" in next(
        text for to, (subject, text) in told.items() if "Decision on your referral" in subject)
    assert SCRUTINEER in told and "the safeguarding partners agreed with the recommendation" in told[SCRUTINEER][1]
    assert not any("independent chair" in text.lower() for _, _, text in after_decision)
    assert not any("Disagreement" in subject for _, subject, _ in after_decision)
    assert decisions_recorded(office, reference) == 1


def test_the_sweep_warns_only_the_partners_who_have_not_answered(partners_office: Office) -> None:
    office = partners_office
    reference, after = recommended(office)  # the rapid review is due Monday 7 December
    actions.record_partner_decision(office, reference, "local_authority", answer("agree"), link_id=None, now=after,
                                    actor="test")
    queue_reminders(office, now=at(date(2026, 12, 4), 8))  # two days before (the Saturday brought back to Friday)
    with office.sessions() as session:
        keys = session.scalars(select(OutboxMessage.key).where(
            OutboxMessage.key.like(f"{reference}:warning.decision.%"))).all()
    warned = sorted(key.split(":")[2] for key in keys)
    assert warned == sorted(["business-manager@example.org", DELEGATES["icb"], DELEGATES["police"]])


def test_a_disagreement_is_escalated_once_to_the_lead_partners_and_no_decision_is_made(partners_office: Office) -> None:
    office = partners_office
    reference, after = recommended(office)
    seen = len(delivered(office))
    actions.record_partner_decision(office, reference, "police", answer("disagree"), link_id=None, now=after, actor="t")
    actions.record_partner_decision(office, reference, "icb", answer("disagree"), link_id=None, now=after, actor="t")
    outcome = actions.record_partner_decision(office, reference, "local_authority", answer("agree"), link_id=None,
                                              now=after, actor="t")
    assert not outcome.decided and outcome.stage == "awaiting_decision"
    escalations = [(to, subject, text) for to, subject, text in delivered(office)[seen:] if "Disagreement" in subject]
    assert sorted(to for to, _, _ in escalations) == sorted(LEADS)  # once each, though two disagreed
    assert "Northshire Police does not agree with the recommendation" in escalations[0][2]
    assert decisions_recorded(office, reference) == 0

    # the partners resolve it and the decision is recorded as the chair's would be: a partner's answer is then closed
    actions.record_decision(office, reference, DecisionForm(
        response=ChairResponse.challenge, decision=ReviewType.no_review, rationale="Resolved by the lead partners.",
        decided_by="the safeguarding partners", criteria_explanation="Single-agency learning only."),
        now=after, actor="administrator")
    with pytest.raises(AlreadyRecorded):
        actions.record_partner_decision(office, reference, "local_authority", answer("agree"), link_id=None,
                                        now=after, actor="t")


def test_two_partners_answering_at_the_same_instant_make_one_decision_and_one_set_of_notices(
        partners_office: Office) -> None:
    office = partners_office
    reference, after = recommended(office)
    actions.record_partner_decision(office, reference, "local_authority", answer("agree"), link_id=None, now=after,
                                    actor="t")
    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def answer_now(partner: str) -> None:
        start.wait()
        try:
            outcomes[partner] = actions.record_partner_decision(office, reference, partner, answer("agree"),
                                                                link_id=None, now=after, actor="t")
        except (AlreadyRecorded, NotAtThisStep) as refused:
            outcomes[partner] = refused

    threads = [threading.Thread(target=answer_now, args=(p,)) for p in ("icb", "police")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(getattr(o, "decided", None) for o in outcomes.values()) == [False, True], outcomes  # both kept
    assert decisions_recorded(office, reference) == 1
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        kinds = session.execute(select(OutboxMessage.kind, func.count()).where(OutboxMessage.case_id == case.id)
                                .group_by(OutboxMessage.kind)).all()
    counts = dict(kinds)
    assert counts["referrer_decision"] == 1 and counts["decision_advice"] == len({SCRUTINEER, "business-manager@example.org",
                                                                                   *DELEGATES.values()})


def test_one_partners_answer_sent_twice_at_the_same_instant_is_kept_once(partners_office: Office) -> None:
    office = partners_office
    reference, after = recommended(office)
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def answer_now(response: str) -> None:
        start.wait()
        try:
            outcomes.append(actions.record_partner_decision(office, reference, "police", answer(response),
                                                            link_id=None, now=after, actor="t"))
        except AlreadyRecorded as refused:
            outcomes.append(refused)

    threads = [threading.Thread(target=answer_now, args=(r,)) for r in ("agree", "disagree")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(type(o).__name__ for o in outcomes) == ["AlreadyRecorded", "PartnerOutcome"]
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert len(decision_store.partner_answers(session, case=case)) == 1
        escalations = session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.case_id == case.id, OutboxMessage.kind == "partners_disagree"))
    assert escalations in (0, 3)  # the disagreement kept, and escalated to the three leads, or the agreement kept
