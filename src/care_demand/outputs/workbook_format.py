"""Cells, Excel tables and print set-up shared by every sheet of the finance workbook.

Numbers are stored as numbers with a number format and right-aligned; text is left-aligned;
a missing value is an empty cell, never text. Each data range is an Excel table (filters,
banded rows) with a unique name, and every sheet prints landscape, fitted to the page
width, with its header rows repeated on each page and a footer naming the sheet and page.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

__all__ = [
    "COUNT",
    "DATE",
    "DECIMAL",
    "GBP",
    "RATE",
    "SHARE",
    "add_table",
    "cell_value",
    "is_number",
    "print_setup",
    "round_count",
    "set_widths",
    "write_note",
]

GBP = "£#,##0"
COUNT = "#,##0"
SHARE = "0%"
RATE = "0.0%"
DECIMAL = "0.00"
DATE = "d mmm yyyy"
DATE_TIME = "d mmm yyyy hh:mm"

BOLD = Font(bold=True)
HEADING = Font(bold=True, size=14)
NOTE_FONT = Font(italic=True)
TOTAL_FILL = PatternFill("solid", fgColor="DDEBF7")
_RIGHT = Alignment(horizontal="right", vertical="top")
_LEFT = Alignment(horizontal="left", vertical="top", wrap_text=False)
_HEADER = Alignment(vertical="top", wrap_text=True)
_HEADER_RIGHT = Alignment(horizontal="right", vertical="top", wrap_text=True)
_STYLE = "TableStyleMedium2"
_MIN_WIDTH, _MAX_WIDTH, _HEADER_WIDTH = 8, 60, 28


def is_number(value: object) -> bool:
    """A value stored as a number (not a boolean)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def round_count(value: object) -> int | None:
    """A count of children as a whole number, halves rounded up (57.5 -> 58); empty if missing."""
    if value is None or pd.isna(value):
        return None
    return math.floor(float(value) + 0.5)


def cell_value(value: object) -> object:
    """A value openpyxl stores natively: numbers stay numbers, missing values stay empty."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return None if math.isnan(number) else number
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, dt.datetime | dt.date):
        return value
    if isinstance(value, str):
        return value if value != "" else None
    return str(value)


def _table_name(sheet: Worksheet, hint: str) -> str:
    """A table name unique in the workbook: letters, digits and underscores."""
    base = re.sub(r"[^A-Za-z0-9_]+", "_", hint).strip("_") or "Table"
    if not base[0].isalpha():
        base = f"T_{base}"
    base = base[:200]
    taken = {name for ws in sheet.parent.worksheets for name in ws.tables}
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    return name


def add_table(
    sheet: Worksheet,
    frame: pd.DataFrame,
    *,
    top: int = 1,
    left: int = 1,
    name: str,
    formats: Mapping[str, str] | None = None,
    total_rows: int = 0,
) -> int:
    """Write ``frame`` (headers already plain English) at ``(top, left)`` as an Excel table.

    ``formats`` maps a column to its number format; a number in any column is right-aligned
    and given its column's format. The last ``total_rows`` rows are written below the table
    (bold, shaded), outside its range, so filters and sums over the table never count them
    twice. Returns the last row written.
    """
    formats = formats or {}
    columns = [str(c) for c in frame.columns]
    numeric = {
        c
        for c in columns
        if any(is_number(cell_value(v)) for v in frame[c].tolist()) or c in formats
    }
    for j, column in enumerate(columns):
        cell = sheet.cell(row=top, column=left + j, value=column)
        cell.font = BOLD
        cell.alignment = _HEADER_RIGHT if column in numeric else _HEADER
    rows = list(frame.itertuples(index=False, name=None))
    for i, row in enumerate(rows, start=1):
        is_total = i > len(rows) - total_rows
        for j, value in enumerate(row):
            cell = sheet.cell(row=top + i, column=left + j, value=cell_value(value))
            if is_number(cell.value) or isinstance(cell.value, dt.date):
                cell.alignment = _RIGHT
                fmt = formats.get(columns[j])
                if fmt is not None:
                    cell.number_format = fmt
                elif isinstance(cell.value, dt.datetime | dt.date):
                    cell.number_format = DATE
            else:
                cell.alignment = _LEFT
            if is_total:
                cell.font = BOLD
                cell.fill = TOTAL_FILL
    data_rows = max(len(rows) - total_rows, 1)  # a table needs a row under its header
    ref = (
        f"{get_column_letter(left)}{top}:"
        f"{get_column_letter(left + len(columns) - 1)}{top + data_rows}"
    )
    table = Table(displayName=_table_name(sheet, name), ref=ref)
    table.tableStyleInfo = TableStyleInfo(name=_STYLE, showRowStripes=True)
    sheet.add_table(table)
    return top + len(rows)


def write_note(sheet: Worksheet, row: int, text: str, *, column: int = 1, bold: bool = False):
    """A line of text in one cell (italic, or bold for a heading)."""
    cell = sheet.cell(row=row, column=column, value=text)
    cell.font = BOLD if bold else NOTE_FONT
    cell.alignment = Alignment(vertical="top", wrap_text=False)
    return cell


def print_setup(sheet: Worksheet, title_rows: str | None = "1:1", freeze: str | None = "A2"):
    """Landscape A4, fitted to the page width, header rows repeated, sheet and page footer."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    if title_rows:
        sheet.print_title_rows = title_rows
    sheet.oddFooter.left.text = "&A"
    sheet.oddFooter.right.text = "Page &P of &N"
    sheet.evenFooter.left.text = "&A"
    sheet.evenFooter.right.text = "Page &P of &N"
    if freeze:
        sheet.freeze_panes = freeze


def set_widths(sheet: Worksheet, skip_rows: Sequence[int] = ()) -> None:
    """Column widths from their contents (notes in ``skip_rows`` do not widen a column)."""
    skip = set(skip_rows)
    widths: dict[int, int] = {}
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is None or cell.row in skip:
                continue
            if is_number(cell.value):
                value = float(cell.value)
                text = f"£{value:,.0f}" if abs(value) >= 1 else f"{value:.2f}"
                length = len(text) + 2
            elif isinstance(cell.value, dt.date):
                length = 12
            else:
                length = len(str(cell.value))
                if cell.alignment is not None and cell.alignment.wrap_text:
                    length = min(length, _HEADER_WIDTH)
            widths[cell.column] = max(widths.get(cell.column, 0), length)
    for column, longest in widths.items():
        width = min(max(longest + 2, _MIN_WIDTH), _MAX_WIDTH)
        sheet.column_dimensions[get_column_letter(column)].width = width
