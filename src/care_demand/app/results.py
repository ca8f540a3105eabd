"""What the browser app's Results and Past runs pages show, as plain functions.

Everything is read from run folders through :data:`care_demand.outputs.layout.LAYOUT` and
:func:`care_demand.outputs.run_files.read_run`: the app has no results format of its own.
A *sweep* is a folder of run folders with a ``comparison/`` (a run of the app, or a
``care-demand -m`` multirun); a single run folder is read the same way, its headline
figures computed by :func:`care_demand.outputs.comparison.compare_runs` from its files.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from care_demand.outputs.comparison import KEY_MEASURES, compare_runs
from care_demand.outputs.layout import LAYOUT
from care_demand.outputs.run_files import read_run
from care_demand.outputs.sufficiency import SUFFICIENCY_MEASURES
from care_demand.outputs.workbook_names import line_name

__all__ = [
    "HEADLINE_MEASURES",
    "HeadlineCell",
    "ResultsView",
    "cost_lines_table",
    "cost_years_table",
    "csv_zip",
    "format_interval",
    "format_value",
    "list_runs",
    "open_results",
    "savings_table",
    "sufficiency_table",
]

# The headline figures, in the order shown, with their labels.
HEADLINE_MEASURES: dict[str, str] = {
    "children_in_care": KEY_MEASURES["children_in_care"],
    "external_placements": KEY_MEASURES["external_placements"],
    "shortfall": "In-house shortfall (placed externally for want of an in-house place)",
    "out_of_area": KEY_MEASURES["out_of_area"],
    "cost": "Cost over the whole financial years projected",
}


def format_value(value: float, measure: str, signed: bool = False) -> str:
    """A figure as the page shows it: children to the nearest one, costs in £ millions."""
    if measure == "cost":
        sign = "+" if signed and value > 0 else ""
        text = f"£{abs(value) / 1e6:,.2f}m"
        return f"-{text}" if value < 0 else f"{sign}{text}"
    rounded = round(value)
    if signed:
        return f"{rounded:+,d}" if rounded else "0"
    return f"{rounded:,d}"


def format_interval(p50: float, p10: float, p90: float, measure: str, signed: bool = False) -> str:
    """``P50 (P10 to P90)`` as the page shows it."""
    return (
        f"{format_value(p50, measure, signed)} ({format_value(p10, measure, signed)} to "
        f"{format_value(p90, measure, signed)})"
    )


@dataclass(frozen=True)
class HeadlineCell:
    """One figure of the headline table: the scenario, measure, what it is and its text."""

    scenario: str
    measure: str
    kind: str  # "value" or "difference"
    text: str


@dataclass(frozen=True)
class ResultsView:
    """A sweep or run folder as the Results page shows it."""

    path: Path
    title: str
    scenarios: list[str]
    headline: pd.DataFrame  # compare_runs' headline: scenario, period, measure, p10.. diff_p90
    chart: Path | None
    report: Path | None
    workbook: Path | None
    failed: dict[str, str]
    is_sweep: bool
    # Each scenario's run folder and title, by its name.
    runs: dict[str, Path] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)

    def title_of(self, name: str) -> str:
        """A scenario's title as its file gives it (its name in words without one)."""
        return self.titles.get(name) or _title(name)

    def cells(self) -> list[HeadlineCell]:
        """Every figure of the headline table, scenario by scenario."""
        out: list[HeadlineCell] = []
        for _, row in self.headline.iterrows():
            measure = str(row["measure"])
            out.append(
                HeadlineCell(
                    str(row["scenario"]),
                    measure,
                    "value",
                    format_interval(row["p50"], row["p10"], row["p90"], measure),
                )
            )
            if "diff_p50" in row and pd.notna(row["diff_p50"]):
                text = format_interval(
                    row["diff_p50"], row["diff_p10"], row["diff_p90"], measure, signed=True
                )
                out.append(HeadlineCell(str(row["scenario"]), measure, "difference", text))
        return out

    def table(self) -> pd.DataFrame:
        """The headline as a table: one row per measure; per scenario its value and difference."""
        cells = {(c.scenario, c.measure, c.kind): c.text for c in self.cells()}
        rows = []
        for measure, label in HEADLINE_MEASURES.items():
            row = {"Measure": label}
            present = False
            for name in self.scenarios:
                value = cells.get((name, measure, "value"))
                present = present or value is not None
                row[self.title_of(name)] = value or "-"
                if name != "baseline" and "baseline" in self.scenarios:
                    row[f"{self.title_of(name)} minus baseline"] = cells.get(
                        (name, measure, "difference"), "-"
                    )
            if present:
                rows.append(row)
        return pd.DataFrame(rows)


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _is_sweep(path: Path) -> bool:
    return (path / LAYOUT.comparison.dir).is_dir()


def _scenario_runs(path: Path) -> dict[str, Path]:
    """The run folders of a sweep (or the one run folder) by scenario name."""
    folders = [path] if (path / LAYOUT.status).is_file() else sorted(path.iterdir())
    out: dict[str, Path] = {}
    for folder in folders:
        if (folder / LAYOUT.run_details).is_file():
            out.setdefault(read_run(folder).scenario, folder)
    return out


def _financial_year(period: object) -> str:
    """``2023-03-31`` -> ``2022/23`` (the year ending on that 31 March); a year as given,
    ``total`` as "All years projected"."""
    if str(period) == "total":
        return "All years projected"
    if "/" in str(period):
        return str(period)
    end = pd.Timestamp(str(period)).year
    return f"{end - 1}/{end % 100:02d}"


def open_results(path: str | Path) -> ResultsView:
    """Read a sweep (with ``comparison/``) or a single run folder for the Results page."""
    path = Path(path)
    names = LAYOUT.comparison
    if _is_sweep(path):
        comparison = path / names.dir
        headline_file = comparison / names.headline
        headline = pd.read_csv(headline_file) if headline_file.is_file() else pd.DataFrame()
        failed = {}
        failed_file = comparison / names.failed
        if failed_file.is_file():
            import json

            failed = json.loads(failed_file.read_text(encoding="utf-8"))
        chart = comparison / names.charts_dir / "fan_overlaid.png"
        report = comparison / names.report
        workbook = comparison / names.workbook
        title = f"Scenarios compared with the baseline ({path.name})"
    else:
        run = read_run(path)
        comparison = compare_runs([path])
        headline, failed = comparison.headline, comparison.failed
        chart = path / LAYOUT.fan_chart
        report = path / LAYOUT.report
        workbook = path / LAYOUT.workbook
        title = f"{run.title} ({path.name})"
    scenarios = list(dict.fromkeys(headline.get("scenario", pd.Series(dtype=str)).astype(str)))
    runs = _scenario_runs(path)
    titles = {name: read_run(folder).title for name, folder in runs.items()}
    return ResultsView(
        path=path,
        title=title,
        scenarios=scenarios,
        headline=headline,
        chart=chart if chart.is_file() else None,
        report=report if report.is_file() else None,
        workbook=workbook if workbook.is_file() else None,
        failed=failed,
        is_sweep=_is_sweep(path),
        runs=runs,
        titles=titles,
    )


def cost_years_table(view: ResultsView) -> pd.DataFrame:
    """Total cost per financial year: each scenario's P50 (P10 to P90) and its difference.

    From the comparison's yearly figures (``comparison_by_year.csv``); empty for a single
    run folder, whose costs by line are in :func:`cost_lines_table`.
    """
    file = view.path / LAYOUT.comparison.dir / LAYOUT.comparison.by_year
    if not file.is_file():
        return pd.DataFrame()
    table = pd.read_csv(file)
    table = table[table["measure"] == "cost"]
    rows: dict[str, dict[str, str]] = {}
    for _, r in table.iterrows():
        name = str(r["scenario"])
        row = rows.setdefault(_financial_year(r["period"]), {})
        row[view.title_of(name)] = format_interval(r["p50"], r["p10"], r["p90"], "cost")
        if pd.notna(r.get("diff_p50")):
            row[f"{view.title_of(name)} minus baseline"] = format_interval(
                r["diff_p50"], r["diff_p10"], r["diff_p90"], "cost", signed=True
            )
    out = pd.DataFrame.from_dict(rows, orient="index")
    return out.reset_index(names="Financial year (to 31 March)")


def savings_table(view: ResultsView) -> pd.DataFrame:
    """Each scenario's savings against the baseline per financial year, with the target.

    Saving and cumulative saving as P50 (P10 to P90) and the chance that the cumulative
    saving meets the cumulative target, from the comparison's ``savings.csv``.
    """
    file = view.path / LAYOUT.comparison.dir / LAYOUT.comparison.savings
    if not file.is_file():
        return pd.DataFrame()
    table = pd.read_csv(file)
    table = table[(table["kind"] == "total") & (table["line"] == "total")]
    rows = []
    for (name, year), group in table.groupby(["scenario", "financial_year"], sort=False):
        by = group.set_index("measure")
        row = {"Scenario": view.title_of(str(name)), "Financial year": str(year)}
        for measure, label in (("saving", "Saving"), ("cumulative_saving", "Cumulative saving")):
            if measure in by.index:
                r = by.loc[measure]
                row[label] = format_interval(r["p50"], r["p10"], r["p90"], "cost", signed=True)
        if "cumulative_saving" in by.index:
            r = by.loc["cumulative_saving"]
            target = r.get("target")
            row["Cumulative target"] = (
                format_value(float(target), "cost") if pd.notna(target) else "-"
            )
            chance = r.get("p_meets_target")
            row["Chance of meeting it"] = f"{float(chance):.0%}" if pd.notna(chance) else "-"
        rows.append(row)
    return pd.DataFrame(rows)


def cost_lines_table(view: ResultsView, scenario: str) -> pd.DataFrame:
    """One scenario's mean cost by budget line (rows) and financial year (columns).

    Means, because the lines of a year add up to its total only as means; the scenario's
    ``finance/cost_summary.csv`` holds the P10 and P90 of each. Lines with no cost are left
    out; fixed costs are named by their titles.
    """
    folder = view.runs.get(scenario)
    file = folder / LAYOUT.cost_summary if folder is not None else None
    if file is None or not file.is_file():
        return pd.DataFrame()
    costs = pd.read_csv(file)
    costs = costs[~costs["financial_year"].astype(str).str.contains(" to ")]
    titles = _fixed_cost_titles(folder)
    costs = costs.assign(
        line_label=[
            line_name(k, ln, titles) for k, ln in zip(costs["kind"], costs["line"], strict=True)
        ]
    )
    wide = costs.pivot_table(
        index="line_label", columns="financial_year", values="mean", sort=False, aggfunc="sum"
    )
    wide = wide[(wide.abs() > 0).any(axis=1)]
    total = [i for i in wide.index if i == line_name("total", "total")]
    wide = wide.loc[[i for i in wide.index if i not in total] + total]
    text = wide.map(lambda v: format_value(float(v), "cost"))
    text.columns.name = None
    return text.reset_index(names="Budget line (mean cost)")


def sufficiency_table(view: ResultsView, scenario: str, group: str) -> pd.DataFrame:
    """One scenario's sufficiency at each quarter end for an in-house group, as text.

    The measures of :data:`care_demand.outputs.sufficiency.SUFFICIENCY_MEASURES` across,
    quarters down: median (P10 to P90), from the run's ``finance/sufficiency_by_quarter.csv``
    (each figure worked out within a future, then summarised, as in the report).
    """
    folder = view.runs.get(scenario)
    table = read_run(folder).sufficiency if folder is not None else None
    if table is None or table.empty:
        return pd.DataFrame()
    rows = table[table["inhouse_group"] == group].sort_values("quarter_end")
    out = pd.DataFrame(
        {"Quarter end": [f"{pd.Timestamp(d):%-d %b %Y}" for d in rows["quarter_end"]]}
    )
    for measure, label in SUFFICIENCY_MEASURES.items():
        out[label] = [
            format_interval(a, b, c, "children")
            for a, b, c in zip(
                rows[f"{measure}_median"],
                rows[f"{measure}_p10"],
                rows[f"{measure}_p90"],
                strict=True,
            )
        ]
    return out


def _fixed_cost_titles(folder: Path) -> dict[str, str]:
    """Titles of the run's fixed costs by key, where its settings give them."""
    fixed = read_run(folder).config.get("costs", {}).get("fixed", {}) or {}
    return {k: str(v["title"]) for k, v in fixed.items() if isinstance(v, dict) and v.get("title")}


def csv_zip(path: str | Path) -> bytes:
    """Every CSV table of a sweep or run folder, zipped with their folders' names."""
    path = Path(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(path.rglob("*.csv")):
            relative = file.relative_to(path)
            if any(part.startswith(".") for part in relative.parts):  # staging, Hydra
                continue
            archive.write(file, relative.as_posix())
    return buffer.getvalue()


def list_runs(outputs: str | Path) -> dict[str, str]:
    """Every sweep and run folder under ``outputs``: path -> a label, newest first.

    Run folders inside a sweep are listed too (each can be opened on its own).
    """
    outputs = Path(outputs)
    if not outputs.is_dir():
        return {}
    found: dict[Path, str] = {}
    for status in outputs.rglob(LAYOUT.status):
        folder = status.parent
        if any(part.startswith(".") for part in folder.relative_to(outputs).parts):
            continue
        found[folder] = f"run: {read_run(folder).scenario}"
        if _is_sweep(folder.parent):
            found[folder.parent] = "scenarios compared"
    order = sorted(found, key=lambda p: (p.stat().st_mtime, str(p)), reverse=True)
    return {str(p): f"{p.relative_to(outputs)} ({found[p]})" for p in order}
