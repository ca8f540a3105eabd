"""Back-simulation of the flow model on the built-in example (printed, not a test).

From the caseload of 1 April 2018, with hazards and arrival trends fitted on April 2015 -
March 2018 only, project three years and compare the simulated stocks of 31 March 2020 and
2021 with the example's recorded stocks. Two variants: arrivals from the fitted trend
(a true forecast) and the arrivals that were recorded (checks the flow model alone).

A third table compares the transitions observed in the fit window with those the example's
known ground truth expects over the same exposure: where the fit window's own sample strays
from the truth, hazards fitted on it do too, and by as much as their posterior allows.

Run: ``.venv/bin/python benchmarks/back_simulation.py [--replicates N]``
"""

from __future__ import annotations

# isort: off
import care_demand  # noqa: F401  (before numpy: the loops every processor runs, as the CLI)

# isort: on
import argparse
import dataclasses

import numpy as np
import pandas as pd

from care_demand.calibration.hazard_exposure import compute_exposure
from care_demand.config import load_config, projection_settings
from care_demand.pipeline import calibrate, load
from care_demand.simulation.build import with_recorded_arrivals
from care_demand.simulation.projection import prepare, simulate
from care_demand.synthetic.truth import load_ground_truth

CUT = pd.Timestamp("2018-03-31")
CHECK_DATES = (pd.Timestamp("2020-03-31"), pd.Timestamp("2021-03-31"))
STATES = ("early_help", "assessment", "cin", "cp", "care", "care_leaver")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=40)
    args = parser.parse_args()
    config = load_config(["calibration.cache_dir=.cache/back_simulation"])
    _, history, synthetic = load(config)
    cut = history.truncate(CUT)
    if synthetic:
        fit_window_against_truth(history.spells, history.window_start, CUT)
    fitted = calibrate(cut, config)
    n = args.replicates
    settings = dataclasses.replace(
        projection_settings(config),
        simulation=dataclasses.replace(
            config.simulation, horizon_months=36, replicates=n, n_jobs=-1, chunk_size=10
        ),
    )
    system = prepare(cut, fitted, settings)
    variants = {
        "forecast arrivals": system,
        "recorded arrivals": with_recorded_arrivals(system, history),
    }
    for label, sys_ in variants.items():
        q = simulate(sys_, settings).quantiles
        print(f"\n== {label} ({n} replicates) ==")
        print(f"{'date':<11}{'state':<13}{'recorded':>9}{'P5':>8}{'P50':>8}{'P95':>8}  inside")
        for date in CHECK_DATES:
            actual = history.stock(date)
            rows = q[(q.measure == "children") & (q.age_band == "all") & (q.month == date)]
            rows = rows.set_index("category")
            for state in STATES:
                p5, p50, p95 = rows.loc[state, ["p5", "p50", "p95"]]
                inside = "yes" if p5 <= actual[state] <= p95 else "no"
                print(
                    f"{date:%Y-%m-%d} {state:<13}{actual[state]:>9}{p5:>8.0f}{p50:>8.0f}"
                    f"{p95:>8.0f}  {inside}"
                )


def fit_window_against_truth(spells: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> None:
    """Print observed transitions against the ground truth's expectation on the same exposure."""
    truth = load_ground_truth().hazards()
    exposure = compute_exposure(spells, start, end)
    exposure["group"] = exposure["group"].astype("string")
    keys = ["state", "group", "destination", "age_band", "duration_band"]
    cells = exposure.merge(truth, on=keys, how="left")
    cells["expected"] = cells["rate_per_month"] * cells["exposure_months"]
    table = cells.groupby(["state", "destination"]).agg(
        observed=("events", "sum"), truth_expects=("expected", "sum")
    )
    table = table[table["truth_expects"] > 0]
    table["z"] = (table["observed"] - table["truth_expects"]) / np.sqrt(table["truth_expects"])
    print(f"\n== transitions {start:%Y-%m-%d} to {end:%Y-%m-%d}: observed vs ground truth ==")
    print(table.round({"truth_expects": 1, "z": 2}).to_string())


if __name__ == "__main__":
    main()
