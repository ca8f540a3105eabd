"""Scoring of the backtest's forecasts against the record (definitions: ``docs/backtest.md``).

- the error of the median (absolute and in percent of the recorded value);
- MASE: the absolute error of the median divided by the mean absolute ``h``-month change of
  the recorded month-end series over the training window (:func:`mase_scale`);
- coverage: whether the recorded value lies inside each central interval
  (:func:`central_interval`);
- PIT: the share of replicates below the recorded value, ties counting half
  (:func:`pit_value`);
- CRPS: the continuous ranked probability score of the recorded value under the replicates
  (:func:`crps`), which rewards a spread that matches the errors;
- Monte Carlo error: how far the median, and the mean absolute % error over many
  forecasts, would move with another set of replicates from the same fits
  (:func:`median_mc_error`, :func:`mape_mc_error`);
- luck alone: the mean absolute distance of replicates that differ by the process's luck
  alone (the rates and the arrivals' level known) from their median, in percent of the
  record (:func:`luck_error`): the least mean absolute error any forecast of that process
  can have.

:func:`score_forecast` scores one forecast; :func:`summarise` aggregates the scores over the
cuts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "central_interval",
    "crps",
    "level_name",
    "luck_error",
    "mape_mc_error",
    "mase_scale",
    "median_mc_error",
    "pit_value",
    "score_forecast",
    "summarise",
]


def pit_value(samples: np.ndarray, actual: float) -> float:
    """Share of ``samples`` below ``actual``, counting ties as half (mid-rank PIT)."""
    values = np.asarray(samples, dtype=float)
    if values.size == 0:
        raise ValueError("no samples to compute a PIT value from")
    below = np.count_nonzero(values < actual)
    ties = np.count_nonzero(values == actual)
    return float((below + 0.5 * ties) / values.size)


def crps(samples: np.ndarray, actual: float) -> float:
    """The continuous ranked probability score of ``actual`` under the ensemble ``samples``.

    ``E|X - y| - E|X - X'| / 2`` with ``X``, ``X'`` drawn from the samples (Gneiting and
    Raftery 2007), the second term computed from the sorted samples in ``O(n log n)``. In
    the units of the samples; 0 for a forecast certain of the record, and lowest in
    expectation for a forecast whose spread matches its errors.
    """
    values = np.sort(np.asarray(samples, dtype=float))
    n = values.size
    if n == 0:
        raise ValueError("no samples to compute a CRPS from")
    weights = 2.0 * np.arange(1, n + 1) - n - 1.0
    mean_spread = 2.0 * float(weights @ values) / (n * n)
    return float(np.mean(np.abs(values - actual))) - mean_spread / 2.0


def central_interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    """The central ``level`` interval of ``samples``: their (1-level)/2 and (1+level)/2
    quantiles (linear interpolation, as in the projection's quantile table)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level {level!r} is not between 0 and 1")
    low, high = np.quantile(np.asarray(samples, dtype=float), [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def mase_scale(series: pd.Series, horizon: int) -> float:
    """Mean absolute ``horizon``-step change of ``series`` (NaN if it is too short).

    ``series`` holds the recorded month-end values over the training window, in order; this
    is the mean absolute error a no-change forecast ``horizon`` months ahead made in sample.
    """
    values = np.asarray(series, dtype=float)
    if horizon < 1:
        raise ValueError(f"horizon {horizon!r} must be at least 1 month")
    if values.size <= horizon:
        return float("nan")
    return float(np.mean(np.abs(values[horizon:] - values[:-horizon])))


def median_mc_error(samples: np.ndarray) -> float:
    """Monte Carlo standard error of the median of ``samples``: sqrt(pi / 2) x their standard
    deviation / sqrt(their number), the large-sample error of a median of normal draws. NaN
    with fewer than two."""
    values = np.asarray(samples, dtype=float)
    if values.size < 2:
        return float("nan")
    return float(math.sqrt(math.pi / 2) * values.std(ddof=1) / math.sqrt(values.size))


def mape_mc_error(metrics: pd.DataFrame) -> float:
    """Monte Carlo standard error of the mean absolute % error over the rows of ``metrics``
    (columns ``median_mc_error`` and ``actual``, as :func:`score_forecast` gives them).

    An absolute error moves by at most its median's error, so the mean's standard error is
    at most sqrt(sum of (100 x median_mc_error / actual) squared) / n. NaN without the columns
    or rows.
    """
    if len(metrics) == 0 or not {"median_mc_error", "actual"} <= set(metrics.columns):
        return float("nan")
    error = pd.to_numeric(metrics["median_mc_error"], errors="coerce")
    actual = pd.to_numeric(metrics["actual"], errors="coerce")
    percent = (100.0 * error / actual.where(actual != 0)).dropna()
    return float(np.sqrt((percent**2).sum()) / len(percent)) if len(percent) else float("nan")


def luck_error(samples: np.ndarray, actual: float) -> float:
    """Mean absolute distance of ``samples`` from their median, in percent of ``actual``.

    With ``samples`` the replicates of a projection whose rates and arrival level are fixed
    (:func:`care_demand.simulation.build.luck_only`), this is the error a forecast that knew
    them would still make on average: the median is the forecast with the least mean
    absolute error. NaN when ``actual`` is 0 or there are no samples.
    """
    values = np.asarray(samples, dtype=float)
    if values.size == 0 or not actual:
        return float("nan")
    return float(100.0 * np.mean(np.abs(values - np.median(values))) / actual)


def level_name(level: float) -> str:
    return f"{round(level * 100):d}"


def score_forecast(
    samples: np.ndarray,
    actual: float,
    *,
    naive: float,
    scale: float,
    levels: Sequence[float],
    luck: np.ndarray | None = None,
) -> dict[str, float | bool]:
    """Score one forecast (replicate values ``samples``) against the recorded ``actual``.

    ``naive`` is the no-change forecast (the value recorded at the cut); ``scale`` the MASE
    denominator from :func:`mase_scale`. Returns ``median``, ``error`` (median - actual),
    ``abs_error``, ``pct_error`` and ``abs_pct_error`` (percent of the actual; NaN when it
    is 0), ``median_mc_error`` (the median's Monte Carlo error, :func:`median_mc_error`),
    ``naive_abs_error``, ``mase`` (NaN when the scale is 0 or unknown), ``pit``, and
    ``lower_L``, ``upper_L``, ``inside_L`` for each level (``L`` in percent); with ``luck``
    (the replicates of the same forecast by luck alone), ``luck_abs_pct_error``
    (:func:`luck_error`).
    """
    values = np.asarray(samples, dtype=float)
    median = float(np.median(values))
    error = median - actual
    out: dict[str, float | bool] = {
        "median": median,
        "error": error,
        "abs_error": abs(error),
        "pct_error": 100.0 * error / actual if actual else float("nan"),
        "abs_pct_error": 100.0 * abs(error) / actual if actual else float("nan"),
        "median_mc_error": median_mc_error(values),
        "naive_abs_error": abs(naive - actual),
        "mase": abs(error) / scale if scale and np.isfinite(scale) else float("nan"),
        "pit": pit_value(values, actual),
    }
    for level in levels:
        low, high = central_interval(values, level)
        name = level_name(level)
        out[f"lower_{name}"] = low
        out[f"upper_{name}"] = high
        out[f"inside_{name}"] = bool(low <= actual <= high)
    if luck is not None:
        out["luck_abs_pct_error"] = luck_error(luck, actual)
    return out


def summarise(metrics: pd.DataFrame, levels: Sequence[float]) -> pd.DataFrame:
    """Aggregate scored rows over cuts: per horizon and measure, pooled per horizon and
    over everything.

    Rows with a withheld actual (``scored`` false) are left out and counted in
    ``withheld``. Columns: ``horizon_months``, ``measure`` (``all`` when pooled), ``n``,
    ``withheld``, ``mape`` (mean absolute percentage error of the median), ``mape_mc_error``
    (its Monte Carlo error, :func:`mape_mc_error`), ``luck_mape`` (the mean of
    ``luck_abs_pct_error``: what luck alone would give; NaN without it), ``mean_pct_error``
    (its signed mean: positive means forecasts ran high), ``mean_mase``, ``mean_pit``, and
    per level ``coverage_L`` (share of recorded values inside the interval) with
    ``coverage_L_sd``, the binomial standard deviation of that share if the intervals were
    calibrated and the ``n`` outcomes independent: sqrt(L(1 - L) / n).
    """
    frame = metrics.copy()
    frame["horizon_months"] = frame["horizon_months"].astype(object)
    groups = [
        (keys, part) for keys, part in frame.groupby(["horizon_months", "measure"], sort=False)
    ]
    for horizon, part in frame.groupby("horizon_months", sort=False):
        groups.append(((horizon, "all"), part))
    groups.append((("all", "all"), frame))
    rows = []
    for (horizon, measure), part in groups:
        scored = part[part["scored"].astype(bool)]
        n = len(scored)
        row: dict[str, object] = {
            "horizon_months": horizon,
            "measure": measure,
            "n": n,
            "withheld": len(part) - n,
            "mape": _mean(scored, "abs_pct_error"),
            "mape_mc_error": mape_mc_error(scored),
            "luck_mape": _mean(scored, "luck_abs_pct_error"),
            "mean_pct_error": _mean(scored, "pct_error"),
            "mean_mase": _mean(scored, "mase"),
            "mean_pit": _mean(scored, "pit"),
        }
        for level in levels:
            name = level_name(level)
            flags = scored[f"inside_{name}"].astype(float) if n else pd.Series(dtype=float)
            row[f"coverage_{name}"] = float(flags.mean()) if n else float("nan")
            row[f"coverage_{name}_sd"] = math.sqrt(level * (1 - level) / n) if n else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def _mean(frame: pd.DataFrame, column: str) -> float:
    """Mean of ``column``'s numbers; NaN when it has none or is absent."""
    if column not in frame:
        return float("nan")
    values = pd.to_numeric(frame[column], errors="coerce").dropna()
    return float(values.mean()) if len(values) else float("nan")
