"""The finance workbook: one Excel file per run, written with openpyxl.

Sheets, in order: Cover (whose data, which scenario, when, a warning when the data are the
invented example, and how to read the rest), Summary, Costs by line and year (budget lines
down, financial years across, a block each for P10, P50, P90 and the mean, cash and real
terms side by side), Savings vs baseline, Placement demand vs capacity, Sufficiency by
quarter, Assumptions, Run details and (when given) Publication: recorded children at each
31 March under disclosure control, the one sheet meant for publication.

Headers and labels are plain English (:mod:`care_demand.outputs.workbook_names`). Numbers
are stored as numbers (never text), right-aligned, with a number format: money ``£#,##0``,
counts of children whole numbers ``#,##0``, shares ``0%``, dates ``d mmm yyyy``. Each data
range is an Excel table with filters; each sheet has a frozen header and prints landscape,
fitted to the page width, with its header repeated and a footer naming the sheet and page.
The functions take the tables they write; they never run the model. The file is written
beside its final name and renamed into place, so a reader never sees half a workbook and a
failed write leaves an earlier file intact. The file's own timestamps (its document
properties and the dates of the parts inside it) are the cover's run date at midnight, so the
same run made twice on one day gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from care_demand import vocab
from care_demand.outputs.workbook_costs import RealTerms, costs_sheet
from care_demand.outputs.workbook_format import COUNT, DATE, GBP, SHARE
from care_demand.outputs.workbook_sheets import (
    CoverDetails,
    assumptions_sheet,
    cost_bridge_sheet,
    cover_sheet,
    demand_sheet,
    details_sheet,
    flow_differences_sheet,
    flows_sheet,
    publication_sheet,
    savings_sheet,
    sufficiency_sheet,
    summary_sheet,
)

__all__ = [
    "COST_BRIDGE_SHEET",
    "COUNT",
    "DATE",
    "FLOW_DIFFERENCES_SHEET",
    "GBP",
    "PUBLICATION_SHEET",
    "SHARE",
    "SHEETS",
    "CoverDetails",
    "RealTerms",
    "demand_capacity_table",
    "write_workbook",
]

SHEETS: tuple[str, ...] = (
    "Cover",
    "Summary",
    "Costs by line and year",
    "Savings vs baseline",
    "Placement demand vs capacity",
    "Sufficiency by quarter",
    "Flows per year",
    "Assumptions",
    "Run details",
)
PUBLICATION_SHEET = "Publication"
# A multirun's sheets of how each scenario works, after the savings (comparison only).
FLOW_DIFFERENCES_SHEET = "Flows vs baseline"
COST_BRIDGE_SHEET = "Cost bridge vs baseline"
# What each sheet holds, for the cover.
SHEET_NOTES: dict[str, str] = {
    "Summary": "Headline figures: children at the end of the projection and cost by year.",
    "Costs by line and year": "Cost of each budget line by financial year: P10, P50, P90 "
    "and mean blocks, each with a total row and a total column; cash and real terms.",
    "Savings vs baseline": "Savings against the baseline, taken future by future, with the "
    "savings target and the chance of meeting it.",
    "Placement demand vs capacity": "Children by placement group at each quarter end against "
    "in-house places, and children placed externally for want of one.",
    "Sufficiency by quarter": "Each quarter end, per in-house group: children needing that "
    "kind of placement, in-house places, children placed in-house, placed externally for want "
    "of a place and by preference or need, and in-house places needed for the target share "
    "(medians and P10/P90 across simulated futures, whole children).",
    "Flows per year": "Entries to care, exits from care by reason and, where the data hold "
    "the services outside care, referrals and steps up and down, per financial year: "
    "recorded counts, then projected means.",
    "Assumptions": "Every cost assumption with its unit, price year and source.",
    "Run details": "The software version, seed and data fingerprints that reproduce the run.",
    FLOW_DIFFERENCES_SHEET: "How each scenario works: entries to care by age, moves between "
    "in-house and external placements, step-downs and exits, scenario minus baseline future "
    "by future (mean and P10-P90), per year and over the projection.",
    COST_BRIDGE_SHEET: "From the baseline's cost to each scenario's by budget line (placements "
    "avoided or added, in-house places and carers, casework, fixed costs), per year and over "
    "the complete years; the lines add up to the total difference.",
    PUBLICATION_SHEET: "Recorded children at each 31 March under disclosure control: the one "
    "sheet meant for publication.",
}

_COSTS_REQUIRED = ("financial_year", "line", "p50")
_SAVINGS_REQUIRED = ("financial_year", "line", "measure", "p50")
_QUARTER_END_MONTHS = (3, 6, 9, 12)
_YEAR_END_MONTH = 3


def demand_capacity_table(quantiles: pd.DataFrame, frequency: str = "quarter") -> pd.DataFrame:
    """Children by placement group against in-house capacity, from the quantile table.

    ``quantiles`` is :func:`care_demand.simulation.runner.quantile_table` output. One row per
    month end (``frequency``: ``quarter`` = quarter ends, ``year`` = 31 March, ``month`` =
    every month) and placement group: children at month end (P10, P50, P90, mean) and, for
    the in-house groups, places (``capacity_p50``, ``capacity_mean``) and children placed
    externally for want of an in-house place (``shortfall_p10/p50/p90/mean``); empty for
    other groups. The demand-capacity chart draws the means.
    """
    keep = {"quarter": _QUARTER_END_MONTHS, "year": (_YEAR_END_MONTH,), "month": range(1, 13)}
    if frequency not in keep:
        raise ValueError(f"frequency={frequency!r}: expected one of {sorted(keep)}")
    q = quantiles[quantiles["age_band"] == "all"].copy()
    q["month"] = pd.to_datetime(q["month"])
    q = q[q["month"].dt.month.isin(keep[frequency])]
    children = q[(q["measure"] == "children") & q["category"].isin(vocab.PLACEMENT_GROUPS)]
    out = children[["month", "category", "p10", "p50", "p90", "mean"]].rename(
        columns={
            "category": "placement_group",
            "p10": "children_p10",
            "p50": "children_p50",
            "p90": "children_p90",
            "mean": "children_mean",
        }
    )
    capacity = q[q["measure"] == "capacity"][["month", "category", "p50", "mean"]].rename(
        columns={"category": "placement_group", "p50": "capacity_p50", "mean": "capacity_mean"}
    )
    shortfall = q[q["measure"] == "shortfall"][
        ["month", "category", "p10", "p50", "p90", "mean"]
    ].rename(
        columns={
            "category": "placement_group",
            "p10": "shortfall_p10",
            "p50": "shortfall_p50",
            "p90": "shortfall_p90",
            "mean": "shortfall_mean",
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
    sufficiency: pd.DataFrame | None = None,
    flows: pd.DataFrame | None = None,
    publication: pd.DataFrame | None = None,
    publication_note: str = "",
    cover: CoverDetails | None = None,
    real_terms: RealTerms | None = None,
    names: Mapping[str, str] | None = None,
    flow_differences: pd.DataFrame | None = None,
    cost_bridge: pd.DataFrame | None = None,
) -> Path:
    """Write the finance workbook to ``path`` (atomically) and return ``path``.

    Args:
        path: the ``.xlsx`` file to write (e.g. ``RunFolder.path("finance/workbook.xlsx")``).
        summary: headline figures, as ``{label: value}`` or a table with columns ``item``,
            ``value`` and optionally ``unit``; a label or unit containing ``£`` or ``GBP`` is
            formatted as money, one containing ``%``, ``share`` or ``probability`` as a share,
            unit ``children`` (or a label naming children) as a whole number. Text values
            (the scenario's title) go on the cover.
        costs: :func:`care_demand.finance.cost_summary` output, optionally with a
            ``scenario`` column (a multirun: one set of blocks per scenario).
        savings: :func:`care_demand.finance.savings` output, or ``None`` for the baseline
            (the sheet then says no scenario was compared).
        demand_capacity: :func:`demand_capacity_table` output.
        sufficiency: :func:`care_demand.outputs.sufficiency.sufficiency_table` output
            (``None``: the sheet says the run has none, as a multirun's comparison).
        flows: :func:`care_demand.outputs.flows.flows_by_year` output (``None``: the sheet
            says the run has none).
        assumptions: rows ``section, item, value, unit, price_year, source``
            (:func:`care_demand.finance.cost_assumptions`, plus any scenario levers);
            ``value`` is formatted by ``unit`` (``GBP...`` money, ``rate...``/``share...``
            percentages).
        run_details: package version, seed, data fingerprint, date and anything else worth
            recording; nested values are written as text.
        publication: recorded counts already under disclosure control (the published
            ``stocks_31_march.csv``), written to a last sheet, ``Publication``; suppressed
            cells are blank and named in its Note column.
        publication_note: the disclosure rule in words
            (:meth:`~care_demand.outputs.disclosure.DisclosureRule.describe`), written above
            that table and on the cover.
        cover: what the cover says; by default read from ``run_details``
            (:meth:`CoverDetails.from_run_details`).
        real_terms: the price year and deflator of the real-terms view of the costs; without
            it only cash terms are shown.
        names: display names beyond the built-in table: fixed costs' titles, scenarios'
            titles (by key).
        flow_differences, cost_bridge: a multirun's paired differences in flows and cost
            bridge (:mod:`care_demand.outputs.mechanism`, with a ``scenario`` column), each
            written to a sheet after the savings when given and not empty.

    Raises ``ValueError`` (and writes nothing) when a table lacks the columns it needs.
    """
    path = Path(path)
    _require(costs, _COSTS_REQUIRED, "costs")
    if savings is not None:
        _require(savings, _SAVINGS_REQUIRED, "savings")
    _require(assumptions, ("item", "value"), "assumptions")
    cover = cover or CoverDetails.from_run_details(run_details)

    book = Workbook()
    book.remove(book.active)
    cover_page = book.create_sheet(SHEETS[0])
    text_items = summary_sheet(book.create_sheet(SHEETS[1]), summary)
    costs_sheet(book.create_sheet(SHEETS[2]), costs, real_terms=real_terms, names=names)
    savings_sheet(book.create_sheet(SHEETS[3]), savings, names)
    if flow_differences is not None and not flow_differences.empty:
        flow_differences_sheet(book.create_sheet(FLOW_DIFFERENCES_SHEET), flow_differences, names)
    if cost_bridge is not None and not cost_bridge.empty:
        cost_bridge_sheet(book.create_sheet(COST_BRIDGE_SHEET), cost_bridge, names)
    demand_sheet(book.create_sheet(SHEETS[4]), demand_capacity)
    sufficiency_sheet(book.create_sheet(SHEETS[5]), sufficiency)
    flows_sheet(book.create_sheet(SHEETS[6]), flows)
    assumptions_sheet(book.create_sheet(SHEETS[7]), assumptions)
    details_sheet(book.create_sheet(SHEETS[8]), run_details)
    if publication is not None:
        publication_sheet(book.create_sheet(PUBLICATION_SHEET), publication, publication_note)
    listed = [(s.title, SHEET_NOTES.get(s.title, "")) for s in book.worksheets[1:]]
    extra = [(k, v) for k, v in text_items if k.lower() != "scenario"]
    cover_sheet(
        cover_page,
        cover,
        real_terms=real_terms,
        sheets=listed,
        publication_note=publication_note if publication is not None else "",
        extra=extra,
    )

    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        _save(book, temp, cover.run_date)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def _save(book: Workbook, path: Path, run_date: dt.date | None) -> None:
    """Write ``book`` to ``path`` with every timestamp inside it set to ``run_date``.

    ``Workbook.save`` stamps the document with the time of writing and the zip parts with
    the clock, so two identical runs would differ in a few bytes.
    """
    when = dt.datetime.combine(run_date or dt.date(1980, 1, 1), dt.time())
    book.properties.created = book.properties.modified = when
    buffer = io.BytesIO()
    # Stored, not compressed: the parts are compressed once, as they are copied below.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        ExcelWriter(book, archive).save()
    with (
        zipfile.ZipFile(buffer) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for part in source.infolist():
            info = zipfile.ZipInfo(part.filename, date_time=when.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, source.read(part))


def _require(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the {name} table lacks columns {missing}; nothing was written")
