"""The tracker read from the case database, and written as CSV, JSON or an Excel workbook.

Needs the office (settings, calendar and case database); no Prefect. The workbook (openpyxl)
has a header row, frozen panes (header and reference column), date cells as real dates and
overdue rows filled red, so it opens ready to use in Excel and LibreOffice.

The workbook is for people: the columns, headings and words of the `case-tracker` artifact
(`COLUMNS`), with real date cells and the next deadline's due time in local time. The CSV has the
same columns and headings but stays machine-friendly (codes such as `awaiting_decision`, dates as
YYYY-MM-DD), as JSON does with field names, for scripts and imports.

Text typed by a person stays text in both (casework.cells): a text cell in the workbook, whatever it
starts with; in the CSV, a field that would start a formula ("=", "+", "-", "@", tab, carriage
return) starts with a single quote. Numbers stay numbers ("Days left" -3 in both).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.cells import append_row, csv_field
from casework.office import Office
from casework.store import cases as store
from casework.store.tables import Case, OutboxMessage
from casework.oversight.tracker import COLUMNS, NOTICE_KINDS, TrackerRow, cell, row_record, tracker_rows, word_cell

OVERDUE_FILL = "FFC7CE"  # Excel's "light red fill" for bad values
HEADER_FILL = "DDEBF7"
DATE_FORMAT = "ddd d mmm yyyy"
TIME_FORMAT = "ddd d mmm yyyy hh:mm"


def sent_notices(session: Session) -> dict[str, dict[str, datetime]]:
    """Reference -> statutory notice kind -> when its message was sent (the first one)."""
    rows = session.execute(
        select(Case.reference, OutboxMessage.kind, OutboxMessage.sent_at)
        .join(Case, OutboxMessage.case_id == Case.id)
        .where(OutboxMessage.kind.in_(NOTICE_KINDS), OutboxMessage.status == "sent")
    ).all()
    found: dict[str, dict[str, datetime]] = {}
    for reference, kind, sent_at in rows:
        if sent_at is None:
            continue
        kinds = found.setdefault(reference, {})
        kinds[kind] = min(sent_at, kinds.get(kind, sent_at))
    return found


def current_tracker(office: Office, *, now: datetime) -> list[TrackerRow]:
    """Every case's tracker row at `now` (review types in each case's regime's words), read in one short transaction."""
    with office.sessions() as session:
        cases = store.list_cases(session)
        terms = {regime: office.rules(regime).terms for regime in {c.regime for c in cases}}
        return tracker_rows(
            cases, now=now, calendar=office.calendar, sent_notices=sent_notices(session), terms=terms
        )


def tracker_json(rows: Sequence[TrackerRow]) -> str:
    """The rows as a JSON list (dates as ISO strings)."""
    return json.dumps([row_record(r) for r in rows], indent=2)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _csv_text(value: object) -> str:
    """A CSV field: text that a spreadsheet would run as a formula quoted (numbers and dates are not text)."""
    return _text(csv_field(value))


def tracker_csv(rows: Sequence[TrackerRow]) -> str:
    """The rows as CSV with the tracker's headings, for scripts: codes, dates as YYYY-MM-DD; no field
    a spreadsheet would run as a formula."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.heading for c in COLUMNS] + ["Overdue"])
    for row in rows:
        writer.writerow([_csv_text(cell(row, c)) for c in COLUMNS] + ["yes" if row.overdue else "no"])
    return out.getvalue()


def _local(value: object) -> object:
    """A workbook cell's value: an aware time as the local wall-clock time it already carries
    (a spreadsheet cell holds no time zone)."""
    return value.replace(tzinfo=None) if isinstance(value, datetime) else value


def write_tracker_xlsx(rows: Sequence[TrackerRow], path: Path, *, now: datetime) -> Path:
    """Write the workbook to `path`: one sheet "Case tracker", header frozen, overdue rows filled;
    the artifact's columns and words, dates as date cells, the due time in local time, text as text
    cells (never a formula)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "Case tracker"
    headings = [c.heading for c in COLUMNS] + ["Overdue"]
    append_row(sheet, headings)
    header_fill = PatternFill("solid", start_color=HEADER_FILL, end_color=HEADER_FILL)
    for item in sheet[1]:
        item.font = Font(bold=True)
        item.fill = header_fill
    overdue_fill = PatternFill("solid", start_color=OVERDUE_FILL, end_color=OVERDUE_FILL)
    for number, row in enumerate(rows, start=2):
        append_row(sheet, [_local(word_cell(row, c)) for c in COLUMNS] + ["yes" if row.overdue else "no"])
        for item in sheet[number]:
            if isinstance(item.value, datetime):
                item.number_format = TIME_FORMAT
            elif isinstance(item.value, date):
                item.number_format = DATE_FORMAT
            if row.overdue:
                item.fill = overdue_fill
    widths = [max(len(h), *(len(_text(word_cell(r, c))) for r in rows)) if rows else len(h)
              for h, c in zip(headings, COLUMNS)] + [len("Overdue")]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width, 10) + 2, 60)
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = sheet.dimensions
    book.properties.title = f"Case tracker at {now.date().isoformat()}"
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path
