"""Text a person typed, as others open it: a workbook cell is text (never a formula), a CSV field
never starts a formula, a markdown table cell of an artifact keeps its table whole and carries no
HTML, and the meeting agenda (the `meeting-agenda-*` artifact) counts who attends, never names them.

Pure: the documents are built from plain data and read back with openpyxl, csv and markdown-it.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from openpyxl import Workbook, load_workbook

from casework.cells import append_row, csv_field, markdown_cell
from casework.learning.documents import INDEX_HEADINGS, IndexEntry, index_markdown, index_xlsx
from casework.learning.spreadsheet import plan_template
from casework.meetings.agenda import Agenda, ListedCase, agenda_markdown
from casework.meetings.calendar import Meeting

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
            "\t=1+1", "\r=1+1", "#N/A"]
# a markdown renderer as the Prefect UI's and the website's read tables, raw HTML on, so a tag would show
RENDERER = MarkdownIt("commonmark", {"html": True}).enable("table")


def table_rows(markdown: str) -> list[list[str]]:
    """The body rows of the first table in `markdown`, as rendered: each cell's text."""
    tokens = RENDERER.parse(markdown)
    rows, row, inside = [], [], False
    for token in tokens:
        if token.type == "tbody_open":
            inside = True
        elif inside and token.type == "tr_open":
            row = []
        elif inside and token.type == "inline":
            row.append("".join(child.content for child in token.children or [] if child.type == "text"))
            assert not [child for child in token.children or [] if child.type == "html_inline"], token.content
        elif inside and token.type == "tr_close":
            rows.append(row)
        elif token.type == "tbody_close":
            break
    return rows


def test_every_string_written_to_a_workbook_is_a_text_cell_that_reads_as_typed() -> None:
    book = Workbook()
    append_row(book.active, [*FORMULAS, -3, date(2026, 12, 8), None])
    out = io.BytesIO()
    book.save(out)

    [row] = load_workbook(io.BytesIO(out.getvalue())).active.iter_rows()
    assert [(c.value, c.data_type) for c in row[:len(FORMULAS)]] == [(f, "s") for f in FORMULAS]
    number, day = row[len(FORMULAS):len(FORMULAS) + 2]
    assert (number.value, number.data_type) == (-3, "n")  # numbers stay numbers
    assert day.is_date and day.value == datetime(2026, 12, 8)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as package:
        assert "<f>" not in package.read("xl/worksheets/sheet1.xml").decode()


def test_a_csv_field_that_would_start_a_formula_starts_with_a_quote_and_numbers_do_not() -> None:
    assert [csv_field(f) for f in FORMULAS[:-1]] == ["'" + f for f in FORMULAS[:-1]]
    assert csv_field("#N/A") == "#N/A"  # not a formula in a CSV
    assert [csv_field(v) for v in (-3, 2.5, date(2026, 12, 8), None, "-", "Rey Reviewer", "")] == \
        [-3, 2.5, date(2026, 12, 8), None, "-", "Rey Reviewer", ""]


@given(st.text(max_size=40))
def test_no_csv_field_reads_as_a_formula(text: str) -> None:
    written = io.StringIO()
    csv.writer(written).writerow([csv_field(text)])
    [[field]] = list(csv.reader(io.StringIO(written.getvalue())))
    assert len(field) < 2 or not field.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert field.removeprefix("'") == text or field == text


TYPED = ["a | b", "<b>bold</b>", "<script>alert('x')</script>", "x\\|y", "&amp; co", "`a | b`", "C:\\", "&#124;",
         "two\nlines", "|", "Dr O'Neil-Smith", "![x](http://evil.example/pixel.png)", "[click](javascript:alert(1))",
         "*bold* _it_ ~~gone~~", "snake_case_name", "http://evil.example", "<http://evil.example>"]


@pytest.mark.parametrize("typed", TYPED)
def test_a_markdown_table_cell_keeps_its_table_and_reads_as_typed(typed: str) -> None:
    markdown = f"| one | two |\n| --- | --- |\n| {markdown_cell(typed)} | after |\n"
    assert table_rows(markdown) == [[" ".join(typed.split()), "after"]]
    inline = [t for token in RENDERER.parse(markdown) if token.type == "inline" for t in token.children or []]
    assert {t.type for t in inline} <= {"text"}  # no link, image, emphasis, code or HTML: only text


@given(st.text(st.characters(blacklist_characters="\x00"), max_size=60))  # (markdown shows NUL as U+FFFD)
def test_any_text_stays_in_its_cell_and_reads_as_typed(typed: str) -> None:
    markdown = f"| one | two |\n| --- | --- |\n| {markdown_cell(typed)} | after |\n"
    [[shown, after]] = table_rows(markdown)
    assert (" ".join(shown.split()), after) == (" ".join(typed.split()), "after")


def entry(text: str) -> IndexEntry:
    return IndexEntry(review_type="section 11 audit", name=text, reported_on=date(2027, 9, 15), overview=text,
                      findings="Supervision | records <i>thin</i>", improvement_activity=text,
                      evidence_of_improvement="-1 of 10 not recorded")


def test_the_learning_index_workbook_holds_no_formula_and_its_artifact_table_stays_whole() -> None:
    typed = '=HYPERLINK("http://evil.example","x")'
    sheet = load_workbook(io.BytesIO(index_xlsx([entry(typed)], title="Index"))).active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert [c.value for c in sheet[2]] == ["section 11 audit", typed, "2027-09-15", typed,
                                          "Supervision | records <i>thin</i>", typed, "-1 of 10 not recorded"]

    rows = table_rows(index_markdown([entry(typed)], title="Index"))
    assert rows == [["section 11 audit", typed, "2027-09-15", typed, "Supervision | records <i>thin</i>", typed,
                     "-1 of 10 not recorded"]]
    assert len(rows[0]) == len(INDEX_HEADINGS)


def test_the_blank_action_plan_is_text_cells() -> None:
    sheet = load_workbook(io.BytesIO(plan_template())).active
    assert {c.data_type for c in sheet[1]} == {"s"}


MEETING = Meeting(date(2026, 12, 8), datetime(2026, 12, 8, 10, tzinfo=timezone.utc))


def test_the_agenda_counts_who_attends_by_agency_and_names_no_one() -> None:
    typed = ["DI Pat Police", "<b>Sergeant Example</b> | deputy"]
    agenda = Agenda("Northshire", MEETING, "Room 1", (
        ListedCase("NSCP-2026-0001", 1, "HEALTH", {"POL": "returned", "CSC": "outstanding", "HEALTH": "nil"},
                   {"POL": typed, "HEALTH": ["Dr Hale Health"]}),
        ListedCase("NSCP-2026-0002", 1, "POL", {"POL": "outstanding"}),
    ))

    markdown = agenda_markdown(agenda)

    for name in ("Pat Police", "Sergeant Example", "Hale Health", "deputy"):
        assert name not in markdown
    assert table_rows(markdown) == [["NSCP-2026-0001", "POL", "returned", "2"],
                                    ["NSCP-2026-0001", "CSC", "outstanding", "0"],
                                    ["NSCP-2026-0001", "HEALTH", "nil", "1"],
                                    ["NSCP-2026-0002", "POL", "outstanding", "0"]]
    assert "- NSCP-2026-0001: 3 attending (POL: 2, HEALTH: 1)" in markdown
    assert "- NSCP-2026-0002: no one named to attend" in markdown


def test_a_theme_typed_with_markup_reads_as_typed_in_the_annual_report() -> None:
    from casework.learning.annual import ReviewFacts, annual_markdown, annual_report

    typed = "![x](http://evil.example/pixel.png) <b>neglect</b>"
    reviews = [ReviewFacts("NSCP-2026-0002", "critical case review", date(2026, 2, 1), None, None, (typed,))]
    report = annual_report(2026, today=date(2027, 1, 5), reviews=reviews, clocks=[], actions=[], disseminations=[])

    tokens = RENDERER.parse(annual_markdown(report, partnership="Northshire"))
    [item] = [t for t in tokens if t.type == "inline" and t.content.endswith(": 1 review")]
    assert [(c.type, c.content) for c in item.children or []] == [("text", f"{typed}: 1 review")]
