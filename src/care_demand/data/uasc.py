"""Unaccompanied asylum-seeking children (UASC): reading the flag and the table.

The SSDA903 return carries UASC status in one of three ways, depending on the year and the
export: a UASC table (``uasc_YYYY.csv``: CHILD, SEX, DOB, DUC = the date UASC status
ceased), a ``UASC`` column (1/0) in the Header, or ``<UASC>`` elements in the XML (see
``ssda903_xml.py``). Whatever the source, each child in ``CouncilData.header`` gets ``uasc``
(ever recorded as UASC) and ``uasc_ceased`` (the latest return's DUC, ``NaT`` when none or
unknown). A child is UASC on a date when flagged and the date is before ``uasc_ceased`` (or
``uasc_ceased`` is blank).
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd

from care_demand.data.checks import (
    check_bool,
    check_codes,
    check_dates,
    check_order,
    check_repeated,
    check_required,
    read_source,
)
from care_demand.data.codes import code_lists
from care_demand.data.csv_text import decode
from care_demand.data.problems import (
    BAD_COL,
    FILE_COL,
    LINE_COL,
    WARNING,
    ValidationReport,
    flag,
    raw_col,
)
from care_demand.data.recognise import SourceFile
from care_demand.data.ssda903_xml import read_xml_table

__all__ = [
    "UASC_LABELS",
    "check_header_flag",
    "merge_uasc",
    "read_uasc",
    "uasc_on",
]

UASC_LABELS = {"child_id": "CHILD", "sex": "SEX", "dob": "DOB", "duc": "DUC"}
_REQUIRED_COLUMNS = ["CHILD", "DUC"]
_YEAR_COL = "_year"  # the same column name as ssda903.YEAR_COL


def read_uasc(source: SourceFile, key: bytes, report: ValidationReport) -> pd.DataFrame | None:
    """Read and check one UASC table (``uasc_YYYY.csv`` or the ``<UASC>`` elements of an
    SSDA903 XML return); ``None`` when the file cannot be used.

    Child ids are pseudonymised; DOB and DUC are parsed (``dob``, ``duc``); blank CHILD,
    dates that are not dates, a DUC before the DOB, an unknown SEX and a child listed twice
    in one file are reported. A table with column names but no rows is valid (no UASC
    children that year).
    """
    if source.suffix == "xml":
        table, names = read_xml_table(source, report)
        if table is None:
            return None
    else:
        table, names = _empty_table(source)
    frame = read_source(
        source, UASC_LABELS, _REQUIRED_COLUMNS, key, report, frame=table, names=names
    )
    if frame is None:
        return None
    codes = code_lists()
    check_required(report, frame, ["CHILD"])
    check_dates(report, frame, "DOB", "dob")
    check_dates(report, frame, "DUC", "duc")
    check_codes(report, frame, "SEX", "sex", codes.sex)
    check_order(report, frame, ("DOB", "dob"), ("DUC", "duc"))
    check_repeated(
        report,
        frame,
        ["child_id"],
        "CHILD",
        "duplicate_child",
        "this child already has a UASC row on line {line}",
    )
    frame[_YEAR_COL] = source.year
    return frame


def _empty_table(source: SourceFile) -> tuple[pd.DataFrame | None, list[str] | None]:
    """A CSV holding only its column names, as an empty text table; ``(None, None)`` for any
    other file (it is then read as usual)."""
    text = decode(source.path.read_bytes())
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if text is None or len(lines) != 1 or "," not in lines[0]:
        return None, None
    names = [n.strip().lstrip("\ufeff") for n in next(csv.reader(io.StringIO(lines[0])))]
    frame = pd.DataFrame({raw_col(n): pd.Series(dtype=str) for n in names})
    frame[FILE_COL] = pd.Series(dtype=str)
    frame[LINE_COL] = pd.Series(dtype="int64")
    frame[BAD_COL] = pd.Series(dtype=object)
    return frame, names


def check_header_flag(report: ValidationReport, frame: pd.DataFrame) -> None:
    """Parse a Header's ``UASC`` column (1/0, also true/false, Y/N; blank when absent) into
    ``frame["uasc"]`` (nullable boolean) and report other values (``not_boolean``)."""
    codes = code_lists()
    check_bool(report, frame, "UASC", "uasc", codes.true_values, codes.false_values)


def merge_uasc(
    header: pd.DataFrame,
    headers: pd.DataFrame | None,
    tables: pd.DataFrame | None,
    report: ValidationReport,
) -> tuple[pd.DataFrame, bool]:
    """Add ``uasc`` (bool) and ``uasc_ceased`` (date) to the one-row-per-child ``header``.

    ``headers`` are the usable Header rows of every return (their ``uasc`` flag), ``tables``
    the usable UASC rows of every return (``None`` when no UASC table was supplied). A child
    is ``uasc`` when any return's Header flags them or any UASC table lists them;
    ``uasc_ceased`` is the DUC of the latest return's UASC row. Children in a UASC table but
    in no Header are reported as a warning (``uasc_not_in_header``).

    Returns the header and whether the council gave any UASC information at all (a UASC
    table, even an empty one, or a non-blank Header flag).
    """
    header = header.copy()
    flagged: set[str] = set()
    supplied = tables is not None
    if headers is not None and "uasc" in headers.columns:
        given = headers["uasc"].notna()
        supplied = supplied or bool(given.any())
        flagged |= set(headers.loc[headers["uasc"].fillna(False).astype(bool), "child_id"])
    ceased = pd.Series(dtype="datetime64[ns]")
    if tables is not None and len(tables):
        rows = tables.loc[tables["child_id"].notna()]
        latest = rows.sort_values([_YEAR_COL, LINE_COL], kind="stable").drop_duplicates(
            subset=["child_id"], keep="last"
        )
        flagged |= set(latest["child_id"])
        ceased = latest.set_index("child_id")["duc"].astype("datetime64[ns]")
        flag(
            report,
            tables,
            tables["child_id"].notna() & ~tables["child_id"].isin(set(header["child_id"])),
            "CHILD",
            "uasc_not_in_header",
            "this child is in the UASC table but in no usable Header row, so is not counted",
            severity=WARNING,
        )
    header["uasc"] = header["child_id"].isin(flagged).astype(bool)
    ceased_on = ceased.reindex(pd.Index(header["child_id"], dtype=object)).to_numpy()
    header["uasc_ceased"] = pd.Series(ceased_on, index=header.index, dtype="datetime64[ns]")
    return header, supplied


def uasc_on(
    children: pd.DataFrame, child_ids: pd.Series, dates: pd.Series | pd.Timestamp
) -> np.ndarray:
    """Whether each child in ``child_ids`` is UASC on its date (``dates``: one per child, or
    one for all): flagged in ``children`` (``EventHistory.children``) and the date before
    ``uasc_ceased`` (or ``uasc_ceased`` blank). Children without a flag are not UASC."""
    if "uasc" not in children.columns or children.empty:
        return np.zeros(len(child_ids), dtype=bool)
    by_child = children.set_index("child_id")
    ids = pd.Index(child_ids, dtype=object)
    flagged = ids.isin(set(by_child.index[by_child["uasc"].astype(bool).to_numpy()]))
    ceased_on = by_child["uasc_ceased"].astype("datetime64[ns]")
    ceased = ceased_on.reindex(ids).to_numpy("datetime64[ns]")
    when = (
        np.full(len(child_ids), np.datetime64(pd.Timestamp(dates)), dtype="datetime64[ns]")
        if isinstance(dates, pd.Timestamp | str)
        else pd.to_datetime(dates).to_numpy("datetime64[ns]")
    )
    before = np.isnat(ceased) | (when < ceased)
    return flagged & before
