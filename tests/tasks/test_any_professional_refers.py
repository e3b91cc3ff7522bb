"""'Any professional can refer' (seed 002): an organisation outside the partnership, and the chair of
a strategy meeting, refer a case; it is recorded and the partnership is told who referred."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import text

from casework.referral import actions
from casework.delivery import deliver_pending
from casework.forms import ReferralForm
from casework.model import NON_MEMBER
from casework.office import Office
from casework.store import cases as store
from notifications.mailbox import read_mailbox

SCHOOL = "Hollyfield Primary School (invented)"
NOW = datetime(2026, 11, 18, 10, tzinfo=timezone.utc)


async def test_a_school_refers_and_the_chairs_are_told_the_school_referred(office: Office, referral_form: ReferralForm) -> None:
    form = ReferralForm.model_validate(
        referral_form.model_dump() | {"agency": None, "organisation": SCHOOL, "referrer_phone": "01234 567890",
                                      "referrer_email": "dsl@school.example.org"}, context={"today": NOW.date()})

    reference = actions.submit_referral(office, form, now=NOW, actor="administrator").reference
    await deliver_pending(office, now=NOW)

    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert case.referring_agency == NON_MEMBER
        assert (case.personal["organisation"], case.personal["referrer_phone"]) == (SCHOOL, "01234 567890")
        sealed = session.execute(text("SELECT personal FROM cases WHERE reference = :r"), {"r": reference}).scalar_one()
    assert SCHOOL not in sealed  # sealed with the rest: a school's name can point to a child
    chair = [m for m in read_mailbox(office.settings.mail_dir) if "cig-chair@example.org" in m.to]
    assert len(chair) == 1 and f"{SCHOOL} (not a member agency)" in chair[0].text()


def test_the_chair_of_a_strategy_meeting_refers_and_the_meeting_is_recorded(office: Office, referral_form: ReferralForm) -> None:
    form = ReferralForm.model_validate(
        referral_form.model_dump() | {"route": {"strategy_meeting_on": "2026-11-17",
                                                "strategy_meeting_chair": "Sam Strategy, team manager (invented)"}},
        context={"today": NOW.date()})

    reference = actions.submit_referral(office, form, now=NOW, actor="administrator").reference

    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert case.personal["strategy_meeting"] == {"on": "2026-11-17", "chair": "Sam Strategy, team manager (invented)"}
        assert [e.detail.get("referred_by") for e in store.audit_trail(session, reference=reference)] == ["strategy_meeting"]
