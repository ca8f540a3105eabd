"""Row checks shared by the SSDA903, CIN census and early-help readers.

Each check looks at whole columns at once and reports every failing row through
:func:`~care_demand.data.problems.flag`. Frames hold the file's text under ``raw_col(label)``
and the parsed values under snake_case names.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from care_demand.data.csv_text import parse_bool, parse_dates, read_csv_text, select_columns
from care_demand.data.problems import (
    BAD_COL,
    FILE_COL,
    LINE_COL,
    ValidationReport,
    flag,
    raw_col,
)
from care_demand.data.pseudonymise import pseudonymise
from care_demand.data.recognise import SourceFile

__all__ = [
    "check_birth_before",
    "check_bool",
    "check_codes",
    "check_dates",
    "check_order",
    "check_reason_pair",
    "check_repeated",
    "check_required",
    "fmt_date",
    "read_source",
    "text",
    "usable",
]

# Code lists longer than this are not spelled out in messages.
_MAX_CODES_LISTED = 15


def text(frame: pd.DataFrame, label: str) -> pd.Series:
    """The file's text in column ``label``."""
    return frame[raw_col(label)]


def fmt_date(dates: pd.Series) -> pd.Series:
    """Dates as dd/mm/YYYY text (blank for ``NaT``)."""
    return dates.dt.strftime("%d/%m/%Y").fillna("")


def read_source(
    source: SourceFile,
    labels: dict[str, str],
    required: list[str],
    key: bytes,
    report: ValidationReport,
    frame: pd.DataFrame | None = None,
    names: list[str] | None = None,
    needs_value: list[str] | None = None,
) -> pd.DataFrame | None:
    """Read one CSV (or take an already-read ``frame``), report exact duplicate rows and
    missing columns, keep the columns in ``labels`` and pseudonymise the child id.

    ``labels`` maps snake_case names to the column names in the file; its ``child_id`` entry
    names the id column. Returns ``None`` when the file cannot be used.

    ``needs_value`` (default: ``required``) are the columns that may never be blank: a line
    ending before one of them is a ``short_row``; a line ending after them is read with its
    last columns blank (see :func:`~care_demand.data.csv_text.read_csv_text`).
    """
    if frame is None:
        frame, names = read_csv_text(
            source, report, required if needs_value is None else needs_value
        )
        if frame is None:
            return None
    file_cols = [c for c in frame.columns if c.startswith("~")]
    first_line = frame.groupby(file_cols, sort=False, dropna=False)[LINE_COL].transform("first")
    flag(
        report,
        frame,
        frame.duplicated(subset=file_cols, keep="first"),
        None,
        "duplicate_row",
        lambda rows: [f"exact copy of line {first_line[i]}" for i in rows.index],
    )
    kept = select_columns(frame, names or [], list(labels.values()), required, source, report)
    if kept is None:
        return None
    id_label = labels["child_id"]
    kept[raw_col(id_label)] = pseudonymise(text(kept, id_label), key).fillna("")
    kept["child_id"] = text(kept, id_label).replace("", pd.NA).astype("string")
    return kept


def check_required(report: ValidationReport, frame: pd.DataFrame, labels: list[str]) -> None:
    """Report blank values in required columns (``missing_value``)."""
    for label in labels:
        flag(
            report,
            frame,
            text(frame, label) == "",
            label,
            "missing_value",
            f"{label} is required but blank",
        )


def check_dates(report: ValidationReport, frame: pd.DataFrame, label: str, name: str) -> None:
    """Parse column ``label`` into ``frame[name]``; report values that are not dates."""
    dates, bad = parse_dates(text(frame, label))
    frame[name] = dates
    flag(
        report,
        frame,
        bad,
        label,
        "bad_date",
        f"{label} is not a date: use dd/mm/YYYY or YYYY-MM-DD",
    )


def check_bool(
    report: ValidationReport,
    frame: pd.DataFrame,
    label: str,
    name: str,
    true_values: Collection[str],
    false_values: Collection[str],
) -> None:
    """Parse yes/no column ``label`` into ``frame[name]``; report other values."""
    values, bad = parse_bool(text(frame, label), list(true_values), list(false_values))
    frame[name] = values
    flag(
        report,
        frame,
        bad,
        label,
        "not_boolean",
        f"{label} must be true or false (also 1/0, Y/N)",
    )


def check_codes(
    report: ValidationReport,
    frame: pd.DataFrame,
    label: str,
    name: str,
    valid: Collection[str],
    *,
    lower: bool = False,
) -> pd.Series:
    """Normalise the case of codes in ``label`` into ``frame[name]`` (``<NA>`` for blank) and
    report codes not in ``valid`` (``unknown_code``). Returns the mask of valid codes.

    Valid codes written in another case (``p1`` for ``P1``) are counted as the repair
    ``code_case``, per file.
    """
    raw = text(frame, label)
    codes = raw.str.lower() if lower else raw.str.upper()
    frame[name] = codes.replace("", pd.NA).astype("string")
    ok = codes.isin(list(valid))
    recased = ok & (codes != raw) & usable(frame)
    if recased.any():
        for file, n in frame.loc[recased, FILE_COL].value_counts(sort=False).items():
            report.add_repair(str(file), "code_case", int(n))
    listed = (
        ", ".join(sorted(valid))
        if len(valid) <= _MAX_CODES_LISTED
        else "see care_demand/data/codes.yaml"
    )
    flag(
        report,
        frame,
        ~ok & (codes != ""),
        label,
        "unknown_code",
        f"{label} is not a valid code ({listed})",
    )
    return ok


def check_order(
    report: ValidationReport,
    frame: pd.DataFrame,
    start: tuple[str, str],
    end: tuple[str, str],
) -> None:
    """Report rows whose end date (``(label, name)``) is before their start date."""
    (s_label, s_name), (e_label, e_name) = start, end
    mask = frame[e_name] < frame[s_name]
    flag(
        report,
        frame,
        mask,
        e_label,
        "end_before_start",
        lambda rows: [f"{e_label} is before {s_label} ({s})" for s in text(rows, s_label)],
    )


def check_birth_before(
    report: ValidationReport,
    frame: pd.DataFrame,
    dob: pd.Series,
    dob_text: pd.Series,
    start: tuple[str, str],
) -> None:
    """Report rows whose start date (``(label, name)``) is before the date of birth."""
    label, name = start
    mask = dob > frame[name]
    flag(
        report,
        frame,
        mask,
        label,
        "birth_after_start",
        lambda rows: [f"{label} is before the date of birth ({d})" for d in dob_text[rows.index]],
    )


def check_reason_pair(
    report: ValidationReport,
    frame: pd.DataFrame,
    end_label: str,
    reason_label: str,
) -> None:
    """Report an end date without a reason and a reason without an end date."""
    end, reason = text(frame, end_label) != "", text(frame, reason_label) != ""
    flag(
        report,
        frame,
        end & ~reason,
        reason_label,
        "end_without_reason",
        f"{end_label} is given, so {reason_label} is required",
    )
    flag(
        report,
        frame,
        reason & ~end,
        reason_label,
        "reason_without_end",
        f"{reason_label} is given but {end_label} is blank",
    )


def usable(frame: pd.DataFrame) -> pd.Series:
    """Rows with no error so far."""
    return frame[BAD_COL].isna()


def check_repeated(
    report: ValidationReport,
    frame: pd.DataFrame,
    keys: list[str],
    label: str,
    rule: str,
    message: str,
) -> None:
    """Report rows repeating the ``keys`` of an earlier usable row in the same file; the
    ``message`` may name the earlier row's ``{line}``. Exact copies are already reported as
    ``duplicate_row`` (and are not usable), so they are not reported again."""
    ok = usable(frame) & frame[keys].notna().all(axis=1)
    sub = frame.loc[ok]
    repeated = sub.duplicated(subset=keys, keep="first")
    first = sub.groupby(keys, sort=False)[LINE_COL].transform("first")
    mask = pd.Series(False, index=frame.index)
    mask[sub.index[repeated.to_numpy()]] = True
    flag(
        report,
        frame,
        mask,
        label,
        rule,
        lambda rows: [message.format(line=first[i]) for i in rows.index],
    )
