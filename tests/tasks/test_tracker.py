"""The case tracker, its exports and the case timeline, as a manager would check them.

A referral is carried step by step through casework.referral.actions on a SQLite file under tmp_path (with
the example partnership cut to three agencies); after each step the tracker row is read. The
.xlsx is read back with openpyxl. Nothing here needs Prefect or a mail server. Under `wt2023` a
case is a rapid review converted to an LCSPR, whose publication `cig review publish` records.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

import casework.store
from casework.referral import actions
from casework.forms import (
    AgencyReturnForm, DecisionForm, PanelNotificationForm, PublicationForm, RecommendationForm, ReferralForm, ScreeningForm,
)
from casework.office import Office, open_office
from casework.store import cases as store
from casework.oversight.timeline import case_timeline_markdown, people_of, progress
from casework.oversight.tracker import COLUMNS, TrackerRow
from casework.oversight.exports import current_tracker, tracker_csv, tracker_json, write_tracker_xlsx
from config.settings import CONFIG_DIR

EXAMPLE_REFERRAL = Path(__file__).resolve().parents[2] / "examples" / "referral.yaml"
CHILD_NAME = "Robin Testchild"
CHILD_BORN = date(2026, 7, 3)
AGENCIES = ("POL", "CSC", "HEALTH")
MANAGER_FIRST = ["Reference", "Stage", "Next deadline", "Due", "Days left", "Breaches"]


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=timezone.utc)


@pytest.fixture(params=["wt2015"])
def tracker_office(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Office]:
    """The example partnership with three agencies, on its own SQLite file under tmp_path (its rule
    set: the example's wt2015, or as a test parametrizes it indirectly)."""
    for name in ("CIG_DATABASE_URL", "CIG_DATA_KEYS", "CIG_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    data = yaml.safe_load((CONFIG_DIR / "partnership.example.yaml").read_text())
    data["agencies"] = [a for a in data["agencies"] if a["code"] in AGENCIES]
    data["ruleset"] = request.param
    partnership = tmp_path / "partnership.yaml"
    partnership.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("CIG_HOME", str(tmp_path / "cig"))
    monkeypatch.setenv("CIG_PARTNERSHIP_FILE", str(partnership))
    monkeypatch.setenv("CIG_SMTP_PORT", "9")  # nothing is delivered in these tests
    casework.store._factory.cache_clear()
    the_office = open_office()
    yield the_office
    the_office.sessions.kw["bind"].dispose()
    casework.store._factory.cache_clear()


def referral(notified_on: date = date(2026, 11, 16), today: date = date(2026, 11, 20)) -> ReferralForm:
    data = yaml.safe_load(EXAMPLE_REFERRAL.read_text(encoding="utf-8"))
    data["notified_on"] = notified_on
    data["route"]["reviewed_with_safeguarding_lead_on"] = notified_on
    data["completed_on"] = notified_on
    return ReferralForm.model_validate(data, context={"today": today})


ACCEPT = ScreeningForm(outcome="accept", decided_by="Casey Chair", independent_chair_consulted=True)
RECOMMEND_SCR = RecommendationForm(outcome="scr", rationale="Criteria met; agencies' joint working in question.")
DECIDE_SCR = DecisionForm(response="affirm", decision="scr", rationale="Criteria met.", decided_by="Indra Independent",
                          lead_reviewers=["Rey Reviewer"])


def returned(code: str) -> AgencyReturnForm:
    return AgencyReturnForm(agency=code, status="returned", involvement=f"{code} involvement in outline.")


def row_of(office: Office, reference: str, now: datetime) -> TrackerRow:
    return next(r for r in current_tracker(office, now=now) if r.reference == reference)


def mark_sent(office: Office, reference: str, kinds: dict[str, datetime]) -> None:
    """What delivery does: the outbox message of each kind marked sent at the given time."""
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference)
        for message in store.messages_for(session, case_id=case.id):
            if message.kind in kinds:
                message.status, message.sent_at = "sent", kinds[message.kind]


def test_the_tracker_after_each_step_of_a_referral(tracker_office: Office) -> None:
    office = tracker_office
    reference = actions.submit_referral(office, referral(), now=at(11, 18), actor="HEALTH").reference

    row = row_of(office, reference, at(11, 18, 12))
    assert (row.status, row.stage, row.stage_number) == ("open", "awaiting_screening", 1)
    assert (row.notified_on, row.referred_on, row.referring_agency) == (date(2026, 11, 16), date(2026, 11, 18), "HEALTH")
    assert row.listed_for is None and row.decision is None and row.returns == "-"
    assert row.next_deadline.startswith("independent chair's decision")  # one month from notification
    assert row.next_deadline_on == date(2026, 12, 16) and row.days_left == 28
    assert not row.overdue and row.breach_flags == ""

    actions.record_screening(office, reference, ACCEPT, now=at(11, 19, 9), actor="cig chair")
    actions.list_and_request_information(office, reference, now=at(11, 19, 11))
    row = row_of(office, reference, at(11, 19, 12))
    assert (row.stage, row.stage_number, row.round) == ("awaiting_returns", 2, 1)
    assert row.listed_for == date(2026, 12, 8)  # the second Tuesday of December
    assert (row.returns_received, row.returns_expected, row.returns) == (0, 3, "0/3")
    assert row.next_deadline.startswith("CIGINF1 return from") and row.next_deadline_on == date(2026, 11, 26)

    actions.record_return(office, reference, returned("POL"), now=at(11, 24), actor="administrator")
    actions.record_return(office, reference, returned("CSC"), now=at(11, 25), actor="administrator")
    row = row_of(office, reference, at(11, 28))  # HEALTH's return was due on the 26th
    assert row.returns == "2/3" and row.overdue
    assert row.breach_flags == "CIGINF1 return from HEALTH (2 days overdue)"

    actions.record_return(office, reference, returned("HEALTH"), now=at(11, 28, 11), actor="administrator")
    row = row_of(office, reference, at(11, 28, 12))
    assert (row.stage, row.returns, row.overdue) == ("awaiting_recommendation", "3/3", False)

    actions.record_recommendation(office, reference, RECOMMEND_SCR, now=at(12, 8, 13), actor="cig chair")
    row = row_of(office, reference, at(12, 8, 14))
    assert (row.stage, row.stage_number, row.recommendation) == ("awaiting_decision", 4, "scr")

    actions.record_decision(office, reference, DECIDE_SCR, now=at(12, 10, 15), actor="independent chair")
    row = row_of(office, reference, at(12, 10, 16))
    assert (row.stage, row.decision, row.decided_on) == ("notifying", "scr", date(2026, 12, 10))
    assert (row.review_type, row.lead_reviewer) == ("Serious Case Review", "Rey Reviewer")
    assert row.ofsted_notice_on is None and row.panel_notice_on is None
    # Ofsted "immediately": 4 hours from the decision at 15:00, so due 19:00 the same day
    assert row.next_deadline.startswith("Ofsted notice") and row.next_deadline_on == date(2026, 12, 10)
    assert row.next_deadline_at is not None and row.next_deadline_at.tzinfo == office.calendar.zone

    mark_sent(office, reference, {"ofsted_notice": at(12, 10, 16), "panel_notice": at(12, 10, 16)})
    row = row_of(office, reference, at(12, 10, 17))  # sent, not yet finished: dates from the outbox
    assert (row.ofsted_notice_on, row.panel_notice_on) == (date(2026, 12, 10), date(2026, 12, 10))

    actions.finish_case(office, reference, now=at(12, 10, 17))
    row = row_of(office, reference, at(12, 11))
    assert (row.status, row.stage, row.stage_number) == ("open", "decided", 6)  # open while the SCR runs
    assert (row.ofsted_notice_on, row.panel_notice_on) == (date(2026, 12, 10), date(2026, 12, 10))
    assert row.next_deadline is None or "publication" in row.next_deadline.lower() or row.days_left is not None
    assert not row.overdue


def test_a_missed_decision_deadline_is_a_breach(tracker_office: Office) -> None:
    reference = actions.submit_referral(tracker_office, referral(), now=at(11, 18), actor="HEALTH").reference
    row = row_of(tracker_office, reference, at(12, 18))
    assert row.overdue and row.days_left == -2
    assert row.breaches[0].due_on == date(2026, 12, 16) and row.breaches[0].days_overdue == 2


def seeded(office: Office, decision: DecisionForm = DECIDE_SCR) -> tuple[str, str]:
    """Two cases: one decided (notices sent), one awaiting screening and past its decision deadline."""
    late = actions.submit_referral(office, referral(date(2026, 10, 1), date(2026, 10, 2)), now=at(10, 2), actor="POL")
    done = actions.submit_referral(office, referral(), now=at(11, 18), actor="HEALTH").reference
    actions.record_screening(office, done, ACCEPT, now=at(11, 19, 9), actor="cig chair")
    actions.list_and_request_information(office, done, now=at(11, 19, 11))
    for code in AGENCIES:
        actions.record_return(office, done, returned(code), now=at(11, 24), actor="administrator")
    actions.record_recommendation(office, done, RECOMMEND_SCR, now=at(12, 8, 13), actor="cig chair")
    actions.record_decision(office, done, decision, now=at(12, 10, 15), actor="independent chair")
    mark_sent(office, done, {"ofsted_notice": at(12, 10, 16), "panel_notice": at(12, 11, 9)})
    actions.finish_case(office, done, now=at(12, 11, 10))
    return late.reference, done


def test_the_workbook_reads_back_with_dates_frozen_panes_and_overdue_rows_filled(tracker_office: Office, tmp_path: Path) -> None:
    late, done = seeded(tracker_office)
    now = at(12, 12)
    rows = current_tracker(tracker_office, now=now)
    path = write_tracker_xlsx(rows, tmp_path / "tracker.xlsx", now=now)

    sheet = load_workbook(path).active
    headings = [c.value for c in sheet[1]]
    assert headings[:6] == MANAGER_FIRST and headings[-1] == "Overdue"
    assert sheet.freeze_panes == "B2"
    by_reference = {r[0].value: {h: c for h, c in zip(headings, r)} for r in sheet.iter_rows(min_row=2)}
    assert set(by_reference) == {late, done}

    decided = by_reference[done]
    for heading in ("Date notified", "Date referred", "Listed for meeting", "Date decided", "Ofsted notice", "Panel notice"):
        assert isinstance(decided[heading].value, datetime), heading  # openpyxl reads date cells back as datetimes
        assert decided[heading].is_date
    assert decided["Date decided"].value.date() == date(2026, 12, 10)
    assert decided["Panel notice"].value.date() == date(2026, 12, 11)
    assert decided["Returns received"].value == "3/3"
    assert decided["Lead reviewer"].value == "Rey Reviewer"
    assert decided["Overdue"].value == "no"
    assert decided["Reference"].fill.fgColor.rgb != "00FFC7CE"

    assert decided["Stage"].value == "decided" and decided["Decision"].value == "Serious Case Review"
    overdue = by_reference[late]
    assert overdue["Stage"].value == "awaiting screening by the CIG chair and business manager"
    assert overdue["Due"].value == datetime(2026, 11, 1, 23, 59, 59) and overdue["Due"].is_date  # local time
    assert overdue["Overdue"].value == "yes"
    assert "overdue" in overdue["Breaches"].value
    assert isinstance(overdue["Days left"].value, int) and overdue["Days left"].value < 0
    assert all(c.fill.fgColor.rgb == "00FFC7CE" for c in overdue.values())


FORMULA = '=HYPERLINK("http://evil.example","x")'


def test_a_formula_typed_as_the_lead_reviewer_is_text_in_the_workbook_and_quoted_in_the_csv(
    tracker_office: Office, tmp_path: Path
) -> None:
    late, done = seeded(tracker_office, DECIDE_SCR.model_copy(update={"lead_reviewers": [FORMULA]}))
    now = at(12, 12)
    rows = current_tracker(tracker_office, now=now)
    path = write_tracker_xlsx(rows, tmp_path / "tracker.xlsx", now=now)

    sheet = load_workbook(path).active
    every_cell = [c for r in sheet.iter_rows() for c in r]
    assert [c.coordinate for c in every_cell if c.data_type == "f"] == []  # no formula anywhere
    headings = [c.value for c in sheet[1]]
    by_reference = {r[0].value: {h: c for h, c in zip(headings, r)} for r in sheet.iter_rows(min_row=2)}
    lead = by_reference[done]["Lead reviewer"]
    assert (lead.value, lead.data_type) == (FORMULA, "s")  # reads as typed, as text
    assert lead.hyperlink is None
    with zipfile.ZipFile(path) as package:  # what Excel reads: no <f> element in the sheet
        assert "<f>" not in package.read("xl/worksheets/sheet1.xml").decode()
    days_left = by_reference[late]["Days left"]  # numbers stay numbers
    assert (days_left.value, days_left.data_type) == (-41, "n")
    assert by_reference[done]["Date decided"].is_date

    by_csv = {r["Reference"]: r for r in csv.DictReader(io.StringIO(tracker_csv(rows)))}
    assert by_csv[done]["Lead reviewer"] == "'" + FORMULA
    assert by_csv[late]["Days left"] == "-41" and by_csv[late]["Returns received"] == "-"
    assert by_csv[done]["Date decided"] == "2026-12-10"

    from typer.testing import CliRunner

    from cli.main import app

    result = CliRunner().invoke(app, ["tracker", "--format", "csv"])
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.output.splitlines() if line.startswith(done)]
    assert '"\'=HYPERLINK(""http://evil.example"",""x"")"' in line


def test_html_typed_as_the_lead_reviewer_reads_as_typed_in_the_timeline_and_tracker_artifacts(tracker_office: Office) -> None:
    from markdown_it import MarkdownIt

    typed = "<img src=x onerror=alert(1)> Rey | Reviewer"
    late, done = seeded(tracker_office, DECIDE_SCR.model_copy(update={"lead_reviewers": [typed]}))
    with tracker_office.sessions() as session:
        case = store.get_case(session, reference=done)
        text = case_timeline_markdown(case, store.audit_trail(session, reference=done),
                                      store.messages_for(session, case_id=case.id),
                                      calendar=tracker_office.calendar, now=at(12, 12))
    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(text)
    inline = [child for token in tokens if token.type == "inline" for child in token.children or []]
    assert [c.content for c in inline if c.type in ("html_inline", "html_block")] == []
    assert [t.content for t in tokens if t.type == "html_block"] == []
    shown = "".join(c.content for c in inline if c.type == "text")
    assert f"lead reviewer {typed}." in shown

    from tasks.artifacts import tracker_table  # the Prefect UI draws each text cell of a table artifact as markdown

    table, _ = tracker_table(at(12, 12))
    [row] = [r for r in table if r["Reference"] == done]
    [cell] = [t for t in MarkdownIt("commonmark", {"html": True}).parseInline(str(row["Lead reviewer"]))]
    assert [(c.type, c.content) for c in cell.children or []] == [("text", typed)]


def test_csv_and_json_carry_the_same_rows(tracker_office: Office) -> None:
    late, done = seeded(tracker_office)
    rows = current_tracker(tracker_office, now=at(12, 12))
    lines = tracker_csv(rows).splitlines()
    # the CSV: the workbook's columns and headings, values for scripts (codes, ISO dates)
    assert lines[0].split(",")[:6] == MANAGER_FIRST and len(lines) == 3
    assert any(line.startswith(f"{done},decided,") and "2026-12-10" in line for line in lines)
    assert any(line.startswith(f"{late},awaiting_screening,") and ",2026-11-01," in line for line in lines)
    records = {r["reference"]: r for r in json.loads(tracker_json(rows))}
    assert records[done]["decided_on"] == "2026-12-10" and records[done]["overdue"] is False
    assert records[late]["overdue"] is True and records[late]["breaches"][0]["due_on"] == "2026-11-01"
    assert len(COLUMNS) >= 20


def test_the_timeline_tells_the_story_in_words_and_what_is_due_next(tracker_office: Office) -> None:
    office = tracker_office
    late, done = seeded(office)
    business_manager = office.partnership.contacts.business_manager.email
    with office.sessions.begin() as session:  # what delivery and the Prefect forms record
        store.audit(session, reference=done, actor="system", action="message sent", now=at(11, 18, 10),
                    kind="referral_notice", to=business_manager)
        store.audit(session, reference=done, actor="screening form", action="screening: accept", now=at(11, 19, 9),
                    decided_by="Casey Chair and Bailey Manager", independent_chair_consulted=True)
        store.audit(session, reference=done, actor="administrator", action="requests for information issued",
                    now=at(11, 19, 11), round=1, agencies=["POL"], by_return=True)
    with office.sessions() as session:
        case = store.get_case(session, reference=done)
        text = case_timeline_markdown(case, store.audit_trail(session, reference=done),
                                      store.messages_for(session, case_id=case.id),
                                      calendar=office.calendar, now=at(12, 12), people=people_of(office.partnership),
                                      tracker_url="http://127.0.0.1:4200/artifacts/key/case-tracker")
        assert progress(case).description == "stage 6 of 6: decided"
    assert text.startswith(f"# Case {done}")
    assert "[the latest case tracker](http://127.0.0.1:4200/artifacts/key/case-tracker)" in text
    for expected in (
        "| Wed 18 Nov 2026 10:00 | the case system | Referral notice sent to the business manager |",
        "| Thu 19 Nov 2026 09:00 | the CIG chair and business manager (screening form) "
        "| Referral accepted at screening; the independent chair was consulted |",
        "Requests for information (CIGINF1) sent to POL (Northshire Police), due by return |",
        "| Thu 19 Nov 2026 11:00 | the case system | Listed for the meeting on Tue 8 Dec 2026 10:00 |",
        "Return (CIGINF1) received from POL (Northshire Police)",
        "CIG recommendation: Serious Case Review", "Independent chair's decision: Serious Case Review, affirming the recommendation",
        "| notice to Ofsted | sent | Thu 10 Dec 2026 16:00 |", "## What is due next",
    ):
        assert expected in text, expected
    for machine_words in ("kind referral_notice", "by return True", "by return False", "+00:00", "screening: accept",
                          "message sent", "| screening form |", "2026-11-16", "T10:00"):
        assert machine_words not in text, machine_words
    with tracker_office.sessions() as session:
        case = store.get_case(session, reference=late)
        text = case_timeline_markdown(case, store.audit_trail(session, reference=late), [],
                                      calendar=tracker_office.calendar, now=at(12, 12))
    assert "OVERDUE" in text and "Stage 1 of 6: awaiting screening by the CIG chair" in text
    assert "| Sun 1 Nov 2026 23:59 | -41 **OVERDUE** |" in text  # due at the end of the day, London time


def test_no_export_or_timeline_holds_the_childs_name_or_date_of_birth(tracker_office: Office, tmp_path: Path) -> None:
    late, done = seeded(tracker_office)
    now = at(12, 12)
    rows = current_tracker(tracker_office, now=now)
    path = write_tracker_xlsx(rows, tmp_path / "tracker.xlsx", now=now)
    cells = " ".join(str(c.value) for r in load_workbook(path).active.iter_rows() for c in r)
    texts = [tracker_csv(rows), tracker_json(rows), cells, repr(rows)]
    with tracker_office.sessions() as session:
        for reference in (late, done):
            case = store.get_case(session, reference=reference)
            assert case.personal["child"]["name"] == CHILD_NAME  # the test child is really there, sealed
            texts.append(case_timeline_markdown(case, store.audit_trail(session, reference=reference),
                                                store.messages_for(session, case_id=case.id),
                                                calendar=tracker_office.calendar, now=now))
    forbidden = [CHILD_NAME, "Testchild", CHILD_BORN.isoformat(), "03/07/2026", "3 July 2026", "Jordan Testparent", "1998-02-14"]
    for text in texts:
        for word in forbidden:
            assert word not in text


def test_artifact_keys_and_the_tracker_table_artifact(tracker_office: Office) -> None:
    from tasks.artifacts import TRACKER_KEY, artifact_key, case_key, tracker_table

    late, done = seeded(tracker_office)
    assert case_key("NSCP-2026-0001") == "case-nscp-2026-0001"
    assert artifact_key("case", "NSCP/2026 0001", "progress") == "case-nscp-2026-0001-progress"
    assert TRACKER_KEY == "case-tracker"
    table, description = tracker_table(at(12, 12))
    assert description == "Case tracker at Sat 12 Dec 2026 10:00 (London time): 2 cases, 1 with an overdue deadline."
    # what a manager sees: word headings, the columns scanned first first, dates and times one way
    assert list(table[0])[:6] == MANAGER_FIRST
    assert all("_" not in heading for heading in table[0])
    assert [r["Reference"] for r in table] == sorted([late, done])
    assert all(isinstance(v, (str, int)) for r in table for v in r.values())
    overdue, decided = table
    assert overdue["Stage"] == "awaiting screening by the CIG chair and business manager"
    assert overdue["Next deadline"].startswith("independent chair's decision")
    assert (overdue["Due"], overdue["Days left"]) == ("Sun 1 Nov 2026 23:59", -41)
    assert overdue["Breaches"].endswith("(41 days overdue)")
    assert (decided["Stage"], decided["Next deadline"], decided["Days left"]) == ("decided", "", "")
    assert (decided["Date decided"], decided["Panel notice"]) == ("Thu 10 Dec 2026", "Fri 11 Dec 2026")
    assert decided["Decision"] == "Serious Case Review" and decided["Listed for meeting"] == "Tue 8 Dec 2026"
    assert CHILD_NAME not in repr(table) and CHILD_BORN.isoformat() not in repr(table)
    assert "3 Jul 2026" not in repr(table)


def test_cig_tracker_and_cig_timeline(tracker_office: Office, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    late, done = seeded(tracker_office)
    runner = CliRunner()
    result = runner.invoke(app, ["tracker", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Reference,Stage,Next deadline,Due,Days left,Breaches,") and done in result.output
    out = tmp_path / "out" / "tracker.xlsx"
    result = runner.invoke(app, ["tracker", "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0 and "2 case(s), 1 with an overdue deadline" in result.output
    assert load_workbook(out).active["A2"].value in (late, done)
    result = runner.invoke(app, ["timeline", done])
    assert result.exit_code == 0 and result.output.startswith(f"# Case {done}")
    assert "| notice to Ofsted | sent |" in result.output and CHILD_NAME not in result.output
    for command in (["timeline", done, "--json"], ["tracker", "--json"]):  # every command speaks JSON for scripts
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
        parsed = json.loads(result.output)
        assert (parsed["reference"] == done) if command[0] == "timeline" else ({r["reference"] for r in parsed} == {late, done})


PUBLISHED = PublicationForm.model_validate(
    {"published_on": date(2026, 12, 11), "link": "https://northshire-scp.example.org/reviews/scr-2026-2",
     "learning_shared": "Practitioner briefings; 7-minute briefing", "themes": ["neglect", "non-accidental injury"]},
    context={"today": date(2026, 12, 12)},
)
PUBLICATION_HEADINGS = ("Converted from", "Abuse or vulnerability themes", "Date published", "Publication link",
                        "How learning was shared")


def test_the_exports_carry_themes_publication_and_how_learning_was_shared(tracker_office: Office, tmp_path: Path) -> None:
    late, done = seeded(tracker_office)
    with pytest.raises(store.NotAtThisStep):  # awaiting screening: no review to publish
        actions.record_publication(tracker_office, late, PUBLISHED, now=at(12, 12), actor="administrator")
    actions.record_publication(tracker_office, done, PUBLISHED, now=at(12, 12), actor="administrator")
    now = at(12, 12, 12)
    rows = current_tracker(tracker_office, now=now)

    sheet = load_workbook(write_tracker_xlsx(rows, tmp_path / "tracker.xlsx", now=now)).active
    headings = [c.value for c in sheet[1]]
    assert all(h in headings for h in PUBLICATION_HEADINGS) and headings[-1] == "Overdue"
    by_reference = {r[0].value: {h: c for h, c in zip(headings, r)} for r in sheet.iter_rows(min_row=2)}
    published = by_reference[done]
    assert published["Date published"].is_date and published["Date published"].value.date() == date(2026, 12, 11)
    assert published["Publication link"].value == PUBLISHED.link
    assert published["Abuse or vulnerability themes"].value == "neglect; non-accidental injury"
    assert published["How learning was shared"].value == "Practitioner briefings; 7-minute briefing"
    assert published["Review type"].value == "Serious Case Review" and published["Converted from"].value is None
    assert by_reference[late]["Date published"].value is None

    lines = tracker_csv(rows).splitlines()
    assert all(h in lines[0] for h in PUBLICATION_HEADINGS)
    [line] = [line for line in lines if line.startswith(done)]
    assert "2026-12-11" in line and PUBLISHED.link in line and "neglect; non-accidental injury" in line
    records = {r["reference"]: r for r in json.loads(tracker_json(rows))}
    assert (records[done]["published_on"], records[done]["publication_link"]) == ("2026-12-11", PUBLISHED.link)
    assert records[done]["themes"] == "neglect; non-accidental injury" and records[late]["published_on"] is None
    with tracker_office.sessions() as session:
        [event] = [e for e in store.audit_trail(session, reference=done) if e.action == "review published"]
        assert event.actor == "administrator" and event.detail["published_on"] == "2026-12-11"


@pytest.mark.parametrize("tracker_office", ["wt2023"], indirect=True)
def test_cig_review_publish_meets_the_wt2023_publication_deadline(
    tracker_office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cli import main as cig
    from cli import subcommands

    office = tracker_office
    reference = actions.submit_referral(office, referral(), now=at(11, 18), actor="HEALTH").reference
    actions.record_screening(office, reference, ACCEPT, now=at(11, 18, 11), actor="cig chair")
    row = row_of(office, reference, at(11, 18, 12))
    assert (row.regime, row.review_type, row.converted_from) == ("wt2023", "rapid review", None)

    actions.list_and_request_information(office, reference, now=at(11, 19))
    for code in AGENCIES:
        actions.record_return(office, reference, returned(code), now=at(11, 24), actor="administrator")
    # the case's own rapid review meeting (Monday 30 November, inside its 15 working days), not the monthly one
    actions.record_recommendation(office, reference, RECOMMEND_SCR, now=at(11, 30, 12), actor="cig chair")
    actions.record_decision(office, reference, DECIDE_SCR, now=at(12, 2), actor="independent chair")
    actions.record_panel_notification(office, reference, PanelNotificationForm(
        notified_on=date(2026, 11, 18), notified_by="Dana Director", panel_reference="SIN-0001"),
        now=at(11, 18, 12), actor="administrator")
    mark_sent(office, reference, {"rapid_review_notice": at(12, 2, 11)})
    actions.finish_case(office, reference, now=at(12, 2, 12))
    row = row_of(office, reference, at(12, 3))
    assert row.review_type == "local child safeguarding practice review (LCSPR)" and row.converted_from == "rapid review"
    assert row.next_deadline.startswith("LCSPR final report published") and row.next_deadline_on == date(2027, 6, 2)
    assert row.published_on is None and not row.overdue
    assert row_of(office, reference, at(6, 10, year=2027)).breach_flags.startswith("LCSPR final report published")

    monkeypatch.setattr(subcommands, "clock", lambda: at(5, 28, year=2027))
    runner = CliRunner()
    arguments = ["review", "publish", reference, "--on", "2027-05-27", "--link", "https://northshire-scp.example.org/lcspr/7",
                 "--learning-shared", "7-minute briefing; practitioner seminars", "--themes", "neglect; domestic abuse",
                 "--themes", "parental mental health", "--json"]
    # a publication that names the child is refused, naming the field and not the child, and nothing is recorded
    naming = runner.invoke(cig.app, ["review", "publish", reference, "--on", "2027-05-27", "--link", "https://example.org/r",
                                     "--learning-shared", f"Briefing on {CHILD_NAME}"])
    assert isinstance(naming.exception, ValueError) and not isinstance(naming.exception, store.AlreadyRecorded)
    assert str(naming.exception).startswith("learning_shared:") and CHILD_NAME.split()[0] not in str(naming.exception)
    assert row_of(office, reference, at(5, 28, year=2027)).published_on is None

    result = runner.invoke(cig.app, arguments)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["themes"] == ["neglect", "domestic abuse", "parental mental health"]

    row = row_of(office, reference, at(6, 10, year=2027))
    assert (row.published_on, row.publication_link) == (date(2027, 5, 27), "https://northshire-scp.example.org/lcspr/7")
    assert row.themes == "neglect; domestic abuse; parental mental health"
    assert row.learning_shared == "7-minute briefing; practitioner seminars"
    assert not row.overdue and row.next_deadline is None  # the publication deadline is met, never a breach
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        [publication] = [d for d in case.deadlines if d.kind == "publication"]
        assert publication.met_at == office.calendar.end_of_day(date(2027, 5, 27)) <= publication.due_at
        assert [e.actor for e in store.audit_trail(session, reference=reference) if e.action == "review published"] \
            == ["cig review publish"]

    again = runner.invoke(cig.app, arguments)
    assert isinstance(again.exception, store.AlreadyRecorded)
    assert CHILD_NAME not in repr(current_tracker(office, now=at(6, 10, year=2027)))
