"""The annual report section on a seeded year with known figures: 12 actions due in 2026, 9 done on time (75%),
reviews commissioned, completed and published, each clock's timeliness, themes and dissemination; the Word
document read back."""

from __future__ import annotations

import io
from datetime import date, timedelta

from docx import Document

from casework.learning.annual import (
    ActionFacts, ClockFacts, ReviewFacts, annual_chart_png, annual_docx, annual_markdown, annual_report,
)

REVIEWS = [
    ReviewFacts("NSCP-2025-0007", "Serious Case Review", date(2025, 10, 1), date(2026, 3, 2), date(2026, 4, 1), ("neglect",)),
    ReviewFacts("NSCP-2026-0002", "critical case review", date(2026, 2, 1), date(2026, 9, 1), None, ("neglect", "domestic abuse")),
    ReviewFacts("NSCP-2026-0005", "Serious Case Review", date(2026, 6, 1), None, None, ()),
]
CLOCKS = [ClockFacts("decision", date(2026, 1, 10), date(2026, 1, 9)), ClockFacts("decision", date(2026, 5, 1), date(2026, 5, 3)),
          ClockFacts("panel_notice", date(2026, 2, 14), date(2026, 2, 14)), ClockFacts("decision", date(2025, 12, 1), None)]


def _actions() -> list[ActionFacts]:
    target = date(2026, 6, 30)
    on_time = [ActionFacts("CSC" if n < 5 else "HEALTH", target, "done", target - timedelta(days=n)) for n in range(9)]
    late = [ActionFacts("POL", target, "done", target + timedelta(days=5))]
    overdue = [ActionFacts("POL", target, "open", None), ActionFacts("CSC", date(2026, 11, 30), "open", None)]
    other = [ActionFacts("CSC", date(2027, 3, 1), "open", None), ActionFacts("EDU", date(2026, 8, 1), "dropped", None)]
    return on_time + late + overdue + other


def test_a_seeded_year_gives_its_known_figures() -> None:
    report = annual_report(2026, today=date(2027, 1, 5), reviews=REVIEWS, clocks=CLOCKS, actions=_actions(),
                           disseminations=[("learning_brief", date(2026, 5, 1)), ("training", date(2026, 6, 1)),
                                           ("training", date(2026, 7, 1)), ("newsletter", date(2025, 7, 1))])
    assert report.commissioned == ("NSCP-2026-0002", "NSCP-2026-0005")
    assert (report.completed, report.published) == (("NSCP-2025-0007", "NSCP-2026-0002"), ("NSCP-2025-0007",))
    assert (report.actions_on_time.count, report.actions_on_time.of, report.actions_on_time.percent) == (9, 12, 75.0)
    assert [(a.agency, a.due, a.on_time, a.late, a.overdue) for a in report.actions_by_agency] == [
        ("CSC", 6, 5, 0, 1), ("HEALTH", 4, 4, 0, 0), ("POL", 2, 0, 1, 1)]
    assert report.dropped == 1
    assert [(k, str(s)) for k, s in report.clocks] == [("decision", "1 of 2 (50%)"), ("panel_notice", "1 of 1 (100%)")]
    assert report.themes == (("neglect", 2), ("domestic abuse", 1))
    assert report.dissemination == (("learning_brief", 1), ("training", 2))

    markdown = annual_markdown(report, partnership="Northshire", chart="annual-report-2026.png")
    assert "Actions due in the year done on time: 9 of 12 (75%)." in markdown
    assert "| POL | 2 | 0 | 1 | 1 | 0 | 1 |" in markdown
    chart = annual_chart_png(report)
    assert chart.startswith(b"\x89PNG")
    document = Document(io.BytesIO(annual_docx(report, partnership="Northshire", chart=chart)))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Actions due in the year done on time: 9 of 12 (75%)." in text and "neglect: 2" in text
    assert [c.text for c in document.tables[1].rows[3].cells] == ["POL", "2", "0", "1", "1", "0", "1"]
    assert len(document.inline_shapes) == 1  # the chart


def test_the_annual_report_is_scheduled_after_the_year_end_from_prefect_yaml() -> None:
    """prefect.yaml's schedule fires on the 15th of each month at 08:00; its runs write only in the month after
    the year ends: each 15 January for wt2015's calendar year, each 15 April for wt2023's April to March, and
    in the month a partnership file names as its period's first (no schedule to edit)."""
    from datetime import datetime
    from pathlib import Path

    import yaml
    from dateutil.rrule import rrulestr

    from config.partnership import load_partnership
    from config.settings import CONFIG_DIR
    from flows.annual_report import year_just_ended

    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "prefect.yaml").read_text())
    [deployment] = [d for d in config["deployments"] if d["name"] == "annual-report"]
    assert deployment["entrypoint"] == "flows/annual_report.py:annual_report"
    [schedule] = deployment["schedules"]
    assert schedule["parameters"] == {"scheduled": True}
    fires = list(rrulestr(schedule["rrule"], dtstart=datetime(2026, 12, 1))[:25])
    assert {(d.day, d.hour, d.minute) for d in fires} == {(15, 8, 0)} and len({(d.year, d.month) for d in fires}) == 25

    def writes(partnership) -> list[date]:  # type: ignore[no-untyped-def]
        return [d.date() for d in fires if year_just_ended(partnership, d.date())]

    wt2015 = load_partnership(CONFIG_DIR / "partnership.example.yaml")
    wt2023 = load_partnership(CONFIG_DIR / "partnership.wt2023.example.yaml")
    assert writes(wt2015) == [date(2027, 1, 15), date(2028, 1, 15)]
    assert writes(wt2023) == [date(2027, 4, 15), date(2028, 4, 15)]
    assert writes(wt2023.model_copy(update={"yearly_report_starts_month": 9})) == [date(2027, 9, 15), date(2028, 9, 15)]


# --- the safeguarding partners' yearly report (wt2023) -----------------------------------------------------

def _yearly(texts: bool = True):  # type: ignore[no-untyped-def]
    from casework.clocks import report_period_containing
    from casework.learning.yearly import ActionDone, ReviewClock, YearlyReview, YearlyTexts, yearly_report

    period = report_period_containing(date(2026, 9, 1), 4)
    reviews = [
        YearlyReview("SSCP-2026-0002", "local child safeguarding practice review (LCSPR)", date(2026, 5, 4), None,
                     None, (ReviewClock("rapid review sent to the Panel", date(2026, 5, 20), date(2026, 5, 19)),
                            ReviewClock("LCSPR final report published", date(2026, 11, 4), None))),
        YearlyReview("SSCP-2025-0009", "rapid review", date(2025, 12, 1), date(2026, 4, 20), date(2026, 6, 1),
                     (ReviewClock("serious incident notification", date(2025, 11, 20), date(2025, 11, 24)),)),
        YearlyReview("SSCP-2024-0001", "rapid review", date(2024, 5, 1), None, date(2025, 1, 2)),  # outside
    ]
    actions = [ActionDone("SSCP-2025-0009", "CSC", "Triage records who lives in the home", date(2026, 8, 3),
                          "Audit: 18 of 20 records name every adult"),
               ActionDone("SSCP-2025-0009", "POL", "Briefing on coercive control", date(2026, 3, 30), "Before")]
    written = YearlyTexts("We met monthly.", None, "Arrangements were effective.", "The scrutineer found X.",
                          "Young people reviewed the strategy.") if texts else None
    return yearly_report(period, today=date(2027, 5, 10), reviews=reviews, actions=actions, texts=written)


def test_the_yearly_reports_period_runs_from_the_partnerships_first_month() -> None:
    from casework.clocks import last_complete_report_period, report_period_containing

    april = report_period_containing(date(2027, 2, 14), 4)
    assert (april.first_day, april.last_day, april.title) == (date(2026, 4, 1), date(2027, 3, 31),
                                                              "April 2026 to March 2027")
    september = report_period_containing(date(2027, 2, 14), 9)
    assert (september.first_day, september.last_day) == (date(2026, 9, 1), date(2027, 8, 31))
    assert last_complete_report_period(date(2027, 4, 1), 4) == april
    assert last_complete_report_period(date(2027, 3, 31), 4).first_day == date(2025, 4, 1)
    report = _yearly()
    assert report.commissioned == ("SSCP-2026-0002",)
    assert (report.completed, report.published) == (("SSCP-2025-0009",), ("SSCP-2025-0009",))
    assert [a.agency for a in report.actions_done] == ["CSC"]  # the POL action was done before the period
    assert report.as_of == date(2027, 3, 31)


def test_the_yearly_reports_sections_are_in_order_in_the_rule_sets_words() -> None:
    from casework.learning.yearly import yearly_docx, yearly_markdown
    from config.rulesets import load_ruleset, retired_word_in

    rules = load_ruleset("wt2023")
    report = _yearly()
    document = Document(io.BytesIO(yearly_docx(report, partnership="Southshire", term=rules.term)))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings == [
        "Southshire: Safeguarding partners' yearly report, April 2026 to March 2027",
        "What the safeguarding partners did", "The impact of the learning", "How effective the arrangements were",
        "The findings of the independent scrutineer", "Children's and families' voice"]
    body = [p.text for p in document.paragraphs]
    assert body[body.index("How effective the arrangements were") + 1] == "Arrangements were effective."
    assert body[body.index("Children's and families' voice") + 1] == "Young people reviewed the strategy."
    clocks, actions = document.tables
    assert [c.text for c in clocks.rows[1].cells] == ["SSCP-2025-0009", "rapid review", "serious incident notification",
                                                       "20 November 2025", "24 November 2025", "met late"]
    assert [row.cells[5].text for row in clocks.rows[2:]] == ["met", "not met"]  # open after its due day
    assert [c.text for c in actions.rows[1].cells][1:] == ["CSC", "Triage records who lives in the home",
                                                            "3 August 2026", "Audit: 18 of 20 records name every adult"]
    text = "\n".join(body + [c.text for t in document.tables for r in t.rows for c in r.cells])
    markdown = yearly_markdown(report, partnership="Southshire", term=rules.term)
    for words in (text, markdown):
        assert retired_word_in(words, rules.retired_words) is None
    assert markdown.index("## What the safeguarding partners did") < markdown.index("## Children's and families' voice")
    unwritten = yearly_markdown(_yearly(texts=False), partnership="Southshire", term=rules.term)
    assert unwritten.count("Not written yet: The safeguarding partners write this section") == 3


def test_the_warning_that_the_published_report_has_not_gone_comes_in_the_last_days_of_its_seven() -> None:
    from datetime import datetime, timezone

    from casework.clocks import WorkingCalendar
    from casework.learning.yearly import send_warning_due
    from config.rulesets import load_ruleset

    rules = load_ruleset("wt2023")
    clock, calendar = rules.clocks[rules.yearly_report.sent_clock], WorkingCalendar.of()
    due = lambda day, sent=False: send_warning_due(date(2027, 7, 30), sent_to_all=sent,  # noqa: E731
                                                   now=datetime(2027, 8, day, 9, tzinfo=timezone.utc), clock=clock,
                                                   calendar=calendar, days_before=2)
    assert [day for day in range(2, 10) if due(day)] == [4, 5, 6, 9]  # from 4 August (send by 6 August), working days
    assert not due(5, sent=True)
