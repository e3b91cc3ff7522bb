"""The deadline sweep over a review, with a controlled clock: the review is built through
casework.review.actions at chosen moments, then the sweep runs every six simulated hours and delivers to a
real SMTP server. The tests assert which reminders reached whom on which simulated day, once each.

Every name and address here is invented.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from casework.delivery import deliver_pending
from casework.forms import ReferralForm
from casework.office import Office
from casework.review import actions as review
from casework.review.forms import AppointmentForm, MilestoneForm
from casework.office import open_office
from casework.sweep import queue_reminders
from config.settings import CONFIG_DIR
from tests.tasks.conftest import Mailbox
from tests.tasks.test_review import INDEPENDENT, MANAGER, PANEL, at, decided, form

REVIEWER = "rowan.reviewer@example.org"


class Diary:
    """Runs the sweep at simulated moments and notes which emails arrived on which day, and to whom."""

    def __init__(self, office: Office, mailbox: Mailbox) -> None:
        self.office, self.mailbox = office, mailbox
        self.seen = len(mailbox.received())
        self.days: dict[date, list[tuple[str, str]]] = {}

    async def run(self, start: datetime, end: datetime, every: timedelta = timedelta(hours=6), on_day=None) -> None:  # type: ignore[no-untyped-def]
        now = start
        while now < end:
            if on_day:
                on_day(now)
            queue_reminders(self.office, now=now)
            report = await deliver_pending(self.office, now=now)
            assert not report.temporary_failures and not report.permanent_failures
            mails = self.mailbox.received()
            for mail in mails[self.seen:]:
                for to in mail.to:
                    self.days.setdefault(now.date(), []).append((to, mail.key.split(":")[1]))
            self.seen = len(mails)
            now += every

    def about(self, words: str) -> dict[date, list[tuple[str, str]]]:
        """The days on which messages whose step contains `words` arrived, and to whom (sorted)."""
        found = {day: sorted(item for item in items if words in item[1]) for day, items in self.days.items()}
        return {day: items for day, items in sorted(found.items()) if items}


async def test_a_national_panel_notice_waits_for_the_reviewer_warned_then_escalated_on_the_right_days(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    """The SCR is decided on Thursday 10 December 2026 with no lead reviewer: its Panel notice is due within 14
    days (by Thursday 24 December). The business manager and the independent chair are warned 2 days before,
    on the 22nd; both are told it is breached on Tuesday the 29th, the first working day after it (not on
    Christmas Day, nor the substitute Boxing Day); the notice goes when the reviewer is appointed."""
    reference = await decided(office, referral_form)
    review.commission_review(office, reference, now=at(12, 11))
    await deliver_pending(office, now=at(12, 11))
    diary = Diary(office, mailbox)

    await diary.run(at(12, 11, 0), at(12, 30, 0))
    assert diary.about("panel_notice") == {
        date(2026, 12, 22): [(MANAGER, "warning.panel_notice.case.2d"), (INDEPENDENT, "warning.panel_notice.case.2d")],
        date(2026, 12, 29): [(MANAGER, "escalation.panel_notice.case.breached"),
                             (INDEPENDENT, "escalation.panel_notice.case.breached")],
    }
    [warning] = [m for m in mailbox.received() if INDEPENDENT in m.to and "Warning: National Panel" in m.subject]
    assert "Thursday 24 December 2026" in warning.subject

    def appoint(now: datetime) -> None:
        if now == at(12, 30, 12):
            review.appoint_reviewer(office, reference, form(
                AppointmentForm, reviewer="Rowan Reviewer", kind="independent", independent_of_agencies=True,
                appointed_on="2026-12-30", appointed_by="Review group planning meeting"), now=now, actor="t")

    await diary.run(at(12, 30, 0), at(1, 6, 0, year=2027), on_day=appoint)
    assert diary.about("panel-notice") == {date(2026, 12, 30): [(PANEL, "panel-notice")]}  # the notice itself
    assert max(diary.about("panel_notice")) == date(2026, 12, 29)  # and no more warnings or escalations


async def test_each_milestone_is_reminded_to_the_business_manager_and_the_lead_reviewer_before_and_when_missed(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    """Commissioned Friday 11 December 2026: the initial meeting is due on the 25th, the SPE chronologies on
    15 January, the planning meeting on 22 January. Each is reminded a week before and once missed, to the
    business manager and (once appointed, with an address) the lead reviewer; a milestone done is not
    reminded of; a re-planned one is reminded of again before its new date."""
    reference = await decided(office, referral_form)
    review.commission_review(office, reference, now=at(12, 11))
    await deliver_pending(office, now=at(12, 11))
    diary = Diary(office, mailbox)

    def on_day(now: datetime) -> None:
        if now == at(12, 14, 12):
            review.appoint_reviewer(office, reference, form(
                AppointmentForm, reviewer="Rowan Reviewer", kind="independent", independent_of_agencies=True,
                appointed_on="2026-12-14", appointed_by="Review group", email=REVIEWER), now=now, actor="t")
        if now == at(1, 5, 12, year=2027):
            review.record_milestone(office, reference, form(MilestoneForm, stage="spe_chronologies",
                                                            done_on="2027-01-05", by="Bailey Manager"), now=now, actor="t")
        if now == at(1, 18, 12, year=2027):  # after its first reminder, before its target
            review.record_milestone(office, reference, form(
                MilestoneForm, stage="planning_meeting", replan_to="2027-02-05",
                reason="The chronologies of two agencies came late."), now=now, actor="t")

    await diary.run(at(12, 11, 12), at(2, 9, 0, year=2027), on_day=on_day)
    both = lambda step: [(MANAGER, step), (REVIEWER, step)]  # noqa: E731
    assert diary.about(".initial_meeting.") == {
        date(2026, 12, 17): both("warning.review_milestone.initial_meeting.7d"),  # a week before Thursday 24th
        date(2026, 12, 29): both("chase.review_milestone.initial_meeting.missed"),  # the first working day after it
    }
    assert diary.about(".spe_chronologies.") == {}  # done on 5 January, before its reminder on the 8th
    assert diary.about(".planning_meeting.") == {
        date(2027, 1, 15): both("warning.review_milestone.planning_meeting.7d"),
        date(2027, 1, 29): both("warning.review_milestone.planning_meeting.7d"),  # its new date, 5 February
        date(2027, 2, 8): both("chase.review_milestone.planning_meeting.missed"),  # missed on a Friday: the Monday
    }
    missed = [m for m in mailbox.received() if REVIEWER in m.to and "initial meeting" in m.subject.lower()
              and "Overdue" in m.subject]
    assert [m.subject for m in missed] == [f"[{reference}] Overdue: Review milestone: Review group initial meeting"]
    assert "Thursday 24 December 2026" in missed[0].text()  # the fortnight ends on Christmas Day: the day before
    assert "Record it done (when, and by whom), or re-plan it" in missed[0].text()  # on the review's task list:
    assert "/link/" in missed[0].text()  # each reminder brings a fresh personal link to it

    # the tracker shows a missed milestone in its own columns, not among the case's breached deadlines
    from casework.oversight.exports import current_tracker

    [row] = current_tracker(office, now=at(2, 7, 12, year=2027))
    assert (row.next_milestone, row.next_milestone_on) == ("Review group initial meeting", date(2026, 12, 24))
    assert not any("milestone" in b.label.lower() for b in row.breaches)
    assert row.next_deadline is None or "milestone" not in row.next_deadline.lower()

    # sweeping again changes nothing: each reminder once
    before = len(mailbox.received())
    await diary.run(at(2, 7, 1, year=2027), at(2, 7, 23, year=2027), every=timedelta(hours=1))
    assert len(mailbox.received()) == before


async def test_a_review_commissioned_before_milestones_were_reminded_of_gets_their_deadlines_when_its_run_re_runs(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    from sqlalchemy import delete, select

    from casework.store.tables import Deadline

    reference = await decided(office, referral_form)
    review.commission_review(office, reference, now=at(12, 11))
    review.record_milestone(office, reference, form(MilestoneForm, stage="initial_meeting", done_on="2026-12-22",
                                                    by="Bailey Manager"), now=at(12, 22), actor="t")
    with office.sessions.begin() as session:  # as a review commissioned before this release has none
        session.execute(delete(Deadline).where(Deadline.kind == "review_milestone"))
    assert review.commission_review(office, reference, now=at(12, 23)).queued == 0  # the run's re-run: nothing sent
    with office.sessions() as session:
        rows = session.scalars(select(Deadline).where(Deadline.kind == "review_milestone")).all()
        subjects = {row.subject for row in rows}
    assert "initial_meeting" not in subjects and {"spe_chronologies", "family_feedback"} <= subjects


async def test_the_milestone_warning_comes_as_many_days_before_as_the_partnership_file_says(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The partnership file sets `reminders.milestone_warning_days: 3`: the initial meeting, due on Thursday 24
    December 2026 (its fortnight ends on Christmas Day), is warned of on the 21st (not a week before, on the 17th), then chased once missed, on the first
    working day after Christmas (Tuesday 29 December)."""
    data = yaml.safe_load((CONFIG_DIR / "partnership.example.yaml").read_text(encoding="utf-8"))
    data["reminders"]["milestone_warning_days"] = 3
    (tmp_path / "partnership.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.setenv("CIG_PARTNERSHIP_FILE", str(tmp_path / "partnership.yaml"))
    office = open_office()  # the same database and mailbox, the partnership file read again
    assert office.partnership.reminders.milestone_warning_days == 3

    reference = await decided(office, referral_form)
    review.commission_review(office, reference, now=at(12, 11))
    await deliver_pending(office, now=at(12, 11))
    diary = Diary(office, mailbox)
    await diary.run(at(12, 11, 12), at(12, 30, 0))
    assert diary.about(".initial_meeting.") == {
        date(2026, 12, 21): [(MANAGER, "warning.review_milestone.initial_meeting.3d")],
        date(2026, 12, 29): [(MANAGER, "chase.review_milestone.initial_meeting.missed")],
    }
    [warning] = [m for m in mailbox.received() if ".initial_meeting.3d" in m.key]
    assert "Thursday 24 December 2026" in warning.text()
