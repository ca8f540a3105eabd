"""Sufficiency by quarter: per-replicate figures summarised, and the same numbers in the
CSV, the report, the workbook and the chart; one statistic per cost chart; fixed-cost
titles."""

from __future__ import annotations

import dataclasses
import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.lines import Line2D
from openpyxl import load_workbook

from care_demand import vocab
from care_demand.errors import ConfigError
from care_demand.finance import CostConfig, FixedCost, fixed_cost_title, validate_costs
from care_demand.outputs.charts.panels import plot_costs, plot_demand_capacity
from care_demand.outputs.charts.style import _select
from care_demand.outputs.charts.sufficiency import plot_sufficiency
from care_demand.outputs.layout import LAYOUT
from care_demand.outputs.report.sufficiency import sufficiency_caption, sufficiency_words
from care_demand.outputs.run_files import read_run
from care_demand.outputs.settings import OutputConfig, output_problems
from care_demand.outputs.sufficiency import (
    SUFFICIENCY_MEASURES,
    places_needed,
    sufficiency_by_replicate,
    sufficiency_table,
)
from care_demand.outputs.workbook_sheets import sufficiency_headers

SVG = "{http://www.w3.org/2000/svg}"
MONTH = pd.Timestamp("2022-06-30")


def _hand_replicates(rows: list[tuple[int, float, float, float, float]]) -> pd.DataFrame:
    """A replicate table for in-house foster care at one quarter end:
    (replicate, in-house, agency, shortfall, places)."""
    out = []
    for rep, inhouse, ifa, short, places in rows:
        for measure, category, value in (
            ("children", vocab.INHOUSE_FOSTER, inhouse),
            ("children", vocab.IFA, ifa),
            ("shortfall", vocab.INHOUSE_FOSTER, short),
            ("capacity", vocab.INHOUSE_FOSTER, places),
            ("children", vocab.INHOUSE_FOSTER, 999.0),  # by age: must be left out
        ):
            band = "all" if value != 999.0 else "1_4"
            out.append((rep, MONTH, measure, category, band, value))
    return pd.DataFrame(
        out, columns=["replicate", "month", "measure", "category", "age_band", "value"]
    )


def test_medians_are_taken_across_replicates_of_each_replicate_s_figure() -> None:
    # Children needing: 10, 1 and 11; the median of the totals is 10, while the medians
    # of the parts (1 in-house, 1 agency) would add up to 2.
    reps = _hand_replicates([(0, 10, 0, 0, 12), (1, 0, 1, 1, 12), (2, 1, 10, 4, 12)])
    table = sufficiency_table(reps, {vocab.INHOUSE_FOSTER: 0.5})
    row = table[table["inhouse_group"] == vocab.INHOUSE_FOSTER].iloc[0]
    assert row["children_needing_median"] == 10
    assert (row["children_needing_p10"], row["children_needing_p90"]) == (3, 11)  # 2.8, 10.8
    assert row["placed_externally_for_want_of_place_median"] == 1
    # External by preference or need: 0, 0 and 6 (agency minus shortfall).
    assert row["placed_externally_by_preference_or_need_median"] == 0
    assert row["placed_externally_by_preference_or_need_p90"] == 5  # 4.8 rounded
    # Places needed per replicate: ceil(5) - 12, ceil(0.5) - 12, ceil(5.5) - 12: all 0.
    assert row["places_needed_for_target_median"] == 0
    # Whole children everywhere.
    counts = [c for c in table.columns if c.endswith(("_median", "_p10", "_p90"))]
    assert all(float(v).is_integer() for v in table[counts].to_numpy().ravel())
    # Residential has no data here: zeros, and no target share given.
    res = table[table["inhouse_group"] == vocab.INHOUSE_RESIDENTIAL].iloc[0]
    assert res["children_needing_median"] == 0 and np.isnan(res["target_share"])


def test_places_needed_for_the_target_share_by_hand() -> None:
    assert places_needed(10, 5, 0.7) == 2  # 7 wanted in-house, 5 places
    assert places_needed(10, 8, 0.7) == 0  # enough places already
    assert places_needed(3, 0, 0.25) == 1  # 0.75 rounded up to a whole place
    assert places_needed(20, 10, 0.7) == 4  # 14 - 10, not 15 - 10 from 0.7 x 20 in floats
    assert places_needed(0, 3, 1.0) == 0
    reps = _hand_replicates([(0, 6, 4, 1, 5), (1, 8, 12, 3, 8), (2, 9, 1, 0, 9)])
    per = sufficiency_by_replicate(reps, {vocab.INHOUSE_FOSTER: 0.7})
    foster = per[per["inhouse_group"] == vocab.INHOUSE_FOSTER].sort_values("replicate")
    # 0.7 x 10 = 7 - 5 = 2; 0.7 x 20 = 14 - 8 = 6; 0.7 x 10 = 7 - 9 < 0 -> 0.
    assert foster["places_needed_for_target"].tolist() == [2, 6, 0]
    assert foster["placed_externally_by_preference_or_need"].tolist() == [3, 9, 1]


def test_target_shares_are_checked_beside_the_schema() -> None:
    assert output_problems(OutputConfig()) == []
    bad = OutputConfig(target_inhouse_share={vocab.INHOUSE_FOSTER: 1.5, "ifa": 0.5})
    problems = dict(output_problems(bad))
    assert "must be <= 1" in problems["output.target_inhouse_share.inhouse_foster"]
    assert "unknown in-house group" in problems["output.target_inhouse_share.ifa"]
    text = OutputConfig(target_inhouse_share={vocab.INHOUSE_RESIDENTIAL: "half"})  # type: ignore[dict-item]
    assert "output.target_inhouse_share.inhouse_residential" in dict(output_problems(text))


def test_fixed_costs_have_plain_titles_and_a_fallback() -> None:
    assert fixed_cost_title("harbour_outreach_growth") == "Harbour outreach growth"
    assert fixed_cost_title("new_home", "A new children's home") == "A new children's home"
    assert CostConfig().fixed["harbour_team"].label("harbour_team") == "Harbour outreach team"
    costs = CostConfig()
    costs.fixed["blank"] = FixedCost(annual=1.0, title="  ")
    with pytest.raises(ConfigError, match=r"costs\.fixed\.blank\.title"):
        validate_costs(costs)


# ---------------------------------------------------------------------------------------
# The run folder: the same numbers in the CSV, report, workbook and chart


@pytest.fixture(scope="module")
def suff(report_run: Path) -> pd.DataFrame:
    table = read_run(report_run).sufficiency
    assert table is not None and not table.empty
    return table


def test_the_csv_has_a_row_per_quarter_end_and_in_house_group(suff: pd.DataFrame) -> None:
    assert set(suff["inhouse_group"]) == set(vocab.EXTERNAL_EQUIVALENT)
    assert set(pd.to_datetime(suff["quarter_end"]).dt.month) <= {3, 6, 9, 12}
    assert suff.groupby("inhouse_group").size().nunique() == 1
    assert (suff["target_share"].between(0, 1)).all()
    for measure in SUFFICIENCY_MEASURES:
        assert (suff[f"{measure}_p10"] <= suff[f"{measure}_median"]).all()
        assert (suff[f"{measure}_median"] <= suff[f"{measure}_p90"]).all()


def test_the_report_s_sufficiency_tables_equal_the_csv(report_run: Path, suff) -> None:
    text = (report_run / LAYOUT.report).read_text(encoding="utf-8")
    assert "Sufficiency at 31 March" not in text  # the old table is gone
    words = html.unescape(re.sub(r"<[^>]+>", "", text))
    assert "is not a gap" in words and "In-house places needed for the target share" in words
    assert "built-in assumptions, not published targets" in words
    own = suff.assign(target_share=0.9)
    assert "the council's own settings" in sufficiency_words(own)
    assert "90% for in-house foster care" in html.unescape(sufficiency_words(own))
    for inhouse, external in vocab.EXTERNAL_EQUIVALENT.items():
        caption = html.escape(sufficiency_caption(inhouse, external), quote=True)
        found = re.search(re.escape(caption) + r".*?</table>", text, re.S)
        assert found, caption
        body = found.group(0)
        headers = [html.unescape(h) for h in re.findall(r"<th scope='col'[^>]*>(.*?)</th>", body)]
        assert headers[1:] == list(SUFFICIENCY_MEASURES.values())
        rows = re.findall(r"<tr><th scope='row'>(.*?)</th>(.*?)</tr>", body)
        expected = suff[suff["inhouse_group"] == inhouse].sort_values("quarter_end")
        assert len(rows) == len(expected)
        for (date, cells), (_, row) in zip(rows, expected.iterrows(), strict=True):
            assert date == f"{pd.Timestamp(row['quarter_end']):%d %b %Y}"
            values = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", cells)]
            assert values == [
                f"{row[f'{m}_median']:,.0f} ({row[f'{m}_p10']:,.0f} to {row[f'{m}_p90']:,.0f})"
                for m in SUFFICIENCY_MEASURES
            ]
    # External placements and out of area stay, in their own small table.
    assert "External placements and children placed out of area at 31 March" in words


def test_the_workbook_s_sufficiency_sheet_equals_the_csv(report_run: Path, suff) -> None:
    book = load_workbook(report_run / LAYOUT.workbook)
    sheet = book["Sufficiency by quarter"]
    rows = list(sheet.iter_rows(values_only=True))
    header, data = list(rows[0]), rows[1:]
    names = sufficiency_headers()
    assert header == [names[c] for c in suff.columns]
    assert len(data) == len(suff)
    for values, (_, row) in zip(data, suff.iterrows(), strict=True):
        got = dict(zip(header, values, strict=True))
        assert got["Quarter end"].date() == pd.Timestamp(row["quarter_end"]).date()
        assert got["In-house group"] in ("In-house foster", "In-house children's home")
        for column in suff.columns:
            if column.endswith(("_median", "_p10", "_p90")):
                assert got[names[column]] == row[column]
                assert isinstance(got[names[column]], int)
    cell = sheet.cell(row=2, column=header.index(names["children_needing_median"]) + 1)
    assert cell.number_format == "#,##0"
    assert sheet.cell(row=2, column=header.index("Target in-house share") + 1).number_format == "0%"


def test_the_sufficiency_chart_is_editable_with_its_finding(report_run: Path, suff) -> None:
    charts = report_run / LAYOUT.charts_dir
    for group in vocab.EXTERNAL_EQUIVALENT:
        svg = ET.parse(charts / f"sufficiency_{group}.svg").getroot()
        assert svg.find(f"{SVG}title") is not None
        texts = ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]
        assert any("Quarter end" in t for t in texts)
        assert any("80% interval" in t for t in texts)
        alt = (charts / f"sufficiency_{group}.txt").read_text(encoding="utf-8")
        last = suff[suff["inhouse_group"] == group].sort_values("quarter_end").iloc[-1]
        assert f"{last['children_needing_median']:,.0f} (80% interval" in alt
        assert f"{last['places_available_median']:,.0f} (80% interval" in alt
        assert "for want of an in-house place" in alt
    html_text = (report_run / LAYOUT.report).read_text(encoding="utf-8")
    assert "Sufficiency of in-house foster care" in html.unescape(html_text)


def test_the_sufficiency_panel_draws_the_table_s_medians_from_zero(suff) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    artists = plot_sufficiency(suff, vocab.INHOUSE_RESIDENTIAL, ax=ax)
    rows = suff[suff["inhouse_group"] == vocab.INHOUSE_RESIDENTIAL].sort_values("quarter_end")
    for measure in ("children_needing", "places_available", "placed_externally_for_want_of_place"):
        assert list(artists[measure].get_ydata()) == rows[f"{measure}_median"].tolist()
        assert "median" in artists[measure].get_label()
    assert ax.get_ylim()[0] == 0
    plt.close(fig)


def test_the_cost_chart_shows_means_only_with_the_total_s_interval(report_run: Path) -> None:
    import matplotlib.pyplot as plt

    costs = read_run(report_run).costs
    fig, ax = plt.subplots()
    artists = plot_costs(costs, ax=ax)
    labels = [h.get_label() for h in ax.get_legend_handles_labels()[0]]
    assert all(label.endswith("(mean)") for label in labels[:-1])
    assert labels[-1] == "Total: P10 to P90 (80% interval)"
    assert not any("median" in label.lower() for label in labels)
    # No marker over the bars: the whisker has no data point of its own.
    whisker = artists["total"]
    assert whisker.lines[0] is None
    markers = [line for line in ax.get_lines() if line.get_marker() not in (None, "", "None")]
    assert [m for m in markers if isinstance(m, Line2D) and m.get_marker() == "o"] == []
    # The stacked bars add up to the mean total, inside the whisker.
    years = [y for y in dict.fromkeys(costs["financial_year"].astype(str)) if " to " not in y]
    total = costs[costs["kind"] == "total"].set_index("financial_year").reindex(years)
    tops = np.sum([[b.get_height() for b in artists[k]] for k in artists if k != "total"], axis=0)
    assert np.allclose(tops, total["mean"].to_numpy(), rtol=1e-6)
    plt.close(fig)


def test_the_demand_capacity_chart_draws_the_means_its_table_gives(report_run: Path) -> None:
    import matplotlib.pyplot as plt

    run = read_run(report_run)
    fig, ax = plt.subplots()
    artists = plot_demand_capacity(run.quantiles, vocab.INHOUSE_FOSTER, ax=ax)
    for role in ("placed", "demand", "capacity", "shortfall"):
        assert "(mean)" in artists[role].get_label()
    dc = run.demand_capacity
    foster = dc[dc["placement_group"] == vocab.INHOUSE_FOSTER].set_index("month")
    placed = pd.Series(
        artists["placed"].get_ydata(),
        index=pd.to_datetime(_select(run.quantiles, "children", vocab.INHOUSE_FOSTER)["month"]),
    )
    capacity = pd.Series(
        artists["capacity"].get_ydata(), index=pd.to_datetime(artists["capacity"].get_xdata())
    )
    assert np.allclose(placed.reindex(foster.index), foster["children_mean"])
    assert np.allclose(capacity.reindex(foster.index), foster["capacity_mean"])
    plt.close(fig)


def test_fixed_cost_titles_appear_in_the_report(report_run: Path) -> None:
    text = html.unescape((report_run / LAYOUT.report).read_text(encoding="utf-8"))
    assert "Fixed cost: Harbour outreach team" in text
    # The cost table names the line as the workbook does.
    assert "<th scope='row'>Harbour outreach team</th>" in text
    assert "harbour_team" not in text and "harbour team" not in text.lower()
    book = load_workbook(report_run / LAYOUT.workbook)
    lines = [c.value for (c,) in book["Costs by line and year"].iter_rows(max_col=1)]
    assert "Harbour outreach team" in lines
    svg = ET.parse(report_run / LAYOUT.charts_dir / "costs_by_line.svg").getroot()
    texts = ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]
    assert "Fixed costs: Harbour outreach team (mean)" in texts
    scenario = dataclasses.replace(CostConfig().fixed["harbour_team"], title=None)
    assert scenario.label("harbour_team") == "Harbour team"
