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
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from care_demand.outputs.comparison import KEY_MEASURES, compare_runs
from care_demand.outputs.layout import LAYOUT
from care_demand.outputs.run_files import read_run

__all__ = [
    "HEADLINE_MEASURES",
    "HeadlineCell",
    "ResultsView",
    "csv_zip",
    "format_interval",
    "format_value",
    "list_runs",
    "open_results",
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
                row[_title(name)] = value or "-"
                if name != "baseline" and "baseline" in self.scenarios:
                    row[f"{_title(name)} minus baseline"] = cells.get(
                        (name, measure, "difference"), "-"
                    )
            if present:
                rows.append(row)
        return pd.DataFrame(rows)


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _is_sweep(path: Path) -> bool:
    return (path / LAYOUT.comparison.dir).is_dir()


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
    )


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
