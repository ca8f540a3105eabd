"""Arrivals from outside services after each backtest cut: forecast against recorded (printed).

The backtest's stocks depend on the arrivals the trend model forecasts from each cut. This
prints, for each cut in ``configs/backtest/default.yaml`` and each kind of arrival, the sum
of the 12 months after the cut and of the 12 months after that: the forecast's median and
90% interval (arrival trend paths fitted on the data before the cut, as the backtest draws
them) against the recorded count. Where recorded arrivals fall outside the interval, the
stocks they feed cannot be expected to fall inside theirs.

Run: ``.venv/bin/python benchmarks/backtest_arrivals.py [backtest.cuts=[...] ...]``
(Hydra-style overrides of ``configs/backtest.yaml``; ``data.path=DIR`` for a council).
"""

from __future__ import annotations

# isort: off
import care_demand  # noqa: F401  (before numpy: the loops every processor runs, as the CLI)

# isort: on
import logging
import sys

import numpy as np
import pandas as pd

from care_demand.backtest import load_backtest_config
from care_demand.calibration import monthly_arrivals
from care_demand.calibration.arrivals import ArrivalModel
from care_demand.pipeline import load
from care_demand.simulation.build import OutsideArrivals, projection_start


def main() -> None:
    logging.disable(logging.INFO)
    config = load_backtest_config(sys.argv[1:])
    _, history, _ = load(config)
    recorded_all = OutsideArrivals.of(history).arrivals
    paths_n = config.backtest.replicates
    print(
        f"{'cut':<11}{'kind':<20}{'months':<8}{'forecast P50':>13}{'P5-P95':>14}{'recorded':>10}"
        f"{'error':>9}  inside"
    )
    for cut in config.backtest.cuts:
        known = history.truncate(cut)
        model = ArrivalModel(config.calibration.arrivals).fit(OutsideArrivals.of(known))
        start = projection_start(known)
        months = max(int(h) for h in config.backtest.horizons)
        paths = model.sample_paths(start, months, paths_n, config.seed, include_noise=False)
        recorded = monthly_arrivals(recorded_all, start, start + pd.offsets.MonthEnd(months))
        wide = recorded.pivot(index="month", columns="kind", values="count").fillna(0.0)
        for kind in model.kinds_:
            values = paths.sel(kind=kind).to_numpy()
            for first in range(0, months, 12):
                last = min(first + 12, months)
                total = values[:, first:last].sum(axis=1)
                median, low, high = np.percentile(total, [50, 5, 95])
                actual = float(wide[kind].iloc[first:last].sum()) if kind in wide else 0.0
                error = 100 * (median - actual) / actual if actual else float("nan")
                inside = "yes" if low <= actual <= high else "no"
                print(
                    f"{cut:<11}{kind:<20}{f'{first + 1}-{last}':<8}{median:>13.0f}"
                    f"{f'{low:.0f}-{high:.0f}':>14}{actual:>10.0f}{error:>+8.1f}%  {inside}"
                )


if __name__ == "__main__":
    main()
