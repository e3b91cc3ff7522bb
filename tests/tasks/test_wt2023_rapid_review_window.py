"""wt2023 finished around the rapid review's window, against a real case database and SMTP server, on the wt2023
example partnership: the serious incident notification recorded as made from its office form (the Prefect UI's
record-panel-notification, its refusals naming the form's fields); the case's own rapid review meeting cancelled
only with a new date inside the window or a reason (escalated once, as a move past the deadline is); a
further-information round re-listed for a rapid review meeting inside the window; and the information request's
due date in working days before the meeting, in the partnership's form name and the rule set's words.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

import flows.office
from casework.forms import PanelNotificationForm, RecommendationForm
from casework.meetings import rescheduling
from casework.model import Recommendation
from casework.office import Office
from casework.referral import actions
from casework.store import cases as store
from flows.learning_actions import ActionRefused, check_form
from tests.tasks.test_sweep import at, nil_return
from tests.tasks.test_wt2023_notification import ADMIN, ICB, LA, MANAGER, POLICE, delivered, office, referral  # noqa: F401
from tests.tasks.test_wt2023_rapid_review_meeting import AGENCIES, SCRUTINEER, accepted


def test_the_notification_recorded_on_its_office_form_meets_its_clock_and_refusals_name_the_field(
        office: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = actions.submit_referral(office, referral(), now=at(date(2026, 11, 18)), actor="test").reference
    monkeypatch.setattr(flows.office, "_now", lambda: at(date(2026, 11, 20), 16))
    record = flows.office.record_panel_notification_task.fn

    with pytest.raises(ActionRefused, match="^Date notified: 2026-11-21 is in the future$"):
        check_form(PanelNotificationForm, {"notified_on": "2026-11-21", "notified_by": "Del Director",
                                           "panel_reference": "SIN-2026-1234"}, date(2026, 11, 20))
    early = PanelNotificationForm(notified_on=date(2026, 11, 13), notified_by="Del Director",
                                  panel_reference="SIN-2026-1234")
    assert record(reference, early) == ("Date notified: 13 November 2026 is before the local authority became aware "
                                        "of the incident (16 November 2026)")
    made = PanelNotificationForm(notified_on=date(2026, 11, 20), notified_by="Del Director",
                                 panel_reference="SIN-2026-1234")
    assert record("NSCP-2026-9999", made).startswith("Reference: no case with reference")
    assert record(reference, made) is None
    assert "already recorded" in record(reference, made)
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        [notice] = [d for d in case.deadlines if d.kind == "serious_incident_notice"]
        assert notice.met_at is not None and notice.met_at <= notice.due_at
        assert case.sin["panel_reference"] == "SIN-2026-1234" and case.sin_sent_on == date(2026, 11, 20)
        trail = [(e.actor, e.action) for e in store.audit_trail(session, reference=reference)]
    assert trail.count((flows.office.PANEL_NOTIFICATION_ACTOR, "serious incident notification made")) == 1


def test_cancelling_the_rapid_review_meeting_into_a_breach_is_refused_and_it_is_moved_instead(office: Office) -> None:
    reference = accepted(office, at(date(2026, 11, 20)))  # aware Monday 16 November; due Monday 7 December
    seen = len(delivered(office, at(date(2026, 11, 20), 10)))
    # the next monthly meeting (Tuesday 8 December) is past the deadline: refused, nothing changes, no one is told
    with pytest.raises(ValueError, match=(
            r"^on: the meeting on Monday 30 November 2026 is the rapid review meeting of .*; cancelled, the case would "
            r"go to the next meeting, Tuesday 8 December 2026, after the rapid review's deadline, Monday 7 December "
            r"2026\. Move the meeting instead")):
        rescheduling.cancel_meeting(office, date(2026, 11, 30), now=at(date(2026, 11, 23)), reason="Room flooded",
                                    actor="test")
    assert delivered(office, at(date(2026, 11, 23), 10))[seen:] == []
    with office.sessions() as session:
        assert store.get_case(session, reference=reference).meeting_at == datetime(2026, 11, 30, 10, tzinfo=timezone.utc)
        assert rescheduling.exceptions_in(session)[date(2026, 11, 30)] == datetime(2026, 11, 30, 10, tzinfo=timezone.utc)


def further_information(office: Office, reference: str, at_meeting: datetime) -> None:
    """The rapid review meeting at `at_meeting` asks the police for more; the case is listed again."""
    for code in ("POL", "CSC", "HEALTH"):
        nil_return(office, reference, code, at(date(2026, 11, 25)))
    actions.record_recommendation(office, reference, RecommendationForm(
        outcome=Recommendation.further_information, rationale="The police's contact in October is unclear.",
        further_information_from=["POL"]), now=at_meeting, actor="test")
    actions.list_and_request_information(office, reference, now=at_meeting)
    actions.list_and_request_information(office, reference, now=at_meeting + timedelta(hours=1))  # a re-run


def test_a_further_information_round_meets_again_inside_the_window(office: Office) -> None:
    reference = accepted(office, at(date(2026, 11, 20)))
    seen = len(delivered(office, at(date(2026, 11, 20), 10)))
    further_information(office, reference, at(date(2026, 11, 30), 12))  # at the meeting of Monday 30 November
    mail = delivered(office, at(date(2026, 11, 30), 14))[seen:]
    # listed again for a rapid review meeting of its own on Friday 4 December, before the deadline (Monday 7th)
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert case.round == 2 and case.meeting_at == datetime(2026, 12, 4, 10, tzinfo=timezone.utc)
        [request] = [r for r in case.requests if r.round == 2]
        assert (request.agency, request.due_at) == ("POL", datetime(2026, 12, 1, 23, 59, 59, tzinfo=timezone.utc))
    invited = [to for to, subject, _ in mail if subject == f"[{reference}] Rapid review meeting: Friday 4 December 2026, 10:00"]
    assert sorted(invited) == sorted([*AGENCIES, LA, ICB, POLICE, MANAGER, ADMIN])
    [(to, subject, text)] = [m for m in mail if "Further information" in m[1]]
    assert to == "police-reviews@example.org"
    assert subject == f"[{reference}] Further information (CIGINF1) - due Tuesday 1 December 2026"
    assert "listed for the rapid review meeting on Friday 4 December 2026, 10:00" in text
    assert not any("past the deadline" in subject for _, subject, _ in mail)


def test_a_further_information_round_with_no_working_day_left_is_escalated_as_a_late_meeting(office: Office) -> None:
    reference = accepted(office, at(date(2026, 11, 20)))
    rescheduling.move_meeting(office, date(2026, 11, 30), at(date(2026, 12, 7), 10), now=at(date(2026, 11, 23)),
                              reason="The room is needed", actor="test")  # the deadline day itself: inside
    seen = len(delivered(office, at(date(2026, 11, 23), 10)))
    further_information(office, reference, at(date(2026, 12, 7), 12))
    mail = delivered(office, at(date(2026, 12, 7), 14))[seen:]
    # no working day is left: the next (Tuesday 8 December, the calendar's meeting) holds it, escalated once
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert case.round == 2 and case.meeting_at == datetime(2026, 12, 8, 10, tzinfo=timezone.utc)
        trail = [e.action for e in store.audit_trail(session, reference=reference)]
    assert trail.count("rapid review meeting moved past the deadline") == 1
    late = [(to, text) for to, subject, text in mail if subject == (
        f"[{reference}] Rapid review meeting moved past the deadline: Tuesday 8 December 2026, 10:00")]
    assert sorted(to for to, _ in late) == sorted([LA, ICB, POLICE, SCRUTINEER])
    assert all("further information was asked for at the rapid review meeting on Monday 7 December 2026, and no "
               "working day is left before the deadline" in text for _, text in late)


def test_the_information_request_and_listing_notice_say_working_days_before_the_meeting_in_the_partnerships_words(
        office: Office) -> None:
    # the partnership's own name for its form
    office = replace(office, partnership=office.partnership.model_copy(update={"information_form": "agency chronology"}))
    reference = accepted(office, at(date(2026, 11, 20)))
    mail = [m for m in delivered(office, at(date(2026, 11, 20), 10)) if m[1].startswith(f"[{reference}]")]
    requests = {to: (subject, text) for to, subject, text in mail if "Request for information" in subject}
    assert sorted(requests) == sorted(AGENCIES)
    subject, text = requests["police-reviews@example.org"]
    assert subject == f"[{reference}] Request for information (agency chronology) - due Wednesday 25 November 2026"
    assert ("Please return it by Wednesday 25 November 2026, 23:59, 3 working days before the rapid review meeting"
            in text)
    assert "Please complete agency chronology" in text and "within 7 days" not in text and "CIGINF1" not in text

    listed = {to: text for to, subject, text in mail
              if subject == f"[{reference}] To be considered at the rapid review meeting on Monday 30 November 2026"}
    assert sorted(listed) == sorted([MANAGER, ADMIN])
    assert "to be considered at its own rapid review meeting, on Monday 30 November 2026, 10:00" in listed[MANAGER]
    assert "The requests for information (agency chronology) go to the member agencies today." in listed[MANAGER]
    assert "Bo Business, business manager, for the safeguarding partners" in listed[MANAGER]
    assert not any(word in text for text in listed.values() for word in ("CIG", "chair"))

    further_information(office, reference, at(date(2026, 11, 30), 12))
    [(_, subject, text)] = [m for m in delivered(office, at(date(2026, 11, 30), 14)) if "Further information" in m[1]]
    assert subject == f"[{reference}] Further information (agency chronology) - due Tuesday 1 December 2026"
    assert "At the last rapid review meeting, further information was asked for from your agency." in text
    assert "group" not in text
