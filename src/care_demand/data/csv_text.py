"""Reading a council's CSV files as text tables, and parsing their dates and yes/no items.

Files are read as text (every cell a stripped string, ``""`` for blank) so that each value can
be checked and reported exactly as the council wrote it. A table saved as an Excel workbook
is read from its first sheet as the same text (:mod:`care_demand.data.workbook`). Parsing
dates and yes/no items is vectorised here too. The input files' fingerprint is taken over
the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd

from care_demand.data.problems import (
    BAD_COL,
    FILE_COL,
    INFO,
    LINE_COL,
    Problem,
    ValidationReport,
    raw_col,
)
from care_demand.data.recognise import SourceFile
from care_demand.data.workbook import WorkbookError, is_blank, is_workbook, read_sheet

__all__ = [
    "csv_header",
    "csv_records",
    "decode",
    "delimiter",
    "filled",
    "fingerprint",
    "first_line",
    "parse_bool",
    "parse_dates",
    "read_csv_text",
    "select_columns",
    "table_records",
]


# Rows of a workbook searched for its column names (the first row that is not blank).
_HEADER_SEARCH_ROWS = 50


def csv_header(path: Path) -> tuple[list[str], bool]:
    """The column names of a CSV file or workbook (lower case; empty for other files) and
    whether the file has no text at all."""
    if is_workbook(path):
        try:
            sheet = read_sheet(path, max_rows=_HEADER_SEARCH_ROWS)
        except WorkbookError:
            return [], False
        first = next((row for _, row in filled(sheet.records)), None)
        if first is None:
            return [], len(sheet.records) < _HEADER_SEARCH_ROWS
        return [c.strip().lower() for c in first], False
    try:
        with path.open("rb") as handle:
            data = handle.read(65536)
    except OSError:
        return [], False
    if not data.strip():
        return [], True
    if path.suffix.lower() != ".csv":
        return [], False
    text = decode(data[: data.rfind(b"\n") + 1] if b"\n" in data else data)
    if text is None:
        return [], False
    line = first_line(text)
    try:
        first = next(csv.reader([line], delimiter=delimiter(line)))
    except (csv.Error, StopIteration):
        return [], False
    return [c.strip().lstrip("\ufeff").lower() for c in first], False


def decode(data: bytes) -> str | None:
    """Text of a file in UTF-8 (with or without BOM) or Windows-1252; ``None`` if neither
    (including UTF-16 "Unicode text" and other files holding NUL bytes)."""
    if b"\x00" in data:
        return None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def first_line(text: str) -> str:
    """The first line of ``text`` that is not blank (``""`` if none)."""
    return next((line for line in text.splitlines() if line.strip()), "")


def filled(records: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    """The records that are not blank."""
    return [(number, row) for number, row in records if not is_blank(row)]


def delimiter(line: str) -> str:
    """The character a file's columns are separated by, from its first line: a comma, or
    where the line has none, semicolons (Excel's CSV in some locales) or tabs (exports from
    reporting tools)."""
    if "," in line or not (";" in line or "\t" in line):
        return ","
    return ";" if line.count(";") >= line.count("\t") else "\t"


def csv_records(
    text: str, *, strict: bool = True, separator: str = ","
) -> list[tuple[int, list[str]]]:
    """The records of CSV text with the line each starts on (1-based); CRLF, LF and CR line
    ends all read. Raises ``csv.Error`` when the text is not CSV (a quoted value never closed)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=strict, delimiter=separator)
    out: list[tuple[int, list[str]]] = []
    previous = 0
    for row in reader:
        out.append((previous + 1, row))
        previous = reader.line_num
    return out


def table_records(path: Path) -> list[tuple[int, list[str]]] | None:
    """Every record of a CSV file or workbook with its line (row) number, stray quotes read
    as characters; ``None`` when the file cannot be read as either."""
    if is_workbook(path):
        try:
            return read_sheet(path).records
        except WorkbookError:
            return None
    try:
        text = decode(path.read_bytes())
    except OSError:
        return None
    if text is None:
        return None
    try:
        return csv_records(text, strict=False, separator=delimiter(first_line(text)))
    except csv.Error:
        return None


def _parse(text: str, separator: str) -> list[tuple[int, list[str]]]:
    """Records of CSV text; a stray quote inside a value is read as a character (as
    spreadsheets do), but a quoted value still open at the end of the file is an error."""
    try:
        return csv_records(text, strict=True, separator=separator)
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise
        return csv_records(text, strict=False, separator=separator)


def read_csv_text(
    source: SourceFile, report: ValidationReport, required: list[str] | None = None
) -> tuple[pd.DataFrame | None, list[str]]:
    """Read a CSV file as text.

    Returns the rows (every file column as stripped strings under ``raw_col(name)``, plus
    ``_file``, ``_line`` and ``_bad``) and the column names as written in the file, or
    ``(None, [])`` when the file cannot be used (the reason is added to ``report``).
    Lines that are entirely blank are skipped; line numbers count the header as line 1.

    A line with fewer fields than the first line is reported once as ``short_row`` when it
    lacks one of the ``required`` columns (those never blank, matched case-insensitively)
    or is the file's
    last line with no line end (a file cut short); otherwise the missing trailing fields
    are read as blank (spreadsheets leave out trailing empty cells), a repair counted as
    ``missing_trailing_fields``. A line with more fields than the first is ``long_row``.
    ``short_row`` and ``long_row`` lines are marked bad and no other check reports them.
    Other repairs counted in ``report``: spaces around values (``padded_cell``) and empty
    fields after the last column (``extra_blank_fields``).
    """
    if is_workbook(source.path):
        return _read_workbook(source, report, required)
    data = source.path.read_bytes()
    text = decode(data)
    if text is None:
        report.add_file_problem(
            source.name,
            "unreadable_file",
            "not text in UTF-8 or Windows-1252: save the file as CSV (UTF-8)",
        )
        return None, []
    first = first_line(text)
    if not first:
        report.add_file_problem(source.name, "empty_file", "the file is empty")
        return None, []
    separator = delimiter(first)
    try:
        records = _parse(text, separator)
    except csv.Error as exc:
        report.add_file_problem(
            source.name,
            "unreadable_file",
            "not a readable CSV file ("
            + (
                "a quoted value is never closed"
                if "unexpected end of data" in str(exc)
                else str(exc)
            )
            + ")",
        )
        return None, []
    frame, names = _text_table(source, report, required, records, not text.endswith(("\n", "\r")))
    if frame is not None and separator != ",":
        rule = "semicolon_separated" if separator == ";" else "tab_separated"
        report.add_repair(source.name, rule, len(frame))
    return frame, names


def _read_workbook(
    source: SourceFile, report: ValidationReport, required: list[str] | None
) -> tuple[pd.DataFrame | None, list[str]]:
    """:func:`read_csv_text` of a workbook's first sheet (row numbers as Excel's)."""
    try:
        sheet = read_sheet(source.path)
    except WorkbookError as exc:
        report.add_file_problem(source.name, "unreadable_file", str(exc))
        return None, []
    if sheet.others:
        listed = ", ".join(f"'{name}'" for name in sheet.others)
        report.add_file_problem(
            source.name,
            "sheets_not_read",
            f"read the first sheet, '{sheet.name}'; not read: {listed}",
            INFO,
        )
    return _text_table(source, report, required, sheet.records, False)


def _text_table(
    source: SourceFile,
    report: ValidationReport,
    required: list[str] | None,
    records: list[tuple[int, list[str]]],
    cut_short: bool,
) -> tuple[pd.DataFrame | None, list[str]]:
    """The rows of a file's records (the rest of :func:`read_csv_text`)."""
    records = filled(records)
    if not records:
        report.add_file_problem(source.name, "empty_file", "the file is empty")
        return None, []
    head = records[0][1]
    names = [c.strip().lstrip("\ufeff") for c in head]
    names = [n if n else f"(blank {i + 1})" for i, n in enumerate(names)]
    width = len(names)
    body = records[1:]
    if not body:
        report.add_file_problem(source.name, "empty_file", "the file has no data rows")
        return None, []
    cells: list[list[str]] = []
    line_no: list[int] = []
    bad: list[str | None] = []
    trailing = missing_trailing = 0
    wanted = {c.lower() for c in required or []}
    last_required = max((i for i, n in enumerate(names) if n.lower() in wanted), default=-1)
    for line, row in body:
        rule = None
        if len(row) > width:
            if any(c.strip() for c in row[width:]):
                rule = "long_row"
                report.add(
                    Problem(
                        source.name,
                        line,
                        None,
                        None,
                        rule,
                        f"row {line} has {len(row)} fields but the first line has {width}",
                    )
                )
            else:
                trailing += 1
            row = row[:width]
        elif len(row) < width:
            if len(row) <= last_required or (cut_short and line == body[-1][0]):
                rule = "short_row"
                report.add(
                    Problem(
                        source.name,
                        line,
                        None,
                        None,
                        rule,
                        f"row {line} has {len(row)} of {width} fields (is the file cut short?)",
                    )
                )
            else:
                missing_trailing += 1
            row = row + [""] * (width - len(row))
        cells.append(row)
        line_no.append(line)
        bad.append(rule)
    columns = pd.Index([raw_col(n) for n in names])
    keep = ~columns.duplicated()  # two columns with one name: keep the first
    raw = np.array(cells, dtype=object)[:, keep]
    stripped = np.array([[c.strip() for c in row] for row in cells], dtype=object)[:, keep]
    padded = int((stripped != raw).sum())
    frame = pd.DataFrame(stripped, columns=columns[keep], dtype=object)
    report.add_repair(source.name, "padded_cell", padded)
    report.add_repair(source.name, "extra_blank_fields", trailing)
    report.add_repair(source.name, "missing_trailing_fields", missing_trailing)
    frame[FILE_COL] = source.name
    frame[LINE_COL] = np.asarray(line_no, dtype=np.int64)
    frame[BAD_COL] = pd.Series(bad, index=frame.index, dtype=object)
    return frame, names


def select_columns(
    frame: pd.DataFrame,
    names: list[str],
    wanted: list[str],
    required: list[str],
    source: SourceFile,
    report: ValidationReport,
) -> pd.DataFrame | None:
    """Keep the ``wanted`` columns (matched case-insensitively, renamed to their spelling in
    ``wanted``); blank columns are added for optional ones that are absent. A wanted column
    with no name matching that way is matched ignoring spaces and underscores too
    (``FGDM Offered`` for ``FGDMOffered``), when exactly one name matches.

    Returns ``None`` (after reporting ``missing_column`` for each) when a required column is
    absent. Columns not wanted (postcodes, names, ...) are dropped here.
    """
    by_lower = {n.lower(): n for n in names}
    loose: dict[str, list[str]] = {}
    for n in names:
        loose.setdefault(_loose(n), []).append(n)
    for column in wanted:
        matches = loose.get(_loose(column), [])
        if column.lower() not in by_lower and len(matches) == 1:
            by_lower[column.lower()] = matches[0]
    missing = [c for c in required if c.lower() not in by_lower]
    for column in missing:
        report.add(
            Problem(
                source.name,
                1,
                column,
                None,
                "missing_column",
                f"required column {column} is missing from the first line, which must "
                "hold the column names",
            )
        )
    if missing:
        return None
    out = {}
    for column in wanted:
        present = by_lower.get(column.lower())
        out[raw_col(column)] = (
            frame[raw_col(present)] if present is not None else pd.Series("", index=frame.index)
        )
    kept = pd.DataFrame(out, index=frame.index)
    for col in (FILE_COL, LINE_COL, BAD_COL):
        kept[col] = frame[col]
    return kept


def _loose(name: str) -> str:
    """A column name in lower case without spaces or underscores."""
    return name.lower().replace(" ", "").replace("_", "")


def parse_dates(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse ``dd/mm/YYYY`` or ``YYYY-MM-DD`` text.

    Returns the dates (``datetime64[ns]``, ``NaT`` for blank) and a mask of non-blank values
    that are not a valid date in either form.
    """
    text = text.astype(str)
    # Each distinct text parsed once (a return holds a few thousand distinct days), in the
    # second form only where the first fails.
    codes, distinct = pd.factorize(text)
    values = pd.Series(distinct, dtype=object)
    parsed = pd.to_datetime(values, format="%d/%m/%Y", errors="coerce").astype("datetime64[ns]")
    other = parsed.isna() & (values != "")
    if other.any():
        iso = pd.to_datetime(values[other], format="%Y-%m-%d", errors="coerce")
        parsed[other] = iso.astype("datetime64[ns]")
    dates = pd.Series(parsed.to_numpy()[codes], index=text.index, dtype="datetime64[ns]")
    bad = dates.isna() & (text != "")
    return dates, bad


def parse_bool(
    text: pd.Series, true_values: list[str], false_values: list[str]
) -> tuple[pd.Series, pd.Series]:
    """Parse yes/no text (case-insensitive). Returns a nullable boolean Series and a mask of
    non-blank values that are neither a true nor a false spelling."""
    lower = text.astype(str).str.lower()
    out = pd.Series(pd.NA, index=text.index, dtype="boolean")
    out[lower.isin(true_values)] = True
    out[lower.isin(false_values)] = False
    bad = out.isna() & (lower != "")
    return out, bad


def fingerprint(sources: list[SourceFile], extra: dict[str, bytes] | None = None) -> str:
    """SHA-256 over the files' relative names and bytes (sorted by name), plus ``extra``."""
    digest = hashlib.sha256()
    items = [(s.name, _bytes_or_empty(s.path)) for s in sources]
    items += sorted((extra or {}).items())
    for name, data in sorted(items):
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def _bytes_or_empty(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # already reported as unreadable_file
        return b""
