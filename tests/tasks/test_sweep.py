"""The deadline sweep with a controlled clock: a case is built through casework.referral.actions at chosen
moments, then the sweep runs every six simulated hours for a month and delivers to a real SMTP
server. The tests assert which reminders reached whom on which simulated day, and that nothing
arrives twice or after the thing it is about was done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

import casework.store
from casework.referral import actions
from casework.delivery import deliver_pending
from casework.forms import AgencyReturnForm, ReferralForm, ScreeningForm
from casework.model import ScreeningOutcome
from casework.office import Office, open_office
from casework.reminders import OpenDeadline
from casework.sweep import reminders_owed
from casework.store import cases as store_module
from casework.store.tables import Deadline
from casework.sweep import queue_reminders
from config.settings import CONFIG_DIR
from notifications.mailbox import read_mailbox, start_mailbox
from tests.conftest import free_port as _free_port

PROJECT = Path(__file__).resolve().parents[2]
ADMIN = "cig-admin@example.org"
CHAIR = "cig-chair@example.org"
INDEPENDENT = "independent-chair@example.org"
MANAGER = "business-manager@example.org"
HEALTH = "health@example.org"
REMINDER_STEPS = ("reminder.", "chase.", "warning.", "escalation.")




def write_partnership(directory: Path, **changes: object) -> Path:
    """The example partnership with three agencies, and any top-level keys changed."""
    data = yaml.safe_load((CONFIG_DIR / "partnership.example.yaml").read_text())
    data["agencies"] = [a for a in data["agencies"] if a["code"] in ("POL", "CSC", "HEALTH")]
    data.update(changes)
    path = directory / "partnership.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def sweep_office(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    """A fresh case database and a real local SMTP server for one test."""
    port = _free_port()
    for name in ("CIG_DATABASE_URL", "CIG_DATA_KEYS", "CIG_PROFILE", "CIG_SMTP_HOST", "CIG_SMTP_USERNAME",
                 "CIG_SMTP_PASSWORD", "CIG_SMTP_STARTTLS", "CIG_SMTP_IMPLICIT_TLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CIG_HOME", str(tmp_path / "cig"))
    monkeypatch.setenv("CIG_PARTNERSHIP_FILE", str(write_partnership(tmp_path)))
    monkeypatch.setenv("CIG_SMTP_PORT", str(port))
    casework.store._factory.cache_clear()
    office = open_office()
    mailbox = start_mailbox(office.settings.mail_dir, port=port)
    yield office
    mailbox.stop()
    office.sessions.kw["bind"].dispose()
    casework.store._factory.cache_clear()


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


def referral_form() -> ReferralForm:
    data = yaml.safe_load((PROJECT / "examples" / "referral.yaml").read_text(encoding="utf-8"))
    return ReferralForm.model_validate(data, context={"today": date(2026, 11, 20)})


def open_case(office: Office, when: datetime) -> str:
    """A referral (notified 16 Nov 2026) accepted and listed, CIGINF1 out to POL, CSC and HEALTH."""
    reference = actions.submit_referral(office, referral_form(), now=when, actor="test").reference
    actions.record_screening(
        office, reference,
        ScreeningForm(outcome=ScreeningOutcome.accept, decided_by="Casey Chair", independent_chair_consulted=True),
        now=when, actor="test",
    )
    actions.list_and_request_information(office, reference, now=when)
    return reference


def nil_return(office: Office, reference: str, agency: str, when: datetime) -> None:
    actions.record_return(office, reference, AgencyReturnForm(agency=agency, status="nil"), now=when, actor="test")


class Diary:
    """Runs the sweep at simulated moments and notes which reminder emails arrived on which day."""

    def __init__(self, office: Office) -> None:
        self.office = office
        self.seen = 0
        self.days: dict[date, list[tuple[str, str]]] = {}

    def sweep(self, now: datetime) -> None:
        queue_reminders(self.office, now=now)
        report = asyncio.run(deliver_pending(self.office, now=now))
        assert not report.temporary_failures and not report.permanent_failures
        mails = read_mailbox(self.office.settings.mail_dir)
        for mail in mails[self.seen:]:
            step = mail.key.split(":")[1]
            if step.startswith(REMINDER_STEPS):
                for to in mail.to:
                    self.days.setdefault(now.date(), []).append((to, step))
        self.seen = len(mails)

    def run(self, start: datetime, end: datetime, every: timedelta = timedelta(hours=6), on_day=None) -> None:  # type: ignore[no-untyped-def]
        now = start
        while now < end:
            if on_day:
                on_day(now)
            self.sweep(now)
            now += every

    def all_steps(self) -> list[tuple[str, str]]:
        return [item for items in self.days.values() for item in items]


def test_a_month_of_sweeps_sends_each_reminder_once_on_its_day(sweep_office: Office) -> None:
    office = sweep_office
    reference = open_case(office, at(date(2026, 11, 20)))  # Friday; returns due Friday 27 Nov; meeting Tue 8 Dec
    nil_return(office, reference, "POL", at(date(2026, 11, 23)))
    nil_return(office, reference, "CSC", at(date(2026, 11, 24)))
    diary = Diary(office)
    diary.run(at(date(2026, 11, 20), 12), at(date(2026, 12, 19), 0))

    assert diary.days == {
        # 2 and 1 working days before Friday 27 November, to the one agency still outstanding
        date(2026, 11, 25): [(HEALTH, "reminder.information_return.HEALTH.2wd")],
        date(2026, 11, 26): [(HEALTH, "reminder.information_return.HEALTH.1wd")],
        # overdue from the first sweep on a working day after its due day (Friday: so Monday, never the
        # weekend): the agency, and the administrator's copy
        date(2026, 11, 30): [(HEALTH, "chase.information_return.HEALTH.overdue"),
                             (ADMIN, "chase.information_return.HEALTH.overdue")],
        # the decision is due one month from notification (16 December): 7 and 2 days before, then breached
        date(2026, 12, 9): [(CHAIR, "warning.decision.case.7d"), (INDEPENDENT, "warning.decision.case.7d")],
        date(2026, 12, 14): [(CHAIR, "warning.decision.case.2d"), (INDEPENDENT, "warning.decision.case.2d")],
        date(2026, 12, 17): [(MANAGER, "escalation.decision.case.breached"),
                             (INDEPENDENT, "escalation.decision.case.breached")],
    }
    mails = {m.key: m for m in read_mailbox(office.settings.mail_dir)}
    chase = mails[f"{reference}:chase.information_return.HEALTH.overdue:{ADMIN}:1"]
    assert chase.subject == f"[{reference}] OVERDUE (copy): CIGINF1 return from HEALTH was due Friday 27 November 2026"
    assert "Dr Hale Health" in chase.text() and "Robin" not in chase.text() + chase.html()


def test_sweeping_again_and_again_sends_nothing_twice(sweep_office: Office) -> None:
    office = sweep_office
    open_case(office, at(date(2026, 11, 20)))
    diary = Diary(office)
    for _ in range(3):
        diary.sweep(at(date(2026, 11, 25), 8))
        diary.sweep(at(date(2026, 11, 28), 8))  # a Saturday: nothing
        diary.sweep(at(date(2026, 11, 30), 8))
    assert sorted(diary.all_steps()) == sorted(
        [(to, "reminder.information_return.{}.2wd".format(code)) for code, to in
         (("POL", "police@example.org"), ("CSC", "social-care@example.org"), ("HEALTH", HEALTH))]
        + [(to, "chase.information_return.{}.overdue".format(code)) for code, to in
           (("POL", "police@example.org"), ("CSC", "social-care@example.org"), ("HEALTH", HEALTH))]
        + [(ADMIN, f"chase.information_return.{code}.overdue") for code in ("POL", "CSC", "HEALTH")]
    )
    assert queue_reminders(office, now=at(date(2026, 11, 30), 9)).queued == 0


def test_nothing_is_sent_about_a_return_once_it_is_recorded(sweep_office: Office) -> None:
    office = sweep_office
    reference = open_case(office, at(date(2026, 11, 20)))
    nil_return(office, reference, "POL", at(date(2026, 11, 21)))
    nil_return(office, reference, "CSC", at(date(2026, 11, 21)))

    def health_returns_after_first_reminder(now: datetime) -> None:
        if now == at(date(2026, 11, 25), 12):
            nil_return(office, reference, "HEALTH", now)

    diary = Diary(office)
    diary.run(at(date(2026, 11, 21), 0), at(date(2026, 12, 2), 0), on_day=health_returns_after_first_reminder)
    assert diary.days == {date(2026, 11, 25): [(HEALTH, "reminder.information_return.HEALTH.2wd")]}


def test_a_by_return_request_gets_no_reminder_on_the_day_it_is_issued() -> None:
    from casework.clocks import WorkingCalendar
    from config.partnership import load_partnership

    partnership = load_partnership(CONFIG_DIR / "partnership.example.yaml")
    calendar = WorkingCalendar.of()
    item = OpenDeadline(
        reference="NSCP-2026-0001", kind="information_return", subject="POL", round=1, label="CIGINF1 return",
        due_at=calendar.end_of_day(date(2026, 12, 4)), started_on=date(2026, 12, 3),
    )
    assert reminders_owed([item], now=at(date(2026, 12, 3), 15), partnership=partnership, calendar=calendar) == []
    assert reminders_owed([item], now=at(date(2026, 12, 5), 1), partnership=partnership, calendar=calendar) == []  # Sat
    owed = reminders_owed([item], now=at(date(2026, 12, 7), 1), partnership=partnership, calendar=calendar)
    assert [(m.to.email, m.step) for m in owed] == [
        ("police@example.org", "chase.information_return.POL.overdue"),
        (ADMIN, "chase.information_return.POL.overdue"),
    ]
    met = OpenDeadline(**{**item.__dict__, "met_at": at(date(2026, 12, 4))})
    assert reminders_owed([met], now=at(date(2026, 12, 7), 1), partnership=partnership, calendar=calendar) == []


def test_demo_month_prints_each_days_reminders() -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("CIG_")}
    done = subprocess.run([sys.executable, "-m", "cli.demo_month"], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    weekend = done.stdout.split("Sat 28 Nov 2026\n", 1)[1].split("Mon 30 Nov 2026", 1)[0]
    assert "CHASE" not in weekend  # returns due on Friday are chased on Monday, not at the weekend
    day = done.stdout.split("Mon 30 Nov 2026\n", 1)[1].split("Tue 01 Dec 2026", 1)[0]
    assert day.count("CHASE") == 6 and "cig-admin@example.org" in day
    assert "20 reminder(s), chase(s), warning(s) and escalation(s), each sent once." in done.stdout


def test_a_reminder_held_up_by_a_mail_outage_is_withdrawn_once_the_return_is_in(sweep_office: Office) -> None:
    from notifications.mailbox import set_fault

    office = sweep_office
    reference = open_case(office, at(date(2026, 11, 20)))
    asyncio.run(deliver_pending(office, now=at(date(2026, 11, 20))))  # the referral notices and CIGINF1 go
    set_fault(office.settings.mail_dir, "451 4.3.0 try later")
    queue_reminders(office, now=at(date(2026, 11, 25), 8))  # three reminders, 2 working days before
    assert len(asyncio.run(deliver_pending(office, now=at(date(2026, 11, 25), 8))).temporary_failures) == 3
    nil_return(office, reference, "HEALTH", at(date(2026, 11, 25), 10))
    set_fault(office.settings.mail_dir, None)

    report = asyncio.run(deliver_pending(office, now=at(date(2026, 11, 25), 11)))
    assert sorted(k.split(":")[1] for k in report.sent) == [
        "reminder.information_return.CSC.2wd", "reminder.information_return.POL.2wd"]
    received = [to for mail in read_mailbox(office.settings.mail_dir) for to in mail.to]
    assert HEALTH not in received[-2:] and received.count(HEALTH) == 1  # its CIGINF1 only
    from sqlalchemy import select

    from casework.store.tables import OutboxMessage
    with office.sessions() as session:
        withdrawn = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "withdrawn")).all()
        assert [m.key for m in withdrawn] == [f"{reference}:reminder.information_return.HEALTH.2wd:{HEALTH}:1"]


def test_a_breach_held_up_by_a_mail_outage_is_still_told_after_the_work_is_done(sweep_office: Office) -> None:
    """Reminders and chases about a return made late are withdrawn; the escalation of the breach is not."""
    from notifications.mailbox import set_fault

    office = sweep_office
    reference = open_case(office, at(date(2026, 11, 20)))
    for code in ("POL", "CSC", "HEALTH"):
        nil_return(office, reference, code, at(date(2026, 11, 21)))
    asyncio.run(deliver_pending(office, now=at(date(2026, 11, 21))))
    set_fault(office.settings.mail_dir, "451 4.3.0 try later")
    queue_reminders(office, now=at(date(2026, 12, 17), 8))  # the decision deadline (16 Dec) is breached
    asyncio.run(deliver_pending(office, now=at(date(2026, 12, 17), 8)))
    with office.sessions() as session:  # the decision is recorded late, while the escalation waits
        case = store_module.get_case(session, reference=reference)
        decision = next(d for d in case.deadlines if d.kind == "decision")
        decision_id = decision.id
    with office.sessions.begin() as session:
        session.get(Deadline, decision_id).met_at = at(date(2026, 12, 17), 9)
    set_fault(office.settings.mail_dir, None)

    report = asyncio.run(deliver_pending(office, now=at(date(2026, 12, 17), 10)))
    assert sorted(k.split(":")[1] for k in report.sent) == ["escalation.decision.case.breached"] * 2


def test_a_missed_ofsted_notice_is_escalated_by_the_first_sweep_after_its_four_hours(sweep_office: Office) -> None:
    """Ofsted is told "immediately": 4 hours from the decision. A mail outage holds the notice back; the
    15-minute sweep escalates to the business manager once, from the first sweep after 14:00, never before."""
    from sqlalchemy import select

    from casework.forms import DecisionForm, RecommendationForm
    from casework.store.tables import OutboxMessage
    from notifications.mailbox import set_fault

    office = sweep_office
    reference = open_case(office, at(date(2026, 11, 20)))  # listed for Tue 8 Dec 2026, 10:00
    for code in ("POL", "CSC", "HEALTH"):
        nil_return(office, reference, code, at(date(2026, 11, 21)))
    actions.record_recommendation(office, reference, RecommendationForm(outcome="scr", rationale="Criteria met."),
                                  now=at(date(2026, 12, 8), 13), actor="test")
    asyncio.run(deliver_pending(office, now=at(date(2026, 12, 8), 13)))
    set_fault(office.settings.mail_dir, "451 4.3.0 try later")  # the outage that holds the Ofsted notice back

    decided = at(date(2026, 12, 9), 10)  # Wednesday 9 December, 10:00 (GMT: London time)
    actions.record_decision(office, reference, DecisionForm(
        response="affirm", decision="scr", rationale="Regulation 5(2)(b)(ii) is met.", decided_by="Indra Independent",
        lead_reviewers=["Rowan Reviewer"]), now=decided, actor="test")
    with office.sessions() as session:
        (ofsted,) = session.scalars(select(Deadline).where(Deadline.kind == "ofsted_notice")).all()
        assert ofsted.due_at == decided + timedelta(hours=4)

    def escalations() -> list[tuple[str, str]]:
        """Every reminder, warning or escalation queued about the Ofsted notice."""
        with office.sessions() as session:
            rows = session.scalars(select(OutboxMessage).where(OutboxMessage.key.like("%.ofsted_notice.%")))
            return sorted((row.recipient, row.key.split(":")[1]) for row in rows
                          if row.key.split(":")[1].startswith(REMINDER_STEPS))

    every_quarter = [decided + timedelta(minutes=15 * n) for n in range(16)]  # 10:00 to 13:45
    for now in [*every_quarter, decided + timedelta(hours=3, minutes=59)]:
        queue_reminders(office, now=now)
        assert escalations() == [], now  # no warning "1 day before" a 4-hour clock, no escalation before 14:00
    queue_reminders(office, now=decided + timedelta(hours=4, minutes=15))
    breached = [(MANAGER, "escalation.ofsted_notice.case.breached"), (INDEPENDENT, "escalation.ofsted_notice.case.breached")]
    assert escalations() == breached
    assert queue_reminders(office, now=decided + timedelta(hours=4, minutes=30)).queued == 0
    assert escalations() == breached

    set_fault(office.settings.mail_dir, None)
    asyncio.run(deliver_pending(office, now=decided + timedelta(hours=4, minutes=31)))
    mails = read_mailbox(office.settings.mail_dir)
    to_manager = [m for m in mails if m.to == [MANAGER] and "escalation.ofsted_notice" in m.key]
    assert len(to_manager) == 1 and "Ofsted" in to_manager[0].subject
    assert [m.to for m in mails if ":ofsted-notice:" in m.key] == [["ofsted@example.org"]]  # late, once
