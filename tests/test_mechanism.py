"""How a scenario works: paired flow differences and the cost bridge, on constructed runs."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from care_demand.finance import cost_summary
from care_demand.outputs.comparison import (
    compare_runs,
    write_comparison,
    write_comparison_workbook,
)
from care_demand.outputs.layout import LAYOUT
from care_demand.outputs.mechanism import is_clear, mechanism_summary
from care_demand.outputs.report import comparison_report_html

N = 40
YEARS = ("2024/25", "2025/26", "2026/27")  # the last covered in part
FLOWS = (
    "entries_to_care",
    "entries_to_care:10_15",
    "entries_to_care:16_17",
    "exits_from_care",
    "move:inhouse_to_external",
)
LINES = (("placements", "external_residential"), ("placements", "inhouse_residential"))


def _flows(rng: np.random.Generator) -> pd.DataFrame:
    rows = [
        {"replicate": r, "financial_year": y, "part_year": y == YEARS[-1], "flow": f}
        for r in range(N)
        for y in YEARS
        for f in FLOWS
    ]
    frame = pd.DataFrame(rows)
    frame["value"] = rng.poisson(30, len(frame))
    return frame


def _costs(rng: np.random.Generator, fixed: dict[str, float]) -> pd.DataFrame:
    rows = [
        {
            "replicate": r,
            "financial_year": y,
            "kind": k,
            "line": ln,
            "complete": y != YEARS[-1],
            "value": float(rng.gamma(50, 1e5)),
        }
        for r in range(N)
        for y in YEARS
        for k, ln in LINES
    ]
    rows += [
        {"replicate": r, "financial_year": y, "kind": "fixed", "line": name}
        | {"complete": y != YEARS[-1], "value": value}
        for name, value in fixed.items()
        for r in range(N)
        for y in YEARS
    ]
    return pd.DataFrame(rows)


def _run(folder: Path, name: str, flows: pd.DataFrame, costs: pd.DataFrame) -> Path:
    """A finished run folder with the files the comparison reads."""
    (folder / "projection").mkdir(parents=True)
    (folder / "finance").mkdir()
    (folder / LAYOUT.status).write_text(json.dumps({"scenario": name, "ok": True}))
    title = "Harbour expansion" if name != "baseline" else "Baseline"
    details = {"scenario": name, "config": {"scenario": {"name": name, "title": title}}}
    (folder / LAYOUT.run_details).write_text(json.dumps(details))
    months = pd.date_range("2024-04-30", periods=30, freq="ME")
    key = pd.DataFrame(
        [
            {"replicate": r, "month": m, "measure": "children_in_care", "value": 400}
            for r in range(N)
            for m in months
        ]
    )
    key.to_csv(folder / LAYOUT.key_measures, index=False)
    flows.to_csv(folder / LAYOUT.flows_by_replicate, index=False)
    costs.to_csv(folder / LAYOUT.costs_by_replicate, index=False)
    cost_summary(costs).to_csv(folder / LAYOUT.cost_summary, index=False)
    assumptions = pd.DataFrame({"section": ["costs"], "item": ["weekly"], "value": [1.0]})
    assumptions.to_csv(folder / LAYOUT.assumptions, index=False)
    demand = pd.DataFrame({"month": ["2025-03-31"], "placement_group": ["ifa"], "children_p50": 9})
    demand.to_csv(folder / LAYOUT.demand_capacity, index=False)
    return folder


@pytest.fixture
def pair(tmp_path: Path) -> tuple[list[Path], pd.DataFrame, pd.DataFrame]:
    """A baseline and a scenario sharing their futures: fewer adolescents enter care (by a
    different number in each future), external residential costs less, a team costs more."""
    rng = np.random.default_rng(7)
    base_flows = _flows(rng)
    averted = rng.integers(1, 6, size=N)  # per future, at least one
    scen_flows = base_flows.copy()
    teen = scen_flows["flow"] == "entries_to_care:10_15"
    scen_flows.loc[teen, "value"] -= averted[scen_flows.loc[teen, "replicate"]]
    base_costs = _costs(rng, {"harbour_team": 1e6})
    scen_costs = base_costs.copy()
    scen_costs.loc[scen_costs["line"] == "harbour_team", "value"] = 1.5e6
    hub = base_costs[base_costs["line"] == "harbour_team"].assign(line="hub", value=2e5)
    scen_costs = pd.concat([scen_costs, hub], ignore_index=True)
    ext = scen_costs["line"] == "external_residential"
    scen_costs.loc[ext, "value"] -= 3e5 * (1 + averted[scen_costs.loc[ext, "replicate"]])
    dirs = [
        _run(tmp_path / "0_baseline", "baseline", base_flows, base_costs),
        _run(tmp_path / "1_harbour", "harbour_expansion", scen_flows, scen_costs),
    ]
    return dirs, base_flows, scen_flows


def test_flow_differences_are_scenario_minus_baseline_within_each_future(pair) -> None:
    dirs, base, scen = pair
    flows = compare_runs(dirs).flows
    assert set(flows["scenario"]) == {"harbour_expansion"}
    merged = scen.merge(base, on=["replicate", "financial_year", "flow"], suffixes=("", "_b"))
    merged["diff"] = merged["value"] - merged["value_b"]
    for (year, flow), group in merged.groupby(["financial_year", "flow"]):
        row = flows[(flows["financial_year"] == year) & (flows["flow"] == flow)].iloc[0]
        assert row["diff_mean"] == pytest.approx(group["diff"].mean())
        assert row["diff_p10"] == pytest.approx(np.quantile(group["diff"], 0.1))
        assert row["diff_p90"] == pytest.approx(np.quantile(group["diff"], 0.9))
        assert row["baseline_mean"] == pytest.approx(group["value_b"].mean())
        assert bool(row["part_year"]) == (year == YEARS[-1])
    # Over the whole projection, per future; adolescents are both bands, per future.
    whole = merged.groupby(["flow", "replicate"])["diff"].sum()
    teen = whole["entries_to_care:10_15"] + whole["entries_to_care:16_17"]
    span = flows[flows["financial_year"] == "2024/25 to 2026/27"].set_index("flow")
    assert span.loc["entries_to_care:10_17", "diff_p10"] == pytest.approx(np.quantile(teen, 0.1))
    assert span.loc["entries_to_care:10_17", "diff_mean"] == pytest.approx(teen.mean())
    assert span.loc["entries_to_care:10_17", "diff_mean"] < 0
    assert span.loc["entries_to_care", "diff_mean"] == 0  # this scenario left the total alone
    assert span.loc["entries_to_care:10_17", "label"].startswith("Entries to care of adolescents")


def test_the_cost_bridge_sums_to_the_total_difference(pair) -> None:
    dirs, _, _ = pair
    comparison = compare_runs(dirs)
    bridge = comparison.bridge
    years = set(bridge["financial_year"])
    assert years == {*YEARS, "2024/25 to 2025/26"}  # the span: complete years only
    for year in years:
        rows = bridge[bridge["financial_year"] == year]
        lines = rows[rows["line"] != "total"]
        total = rows[rows["line"] == "total"].iloc[0]
        assert lines["diff_mean"].sum() == pytest.approx(total["diff_mean"], rel=1e-12)
        assert lines["baseline_mean"].sum() == pytest.approx(total["baseline_mean"], rel=1e-12)
        assert total["baseline_mean"] + total["diff_mean"] == pytest.approx(total["scenario_mean"])
    # The total is the comparison's own paired cost difference, year by year and in all.
    cost = comparison.by_year[comparison.by_year["measure"] == "cost"].set_index(
        ["scenario", "period"]
    )
    totals = bridge[bridge["line"] == "total"].set_index("financial_year")["diff_mean"]
    assert totals["2024/25"] == pytest.approx(
        cost.loc[("harbour_expansion", "2024/25"), "diff_mean"]
    )
    assert totals["2024/25 to 2025/26"] == pytest.approx(
        cost.loc[("harbour_expansion", "total"), "diff_mean"]
    )
    # A fixed cost only the scenario pays counts from zero; lines are grouped.
    span = bridge[bridge["financial_year"] == "2024/25 to 2025/26"].set_index("line")
    assert span.loc["hub", "diff_mean"] == pytest.approx(4e5)
    assert span.loc["hub", "group"] == "fixed"
    assert span.loc["inhouse_residential", "group"] == "inhouse"
    assert span.loc["external_residential", "group"] == "placements"
    assert span.loc["external_residential", "diff_p90"] < 0


def test_the_sentence_claims_only_what_the_interval_supports() -> None:
    assert is_clear(-5, -1) and is_clear(1, 4) and not is_clear(-2, 3) and not is_clear(0, 0)
    flows = pd.DataFrame(
        {
            "financial_year": ["2024/25 to 2028/29"] * 3,
            "flow": ["entries_to_care", "entries_to_care:10_17", "exits_from_care"],
            "baseline_mean": [500.0, 200.0, 480.0],
            "scenario_mean": [498.0, 186.0, 477.0],
            "diff_mean": [-2.0, -14.0, -2.6],
            "diff_p10": [-9.0, -22.0, -7.0],
            "diff_p90": [4.0, -6.0, 0.0],
        }
    )
    text = mechanism_summary(flows)
    assert "Over 2024/25 to 2028/29" in text
    assert "no clear change in children entering care" in text
    assert "14 fewer adolescents (aged 10 to 17) entering care (6 to 22 fewer)" in text
    # An interval reaching zero from one side: fewer on average, never more.
    assert "2.6 fewer exits from care on average (0 to 7.0 fewer)" in text


def test_the_report_and_workbook_show_how_the_scenario_works(pair, tmp_path: Path) -> None:
    dirs, _, _ = pair
    comparison = compare_runs(dirs)
    out = tmp_path / LAYOUT.comparison.dir
    written = {p.name for p in write_comparison(comparison, out)}
    assert {LAYOUT.comparison.flow_differences, LAYOUT.comparison.cost_bridge} <= written
    flows = pd.read_csv(out / LAYOUT.comparison.flow_differences, dtype={"financial_year": str})
    bridge = pd.read_csv(out / LAYOUT.comparison.cost_bridge, dtype={"financial_year": str})
    text = html.unescape(comparison_report_html(tmp_path))
    section = re.search(r"<section id='mechanism'>.*?</section>", text, re.S).group(0)
    assert "How each scenario works" in section and "Harbour expansion" in section
    # The flows table: a row per flow, the CSV's means with their intervals, right-aligned.
    span = flows[flows["financial_year"] == "2024/25 to 2026/27"].set_index("flow")
    teen = span.loc["entries_to_care:10_17"]
    row = re.search(
        r"<th scope='row'>Entries to care of adolescents \(aged 10 to 17\)</th>(.*?)</tr>", section
    ).group(1)
    cells = re.findall(r"<td class='num'>(.*?)</td>", row)

    def signed(value: float, decimals: int) -> str:  # "+3", "-1.5"; 0 has no sign
        text = f"{abs(value):.{decimals}f}"
        return text if float(text) == 0 else f"{'-' if value < 0 else '+'}{text}"

    assert cells[-1] == (
        f"{signed(teen['diff_mean'], 1)} ({signed(teen['diff_p10'], 0)} to "
        f"{signed(teen['diff_p90'], 0)})"
    )
    # The bridge table's five-year total is the CSV's, in £.
    total = bridge[(bridge["line"] == "total") & (bridge["financial_year"].str.contains(" to "))]
    row = re.search(r"<th scope='row'>Total, all lines</th>(.*?)</tr>", section).group(1)
    value = abs(total["diff_mean"].iloc[0])
    assert (f"£{value / 1e6:,.1f}m" if value >= 1e6 else f"£{value / 1e3:,.0f}k") in row
    assert "fewer adolescents (aged 10 to 17) entering care" in section
    assert "The largest clear changes by budget line: External residential placements -£" in section
    # The workbook: a sheet for each, headers in words and the CSVs' values.
    path = tmp_path / "book.xlsx"
    write_comparison_workbook(comparison, dirs, path, {"scenarios": "baseline, harbour_expansion"})
    book = load_workbook(path)
    sheet = book["Flows vs baseline"]
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    header = rows[0]
    assert header[:4] == ("Scenario", "Financial year", "Part year projected", "Flow")
    assert "Scenario minus baseline (mean)" in header
    found = [
        r
        for r in rows[1:]
        if r[3] == "Entries to care of adolescents (aged 10 to 17)" and " to " in r[1]
    ]
    mean = found[0][header.index("Scenario minus baseline (mean)")]
    assert found[0][0] == "Harbour expansion" and mean == pytest.approx(teen["diff_mean"])
    sheet = book["Cost bridge vs baseline"]
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    header = rows[0]
    assert "Group of budget lines" in header and "Budget line" in header
    line = header.index("Budget line")
    ext = [
        r for r in rows[1:] if r[line] == "External residential placements" and r[1] == "2024/25"
    ]
    expected = bridge[
        (bridge["line"] == "external_residential") & (bridge["financial_year"] == "2024/25")
    ]
    assert ext[0][header.index("Scenario minus baseline (mean)")] == pytest.approx(
        expected["diff_mean"].iloc[0]
    )
    assert ext[0][header.index("Group of budget lines")] == "Placements avoided (-) or added (+)"


def test_the_bridge_chart_is_a_waterfall_of_means_with_text_kept_as_text(pair, tmp_path) -> None:
    from care_demand.outputs.charts.comparison import bridge_finding, cost_bridge_chart
    from care_demand.outputs.charts.style import save_figure

    dirs, _, _ = pair
    bridge = compare_runs(dirs).bridge
    figure = cost_bridge_chart(bridge, title="Harbour expansion: the cost bridge")
    figure.canvas.draw()
    drawn = figure.get_tightbbox(figure.canvas.get_renderer())
    width, height = figure.get_size_inches()  # every label inside the A4-wide figure
    assert drawn.x0 >= -0.01 and drawn.x1 <= width + 0.01 and drawn.y1 <= height + 0.01
    bars = list(figure.axes[0].patches)
    widths = [b.get_width() for b in bars]
    span = bridge[bridge["financial_year"] == "2024/25 to 2025/26"].set_index("line")
    # Each line that moved, then the total; the steps add up to the total bar.
    assert widths[-1] == pytest.approx(span.loc["total", "diff_mean"])
    assert sum(widths[:-1]) == pytest.approx(widths[-1])
    assert bars[1].get_x() == pytest.approx(widths[0])  # each step starts where the last ended
    png = tmp_path / "bridge.png"
    save_figure(figure, png, title="Cost bridge", description="test", tight=False)
    svg = png.with_suffix(".svg").read_text(encoding="utf-8")
    assert "External residential" in svg and "Scenario minus baseline" in svg
    finding = bridge_finding(bridge, "Harbour expansion", None)
    assert finding.startswith("Over 2024/25 to 2025/26, Harbour expansion differs")
