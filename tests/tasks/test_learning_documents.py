"""The 6-month review pack, the learning summary, dissemination and the spreadsheet import, on a real
database and SMTP server: what the committee receives (pack and invitation), what the summary's Word
document says when opened, what a bad spreadsheet is refused for (nothing imported). Invented names only.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timezone

import pytest
from docx import Document
from icalendar import Calendar
from openpyxl import Workbook

from casework.delivery import deliver_pending
from casework.forms import ReferralForm
from casework.learning import actions as learning
from casework.learning.forms import ActionUpdateForm, DisseminationForm, LearningSummaryForm, OutcomeForm
from casework.learning.rules import ActionStatus
from casework.learning.spreadsheet import PlanImportRefused, read_plan
from casework.office import Office
from tests.tasks.conftest import Mailbox
from tests.tasks.test_learning_actions import ratified_review
from tests.tasks.test_review import at, form

PDC, MANAGER, TRAINING = "pdc@example.org", "business-manager@example.org", "training@example.org"
SUMMARY = dict(
    case_selection="Referred by the health trust; the independent chair decided on an SCR.", completed_on="2027-05-04",
    learning_about_case="Information about domestic abuse did not reach the health visitor; the father was unseen.",
    learning_about_method="A systems review with practitioners' events worked; chronologies came late.",
    single_agency_recommendations="Children's social care audits assessments for fathers.",
    multi_agency_recommendations="Health visiting joins the daily domestic abuse triage.",
    who_is_doing_what="The training officer leads the multi-agency plan; each agency's CIG member its own.",
    impact_audit="A multi-agency audit of 20 cases in spring 2028.")


async def test_the_committee_gets_the_pack_overdue_first_with_an_invitation_and_records_outcomes(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    reference = await ratified_review(office, referral_form)
    now = at(11, 1, year=2027)
    learning.update_action(office, reference, form(ActionUpdateForm, number=1, status="done",
                                                   evidence="Triage minutes show health visiting."), now=now, actor="t")
    pack, markdown = learning.impact_pack_for(office, reference, today=date(2027, 11, 1))
    # action 2 (due 30 June) and 3 (due 30 September) are overdue, the longest first; the done one after
    assert [(a.number, a.status) for a in pack.actions] == [
        (2, ActionStatus.overdue), (3, ActionStatus.overdue), (1, ActionStatus.done)]
    assert pack.counts == {"open": 0, "overdue": 2, "done": 1, "dropped": 0}
    assert "Triage minutes show health visiting." in markdown

    meeting = datetime(2027, 11, 10, 14, 0, tzinfo=timezone.utc)
    seen = len(mailbox.received())
    assert learning.send_impact_pack(office, reference, meeting_at=meeting, now=now, actor="t") == 3
    assert learning.send_impact_pack(office, reference, meeting_at=meeting, now=now, actor="t") == 0  # once
    await deliver_pending(office, now=now)
    mails = mailbox.received()[seen:]
    assert sorted(to for m in mails for to in m.to) == sorted([PDC, MANAGER, TRAINING])
    [to_pdc] = [m for m in mails if PDC in m.to]
    assert to_pdc.subject.startswith(f"[{reference}] 6-month review of the learning and improvement plans")
    body = to_pdc.text()
    assert "3 actions: 2 overdue, 0 open, 1 done with evidence, 0 dropped." in body
    assert body.index("action 2 (CSC)") < body.index("action 3 (POL)")
    parts = {p.get_filename(): p for p in to_pdc.message().iter_attachments()}
    ics = Calendar.from_ical(parts[f"impact-review-{reference}-2027-11-10.ics"].get_content())
    [event] = ics.walk("VEVENT")
    assert event.decoded("dtstart") == meeting
    assert {str(a) for a in event.get("attendee")} == {f"mailto:{e}" for e in (PDC, MANAGER, TRAINING)}
    attached = parts[f"impact-review-{reference}-2027-11-10.md"].get_content()
    assert attached.index("| 2 |") < attached.index("| 3 |") < attached.index("| 1 |")

    learning.record_outcomes(office, reference, [
        form(OutcomeForm, number=1, outcome="impact_evidenced", on="2027-11-10"),
        form(OutcomeForm, number=2, outcome="replanned", note="New audit date agreed.", on="2027-11-10")],
        now=at(11, 10, 16, year=2027), actor="PDC")
    plan = learning.plan_view(office, reference, today=date(2027, 11, 10))
    assert [a.outcome for a in plan.actions] == ["impact_evidenced", "replanned", None]
    assert "6-month review: impact evidenced" in learning.plan_text(plan)


async def test_the_learning_summary_has_every_field_in_word_and_markdown_and_names_no_one_from_the_case(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    reference = await ratified_review(office, referral_form)
    with pytest.raises(ValueError, match="^learning_about_case: word 3 is \\(part of\\) the name"):
        learning.record_summary(office, reference, form(LearningSummaryForm, **(SUMMARY | {
            "learning_about_case": "Information about Robin did not reach the health visitor."})),
            now=at(5, 10, year=2027), actor="t")
    with pytest.raises(ValueError, match="^impact_audit: "):
        learning.record_summary(office, reference, form(LearningSummaryForm, **(SUMMARY | {
            "impact_audit": "Audit cases of infants born 03/07/2026."})), now=at(5, 10, year=2027), actor="t")
    with pytest.raises(LookupError):
        learning.summary_files(office, reference)

    learning.record_summary(office, reference, form(LearningSummaryForm, **SUMMARY), now=at(5, 10, year=2027), actor="t")
    markdown, docx = learning.summary_files(office, reference)
    table = Document(io.BytesIO(docx)).tables[0]
    fields = {row.cells[0].text: row.cells[1].text for row in table.rows}
    assert list(fields) == [
        "Area", "Date completed", "Type of review", "Month/year of incident", "Review reference",
        "What was learnt about the case (key themes, early learning)", "What was learnt about the review / methodology",
        "Key single-agency recommendations", "Key multi-agency recommendations",
        "How will changes be made and who is doing what", "How will impact be audited", "Other comments"]
    assert fields["Area"] == "Northshire Safeguarding Children Partnership"
    assert fields["Date completed"] == "4 May 2027"
    assert fields["Month/year of incident"] == (  # harmed, no date of the harm given: the month notified, saying so
        "November 2026 (the month the partnership was notified: no date of the incident is recorded)")
    assert fields["Review reference"] == reference
    assert fields["Type of review"].startswith("Serious Case Review. Methodology: ")
    assert "Chairing/authoring: lead reviewer(s) Rowan Reviewer" in fields["Type of review"]
    assert "How the case was selected: Referred by the health trust" in fields["Type of review"]
    assert fields["Key multi-agency recommendations"] == SUMMARY["multi_agency_recommendations"]
    for heading in fields:
        assert f"## {heading}" in markdown
    whole = markdown + " ".join(fields.values())
    for identity in ("Robin", "Testchild", "Jordan", "Testparent", "Testpartner", "2026-07-03", "3 July 2026"):
        assert identity not in whole


async def test_the_training_officer_records_dissemination_once_and_anonymised(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    reference = await ratified_review(office, referral_form)
    brief = form(DisseminationForm, kind="learning_brief", on="2027-06-01", audience="all agencies' frontline staff",
                 by="Toni Training")
    assert learning.record_dissemination(office, reference, brief, now=at(6, 1, year=2027), actor="t") is True
    assert learning.record_dissemination(office, reference, brief, now=at(6, 1, year=2027), actor="t") is False
    learning.record_dissemination(office, reference, form(
        DisseminationForm, kind="practice_audit", on="2027-10-01", audience="12 practitioners",
        note="8 of 12 knew the review's learning.", by="Toni Training"), now=at(10, 1, year=2027), actor="t")
    with pytest.raises(ValueError, match="^note: word 2 is"):
        learning.record_dissemination(office, reference, form(
            DisseminationForm, kind="newsletter", on="2027-10-02", audience="all staff", note="About Testchild.",
            by="Toni Training"), now=at(10, 2, year=2027), actor="t")
    assert [(d.kind.value, d.on) for d in learning.disseminations(office, reference)] == [
        ("learning_brief", date(2027, 6, 1)), ("practice_audit", date(2027, 10, 1))]


def _sheet(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HEADER = ["Plan", "Finding", "Action", "Agency", "Lead name", "Lead email", "Target date", "Evidence of impact"]
GOOD = ["multi_agency", "Late information", "Daily triage", "HEALTH", "Ash Lead", "ash.lead@example.org",
        datetime(2027, 7, 31), "Minutes"]


async def test_a_spreadsheet_plan_is_imported_whole_or_refused_naming_row_and_column(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    reference = await ratified_review(office, referral_form)
    before = learning.plan_view(office, reference, today=date(2027, 5, 5)).actions
    bad = _sheet([HEADER, GOOD, ["single_agency", "x", "y", "CSC", "Sky P", "not-an-email", "2027-08-01", "z"],
                  GOOD[:6] + ["someday", "Minutes"]])
    with pytest.raises(PlanImportRefused) as refused:
        read_plan(bad, today=date(2027, 5, 5))
    assert refused.value.problems[0].startswith("row 3, column F (Lead email): ")
    assert refused.value.problems[1].startswith("row 4, column G (Target date): ")
    with pytest.raises(PlanImportRefused, match="row 1: no column 'evidence of impact'"):
        read_plan(_sheet([HEADER[:-1], GOOD[:-1]]), today=date(2027, 5, 5))
    assert learning.plan_view(office, reference, today=date(2027, 5, 5)).actions == before  # nothing imported

    forms = read_plan(_sheet([HEADER, GOOD, GOOD]), today=date(2027, 5, 5))
    assert learning.add_actions(office, reference, forms, now=at(5, 5, year=2027), actor="t",
                                reason="The board asked for the health actions in the plan.") == [4, 5]


async def test_the_learning_index_has_one_entry_per_review_and_audit_read_back_from_xlsx_and_markdown(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    from openpyxl import load_workbook

    from casework.learning.documents import INDEX_HEADINGS, index_markdown, index_xlsx
    from casework.learning.forms import IndexEntryForm
    from casework.review import actions as review
    from casework.review.forms import RatificationForm

    reference = await ratified_review(office, referral_form)
    review.record_ratification(office, reference, form(RatificationForm, by="board", result="ratified", on="2027-05-20"),
                               now=at(5, 20, year=2027), actor="t")
    learning.record_summary(office, reference, form(LearningSummaryForm, **SUMMARY), now=at(5, 21, year=2027), actor="t")
    learning.update_action(office, reference, form(ActionUpdateForm, number=1, status="done",
                                                   evidence="Triage minutes show health visiting at 19 of 20."),
                           now=at(7, 1, year=2027), actor="t")
    learning.record_dissemination(office, reference, form(
        DisseminationForm, kind="learning_brief", on="2027-06-01", audience="all agencies' frontline staff",
        by="Toni Training"), now=at(6, 1, year=2027), actor="t")
    learning.record_dissemination(office, reference, form(
        DisseminationForm, kind="practice_audit", on="2027-10-01", audience="12 practitioners",
        note="8 of 12 knew the review's learning.", by="Toni Training"), now=at(10, 1, year=2027), actor="t")
    assert learning.add_index_entry(office, form(
        IndexEntryForm, review_type="section 11 audit", name="Section 11 audit 2027", reported_on="2027-09-15",
        overview="Self-assessment by every agency.", findings="Supervision records were thin.",
        improvement_activity="Supervision policy revised.", evidence_of_improvement="Re-audit: 9 in 10 recorded."),
        now=at(9, 20, year=2027), actor="t") is True

    entries = learning.learning_index(office, today=date(2027, 10, 2))
    [scr, audit] = entries
    assert (scr.review_type, scr.name, scr.reported_on) == ("Serious Case Review", reference, date(2027, 5, 20))
    assert scr.findings == SUMMARY["learning_about_case"]
    assert scr.improvement_activity.startswith("3 actions: 0 open, 2 overdue, 1 done, 0 dropped. learning brief 2027-06-01")
    assert "action 1: Triage minutes show health visiting at 19 of 20." in scr.evidence_of_improvement
    assert "practice audit 2027-10-01: 8 of 12 knew the review's learning." in scr.evidence_of_improvement
    assert (audit.review_type, audit.name) == ("section 11 audit", "Section 11 audit 2027")

    sheet = load_workbook(io.BytesIO(index_xlsx(entries, title="Index"))).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert tuple(rows[0]) == INDEX_HEADINGS
    assert rows[1][:3] == ["Serious Case Review", reference, "2027-05-20"] and all(rows[1]) and all(rows[2])
    markdown = index_markdown(entries, title="Index")
    assert "| Section 11 audit 2027 |" in markdown
    for identity in ("Robin", "Testchild", "Jordan", "Testparent", "2026-07-03", "Ash Lead", "Sky Practitioner"):
        assert identity not in markdown and identity not in str(rows)


async def test_the_sweep_tells_the_committee_when_the_6_month_review_falls_due_and_stops_once_the_pack_goes(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    from casework.sweep import queue_reminders

    reference = await ratified_review(office, referral_form)  # the executive group ratified on 4 May 2027
    due = f"[{reference}] Due soon: 6-month review of the learning and improvement plans"
    late = f"[{reference}] Overdue: 6-month review of the learning and improvement plans"

    async def sweep(month: int, day: int) -> list[tuple[str, str]]:
        seen = len(mailbox.received())
        queue_reminders(office, now=at(month, day, 8, year=2027))
        await deliver_pending(office, now=at(month, day, 8, year=2027))
        return sorted((to, m.subject) for m in mailbox.received()[seen:] for to in m.to if "6-month review" in m.subject)

    assert await sweep(10, 20) == []
    assert await sweep(10, 21) == [(MANAGER, due), (PDC, due)]  # 14 days before 4 November
    assert await sweep(10, 28) == []  # once
    [warning] = [m for m in mailbox.received() if m.subject == due and PDC in m.to]
    assert "ask the partnership administrator to send the committee its pack" in warning.text()
    assert await sweep(11, 5) == [(MANAGER, late)]  # no pack was sent
    assert await sweep(11, 6) == []


async def test_no_escalation_of_the_6_month_review_once_its_pack_has_gone(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    from casework.sweep import queue_reminders

    reference = await ratified_review(office, referral_form)
    learning.send_impact_pack(office, reference, meeting_at=datetime(2027, 11, 3, 14, tzinfo=timezone.utc),
                              now=at(10, 25, year=2027), actor="t")
    seen = len(mailbox.received())
    queue_reminders(office, now=at(11, 5, 8, year=2027))
    await deliver_pending(office, now=at(11, 5, 8, year=2027))
    assert [m.subject for m in mailbox.received()[seen:] if "6-month review" in m.subject and "Overdue" in m.subject] == []


async def test_the_purge_takes_a_cases_actions_their_updates_and_learning_records_with_it(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    from sqlalchemy import text

    from casework.purge import purge_expired_cases
    from casework.store import cases as store

    reference = await ratified_review(office, referral_form)
    learning.update_action(office, reference, form(ActionUpdateForm, number=1, status="done", evidence="Minutes."),
                           now=at(7, 1, year=2027), actor="t")
    learning.record_summary(office, reference, form(LearningSummaryForm, **SUMMARY), now=at(7, 1, year=2027), actor="t")
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference)
        case.status, case.closed_at = "closed", at(7, 2, year=2027)
    assert purge_expired_cases(office, now=at(7, 3, year=2040)) == [reference]
    with office.sessions() as session:
        left = [session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("learning_actions", "action_updates", "learning_records", "deadlines")]
    assert left == [0, 0, 0, 0]


async def test_the_twice_yearly_impact_meeting_gets_one_pack_across_every_review(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    reference = await ratified_review(office, referral_form)
    pack, markdown = learning.impact_pack_for(office, None, today=date(2027, 11, 1))
    assert pack.title == "Review of learning and improvement activity and impact: all reviews"
    assert [(a.reference, a.number) for a in pack.actions] == [(reference, 2), (reference, 1), (reference, 3)]  # all overdue
    meeting = datetime(2027, 11, 17, 10, tzinfo=timezone.utc)
    seen = len(mailbox.received())
    assert learning.send_impact_pack(office, None, meeting_at=meeting, now=at(11, 1, year=2027), actor="t") == 3
    await deliver_pending(office, now=at(11, 1, year=2027))
    [to_pdc] = [m for m in mailbox.received()[seen:] if PDC in m.to]
    assert to_pdc.subject.startswith("Review of learning and improvement activity and impact: all reviews: ")
    assert {p.get_filename() for p in to_pdc.message().iter_attachments()} == {
        "impact-review-all-2027-11-17.md", "impact-review-all-2027-11-17.ics"}
