"""wt2023's rapid review meeting of its own, against a real case database and SMTP server, on the wt2023 example
partnership: accepted, the case is listed for its own meeting inside its 15 working days (about two thirds of the
way, at the partnership's usual time), its members (the agencies, the safeguarding partners, the business manager
and the administrator) are invited, the agencies' information is due the rule set's working days before it, and the
recommendation is taken at the meeting with no one adding one; moved within the window the members are told,
moved past the deadline (with its reason) the rule set's late_meeting_told are told once.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from casework.forms import RecommendationForm, ScreeningForm
from casework.meetings import rescheduling
from casework.meetings.calendar import MeetingNotYetHeld
from casework.model import Recommendation, ScreeningOutcome
from casework.office import Office
from casework.referral import actions
from casework.store import cases as store
from tests.tasks.test_sweep import at, nil_return
from tests.tasks.test_wt2023_notification import ADMIN, ICB, LA, MANAGER, POLICE, delivered, office, referral  # noqa: F401

AGENCIES = ["police-reviews@example.org", "social-care-reviews@example.org", "health-reviews@example.org"]
SCRUTINEER = "independent-scrutineer@example.org"


def accepted(office: Office, now: datetime) -> str:
    """A referral (the local authority aware Monday 16 November 2026) accepted and listed at `now`."""
    reference = actions.submit_referral(office, referral(), now=now, actor="test").reference
    actions.record_screening(office, reference, ScreeningForm(outcome=ScreeningOutcome.accept, decided_by="Bo Business",
                                                              independent_chair_consulted=False), now=now, actor="test")
    actions.list_and_request_information(office, reference, now=now)
    return reference


def test_the_accepted_case_gets_its_own_meeting_inside_the_window_and_is_decided_there(office: Office) -> None:
    reference = accepted(office, at(date(2026, 11, 20)))
    actions.list_and_request_information(office, reference, now=at(date(2026, 11, 20), 10))  # a re-run: nothing new
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        # the 10th of its 15 working days (Monday 30 November; due Monday 7 December), at the usual 10:00 (GMT)
        assert case.meeting_at == datetime(2026, 11, 30, 10, tzinfo=timezone.utc)
        # the agencies' information due 3 working days before it: the end of Wednesday 25 November
        assert {r.agency: r.due_at for r in case.requests} == dict.fromkeys(
            ("POL", "CSC", "HEALTH"), datetime(2026, 11, 25, 23, 59, 59, tzinfo=timezone.utc))
    assert [m.meeting.starts_at for m in rescheduling.coming_meetings(office, now=at(date(2026, 11, 20)), count=1)] \
        == [datetime(2026, 11, 30, 10, tzinfo=timezone.utc)]

    mail = [m for m in delivered(office, at(date(2026, 11, 20), 10)) if m[1].startswith(f"[{reference}]")]
    invited = [(to, text) for to, subject, text in mail
               if subject == f"[{reference}] Rapid review meeting: Monday 30 November 2026, 10:00"]
    assert sorted(to for to, _ in invited) == sorted([*AGENCIES, LA, ICB, POLICE, MANAGER, ADMIN])
    assert "by the end of Monday 7 December 2026" in invited[0][1]
    assert "due by Wednesday 25 November 2026" in invited[0][1]
    requests = [(to, text) for to, subject, text in mail if "request for information" in subject.lower()
                or "information" in subject.lower() and to in AGENCIES]
    assert sorted(to for to, _ in requests) == sorted(AGENCIES)
    assert all("Wednesday 25 November 2026" in text for _, text in requests)

    # the recommendation is the meeting's record: refused before it, taken at it with no meeting added by hand
    for code in ("POL", "CSC", "HEALTH"):
        nil_return(office, reference, code, at(date(2026, 11, 25)))
    recommend = RecommendationForm(outcome=Recommendation.scr, rationale="The criteria are met.")
    with pytest.raises(MeetingNotYetHeld, match="rapid review meeting on Mon 30 Nov 2026 10:00"):
        actions.record_recommendation(office, reference, recommend, now=at(date(2026, 11, 30), 9), actor="test")
    actions.record_recommendation(office, reference, recommend, now=at(date(2026, 11, 30), 12), actor="test")
    sent = [to for to, subject, _ in delivered(office, at(date(2026, 11, 30), 12))
            if subject.startswith(f"[{reference}]") and "ecommendation" in subject]
    assert sorted(sent) == sorted([LA, ICB, POLICE])  # the safeguarding partners decide


def test_the_meeting_moves_within_the_window_and_past_it_is_escalated_once(office: Office) -> None:
    reference = accepted(office, at(date(2026, 11, 20)))
    seen = len(delivered(office, at(date(2026, 11, 20), 10)))
    meeting_day = date(2026, 11, 30)

    # on a bank holiday or before awareness: refused, nothing changes
    with pytest.raises(ValueError, match="^at: Saturday 5 December 2026 is not a working day"):
        rescheduling.move_meeting(office, meeting_day, at(date(2026, 12, 5), 10), now=at(date(2026, 11, 23)),
                                  reason="Room unavailable", actor="test")

    # within the window (Wednesday 2 December): moved, the members told, the information re-dated
    rescheduling.move_meeting(office, meeting_day, at(date(2026, 12, 2), 10), now=at(date(2026, 11, 23)),
                              reason="Room unavailable", actor="test")
    moved = delivered(office, at(date(2026, 11, 23), 10))[seen:]
    seen += len(moved)
    assert sorted(to for to, _, _ in moved) == sorted([*AGENCIES, LA, ICB, POLICE, MANAGER, ADMIN])
    assert not any("past the deadline" in subject for _, subject, _ in moved)
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert {r.due_at for r in case.requests} == {datetime(2026, 11, 27, 23, 59, 59, tzinfo=timezone.utc)}

    # past the deadline (Tuesday 8 December): moved with its reason, and escalated to the partners and the
    # independent scrutineer once, even when the same move is made again
    for _ in range(2):
        rescheduling.move_meeting(office, meeting_day, at(date(2026, 12, 8), 14), now=at(date(2026, 11, 24)),
                                  reason="The police's lead is at court", actor="test")
    after = delivered(office, at(date(2026, 11, 24), 10))[seen:]
    late = [(to, text) for to, subject, text in after if subject == (
        f"[{reference}] Rapid review meeting moved past the deadline: Tuesday 8 December 2026, 14:00")]
    assert sorted(to for to, _ in late) == sorted([LA, ICB, POLICE, SCRUTINEER])
    assert all("The police's lead is at court" in text and "Monday 7 December 2026" in text for _, text in late)
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert case.meeting_at == datetime(2026, 12, 8, 14, tzinfo=timezone.utc)
        trail = [e.action for e in store.audit_trail(session, reference=reference)]
        assert trail.count("rapid review meeting moved past the deadline") == 1
