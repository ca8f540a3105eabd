"""The notebooks run top to bottom on the example, so they never fall out of date."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from matplotlib.figure import Figure

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
QUICK_START = NOTEBOOKS / "01_quick_start.ipynb"
# Notebooks 02-04 open their settings with this line; the test adds the session's cache.
SETTINGS = "SETTINGS = ["


def execute(path: Path, calibration_cache: Path) -> dict[str, object]:
    """Run the notebook's code cells in order, sharing the session's calibration cache."""
    matplotlib.use("Agg")
    cells = json.loads(path.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert code, f"{path.name} has no code"
    assert SETTINGS in code[0], f"{path.name}: the first cell sets SETTINGS"
    namespace: dict[str, object] = {}
    for i, source in enumerate(code):
        source = source.replace(
            SETTINGS, f'{SETTINGS}"calibration.cache_dir={calibration_cache}", '
        )
        exec(compile(source, f"{path.name}[{i}]", "exec"), namespace)
    return namespace


@pytest.mark.slow
def test_quick_start_notebook_runs(calibration_cache: Path) -> None:
    path = QUICK_START
    matplotlib.use("Agg")
    cells = json.loads(path.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert code, f"{path.name} has no code"
    namespace: dict[str, object] = {}
    for i, source in enumerate(code):
        # Share the session's calibration cache so the example is sampled once.
        source = source.replace(
            '"simulation.replicates=20"',
            f'"simulation.replicates=20", "calibration.cache_dir={calibration_cache}"',
        )
        exec(compile(source, f"{path.name}[{i}]", "exec"), namespace)
    care = namespace["care"]
    assert len(care) == 36  # simulation.horizon_months=36 in the notebook
    assert (care["p10"] <= care["p90"]).all()


@pytest.mark.slow
def test_sufficiency_notebook_runs(calibration_cache: Path) -> None:
    ns = execute(NOTEBOOKS / "02_sufficiency_scenarios.ipynb", calibration_cache)
    gaps = ns["gaps"]
    assert isinstance(gaps, pd.DataFrame)
    assert set(gaps["scenario"]) == {"baseline", "more_foster_carers", "new_childrens_homes"}
    others = gaps[gaps["scenario"] != "baseline"]
    assert others["diff_p50"].notna().all()  # paired against the baseline
    inhouse = ns["inhouse"]
    assert isinstance(inhouse, pd.DataFrame)
    homes = inhouse[inhouse["placement_group"] == "inhouse_residential"]
    last = homes[homes["month"] == homes["month"].max()].set_index("scenario")
    # New homes mean more in-house residential places than the baseline has.
    assert last.loc["new_childrens_homes", "capacity_p50"] > last.loc["baseline", "capacity_p50"]
    assert isinstance(ns["charts"], dict) and "demand_capacity_by_scenario" in ns["charts"]


@pytest.mark.slow
def test_transformation_savings_notebook_runs(calibration_cache: Path) -> None:
    ns = execute(NOTEBOOKS / "03_transformation_savings.ipynb", calibration_cache)
    total = ns["total"]
    assert isinstance(total, pd.DataFrame)
    assert {"saving", "cumulative_saving", "npv_to_date"} <= set(total["measure"])
    cumulative = total[total["measure"] == "cumulative_saving"]
    assert cumulative["target"].notna().all() and (cumulative["target"] > 0).all()
    assert (total["p10"] <= total["p90"]).all()
    npv = ns["npv"]
    assert pd.notna(npv["p50"])
    by_line = ns["by_line"]
    assert isinstance(by_line, pd.DataFrame) and ("placements", "ifa") in by_line.index


@pytest.mark.slow
def test_strategy_charts_notebook_runs(calibration_cache: Path) -> None:
    ns = execute(NOTEBOOKS / "04_strategy_charts.ipynb", calibration_cache)
    assert ns["problems"] == []
    stocks = ns["stocks"]
    assert isinstance(stocks, pd.DataFrame) and (stocks["children"] == "[c]").any()
    written = ns["written"]
    assert isinstance(written, list)
    # Each of the seven charts as PNG, SVG and its alt-text file.
    assert {p.suffix for p in written} == {".png", ".svg", ".txt"} and len(written) == 21
    assert all(p.stat().st_size > 0 for p in written)
    charts = ns["charts"]
    assert isinstance(charts, dict)
    assert isinstance(charts["placement_mix"].draw(), Figure)
