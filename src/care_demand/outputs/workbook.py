"""The finance workbook: one Excel file per run, written with openpyxl.

Sheets, in order: Summary, Costs by line and year, Savings vs baseline, Placement demand vs
capacity, Assumptions, Run details, and (when given) Publication: recorded children at each
31 March under disclosure control, the one sheet meant for publication. Numbers are
stored as numbers (never text) with a number format: money ``£#,##0``, counts ``#,##0``,
shares ``0%``. Every sheet has a bold, frozen header row and set column widths. The
function takes the tables it writes; it never runs the model. The file is written beside
its final name and renamed into place, so a reader never sees half a workbook and a failed
write leaves an earlier file intact.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import numbers
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from care_demand import vocab

__all__ = [
    "COUNT",
    "GBP",
    "PUBLICATION_SHEET",
    "SHARE",
    "SHEETS",
    "demand_capacity_table",
    "write_workbook",
]

GBP = "£#,##0"
COUNT = "#,##0"
SHARE = "0%"
RATE = "0.0%"
DECIMAL = "0.00"
DATE = "yyyy-mm-dd"

SHEETS: tuple[str, ...] = (
    "Summary",
    "Costs by line and year",
    "Savings vs baseline",
    "Placement demand vs capacity",
    "Assumptions",
    "Run details",
)
PUBLICATION_SHEET = "Publication"

_MONEY_COLUMNS = ("p10", "p50", "p90", "mean", "target", "value", "baseline", "scenario")
_MIN_WIDTH, _MAX_WIDTH = 8, 70
# Excel holds at most 32,767 characters in a cell.
_MAX_CELL_TEXT = 32_000
_COSTS_REQUIRED = ("financial_year", "line", "p50")
_SAVINGS_REQUIRED = ("financial_year", "line", "measure", "p50")
_QUARTER_END_MONTHS = (3, 6, 9, 12)
_YEAR_END_MONTH = 3


def demand_capacity_table(quantiles: pd.DataFrame, frequency: str = "quarter") -> pd.DataFrame:
    """Children by placement group against in-house capacity, from the quantile table.

    ``quantiles`` is :func:`care_demand.simulation.runner.quantile_table` output. One row per
    month end (``frequency``: ``quarter`` = quarter ends, ``year`` = 31 March, ``month`` =
    every month) and placement group: children at month end (P10, P50, P90) and, for the
    in-house groups, places (``capacity_p50``) and children placed externally for want of
    an in-house place (``shortfall_p10/p50/p90``); empty for other groups.
    """
    keep = {"quarter": _QUARTER_END_MONTHS, "year": (_YEAR_END_MONTH,), "month": range(1, 13)}
    if frequency not in keep:
        raise ValueError(f"frequency={frequency!r}: expected one of {sorted(keep)}")
    q = quantiles[quantiles["age_band"] == "all"].copy()
    q["month"] = pd.to_datetime(q["month"])
    q = q[q["month"].dt.month.isin(keep[frequency])]
    children = q[(q["measure"] == "children") & q["category"].isin(vocab.PLACEMENT_GROUPS)]
    out = children[["month", "category", "p10", "p50", "p90"]].rename(
        columns={
            "category": "placement_group",
            "p10": "children_p10",
            "p50": "children_p50",
            "p90": "children_p90",
        }
    )
    capacity = q[q["measure"] == "capacity"][["month", "category", "p50"]].rename(
        columns={"category": "placement_group", "p50": "capacity_p50"}
    )
    shortfall = q[q["measure"] == "shortfall"][["month", "category", "p10", "p50", "p90"]].rename(
        columns={
            "category": "placement_group",
            "p10": "shortfall_p10",
            "p50": "shortfall_p50",
            "p90": "shortfall_p90",
        }
    )
    out = out.merge(capacity, on=["month", "placement_group"], how="left").merge(
        shortfall, on=["month", "placement_group"], how="left"
    )
    order = {g: i for i, g in enumerate(vocab.PLACEMENT_GROUPS)}
    out = out.assign(_g=out["placement_group"].map(order)).sort_values(["month", "_g"])
    return out.drop(columns="_g").reset_index(drop=True)


def write_workbook(
    path: str | Path,
    *,
    summary: Mapping[str, object] | pd.DataFrame,
    costs: pd.DataFrame,
    savings: pd.DataFrame | None,
    demand_capacity: pd.DataFrame,
    assumptions: pd.DataFrame,
    run_details: Mapping[str, object],
    publication: pd.DataFrame | None = None,
    publication_note: str = "",
) -> Path:
    """Write the finance workbook to ``path`` (atomically) and return ``path``.

    Args:
        path: the ``.xlsx`` file to write (e.g. ``RunFolder.path("finance/workbook.xlsx")``).
        summary: headline figures, as ``{label: value}`` or a table with columns ``item``,
            ``value`` and optionally ``unit``; a label or unit containing ``£`` or ``GBP`` is
            formatted as money, one containing ``%``, ``share`` or ``probability`` as a share.
        costs: :func:`care_demand.finance.cost_summary` output.
        savings: :func:`care_demand.finance.savings` output, or ``None`` for the baseline
            (the sheet then says no scenario was compared).
        demand_capacity: :func:`demand_capacity_table` output.
        assumptions: rows ``section, item, value, unit, price_year, source``
            (:func:`care_demand.finance.cost_assumptions`, plus any scenario levers);
            ``value`` is formatted by ``unit`` (``GBP...`` money, ``rate...``/``share...``
            percentages).
        run_details: package version, seed, data fingerprint, date and anything else worth
            recording; nested values are written as text.
        publication: recorded counts already under disclosure control (the published
            ``stocks_31_march.csv``), written to a last sheet, ``Publication``; hidden
            figures stay text (the marker), every other count is a number.
        publication_note: the disclosure rule in words, written under that table.

    Raises ``ValueError`` (and writes nothing) when a table lacks the columns it needs.
    """
    path = Path(path)
    _require(costs, _COSTS_REQUIRED, "costs")
    if savings is not None:
        _require(savings, _SAVINGS_REQUIRED, "savings")
    _require(assumptions, ("item", "value"), "assumptions")

    book = Workbook()
    book.remove(book.active)
    _summary_sheet(book.create_sheet(SHEETS[0]), summary)
    _table_sheet(book.create_sheet(SHEETS[1]), costs, _money_formats(costs))
    sheet = book.create_sheet(SHEETS[2])
    if savings is None:
        _table_sheet(
            sheet,
            pd.DataFrame({"note": ["No scenario compared: this run is the baseline."]}),
            {},
        )
    else:
        formats = _money_formats(savings)
        formats["p_meets_target"] = SHARE
        _table_sheet(sheet, savings, formats)
    _table_sheet(
        book.create_sheet(SHEETS[3]),
        demand_capacity,
        {c: COUNT for c in demand_capacity.columns if c != "month"} | {"month": DATE},
    )
    _assumptions_sheet(book.create_sheet(SHEETS[4]), assumptions)
    _details_sheet(book.create_sheet(SHEETS[5]), run_details)
    if publication is not None:
        _publication_sheet(book.create_sheet(PUBLICATION_SHEET), publication, publication_note)

    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        book.save(temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def _require(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the {name} table lacks columns {missing}; nothing was written")


def _money_formats(frame: pd.DataFrame) -> dict[str, str]:
    return {c: GBP for c in frame.columns if c in _MONEY_COLUMNS}


def _unit_format(label: str) -> str | None:
    text = label.lower()
    if "£" in label or "gbp" in text:
        return GBP
    if text.startswith("rate"):
        return RATE
    if "%" in label or "share" in text or "probability" in text:
        return SHARE
    if "sd" in text.split():
        return DECIMAL
    return None


def _cell_value(value: object) -> object:
    """A value openpyxl stores natively: numbers stay numbers, missing values stay empty."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return None if math.isnan(number) else number
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if isinstance(value, dt.datetime | dt.date | str):
        return value
    if value is pd.NaT:
        return None
    return str(value)


def _header(sheet: Worksheet, columns: list[str]) -> None:
    sheet.append(columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="top")
    sheet.freeze_panes = "A2"


def _widths(sheet: Worksheet) -> None:
    for i, column in enumerate(sheet.iter_cols(), start=1):
        longest = 0
        for cell in column:
            if cell.value is None:
                continue
            if isinstance(cell.value, float | int) and not isinstance(cell.value, bool):
                text = f"{cell.value:,.0f}" if abs(cell.value) >= 1 else f"{cell.value:.2f}"
                longest = max(longest, len(text) + 2)
            else:
                longest = max(longest, len(str(cell.value)))
        width = min(max(longest + 2, _MIN_WIDTH), _MAX_WIDTH)
        sheet.column_dimensions[get_column_letter(i)].width = width


def _table_sheet(sheet: Worksheet, frame: pd.DataFrame, formats: Mapping[str, str]) -> None:
    columns = [str(c) for c in frame.columns]
    _header(sheet, columns)
    for row in frame.itertuples(index=False, name=None):
        sheet.append([_cell_value(v) for v in row])
    for j, name in enumerate(columns, start=1):
        fmt = formats.get(name)
        if fmt is None:
            continue
        for (cell,) in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
            if isinstance(cell.value, int | float | dt.datetime) and not isinstance(
                cell.value, bool
            ):
                cell.number_format = fmt
    _widths(sheet)


def _summary_sheet(sheet: Worksheet, summary: Mapping[str, object] | pd.DataFrame) -> None:
    if isinstance(summary, pd.DataFrame):
        frame = summary.reset_index(drop=True)
    else:
        frame = pd.DataFrame({"item": list(summary.keys()), "value": list(summary.values())})
    _require(frame, ("value",), "summary")
    labels = frame["unit"] if "unit" in frame.columns else frame.iloc[:, 0]
    _table_sheet(sheet, frame, {})
    value_col = list(frame.columns).index("value") + 1
    for r, label in enumerate(labels.astype(str), start=2):
        cell = sheet.cell(row=r, column=value_col)
        if isinstance(cell.value, bool) or not isinstance(cell.value, int | float):
            continue
        whole = float(cell.value).is_integer()
        cell.number_format = _unit_format(label) or (COUNT if whole else "#,##0.0")


def _assumptions_sheet(sheet: Worksheet, assumptions: pd.DataFrame) -> None:
    _table_sheet(sheet, assumptions, {})
    if "unit" not in assumptions.columns:
        return
    value_col = list(assumptions.columns).index("value") + 1
    for r, unit in enumerate(assumptions["unit"].astype(str), start=2):
        cell = sheet.cell(row=r, column=value_col)
        if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
            cell.number_format = _unit_format(unit) or "General"


def _publication_sheet(sheet: Worksheet, table: pd.DataFrame, note: str) -> None:
    """Published counts: numbers where shown, the marker (text) where hidden."""
    frame = table.copy()
    for column in frame.columns:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        texts = frame[column].astype("string")
        if column != "date" and numbers.notna().any():
            frame[column] = [
                int(n) if pd.notna(n) and float(n).is_integer() else t
                for n, t in zip(numbers, texts, strict=True)
            ]
    frame = frame.astype(object).where(frame.notna(), None)
    _table_sheet(sheet, frame, {c: COUNT for c in frame.columns if c != "date"})
    if note:
        sheet.append([])
        sheet.append([note])


def _details_sheet(sheet: Worksheet, details: Mapping[str, object]) -> None:
    _header(sheet, ["item", "value"])
    for key, value in details.items():
        if isinstance(value, Mapping | list | tuple):
            value = json.dumps(value, default=str)
            if len(value) > _MAX_CELL_TEXT:
                value = value[: _MAX_CELL_TEXT - 40] + " ... (truncated: see run_details.json)"
        sheet.append([str(key), _cell_value(value)])
    for (cell,) in sheet.iter_rows(min_row=2, min_col=2, max_col=2):
        if isinstance(cell.value, dt.datetime):
            cell.number_format = "yyyy-mm-dd hh:mm"
    _widths(sheet)
