"""The finance workbook: sheets, number cells and formats, totals equal to the CSVs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from care_demand import vocab
from care_demand.finance import (
    CostConfig,
    cost_assumptions,
    cost_replicates,
    cost_summary,
    savings,
)
from care_demand.outputs.run_folder import RunFolder
from care_demand.outputs.workbook import (
    COUNT,
    GBP,
    SHARE,
    SHEETS,
    demand_capacity_table,
    write_workbook,
)
from care_demand.simulation.runner import quantile_table

START = "2022-04-30"


def replicates(n: int = 6, months: int = 24, ifa_days: float = 300.0) -> pd.DataFrame:
    """A small replicate table with every measure costing and the demand table need."""
    rng = np.random.default_rng(12)
    month_ends = pd.date_range(START, periods=months, freq="ME")
    frames = []

    def add(rep: int, measure: str, category: str, values: np.ndarray) -> None:
        frames.append(
            pd.DataFrame(
                {
                    "replicate": rep,
                    "month": month_ends,
                    "measure": measure,
                    "category": category,
                    "age_band": "all",
                    "value": values,
                }
            )
        )

    for rep in range(n):
        for group in vocab.PLACEMENT_GROUPS:
            days = rng.poisson(ifa_days if group == vocab.IFA else 200.0, months).astype(float)
            add(rep, "placement_days", group, days)
            add(rep, "children", group, np.round(days / 30.0))
        for state in (*vocab.STATES, "care", "care_leaver_21_plus"):
            add(rep, "children", state, rng.poisson(50.0, months).astype(float))
        for group in (vocab.INHOUSE_FOSTER, vocab.INHOUSE_RESIDENTIAL):
            add(rep, "capacity", group, np.full(months, 8.0))
            add(rep, "shortfall", group, rng.poisson(2.0, months).astype(float))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def tables() -> dict[str, object]:
    costs = CostConfig()
    base_reps = replicates()
    base = cost_replicates(base_reps, costs, seed=3)
    scenario = cost_replicates(replicates(ifa_days=250.0), costs, seed=3)
    return {
        "summary": {
            "Children in care, March 2024, P50": 431.0,
            "Cost 2022/23 to 2023/24, P50 (£)": 61_234_567.8,
            "Probability of meeting the savings target": 0.35,
        },
        "costs": cost_summary(base),
        "savings": savings(base, scenario, costs),
        "demand_capacity": demand_capacity_table(quantile_table(base_reps)),
        "assumptions": cost_assumptions(costs),
        "run_details": {
            "package_version": "0.1.0",
            "seed": 20220331,
            "data_fingerprint": "abc123",
            "date": dt.datetime(2026, 11, 22, 9, 51),
            "config": {"costs": {"discount_rate": 0.035}},
        },
    }


@pytest.fixture(scope="module")
def workbook_path(tmp_path_factory: pytest.TempPathFactory, tables: dict[str, object]) -> Path:
    folder = tmp_path_factory.mktemp("run")
    with RunFolder(folder) as out:
        write_workbook(out.path("finance/workbook.xlsx"), **tables)  # type: ignore[arg-type]
        out.write_csv("finance/costs_summary.csv", tables["costs"])  # type: ignore[arg-type]
        out.write_csv("finance/savings_summary.csv", tables["savings"])  # type: ignore[arg-type]
    return folder / "finance" / "workbook.xlsx"


def is_number(value: object) -> bool:
    """A cell value stored as a number (whole numbers read back as int)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def sheet_frame(path: Path, name: str) -> tuple[list[str], list[tuple]]:
    sheet = load_workbook(path)[name]
    rows = list(sheet.iter_rows(values_only=True))
    return list(rows[0]), rows[1:]


def test_sheets_headers_and_widths(workbook_path: Path) -> None:
    book = load_workbook(workbook_path)
    assert book.sheetnames == list(SHEETS)
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert all(cell.font.bold for cell in sheet[1] if cell.value is not None), sheet.title
        assert sheet.column_dimensions["A"].width >= 8, sheet.title
    costs = book["Costs by line and year"]
    # The widest column is sized to its contents, not left at Excel's default.
    assert max(d.width for d in costs.column_dimensions.values()) > 13


def test_numbers_are_numbers_with_formats(workbook_path: Path) -> None:
    book = load_workbook(workbook_path)
    costs = book["Costs by line and year"]
    header = [c.value for c in costs[1]]
    for name in ("p10", "p50", "p90", "mean"):
        column = header.index(name) + 1
        cells = [row[0] for row in costs.iter_rows(min_row=2, min_col=column, max_col=column)]
        assert cells and all(c.data_type == "n" and is_number(c.value) for c in cells)
        assert {c.number_format for c in cells} == {GBP}
    savings_sheet = book["Savings vs baseline"]
    header = [c.value for c in savings_sheet[1]]
    share = header.index("p_meets_target") + 1
    shares = [
        row[0]
        for row in savings_sheet.iter_rows(min_row=2, min_col=share, max_col=share)
        if row[0].value is not None
    ]
    assert shares and {c.number_format for c in shares} == {SHARE}
    demand = book["Placement demand vs capacity"]
    header = [c.value for c in demand[1]]
    p50 = header.index("children_p50") + 1
    assert {row[0].number_format for row in demand.iter_rows(min_row=2, min_col=p50)} == {COUNT}
    assert isinstance(demand.cell(row=2, column=header.index("month") + 1).value, dt.datetime)
    summary = book["Summary"]
    assert summary["B3"].number_format == GBP and summary["B3"].value == 61_234_567.8
    assert summary["B2"].number_format == COUNT and summary["B4"].number_format == SHARE
    details = {row[0]: row[1] for row in book["Run details"].iter_rows(min_row=2, values_only=True)}
    assert details["seed"] == 20220331 and isinstance(details["date"], dt.datetime)


def test_assumptions_keep_units_and_sources(workbook_path: Path, tables) -> None:
    header, rows = sheet_frame(workbook_path, "Assumptions")
    assert header == list(tables["assumptions"].columns)
    book = load_workbook(workbook_path)["Assumptions"]
    value_col = header.index("value") + 1
    unit_col = header.index("unit") + 1
    for r in range(2, book.max_row + 1):
        unit, cell = book.cell(row=r, column=unit_col).value, book.cell(row=r, column=value_col)
        assert is_number(cell.value)
        if unit.startswith("GBP"):
            assert cell.number_format == GBP
    sources = [row[header.index("source")] for row in rows]
    assert all(sources)


def test_workbook_totals_equal_the_csv_totals(workbook_path: Path) -> None:
    folder = workbook_path.parent
    for sheet, csv, key in (
        ("Costs by line and year", "costs_summary.csv", ["financial_year", "kind", "line"]),
        (
            "Savings vs baseline",
            "savings_summary.csv",
            ["financial_year", "kind", "line", "measure"],
        ),
    ):
        header, rows = sheet_frame(workbook_path, sheet)
        book = pd.DataFrame(rows, columns=header).set_index(key)
        table = pd.read_csv(folder / csv).set_index(key)
        assert len(book) == len(table)
        totals_book = book.xs("total", level="line")["p50"]
        totals_csv = table.xs("total", level="line")["p50"]
        assert totals_book.to_numpy() == pytest.approx(totals_csv.to_numpy(), rel=1e-12)
        assert book["mean"].sum() == pytest.approx(table["mean"].sum(), rel=1e-12)


def test_a_baseline_run_says_no_scenario_was_compared(tmp_path: Path, tables) -> None:
    path = write_workbook(tmp_path / "baseline.xlsx", **{**tables, "savings": None})
    book = load_workbook(path)
    assert book.sheetnames == list(SHEETS)
    assert "baseline" in book["Savings vs baseline"]["A2"].value


def test_a_failed_write_leaves_the_earlier_workbook_intact(tmp_path: Path, tables) -> None:
    path = write_workbook(tmp_path / "workbook.xlsx", **tables)
    before = path.read_bytes()
    broken = {**tables, "costs": tables["costs"].drop(columns="p50")}
    with pytest.raises(ValueError, match="p50"):
        write_workbook(path, **broken)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["workbook.xlsx"]


def test_demand_capacity_table_from_quantiles() -> None:
    table = demand_capacity_table(quantile_table(replicates(n=4)))
    months = pd.to_datetime(table["month"]).dt.month
    assert set(months) <= {3, 6, 9, 12}
    assert set(table["placement_group"]) == set(vocab.PLACEMENT_GROUPS)
    inhouse = table["placement_group"].isin([vocab.INHOUSE_FOSTER, vocab.INHOUSE_RESIDENTIAL])
    assert (table.loc[inhouse, "capacity_p50"] == 8.0).all()
    assert table.loc[~inhouse, "capacity_p50"].isna().all()
    assert (table["children_p10"] <= table["children_p90"]).all()
    yearly = demand_capacity_table(quantile_table(replicates(n=4)), frequency="year")
    assert set(pd.to_datetime(yearly["month"]).dt.month) == {3}
    with pytest.raises(ValueError, match="frequency"):
        demand_capacity_table(quantile_table(replicates(n=2)), frequency="week")
