"""Text that a person typed, placed in a cell someone else opens: a workbook cell, a CSV field, a
markdown table cell of a Prefect artifact. Each reads as typed and does nothing else.

- A workbook cell holding text is a text cell, whatever the text starts with: openpyxl otherwise
  stores a string starting with "=" as a live formula (`=HYPERLINK(...)` typed as a lead reviewer
  became a link in the tracker) and one such as "#N/A" as an error value.
- A CSV has no cell types, so a text field starting with "=", "+", "-", "@", a tab or a carriage
  return, which a spreadsheet would run as a formula, is prefixed with a single quote (the OWASP
  guidance on CSV injection). Numbers and dates are not text and stay as they are (-3 days left);
  the one character "-" (the tracker's "no returns asked yet") is no formula and stays too.
- A markdown table cell holds one line with no "|" of its own and no HTML: a pipe, a tag or an
  image typed into a form cannot split the table or draw markup in the Prefect UI (they are
  backslash-escaped, which markdown shows as the characters and never reads as its syntax).

Pure; needs openpyxl only to be handed a worksheet.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def append_row(sheet: Worksheet, values: Iterable[object]) -> None:
    """Append a row to the sheet, every string in it a text cell (never a formula or an error value);
    numbers, dates and empty cells as openpyxl types them."""
    sheet.append(list(values))
    for item in sheet[sheet.max_row]:
        if isinstance(item.value, str):
            item.data_type = "s"


def csv_field(value: object) -> object:
    """The value as a CSV field that no spreadsheet runs as a formula: text starting with one of
    `FORMULA_STARTS` and going on after it gets a leading single quote; anything not text is
    returned unchanged."""
    if isinstance(value, str) and len(value) > 1 and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


MARKDOWN_SYNTAX = frozenset("\\`*_[]<>&|~!")  # a table's "|", HTML, code spans, links and images, emphasis


def markdown_cell(text: str) -> str:
    """`text` for one cell of a markdown table (or a line of markdown): on one line, each character
    markdown could read as syntax backslash-escaped, so a "|" cannot end the cell, a tag draws no HTML,
    an image loads nothing and the text reads as typed (in the Prefect UI, whose renderer decodes
    only a few character references, as on the website)."""
    one_line = " ".join(text.split())
    return "".join("\\" + character if character in MARKDOWN_SYNTAX else character for character in one_line)
