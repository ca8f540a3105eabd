"""Coverage of the back-simulation over independently generated examples (printed).

One example is one draw from its ground truth, so one back-simulation can miss by chance
(``benchmarks/back_simulation.py`` explains the built-in example's misses). This generates
several examples from the same ground truth with other seeds and, for each, fits the model on
April 2015 - March 2018, projects from the 1 April 2018 caseload with the arrivals that were
recorded, and checks whether the recorded stocks of 31 March 2020 and 2021 lie inside the
simulated 90% intervals. Calibrated intervals cover about 90% of all checks; the binomial
standard error of the share is printed beside it.

Run: ``.venv/bin/python benchmarks/back_simulation_coverage.py [--examples K] [--replicates N]``
(each example samples the hazards once: about half a minute each on two cores).
"""

from __future__ import annotations

# isort: off
import care_demand  # noqa: F401  (before numpy: the loops every processor runs, as the CLI)

# isort: on
import argparse
import dataclasses
import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from care_demand.config import load_config, projection_settings
from care_demand.pipeline import calibrate, load
from care_demand.simulation.build import with_recorded_arrivals
from care_demand.simulation.projection import prepare, simulate
from care_demand.synthetic.generate import write_example

CUT = pd.Timestamp("2018-03-31")
CHECK_DATES = (pd.Timestamp("2020-03-31"), pd.Timestamp("2021-03-31"))
STATES = ("early_help", "assessment", "cin", "cp", "care", "care_leaver")


def back_simulate(folder: Path, cache: Path, replicates: int) -> pd.DataFrame:
    """Recorded stocks against the 90% intervals of a back-simulation from the 2018 caseload."""
    config = load_config([f"data.path={folder}", f"calibration.cache_dir={cache}"])
    _, history, _ = load(config)
    cut = history.truncate(CUT)
    fitted = calibrate(cut, config)
    settings = dataclasses.replace(
        projection_settings(config),
        simulation=dataclasses.replace(
            config.simulation, horizon_months=36, replicates=replicates, n_jobs=-1, chunk_size=10
        ),
        capacity=dataclasses.replace(config.capacity, enforce=False),
    )
    system = with_recorded_arrivals(prepare(cut, fitted, settings), history)
    q = simulate(system, settings).quantiles
    rows = []
    for date in CHECK_DATES:
        actual = history.stock(date)
        at = q[(q.measure == "children") & (q.age_band == "all") & (q.month == date)]
        at = at.set_index("category")
        for state in STATES:
            p5, p95 = at.loc[state, ["p5", "p95"]]
            rows.append(
                {
                    "date": f"{date:%Y-%m-%d}",
                    "state": state,
                    "recorded": int(actual[state]),
                    "p5": float(p5),
                    "p95": float(p95),
                    "inside": bool(p5 <= actual[state] <= p95),
                }
            )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=8)
    parser.add_argument("--replicates", type=int, default=60)
    parser.add_argument("--first-seed", type=int, default=101)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    frames = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.first_seed, args.first_seed + args.examples):
            folder = Path(tmp) / f"example-{seed}"
            write_example(folder, seed=seed)
            table = back_simulate(folder, Path(tmp) / "cache", args.replicates)
            share = table["inside"].mean()
            print(f"example seed {seed}: {table['inside'].sum()}/{len(table)} inside ({share:.0%})")
            frames.append(table.assign(seed=seed))
    allrows = pd.concat(frames, ignore_index=True)
    n = len(allrows)
    share = allrows["inside"].mean()
    se = np.sqrt(0.9 * 0.1 / n)
    print(
        f"\nall checks: {allrows['inside'].sum()}/{n} inside the 90% intervals ({share:.1%}; "
        f"binomial standard error at 90%: {se:.1%})"
    )
    print(allrows.groupby("state")["inside"].mean().map("{:.0%}".format).to_string())


if __name__ == "__main__":
    main()
