"""The rolling-origin backtest: metrics on hand-made forecasts, a small real backtest on the
example, and the messages for unusable settings."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from care_demand import vocab
from care_demand.backtest import (
    BacktestConfig,
    BacktestResult,
    IntervalWidening,
    backtest,
    central_interval,
    load_backtest_config,
    luck_error,
    mape_mc_error,
    mase_scale,
    median_mc_error,
    pit_value,
    score_forecast,
    summarise,
    validate_backtest,
    withheld_counts,
    write_backtest,
)
from care_demand.data import EventHistory
from care_demand.errors import ConfigError
from care_demand.outputs.disclosure import DisclosureRule
from care_demand.outputs.interval_widening import distance_ratios, mc_error_text, widening_factor

# --------------------------------------------------------------------------------------
# Metrics on hand-made forecasts
# --------------------------------------------------------------------------------------


def test_pit_is_the_share_below_with_ties_counted_half() -> None:
    samples = np.array([1, 2, 2, 3])
    assert pit_value(samples, 2) == 0.5  # one below, two ties
    assert pit_value(samples, 2.5) == 0.75
    assert pit_value(samples, 0) == 0.0
    assert pit_value(samples, 3) == 0.875
    assert pit_value(samples, 9) == 1.0


def test_central_intervals_are_the_matching_quantiles() -> None:
    samples = np.arange(1, 102)  # 1 .. 101: quantile q is 1 + 100 q
    assert central_interval(samples, 0.5) == pytest.approx((26.0, 76.0))
    assert central_interval(samples, 0.8) == pytest.approx((11.0, 91.0))
    assert central_interval(samples, 0.9) == pytest.approx((6.0, 96.0))
    with pytest.raises(ValueError, match="between 0 and 1"):
        central_interval(samples, 1.2)


def test_mase_scale_is_the_mean_absolute_h_month_change() -> None:
    series = pd.Series([10.0, 12.0, 11.0, 15.0, 14.0])
    assert mase_scale(series, 1) == 2.0  # |2|, |-1|, |4|, |-1|
    assert mase_scale(series, 2) == pytest.approx(7 / 3)  # |1|, |3|, |3|
    assert math.isnan(mase_scale(series, 5))  # no pair of months 5 apart


def test_score_forecast_gives_exact_values() -> None:
    samples = np.arange(8, 18)  # 8 .. 17, median 12.5
    scores = score_forecast(samples, 10, naive=12, scale=2.0, levels=[0.5, 0.8])
    assert scores["median"] == 12.5
    assert scores["error"] == 2.5 and scores["abs_error"] == 2.5
    assert scores["pct_error"] == 25.0 and scores["abs_pct_error"] == 25.0
    assert scores["mase"] == 1.25
    assert scores["naive_abs_error"] == 2.0
    assert scores["pit"] == 0.25  # 8 and 9 below, 10 tied
    assert (scores["lower_50"], scores["upper_50"]) == (10.25, 14.75)
    assert scores["inside_50"] is False
    assert scores["lower_80"] == pytest.approx(8.9) and scores["upper_80"] == pytest.approx(16.1)
    assert scores["inside_80"] is True


def test_score_forecast_leaves_undefined_ratios_empty() -> None:
    scores = score_forecast(np.array([0.0, 1.0, 2.0]), 0, naive=0, scale=0.0, levels=[0.5])
    assert math.isnan(scores["pct_error"]) and math.isnan(scores["mase"])
    assert scores["abs_error"] == 1.0


def test_the_monte_carlo_errors_match_the_scatter_over_fresh_replicates() -> None:
    """Six forecasts of 100 normal replicates (sd 10) around medians 90-120, recorded 100,
    drawn 2,000 times: the medians' and the mean absolute % error's scatter are the errors
    the scoring states."""
    rng = np.random.default_rng(5)
    centre = np.array([110.0, 112.0, 95.0, 90.0, 108.0, 120.0])
    draws = centre[:, None] + 10.0 * rng.standard_normal((2000, len(centre), 100))
    medians = np.median(draws, axis=2)
    # Each median's stated error, averaged over the draws (each estimate scatters by about
    # 7%; their mean by 0.2%), against the scatter of the medians (known to about 1.6%).
    stated = np.array([[median_mc_error(d) for d in rep] for rep in draws[:200]]).mean(axis=0)
    np.testing.assert_allclose(medians.std(axis=0, ddof=1), stated, rtol=0.06)
    # The mean absolute % error over the six: its scatter against the pooled statement.
    mape = np.abs(medians - 100.0).mean(axis=1)
    pooled = mape_mc_error(pd.DataFrame({"median_mc_error": stated, "actual": 100.0}))
    assert mape.std(ddof=1) == pytest.approx(pooled, rel=0.06)
    # Scored forecasts carry it; a single replicate has none; the summary pools it.
    assert score_forecast(draws[0, 0], 100, naive=100, scale=1.0, levels=[0.8])[
        "median_mc_error"
    ] == pytest.approx(median_mc_error(draws[0, 0]))
    assert math.isnan(median_mc_error(np.array([3.0])))


def test_summary_aggregates_over_cuts_with_binomial_uncertainty() -> None:
    metrics = pd.DataFrame(
        {
            "horizon_months": [12] * 5,
            "measure": ["care"] * 5,
            "abs_pct_error": [1.0, 2.0, 3.0, 4.0, 50.0],
            "pct_error": [1.0, -2.0, 3.0, 4.0, 50.0],
            "mase": [0.5, 1.0, 1.5, 2.0, 9.0],
            "pit": [0.1, 0.5, 0.6, 0.9, 1.0],
            "inside_50": [True, False, True, True, False],
            "scored": [True, True, True, True, False],  # the last one withheld
        }
    )
    summary = summarise(metrics, [0.5])
    care = summary[(summary["horizon_months"] == 12) & (summary["measure"] == "care")].iloc[0]
    assert care["n"] == 4 and care["withheld"] == 1
    assert care["mape"] == 2.5 and care["mean_pct_error"] == 1.5 and care["mean_mase"] == 1.25
    assert care["coverage_50"] == 0.75
    assert care["coverage_50_sd"] == pytest.approx(math.sqrt(0.5 * 0.5 / 4))
    assert math.isnan(care["mape_mc_error"])  # no medians' errors to pool
    errors = metrics.assign(actual=[100.0, 50.0, 100.0, 100.0, 1.0], median_mc_error=0.5)
    care = summarise(errors, [0.5]).iloc[0]
    # 0.5, 1.0, 0.5 and 0.5 points over the four scored rows (the withheld one left out).
    assert care["mape_mc_error"] == pytest.approx(math.sqrt(0.25 * 3 + 1.0) / 4)
    pooled = summary[(summary["horizon_months"] == "all") & (summary["measure"] == "all")]
    assert len(pooled) == 1 and pooled["n"].iloc[0] == 4


def test_small_counts_are_withheld_with_a_second_figure_where_a_total_would_tell() -> None:
    measures = {"care": ["care"], **{g: [g] for g in vocab.PLACEMENT_GROUPS}, "cin": ["cin"]}
    values = {g: 0 for g in vocab.PLACEMENT_GROUPS}
    values.update(kinship_foster=3, inhouse_foster=10, ifa=7)
    rows = [
        {"care": 20, **values, "cin": 4},
        {"care": 120, **{g: v * 6 for g, v in values.items()}, "cin": 40},
    ]
    recorded = pd.DataFrame(rows, index=pd.to_datetime(["2020-01-31", "2020-02-29"]))
    hidden = withheld_counts(recorded[list(measures)], measures, DisclosureRule(suppress_max=5))
    first = hidden.iloc[0]
    # kinship (3) and cin (4) are small; ifa, the smallest other non-zero part of care, is
    # withheld too so that care minus the shown groups does not give kinship.
    assert set(first[first].index) == {"kinship_foster", "ifa", "cin"}
    assert not hidden.iloc[1].any()
    # The rule is the run's: without secondary suppression only the small counts go.
    primary = DisclosureRule(suppress_max=5, secondary=False)
    first = withheld_counts(recorded[list(measures)], measures, primary).iloc[0]
    assert set(first[first].index) == {"kinship_foster", "cin"}


# --------------------------------------------------------------------------------------
# Settings that cannot be used
# --------------------------------------------------------------------------------------


def settings(**changes: object) -> BacktestConfig:
    out = BacktestConfig()
    for name, value in changes.items():
        setattr(out, name, value)
    return out


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cuts": ["2023-03-31"]}, r"backtest\.cuts .*2023-03-31 is outside the data window"),
        ({"cuts": ["2016-03-31"]}, r"backtest\.cuts .*min_history_months=24"),
        (
            {"cuts": ["2021-09-30"], "horizons": [6, 12]},
            r"backtest\.horizons .*12 months from the cut 2021-09-30.*past the end of the data",
        ),
        ({"cuts": ["2019-03-15"]}, r"backtest\.cuts .*not the last day of a month"),
        ({"cuts": ["spring 2019"]}, r"backtest\.cuts .*is not a date"),
        ({"horizons": [0, 12]}, r"backtest\.horizons"),
        ({"levels": [0.5, 1.5]}, r"backtest\.levels .*1\.5"),
        ({"replicates": 1}, r"backtest\.replicates"),
        (
            {"measures": {"care": ["care"], "x": ["fostering"]}},
            r"backtest\.measures\.x .*fostering",
        ),
        ({"measures": {"care": ["care", "ifa"]}}, r"backtest\.measures\.care .*twice"),
        ({"min_history_months": 12}, r"backtest\.min_history_months .*arrivals\.min_months=24"),
        (
            {"interval_widening": IntervalWidening(max_factor=0.9)},
            r"backtest\.interval_widening\.max_factor .*never narrowed",
        ),
        (
            {"interval_widening": IntervalWidening(min_cuts=0)},
            r"backtest\.interval_widening\.min_cuts",
        ),
    ],
)
def test_unusable_settings_name_the_setting(
    example_history: EventHistory, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_backtest(settings(**changes), example_history, arrival_min_months=24)


def test_the_shipped_cuts_fit_the_example(example_history: EventHistory) -> None:
    cuts = validate_backtest(load_backtest_config().backtest, example_history, 24)
    assert cuts[0] == pd.Timestamp("2018-03-31") and cuts[-1] == pd.Timestamp("2020-03-31")


def test_the_command_reports_a_bad_cut_without_a_traceback(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "care_demand.backtest.cli",
        "backtest.cuts=[2023-03-31]",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "backtest.cuts" in done.stderr and "outside the data window" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run" / "backtest").exists()


# --------------------------------------------------------------------------------------
# A small real backtest on the example
# --------------------------------------------------------------------------------------

CUT = "2018-03-31"


@pytest.fixture(scope="module")
def small_backtest(
    tmp_path_factory: pytest.TempPathFactory,
    calibration_cache: Path,
    example_history: EventHistory,
) -> tuple[BacktestResult, Path]:
    """One cut, 3 and 6 months ahead, 8 replicates, a shorter sampler run; the arrivals'
    drift also scored at 31 March of the other years."""
    config = load_backtest_config(
        [
            f"calibration.cache_dir={calibration_cache}",
            "calibration.hazards.sampler.draws=1500",
            "calibration.hazards.sampler.tune=700",
            f"backtest.cuts=[{CUT}]",
            "backtest.horizons=[3,6]",
            "backtest.replicates=8",
            "backtest.targets.horizon=6",
            "backtest.arrival_drift.every_months=12",
            "simulation.n_jobs=2",
            "simulation.chunk_size=4",
        ]
    )
    result = backtest(example_history, config)
    out = tmp_path_factory.mktemp("backtest")
    write_backtest(result, out, config, synthetic=True)
    return result, out


def test_luck_alone_is_the_mean_distance_of_the_replicates_from_their_median() -> None:
    """In percent of the record: 1, 2, 3, 4, 5 lie 2, 1, 0, 1, 2 from their median 3."""
    assert luck_error(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 10.0) == pytest.approx(12.0)
    assert np.isnan(luck_error(np.array([1.0, 2.0]), 0.0))
    assert np.isnan(luck_error(np.array([]), 10.0))
    samples = np.arange(100, dtype=float)
    scored = score_forecast(samples, 50.0, naive=50.0, scale=1.0, levels=[0.8], luck=samples)
    assert scored["luck_abs_pct_error"] == pytest.approx(100 * 25.0 / 50.0)
    assert "luck_abs_pct_error" not in score_forecast(
        samples, 50.0, naive=50.0, scale=1.0, levels=[0.8]
    )
    # Pooled over the scored rows only; missing without the column.
    rows = pd.DataFrame(
        {
            "horizon_months": 12,
            "measure": "care",
            "scored": [True, True, False],
            "abs_pct_error": 1.0,
            "pct_error": 1.0,
            "mase": 1.0,
            "pit": 0.5,
            "inside_80": True,
            "luck_abs_pct_error": [2.0, 4.0, 99.0],
        }
    )
    assert summarise(rows, [0.8])["luck_mape"].iloc[0] == pytest.approx(3.0)
    assert summarise(rows.drop(columns="luck_abs_pct_error"), [0.8])["luck_mape"].isna().all()


def test_a_monte_carlo_error_is_shown_to_a_tenth_of_a_point() -> None:
    assert mc_error_text(0.26) == " ± 0.3"
    assert mc_error_text(0.047) == " ± <0.1"
    assert mc_error_text(float("nan")) == ""
    assert mc_error_text(None) == ""


@pytest.mark.slow
def test_backtest_writes_its_tables_charts_and_summary(
    small_backtest: tuple[BacktestResult, Path],
) -> None:
    result, out = small_backtest
    measures = list(load_backtest_config().backtest.measures)
    for name in (
        "backtest/forecasts.csv",
        "backtest/metrics.csv",
        "backtest/summary.csv",
        "backtest/recorded.csv",
        "backtest/calibration.csv",
        "backtest/summary.md",
        "backtest/charts/pit_histogram.png",
        "backtest/charts/pit_histogram.svg",
        "run_details.json",
        *(f"backtest/charts/forecasts_{m}.png" for m in measures),
    ):
        assert (out / name).is_file(), name
    details = json.loads((out / "run_details.json").read_text())
    assert details["cuts"] == [CUT] and details["synthetic_data"] is True
    text = (out / "backtest/summary.md").read_text()
    assert "## Targets" in text and "6-month error of the median, children in care" in text
    assert "| 2018-03-31 | 6 | 2018-09-30 |" in text
    # The error over the cuts comes with its Monte Carlo error, in the targets and the table.
    summary = pd.read_csv(out / "backtest/summary.csv")
    care = summary[(summary["measure"] == "care") & (summary["horizon_months"] == "6")].iloc[0]
    assert care["mape_mc_error"] > 0
    # And with the error luck alone would give (the rates and the arrivals' level known).
    assert 0 < care["luck_mape"] < 100
    shown = f"{care['mape']:.1f}%{mc_error_text(care['mape_mc_error'])}"
    luck = f"{care['luck_mape']:.1f}%"
    assert f"| {shown} (luck alone: {luck}) | " in text
    assert f"| 6 | children in care | 1 | {shown} | {luck} |" in text
    # A run on the same data quotes the target's error and luck alone from the record.
    record = json.loads((out / "backtest/interval_widening.json").read_text())["accuracy"]
    assert record["measure"] == "care" and record["label"] == "children in care"
    assert record["horizon"] == 6 and record["forecasts"] == 1
    assert record["mape"] == pytest.approx(care["mape"], abs=1e-3)
    assert record["luck_mape"] == pytest.approx(care["luck_mape"], abs=1e-3)
    forecasts = pd.read_csv(out / "backtest/forecasts.csv", parse_dates=["cut", "month"])
    assert len(forecasts) == 6 * len(measures)
    care = forecasts[forecasts["measure"] == "care"]
    assert care["month"].min() == pd.Timestamp("2018-04-30")
    assert (care["lower_90"] <= care["lower_50"]).all() and (
        care["lower_50"] <= care["median"]
    ).all()
    assert (care["median"] <= care["upper_50"]).all() and (
        care["upper_50"] <= care["upper_90"]
    ).all()
    assert result.calibration["max_rhat"].iloc[0] <= 1.01


@pytest.mark.slow
def test_backtest_metrics_agree_with_the_record_and_the_intervals(
    small_backtest: tuple[BacktestResult, Path], example_history: EventHistory
) -> None:
    result, out = small_backtest
    metrics = pd.read_csv(out / "backtest/metrics.csv", parse_dates=["cut", "date"])
    assert len(metrics) == 2 * len(result.measures)
    for horizon, date in ((3, "2018-06-30"), (6, "2018-09-30")):
        row = metrics[(metrics["measure"] == "care") & (metrics["horizon_months"] == horizon)]
        assert row["date"].iloc[0] == pd.Timestamp(date)
        assert int(row["actual"].iloc[0]) == example_history.stock(date)[vocab.CARE]
        assert int(row["naive"].iloc[0]) == example_history.stock(CUT)[vocab.CARE]
    scored = metrics[metrics["scored"]].copy()
    assert len(scored) >= len(metrics) - 6
    actual = pd.to_numeric(scored["actual"])
    for level in ("50", "80", "90"):
        low, high = scored[f"lower_{level}"], scored[f"upper_{level}"]
        inside = scored[f"inside_{level}"].astype(str) == "True"
        assert (inside == ((low <= actual) & (actual <= high))).all(), level
    pit = pd.to_numeric(scored["pit"])
    assert pit.between(0, 1).all()
    # A record below every replicate has PIT 0 and lies outside every interval.
    assert (scored.loc[pit == 0, "inside_90"].astype(str) == "False").all()
    error = pd.to_numeric(scored["abs_error"])
    assert np.allclose(pd.to_numeric(scored["abs_pct_error"]), 100 * error / actual, atol=1e-3)
    summary = pd.read_csv(out / "backtest/summary.csv")
    per_measure = summary[summary["measure"] != "all"]
    assert (per_measure["n"] + per_measure["withheld"] == 1).all()
    pooled = summary[(summary["horizon_months"] == "all") & (summary["measure"] == "all")].iloc[0]
    assert pooled["n"] == len(scored)
    inside_90 = (scored["inside_90"].astype(str) == "True").mean()
    assert pooled["coverage_90"] == pytest.approx(inside_90, abs=1e-4)


@pytest.mark.slow
def test_published_backtest_tables_follow_the_secondary_suppression_setting(
    small_backtest: tuple[BacktestResult, Path], tmp_path: Path
) -> None:
    result, out = small_backtest
    marker = "[c]"
    raw = result.recorded.set_index(["month", "measure"])["recorded"]

    def withheld(folder: Path) -> set[tuple[pd.Timestamp, str]]:
        table = pd.read_csv(folder / "backtest/recorded.csv", parse_dates=["month"], dtype=str)
        table["month"] = pd.to_datetime(table["month"])
        hidden = table[table["recorded"] == marker]
        return set(zip(hidden["month"], hidden["measure"], strict=True))

    config = load_backtest_config(["output.secondary_suppression=false"])
    primary_dir = tmp_path / "primary"
    write_backtest(result, primary_dir, config, synthetic=True)
    primary, both = withheld(primary_dir), withheld(out)
    small = {key for key, value in raw.items() if 1 <= value <= 5}
    assert primary == small  # without secondary suppression: the small counts only
    assert both >= primary  # with it (the default): those and any that would reveal them


@pytest.mark.slow
def test_backtest_writes_the_factors_a_run_widens_its_intervals_by(
    small_backtest: tuple[BacktestResult, Path],
) -> None:
    _, out = small_backtest
    record = json.loads((out / "backtest/interval_widening.json").read_text())
    judged = [vocab.CARE, *vocab.PLACEMENT_GROUPS]
    assert record["measures"] == [m for m in judged if m in record["measures"]]
    assert record["cuts"] == 1 and not record["applies"]  # one cut: too few to judge by
    metrics = pd.read_csv(out / "backtest/metrics.csv", dtype={"actual": str})
    scored = metrics[metrics["scored"] & metrics["measure"].isin(judged)]
    assert record["forecasts"] == len(scored)
    for name, entry in record["levels"].items():
        ratios = distance_ratios(
            scored["median"],
            scored[f"lower_{name}"],
            scored[f"upper_{name}"],
            pd.to_numeric(scored["actual"]),
        )
        inside = (scored[f"inside_{name}"].astype(str) == "True").mean()
        assert entry["coverage"] == pytest.approx(inside)
        assert entry["factor"] == pytest.approx(widening_factor(ratios, entry["level"], 2.0))
        assert 1.0 <= entry["factor"] <= 2.0
    assert "## Intervals of a run on these data" in (out / "backtest/summary.md").read_text()


@pytest.mark.slow
def test_backtest_scores_the_arrival_trend_variants_at_each_cut(
    small_backtest: tuple[BacktestResult, Path],
) -> None:
    result, out = small_backtest
    scores = pd.read_csv(out / "backtest/arrival_variants.csv", dtype={"recorded": str})
    assert set(scores["variant"]) == {"level", "damped", "trend"}
    assert set(scores["cut"]) == {CUT}
    assert set(scores["kind"]) >= {"referral", "early_help_request", "care_entry"}
    record = json.loads((out / "backtest/arrival_variant.json").read_text())
    assert record["shipped"] == "damped" and record["months"] == 12
    means = result.arrival_scores[result.arrival_scores["scored"]].groupby("variant")[
        "abs_pct_error"
    ]
    assert record["mean_abs_pct_error"] == pytest.approx(means.mean().to_dict())
    assert record["chosen"] == min(
        record["mean_abs_pct_error"], key=lambda v: (record["mean_abs_pct_error"][v], v != "damped")
    )
    assert record["nested"] == []  # one cut: nothing earlier to choose on
    text = (out / "backtest/summary.md").read_text()
    assert "## The arrival trend the record chooses" in text and "no nested check" in text


@pytest.mark.slow
def test_backtest_scores_the_arrivals_drift_at_each_cut(
    small_backtest: tuple[BacktestResult, Path],
) -> None:
    result, out = small_backtest
    scores = pd.read_csv(out / "backtest/arrival_drifts.csv", dtype={"recorded": str})
    assert set(scores["variant"]) == {"steady", "moderate", "shifting"}
    # The cut, and every 12 months from 24 months into the data to the last origin whose 12
    # months are recorded (the data: April 2015 to March 2022).
    origins = {"2017-03-31", CUT, "2019-03-31", "2020-03-31", "2021-03-31"}
    assert set(scores["cut"]) == origins
    drifts = result.drift_scores[result.drift_scores["scored"]]
    # Each kind's 80% interval of the arrival totals widens with the drift.
    width = (
        (drifts["upper_80"] - drifts["lower_80"])
        .groupby([drifts["kind"], drifts["level_drift_sd"]])
        .first()
        .unstack()
    )
    assert (width[0.05] < width[0.2]).all()
    record = json.loads((out / "backtest/arrival_drift.json").read_text())
    assert record["shipped"] == "shifting" and record["months"] == 12
    assert record["mean_crps_pct"] == pytest.approx(
        drifts.groupby("variant")["crps_pct"].mean().to_dict()
    )
    assert record["cuts"] == len(origins)
    # Every origin but the first has one before it whose 12 months had ended.
    assert [row["cut"] for row in record["nested"]] == sorted(origins)[1:]
    calibration = pd.read_csv(out / "backtest/calibration.csv")
    # At the cut, one earlier origin had ended: chosen on it, but not checked.
    assert list(calibration["drift_variant"]) == ["shifting"]
    assert list(calibration["drift_chosen_on_cuts"]) == [1]
    assert list(calibration["level_drift_sd"]) == [0.2]
    text = (out / "backtest/summary.md").read_text()
    assert "## The arrivals' drift the record chooses" in text and "Mean CRPS" in text
    assert "(5 origins: the cuts and the dates between them" in text


def test_backtest_scores_the_period_the_rates_are_fitted_on_at_each_cut(
    small_backtest: tuple[BacktestResult, Path],
) -> None:
    # The cut leaves 36 months of record before it, all of it: the recent period is the
    # whole record, fitted once, so those two score alike; the record weighted by age is a
    # fit of its own, with other rates.
    result, out = small_backtest
    scores = pd.read_csv(out / "backtest/rate_variants.csv", dtype={"recorded": str})
    assert set(scores["variant"]) == {"whole", "recent", "weighted"}
    assert set(scores["cut"]) == {CUT}
    assert {"care -> return_home", "cin -> closed", "care -> move"} <= set(scores["kind"])
    rates = result.rate_scores
    whole = rates[rates["variant"] == "whole"].set_index("kind")
    recent = rates[rates["variant"] == "recent"].set_index("kind")
    weighted = rates[rates["variant"] == "weighted"].set_index("kind")
    assert np.allclose(whole["forecast"], recent["forecast"])
    assert not np.allclose(whole["forecast"], weighted["forecast"], rtol=0.01)
    assert np.allclose(whole["recorded"], weighted["recorded"])
    assert (whole["recorded"] > 0).any()
    record = json.loads((out / "backtest/rate_variant.json").read_text())
    means = record["mean_abs_pct_error"]
    assert record["chosen"] == min(means, key=lambda v: (means[v], v != "whole"))
    assert record["considered_recent_months"] == 36 and record["months"] == 12
    assert record["considered_half_life_years"] == 2.0
    # One cut: nothing earlier to choose on, so it forecast with the whole record.
    calibration = pd.read_csv(out / "backtest/calibration.csv")
    assert list(calibration["rate_period"]) == ["whole"]
    assert list(calibration["rate_chosen_on_cuts"]) == [0]
    text = (out / "backtest/summary.md").read_text()
    assert "## The period the rates are fitted on" in text


def test_a_row_with_every_record_withheld_shows_no_error() -> None:
    from care_demand.backtest.summary import mape_cell

    assert mape_cell(4.61, 0.72) == "4.6% ± 0.7"
    assert mape_cell(float("nan"), float("nan")) == ""  # not "%"
    assert mape_cell(12.0, None) == "12.0%"
