"""A referral through casework.referral.actions and casework.delivery, on a real database and a real SMTP server.

Asserts what a user would check: who received which email, with what subject, exactly once; what the
case and its deadlines show; what the audit trail holds (and never holds: the child's identity).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from casework.referral import actions
from casework.delivery import deliver_pending
from casework.forms import AgencyReturnForm, DecisionForm, RecommendationForm, ReferralForm, ScreeningForm
from casework.referral.messages import referral_notices
from casework.model import Stage
from casework.office import Office
from casework.store import cases as store
from casework.store.tables import OutboxMessage
from notifications.mailbox import read_mailbox

REFERENCE = "NSCP-2026-0001"
CHAIR, MANAGER, ADMIN, INDEPENDENT = (
    "cig-chair@example.org", "business-manager@example.org", "cig-admin@example.org", "independent-chair@example.org",
)
OFSTED, PANEL, REFERRER = "ofsted@example.org", "national-panel@example.org", "named-nurse@example.org"
AGENCIES = {
    "POL": "police@example.org", "CSC": "social-care@example.org", "HEALTH": "health@example.org",
    "CCG": "commissioners@example.org", "EDU": "education@example.org", "PROB": "probation@example.org",
    "YJS": "youth-justice@example.org",
}
# what must never appear in the audit trail: the invented child's and family's identities
IDENTITIES = ["Robin", "Testchild", "2026-07-03", "Jordan", "Testparent", "Lee Testpartner", "1998-02-14"]

ACCEPT = ScreeningForm(outcome="accept", decided_by="Casey Chair and Bailey Manager", independent_chair_consulted=True)
DECLINE_REASON = "No abuse or neglect is suspected; the single-agency response is proportionate."
DECLINE = ScreeningForm(outcome="decline", reason=DECLINE_REASON, decided_by="Casey Chair and Bailey Manager",
                        independent_chair_consulted=True)
RECOMMEND_SCR = RecommendationForm(outcome="scr", rationale="Serious harm and concern about information sharing.")
DECIDE_SCR = DecisionForm(response="affirm", decision="scr", rationale="Regulation 5(2)(b)(ii) is met.",
                          decided_by="Indra Independent", lead_reviewers=["Rowan Reviewer"])


def moment(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    """A moment in the invented case's life (UTC; London is on GMT from November to March)."""
    return datetime(year, month, day, hour, 0, tzinfo=timezone.utc)


def agency_return(code: str) -> AgencyReturnForm:
    if code in ("POL", "CSC", "HEALTH"):
        return AgencyReturnForm(agency=code, status="returned", involvement=f"{code} had open involvement with Robin.",
                                key_practitioners=[f"{code} practitioner"], attendees=[f"{code} senior manager"])
    return AgencyReturnForm(agency=code, status="nil")


def mail_counts(office: Office) -> Counter[tuple[str, str]]:
    return Counter((to, mail.subject) for mail in read_mailbox(office.settings.mail_dir) for to in mail.to)


def outbox(office: Office) -> list[OutboxMessage]:
    with office.sessions.begin() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def case_events(office: Office, reference: str = REFERENCE) -> list[str]:
    with office.sessions.begin() as session:
        return [e.action for e in store.audit_trail(session, reference=reference)]


def submit(office: Office, form: ReferralForm) -> str:
    outcome = actions.submit_referral(office, form, now=moment(11, 18), actor="HEALTH safeguarding lead")
    assert (outcome.reference, outcome.stage, outcome.queued) == (REFERENCE, Stage.awaiting_screening, 4)
    return outcome.reference


def all_returns(office: Office, reference: str, *, twice: bool = False) -> None:
    for code in AGENCIES:
        actions.record_return(office, reference, agency_return(code), now=moment(11, 24), actor="administrator")
        if twice:  # refused, changing nothing (once the last is in, the case has moved on from returns)
            with pytest.raises((store.AlreadyRecorded, store.NotAtThisStep)):
                actions.record_return(office, reference, agency_return(code), now=moment(11, 24), actor="administrator")


async def run_to_the_notices(office: Office, form: ReferralForm, *, twice: bool = False) -> str:
    """Every step of the main path; with `twice`, each action and each delivery is run a second time."""

    async def deliver() -> None:
        await deliver_pending(office)
        if twice:
            assert (await deliver_pending(office)).sent == []

    reference = submit(office, form)
    await deliver()
    assert actions.record_screening(office, reference, ACCEPT, now=moment(11, 19, 9), actor="cig chair").stage == (
        Stage.awaiting_returns
    )
    if twice:
        with pytest.raises(store.AlreadyRecorded):
            actions.record_screening(office, reference, ACCEPT, now=moment(11, 19, 9), actor="cig chair")
    listed = actions.list_and_request_information(office, reference, now=moment(11, 19))
    assert (listed.stage, listed.queued) == (Stage.awaiting_returns, 10)  # 7 CIGINF1, the referrer, BM and admin
    if twice:
        assert actions.list_and_request_information(office, reference, now=moment(11, 19, 11)).queued == 0
    await deliver()
    all_returns(office, reference, twice=twice)
    recommended = actions.record_recommendation(office, reference, RECOMMEND_SCR, now=moment(12, 8, 13), actor="cig chair")
    assert (recommended.stage, recommended.queued) == (Stage.awaiting_decision, 1)
    if twice:
        with pytest.raises(store.AlreadyRecorded):
            actions.record_recommendation(office, reference, RECOMMEND_SCR, now=moment(12, 8, 13), actor="cig chair")
    await deliver()
    decided = actions.record_decision(office, reference, DECIDE_SCR, now=moment(12, 10, 15), actor="independent chair")
    assert (decided.stage, decided.queued) == (Stage.notifying, 5)  # Ofsted, Panel, referrer, CIG chair, BM
    if twice:
        with pytest.raises(store.AlreadyRecorded):
            actions.record_decision(office, reference, DECIDE_SCR, now=moment(12, 10, 15), actor="independent chair")
    await deliver()
    assert actions.finish_case(office, reference, now=moment(12, 10, 16)).stage == Stage.decided
    if twice:
        assert actions.finish_case(office, reference, now=moment(12, 10, 17)).stage == Stage.decided
    return reference


EXPECTED_MAIL = Counter(
    {
        **{(to, f"[{REFERENCE}] New referral for CIG consideration"): 1 for to in (CHAIR, MANAGER, ADMIN, INDEPENDENT)},
        (REFERRER, f"[{REFERENCE}] Your referral will go to the Critical Incident Group on Tuesday 8 December 2026"): 1,
        **{(to, f"[{REFERENCE}] To be considered at the CIG meeting on Tuesday 8 December 2026"): 1 for to in (MANAGER, ADMIN)},
        **{(to, f"[{REFERENCE}] Request for information (CIGINF1) - due Thursday 26 November 2026"): 1
           for to in AGENCIES.values()},
        (INDEPENDENT, f"[{REFERENCE}] Critical Incident Group recommendation: Serious Case Review (CIGSUM1)"): 1,
        (OFSTED, f"[{REFERENCE}] Notice to Ofsted of the decision on a Serious Case Review: Serious Case Review"): 1,
        (PANEL, f"[{REFERENCE}] Notice to the National Panel of Independent Experts on Serious Case Reviews: "
                "Serious Case Review"): 1,
        (REFERRER, f"[{REFERENCE}] Decision on your referral: Serious Case Review"): 1,
        **{(to, f"[{REFERENCE}] The independent chair's decision: Serious Case Review"): 1 for to in (CHAIR, MANAGER)},
    }
)

CASE_EVENTS = [
    "referral recorded",
    "screening: accept",
    "listed for meeting",
    "requests for information issued",
    *["return recorded"] * 7,
    "recommendation: scr",
    "decision: scr",
    "case decided",
]


async def test_a_referral_from_cigscr1_to_the_decision_notices_emails_everyone_once(
    office: Office, referral_form: ReferralForm
) -> None:
    reference = submit(office, referral_form)
    actions.record_screening(office, reference, ACCEPT, now=moment(11, 19, 9), actor="cig chair")
    listed = actions.list_and_request_information(office, reference, now=moment(11, 19))
    assert listed.queued == 10

    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference)
        assert case.meeting_at == moment(12, 8)  # the second Tuesday, 10:00 GMT
        assert case.round == 1
        assert sorted((r.agency, r.due_at, r.by_return, r.status) for r in case.requests) == sorted(
            (code, datetime(2026, 11, 26, 23, 59, 59, tzinfo=timezone.utc), False, "outstanding") for code in AGENCIES
        )
        decision_due = next(d for d in case.deadlines if d.kind == "decision")
        assert decision_due.due_at == datetime(2026, 12, 16, 23, 59, 59, tzinfo=timezone.utc)  # one month

    all_returns(office, reference)
    actions.record_recommendation(office, reference, RECOMMEND_SCR, now=moment(12, 8, 13), actor="cig chair")
    actions.record_decision(office, reference, DECIDE_SCR, now=moment(12, 10, 15), actor="independent chair")

    report = await deliver_pending(office)
    assert len(report.sent) == 20 and report.temporary_failures == report.permanent_failures == []
    assert actions.finish_case(office, reference, now=moment(12, 10, 16)).stage == Stage.decided

    assert mail_counts(office) == EXPECTED_MAIL
    assert all(m.status == "sent" and m.attempts == 1 and m.sent_at for m in outbox(office))
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference)
        assert (case.stage, case.status, case.decision, case.lead_reviewers) == ("decided", "open", "scr", ["Rowan Reviewer"])
        met = {d.kind for d in case.deadlines if d.met_at is not None}
        assert {"decision", "ofsted_notice", "panel_notice", "information_return"} <= met
        panel_due = next(d for d in case.deadlines if d.kind == "panel_notice")
        assert panel_due.due_at == datetime(2026, 12, 24, 23, 59, 59, tzinfo=timezone.utc)  # 14 days


async def test_what_each_recipient_reads(office: Office, referral_form: ReferralForm) -> None:
    await run_to_the_notices(office, referral_form)
    mails = {(to, m.subject.split("] ", 1)[1].split(" ")[0]): m for m in read_mailbox(office.settings.mail_dir) for to in m.to}

    police = mails[(AGENCIES["POL"], "Request")]
    assert "Tuesday 8 December 2026, 10:00" in police.text()
    assert f"{office.settings.website_url}/link/" in police.text()  # the child's identity is behind the link
    assert police.message()["Message-ID"].endswith("@cig-casework.example.org>")
    assert police.sender == office.settings.mail_from

    for key, mail in mails.items():  # no email carries the child's identity, not even CIGINF1
        assert "Robin" not in mail.text() and "Robin" not in mail.html(), key
    assert "Lead reviewer(s): Rowan Reviewer." in mails[(PANEL, "Notice")].text()
    assert "Regulation 5(2)(b)(ii) is met." in mails[(REFERRER, "Decision")].text()


async def test_every_action_and_delivery_run_twice_sends_nothing_more(office: Office, referral_form: ReferralForm) -> None:
    reference = await run_to_the_notices(office, referral_form, twice=True)

    assert mail_counts(office) == EXPECTED_MAIL
    keys = [m.key for m in read_mailbox(office.settings.mail_dir)]
    assert len(keys) == len(set(keys)) == 20
    # the same messages queued again find their outbox key and add nothing
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference)
        again = referral_notices(actions.case_file(case), office.partnership, office.rules())
        assert actions.queue(session, case, again, moment(12, 11)) == 0
    assert (await deliver_pending(office)).sent == []
    assert mail_counts(office) == EXPECTED_MAIL
    assert [a for a in case_events(office) if a != "message sent"] == CASE_EVENTS


async def test_a_second_screening_or_decision_is_refused_and_changes_nothing(
    office: Office, referral_form: ReferralForm
) -> None:
    reference = await run_to_the_notices(office, referral_form)
    before = (case_events(office), [(m.key, m.status) for m in outbox(office)])

    with pytest.raises(store.AlreadyRecorded, match="screening was already recorded"):
        actions.record_screening(office, reference, DECLINE, now=moment(12, 11), actor="cig chair")
    challenge = DecisionForm(
        response="challenge", decision="no_review", rationale="On reflection, no.", decided_by="Indra Independent",
        anonymised_details={"nature_of_incident": "x", "ages_of_children": "4 months", "relationship_to_alleged_perpetrator": "x",
                            "agency_involvement": "x", "criminal_investigation": "x"},
        criteria_explanation="x",
    )
    with pytest.raises(store.AlreadyRecorded, match="decision was already recorded"):
        actions.record_decision(office, reference, challenge, now=moment(12, 11), actor="independent chair")

    assert (case_events(office), [(m.key, m.status) for m in outbox(office)]) == before
    with office.sessions.begin() as session:
        assert store.get_case(session, reference=reference).decision == "scr"


async def test_the_audit_trail_has_one_event_per_change_and_never_the_childs_identity(
    office: Office, referral_form: ReferralForm
) -> None:
    reference = await run_to_the_notices(office, referral_form)

    events = case_events(office)
    assert [a for a in events if a != "message sent"] == CASE_EVENTS
    assert events.count("message sent") == 20
    with office.sessions.begin() as session:
        trail = store.audit_trail(session, reference=reference)
        dumped = json.dumps([[e.actor, e.action, e.detail] for e in trail], default=str)
    for identity in IDENTITIES:
        assert identity not in dumped
    assert "had open involvement" not in dumped  # free text of the returns stays out too


async def test_a_declined_referral_emails_the_referrer_the_reason_and_closes(
    office: Office, referral_form: ReferralForm
) -> None:
    reference = submit(office, referral_form)

    declined = actions.record_screening(office, reference, DECLINE, now=moment(11, 19), actor="cig chair")
    assert (declined.stage, declined.queued) == (Stage.declined, 1)
    assert actions.list_and_request_information(office, reference, now=moment(11, 19, 11)).queued == 0
    with pytest.raises(store.NotAtThisStep):
        actions.record_return(office, reference, agency_return("POL"), now=moment(11, 20), actor="administrator")

    assert len((await deliver_pending(office)).sent) == 5
    [to_referrer] = [m for m in read_mailbox(office.settings.mail_dir) if m.to == [REFERRER]]
    assert to_referrer.subject == f"[{REFERENCE}] Your referral will not go to the Critical Incident Group"
    assert DECLINE_REASON in to_referrer.text()
    assert sum(mail_counts(office).values()) == 5
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference)
        assert (case.stage, case.status, case.requests) == ("declined", "closed", [])
        assert all(d.met_at is not None for d in case.deadlines)
    assert case_events(office)[:2] == ["referral recorded", "screening: decline"]


async def test_a_further_information_round_asks_only_the_named_agencies(
    office: Office, referral_form: ReferralForm
) -> None:
    reference = submit(office, referral_form)
    actions.record_screening(office, reference, ACCEPT, now=moment(11, 19, 9), actor="cig chair")
    actions.list_and_request_information(office, reference, now=moment(11, 19))
    all_returns(office, reference)
    with pytest.raises(ValueError, match="further_information_from: unknown agency code"):
        actions.record_recommendation(
            office, reference,
            RecommendationForm(outcome="further_information", rationale="x", further_information_from=["NOPE"]),
            now=moment(12, 8, 13), actor="cig chair",
        )

    further = RecommendationForm(outcome="further_information", rationale="We need the police and social care "
                                 "chronologies.", further_information_from=["POL", "CSC"])
    asked = actions.record_recommendation(office, reference, further, now=moment(12, 8, 13), actor="cig chair")
    assert (asked.stage, asked.queued) == (Stage.awaiting_recommendation, 0)
    relisted = actions.list_and_request_information(office, reference, now=moment(12, 8, 14))
    assert (relisted.stage, relisted.queued) == (Stage.awaiting_returns, 2)
    assert actions.list_and_request_information(office, reference, now=moment(12, 8, 15)).queued == 0

    with pytest.raises(ValueError, match="agency: EDU was not asked for information in this round"):
        actions.record_return(office, reference, agency_return("EDU"), now=moment(12, 10), actor="administrator")
    await deliver_pending(office)

    second_round = {
        to: subject for (to, subject) in mail_counts(office) if "Further information" in subject
    }
    assert second_round == {
        AGENCIES["POL"]: f"[{REFERENCE}] Further information (CIGINF1) - due Tuesday 15 December 2026",
        AGENCIES["CSC"]: f"[{REFERENCE}] Further information (CIGINF1) - due Tuesday 15 December 2026",
    }
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference)
        assert (case.round, case.meeting_at) == (2, moment(1, 12, year=2027))
        assert sorted(r.agency for r in case.requests if r.round == 2) == ["CSC", "POL"]

    for code in ("POL", "CSC"):
        actions.record_return(office, reference, agency_return(code), now=moment(12, 14), actor="administrator")
    assert actions.record_recommendation(office, reference, RECOMMEND_SCR, now=moment(1, 12, 13, year=2027),
                                         actor="cig chair").stage == Stage.awaiting_decision


async def test_requests_issued_under_7_days_before_the_meeting_are_by_return(
    office: Office, referral_form: ReferralForm
) -> None:
    reference = submit(office, referral_form)
    actions.record_screening(office, reference, ACCEPT, now=moment(12, 3, 9), actor="cig chair")

    actions.list_and_request_information(office, reference, now=moment(12, 3))  # Thursday; meeting Tuesday 8th

    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference)
        assert case.meeting_at == moment(12, 8)
        assert {(r.due_at, r.by_return) for r in case.requests} == {
            (datetime(2026, 12, 4, 23, 59, 59, tzinfo=timezone.utc), True)
        }
    await deliver_pending(office)
    subjects = {subject for (to, subject) in mail_counts(office) if to in AGENCIES.values()}
    assert subjects == {f"[{REFERENCE}] Request for information (CIGINF1) - due BY RETURN"}
