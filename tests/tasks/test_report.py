"""The monthly performance report on a seeded month with known answers.

November 2026 (Working Together 2015: the decision is due one month from notification):
- 7 cases notified 20 Oct, decided 10 Nov (in time); 3 notified 25 Sep, decided 12 Nov (late):
  10 decisions, 7 within the month -> 70%;
- Ofsted notices: 8 sent the day of the decision, 2 six days later (due the next working day) -> 80%;
  Panel notices all within 14 days -> 100%;
- the 3 late cases were listed on 2 Nov, their returns due 9 Nov: CSC and HEALTH returned on
  5 Nov, POL on 11 Nov -> POL 0 of 3, CSC 3 of 3, HEALTH 3 of 3;
- 2 referrals in November: one declined, one still awaiting screening past its decision deadline
  of 15 Nov -> one open breach, 16 days overdue on 1 Dec.
Cases are built through casework.referral.actions with explicit times on a SQLite file under tmp_path.
(The managers' email as the real SMTP server receives it: tests/tasks/test_report_email.py.)
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import yaml

import casework.store
from casework.referral import actions
from casework.meetings import rescheduling
from casework.forms import AgencyReturnForm, DecisionForm, RecommendationForm, ReferralForm, ScreeningForm
from casework.office import Office, open_office
from casework.oversight.report import last_month, monthly_report, report_markdown
from casework.oversight.publication import build_monthly_report, publish_monthly_report
from casework.store import cases as store
from casework.store.tables import OutboxMessage
from config.settings import CONFIG_DIR

EXAMPLE_REFERRAL = Path(__file__).resolve().parents[2] / "examples" / "referral.yaml"
CHILD_NAME = "Robin Testchild"
CHILD_BORN = "2026-07-03"
AGENCIES = ("POL", "CSC", "HEALTH")
NOVEMBER = date(2026, 11, 1)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def report_office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    """The example partnership with three agencies, on its own SQLite file (one per module: seeding is slow)."""
    tmp_path = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in ("CIG_DATABASE_URL", "CIG_DATA_KEYS", "CIG_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        data = yaml.safe_load((CONFIG_DIR / "partnership.example.yaml").read_text())
        data["agencies"] = [a for a in data["agencies"] if a["code"] in AGENCIES]
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


def referral(notified_on: date) -> ReferralForm:
    data = yaml.safe_load(EXAMPLE_REFERRAL.read_text(encoding="utf-8"))
    data.update(notified_on=notified_on, completed_on=notified_on)
    data["route"]["reviewed_with_safeguarding_lead_on"] = notified_on
    return ReferralForm.model_validate(data, context={"today": date(2026, 12, 31)})


ACCEPT = ScreeningForm(outcome="accept", decided_by="Casey Chair", independent_chair_consulted=True)
DECLINE = ScreeningForm(outcome="decline", reason="Not a serious incident.", decided_by="Casey Chair",
                        independent_chair_consulted=True)
RECOMMEND = RecommendationForm(outcome="scr", rationale="Criteria met.")
DECIDE = DecisionForm(response="affirm", decision="scr", rationale="Criteria met.", decided_by="Indra Independent",
                      lead_reviewers=["Rey Reviewer"])


def returned(code: str) -> AgencyReturnForm:
    return AgencyReturnForm(agency=code, status="returned", involvement=f"{code} involvement in outline.")


def decided_case(
    office: Office, *, notified_on: date, referred: datetime, screened: datetime, listed: datetime,
    returns: dict[str, datetime], recommended: datetime, decided: datetime, ofsted_sent: datetime, panel_sent: datetime,
) -> str:
    reference = actions.submit_referral(office, referral(notified_on), now=referred, actor="HEALTH").reference
    actions.record_screening(office, reference, ACCEPT, now=screened, actor="cig chair")
    actions.list_and_request_information(office, reference, now=listed)
    for code, moment in returns.items():
        actions.record_return(office, reference, returned(code), now=moment, actor="administrator")
    with office.sessions() as session:
        listed_for = store.get_case(session, reference=reference).meeting_at
    if listed_for is not None and listed_for > recommended:  # the group met extraordinarily, before its monthly meeting
        rescheduling.add_meeting(office, recommended, now=recommended, reason="a further date to meet set",
                                 actor="administrator", relist_cases=[reference])
    actions.record_recommendation(office, reference, RECOMMEND, now=recommended, actor="cig chair")
    actions.record_decision(office, reference, DECIDE, now=decided, actor="independent chair")
    with office.sessions.begin() as session:  # what delivery records when each notice goes out
        case = store.get_case(session, reference=reference)
        for message in store.messages_for(session, case_id=case.id):
            sent = {"ofsted_notice": ofsted_sent, "panel_notice": panel_sent}.get(message.kind)
            if sent:
                message.status, message.sent_at = "sent", sent
    actions.finish_case(office, reference, now=max(ofsted_sent, panel_sent))
    return reference


@pytest.fixture(scope="module")
def november(report_office: Office) -> dict[str, list[str]]:
    office = report_office
    in_time, late = [], []
    for n in range(7):
        ofsted = at(11, 16, 12) if n < 2 else at(11, 10, 12)
        in_time.append(decided_case(
            office, notified_on=date(2026, 10, 20), referred=at(10, 21), screened=at(10, 21, 11), listed=at(10, 22),
            returns={c: at(10, 27) for c in AGENCIES}, recommended=at(11, 3), decided=at(11, 10),
            ofsted_sent=ofsted, panel_sent=at(11, 10, 12),
        ))
    for n in range(3):
        late.append(decided_case(
            office, notified_on=date(2026, 9, 25), referred=at(9, 26), screened=at(11, 1), listed=at(11, 2),
            returns={"CSC": at(11, 5), "HEALTH": at(11, 5), "POL": at(11, 11)}, recommended=at(11, 11),
            decided=at(11, 12), ofsted_sent=at(11, 12, 12), panel_sent=at(11, 20),
        ))
    declined = actions.submit_referral(office, referral(date(2026, 11, 18)), now=at(11, 19), actor="POL").reference
    actions.record_screening(office, declined, DECLINE, now=at(11, 20), actor="cig chair")
    waiting = actions.submit_referral(office, referral(date(2026, 10, 15)), now=at(11, 16), actor="CSC").reference
    return {"in_time": in_time, "late": late, "declined": [declined], "waiting": [waiting]}


def test_the_report_on_a_seeded_month_has_the_known_answers(report_office: Office, november: dict[str, list[str]]) -> None:
    report = build_monthly_report(report_office, NOVEMBER, now=at(12, 5))
    assert report.as_of == datetime(2026, 12, 1, tzinfo=timezone.utc)  # midnight in London (GMT)
    assert (report.referred, report.accepted, report.declined, report.decided) == (2, 3, 1, 10)
    assert (report.decisions_in_time.count, report.decisions_in_time.of, report.decisions_in_time.percent) == (7, 10, 70.0)
    assert str(report.decisions_in_time) == "7 of 10 (70%)"
    assert report.ofsted_notices_on_time.percent == 80.0
    assert report.panel_notices_on_time.percent == 100.0
    returns = {a.agency: (a.on_time.count, a.on_time.of) for a in report.returns_by_agency}
    assert returns == {"CSC": (3, 3), "HEALTH": (3, 3), "POL": (0, 3)}
    stages = {s.stage: (s.median_days, s.cases) for s in report.stage_times}
    assert stages["decision"] == (7.0, 10)  # seven took 7 days, three took 1
    assert stages["screening"] == (36.0, 4)  # three screened 1 Nov after 36 days, one declined after 1
    assert [(b.reference, b.due_on, b.days_overdue) for b in report.open_breaches] == [
        (november["waiting"][0], date(2026, 11, 15), 16)
    ]

    text = report_markdown(report, chart="monthly-report-2026-11.png")
    assert text.startswith("# Case review performance, November 2026")
    for line in ("| decisions within the deadline | 7 of 10 (70%) |", "| Ofsted notices on time | 8 of 10 (80%) |",
                 "| POL | 0 of 3 (0%) |", "| open breaches at the end of the month | 1 |",
                 "![Performance, November 2026](monthly-report-2026-11.png)"):
        assert line in text, line


def test_the_month_is_counted_as_it_stood_at_its_end(report_office: Office, november: dict[str, list[str]]) -> None:
    october = build_monthly_report(report_office, date(2026, 10, 1), now=at(12, 5))
    assert (october.referred, october.accepted, october.decided) == (7, 7, 0)
    assert october.decisions_in_time.of == 0 and str(october.decisions_in_time) == "none this month"
    # at the end of October the three September cases had passed their decision deadline (25 Oct)
    assert sorted({b.reference for b in october.open_breaches}) == sorted(november["late"])
    assert last_month(at(12, 5), report_office.calendar) == NOVEMBER
    assert last_month(datetime(2027, 1, 4, tzinfo=timezone.utc), report_office.calendar) == date(2026, 12, 1)


def test_publishing_writes_the_files_and_emails_the_managers_once(
    report_office: Office, november: dict[str, list[str]]
) -> None:
    published = publish_monthly_report(report_office, NOVEMBER, now=at(12, 5))
    assert published.markdown_path.read_text() == published.markdown
    assert published.chart_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert published.markdown_path.parent == report_office.settings.papers_dir / "reports"
    again = publish_monthly_report(report_office, NOVEMBER, now=at(12, 6))
    assert again.queued == 0  # the same month is emailed once (one email below)
    with report_office.sessions() as session:
        [email] = session.query(OutboxMessage).filter(OutboxMessage.kind == "monthly_report").all()
        assert email.recipient == "managers@example.org"
        assert email.subject == "Case review performance, November 2026"
        assert "decisions within the deadline: 7 of 10 (70%)" in email.body["text"]
        assert "7 of 10 (70%)" in email.body["html"]
        assert email.body["attachments"][0]["filename"] == "monthly-report-2026-11.md"
        chart = email.body["attachments"][1]
        assert (chart["filename"], chart["content_type"], chart["encoding"]) == ("monthly-report-2026-11.png", "image/png", "base64")
        assert base64.b64decode(chart["content"]) == published.chart_path.read_bytes()


def test_the_artifact_carries_the_chart_inline_and_the_file_links_it(
    report_office: Office, november: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks import reports

    published = publish_monthly_report(report_office, NOVEMBER, now=at(12, 5), email=False)
    [uri] = re.findall(r"!\[Performance, November 2026\]\((data:image/png;base64,[A-Za-z0-9+/=]+)\)", published.artifact_markdown)
    assert base64.b64decode(uri.removeprefix("data:image/png;base64,")) == published.chart_path.read_bytes()
    assert published.chart_path.read_bytes().startswith(PNG_SIGNATURE)  # the file stays on disk
    assert "](monthly-report-2026-11.png)" in published.markdown_path.read_text() and "data:" not in published.markdown
    assert published.artifact_markdown.replace(f"]({uri})", "](monthly-report-2026-11.png)") == published.markdown

    made: list[dict[str, object]] = []

    async def keep(**artifact: object) -> None:
        made.append(artifact)

    monkeypatch.setattr(reports, "acreate_markdown_artifact", keep)
    asyncio.run(reports.publish_report_artifact.fn(NOVEMBER, published.artifact_markdown))
    [artifact] = made
    assert artifact["key"] == "monthly-report-2026-11" and "data:image/png;base64," in str(artifact["markdown"])


def test_the_report_and_its_email_never_hold_the_childs_name_or_date_of_birth(
    report_office: Office, november: dict[str, list[str]]
) -> None:
    published = publish_monthly_report(report_office, NOVEMBER, now=at(12, 5))
    with report_office.sessions() as session:
        email = session.query(OutboxMessage).filter(OutboxMessage.kind == "monthly_report").one()
        texts = [published.markdown, email.subject, email.body["text"], email.body["html"], repr(published.report)]
        assert store.get_case(session, reference=november["waiting"][0]).personal["child"]["name"] == CHILD_NAME
    for text in texts:
        for word in (CHILD_NAME, "Testchild", CHILD_BORN, "Jordan Testparent"):
            assert word not in text


def test_an_empty_month_reads_plainly(report_office: Office) -> None:
    report = monthly_report([], month=NOVEMBER, now=at(12, 5), calendar=report_office.calendar)
    text = report_markdown(report)
    assert "| decided | 0 |" in text and "No returns were due this month." in text and "None: every deadline" in text


def test_the_monthly_report_is_deployed_for_the_first_working_day_of_each_month() -> None:
    from dateutil.rrule import rrulestr

    project = Path(__file__).resolve().parents[2]
    config = yaml.safe_load((project / "prefect.yaml").read_text())
    [deployment] = [d for d in config["deployments"] if d["name"] == "monthly-report"]
    assert deployment["entrypoint"] == "flows/report.py:monthly_report"
    [schedule] = deployment["schedules"]
    assert schedule["timezone"] == "Europe/London" and schedule["parameters"] == {"only_on_first_working_day": True}
    rule = rrulestr(schedule["rrule"], dtstart=datetime(2026, 12, 1))
    fires = [d.date() for d in rule[:6]]
    assert fires == [date(2026, 12, d) for d in (1, 2, 3, 4, 7)] + [date(2027, 1, 1)] and rule[0].hour == 8


def test_the_report_runs_on_the_first_working_day_only(report_office: Office) -> None:
    from flows.report import first_working_day

    calendar = report_office.calendar
    assert first_working_day(date(2027, 1, 1), calendar) == date(2027, 1, 4)  # New Year's Day, then a weekend
    assert first_working_day(date(2026, 11, 20), calendar) == date(2026, 11, 2)  # 1 Nov 2026 is a Sunday
    assert first_working_day(date(2026, 12, 9), calendar) == date(2026, 12, 1)


def test_cig_report_prints_writes_and_speaks_json(report_office: Office, november: dict[str, list[str]]) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    result = CliRunner().invoke(app, ["report", "--month", "2026-11", "--no-email", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["month"] == "2026-11" and printed["email"] == "not emailed"
    assert Path(printed["markdown_path"]).read_text().startswith("# ") and Path(printed["chart_path"]).suffix == ".png"
    result = CliRunner().invoke(app, ["report", "--month", "2026-13"])
    assert result.exit_code != 0 and "--month: '2026-13' is not a month as YYYY-MM" in str(result.exception)


def test_an_empty_month_draws_its_days_axis_from_zero_with_a_note(report_office: Office) -> None:
    from casework.oversight.report import report_chart, report_chart_png

    report = monthly_report([], month=NOVEMBER, now=at(12, 5), calendar=report_office.calendar)
    on_time, days = report_chart(report).axes
    assert days.get_title() == "Days per stage" and days.get_xlim() == (0.0, 1.0)  # not -0.04 to 0.04
    assert [t.get_text() for t in days.texts] == ["no stage ended this month"]
    assert on_time.get_xlim() == (0.0, 100.0)
    assert report_chart_png(report).startswith(PNG_SIGNATURE)


def test_a_month_with_stage_times_draws_them_from_zero(report_office: Office) -> None:
    from dataclasses import replace

    from casework.oversight.report import StageTime, report_chart

    empty = monthly_report([], month=NOVEMBER, now=at(12, 5), calendar=report_office.calendar)
    report = replace(empty, stage_times=(StageTime("screening", 1.5, 2), StageTime("returns", 6.0, 2)))
    days = report_chart(report).axes[1]
    assert days.get_xlim()[0] == 0 and days.get_xlim()[1] >= 6.0 and not days.texts


def test_a_month_whose_stages_ended_the_day_they_began_never_says_no_cases(report_office: Office) -> None:
    from dataclasses import replace

    from casework.oversight.report import StageTime, report_chart

    empty = monthly_report([], month=NOVEMBER, now=at(12, 5), calendar=report_office.calendar)
    report = replace(empty, referred=2, stage_times=(StageTime("screening", 0.0, 2), StageTime("returns", None, 0)))
    days = report_chart(report).axes[1]
    assert days.get_xlim() == (0.0, 1.0)
    assert [t.get_text() for t in days.texts] == ["each stage ended the day it began (median)"]


def test_cig_report_says_when_no_prefect_api_is_set(report_office: Office) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from typer.testing import CliRunner

    from cli.main import app

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        result = CliRunner().invoke(app, ["report", "--month", "2026-11", "--no-email", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["artifact"] == (
        "not published as the Prefect artifact monthly-report-2026-11: no Prefect API is set (PREFECT_API_URL; `make up` prints it)")
