"""A table saved as an Excel workbook (``.xlsx``), read as the text a CSV file would hold.

Analysts often keep a return's tables as workbooks. The first sheet is the table: its first
non-blank row holds the column names and every later row a record, numbered as Excel numbers
its rows. Each cell becomes the text that saving the sheet as CSV in the returns' own forms
would give, so the same checks apply to both:

- a date cell (Excel's date number shown as a date) becomes ``YYYY-MM-DD``, its date part;
- a whole number becomes its digits (``100295``, not ``100295.0``), another number its
  shortest decimal form;
- TRUE and FALSE become ``TRUE`` and ``FALSE``; an empty cell becomes blank;
- text is kept as written, and a formula gives the value Excel saved with it.

The older binary ``.xls`` format is not read (no library in the package reads it); such a
file is listed as not read with the advice to save it as ``.xlsx`` or CSV.
"""

from __future__ import annotations

import datetime as dt
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl

__all__ = [
    "WORKBOOK_SUFFIXES",
    "Sheet",
    "WorkbookError",
    "cell_text",
    "is_blank",
    "is_workbook",
    "read_sheet",
]

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


class WorkbookError(ValueError):
    """A file named as a workbook that cannot be read as one."""


@dataclass(frozen=True)
class Sheet:
    """The first sheet of a workbook as text records.

    ``records`` holds ``(row number, cells)`` for every row up to the last row read (blank
    rows included, as blank cells; rows shorter than the column names padded with blanks);
    ``others`` the names of the sheets not read.
    """

    name: str
    others: tuple[str, ...]
    records: list[tuple[int, list[str]]]


def is_blank(row: list[str]) -> bool:
    """Whether a record (of a sheet or a CSV file) holds nothing but blanks."""
    return not any(cell.strip() for cell in row)


def is_workbook(path: Path) -> bool:
    """Whether the file is named as an Excel workbook this module reads."""
    return path.suffix.lower() in WORKBOOK_SUFFIXES


def cell_text(value: Any) -> str:
    """The text of one cell's value, as a CSV of the returns would hold it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


# Whole sheets read lately, by file and its size and time of change: finding a return's year
# reads an Episodes sheet, and reading the return reads it again. At most this many rows are
# kept (about a large council's returns), the least recently read sheets going first.
_RECENT: OrderedDict[tuple[str, int, int], Sheet] = OrderedDict()
_RECENT_ROWS = 100_000
_RECENT_LOCK = threading.Lock()


def read_sheet(path: Path, max_rows: int | None = None) -> Sheet:
    """The first sheet of the workbook at ``path`` (its first ``max_rows`` rows if given).

    Raises :class:`WorkbookError` when the file is not a readable workbook.
    """
    try:
        stat = path.stat()
    except OSError as exc:
        raise WorkbookError(f"not a readable Excel workbook ({type(exc).__name__})") from exc
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _RECENT_LOCK:
        sheet = _RECENT.get(key)
        if sheet is not None:
            _RECENT.move_to_end(key)
    if sheet is not None:
        if max_rows is None:
            return sheet
        return Sheet(sheet.name, sheet.others, sheet.records[:max_rows])
    sheet = _read(path, max_rows)
    if max_rows is None:
        with _RECENT_LOCK:
            _RECENT[key] = sheet
            while sum(len(kept.records) for kept in _RECENT.values()) > _RECENT_ROWS:
                _RECENT.popitem(last=False)
    return sheet


def _read(path: Path, max_rows: int | None) -> Sheet:
    """:func:`read_sheet` from the file."""
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise WorkbookError(f"not a readable Excel workbook ({type(exc).__name__})") from exc
    try:
        if not book.worksheets:
            raise WorkbookError("the workbook has no sheet")
        sheet = book.worksheets[0]
        records: list[tuple[int, list[str]]] = []
        rows = sheet.iter_rows(min_row=1, max_row=max_rows, values_only=True)
        for number, row in enumerate(rows, start=1):
            records.append((number, [cell_text(v) for v in row]))
        # A sheet leaves out the empty cells at the end of a row: blank, not missing. Rows are
        # made as wide as the first that is not blank (the column names).
        width = next((len(row) for _, row in records if not is_blank(row)), 0)
        records = [(n, row + [""] * (width - len(row))) for n, row in records]
        return Sheet(sheet.title, tuple(book.sheetnames[1:]), records)
    except (KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise WorkbookError(f"not a readable Excel workbook ({type(exc).__name__})") from exc
    finally:
        book.close()
