"""The LCSPR's publication on the business manager's task list under wt2023 (issue 19 item 6): the full final report
sent to the Panel and the Secretary of State from a task, a publication date under 7 working days refused in the
form's error summary naming the earliest allowed date in words, after the partners' sign-off (each by their own link:
tests/website/test_ratification_pages.py), which the list shows.

The partners' decision itself is items 2-5's: a case decided through the seeds' steps is moved to wt2023 before
its review is commissioned (tests.website.test_review_pages.commissioned)."""

from __future__ import annotations

import httpx

from casework.clocks import earliest_publication_date
from casework.delivery import deliver_pending
from casework.office import Office
from casework.review import actions as review_actions
from casework.review.forms import AppointmentForm, RatificationForm, ReviewDocumentForm
from casework.store import cases as store
from tests.website.conftest import link_in, mails_to, now
from tests.website.test_review_pages import MANAGER, commissioned, today_parts, token_of


async def test_the_full_report_goes_from_the_task_list_and_a_date_too_soon_is_refused_naming_the_earliest(
        office: Office, client: httpx.AsyncClient) -> None:
    from tests.website.test_website_browser import PDF

    reference = await commissioned(office, regime="wt2023")
    review_actions.appoint_reviewer(office, reference, AppointmentForm(
        reviewer="Rowan Reviewer", kind="independent", independent_of_agencies=True, appointed_on=now().date(),
        appointed_by="the safeguarding partners"), now=now(), actor="test")
    review_actions.upload_review_document(office, reference, ReviewDocumentForm(kind="final_report"),
                                          filename="Final report.pdf", data=PDF, now=now(), actor="test")
    await deliver_pending(office)
    link = link_in(mails_to(office, MANAGER, "commissioned")[0])

    tasks = (await client.get(link)).text
    assert "The safeguarding partners&#39; sign-off of the final report" in tasks
    for word in ("Serious Case Review", "Critical Incident Group"):
        assert word not in tasks, tasks[tasks.index(word) - 300:tasks.index(word) + 100]
    for partner in office.partnership.safeguarding_partners:  # each signs off by their own link (their page's test)
        review_actions.record_partner_sign_off(office, reference, partner, RatificationForm(
            by="safeguarding_partners", result="ratified", on=now().date()), link_id=None, now=now(), actor="test")
    assert "Signed off on" in (await client.get(link)).text

    form = (await client.get(f"{link}/task/full-report")).text
    today = office.calendar.local_date(now())
    earliest = earliest_publication_date(today, office.rules("wt2023").clocks["pre_publication_notice"],
                                         office.calendar)
    soon = await client.post(f"{link}/task/full-report", data={**today_parts("publication_on", days_ago=-1),
                                                               "form_token": token_of(form)})
    assert soon.status_code == 400
    summary = soon.text.split('govuk-error-summary__list')[1].split("</ul>")[0]
    assert f"the earliest allowed publication date is {earliest:%A %-d %B %Y}" in summary
    sent = await client.post(f"{link}/task/full-report", data={
        "publication_on-day": str(earliest.day), "publication_on-month": str(earliest.month),
        "publication_on-year": str(earliest.year), "form_token": token_of(form)})
    assert sent.status_code == 303
    await deliver_pending(office)
    [to_panel] = mails_to(office, "national-panel@example.org", "final report, to be published on")
    assert [a.get_filename() for a in to_panel.message().iter_attachments()] == ["Final report.pdf"]
