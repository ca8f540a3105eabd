"""Benchmark of the calibration stage: wall time, sampler diagnostics and peak memory.

Run from the repository root::

    .venv/bin/python benchmarks/calibration.py                 # the built-in example
    .venv/bin/python benchmarks/calibration.py --simulated     # a simulated spells table
    .venv/bin/python benchmarks/calibration.py --fresh-compile # no PyTensor compile cache

Transition hazards: a cold fit (sampling, with the PyTensor compilation it needs) into an
empty cache folder, then a warm fit of the same history that must reuse the cache. Targets
on a 2-core machine: cold <= 90 s, warm <= 5 s. With the example, the fit is also compared
with the synthetic ground truth (interval coverage and error of well-populated cells).
"""

from __future__ import annotations

# isort: off
import care_demand  # noqa: F401  (before numpy: the loops every processor runs, as the CLI)

# isort: on
import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

COLD_TARGET_S = 90.0
WARM_TARGET_S = 5.0
EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "care_demand" / "example_data"


def _peak_mb() -> tuple[float, float]:
    """Peak resident memory (MB) of this process and of its finished children (samplers)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def _example_history() -> Any | None:
    try:
        from care_demand.config import DataConfig
        from care_demand.data import build_history, load_council

        config = DataConfig()
        return build_history(load_council(EXAMPLE, config), config)
    except Exception as error:  # report and fall back to simulated spells
        print(f"example history unavailable ({type(error).__name__}: {error})")
        return None


def _simulated_history(seed: int = 20220131) -> Any:
    """~60 pairs x 25 cells, about 40,000 spells, log-additive truth (as in the example)."""
    from care_demand.calibration.hazard_exposure import FULL_INDEX
    from care_demand.calibration.hazard_simulate import simulate_spells

    rng = np.random.default_rng(seed)
    n_pair, n_age, n_dur = FULL_INDEX.shape
    log_rate = (
        np.log(rng.uniform(0.005, 0.1, n_pair))[:, None, None]
        + rng.normal(0.0, 0.5, (n_pair, n_age))[:, :, None]
        + rng.normal(0.0, 0.3, (n_pair, n_dur))[:, None, :]
    )
    start, end = pd.Timestamp("2015-04-01"), pd.Timestamp("2022-03-31")
    counts = {s: (6000 if s[0] != "care" else 600) for s in FULL_INDEX.strata}
    spells = simulate_spells(np.exp(log_rate), FULL_INDEX, counts, start, end, rng)
    truth = FULL_INDEX.cells()
    truth["rate_per_month"] = np.exp(log_rate).ravel()
    return SimpleNamespace(
        spells=spells,
        window_start=start,
        window_end=end,
        fingerprint=f"simulated-{seed}",
        truth=truth,
    )


def _recovery(summary: pd.DataFrame, truth: pd.DataFrame) -> None:
    keys = ["state", "group", "destination", "age_band", "duration_band"]
    both = summary.merge(truth[[*keys, "rate_per_month"]], on=keys, how="left")
    both = both.dropna(subset=["rate_per_month"])
    rate = both["rate_per_month"]
    inside = (both["lower"] <= rate) & (rate <= both["upper"])
    positive = rate > 0
    rel = (both["median"] / rate - 1).abs()
    busy = positive & (both["events"] >= 100)
    print(
        f"  cells compared:                 {len(both)} ({int((~positive).sum())} with a true "
        "rate of 0, which no interval of a log-linear model can contain)"
    )
    print(
        f"  truth inside 90% interval:      {inside[positive].mean():.1%} of cells with a "
        f"positive true rate"
    )
    if (~positive).any():
        print(
            f"  zero-rate cells, upper < 0.005: {(both.loc[~positive, 'upper'] < 0.005).mean():.1%}"
        )
    if busy.any():
        print(
            f"  cells with >= 100 events:       {int(busy.sum())}; median |error| "
            f"{rel[busy].median():.1%}, within 15%: {(rel[busy] <= 0.15).mean():.1%}"
        )


def _hazards(history: Any, truth: pd.DataFrame | None) -> None:
    from care_demand.calibration.hazard_settings import HazardSettings
    from care_demand.calibration.hazards import HazardModel

    settings = HazardSettings()
    print(
        f"spells: {len(history.spells):,}; window {history.window_start.date()} to "
        f"{history.window_end.date()}"
    )
    with tempfile.TemporaryDirectory(prefix="hazard-cache-") as cache:
        started = time.perf_counter()
        cold = HazardModel(settings).fit(history, cache_dir=cache)
        cold_s = time.perf_counter() - started
        started = time.perf_counter()
        warm = HazardModel(settings).fit(history, cache_dir=cache)
        warm_s = time.perf_counter() - started
    diag = cold.diagnostics_
    pairs, n_age, n_dur = cold.index_.shape
    print(
        f"model: {pairs} state/destination pairs, {pairs * n_age * n_dur} cells, "
        f"{int(cold.exposure_['events'].sum()):,} events, "
        f"{cold.exposure_['exposure_months'].sum():,.0f} exposure months"
    )
    print(
        f"cold fit: {cold_s:6.1f} s (target <= {COLD_TARGET_S:.0f} s; of which sampling and "
        f"checks {diag['sampling_seconds']:.1f} s)"
    )
    print(
        f"warm fit: {warm_s:6.1f} s (target <= {WARM_TARGET_S:.0f} s; reused cache: "
        f"{warm.from_cache_})"
    )
    print(
        f"sampler: {diag['chains']} chains x {diag['draws']} draws; max R-hat "
        f"{diag['max_rhat']:.4f} ({diag['worst_rhat']}); min bulk ESS "
        f"{diag['min_ess_bulk']:.0f} ({diag['worst_ess']}); divergences {diag['divergences']}; "
        f"converged: {diag['converged']}"
    )
    own, children = _peak_mb()
    print(f"peak memory: {own:,.0f} MB in this process, {children:,.0f} MB in a sampler process")
    if truth is not None:
        print("recovery of the ground truth:")
        _recovery(cold.summary(cred=0.9), truth)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--simulated",
        action="store_true",
        help="use a simulated spells table instead of the example",
    )
    parser.add_argument(
        "--fresh-compile",
        action="store_true",
        help="compile into an empty PyTensor cache (a first-ever run)",
    )
    args = parser.parse_args(argv)
    if args.fresh_compile:  # must happen before PyTensor is imported
        flags = os.environ.get("PYTENSOR_FLAGS", "")
        fresh = tempfile.mkdtemp(prefix="pytensor-")
        os.environ["PYTENSOR_FLAGS"] = ",".join(f for f in (flags, f"compiledir={fresh}") if f)
        print(f"PyTensor compile cache: empty ({fresh})")

    started = time.perf_counter()
    import care_demand.calibration.hazards  # noqa: F401  (import time reported separately)

    print(f"import: {time.perf_counter() - started:.1f} s")
    print("== Transition hazards (calibration/hazards.py) ==")
    history = None if args.simulated else _example_history()
    truth = None
    if history is None:
        print("history: SIMULATED spells table (care_demand.calibration.hazard_simulate)")
        history = _simulated_history()
        truth = history.truth
    else:
        print(f"history: built-in example ({EXAMPLE})")
        try:
            from care_demand.synthetic.truth import load_ground_truth

            truth = load_ground_truth().hazards()
        except Exception as error:  # ground truth is optional for the timing
            print(f"ground truth unavailable ({type(error).__name__}: {error})")
    _hazards(history, truth)

    print("== Arrival trends (calibration/arrivals.py) ==")
    _arrivals(history)
    own, children = _peak_mb()
    print(f"peak memory: {own:,.0f} MB this process, {children:,.0f} MB largest sampler process")
    return 0


def _arrivals(history: Any) -> None:
    """Time the Prophet fits (every arrival kind) and 200 sample paths of 60 months."""
    if not hasattr(history, "arrivals"):
        print("not measured: the simulated history has no arrivals")
        return
    from care_demand.calibration.arrivals import ArrivalModel
    from care_demand.config import load_config
    from care_demand.simulation.build import OutsideArrivals

    settings = load_config().calibration.arrivals
    outside = OutsideArrivals.of(history)
    started = time.perf_counter()
    model = ArrivalModel(settings).fit(outside)
    fitted = time.perf_counter() - started
    started = time.perf_counter()
    model.sample_paths(None, 60, 200, random_state=1, include_noise=False)
    sampled = time.perf_counter() - started
    print(f"Prophet fit, {len(model.kinds_)} kinds: {fitted:.1f} s (fitted afresh on every run)")
    print(f"200 sample paths x 60 months: {sampled:.2f} s")


if __name__ == "__main__":
    sys.exit(main())
