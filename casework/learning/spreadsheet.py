"""An action plan from a spreadsheet (.xlsx with a header row), all or nothing: every row is validated
as an ActionForm, and the file is refused whole, naming each bad row and column, if any row is bad.

Pure: bytes in, forms out (or a PlanImportRefused naming what is wrong). Needs openpyxl.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Sequence
from datetime import date, datetime

from pydantic import ValidationError

from casework.cells import append_row
from casework.learning.forms import ActionForm

# the header a plan's spreadsheet has (case and spacing of the header cells do not matter)
COLUMNS = {"plan": "plan", "finding": "finding", "action": "action", "agency": "agency", "lead name": "lead_name",
           "lead email": "lead_email", "target date": "target_on", "evidence of impact": "evidence_of_impact"}
MAX_ROWS = 500


class PlanImportRefused(ValueError):
    """The spreadsheet is refused whole; `problems` names each row (as the spreadsheet numbers it) and column."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("the spreadsheet was refused, nothing was imported:\n  " + "\n  ".join(self.problems))


def _header(cell: object) -> str:
    return " ".join(str(cell or "").replace("_", " ").lower().split())


def read_plan(content: bytes, *, today: date, agencies: Collection[str] | None = None) -> list[ActionForm]:
    """The actions of the spreadsheet's first sheet, or PlanImportRefused naming every bad row and column
    (an agency not among `agencies`, the partnership's codes, too)."""
    from openpyxl import load_workbook  # (imported here: `cig` starts faster without it)
    from openpyxl.utils import get_column_letter

    try:
        sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise PlanImportRefused([f"not an .xlsx workbook ({type(exc).__name__})"]) from None
    rows = list(sheet.iter_rows(values_only=True))
    if not rows:
        raise PlanImportRefused(["the sheet is empty: it needs a header row"])
    header = [_header(c) for c in rows[0]]
    problems = [f"row 1: no column '{name}' in the header" for name in COLUMNS if name not in header]
    if problems:
        raise PlanImportRefused(problems)
    where = {COLUMNS[name]: header.index(name) for name in COLUMNS}
    forms: list[ActionForm] = []
    body = [(n, r) for n, r in enumerate(rows[1:], start=2) if any(c not in (None, "") for c in r)]
    if not body:
        raise PlanImportRefused(["no actions below the header row"])
    if len(body) > MAX_ROWS:
        raise PlanImportRefused([f"{len(body)} actions: at most {MAX_ROWS} in one file"])
    for number, row in body:
        data = {}
        for field, index in where.items():
            value = row[index] if index < len(row) else None
            if isinstance(value, datetime):
                value = value.date()
            if value not in (None, ""):
                data[field] = value if isinstance(value, date) else str(value)
        try:
            form = ActionForm.model_validate(data, context={"today": today})
            if agencies is not None and form.agency not in agencies:
                column = get_column_letter(where["agency"] + 1)
                problems.append(f"row {number}, column {column} ({rows[0][where['agency']]}): unknown agency code "
                                f"'{form.agency}': the partnership's agencies are {', '.join(sorted(agencies))}")
            forms.append(form)
        except ValidationError as refused:
            for problem in refused.errors():
                field = str(problem["loc"][0]) if problem["loc"] else ""
                message = problem["msg"].removeprefix("Value error, ")
                if field in where:
                    column = get_column_letter(where[field] + 1)
                    problems.append(f"row {number}, column {column} ({rows[0][where[field]]}): {message}")
                else:
                    problems.append(f"row {number}: {message}")
    if problems:
        raise PlanImportRefused(problems)
    return forms


def plan_template() -> bytes:
    """A blank plan spreadsheet with the header row (`cig action template`), as text cells."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Action plan"
    append_row(sheet, [name.capitalize() for name in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
