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
    from datetime import datetime
    from pathlib import Path

    import yaml
    from dateutil.rrule import rrulestr

    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "prefect.yaml").read_text())
    [deployment] = [d for d in config["deployments"] if d["name"] == "annual-report"]
    assert deployment["entrypoint"] == "flows/annual_report.py:annual_report"
    [schedule] = deployment["schedules"]
    rule = rrulestr(schedule["rrule"], dtstart=datetime(2026, 12, 1))
    assert [d.date() for d in rule[:2]] == [date(2027, 1, 15), date(2028, 1, 15)] and rule[0].hour == 8
