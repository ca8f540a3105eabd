"""Calibration on the built-in example, whose ground truth is known."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from care_demand.calibration import ArrivalModel, ArrivalSettings, monthly_arrivals
from care_demand.data import EventHistory
from care_demand.pipeline import Calibrated
from care_demand.simulation.build import OutsideArrivals
from care_demand.synthetic import load_ground_truth

KEYS = ["state", "group", "destination", "age_band", "duration_band"]


@pytest.fixture(scope="module")
def recovery(example_calibrated: Calibrated) -> pd.DataFrame:
    """Each fitted hazard cell beside its true rate."""
    fitted = example_calibrated.hazards.summary(cred=0.9)
    truth = load_ground_truth().hazards()
    for frame in (fitted, truth):
        frame["group"] = frame["group"].astype("string").fillna("")
    merged = fitted.merge(truth, on=KEYS, how="inner", validate="one_to_one")
    assert len(merged) == len(fitted)  # every fitted cell has a true value
    return merged


@pytest.mark.slow
def test_true_hazards_lie_in_their_credible_intervals(recovery: pd.DataFrame) -> None:
    positive = recovery[recovery["rate_per_month"] > 0]
    inside = (positive["lower"] <= positive["rate_per_month"]) & (
        positive["rate_per_month"] <= positive["upper"]
    )
    # Nominal 90%. The share scatters by a few points between data sets drawn from the same
    # truth (86.6%-91.2% over regenerated examples), so a fixed example is held to 85%.
    assert inside.mean() >= 0.85, f"{inside.mean():.1%} of {len(positive)} inside"
    # Cells whose true rate is zero (for example adoption at 16): the estimate stays small.
    zero = recovery[recovery["rate_per_month"] == 0]
    assert (zero["upper"] < 0.005).all()


@pytest.mark.slow
def test_well_populated_hazards_are_within_15_percent(recovery: pd.DataFrame) -> None:
    busy = recovery[recovery["events"] >= 100]
    assert len(busy) >= 50
    error = (busy["median"] / busy["rate_per_month"] - 1).abs()
    assert (error <= 0.15).all(), busy.loc[error > 0.15, [*KEYS, "median", "rate_per_month"]]


@pytest.mark.slow
def test_fit_passes_its_convergence_checks(example_calibrated: Calibrated) -> None:
    diagnostics = example_calibrated.hazards.diagnostics_
    assert diagnostics["max_rhat"] <= 1.01
    assert diagnostics["min_ess_bulk"] >= 400
    assert diagnostics["divergences"] == 0


def test_arrival_forecast_covers_the_following_year(example_history: EventHistory) -> None:
    """Fitted on April 2015 - March 2021, 2021/22 falls in the 80% interval 8+ months of 12."""
    outside = OutsideArrivals.of(example_history)
    training = dataclasses.replace(outside, window_end=pd.Timestamp("2021-03-31"))
    training = dataclasses.replace(
        training, arrivals=outside.arrivals[outside.arrivals["date"] <= "2021-03-31"]
    )
    model = ArrivalModel(ArrivalSettings()).fit(training)
    forecast = model.forecast("2021-04-01", 12, interval=0.8)
    actual = monthly_arrivals(
        outside.arrivals, pd.Timestamp("2021-04-01"), pd.Timestamp("2022-03-31")
    )
    both = forecast.merge(actual, on=["month", "kind"], validate="one_to_one")
    both["inside"] = (both["count"] >= both["lower"]) & (both["count"] <= both["upper"])
    per_kind = both.groupby("kind")["inside"].sum()
    assert set(per_kind.index) == {"referral", "early_help_request", "care_entry"}
    assert (per_kind >= 8).all(), per_kind.to_dict()


def test_posterior_draws_feed_replicates(example_calibrated: Calibrated) -> None:
    draws = example_calibrated.hazards.draw(5, np.random.default_rng(3))
    assert draws.rates.shape[0] == 5 and np.isfinite(draws.rates).all()
    assert np.allclose(draws.entry.sum(axis=-1), 1.0)
    assert np.allclose(draws.move.sum(axis=-1), 1.0)


def test_a_run_reads_a_cached_posterior_without_importing_arviz(
    example_calibrated: Calibrated, quick_config
) -> None:
    """ArviZ (with SciPy's statistics, about 2 s to import) is loaded only when a caller
    asks for the posterior as InferenceData, not by a run that reads the cache."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from care_demand.config import load_config\n"
        "from care_demand.pipeline import calibrate, load\n"
        f"config = load_config(['calibration.cache_dir={quick_config.calibration.cache_dir}'])\n"
        "fitted = calibrate(load(config)[1], config)\n"
        "assert fitted.hazards.from_cache_, 'sampled again'\n"
        "fitted.hazards.draw(4, __import__('numpy').random.default_rng(1))\n"
        "print('arviz' in sys.modules, 'pymc' in sys.modules)\n"
        "print(type(fitted.hazards.posterior_).__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "False", "InferenceData"]
