"""The arrivals' level drift the council's record chooses: the CRPS it is scored by, the
choice on hand-made scores, the drifts drawn from one fit, and a run that uses the choice."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from care_demand.backtest.arrival_drift import SCORE, drift_record, score_drifts
from care_demand.backtest.arrival_variants import choose_variant, variant_before
from care_demand.backtest.metrics import crps
from care_demand.backtest.run import arrival_drifts
from care_demand.backtest.settings import load_backtest_config, validate_backtest
from care_demand.errors import ConfigError
from care_demand.outputs.arrival_choice import drift_choice, drift_choice_note
from care_demand.outputs.layout import LAYOUT

CUTS = ["2018-03-31", "2018-09-30", "2019-03-31", "2019-09-30"]
DRIFTS = {"steady": 0.05, "moderate": 0.1, "shifting": 0.2}


def _scores(values: dict[str, list[float]]) -> pd.DataFrame:
    """One kind, one row per cut and drift with the given CRPS (% of the record)."""
    return pd.DataFrame(
        [
            {
                "cut": pd.Timestamp(cut),
                "variant": name,
                "level_drift_sd": DRIFTS[name],
                "kind": "care_entry",
                SCORE: value,
                "scored": True,
            }
            for name, row in values.items()
            for cut, value in zip(CUTS, row, strict=True)
        ]
    )


def test_crps_matches_its_definition_and_the_normal_closed_form() -> None:
    rng = np.random.default_rng(5)
    small = rng.normal(size=40)
    pairs = np.abs(small[:, None] - small[None, :]).mean()
    assert crps(small, 0.3) == pytest.approx(np.abs(small - 0.3).mean() - pairs / 2, abs=1e-12)
    assert crps(np.array([2.0]), 5.0) == pytest.approx(3.0)
    # A standard normal ensemble against y = 0.7: y (2 Phi(y) - 1) + 2 phi(y) - 1/sqrt(pi).
    y = 0.7
    exact = y * (2 * stats.norm.cdf(y) - 1) + 2 * stats.norm.pdf(y) - 1 / np.sqrt(np.pi)
    draws = rng.normal(size=40_000)
    # Monte Carlo error of the mean |X - y| term: sd(|X - y|) / sqrt(n) is below 0.005.
    assert crps(draws, y) == pytest.approx(exact, abs=0.02)
    with pytest.raises(ValueError):
        crps(np.array([]), 1.0)


def test_the_mean_crps_is_lowest_for_the_spread_that_matches_the_errors() -> None:
    # Records from N(0, 1); forecasts centred right with three spreads. The matching spread
    # scores best in expectation (a proper score); 300 records separate them by far more than
    # their Monte Carlo error (about 0.02 each).
    rng = np.random.default_rng(11)
    records = rng.normal(size=300)
    means = {
        sd: np.mean([crps(rng.normal(0.0, sd, 400), y) for y in records]) for sd in (0.4, 1, 2.5)
    }
    assert min(means, key=means.get) == 1


def test_the_drift_with_the_lowest_mean_crps_is_chosen_and_checked_out_of_sample() -> None:
    scores = _scores({"steady": [5, 5, 5, 5], "moderate": [6, 6, 6, 6], "shifting": [7, 7, 7, 7]})
    assert choose_variant(scores, "shifting", SCORE)[0] == "steady"
    record = drift_record(scores, DRIFTS, "shifting", 12)
    assert record["chosen"] == "steady" and record["level_drift_sd"] == 0.05
    assert record["mean_crps_pct"] == {"steady": 5.0, "moderate": 6.0, "shifting": 7.0}
    assert record["nested_chosen_error"] == 5.0 and record["nested_shipped_error"] == 7.0
    # Each cut uses the drift chosen on the cuts ended by then, once its nested check held.
    assert variant_before(scores, pd.Timestamp("2019-03-31"), "shifting", 12, SCORE) == (
        "shifting",
        1,
    )
    assert variant_before(scores, pd.Timestamp("2020-03-31"), "shifting", 12, SCORE) == (
        "steady",
        3,
    )


def test_the_shipped_drift_names_its_variant_or_is_added() -> None:
    config = load_backtest_config([])
    variants, shipped = arrival_drifts(config)
    assert shipped == "shifting" and variants[shipped] == config.calibration.arrivals.level_drift_sd
    other = load_backtest_config(["calibration.arrivals.level_drift_sd=0.3"])
    variants, shipped = arrival_drifts(other)
    assert shipped == "shipped" and variants["shipped"] == 0.3 and len(variants) == 4


def test_a_drift_out_of_range_stops_the_backtest_with_the_setting_named(example_history) -> None:
    config = load_backtest_config(["backtest.arrival_drift.variants.steady=3"])
    with pytest.raises(ConfigError, match=r"arrival_drift\.variants\.steady"):
        validate_backtest(config.backtest, example_history, 24)


def test_a_run_uses_the_drift_that_held_out_of_sample_and_says_so(tmp_path) -> None:
    scores = _scores({"steady": [5, 5, 5, 5], "moderate": [6, 6, 6, 6], "shifting": [7, 7, 7, 7]})
    record = drift_record(scores, DRIFTS, "shifting", 12)
    path = tmp_path / LAYOUT.backtest.arrival_drift
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record))
    assert drift_choice(None, 0.2) is None
    used = drift_choice(tmp_path, 0.2)
    assert used["status"] == "applied" and used["run_level_drift_sd"] == 0.05
    note = drift_choice_note(used)
    assert "the steady variant (level_drift_sd 0.05)" in note
    assert "it scored 5.0% against 7.0% for the shifting setting" in note
    assert "This run uses it: level_drift_sd 0.05 in place of 0.2" in note
    off = drift_choice(tmp_path, 0.2, use=False)
    assert off["status"] == "off" and off["run_level_drift_sd"] == 0.2
    assert "drift_from_backtest is off" in drift_choice_note(off)
    # Chosen best overall, but chosen on earlier cuts it scored worse later: kept.
    turned = _scores({"steady": [1, 1, 9, 9], "moderate": [6, 6, 6, 6], "shifting": [5, 5, 5, 5]})
    path.write_text(json.dumps(drift_record(turned, DRIFTS, "moderate", 12)))
    kept = drift_choice(tmp_path, 0.1)
    assert kept["status"] == "no better out of sample" and kept["run_level_drift_sd"] == 0.1


def test_a_calibration_carries_the_backtests_drift(
    example_history, example_calibrated, with_backtest
) -> None:
    from care_demand.pipeline import calibrate

    scores = _scores({"steady": [5, 5, 5, 5], "moderate": [6, 6, 6, 6], "shifting": [7, 7, 7, 7]})
    config = with_backtest(
        {LAYOUT.backtest.arrival_drift: drift_record(scores, DRIFTS, "shifting", 12)}
    )
    fitted = calibrate(example_history, config)
    assert fitted.arrival_drift["status"] == "applied"
    assert fitted.arrivals.settings.level_drift_sd == 0.05
    assert example_calibrated.arrivals.settings.level_drift_sd == 0.2
    assert example_calibrated.arrival_drift is None
    # The drift widens the paths without moving where they start.
    start = pd.Timestamp("2022-04-01")
    narrow = fitted.arrivals.sample_paths(start, 24, 400, 3, include_noise=False)
    wide = example_calibrated.arrivals.sample_paths(start, 24, 400, 3, include_noise=False)
    total = {
        name: p.sel(kind="referral").to_numpy()[:, 12:].sum(axis=1)
        for name, p in (("narrow", narrow), ("wide", wide))
    }
    assert np.std(total["narrow"]) < 0.8 * np.std(total["wide"])


@pytest.mark.slow
def test_drifts_are_drawn_from_one_fit_and_scored_by_crps(example_history, quick_config) -> None:
    from care_demand.calibration.arrivals import ArrivalModel
    from care_demand.simulation.build import OutsideArrivals, projection_start

    known = example_history.truncate(pd.Timestamp("2019-03-31"))
    model = ArrivalModel(quick_config.calibration.arrivals).fit(OutsideArrivals.of(known))
    start = projection_start(known)
    scores = score_drifts(
        model,
        start,
        {"referral": 3000.0, "care_entry": 4.0},
        {"steady": 0.05, "shifting": 0.4},
        months=12,
        paths=300,
        seed=1,
        suppress_max=5,
    )
    assert model.settings.level_drift_sd == quick_config.calibration.arrivals.level_drift_sd
    care = scores[scores["kind"] == "care_entry"]
    assert not care["scored"].any() and care[SCORE].isna().all()  # 4 entries: withheld
    referral = scores[scores["kind"] == "referral"].set_index("variant")
    width = referral["upper_80"] - referral["lower_80"]
    assert width["steady"] < width["shifting"]
    assert referral[SCORE].gt(0).all()


def test_the_drift_widens_the_paths_and_leaves_their_mean_where_the_trend_puts_it(
    example_calibrated,
) -> None:
    # The same parameter and trend draws (one seed) with and without a drift of 0.3 a year:
    # only the walk differs, so on log1p scale each path's ratio (1 + b) / (1 + a) is the
    # walk's factor exp(W - compensator). Its mean is 1 when the walk is compensated and
    # exp(0.3^2 * 2 / 2) = 1.094 at month 24 when not; its Monte Carlo error with 4000 paths
    # is sqrt(exp(0.18) - 1) / sqrt(4000) = 0.7% (the 3% tolerance is 4 of them). Referrals
    # and early-help requests: hundreds a month, so no path comes near the floor at 0 counts,
    # where a clipped walk is no longer symmetric.
    start = pd.Timestamp("2022-04-01")
    model = example_calibrated.arrivals
    still = model.with_settings(level_drift_sd=0.0).sample_paths(
        start, 24, 4000, 7, include_noise=False
    )
    moving = model.with_settings(level_drift_sd=0.3).sample_paths(
        start, 24, 4000, 7, include_noise=False
    )
    for kind in ("referral", "early_help_request"):
        a = still.sel(kind=kind).to_numpy()[:, 23]
        b = moving.sel(kind=kind).to_numpy()[:, 23]
        assert a.min() > 20
        factor = (1.0 + b) / (1.0 + a)
        assert factor.mean() == pytest.approx(1.0, abs=0.03)
        assert np.std(np.log(factor)) == pytest.approx(0.3 * np.sqrt(2.0), rel=0.1)
