"""wt2023's serious incident notification, against a real case database and SMTP server, on the wt2023 example
partnership (which names no independent chair and no CIG chair): what the local authority and the safeguarding
partners receive at referral, the notification recorded as made (date, who, the Panel's reference), and the
sweep's warning before and escalation after its 5 working days, once each, to the rule set's roles.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import yaml

import casework.store
from casework.delivery import deliver_pending
from casework.forms import PanelNotificationForm, ReferralForm
from casework.office import Office, open_office
from casework.referral import actions
from casework.store import cases as store
from casework.sweep import queue_reminders
from config.settings import CONFIG_DIR
from notifications.mailbox import read_mailbox, start_mailbox
from tests.tasks.test_sweep import PROJECT, _free_port, at

LA = "director-childrens-services@example.org"  # the local authority's delegated safeguarding partner
ICB, POLICE = "icb-chief-nurse@example.org", "chief-constable@example.org"
MANAGER, ADMIN = "partnership-manager@example.org", "partnership-admin@example.org"
PANEL = "review-panel@example.org"


@pytest.fixture
def office(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    """The wt2023 example partnership (three agencies), on its own database and mailbox."""
    data = yaml.safe_load((CONFIG_DIR / "partnership.wt2023.example.yaml").read_text())
    data["agencies"] = [a for a in data["agencies"] if a["code"] in ("POL", "CSC", "HEALTH")]
    (tmp_path / "partnership.yaml").write_text(yaml.safe_dump(data))
    port = _free_port()
    for name in ("CIG_DATABASE_URL", "CIG_DATA_KEYS", "CIG_PROFILE", "CIG_SMTP_HOST", "CIG_SMTP_USERNAME",
                 "CIG_SMTP_PASSWORD", "CIG_SMTP_STARTTLS", "CIG_SMTP_IMPLICIT_TLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CIG_HOME", str(tmp_path / "cig"))
    monkeypatch.setenv("CIG_PARTNERSHIP_FILE", str(tmp_path / "partnership.yaml"))
    monkeypatch.setenv("CIG_SMTP_PORT", str(port))
    casework.store._factory.cache_clear()
    the_office = open_office()
    mailbox = start_mailbox(the_office.settings.mail_dir, port=port)
    yield the_office
    mailbox.stop()
    the_office.sessions.kw["bind"].dispose()
    casework.store._factory.cache_clear()


def referral(**facts: object) -> ReferralForm:
    data = yaml.safe_load((PROJECT / "examples" / "referral.yaml").read_text(encoding="utf-8"))
    data["facts"].update(facts)
    return ReferralForm.model_validate(data, context={"today": date(2026, 11, 20)})


def delivered(office: Office, now: datetime) -> list[tuple[str, str, str]]:
    asyncio.run(deliver_pending(office, now=now))
    return [(m.to[0], m.subject, m.text()) for m in read_mailbox(office.settings.mail_dir)]


def test_the_notification_is_prepared_for_the_local_authority_and_the_partners_are_told(office: Office) -> None:
    reference = actions.submit_referral(office, referral(abuse_or_neglect_suspected=False, seriously_harmed=True,
                                                         looked_after=False), now=at(date(2026, 11, 18)),
                                        actor="test").reference
    mail = delivered(office, at(date(2026, 11, 18)))
    # told of the referral: the rule set's referral step (no independent chair, no CIG chair in this file)
    assert sorted(to for to, subject, _ in mail if "New referral" in subject) == [LA, ADMIN, MANAGER]
    # abuse or neglect is recorded as not suspected: no serious child safeguarding incident, nothing to notify
    assert not any("notification" in subject for _, subject, _ in mail)

    reference = actions.submit_referral(office, referral(), now=at(date(2026, 11, 18)), actor="test").reference
    mail = [m for m in delivered(office, at(date(2026, 11, 18))) if m[1].startswith(f"[{reference}]")]
    notices = {to: (subject, text) for to, subject, text in mail if "notification" in subject}
    assert sorted(notices) == [POLICE, LA, ICB]  # the local authority makes it; the other partners are told
    subject, text = notices[LA]
    assert subject == f"[{reference}] Serious incident notification to make by Monday 23 November 2026"
    assert "Abuse or neglect of the child is known or suspected." in text
    assert "The child, aged 0, has been seriously harmed." in text
    assert "Baby" not in text and "Testparent" not in text
    assert PANEL not in {to for to, _, _ in mail}  # made through the Panel's online service, not by email


def test_the_notification_recorded_as_made_meets_its_clock_and_the_sweep_warns_and_escalates_once(
        office: Office) -> None:
    late = actions.submit_referral(office, referral(), now=at(date(2026, 11, 18)), actor="test").reference
    made = actions.submit_referral(office, referral(), now=at(date(2026, 11, 18)), actor="test").reference
    seen = len(delivered(office, at(date(2026, 11, 18))))

    # two days before the deadline (Monday 23 November): the local authority and the business manager are warned
    queue_reminders(office, now=at(date(2026, 11, 20), 9))
    queue_reminders(office, now=at(date(2026, 11, 20), 15))
    warned = delivered(office, at(date(2026, 11, 20), 15))[seen:]
    seen += len(warned)
    about_late = sorted(to for to, subject, _ in warned if subject.startswith(f"[{late}] Warning: serious incident"))
    assert about_late == [LA, MANAGER]
    assert "As the local authority, please note" in next(t for to, s, t in warned if to == LA and late in s)

    # the administrator records one as made (Friday 20 November), with the Panel's reference
    with pytest.raises(ValueError, match="notified_on: 13 November 2026 is before the local authority became aware"):
        actions.record_panel_notification(office, made, PanelNotificationForm(
            notified_on=date(2026, 11, 13), notified_by="Del Director", panel_reference="SIN-2026-1234"),
            now=at(date(2026, 11, 20), 16), actor="test")
    actions.record_panel_notification(office, made, PanelNotificationForm(
        notified_on=date(2026, 11, 20), notified_by="Del Director", panel_reference="SIN-2026-1234"),
        now=at(date(2026, 11, 20), 16), actor="test")
    with pytest.raises(store.AlreadyRecorded):
        actions.record_panel_notification(office, made, PanelNotificationForm(
            notified_on=date(2026, 11, 20), notified_by="Del Director", panel_reference="SIN-2026-1234"),
            now=at(date(2026, 11, 20), 17), actor="test")
    with office.sessions() as session:
        case = store.get_case(session, reference=made)
        [notice] = [d for d in case.deadlines if d.kind == "serious_incident_notice"]
        assert notice.met_at is not None and notice.met_at <= notice.due_at
        assert case.sin["panel_reference"] == "SIN-2026-1234" and case.sin_sent_on == date(2026, 11, 20)

    # after the deadline: the unrecorded one is escalated to the business manager and the partners, once
    for day, hour in ((date(2026, 11, 24), 9), (date(2026, 11, 24), 15), (date(2026, 11, 25), 9)):
        queue_reminders(office, now=at(day, hour))
    after = delivered(office, at(date(2026, 11, 25), 9))[seen:]
    escalated = sorted(to for to, subject, _ in after if "BREACHED: serious incident" in subject)
    assert escalated == sorted([MANAGER, LA, ICB, POLICE])
    assert all(late in subject for _, subject, _ in after if "serious incident" in subject)


def test_a_notified_serious_incident_cannot_be_closed_at_screening(office: Office) -> None:
    from casework.forms import ScreeningForm
    from casework.model import ScreeningOutcome

    close = ScreeningForm(outcome=ScreeningOutcome.decline, reason="Not a serious incident.", decided_by="Bo Business",
                          independent_chair_consulted=False)
    serious = actions.submit_referral(office, referral(), now=at(date(2026, 11, 18)), actor="test").reference
    with pytest.raises(ValueError, match="^outcome: the referral of .* records a serious child safeguarding incident"):
        actions.record_screening(office, serious, close, now=at(date(2026, 11, 18), 10), actor="test")
    actions.record_panel_notification(office, serious, PanelNotificationForm(
        notified_on=date(2026, 11, 18), notified_by="Del Director", panel_reference="SIN-1"),
        now=at(date(2026, 11, 18), 11), actor="test")
    with pytest.raises(ValueError, match="recorded as made; a notified case cannot be closed: choose 'Rapid review"):
        actions.record_screening(office, serious, close, now=at(date(2026, 11, 18), 12), actor="test")

    # what is not a serious child safeguarding incident is closed before any notification, its words the rule set's
    other = actions.submit_referral(office, referral(abuse_or_neglect_suspected=False), now=at(date(2026, 11, 18)),
                                    actor="test").reference
    assert actions.record_screening(office, other, close, now=at(date(2026, 11, 18), 12), actor="test").stage == "declined"
    assert office.rules().term("screening_decline") == (
        "Not a serious child safeguarding incident: closed before notification")


def test_the_notifications_text_kept_before_or_after_it_is_recorded_as_made_leaves_its_clock_to_the_record(
        office: Office) -> None:
    """The SIN form keeps the text the local authority wrote; only the record that it was made meets the 5 working
    days. Kept first, the text neither meets the clock nor stops the record; kept after, it keeps the day made."""
    from casework.forms import SeriousIncidentNotificationForm

    def text(completed_on: date) -> SeriousIncidentNotificationForm:
        return SeriousIncidentNotificationForm(completed_on=completed_on, completed_by="Del Director",
                                               notification="An infant with a head injury; police investigating.")

    def made(on: date) -> PanelNotificationForm:
        return PanelNotificationForm(notified_on=on, notified_by="Del Director", panel_reference="SIN-2026-0042")

    def notice(reference: str) -> tuple[datetime | None, date | None, dict]:  # type: ignore[type-arg]
        with office.sessions() as session:
            case = store.get_case(session, reference=reference)
            [deadline] = [d for d in case.deadlines if d.kind == "serious_incident_notice"]
            return deadline.met_at, case.sin_sent_on, dict(case.sin or {})

    first = actions.submit_referral(office, referral(), now=at(date(2026, 11, 18)), actor="test").reference
    actions.record_serious_incident_notification(office, first, text(date(2026, 11, 19)), document=None,
                                                 now=at(date(2026, 11, 19), 10), actor="test")
    assert notice(first)[:2] == (None, None)  # kept, not made: the clock still runs, no day made on the tracker
    with pytest.raises(store.AlreadyRecorded):
        actions.record_serious_incident_notification(office, first, text(date(2026, 11, 19)), document=None,
                                                     now=at(date(2026, 11, 19), 11), actor="test")
    actions.record_panel_notification(office, first, made(date(2026, 11, 20)), now=at(date(2026, 11, 20), 16),
                                      actor="test")
    met_at, sent_on, sin = notice(first)
    assert met_at is not None and sent_on == date(2026, 11, 20)
    assert sin["text"].startswith("An infant") and sin["panel_reference"] == "SIN-2026-0042"

    second = actions.submit_referral(office, referral(), now=at(date(2026, 11, 18)), actor="test").reference
    actions.record_panel_notification(office, second, made(date(2026, 11, 19)), now=at(date(2026, 11, 19), 16),
                                      actor="test")
    actions.record_serious_incident_notification(office, second, text(date(2026, 11, 19)), document=None,
                                                 now=at(date(2026, 11, 23), 10), actor="test")
    met_at, sent_on, sin = notice(second)
    assert met_at is not None and sent_on == date(2026, 11, 19) and sin["text"].startswith("An infant")
    with pytest.raises(store.AlreadyRecorded):
        actions.record_panel_notification(office, second, made(date(2026, 11, 19)), now=at(date(2026, 11, 23), 11),
                                          actor="test")
    assert not [m for m in delivered(office, at(date(2026, 11, 23), 12)) if "SIN-2026-0042" in m[2]]
