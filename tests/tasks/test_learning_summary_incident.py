"""The learning summary's "month/year of incident" is the incident's month: the month the child died, or was
seriously harmed when that date is given; the month the partnership was notified only when no date of the
incident is recorded, and then it says so. On a real case database, through casework.learning.actions, with
the summary read back from its Word document. Every name here is invented.
"""

from __future__ import annotations

import io

import pytest
import yaml
from docx import Document

from casework.forms import ReferralForm
from casework.learning import actions as learning
from casework.learning.forms import LearningSummaryForm
from casework.office import Office
from tests.tasks.conftest import EXAMPLE_REFERRAL, TODAY, Mailbox
from tests.tasks.test_learning_actions import ratified_review
from tests.tasks.test_learning_documents import SUMMARY
from tests.tasks.test_review import at, form


def _incident_cell(office: Office, reference: str) -> str:
    markdown, docx = learning.summary_files(office, reference)
    fields = {row.cells[0].text: row.cells[1].text for row in Document(io.BytesIO(docx)).tables[0].rows}
    assert f"## Month/year of incident\n\n{fields['Month/year of incident']}\n" in markdown
    return fields["Month/year of incident"]


def _referral(**changes: object) -> ReferralForm:
    data = yaml.safe_load(EXAMPLE_REFERRAL.read_text(encoding="utf-8"))  # notified 16 November 2026
    for path, value in changes.items():
        *parents, name = path.split(".")
        target = data
        for parent in parents:
            target = target[parent]
        target[name] = value
    return ReferralForm.model_validate(data, context={"today": TODAY})


async def test_a_child_who_died_on_30_october_2026_has_an_incident_in_october_not_the_month_notified(
        office: Office, mailbox: Mailbox) -> None:
    died = _referral(**{"facts.child_died": True, "child.date_of_death": "2026-10-30"})
    reference = await ratified_review(office, died)
    summary = learning.record_summary(office, reference, form(LearningSummaryForm, **SUMMARY),
                                      now=at(5, 10, year=2027), actor="t")
    assert summary.incident_month_year == "October 2026"
    assert _incident_cell(office, reference) == "October 2026"


async def test_a_seriously_harmed_child_has_the_month_of_the_harm_when_given_else_the_month_notified_said_so(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    reference = await ratified_review(office, referral_form)  # harmed, not died; notified 16 November 2026

    learning.record_summary(office, reference, form(LearningSummaryForm, **SUMMARY), now=at(5, 10, year=2027), actor="t")
    assert _incident_cell(office, reference) == (
        "November 2026 (the month the partnership was notified: no date of the incident is recorded)")

    with pytest.raises(ValueError, match="^harmed_on: 20 November 2026 is after the partnership was notified"):
        learning.record_summary(office, reference, form(LearningSummaryForm, **(SUMMARY | {"harmed_on": "2026-11-20"})),
                                now=at(5, 11, year=2027), actor="t")
    learning.record_summary(office, reference, form(LearningSummaryForm, **(SUMMARY | {"harmed_on": "2026-10-28"})),
                            now=at(5, 11, year=2027), actor="t")
    assert _incident_cell(office, reference) == "October 2026"
