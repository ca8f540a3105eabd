"""The comparison with cs-demand-model on a council's own folders: its pure parts.

Running cs-demand-model needs its own environment (``benchmarks/cs_demand_model_comparison.py``
creates it), so these tests check what needs no model run: the cuts chosen from a data window,
the pooled and per-data-set scores, and what is withheld before a council's tables are written.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from care_demand.outputs.disclosure import DisclosureRule

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def comparison() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))  # the script imports its sibling isolated_venv
    try:
        spec = importlib.util.spec_from_file_location(
            "cs_demand_model_comparison", BENCHMARKS / "cs_demand_model_comparison.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def test_automatic_cuts_give_the_hand_picked_cuts_on_both_shipped_windows(
    comparison: ModuleType,
) -> None:
    example = comparison.automatic_cuts(
        pd.Timestamp("2015-04-01"), pd.Timestamp("2022-03-31"), 24, 24
    )
    assert example == ["2018-03-31", "2018-09-30", "2019-03-31", "2019-09-30", "2020-03-31"]
    sample = comparison.automatic_cuts(
        pd.Timestamp("2017-04-01"), pd.Timestamp("2022-03-31"), 24, 24
    )
    assert sample == comparison.SAMPLE_CUTS


def test_automatic_cuts_leave_room_for_history_and_horizon(comparison: ModuleType) -> None:
    three_years = (pd.Timestamp("2020-04-01"), pd.Timestamp("2023-03-31"))
    assert comparison.automatic_cuts(*three_years, 24, 24) == []
    assert comparison.automatic_cuts(*three_years, 24, 12) == ["2022-03-31"]
    four_years = (pd.Timestamp("2019-04-01"), pd.Timestamp("2023-03-31"))
    assert comparison.automatic_cuts(*four_years, 24, 24) == ["2021-03-31"]
    assert comparison.automatic_cuts(*four_years, 24, 12) == [
        "2021-03-31",
        "2021-09-30",
        "2022-03-31",
    ]


def _table() -> pd.DataFrame:
    """Two data sets, one forecast each at 12 months; the second's record withheld."""
    rows = []
    for dataset, actual, ours, theirs, scored, luck in (
        ("a", 100.0, 104.0, 110.0, True, 3.0),
        ("b", 200.0, 190.0, 220.0, True, 2.0),
        ("b", 4.0, 6.0, 3.0, False, 50.0),
    ):
        rows.append(
            {
                "dataset": dataset,
                "cut": pd.Timestamp("2020-03-31"),
                "horizon_months": 12,
                "date": pd.Timestamp("2021-03-31"),
                "measure": "care",
                "actual": actual,
                "care_demand": ours,
                "cs_demand_model": theirs,
                "naive": actual + 5,
                "mase_scale": 10.0,
                "inside_80": True,
                "inside_90": True,
                "lower_90": ours - 10,
                "upper_90": ours + 10,
                "pit": 0.4,
                "luck_abs_pct_error": luck,
                "scored": scored,
            }
        )
    table = pd.DataFrame(rows)
    for model in ("care_demand", "cs_demand_model", "naive"):
        table[f"{model}_pct_error"] = 100 * (table[model] - table["actual"]) / table["actual"]
        table[f"{model}_mase"] = (table[model] - table["actual"]).abs() / table["mase_scale"]
    return table


def test_the_pool_scores_every_data_sets_forecasts_and_leaves_withheld_rows_out(
    comparison: ModuleType,
) -> None:
    table = _table()
    table = pd.concat([table, comparison.pooled(table, ["a", "b"], "all 2")], ignore_index=True)
    summary = comparison.summary_table(table).set_index("dataset")
    assert summary.loc["a", "care_demand_mape"] == pytest.approx(4.0)
    assert summary.loc["b", "n"] == 1 and summary.loc["b", "withheld"] == 1
    assert summary.loc["b", "care_demand_mape"] == pytest.approx(5.0)
    assert summary.loc["all 2", "n"] == 2 and summary.loc["all 2", "withheld"] == 1
    assert summary.loc["all 2", "care_demand_mape"] == pytest.approx(4.5)
    assert summary.loc["all 2", "cs_demand_model_mape"] == pytest.approx(10.0)
    assert summary.loc["all 2", "care_demand_mase"] == pytest.approx(0.7)


def test_a_withheld_record_is_marked_with_every_figure_worked_out_from_it(
    comparison: ModuleType,
) -> None:
    rule = DisclosureRule()
    shown = comparison.published(_table(), rule)
    hidden = shown.iloc[2]
    for column in ("actual", "naive", *comparison.FROM_RECORDED):
        assert hidden[column] == "[c]", column
    assert hidden["care_demand"] == 6.0  # model output is shown
    assert shown.iloc[0]["actual"] == 100 and shown.iloc[0]["care_demand_pct_error"] == 4.0


def test_the_data_check_hides_small_counts_and_a_second_figure_of_the_line(
    comparison: ModuleType,
) -> None:
    counts = {"care": 40, "fostering": 30, "residential": 3, "supported": 0, "other": 7}
    check = pd.DataFrame(
        {
            "dataset": "a",
            "date": pd.Timestamp("2021-03-31"),
            "measure": list(counts),
            "care_demand_record": list(counts.values()),
            "cs_demand_model_record": [float(v) for v in counts.values()],
        }
    )
    shown = comparison.published_check(check, DisclosureRule()).set_index("measure")
    for column in ("care_demand_record", "cs_demand_model_record"):
        assert shown.loc["residential", column] == "[c]"
        assert shown.loc["other", column] == "[c]"  # else 40 - 30 - 0 - 7 gives 3
        assert shown.loc["fostering", column] == "30"


def test_returns_rebuilt_from_the_validated_tables_carry_only_pseudonymous_ids(
    comparison: ModuleType,
) -> None:
    from care_demand.config import EXAMPLE_DATA_DIR
    from care_demand.data import load_council

    council = load_council(EXAMPLE_DATA_DIR)
    header, episodes = comparison.council_returns(council)
    raw_ids = set(pd.read_csv(EXAMPLE_DATA_DIR / "ssda903" / "header_2022.csv", dtype=str)["CHILD"])
    assert set(header["CHILD"]) == set(council.header["child_id"])
    assert not raw_ids & set(episodes["CHILD"])
    assert len(episodes) == len(council.episodes)
    first = council.episodes.iloc[0]
    assert episodes.iloc[0]["DECOM"] == f"{first['decom']:%d/%m/%Y}"
    assert episodes["DEC"].isna().sum() == council.episodes["dec"].isna().sum()
    assert np.all(episodes["PLACE"].notna())


def test_the_variants_table_names_each_cuts_trend_and_rates_and_what_a_run_uses(
    comparison: ModuleType,
) -> None:
    cuts = [
        {
            "dataset": "council",
            "cut": cut,
            "variant": "damped",
            "trend_damping": 0.5,
            "chosen_on_cuts": k,
            "rate_period": period,
            "rate_chosen_on_cuts": k,
            "drift": drift,
            "level_drift_sd": sd,
            "drift_chosen_on_cuts": k,
        }
        for k, (cut, period, drift, sd) in enumerate(
            (
                ("2019-03-31", "whole", "shifting", 0.2),
                ("2020-03-31", "weighted", "steady", 0.05),
            )
        )
    ]
    overall = {
        "dataset": "council",
        "cut": "all",
        "variant": "damped",
        "trend_damping": 0.5,
        "chosen_on_cuts": 2,
        "nested_chosen_error": None,
        "nested_shipped_error": None,
        "run": "same as the run's setting",
        "rate_period": "weighted",
        "rate_run": "applied",
        "rate_nested_chosen_error": 7.25,
        "rate_nested_whole_error": 9.5,
        "drift": "steady",
        "level_drift_sd": 0.05,
        "drift_run": "applied",
        "drift_nested_chosen_crps": 5.04,
        "drift_nested_shipped_crps": 6.5,
        "shipped": "damped",
        "drift_shipped": "shifting",
        "drift_variants": "`steady` 0.05, `moderate` 0.1, `shifting` 0.2",
    }
    text = comparison.variants_markdown(pd.DataFrame([*cuts, overall]))
    assert "| council | 2019-03-31: damped, 2020-03-31: damped | damped (same as" in text
    assert "none (too few cuts)" in text
    assert (
        "| council | 2019-03-31: whole, 2020-03-31: weighted | weighted (applied) | 7.2% / 9.5% |"
        in text
    )
    assert (
        "| council | 2019-03-31: shifting, 2020-03-31: steady | steady (applied) | 5.0% / 6.5% |"
        in text
    )
    assert "(else the shipped `shifting`). The drifts (level_drift_sd): `steady` 0.05," in text
    assert "(else the shipped `damped`)" in text


def test_the_pooled_table_carries_the_monte_carlo_error_of_the_backtests_medians(
    comparison: ModuleType,
) -> None:
    """care_demand's error in the pool comes with the Monte Carlo error the backtest gave each
    median (care_demand.backtest.metrics), and the page shows it beside the error."""
    table = _table().assign(median_mc_error=[0.4, 0.3, 99.0])  # the last row is withheld
    table = pd.concat([table, comparison.pooled(table, ["a", "b"], "all 2")], ignore_index=True)
    summary = comparison.summary_table(table).set_index("dataset")
    # 0.4 of 100 and 0.3 of 200: 0.4 and 0.15 points, pooled over the two scored forecasts.
    assert summary.loc["a", "care_demand_mape_mc"] == pytest.approx(0.4)
    assert summary.loc["all 2", "care_demand_mape_mc"] == pytest.approx(np.hypot(0.4, 0.15) / 2)
    assert np.isnan(comparison.summary_table(_table())["care_demand_mape_mc"]).all()
    # So does the error luck alone would give, over the scored forecasts only, and the page
    # shows it beside no change's.
    assert summary.loc["all 2", "luck_mape"] == pytest.approx(2.5)
    check = pd.DataFrame(
        columns=["dataset", "date", "measure", "care_demand_record", "cs_demand_model_record"]
    )
    shown = comparison.published(table, DisclosureRule())
    text = comparison.markdown(shown, summary.reset_index(), check, 100, pools=("all 2",))
    assert "| No change | Luck alone | MASE:" in text
    assert "| 3.8% | 2.5% | " in text  # no change 5 and 2.5 points, luck 3 and 2
