"""The partnership's report of its year, and its publication:

- `annual-report`: in the month after the partnership's year ends. Its schedule fires on the 15th of each month
  with `scheduled`; the run writes only in the month after the year's last month (January for wt2015's calendar
  year; under wt2023 the month the partners' period starts again, April for April to March), so a partnership that
  sets another first month changes no schedule. Under a rule set with a `yearly_report` section (wt2023) it writes
  the safeguarding partners' yearly report for the latest 12-month period that has ended (the partnership's, April
  to March by default), with the partners' texts from their file under the papers folder, as markdown and Word,
  published as the artifact `yearly-report-YYYY-MM`. Otherwise (wt2015) the annual report section on reviews and
  their impact for the year just ended, written under the papers folder, published as the artifact
  `annual-report-YYYY`, emailed to the board contact. The learning and improvement index is re-published beside
  either.
- `record-yearly-report`: the office's Run form recording that the yearly report is published (the period,
  the date, the link), which sends it at once, attached, to the rule set's recipients (the Child Safeguarding
  Practice Review Panel and the Secretary of State), once each; the deadline sweep warns the business manager
  when it has not reached all of them near the end of the 7 days.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.states import Failed, State

from casework.learning.forms import YearlyReportPublicationForm
from casework.office import open_office
from config.partnership import Partnership
from flows.office import send_office_messages
from flows.learning_actions import ActionRefused, check_form, empty_form_run, in_words
from tasks.learning import publish_learning_index, write_annual_report, write_yearly_report
from tasks.mail import send_messages

PUBLICATION_ACTOR = "record-yearly-report form"


@flow(name="annual-report", persist_result=False)
async def annual_report(year: int = 0, email: bool = True, scheduled: bool = False) -> str:
    """Write and publish the year's report (default: the latest year or period that has ended); the markdown's
    path. The safeguarding partners' yearly report where the rule set has one; else the annual report section,
    emailed to the board contact.

    Args:
        year: The year to report on, e.g. 2026 (for a yearly report, the year its period starts). Leave it at 0
            for the latest that has ended
        email: Email the annual report section to the board contact (the yearly report is sent when its
            publication is recorded)
        scheduled: For the schedule's runs: write only in the month after the year's last month
    """
    office = open_office()
    if scheduled and not year_just_ended(office.partnership, office.calendar.local_date(datetime.now(timezone.utc))):
        get_run_logger().info("The year the report covers has not just ended: no report this month")
        return ""
    if office.partnership.rules().yearly_report is not None:
        path = await write_yearly_report(year)
        await publish_learning_index()
        get_run_logger().info("The safeguarding partners' yearly report written to %s", path)
        return path
    the_year = year or datetime.now(timezone.utc).year - 1
    path = await write_annual_report(the_year, email)
    await publish_learning_index()
    if email:
        await send_messages(None)
    get_run_logger().info("Annual report section for %s written to %s", the_year, path)
    return path


def year_just_ended(partnership: Partnership, today: date) -> bool:
    """Whether `today` is in the month after the last month of the year the report covers: the partners' period
    under a rule set with a yearly report (the partnership file's first month, else the rule set's), else the
    calendar year (wt2015)."""
    if partnership.rules().yearly_report is not None:
        return today.month == partnership.yearly_report_start_month()
    return today.month == 1


@task(name="record_yearly_report_publication", cache_policy=NONE, persist_result=False)
def record_yearly_report_publication(form: YearlyReportPublicationForm) -> str | None:
    """Record the publication and queue the report to its recipients (audited): None, or why not (one line
    naming the field; nothing recorded)."""
    from casework.learning.yearly_publication import record_yearly_report_publication as record

    try:
        record(open_office(), form, now=datetime.now(timezone.utc), actor=PUBLICATION_ACTOR)
    except (ValueError, LookupError) as refused:
        return in_words(YearlyReportPublicationForm, str(refused))
    return None


@flow(name="record-yearly-report", persist_result=False, validate_parameters=False)
async def record_yearly_report(publication: YearlyReportPublicationForm) -> str | State:
    """Record that the safeguarding partners' yearly report is published, and send it at once to the Child
    Safeguarding Practice Review Panel and the Secretary of State (Department for Education).

    Args:
        publication: The report's period, the date it was published and where
    """
    office = open_office()
    try:
        checked = check_form(YearlyReportPublicationForm, publication,
                             office.calendar.local_date(datetime.now(timezone.utc)))
    except ActionRefused as refused:
        return _refused(str(refused))
    refusal = record_yearly_report_publication(checked)
    if refusal is not None:
        return _refused(refusal)
    await send_office_messages()  # what the mail server cannot take now, the deadline sweep sends
    await empty_form_run(f"record-yearly-report-{checked.period_starts_on:%Y-%m}")
    get_run_logger().info("The yearly report of the period from %s is recorded as published and sent",
                          checked.period_starts_on.isoformat())
    return checked.period_starts_on.isoformat()


def _refused(refusal: str) -> State:
    problem = f"Yearly report's publication not recorded: {refusal}"
    get_run_logger().error(problem)
    return Failed(message=problem)
