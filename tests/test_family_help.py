"""Family Help (output.family_help): early help plus children in need, in every output."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from care_demand import vocab
from care_demand.config import AppConfig
from care_demand.data import EventHistory
from care_demand.outputs.disclosure import PUBLISHED_TABLES, DisclosureRule, disclosure_problems
from care_demand.outputs.family_help import (
    FAMILY_HELP,
    FAMILY_HELP_LABEL,
    family_help_on,
    family_help_replicates,
)
from care_demand.outputs.settings import OutputConfig, output_problems
from care_demand.outputs.summary import summarise_history
from care_demand.pipeline import run

PARTS = [vocab.EARLY_HELP, vocab.CIN]


def test_the_setting() -> None:
    assert family_help_on("auto", pd.Timestamp("2026-03-31"))
    assert not family_help_on("auto", pd.Timestamp("2025-03-31"))
    assert family_help_on("true", pd.Timestamp("2020-03-31"))
    assert family_help_on(True, pd.Timestamp("2020-03-31"))
    assert not family_help_on("false", pd.Timestamp("2026-03-31"))
    assert OutputConfig().family_help == "auto"
    assert output_problems(OutputConfig(family_help="sometimes"))[0][0] == "output.family_help"
    assert output_problems(OutputConfig(family_help="True")) == []


def _sum_holds(table: pd.DataFrame, keys: list[str], column: str, value: str) -> int:
    """Check family help = early help + CIN on every key; return how many keys."""
    wide = table.pivot_table(index=keys, columns=column, values=value, aggfunc="sum")
    assert (wide[FAMILY_HELP] == wide[PARTS].sum(axis=1)).all()
    return len(wide)


def test_the_data_summary_reports_family_help_as_the_sum(example_history: EventHistory) -> None:
    output = OutputConfig(family_help="true")
    summary = summarise_history(example_history, output, synthetic=True)
    assert summary.family_help
    stocks = summary.stocks[summary.stocks["placement_group"] == "all"]
    assert _sum_holds(stocks, ["date"], "state", "children") >= 2
    assert FAMILY_HELP_LABEL in summary.markdown
    # The example ends before April 2025: "auto" leaves the summary as it was.
    auto = summarise_history(example_history, OutputConfig(), synthetic=True)
    off = summarise_history(example_history, OutputConfig(family_help="false"), synthetic=True)
    assert not auto.family_help and FAMILY_HELP not in set(auto.stocks["state"])
    pd.testing.assert_frame_equal(auto.stocks, off.stocks)
    assert auto.markdown == off.markdown
    extra = summary.stocks[summary.stocks["state"] == FAMILY_HELP]
    pd.testing.assert_frame_equal(
        summary.stocks.drop(extra.index).reset_index(drop=True), auto.stocks
    )


def test_a_family_help_past_april_2025_is_on_by_default(example_history: EventHistory) -> None:
    later = dataclasses.replace(example_history, window_end=pd.Timestamp("2026-03-31"))
    assert summarise_history(later, OutputConfig(), synthetic=True).family_help


def test_projected_family_help_is_the_sum_in_each_future() -> None:
    rng = np.random.default_rng(3)
    months = pd.date_range("2025-04-30", periods=3, freq="ME")
    rows = [
        (r, m, "children", c, band, float(rng.integers(0, 50)))
        for r in range(4)
        for m in months
        for c in [*vocab.STATES, "ifa"]
        for band in ("all", "0-4")
    ]
    rows.append((0, months[0], "arrivals", vocab.EARLY_HELP, "all", 99.0))
    table = pd.DataFrame(
        rows, columns=["replicate", "month", "measure", "category", "age_band", "value"]
    )
    table["category"] = table["category"].astype("category")
    family = family_help_replicates(table)
    assert len(family) == 4 * 3 * 2
    both = pd.concat([table.astype({"category": str}), family], ignore_index=True)
    assert _sum_holds(both[both["measure"] == "children"],
                      ["replicate", "month", "age_band"], "category", "value") == 24  # fmt: skip


@pytest.fixture(scope="module")
def family_help_run(tmp_path_factory: pytest.TempPathFactory, report_config: AppConfig) -> Path:
    """A small baseline run of the example with Family Help reported."""
    config = dataclasses.replace(
        report_config,
        output=dataclasses.replace(report_config.output, family_help="true"),
        simulation=dataclasses.replace(report_config.simulation, horizon_months=12),
    )
    out = tmp_path_factory.mktemp("family-help") / "0_baseline"
    run(config, out)
    return out


def _visible(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rows of a published table whose count is shown (not suppressed)."""
    shown = table[column].astype(str).str.fullmatch(r"\d+")
    return table.loc[shown].astype({column: int})


def test_every_output_holds_family_help_as_the_sum(family_help_run: Path) -> None:
    rule = DisclosureRule()
    for name, (column, totals) in PUBLISHED_TABLES.items():
        frame = pd.read_csv(family_help_run / name, dtype={column: str})
        assert disclosure_problems(frame, column, rule, totals) == [], name

    stocks = pd.read_csv(family_help_run / "stocks_31_march.csv", dtype={"children": str})
    stocks = stocks[stocks["placement_group"] == "all"]
    assert FAMILY_HELP in set(stocks["state"])
    shown = _visible(stocks, "children")
    complete = shown.groupby("date")["state"].apply(lambda s: {FAMILY_HELP, *PARTS} <= set(s))
    shown = shown[shown["date"].isin(complete[complete].index)]
    assert _sum_holds(shown, ["date"], "state", "children") >= 1

    recorded = pd.read_csv(family_help_run / "recorded_monthly.csv", dtype={"children": str})
    assert FAMILY_HELP in set(recorded["category"])
    shown = _visible(recorded, "children")
    shown = shown[shown["category"].isin([FAMILY_HELP, *PARTS])]
    complete = shown.groupby("month")["category"].transform("size") == 3
    assert _sum_holds(shown[complete], ["month"], "category", "children") >= 12

    quantiles = pd.read_csv(family_help_run / "projection" / "quantiles.csv")
    children = quantiles[quantiles["measure"] == "children"]
    family = children[children["category"] == FAMILY_HELP]
    assert set(family["age_band"]) == set(children["age_band"])
    parts = children[children["category"].isin(PARTS)]
    mean = parts.groupby(["month", "age_band"])["mean"].sum()
    got = family.set_index(["month", "age_band"])["mean"].sort_index()
    np.testing.assert_allclose(got.to_numpy(), mean.sort_index().to_numpy(), rtol=1e-12)
    assert (family["p10"] <= family["p50"]).all() and (family["p50"] <= family["p90"]).all()
    assert (family["replicates"] == 8).all()

    summary = (family_help_run / "data_summary.md").read_text()
    assert FAMILY_HELP_LABEL in summary
    report = (family_help_run / "report.html").read_text()
    assert FAMILY_HELP_LABEL in report


def test_the_comparison_measures_family_help_and_kinship_placements_in_each_future() -> None:
    from care_demand.outputs.comparison import KEY_MEASURES, key_measures

    rng = np.random.default_rng(5)
    categories = [*PARTS, vocab.CP, vocab.KINSHIP_FOSTER, vocab.IFA, vocab.CARE]
    months = pd.date_range("2025-04-30", periods=3, freq="ME")
    rows = [
        (r, m, "children", c, "all", float(rng.integers(0, 50)))
        for r in range(4)
        for m in months
        for c in categories
    ]
    reps = pd.DataFrame(
        rows, columns=["replicate", "month", "measure", "category", "age_band", "value"]
    )
    wide = reps.pivot_table(index=["replicate", "month"], columns="category", values="value")
    key = key_measures(reps).pivot_table(
        index=["replicate", "month"], columns="measure", values="value"
    )
    assert {"family_help", "kinship_placements"} <= set(KEY_MEASURES)
    np.testing.assert_array_equal(key["family_help"], wide[vocab.EARLY_HELP] + wide[vocab.CIN])
    np.testing.assert_array_equal(key["kinship_placements"], wide[vocab.KINSHIP_FOSTER])
    np.testing.assert_array_equal(key["children_in_care"], wide[vocab.CARE])


def test_the_comparison_holds_family_help_where_both_its_services_are_recorded(
    example_history: EventHistory,
) -> None:
    """The example records early help and CIN, so its scenarios are compared on the Family
    Help caseload; without the early help file there is none to compare (the SSDA903 return
    alone: tests/test_pipeline.py)."""
    from care_demand.outputs.family_help import family_help_held

    assert family_help_held(example_history.recorded_states)
    spells = example_history.spells
    no_early_help = dataclasses.replace(
        example_history, spells=spells[spells["state"] != vocab.EARLY_HELP]
    )
    assert vocab.EARLY_HELP not in no_early_help.recorded_states
    assert not family_help_held(no_early_help.recorded_states)
