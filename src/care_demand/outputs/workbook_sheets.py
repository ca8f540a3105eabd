"""The sheets of the finance workbook other than Costs: cover, summary, savings, demand,
assumptions, run details and publication.

Each data sheet is one Excel table with plain-English headers (:mod:`workbook_names`), its
header row frozen and repeated on every printed page. Counts of children are whole numbers;
money, shares and rates carry their number formats; dates are dates.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from care_demand.outputs.sufficiency import SUFFICIENCY_MEASURES
from care_demand.outputs.workbook_costs import PART_YEAR, RealTerms
from care_demand.outputs.workbook_format import (
    BOLD,
    COUNT,
    DATE,
    DECIMAL,
    GBP,
    HEADING,
    RATE,
    SHARE,
    add_table,
    cell_value,
    is_number,
    print_setup,
    round_count,
    set_widths,
    write_note,
)
from care_demand.outputs.workbook_names import display_name, line_name

__all__ = [
    "SYNTHETIC_WARNING",
    "CoverDetails",
    "assumptions_sheet",
    "cover_sheet",
    "demand_sheet",
    "details_sheet",
    "publication_sheet",
    "savings_sheet",
    "sufficiency_headers",
    "sufficiency_sheet",
    "summary_sheet",
    "unit_format",
]

SYNTHETIC_WARNING = (
    "WARNING: synthetic data. This workbook was made from the built-in synthetic example: "
    "every child, count and cost in it is invented. Do not use it for budgets, reports or "
    "decisions."
)
SUPPRESSED = "Suppressed"
_MAX_CELL_TEXT = 32_000  # Excel holds at most 32,767 characters in a cell
_WARNING_FONT = Font(bold=True, color="9C0006", size=12)
_WARNING_FILL = PatternFill("solid", fgColor="FFC7CE")
_WRAP = Alignment(vertical="top", wrap_text=True)


@dataclass(frozen=True)
class CoverDetails:
    """What the cover sheet says about the run.

    Attributes:
        council: whose data ("built-in synthetic example" for the example).
        synthetic: whether the data are the invented example (the cover then warns).
        scenario: the scenario's title (or, for a multirun, the scenarios compared).
        run_date: when the run was made.
        data_to: the last day of the recorded data the projection starts from.
        seed: the run's random seed.
    """

    council: str
    synthetic: bool
    scenario: str
    run_date: dt.date | None = None
    data_to: dt.date | None = None
    seed: int | None = None

    @classmethod
    def from_run_details(cls, details: Mapping[str, object]) -> CoverDetails:
        """The cover's facts from a run's details (``synthetic_data``, ``scenario``, ...)."""
        synthetic = bool(details.get("synthetic_data", False))
        folder = details.get("data_folder")
        if synthetic:
            council = "built-in synthetic example"
        elif details.get("council"):
            council = str(details["council"])
        else:
            council = f"data in {folder}" if folder else "not recorded"
        scenario = details.get("scenario_title") or details.get("scenario")
        scenario = scenario or details.get("scenarios") or "not recorded"
        when = details.get("run_date") or details.get("date")
        seed = details.get("seed")
        return cls(
            council=council,
            synthetic=synthetic,
            scenario=str(scenario),
            run_date=when if isinstance(when, dt.date) else None,
            data_to=details.get("data_to") if isinstance(details.get("data_to"), dt.date) else None,
            seed=int(seed) if isinstance(seed, int) else None,
        )


def unit_format(label: str) -> str | None:
    """The number format a unit or label asks for: money, rate, share or decimal."""
    text = label.lower()
    if "£" in label or "gbp" in text:
        return GBP
    if text.startswith("rate"):
        return RATE
    if "%" in label or "share" in text or "probability" in text or "chance" in text:
        return SHARE
    if "sd" in text.split():
        return DECIMAL
    return None


def _is_count(label: str) -> bool:
    text = label.lower()
    return unit_format(label) is None and ("children" in text or "placements" in text)


def cover_sheet(
    sheet: Worksheet,
    cover: CoverDetails,
    *,
    real_terms: RealTerms | None,
    sheets: Sequence[tuple[str, str]],
    publication_note: str = "",
    extra: Sequence[tuple[str, str]] = (),
) -> None:
    """The first sheet: whose data, which scenario, when, and how to read the rest."""
    sheet.column_dimensions["A"].width = 26
    sheet.column_dimensions["B"].width = 110
    sheet.cell(row=1, column=1, value="Children's services demand and cost forecast").font = HEADING
    row = 2
    if cover.synthetic:
        cell = sheet.cell(row=row, column=1, value=SYNTHETIC_WARNING)
        cell.font, cell.fill = _WARNING_FONT, _WARNING_FILL
        sheet.cell(row=row, column=2).fill = _WARNING_FILL
        row += 1
    row += 1
    facts: list[tuple[str, object, str | None]] = [
        ("Council", cover.council, None),
        ("Scenario", cover.scenario, None),
        *((label, value, None) for label, value in extra),
        ("Run date", cover.run_date, DATE),
        ("Recorded data up to", cover.data_to, DATE),
        ("Random seed", None if cover.seed is None else str(cover.seed), None),
    ]
    for label, value, fmt in facts:
        sheet.cell(row=row, column=1, value=label).font = BOLD
        cell = sheet.cell(row=row, column=2, value=cell_value(value) or "not recorded")
        cell.alignment = Alignment(horizontal="left", vertical="top")
        if fmt and isinstance(cell.value, dt.date):
            cell.number_format = fmt
        row += 1
    real = (
        f"Real terms: the same costs in {real_terms.price_year} prices, with {real_terms.line} "
        f"inflation ({real_terms.rate:.1%} a year) taken out, to compare years like for like."
        if real_terms
        else "Real terms: not shown in this workbook (no price year and deflator were given)."
    )
    suppressed = (
        "Suppressed cells: only the Publication sheet holds recorded counts of children. "
        "Small counts there are left blank, marked in its Note column. "
        + (f"The rule: {publication_note}" if publication_note else "")
    )
    guide = [
        (
            "P10, P50, P90",
            "The model simulates many possible futures. P50 (the median) is the middle one; "
            "P10 to P90 holds the middle 80% of futures: one in ten is below P10 and one in "
            "ten above P90.",
        ),
        (
            "Mean",
            "The average future. Means add up across budget lines and years; percentiles do "
            "not (the P90 of a total is less than the sum of the lines' P90s). Use the mean "
            "where figures must add up.",
        ),
        (
            "Cash terms",
            "Each year's costs in that year's prices, after inflation: what the budget pays.",
        ),
        ("Real terms", real),
        (
            "Children",
            "Counts of children are whole numbers: percentiles of children (a median of 57.5, "
            "say) are rounded to the nearest child, halves up.",
        ),
        (
            "Part years",
            f"A financial year the projection covers only in part is marked "
            f"{PART_YEAR} in its header.",
        ),
        ("Suppressed cells", suppressed),
    ]
    row += 1
    sheet.cell(row=row, column=1, value="How to read this workbook").font = BOLD
    row += 1
    for label, text in [*guide, ("", ""), ("Sheets", "")]:
        sheet.cell(row=row, column=1, value=label or None).font = BOLD
        sheet.cell(row=row, column=2, value=text or None).alignment = _WRAP
        row += 1
    for name, about in sheets:
        sheet.cell(row=row, column=1, value=name).font = BOLD
        sheet.cell(row=row, column=2, value=about).alignment = _WRAP
        row += 1
    print_setup(sheet, title_rows=None, freeze=None)


def summary_sheet(
    sheet: Worksheet, summary: Mapping[str, object] | pd.DataFrame
) -> list[tuple[str, str]]:
    """Headline figures (numbers only); returns the text items for the cover instead."""
    if isinstance(summary, pd.DataFrame):
        frame = summary.reset_index(drop=True)
    else:
        frame = pd.DataFrame({"item": list(summary.keys()), "value": list(summary.values())})
    if "value" not in frame.columns:
        raise ValueError("the summary table lacks columns ['value']; nothing was written")
    label_column = "item" if "item" in frame.columns else frame.columns[0]
    units = frame["unit"] if "unit" in frame.columns else pd.Series([""] * len(frame))
    rows, text = [], []
    for label, value, unit in zip(frame[label_column], frame["value"], units, strict=True):
        value = cell_value(value)
        if not is_number(value):
            if value is not None:
                text.append((str(label), str(value)))
            continue
        unit = "" if pd.isna(unit) else str(unit)
        fmt = unit_format(unit) or unit_format(str(label))
        if unit.lower() in ("children", "count") or (not unit and _is_count(str(label))):
            value, fmt = round_count(value), COUNT
        elif fmt is None:
            fmt = COUNT if float(value).is_integer() else "#,##0.0"
        rows.append((str(label), value, "£" if fmt == GBP else unit, fmt))
    table = pd.DataFrame([r[:3] for r in rows], columns=["Measure", "Value", "Unit"])
    add_table(sheet, table, name="Summary")
    for r, (*_, fmt) in enumerate(rows, start=2):
        sheet.cell(row=r, column=2).number_format = fmt
    print_setup(sheet)
    set_widths(sheet)
    return text


def _plain(frame: pd.DataFrame, names: Mapping[str, str] | None) -> pd.DataFrame:
    """Code values in words: lines, kinds, measures, states, groups, scenarios, yes/no."""
    out = frame.copy()
    if "line" in out.columns and "kind" in out.columns:
        out["line"] = [
            line_name(k, v, names) for k, v in zip(out["kind"], out["line"], strict=True)
        ]
    for column in ("kind", "measure", "state", "placement_group", "scenario"):
        if column in out.columns:
            out[column] = [display_name(v, names) if pd.notna(v) else None for v in out[column]]
    if "complete" in out.columns:
        out["complete"] = ["Yes" if bool(v) else "No" for v in out["complete"]]
    return out


def _headers(frame: pd.DataFrame, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    return frame.rename(columns={c: display_name(c, names) for c in frame.columns})


def savings_sheet(
    sheet: Worksheet, savings: pd.DataFrame | None, names: Mapping[str, str] | None
) -> None:
    """Paired savings against the baseline, or a note that this run is the baseline."""
    if savings is None or savings.empty:
        note = pd.DataFrame({"Note": ["No scenario compared: this run is the baseline."]})
        add_table(sheet, note, name="Savings")
    else:
        frame = _headers(_plain(savings, names), names)
        money = [display_name(c) for c in ("p10", "p50", "p90", "mean", "target")]
        formats = {c: GBP for c in money} | {display_name("p_meets_target"): SHARE}
        add_table(sheet, frame, name="Savings", formats=formats)
    print_setup(sheet)
    set_widths(sheet)


def demand_sheet(sheet: Worksheet, demand: pd.DataFrame) -> None:
    """Children by placement group against in-house places, counts as whole numbers."""
    frame = _plain(demand, None)
    if "month" in frame.columns:
        frame["month"] = [pd.Timestamp(m).date() if pd.notna(m) else None for m in frame["month"]]
    counts = [c for c in frame.columns if c not in ("month", "placement_group", "scenario")]
    for column in counts:
        frame[column] = [round_count(v) for v in pd.to_numeric(frame[column], errors="coerce")]
    frame = frame.astype(object).where(frame.notna(), None)
    formats = {display_name(c): COUNT for c in counts} | {display_name("month"): DATE}
    add_table(sheet, _headers(frame), name="Demand", formats=formats)
    print_setup(sheet)
    set_widths(sheet)


def sufficiency_headers() -> dict[str, str]:
    """The sufficiency sheet's header for each column of the sufficiency table."""
    headers = {
        "quarter_end": "Quarter end",
        "inhouse_group": "In-house group",
        "external_group": "External group",
        "target_share": "Target in-house share",
    }
    for measure, label in SUFFICIENCY_MEASURES.items():
        headers |= {
            f"{measure}_median": f"{label}: median",
            f"{measure}_p10": f"{label}: P10 (low)",
            f"{measure}_p90": f"{label}: P90 (high)",
        }
    return headers


def sufficiency_sheet(sheet: Worksheet, sufficiency: pd.DataFrame | None) -> None:
    """Each quarter end and in-house group: children needing that kind of placement, places,
    children placed in-house and externally (for want of a place, by preference or need)
    and places needed for the target share; medians and P10/P90 across futures, whole
    children (:func:`care_demand.outputs.sufficiency.sufficiency_table`)."""
    if sufficiency is None or sufficiency.empty:
        note = pd.DataFrame({"Note": ["This run has no sufficiency table."]})
        add_table(sheet, note, name="Sufficiency")
    else:
        headers = sufficiency_headers()
        frame = sufficiency[[c for c in headers if c in sufficiency.columns]].copy()
        frame["quarter_end"] = [pd.Timestamp(d).date() for d in frame["quarter_end"]]
        for column in ("inhouse_group", "external_group"):
            frame[column] = [display_name(v) for v in frame[column]]
        counts = [c for c in frame.columns if c.endswith(("_median", "_p10", "_p90"))]
        for column in counts:
            frame[column] = [round_count(v) for v in pd.to_numeric(frame[column])]
        frame["target_share"] = pd.to_numeric(frame["target_share"])
        frame = frame.astype(object).where(frame.notna(), None)
        formats = {headers[c]: COUNT for c in counts} | {
            headers["quarter_end"]: DATE,
            headers["target_share"]: SHARE,
        }
        add_table(sheet, frame.rename(columns=headers), name="Sufficiency", formats=formats)
    print_setup(sheet, freeze="C2")
    set_widths(sheet)


FLOW_HEADERS: dict[str, str] = {
    "label": "Flow",
    "financial_year": "Financial year",
    "kind": "Recorded or projected",
    "part_year": "Part year projected",
    "value": "Children (recorded count; projected mean)",
    "note": "Note",
}


def flows_sheet(sheet: Worksheet, flows: pd.DataFrame | None) -> None:
    """Recorded and projected moves per financial year, as ``flows_by_year.csv`` has them:
    recorded counts whole (blank where suppressed, with a note), projected means to one
    decimal place (:func:`care_demand.outputs.flows.flows_by_year`); a comparison's have
    every scenario's, stacked, with a ``scenario`` column."""
    if flows is None or flows.empty:
        add_table(sheet, pd.DataFrame({"Note": ["This run has no flows table."]}), name="Flows")
        print_setup(sheet)
        set_widths(sheet)
        return
    frame = flows.copy()
    values = pd.to_numeric(frame["value"], errors="coerce")
    hidden = values.isna() & frame["value"].astype(str).str.len().gt(0)
    frame["value"] = [None if pd.isna(v) else float(v) for v in values]
    frame["note"] = [SUPPRESSED if h else None for h in hidden]
    frame["part_year"] = ["yes" if str(p).lower() == "true" else None for p in frame["part_year"]]
    headers = ({"scenario": "Scenario"} if "scenario" in frame else {}) | FLOW_HEADERS
    frame = frame[list(headers)].astype(object).where(frame.notna(), None)
    write_note(sheet, 1, "Moves per financial year: recorded, then projected", bold=True)
    write_note(
        sheet,
        2,
        "Recorded: counts from the council's returns, blank where suppressed (the Note says "
        "so). Projected: the mean across the simulated futures, so years and reasons add up.",
    )
    add_table(
        sheet,
        frame.rename(columns=headers),
        top=4,
        name="Flows",
        formats={FLOW_HEADERS["value"]: "#,##0.0"},
    )
    print_setup(sheet, title_rows="4:4", freeze="A5")
    set_widths(sheet, skip_rows=(1, 2))


_DIFFERENCES = ("baseline_mean", "scenario_mean", "diff_mean", "diff_p10", "diff_p50", "diff_p90")


def _difference_sheet(
    sheet: Worksheet, frame: pd.DataFrame, name: str, notes: tuple[str, str], number: str
) -> None:
    """A table of paired differences from the baseline under a title and a note."""
    write_note(sheet, 1, notes[0], bold=True)
    write_note(sheet, 2, notes[1])
    formats = {display_name(c): number for c in _DIFFERENCES}
    add_table(sheet, _headers(frame), top=4, name=name, formats=formats)
    print_setup(sheet, title_rows="4:4", freeze="A5")
    set_widths(sheet, skip_rows=(1, 2))


def flow_differences_sheet(
    sheet: Worksheet, flows: pd.DataFrame, names: Mapping[str, str] | None
) -> None:
    """Each scenario's paired differences in flows from the baseline, per financial year and
    over the projection (:func:`care_demand.outputs.mechanism.flow_differences`)."""
    frame = _plain(flows, names)
    frame["part_year"] = ["yes" if bool(p) else None for p in frame["part_year"]]
    frame = frame[["scenario", "financial_year", "part_year", "label", *_DIFFERENCES]]
    notes = (
        "How each scenario works: moves per financial year, scenario minus baseline",
        "Taken within each simulated future (common random numbers), then the mean and the 80% "
        "interval (P10-P90) across futures. A span of years is the whole projection.",
    )
    _difference_sheet(
        sheet, frame.astype(object).where(frame.notna(), None), "Flows", notes, "#,##0.0"
    )


def cost_bridge_sheet(
    sheet: Worksheet, bridge: pd.DataFrame, names: Mapping[str, str] | None
) -> None:
    """Each scenario's cost bridge from the baseline by budget line, per financial year and
    over the complete years (:func:`care_demand.outputs.mechanism.cost_bridge`)."""
    frame = _plain(bridge, names)
    frame["group"] = [display_name(f"bridge:{g}") for g in bridge["group"]]
    frame = frame[["scenario", "financial_year", "complete", "group", "line", *_DIFFERENCES]]
    notes = (
        "Cost bridge: from the baseline's cost to the scenario's, by budget line (£, cash)",
        "Scenario minus baseline within each simulated future; the lines' means add up to the "
        "total's. A span of years is the complete financial years together.",
    )
    _difference_sheet(sheet, frame, "Bridge", notes, GBP)


_KEY = re.compile(r"^([a-z0-9_]+)\b")


def assumptions_sheet(sheet: Worksheet, assumptions: pd.DataFrame) -> None:
    """Every cost assumption with its unit, price year and source; values by unit."""
    frame = assumptions.copy()
    if "item" in frame.columns:
        frame["item"] = [
            _KEY.sub(lambda m: display_name(m.group(1)), str(v), count=1)
            if _KEY.match(str(v)) and display_name(_KEY.match(str(v)).group(1)) != str(v)
            else v
            for v in frame["item"]
        ]
    add_table(sheet, _headers(frame), name="Assumptions")
    if "unit" in assumptions.columns:
        value_col = list(assumptions.columns).index("value") + 1
        for r, unit in enumerate(assumptions["unit"].astype(str), start=2):
            cell = sheet.cell(row=r, column=value_col)
            if is_number(cell.value):
                cell.number_format = unit_format(unit) or "General"
    print_setup(sheet)
    set_widths(sheet)


def details_sheet(sheet: Worksheet, details: Mapping[str, object]) -> None:
    """The run's record (version, seed, fingerprints), every value as text."""
    rows = []
    for key, value in details.items():
        if isinstance(value, Mapping | list | tuple):
            value = json.dumps(value, default=str)
            if len(value) > _MAX_CELL_TEXT:
                value = value[: _MAX_CELL_TEXT - 40] + " ... (truncated: see run_details.json)"
        elif isinstance(value, dt.datetime):
            value = f"{value:%d %b %Y %H:%M}"
        elif isinstance(value, dt.date):
            value = f"{value:%d %b %Y}"
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        rows.append((display_name(key), "" if value is None else str(value)))
    frame = pd.DataFrame(rows, columns=["Item", "Value"])
    frame["Value"] = frame["Value"].replace("", "not recorded")
    add_table(sheet, frame, name="Run_details")
    print_setup(sheet)
    set_widths(sheet)


def publication_sheet(sheet: Worksheet, table: pd.DataFrame, note: str) -> None:
    """Published counts: numbers where shown, blank where suppressed (the Note says so)."""
    frame = _plain(table, None)
    count_columns = [c for c in table.columns if c not in ("date", "state", "placement_group")]
    hidden = pd.Series(False, index=frame.index)
    markers: set[str] = set()
    for column in count_columns:
        values = pd.to_numeric(table[column], errors="coerce")
        shown_as_text = table[column].notna() & values.isna()
        markers |= {str(v) for v in table.loc[shown_as_text, column]}
        hidden |= shown_as_text
        frame[column] = [round_count(v) for v in values]
    if "date" in frame.columns:
        frame["date"] = [pd.Timestamp(d).date() if pd.notna(d) else None for d in frame["date"]]
    frame["note"] = [SUPPRESSED if h else None for h in hidden]
    frame = frame.astype(object).where(frame.notna(), None)
    write_note(sheet, 1, "Recorded children at 31 March, under disclosure control", bold=True)
    write_note(
        sheet,
        2,
        f"Blank cells are suppressed (marked '{SUPPRESSED}' in the Note column"
        + (f"; the published CSV shows them as {', '.join(sorted(markers))}" if markers else "")
        + "). "
        + (f"The rule: {note}" if note else ""),
    )
    formats = {display_name(c): COUNT for c in count_columns} | {display_name("date"): DATE}
    add_table(sheet, _headers(frame), top=4, name="Publication", formats=formats)
    print_setup(sheet, title_rows="4:4", freeze="A5")
    set_widths(sheet, skip_rows=(1, 2))
