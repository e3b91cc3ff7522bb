"""The anonymised details for the National Panel (no SCR initiated) carry no name and no date of birth.

The independent chair's decision is recorded through casework.referral.actions against a real case
database: details that name the child or a significant person (whole names or any part, in any
case) or give a date of birth (however written, or any date after "born") are refused with a
message that names the field and never repeats what was found, and nothing is written. Clean
details are recorded, and the Panel's notice, as the local SMTP server receives it, names no one.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from casework.referral import actions
from casework.delivery import deliver_pending
from casework.forms import DecisionForm, RecommendationForm, ReferralForm
from casework.model import Stage
from casework.office import Office
from casework.store import cases as store
from casework.store.tables import AuditEvent, OutboxMessage
from notifications.mailbox import read_mailbox
from tests.tasks.test_case_actions import ACCEPT, PANEL, all_returns, moment

IDENTITIES = ["Robin", "Testchild", "Jordan", "Testparent", "Lee", "Testpartner", "2026-07-03", "1998-02-14",
              "3 July 2026", "14/02/1998"]
CLEAN = {
    "nature_of_incident": "Non-accidental head injury to an infant, admitted to hospital on 14 November 2026",
    "ages_of_children": "4 months",
    "relationship_to_alleged_perpetrator": "mother's partner",
    "agency_involvement": "Health visiting since birth; children's social care assessment open",
    "criminal_investigation": "Police investigation open",
}


def decision(field: str = "", text: str = "") -> DecisionForm:
    details = dict(CLEAN)
    explanation = "Agencies worked together well; the learning is for the health trust alone."
    if field == "criteria_explanation":
        explanation = text
    elif field:
        details[field] = text
    return DecisionForm(response="challenge", decision="individual_agency_review", rationale="Learning is local.",
                        decided_by="Indra Independent", anonymised_details=details, criteria_explanation=explanation)


def awaiting_decision(office: Office, form: ReferralForm) -> str:
    reference = actions.submit_referral(office, form, now=moment(11, 18), actor="test").reference
    actions.record_screening(office, reference, ACCEPT, now=moment(11, 19, 9), actor="test")
    actions.list_and_request_information(office, reference, now=moment(11, 19))
    all_returns(office, reference)
    actions.record_recommendation(office, reference, RecommendationForm(outcome="scr", rationale="Serious harm."),
                                  now=moment(12, 8, 13), actor="test")
    return reference


def written(office: Office) -> tuple[list[str], int]:
    with office.sessions() as session:
        return (list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))),
                len(session.scalars(select(OutboxMessage.id)).all()))


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("nature_of_incident", "Robin was found unresponsive"),
        ("nature_of_incident", "Head injury to ROBIN TESTCHILD"),
        ("relationship_to_alleged_perpetrator", "the mother (testparent)"),
        ("relationship_to_alleged_perpetrator", "Lee, the mother's partner"),
        ("agency_involvement", "Health visitor saw Jordan's baby twice"),
        ("ages_of_children", "born 3 July 2026"),
        ("ages_of_children", "4 months (03/07/2026)"),
        ("criminal_investigation", "Mother (DOB 14.02.1998) interviewed"),
        ("criminal_investigation", "Sibling, date of birth 1 March 2019, interviewed"),
        ("criteria_explanation", "The mother, born Feb 14, 1998, was known to adult services"),
    ],
)
def test_a_name_or_date_of_birth_in_the_panel_details_is_refused_without_repeating_it(
    office: Office, referral_form: ReferralForm, field: str, text: str
) -> None:
    reference = awaiting_decision(office, referral_form)
    before = written(office)

    with pytest.raises(ValueError) as refused:
        actions.record_decision(office, reference, decision(field, text), now=moment(12, 10), actor="independent chair")

    message = str(refused.value)
    where = field if field == "criteria_explanation" else f"anonymised_details.{field}"
    assert message.startswith(f"{where}: word "), message
    assert "name" in message or "date of birth" in message
    for identity in [*IDENTITIES, "1 March 2019"]:
        assert identity.casefold() not in message.casefold(), message
    assert written(office) == before
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert (case.stage, case.decision, case.panel_details) == (Stage.awaiting_decision, None, None)


async def test_clean_details_are_recorded_and_the_panel_notice_names_no_one(
    office: Office, referral_form: ReferralForm
) -> None:
    reference = awaiting_decision(office, referral_form)

    decided = actions.record_decision(office, reference, decision(), now=moment(12, 10), actor="independent chair")
    assert decided.stage == Stage.notifying
    await deliver_pending(office)

    [notice] = [m for m in read_mailbox(office.settings.mail_dir) if m.to == [PANEL]]
    assert "admitted to hospital on 14 November 2026" in notice.text()  # a date that is no one's birthday stays
    for identity in IDENTITIES:
        assert identity not in notice.text() and identity not in notice.html(), identity
