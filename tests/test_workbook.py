"""The finance workbook, opened with openpyxl as a finance officer would open it: a cover
that names the scenario and warns about invented data, costs by line and year that add up,
numbers stored as numbers, Excel tables and print set-up on every data sheet, whole children
and dates that are dates."""

from __future__ import annotations

import datetime as dt
import zipfile
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
    DATE,
    GBP,
    PUBLICATION_SHEET,
    SHARE,
    SHEETS,
    CoverDetails,
    RealTerms,
    demand_capacity_table,
    write_workbook,
)
from care_demand.outputs.workbook_sheets import SYNTHETIC_WARNING
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


COSTS = "Costs by line and year"
# 27 months from April 2022: two whole financial years and three months of 2024/25.
MONTHS = 27
REAL = RealTerms(price_year="2020/21", rate=0.02, line="general")


@pytest.fixture(scope="module")
def tables() -> dict[str, object]:
    costs = CostConfig()
    base_reps = replicates(months=MONTHS)
    base = cost_replicates(base_reps, costs, seed=3)
    scenario = cost_replicates(replicates(months=MONTHS, ifa_days=250.0), costs, seed=3)
    published = pd.DataFrame(
        {
            "date": ["2016-03-31", "2016-03-31", "2016-03-31", "2017-03-31"],
            "state": ["care", "care", "care", "care"],
            "placement_group": ["all", vocab.IFA, vocab.INHOUSE_FOSTER, "all"],
            # As published: text, the marker where a count is hidden.
            "children": pd.array(["57", "[c]", "52", "60"], dtype="string"),
        }
    )
    return {
        "summary": pd.DataFrame(
            {
                "item": [
                    "Scenario",
                    "Children in care, March 2024 (P50)",
                    "Cost 2022/23 to 2023/24, P50",
                    "Probability of meeting the savings target",
                ],
                "value": ["Baseline: today's capacity and trends", 57.5, 61_234_567.8, 0.35],
                "unit": ["", "children", "GBP", "probability"],
            }
        ),
        "costs": cost_summary(base),
        "savings": savings(base, scenario, costs),
        "demand_capacity": demand_capacity_table(quantile_table(base_reps)),
        "assumptions": cost_assumptions(costs),
        "run_details": {
            "package_version": "0.1.0",
            "synthetic_data": True,
            "scenario": "baseline",
            "seed": 20220331,
            "data_fingerprint": "abc123",
            "date": dt.datetime(2026, 11, 22, 9, 51),
            "config": {"costs": {"discount_rate": 0.035}},
        },
        "publication": published,
        "publication_note": "Recorded counts from 1 to 5 are shown as [c].",
        "cover": CoverDetails(
            council="built-in synthetic example",
            synthetic=True,
            scenario="Baseline: today's capacity and trends",
            run_date=dt.date(2026, 11, 22),
            data_to=dt.date(2022, 3, 31),
            seed=20220331,
        ),
        "real_terms": REAL,
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


def tables_of(sheet) -> list[tuple[str, list[str], list[list]]]:
    """Each Excel table of a sheet: its name, header and data rows, plus the row under it
    when that row is the block's total (bold, directly below the table)."""
    out = []
    for name in sheet.tables:
        cells = sheet[sheet.tables[name].ref]
        header = [c.value for c in cells[0]]
        rows = [list(row) for row in cells[1:]]
        below = cells[-1][0].row + 1
        first, last = cells[0][0].column, cells[0][-1].column
        extra = [sheet.cell(row=below, column=c) for c in range(first, last + 1)]
        if extra[0].value and extra[0].font.bold:
            rows.append(extra)
        out.append((name, header, rows))
    return out


def year_columns(header: list[str]) -> list[int]:
    return [i for i, h in enumerate(header) if h[:4].isdigit()]


def test_sheets_are_in_order_with_a_cover_first(workbook_path: Path) -> None:
    book = load_workbook(workbook_path)
    assert book.sheetnames == [*SHEETS, PUBLICATION_SHEET]
    assert book.sheetnames[0] == "Cover"


def test_every_data_sheet_has_a_table_and_prints_landscape_with_a_title_row(
    workbook_path: Path,
) -> None:
    book = load_workbook(workbook_path)
    for sheet in book.worksheets[1:]:
        assert sheet.tables, f"{sheet.title}: no Excel table"
        assert all(sheet.tables[n].autoFilter is not None for n in sheet.tables), sheet.title
        assert sheet.print_title_rows, f"{sheet.title}: no header row repeated when printed"
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
        assert "&A" in sheet.oddFooter.left.text and "&P" in sheet.oddFooter.right.text
        assert sheet.freeze_panes, f"{sheet.title}: header not frozen"
        for _, header, _ in tables_of(sheet):
            assert all(isinstance(h, str) and h for h in header), sheet.title
    # A header row at the top is what is repeated on each printed page.
    assert book["Summary"].print_title_rows == "$1:$1"
    assert book[PUBLICATION_SHEET].print_title_rows == "$4:$4"


def test_the_cover_names_the_scenario_and_warns_the_data_are_invented(
    workbook_path: Path, tables, tmp_path: Path
) -> None:
    cover = load_workbook(workbook_path)["Cover"]
    text = {c.value for row in cover.iter_rows() for c in row if isinstance(c.value, str)}
    facts = {row[0]: row[1] for row in cover.iter_rows(values_only=True) if row[0]}
    assert SYNTHETIC_WARNING in text and "invented" in SYNTHETIC_WARNING
    assert facts["Scenario"] == "Baseline: today's capacity and trends"
    assert facts["Council"] == "built-in synthetic example"
    assert facts["Recorded data up to"] == dt.datetime(2022, 3, 31)
    assert facts["Random seed"] == "20220331"
    assert "middle 80%" in facts["P10, P50, P90"] and "add up" in facts["Mean"]
    assert "2020/21 prices" in facts["Real terms"]
    assert "Recorded counts from 1 to 5" in facts["Suppressed cells"]
    # A council's own data: no warning, the council named.
    real = CoverDetails(council="Dorset", synthetic=False, scenario="Harbour expansion")
    path = write_workbook(tmp_path / "council.xlsx", **{**tables, "cover": real})
    cover = load_workbook(path)["Cover"]
    text = {c.value for row in cover.iter_rows() for c in row if isinstance(c.value, str)}
    assert SYNTHETIC_WARNING not in text and {"Dorset", "Harbour expansion"} <= text


def test_the_cover_defaults_to_the_run_details(tables, tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "plain.xlsx", **{**tables, "cover": None})
    facts = {r[0]: r[1] for r in load_workbook(path)["Cover"].iter_rows(values_only=True) if r[0]}
    assert facts["Scenario"] == "baseline" and facts["Council"] == "built-in synthetic example"
    assert facts["Run date"] == dt.datetime(2026, 11, 22, 9, 51)


def test_costs_lines_down_years_across_in_plain_english(workbook_path: Path) -> None:
    sheet = load_workbook(workbook_path)[COSTS]
    blocks = tables_of(sheet)
    # P10, P50, P90 and mean, each in cash and in real terms.
    assert len(blocks) == 8
    _, header, rows = blocks[0]
    assert header[0] == "Budget line"
    assert header[1:4] == ["2022/23", "2023/24", "2024/25 (part year)"]
    assert header[-1] == "Total, 2022/23 to 2024/25"
    lines = [row[0].value for row in rows]
    assert "Independent fostering agency placements" in lines
    assert "Child protection casework" in lines and "Harbour team" in lines
    assert lines[-1] == "Total, all lines"
    assert not {"ifa", "cp", "p50", "financial_year"} & {
        c.value for row in sheet.iter_rows() for c in row
    }
    titles = [c.value for (c,) in sheet.iter_rows(min_col=1, max_col=1) if c.font.bold]
    assert any(str(t).startswith("P50 (median)") for t in titles)
    assert "Real terms" in str(sheet["G2"].value) or any(
        "Real terms" in str(c.value) for c in sheet[2]
    )


def test_each_costs_total_column_is_the_sum_of_its_years(workbook_path: Path) -> None:
    sheet = load_workbook(workbook_path)[COSTS]
    checked = 0
    for name, header, rows in tables_of(sheet):
        years = year_columns(header)
        assert header[-1].startswith("Total"), name
        for row in rows:
            values = [row[i].value for i in years]
            assert all(is_number(v) for v in values), (name, row[0].value)
            assert row[-1].value == pytest.approx(sum(values), rel=1e-12), (name, row[0].value)
            checked += 1
    assert checked == 8 * 17  # every line and the total row of every block


def test_costs_blocks_agree_with_the_csv(workbook_path: Path, tables) -> None:
    costs = pd.read_csv(workbook_path.parent / "costs_summary.csv")
    total = costs[(costs["line"] == "total") & ~costs["financial_year"].str.contains(" to ")]
    by_block = {
        name: (header, rows)
        for name, header, rows in tables_of(load_workbook(workbook_path)[COSTS])
    }
    for stat in ("p10", "p50", "p90", "mean"):
        header, rows = by_block[f"Costs_{stat}_cash"]
        totals = [rows[-1][i].value for i in year_columns(header)]
        assert totals == pytest.approx(total[stat].tolist(), rel=1e-12)
        # Money is formatted as money and right-aligned.
        cell = rows[0][1]
        assert cell.number_format == GBP and cell.alignment.horizontal == "right"
        _, real_rows = by_block[f"Costs_{stat}_real"]
        for i, year in zip(year_columns(header), ("2022/23", "2023/24", "2024/25"), strict=True):
            assert real_rows[-1][i].value == pytest.approx(rows[-1][i].value * REAL.factor(year))
    # The mean adds up: its lines sum to its total row.
    header, rows = by_block["Costs_mean_cash"]
    for i in year_columns(header):
        assert sum(r[i].value for r in rows[:-1]) == pytest.approx(rows[-1][i].value, rel=1e-9)
    assert REAL.factor("2022/23") == pytest.approx(1.02**-2)


def test_no_text_in_a_numeric_column_anywhere(workbook_path: Path) -> None:
    book = load_workbook(workbook_path)
    numeric_columns = 0
    for sheet in book.worksheets[1:]:
        for name, header, rows in tables_of(sheet):
            for j, title in enumerate(header):
                column = [row[j] for row in rows]
                if any(is_number(c.value) for c in column):
                    numeric_columns += 1
                    text = [c.value for c in column if isinstance(c.value, str)]
                    assert not text, f"{sheet.title} / {name} / {title}: {text[:3]}"
                    assert all(
                        c.alignment.horizontal == "right" for c in column if is_number(c.value)
                    ), f"{sheet.title} / {title}"
    assert numeric_columns > 40


def test_numbers_carry_their_formats(workbook_path: Path) -> None:
    book = load_workbook(workbook_path)
    savings_sheet = book["Savings vs baseline"]
    assert len(savings_sheet.tables) == 1
    header = [c.value for c in savings_sheet[1]]
    share = header.index("Chance of meeting the target") + 1
    shares = [
        row[0]
        for row in savings_sheet.iter_rows(min_row=2, min_col=share, max_col=share)
        if row[0].value is not None
    ]
    assert shares and {c.number_format for c in shares} == {SHARE}
    summary = book["Summary"]
    assert [c.value for c in summary[1]] == ["Measure", "Value", "Unit"]
    assert summary["B3"].number_format == GBP and summary["B3"].value == 61_234_567.8
    assert summary["B4"].number_format == SHARE
    details = {r[0]: r[1] for r in book["Run details"].iter_rows(min_row=2, values_only=True)}
    assert details["Random seed"] == "20220331"


def test_counts_of_children_are_whole_numbers(workbook_path: Path) -> None:
    book = load_workbook(workbook_path)
    summary = book["Summary"]
    # A median of 57.5 children reads as 58, not 57.5; the scenario's title is on the cover.
    assert summary["A2"].value.startswith("Children in care")
    assert summary["B2"].value == 58 and isinstance(summary["B2"].value, int)
    assert summary["B2"].number_format == COUNT
    assert "Scenario" not in [c.value for (c,) in summary.iter_rows(max_col=1)]
    demand = book["Placement demand vs capacity"]
    header = [c.value for c in demand[1]]
    counts = [i for i, h in enumerate(header) if h.startswith(("Children", "In-house", "Placed"))]
    values = [row[i] for row in demand.iter_rows(min_row=2, values_only=True) for i in counts]
    numbers = [v for v in values if v is not None]
    assert len(numbers) > 100 and all(isinstance(v, int) for v in numbers)
    assert isinstance(demand["A2"].value, dt.datetime) and demand["A2"].number_format == DATE
    p50 = header.index("Children P50 (median)") + 1
    assert {row[0].number_format for row in demand.iter_rows(min_row=2, min_col=p50)} == {COUNT}


def test_publication_dates_are_dates_and_suppressed_cells_are_blank(workbook_path: Path) -> None:
    sheet = load_workbook(workbook_path)[PUBLICATION_SHEET]
    assert "Recorded counts from 1 to 5" in sheet["A2"].value and "[c]" in sheet["A2"].value
    header = [c.value for c in sheet[4]]
    assert header == ["Date", "Stage of care", "Placement group", "Children", "Note"]
    rows = list(sheet.iter_rows(min_row=5))
    assert all(isinstance(r[0].value, dt.datetime) for r in rows)
    assert {r[0].number_format for r in rows} == {"d mmm yyyy"}
    assert [r[3].value for r in rows] == [57, None, 52, 60]
    assert [r[4].value for r in rows] == [None, "Suppressed", None, None]
    assert rows[1][2].value == "Independent fostering agency"


def test_assumptions_keep_units_and_sources(workbook_path: Path, tables) -> None:
    sheet = load_workbook(workbook_path)["Assumptions"]
    header = [c.value for c in sheet[1]]
    assert header == ["Section", "Item", "Value", "Unit", "Price year", "Source"]
    for r in range(2, sheet.max_row + 1):
        unit, cell = sheet.cell(row=r, column=4).value, sheet.cell(row=r, column=3)
        assert is_number(cell.value)
        if unit.startswith("GBP"):
            assert cell.number_format == GBP
    assert all(sheet.cell(row=r, column=6).value for r in range(2, sheet.max_row + 1))


def test_savings_rows_equal_the_csv(workbook_path: Path) -> None:
    sheet = load_workbook(workbook_path)["Savings vs baseline"]
    rows = list(sheet.iter_rows(values_only=True))
    book = pd.DataFrame(rows[1:], columns=rows[0])
    table = pd.read_csv(workbook_path.parent / "savings_summary.csv")
    assert len(book) == len(table)
    assert book["Mean"].sum() == pytest.approx(table["mean"].sum(), rel=1e-12)
    total = book[book["Budget line"] == "Total, all lines"]["P50 (median)"]
    assert total.to_numpy() == pytest.approx(table[table["line"] == "total"]["p50"], rel=1e-12)


def test_a_multirun_workbook_has_blocks_for_each_scenario(tables, tmp_path: Path) -> None:
    costs = tables["costs"]
    stacked = pd.concat(
        [costs.assign(scenario=name) for name in ("baseline", "demand_surge")], ignore_index=True
    )
    path = write_workbook(
        tmp_path / "multi.xlsx",
        **{**tables, "costs": stacked, "names": {"demand_surge": "Demand surge"}},
    )
    sheet = load_workbook(path)[COSTS]
    assert len(sheet.tables) == 16
    titles = [str(c.value) for (c,) in sheet.iter_rows(min_col=1, max_col=1) if c.font.bold]
    assert any(t.startswith("Demand surge: P90") for t in titles)
    assert any(t.startswith("Baseline: P10") for t in titles)


def test_a_baseline_run_says_no_scenario_was_compared(tmp_path: Path, tables) -> None:
    path = write_workbook(tmp_path / "baseline.xlsx", **{**tables, "savings": None})
    book = load_workbook(path)
    assert book.sheetnames == [*SHEETS, PUBLICATION_SHEET]
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


def test_the_same_tables_give_the_same_bytes_stamped_with_the_run_date(
    workbook_path: Path, tables: dict[str, object], tmp_path: Path
) -> None:
    again = write_workbook(tmp_path / "again.xlsx", **tables)  # type: ignore[arg-type]
    assert again.read_bytes() == workbook_path.read_bytes()
    with zipfile.ZipFile(again) as archive:
        assert {part.date_time for part in archive.infolist()} == {(2026, 11, 22, 0, 0, 0)}
    properties = load_workbook(again).properties
    assert properties.created == properties.modified == dt.datetime(2026, 11, 22)
