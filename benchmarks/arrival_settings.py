"""Arrival forecasts under other settings, scored on councils' own records (printed).

For each data folder and cut, the arrival trend models are fitted on the data before the cut
with each variant of the settings (``calibration.arrivals``; fields that change the fit are
refitted, the others act on the same fit), and each kind's arrivals over the 6, 12 and 24
months after the cut (the mean of the intensity paths, as the flow model draws its counts
from them) are compared with the record. Prints the mean absolute % error and the mean % error
(the bias) by horizon and variant, pooled over the data sets, cuts and kinds, and the
12-month error by data set. It asks whether a setting would forecast a council's arrivals
better on its own record, not only on the example.

The spread is scored too. Each path's total is drawn as a Poisson count of its intensity (as
the flow model draws arrivals), and the record is scored by the continuous ranked
probability score of those totals (CRPS, as a % of the record: the mean absolute error of
the forecast distribution, less half its mean spread; lower is better, and it is lowest for
a forecast whose spread matches its errors) and by whether the central 80% and 90% intervals
of the totals held it.

Run: ``.venv/bin/python benchmarks/arrival_settings.py [--data DIR ...] [--lenient DIR ...]
[--cuts 2018-03-31 ...] [--variant JSON ...]``; without ``--data``, the built-in example.
A variant is a JSON object: ``name`` and any fields of ``ArrivalSettings``, for example
``'{"name": "level", "trend_damping": 0.0}'``. Without ``--variant``, the shipped settings
and a set of alternatives (below) are scored.
"""

from __future__ import annotations

# isort: off
import care_demand  # noqa: F401  (before numpy: the loops every processor runs, as the CLI)

# isort: on
import argparse
import dataclasses
import json
import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from care_demand.backtest import load_backtest_config
from care_demand.backtest.metrics import crps
from care_demand.calibration import monthly_arrivals
from care_demand.calibration.arrivals import ArrivalModel
from care_demand.pipeline import load
from care_demand.simulation.build import OutsideArrivals

# Settings that change the fit itself; the others act on a fitted model's paths.
FIT_FIELDS = (
    "yearly_fourier_order",
    "seasonality_prior_scale",
    "changepoint_prior_scale",
    "n_changepoints",
    "transform",
    "rate_kinds",
    "rate_months",
)
ALL_KINDS = ["referral", "early_help_request", "care_entry", "care_entry_uasc"]
DEFAULT_VARIANTS = [
    {"name": "shipped"},
    {"name": "the trend model alone", "recent_rate_weight": 0.0},
    {"name": "level only", "trend_damping": 0.0},
    {"name": "no recent level", "recent_level_months": 0},
    {"name": "recent level 12 months", "recent_level_months": 12},
    {"name": "seasonality order 3", "yearly_fourier_order": 3},
    {"name": "seasonality prior 0.1", "seasonality_prior_scale": 0.1},
    {"name": "last 6 months' rate", "rate_kinds": ALL_KINDS, "rate_months": 6},
    {"name": "last 12 months' rate", "rate_kinds": ALL_KINDS, "rate_months": 12},
    {"name": "level drift 0.05", "level_drift_sd": 0.05},
    {"name": "level drift 0.1", "level_drift_sd": 0.1},
    {"name": "level drift 0.3", "level_drift_sd": 0.3},
]
HORIZONS = (6, 12, 24)
PATHS = 400


def score(
    name: str, folder: Path | None, lenient: bool, cuts: list[str], variants: list[dict]
) -> pd.DataFrame:
    """Each variant's forecast of each kind's arrivals after each cut, against the record."""
    overrides = [f"data.path={folder}"] if folder else []
    config = load_backtest_config([*overrides, *(["data.lenient=true"] if lenient else [])])
    _, history, _ = load(config)
    base = config.calibration.arrivals
    recorded = monthly_arrivals(history.arrivals, history.window_start, history.window_end)
    rows = []
    for cut in map(pd.Timestamp, cuts):
        known = OutsideArrivals.of(history.truncate(cut))
        fits: dict[str, ArrivalModel] = {}
        for variant in variants:
            refit = {k: v for k, v in variant.items() if k in FIT_FIELDS}
            key = json.dumps(refit, sort_keys=True)
            if key not in fits:
                fits[key] = ArrivalModel(dataclasses.replace(base, **refit)).fit(known)
            later = {k: v for k, v in variant.items() if k not in FIT_FIELDS and k != "name"}
            model = fits[key].with_settings(**later)
            paths = model.sample_paths(None, max(HORIZONS), PATHS, config.seed, include_noise=False)
            rng = np.random.default_rng(config.seed)
            for kind in model.kinds_:
                drawn = paths.sel(kind=kind).to_numpy()
                counts = recorded[recorded["kind"] == kind].set_index("month")["count"]
                for h in HORIZONS:
                    months = pd.date_range(cut + pd.Timedelta(days=1), periods=h, freq="MS")
                    if months[-1] > history.window_end:
                        continue
                    actual = float(counts.reindex(months, fill_value=0).sum())
                    if actual <= config.output.suppress_max:
                        continue  # a handful of arrivals: a percentage error is noise
                    intensity = drawn[:, :h].sum(axis=1)
                    forecast = float(intensity.mean())
                    totals = rng.poisson(intensity)
                    inside = {
                        f"inside_{level}": bool(
                            np.quantile(totals, (1 - level / 100) / 2)
                            <= actual
                            <= np.quantile(totals, (1 + level / 100) / 2)
                        )
                        for level in (80, 90)
                    }
                    rows.append(
                        {
                            "data": name,
                            "cut": f"{cut:%Y-%m-%d}",
                            "kind": kind,
                            "months": h,
                            "variant": variant["name"],
                            "forecast": forecast,
                            "recorded": actual,
                            "pct_error": 100.0 * (forecast - actual) / actual,
                            "crps_pct": 100.0 * crps(totals, actual) / actual,
                            **inside,
                        }
                    )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, action="append", default=[])
    parser.add_argument("--lenient", type=Path, action="append", default=[])
    parser.add_argument("--cuts", nargs="+")
    parser.add_argument("--variant", type=json.loads, action="append", default=[])
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    cuts = args.cuts or [str(c) for c in load_backtest_config([]).backtest.cuts]
    variants = args.variant or DEFAULT_VARIANTS
    folders = [(f, False) for f in args.data] + [(f, True) for f in args.lenient]
    sets = [(f.name, f, lenient) for f, lenient in folders] or [("example", None, False)]
    table = pd.concat(
        [score(name, folder, lenient, cuts, variants) for name, folder, lenient in sets],
        ignore_index=True,
    )
    table["abs_pct_error"] = table["pct_error"].abs()
    order = [v["name"] for v in variants]
    pooled = table.groupby(["variant", "months"]).agg(
        mape=("abs_pct_error", "mean"),
        bias=("pct_error", "mean"),
        crps=("crps_pct", "mean"),
        cover80=("inside_80", "mean"),
        cover90=("inside_90", "mean"),
    )
    wide = pooled.unstack("months").reindex(order)
    pd.set_option("display.width", 200)
    for column in ("cover80", "cover90"):
        wide[column] = 100.0 * wide[column]
    print(
        "Arrivals: mean absolute % error (mape), mean % error (bias), CRPS (% of the record) "
        "and the 80% and 90% intervals' coverage (%), by months ahead"
    )
    print(wide.round(1).to_string())
    print("\n12 months ahead, mean absolute % error by data set")
    at12 = table[table["months"] == 12].pivot_table(
        index="data", columns="variant", values="abs_pct_error"
    )
    print(at12.reindex(columns=order).round(1).to_string())
    print("\n12 months ahead, coverage of the 80% intervals (%) by data set")
    at12 = table[table["months"] == 12].pivot_table(
        index="data", columns="variant", values="inside_80"
    )
    print((100.0 * at12.reindex(columns=order)).round(0).to_string())
    print("\n12 months ahead, CRPS (% of the record) by data set")
    at12 = table[table["months"] == 12].pivot_table(
        index="data", columns="variant", values="crps_pct"
    )
    print(at12.reindex(columns=order).round(1).to_string())


if __name__ == "__main__":
    main()
