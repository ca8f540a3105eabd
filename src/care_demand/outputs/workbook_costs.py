"""The Costs sheet of the finance workbook: budget lines down, financial years across.

One block each for P10, P50, P90 and the mean (and, in a multirun's workbook, one set of
blocks per scenario). Each block is an Excel table of the budget lines with a total row
under it and a total column that adds the years shown; the real-terms view of the same
block sits beside the cash view. A financial year the projection covers only in part says
so in its header. The multi-year rows of ``cost_summary.csv`` are not repeated: every
column is one financial year or the sum of them, so a sum over a column never counts a
year twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from openpyxl.worksheet.worksheet import Worksheet

from care_demand.finance.schema import fy_start_year
from care_demand.outputs.workbook_format import (
    GBP,
    add_table,
    print_setup,
    set_widths,
    write_note,
)
from care_demand.outputs.workbook_names import display_name, line_name

__all__ = ["BLOCKS", "PART_YEAR", "RealTerms", "costs_sheet", "year_header"]

PART_YEAR = "(part year)"
LINE_HEADER = "Budget line"

# Each block: the column of the costs table and what it means.
BLOCKS: tuple[tuple[str, str], ...] = (
    ("p10", "P10 (low): in one future in ten the cost is lower than this"),
    ("p50", "P50 (median): half the futures cost less than this, half more"),
    ("p90", "P90 (high): in one future in ten the cost is higher than this"),
    ("mean", "Mean (average): the figures that add up across lines and years"),
)
_TOTAL = "total"


@dataclass(frozen=True)
class RealTerms:
    """How cash becomes real terms: deflated to ``price_year`` at ``rate`` a year.

    ``line`` names the inflation line the rate comes from (``costs.deflator``, e.g.
    ``general``); a year ``n`` years after the price year is divided by ``(1 + rate) ** n``.
    """

    price_year: str
    rate: float
    line: str = "general"

    def factor(self, year: str) -> float:
        """What a pound of ``year``'s cash is worth in the price year's prices."""
        return float((1.0 + self.rate) ** -(fy_start_year(year) - fy_start_year(self.price_year)))

    def describe(self) -> str:
        """The view's label in words."""
        return (
            f"Real terms: £ in {self.price_year} prices (cash deflated by {self.line} "
            f"inflation, {self.rate:.1%} a year)"
        )


def year_header(year: str, complete: bool) -> str:
    """A financial year's column header, marked when the projection covers it in part."""
    return year if complete else f"{year} {PART_YEAR}"


def _years(costs: pd.DataFrame) -> list[tuple[str, bool]]:
    single = costs[~costs["financial_year"].astype(str).str.contains(" to ")]
    complete = single.groupby("financial_year")["complete"].all()
    ordered = sorted(complete.index, key=fy_start_year)
    return [(year, bool(complete[year])) for year in ordered]


def _block(
    costs: pd.DataFrame,
    years: list[tuple[str, bool]],
    stat: str,
    names: Mapping[str, str] | None,
    factor: Mapping[str, float] | None,
) -> pd.DataFrame:
    """Budget lines by year for one statistic, the total row last, the total column last."""
    single = costs[~costs["financial_year"].astype(str).str.contains(" to ")]
    keys = list(dict.fromkeys(zip(single["kind"], single["line"], strict=True)))
    lines = [k for k in keys if k[0] != _TOTAL] + [k for k in keys if k[0] == _TOTAL]
    values = single.pivot_table(
        index=["kind", "line"], columns="financial_year", values=stat, aggfunc="sum"
    )
    headers = [year_header(y, c) for y, c in years]
    rows = []
    for kind, line in lines:
        row = [float(values.loc[(kind, line), y]) if y in values.columns else 0.0 for y, _ in years]
        row = [0.0 if pd.isna(v) else v for v in row]
        if factor is not None:
            row = [v * factor[y] for v, (y, _) in zip(row, years, strict=True)]
        rows.append([line_name(kind, line, names), *row, sum(row)])
    first, last = years[0][0], years[-1][0]
    total_header = f"Total, {first} to {last}" if first != last else f"Total, {first}"
    return pd.DataFrame(rows, columns=[LINE_HEADER, *headers, total_header])


def costs_sheet(
    sheet: Worksheet,
    costs: pd.DataFrame,
    *,
    real_terms: RealTerms | None = None,
    names: Mapping[str, str] | None = None,
) -> None:
    """Write the Costs sheet from :func:`care_demand.finance.cost_summary` output.

    ``costs`` may carry a ``scenario`` column (a multirun's workbook): each scenario then
    gets its own blocks, headed by its name (``names`` gives titles for scenarios and fixed
    costs). Without ``real_terms`` only the cash view is written, and a note says so.
    """
    groups = (
        [(str(s), frame) for s, frame in costs.groupby("scenario", sort=False)]
        if "scenario" in costs.columns
        else [(None, costs)]
    )
    write_note(sheet, 1, "Costs by budget line and financial year (£)", bold=True)
    width = len(_years(costs)) + 2
    write_note(sheet, 2, "Cash terms: £ in each year's prices", bold=True)
    if real_terms is not None:
        write_note(sheet, 2, real_terms.describe(), column=width + 2, bold=True)
    notes = [
        "Each block is one summary of the simulated futures. P10, P50 and P90 do not add up: "
        "a block's total row is that percentile of the total cost, not the sum of the lines "
        "above it; the mean block adds up. The total column adds the years shown.",
        f"A year marked {PART_YEAR} is covered by the projection for some months only.",
    ]
    if real_terms is None:
        notes.append("No real-terms view: the price year and deflator were not given.")
    for i, text in enumerate(notes, start=3):
        write_note(sheet, i, text)
    row = 3 + len(notes) + 1
    note_rows = list(range(1, row))
    for scenario, frame in groups:
        years = _years(frame)
        factor = {y: real_terms.factor(y) for y, _ in years} if real_terms else None
        for stat, meaning in BLOCKS:
            title = meaning if scenario is None else f"{display_name(scenario, names)}: {meaning}"
            write_note(sheet, row, title, bold=True)
            note_rows.append(row)
            hint = stat if scenario is None else f"{scenario}_{stat}"
            cash = _block(frame, years, stat, names, None)
            formats = {c: GBP for c in cash.columns[1:]}
            last = add_table(
                sheet,
                cash,
                top=row + 1,
                name=f"Costs_{hint}_cash",
                formats=formats,
                total_rows=1,
            )
            if factor is not None:
                real = _block(frame, years, stat, names, factor)
                add_table(
                    sheet,
                    real,
                    top=row + 1,
                    left=width + 2,
                    name=f"Costs_{hint}_real",
                    formats=formats,
                    total_rows=1,
                )
            row = last + 2
    print_setup(sheet, title_rows="1:2", freeze="B3")
    set_widths(sheet, skip_rows=note_rows)
