"""Rolling-origin backtest: how well the model would have forecast what then happened.

For each cut date the event history is cut as it was known on that day
(:meth:`EventHistory.truncate`), the hazards and arrival trends are fitted on the data
before the cut (each cut with its own calibration cache), the flow model projects from the
month after the cut, and the projection is scored against the stocks the full history
records ``h`` months later. Metrics (definitions in ``docs/backtest.md``):

- the error of the median (absolute and in percent of the recorded value);
- MASE: the absolute error of the median divided by the mean absolute ``h``-month change of
  the recorded month-end series over the training window (the error a no-change forecast
  makes on average over the data the model was fitted on);
- coverage: whether the recorded value lies inside each central interval (50%, 80%, 90%);
- PIT: the share of replicates below the recorded value (ties count half).

Typical use::

    config = load_backtest_config(["backtest.cuts=[2019-03-31]", "backtest.replicates=50"])
    result = run_backtest(config, "outputs/backtest")
    result.summary     # accuracy and coverage per horizon and measure
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from care_demand import __version__, vocab
from care_demand.backtest.charts import forecast_chart, pit_histogram
from care_demand.config import (
    CONFIG_DIR,
    AppConfig,
    projection_settings,
    scenario_file,
    validate_config,
)
from care_demand.data import EventHistory
from care_demand.errors import ConfigError
from care_demand.outputs.charts import save_figure
from care_demand.outputs.disclosure import DisclosureRule, suppression_mask
from care_demand.outputs.layout import LAYOUT
from care_demand.outputs.run_folder import RunFolder
from care_demand.pipeline import SYNTHETIC_CAPTION, calibrate, data_folder, load, recorded_monthly
from care_demand.simulation.projection import prepare, simulate

__all__ = [
    "BacktestAppConfig",
    "BacktestConfig",
    "BacktestResult",
    "BacktestTargets",
    "backtest",
    "central_interval",
    "load_backtest_config",
    "mase_scale",
    "pit_value",
    "register_backtest_schema",
    "run_backtest",
    "score_forecast",
    "summarise",
    "validate_backtest",
    "withheld_counts",
    "write_backtest",
]

log = logging.getLogger("care_demand")

# Files the backtest writes in its run folder (named in the run-folder layout).
FORECASTS_FILE = LAYOUT.backtest.forecasts
METRICS_FILE = LAYOUT.backtest.metrics
SUMMARY_FILE = LAYOUT.backtest.summary
RECORDED_FILE = LAYOUT.backtest.recorded
CALIBRATION_FILE = LAYOUT.backtest.calibration
REPORT_FILE = LAYOUT.backtest.report
CHART_DIR = LAYOUT.backtest.charts_dir

# Every name a measure may count: the states of the continuum and the placement groups.
_CATEGORIES = (*vocab.STATES, *vocab.PLACEMENT_GROUPS)
# States a care-only history (SSDA903 alone) holds.
_CARE_ONLY = frozenset((vocab.CARE, vocab.CARE_LEAVER, *vocab.PLACEMENT_GROUPS))
# Columns holding recorded counts.
_COUNT_COLUMNS = frozenset(("actual", "naive", "recorded"))
# Columns of the metrics table that are derived from recorded counts (withheld together).
_RECORDED_COLUMNS = (
    "actual",
    "naive",
    "error",
    "abs_error",
    "pct_error",
    "abs_pct_error",
    "naive_abs_error",
    "mase",
    "pit",
)


# --------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------


def _default_measures() -> dict[str, list[str]]:
    measures = {vocab.CARE: [vocab.CARE]}
    measures.update({group: [group] for group in vocab.PLACEMENT_GROUPS})
    measures.update({state: [state] for state in (vocab.CIN, vocab.CP, vocab.EARLY_HELP)})
    return measures


@dataclass
class BacktestTargets:
    """What the summary checks (``backtest.targets``)."""

    measure: str = vocab.CARE
    horizon: int = 12
    max_abs_pct_error: float = 5.0
    coverage_tolerance_points: float = 10.0


@dataclass
class BacktestConfig:
    """Backtest settings (``configs/backtest/default.yaml``, where the values are set)."""

    cuts: list[str] = field(
        default_factory=lambda: [
            "2018-03-31",
            "2018-09-30",
            "2019-03-31",
            "2019-09-30",
            "2020-03-31",
        ]
    )
    horizons: list[int] = field(default_factory=lambda: [6, 12, 24])
    replicates: int = 200
    levels: list[float] = field(default_factory=lambda: [0.5, 0.8, 0.9])
    min_history_months: int = 24
    measures: dict[str, list[str]] = field(default_factory=_default_measures)
    pit_bins: int = 10
    chart_history_months: int = 24
    targets: BacktestTargets = field(default_factory=BacktestTargets)


@dataclass
class BacktestAppConfig(AppConfig):
    """The backtest's configuration: the run's settings plus ``backtest``."""

    backtest: BacktestConfig = field(default_factory=BacktestConfig)


def register_backtest_schema() -> None:
    """Register :class:`BacktestAppConfig` as ``backtest_base_config`` in Hydra's store."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="backtest_base_config", node=BacktestAppConfig)


def load_backtest_config(overrides: Sequence[str] = ()) -> BacktestAppConfig:
    """Compose ``configs/backtest.yaml`` exactly as ``care-demand-backtest`` does."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    register_backtest_schema()
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
            composed = compose(config_name="backtest", overrides=list(overrides))
        config: BacktestAppConfig = OmegaConf.to_object(composed)  # type: ignore[assignment]
    except (HydraException, OmegaConfBaseException) as exc:
        message = str(exc).split("\nConfig search path:", 1)[0].strip()
        if exc.__cause__ is not None:
            message += f": {exc.__cause__}"
        raise ConfigError(f"the configuration could not be composed: {message}") from None
    validate_config(config, scenario_file(config), CONFIG_DIR)
    return config


def _setting_error(name: str, problem: str) -> ConfigError:
    return ConfigError(f"backtest.{name} (configs/backtest/default.yaml): {problem}")


def _parse_cuts(cuts: Sequence[str]) -> list[pd.Timestamp]:
    parsed = []
    for i, text in enumerate(cuts):
        try:
            cut = pd.Timestamp(str(text))
        except (ValueError, TypeError):
            raise _setting_error(
                "cuts", f"{text!r} (item {i}) is not a date: give YYYY-MM-DD"
            ) from None
        if cut != cut.normalize() or not cut.is_month_end:
            raise _setting_error(
                "cuts",
                f"{text!r} is not the last day of a month: forecasts start the month after "
                "the cut, so a cut must be a month end (e.g. 2019-03-31)",
            )
        parsed.append(cut)
    if len(set(parsed)) != len(parsed):
        raise _setting_error("cuts", f"{list(cuts)} lists a date twice")
    return sorted(parsed)


def validate_backtest(
    settings: BacktestConfig,
    history: EventHistory,
    arrival_min_months: int = 0,
) -> list[pd.Timestamp]:
    """Check the settings against the history; return the cuts as sorted timestamps.

    Raises ``ConfigError`` naming the setting: a cut that is not a month-end date, outside
    the data window, too early to leave ``min_history_months`` of history, or whose longest
    horizon reaches past the end of the data; horizons, replicates, levels, measures or
    targets outside their ranges.
    """
    if not settings.cuts:
        raise _setting_error("cuts", "no cut date given: list at least one month end")
    if not settings.horizons or any(int(h) < 1 for h in settings.horizons):
        raise _setting_error(
            "horizons", f"{list(settings.horizons)}: give one or more whole months >= 1"
        )
    if settings.replicates < 2:
        raise _setting_error(
            "replicates", f"{settings.replicates}: at least 2 are needed for an interval"
        )
    for level in settings.levels:
        if not 0.0 < float(level) < 1.0:
            raise _setting_error("levels", f"{level!r} is not a level between 0 and 1")
    if settings.min_history_months < max(1, arrival_min_months):
        raise _setting_error(
            "min_history_months",
            f"{settings.min_history_months} is below calibration.arrivals.min_months="
            f"{arrival_min_months}, the shortest history the arrival trends are fitted on",
        )
    if settings.pit_bins < 2:
        raise _setting_error("pit_bins", f"{settings.pit_bins}: use at least 2 bins")
    if settings.chart_history_months < 0:
        raise _setting_error("chart_history_months", "must be 0 or more")
    _check_measures(settings.measures)
    targets = settings.targets
    if targets.measure not in settings.measures:
        raise _setting_error(
            "targets.measure", f"{targets.measure!r} is not one of backtest.measures"
        )
    if targets.horizon not in [int(h) for h in settings.horizons]:
        raise _setting_error(
            "targets.horizon", f"{targets.horizon} is not one of backtest.horizons"
        )

    cuts = _parse_cuts(settings.cuts)
    start, end = history.window_start, history.window_end
    longest = max(int(h) for h in settings.horizons)
    for cut in cuts:
        if not start < cut < end:
            raise _setting_error(
                "cuts",
                f"{cut.date()} is outside the data window {start.date()} to {end.date()}",
            )
        earliest = (start - pd.Timedelta(days=1)) + pd.offsets.MonthEnd(settings.min_history_months)
        if cut < earliest:
            raise _setting_error(
                "cuts",
                f"{cut.date()} leaves less than backtest.min_history_months="
                f"{settings.min_history_months} months of history to fit on (the data start "
                f"{start.date()}; the earliest cut is {earliest.date()})",
            )
        reach = cut + pd.offsets.MonthEnd(longest)
        if reach > end:
            raise _setting_error(
                "horizons",
                f"the longest horizon, {longest} months from the cut {cut.date()} "
                f"(backtest.cuts), reaches {reach.date()}, past the end of the data "
                f"{end.date()}: use an earlier cut or shorter horizons",
            )
    return cuts


def _check_measures(measures: Mapping[str, Sequence[str]]) -> None:
    if not measures:
        raise _setting_error("measures", "no measure given")
    for name, categories in measures.items():
        if not categories:
            raise _setting_error(f"measures.{name}", "lists no state or placement group")
        unknown = [c for c in categories if c not in _CATEGORIES]
        if unknown:
            raise _setting_error(
                f"measures.{name}",
                f"unknown name(s) {unknown}: use states {list(vocab.STATES)} or placement "
                f"groups {list(vocab.PLACEMENT_GROUPS)}",
            )
        atoms = [a for c in categories for a in _atoms(c)]
        if len(atoms) != len(set(atoms)):
            raise _setting_error(
                f"measures.{name}", f"{list(categories)} counts some children twice"
            )


def _atoms(category: str) -> tuple[str, ...]:
    """The finest names a category counts (care is the sum of its placement groups)."""
    return vocab.PLACEMENT_GROUPS if category == vocab.CARE else (category,)


# --------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------


def pit_value(samples: np.ndarray, actual: float) -> float:
    """Share of ``samples`` below ``actual``, counting ties as half (mid-rank PIT)."""
    values = np.asarray(samples, dtype=float)
    if values.size == 0:
        raise ValueError("no samples to compute a PIT value from")
    below = np.count_nonzero(values < actual)
    ties = np.count_nonzero(values == actual)
    return float((below + 0.5 * ties) / values.size)


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


def _level_name(level: float) -> str:
    return f"{round(level * 100):d}"


def score_forecast(
    samples: np.ndarray,
    actual: float,
    *,
    naive: float,
    scale: float,
    levels: Sequence[float],
) -> dict[str, float | bool]:
    """Score one forecast (replicate values ``samples``) against the recorded ``actual``.

    ``naive`` is the no-change forecast (the value recorded at the cut); ``scale`` the MASE
    denominator from :func:`mase_scale`. Returns ``median``, ``error`` (median - actual),
    ``abs_error``, ``pct_error`` and ``abs_pct_error`` (percent of the actual; NaN when it
    is 0), ``naive_abs_error``, ``mase`` (NaN when the scale is 0 or unknown), ``pit``, and
    ``lower_L``, ``upper_L``, ``inside_L`` for each level (``L`` in percent).
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
        "naive_abs_error": abs(naive - actual),
        "mase": abs(error) / scale if scale and np.isfinite(scale) else float("nan"),
        "pit": pit_value(values, actual),
    }
    for level in levels:
        low, high = central_interval(values, level)
        name = _level_name(level)
        out[f"lower_{name}"] = low
        out[f"upper_{name}"] = high
        out[f"inside_{name}"] = bool(low <= actual <= high)
    return out


def summarise(metrics: pd.DataFrame, levels: Sequence[float]) -> pd.DataFrame:
    """Aggregate scored rows over cuts: per horizon and measure, pooled per horizon and
    over everything.

    Rows with a withheld actual (``scored`` false) are left out and counted in
    ``withheld``. Columns: ``horizon_months``, ``measure`` (``all`` when pooled), ``n``,
    ``withheld``, ``mape`` (mean absolute percentage error of the median), ``mean_pct_error``
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
            "mean_pct_error": _mean(scored, "pct_error"),
            "mean_mase": _mean(scored, "mase"),
            "mean_pit": _mean(scored, "pit"),
        }
        for level in levels:
            name = _level_name(level)
            flags = scored[f"inside_{name}"].astype(float) if n else pd.Series(dtype=float)
            row[f"coverage_{name}"] = float(flags.mean()) if n else float("nan")
            row[f"coverage_{name}_sd"] = math.sqrt(level * (1 - level) / n) if n else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def _mean(frame: pd.DataFrame, column: str) -> float:
    values = pd.to_numeric(frame[column], errors="coerce").dropna()
    return float(values.mean()) if len(values) else float("nan")


# --------------------------------------------------------------------------------------
# The backtest
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BacktestResult:
    """Tables of one backtest (unpublished: recorded counts are not yet withheld).

    ``forecasts``: ``cut``, ``month``, ``months_ahead``, ``measure``, ``median``, ``mean``,
    ``lower_L``/``upper_L`` per level, ``recorded``. ``metrics``: one row per cut, horizon
    and measure (see :func:`score_forecast`; plus ``cut``, ``horizon_months``, ``date``,
    ``actual``, ``naive``, ``mase_scale``, ``replicates`` and ``scored``). ``summary``: see
    :func:`summarise`. ``recorded``: month-end values of every measure over the whole window
    (``month``, ``measure``, ``recorded``). ``calibration``: per cut, the training window
    and the sampler's diagnostics. ``skipped``: measures the data cannot score.
    """

    forecasts: pd.DataFrame
    metrics: pd.DataFrame
    summary: pd.DataFrame
    recorded: pd.DataFrame
    calibration: pd.DataFrame
    cuts: tuple[pd.Timestamp, ...]
    measures: dict[str, list[str]]
    skipped: tuple[str, ...]
    mode: str
    window: tuple[pd.Timestamp, pd.Timestamp]


def _recorded_measures(
    history: EventHistory, measures: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """Month-end recorded values of each measure: index month, one column per measure."""
    counts = recorded_monthly(history)
    wide = counts.pivot_table(
        index="month", columns="category", values="children", aggfunc="sum", fill_value=0
    )
    months = pd.date_range(history.window_start, history.window_end, freq="ME")
    wide = wide.reindex(months, fill_value=0)
    out = pd.DataFrame(index=months)
    for name, categories in measures.items():
        present = [c for c in categories if c in wide.columns]
        out[name] = wide[present].sum(axis=1) if present else 0
    out.index.name = "month"
    return out.astype(float)


def _simulated_measures(
    replicates: pd.DataFrame, measures: Mapping[str, Sequence[str]]
) -> dict[str, np.ndarray]:
    """Per measure, an array ``(replicate, month)`` of simulated month-end values."""
    children = replicates[(replicates["measure"] == "children") & (replicates["age_band"] == "all")]
    wide = children.pivot_table(
        index=["replicate", "month"], columns="category", values="value", aggfunc="sum"
    ).sort_index()
    n_rep = wide.index.get_level_values("replicate").nunique()
    n_month = wide.index.get_level_values("month").nunique()
    out = {}
    for name, categories in measures.items():
        parts = wide.reindex(columns=list(categories), fill_value=0.0)
        total = parts.sum(axis=1).to_numpy(dtype=float)
        out[name] = total.reshape(n_rep, n_month)
    return out


def _with_cache(config: AppConfig, cut: pd.Timestamp) -> AppConfig:
    """``config`` whose calibration cache is the cut's own folder."""
    cache = Path(config.calibration.cache_dir).expanduser() / "backtest" / f"cut-{cut:%Y-%m-%d}"
    return dataclasses.replace(
        config, calibration=dataclasses.replace(config.calibration, cache_dir=str(cache))
    )


def _forecast_cut(
    history: EventHistory,
    cut: pd.Timestamp,
    config: BacktestAppConfig,
    measures: Mapping[str, Sequence[str]],
) -> tuple[dict[str, np.ndarray], pd.DatetimeIndex, dict[str, object]]:
    """Fit on the data before ``cut`` and simulate; return replicate values per measure."""
    settings = config.backtest
    horizon = max(int(h) for h in settings.horizons)
    n = int(settings.replicates)
    known = history.truncate(cut)
    log.info(
        "Cut %s: fitting on %s to %s", f"{cut:%Y-%m-%d}", known.window_start.date(), cut.date()
    )
    fitted = calibrate(known, _with_cache(config, cut))
    # The backtest projects the baseline (no scenario levers) at its own size.
    settings = dataclasses.replace(
        projection_settings(config),
        simulation=dataclasses.replace(config.simulation, horizon_months=horizon, replicates=n),
        arrival_levers=(),
        arrival_levels=(),
        hazard_levers=(),
        entry_levers=(),
    )
    system = prepare(known, fitted, settings)
    log.info(
        "Cut %s: simulating %d replicates x %d months (%d children open at the cut)",
        f"{cut:%Y-%m-%d}",
        n,
        horizon,
        len(system.caseload),
    )
    projection = simulate(system, settings)
    months = pd.date_range(system.start, periods=horizon, freq="ME")
    simulated = _simulated_measures(projection.replicates, measures)
    diagnostics = fitted.hazards.diagnostics_
    info: dict[str, object] = {
        "cut": cut,
        "fit_start": known.window_start,
        "fit_end": cut,
        "fit_months": len(pd.date_range(known.window_start, cut, freq="ME")),
        "children_open_at_cut": len(system.caseload),
        "hazards_fingerprint": fitted.hazards.fingerprint_,
        "hazards_from_cache": bool(fitted.hazards.from_cache_),
        "max_rhat": float(diagnostics["max_rhat"]),
        "min_ess_bulk": float(diagnostics["min_ess_bulk"]),
        "divergences": int(diagnostics["divergences"]),
    }
    return simulated, months, info


def backtest(history: EventHistory, config: BacktestAppConfig) -> BacktestResult:
    """Run the backtest on ``history`` with ``config`` (see the module docstring).

    Raises ``ConfigError`` for unusable settings (:func:`validate_backtest`) before any
    fitting; calibration errors (``ConvergenceError``) as the main run does.
    """
    settings = config.backtest
    cuts = validate_backtest(settings, history, config.calibration.arrivals.min_months)
    levels = [float(level) for level in settings.levels]
    horizons = sorted({int(h) for h in settings.horizons})
    measures = {name: list(cats) for name, cats in settings.measures.items()}
    skipped: tuple[str, ...] = ()
    if history.mode == "care_only":
        skipped = tuple(n for n, cats in measures.items() if not set(cats) <= _CARE_ONLY)
        measures = {n: cats for n, cats in measures.items() if n not in skipped}
        if skipped:
            log.info("Care-only data: not scoring %s", ", ".join(skipped))
        if not measures:
            raise _setting_error(
                "measures", "care-only data (SSDA903 alone) holds none of the measures listed"
            )
    recorded = _recorded_measures(history, measures)

    forecast_rows: list[pd.DataFrame] = []
    metric_rows: list[dict[str, object]] = []
    calibration_rows: list[dict[str, object]] = []
    for cut in cuts:
        simulated, months, info = _forecast_cut(history, cut, config, measures)
        calibration_rows.append(info)
        training = recorded.loc[recorded.index <= cut]
        for name, values in simulated.items():
            forecast_rows.append(_forecast_table(cut, name, months, values, levels, recorded))
            for h in horizons:
                date = months[h - 1]
                actual = float(recorded.at[date, name])
                naive = float(training[name].iloc[-1])
                scale = mase_scale(training[name], h)
                scores = score_forecast(
                    values[:, h - 1], actual, naive=naive, scale=scale, levels=levels
                )
                metric_rows.append(
                    {
                        "cut": cut,
                        "horizon_months": h,
                        "date": date,
                        "measure": name,
                        "actual": actual,
                        "naive": naive,
                        "mase_scale": scale,
                        "replicates": values.shape[0],
                        **scores,
                    }
                )
    metrics = pd.DataFrame(metric_rows)
    metrics["scored"] = True
    forecasts = pd.concat(forecast_rows, ignore_index=True)
    long_recorded = recorded.reset_index().melt(
        id_vars="month", var_name="measure", value_name="recorded"
    )
    return BacktestResult(
        forecasts=forecasts,
        metrics=metrics,
        summary=summarise(metrics, levels),
        recorded=long_recorded,
        calibration=pd.DataFrame(calibration_rows),
        cuts=tuple(cuts),
        measures=measures,
        skipped=skipped,
        mode=history.mode,
        window=(history.window_start, history.window_end),
    )


def _forecast_table(
    cut: pd.Timestamp,
    measure: str,
    months: pd.DatetimeIndex,
    values: np.ndarray,
    levels: Sequence[float],
    recorded: pd.DataFrame,
) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "cut": cut,
            "month": months,
            "months_ahead": np.arange(1, len(months) + 1),
            "measure": measure,
            "median": np.median(values, axis=0),
            "mean": values.mean(axis=0),
        }
    )
    for level in levels:
        low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)
        table[f"lower_{_level_name(level)}"] = low
        table[f"upper_{_level_name(level)}"] = high
    table["recorded"] = recorded[measure].reindex(months).to_numpy()
    return table


# --------------------------------------------------------------------------------------
# Publishing: withhold small recorded counts, write tables, charts and the summary
# --------------------------------------------------------------------------------------


def _totals(measures: Mapping[str, Sequence[str]]) -> list[tuple[str, list[str]]]:
    """Lines ``(total, parts)`` among the measures, where the parts partition the total.

    The parts of a measure are the largest other measures inside it (those not inside a
    larger one that is itself inside the total); a line exists when they cover the total
    exactly once. Nested lines (care, fostering, the foster groups) each form a line.
    """
    atoms = {name: frozenset(a for c in cats for a in _atoms(c)) for name, cats in measures.items()}
    lines = []
    for total, whole in atoms.items():
        inner = {n: a for n, a in atoms.items() if n != total and a < whole}
        parts = [n for n, a in inner.items() if not any(a < b for b in inner.values())]
        covered = [a for n in parts for a in atoms[n]]
        if parts and len(covered) == len(set(covered)) and set(covered) == whole:
            lines.append((total, parts))
    return lines


def withheld_counts(
    recorded: pd.DataFrame, measures: Mapping[str, Sequence[str]], rule: DisclosureRule
) -> pd.DataFrame:
    """Which recorded values to withhold: a boolean frame like ``recorded`` (wide, month rows).

    Each month's figures go through :func:`care_demand.outputs.disclosure.suppression_mask`,
    the one implementation of the disclosure rule: counts from 1 to ``rule.suppress_max``
    and, with ``rule.secondary``, a second figure wherever a measure is the total of others
    and exactly one of the line is withheld.
    """
    columns = list(recorded.columns)
    lines = [
        [columns.index(total), *(columns.index(p) for p in parts)]
        for total, parts in _totals({m: measures[m] for m in columns})
    ]
    values = recorded.to_numpy(dtype=float)
    hidden = np.array([suppression_mask(row, lines, rule) for row in values], dtype=bool)
    return pd.DataFrame(hidden.reshape(values.shape), index=recorded.index, columns=columns)


def _published(
    result: BacktestResult, rule: DisclosureRule
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Recorded, forecasts, metrics and summary tables with small counts withheld."""
    marker = rule.marker
    wide = result.recorded.pivot(index="month", columns="measure", values="recorded")
    wide = wide[list(result.measures)]
    hidden = withheld_counts(wide, result.measures, rule)
    hidden_long = (
        hidden.rename_axis(index="month")
        .reset_index()
        .melt(id_vars="month", var_name="measure", value_name="hidden")
    )

    recorded = result.recorded.merge(hidden_long, on=["month", "measure"], how="left")
    recorded["recorded"] = _marked(recorded["recorded"], recorded["hidden"], marker)
    recorded = recorded.drop(columns="hidden")

    forecasts = result.forecasts.merge(hidden_long, on=["month", "measure"], how="left")
    forecasts["recorded"] = _marked(forecasts["recorded"], forecasts["hidden"], marker)
    forecasts = forecasts.drop(columns="hidden")

    metrics = result.metrics.copy()
    at_date = metrics.merge(
        hidden_long.rename(columns={"month": "date"}), on=["date", "measure"], how="left"
    )["hidden"].to_numpy(dtype=bool)
    at_cut = metrics.merge(
        hidden_long.rename(columns={"month": "cut"}), on=["cut", "measure"], how="left"
    )["hidden"].to_numpy(dtype=bool)
    withheld = at_date | at_cut
    metrics["scored"] = ~withheld
    inside = [c for c in metrics.columns if c.startswith("inside_")]
    for column in (*_RECORDED_COLUMNS, *inside):
        metrics[column] = _marked(metrics[column], pd.Series(withheld), marker)
    levels = [float(c.removeprefix("inside_")) / 100 for c in inside]
    # The aggregates cover the published rows only.
    summary = summarise(result.metrics.assign(scored=~withheld), levels)
    return recorded, forecasts, metrics, summary


def _marked(values: pd.Series, hidden: pd.Series, marker: str) -> pd.Series:
    """``values`` with the hidden ones replaced by ``marker`` (counts shown as integers)."""
    hidden = pd.Series(np.asarray(hidden, dtype=bool), index=values.index)
    if values.name in _COUNT_COLUMNS:
        values = values.round().astype("Int64")
    if not hidden.any():
        return values
    return values.astype(object).where(~hidden, marker)


def run_backtest(config: BacktestAppConfig, run_dir: str | Path) -> BacktestResult:
    """Load the data, run the backtest and publish its outputs in ``run_dir``.

    Raises ``ConfigError`` for unusable settings and ``InvalidDataError`` for data that
    fail validation, before anything is fitted or written.
    """
    validate_config(config, scenario_file(config), CONFIG_DIR)
    council, history, synthetic = load(config)
    result = backtest(history, config)
    write_backtest(
        result,
        run_dir,
        config,
        synthetic=synthetic,
        details={
            "data_folder": "built-in example" if synthetic else str(data_folder(config)[0]),
            "data_fingerprint": council.fingerprint,
        },
    )
    _print_summary(result, Path(run_dir), config, synthetic)
    return result


def write_backtest(
    result: BacktestResult,
    run_dir: str | Path,
    config: BacktestAppConfig,
    *,
    synthetic: bool,
    details: Mapping[str, object] | None = None,
) -> list[Path]:
    """Publish the backtest's tables, charts and summary through a :class:`RunFolder`."""
    settings = config.backtest
    recorded, forecasts, metrics, summary = _published(
        result, DisclosureRule.from_config(config.output)
    )
    caption = SYNTHETIC_CAPTION if synthetic else ""
    run_dir = Path(run_dir)
    with RunFolder(run_dir) as out:
        out.write_csv(RECORDED_FILE, _dates(recorded, "month"))
        out.write_csv(FORECASTS_FILE, _rounded(_dates(forecasts, "cut", "month")))
        out.write_csv(METRICS_FILE, _rounded(_dates(metrics, "cut", "date")))
        out.write_csv(SUMMARY_FILE, _rounded(summary))
        out.write_csv(
            CALIBRATION_FILE, _rounded(_dates(result.calibration, "cut", "fit_start", "fit_end"))
        )
        for measure in result.measures:
            figure = forecast_chart(
                recorded[recorded["measure"] == measure],
                forecasts[forecasts["measure"] == measure],
                levels=[float(level) for level in settings.levels],
                horizons=[int(h) for h in settings.horizons],
                history_months=settings.chart_history_months,
                title=f"Backtest: {_label(measure)}, forecasts from each cut against the record",
                caption=caption,
            )
            save_figure(figure, out.path(LAYOUT.backtest.forecast_chart(measure)))
        scored = metrics[metrics["scored"]]
        save_figure(
            pit_histogram(
                pd.to_numeric(scored["pit"]).to_numpy(),
                scored["horizon_months"].to_numpy(),
                bins=settings.pit_bins,
                caption=caption,
            ),
            out.path(LAYOUT.backtest.pit_histogram),
        )
        out.write_text(
            REPORT_FILE, summary_markdown(result, summary, metrics, config, synthetic=synthetic)
        )
        run_details = {
            "package_version": __version__,
            "synthetic_data": synthetic,
            **dict(details or {}),
            "mode": result.mode,
            "seed": config.seed,
            "cuts": [f"{c:%Y-%m-%d}" for c in result.cuts],
            "skipped_measures": list(result.skipped),
            "config": dataclasses.asdict(config),
        }
        out.write_text(LAYOUT.run_details, json.dumps(run_details, indent=2, default=str) + "\n")
    return sorted(p for p in run_dir.rglob("*") if p.is_file())


def _dates(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    out = frame.copy()
    for column in columns:
        out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%d")
    return out


def _rounded(frame: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(digits)
    return out


def _label(measure: str) -> str:
    names = {
        vocab.CARE: "children in care",
        vocab.CIN: "children in need (CIN)",
        vocab.CP: "child protection plans",
        vocab.EARLY_HELP: "early help",
    }
    return names.get(measure, measure.replace("_", " "))


# --------------------------------------------------------------------------------------
# The Markdown summary
# --------------------------------------------------------------------------------------


def _formatted(value: object, spec: str, suffix: str = "") -> str:
    """A number formatted with ``spec``; blank when missing, other values as text."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    return "" if math.isnan(number) else f"{number:{spec}}{suffix}"


def _pct(value: object, digits: int = 1) -> str:
    return _formatted(value, f"+.{digits}f", "%")


def _num(value: object, digits: int = 0) -> str:
    return _formatted(value, f",.{digits}f")


def _interval_cell(row: pd.Series, level: str) -> str:
    """An interval for the Markdown table, marked when the record fell outside it."""
    text = f"{_num(row[f'lower_{level}'])}-{_num(row[f'upper_{level}'])}"
    inside = row[f"inside_{level}"]
    if row["scored"] and not bool(inside):
        text += " (missed)"
    return text


def target_checks(summary: pd.DataFrame, settings: BacktestConfig) -> list[dict[str, object]]:
    """The summary's checks against ``backtest.targets``: name, target, result, met."""
    targets = settings.targets
    checks: list[dict[str, object]] = []
    row = summary[
        (summary["horizon_months"].astype(str) == str(targets.horizon))
        & (summary["measure"] == targets.measure)
    ]
    mape = float(row["mape"].iloc[0]) if len(row) else float("nan")
    checks.append(
        {
            "check": f"{targets.horizon}-month error of the median, {_label(targets.measure)} "
            "(mean absolute % over the cuts)",
            "target": f"under {targets.max_abs_pct_error:g}%",
            "result": f"{mape:.1f}%" if not math.isnan(mape) else "not scored",
            "met": bool(mape < targets.max_abs_pct_error) if not math.isnan(mape) else False,
        }
    )
    pooled = summary[(summary["horizon_months"] == "all") & (summary["measure"] == "all")]
    for level in settings.levels:
        name = _level_name(float(level))
        rate = float(pooled[f"coverage_{name}"].iloc[0]) if len(pooled) else float("nan")
        gap = abs(rate - float(level)) * 100
        checks.append(
            {
                "check": f"coverage of the {name}% intervals (every measure, cut and horizon; "
                f"n = {int(pooled['n'].iloc[0]) if len(pooled) else 0})",
                "target": f"{name}% +/- {targets.coverage_tolerance_points:g} points",
                "result": f"{rate * 100:.0f}%" if not math.isnan(rate) else "not scored",
                "met": bool(gap <= targets.coverage_tolerance_points)
                if not math.isnan(rate)
                else False,
            }
        )
    return checks


def summary_markdown(
    result: BacktestResult,
    summary: pd.DataFrame,
    metrics: pd.DataFrame,
    config: BacktestAppConfig,
    *,
    synthetic: bool,
) -> str:
    """The backtest's summary page: settings, targets, the care series and the tables."""
    settings = config.backtest
    levels = [_level_name(float(level)) for level in settings.levels]
    start, end = result.window
    lines = ["# Backtest: forecasts against what happened", ""]
    if synthetic:
        lines += [f"_{SYNTHETIC_CAPTION}_", ""]
    lines += [
        f"Data: {start:%d %B %Y} to {end:%d %B %Y}, "
        f"{'whole continuum' if result.mode == 'continuum' else 'care only (SSDA903 alone)'}.",
        f"Cuts: {', '.join(f'{c:%Y-%m-%d}' for c in result.cuts)}; horizons "
        f"{', '.join(str(h) for h in settings.horizons)} months; {settings.replicates} "
        f"replicates per cut; intervals {', '.join(f'{lv}%' for lv in levels)}.",
        "At each cut the hazards and arrival trends are fitted on the data up to the cut only; "
        "the projection starts the month after it. Method and definitions: docs/backtest.md.",
        "",
    ]
    if not config.capacity.enforce:
        lines += [
            "In-house capacity limits were not applied (capacity.enforce false): the placement "
            "mix follows the shares fitted before each cut.",
            "",
        ]
    if result.skipped:
        lines += [f"Not scored (not in care-only data): {', '.join(result.skipped)}.", ""]

    lines += ["## Targets", "", "| Check | Target | Result | Met |", "|---|---|---|---|"]
    for check in target_checks(summary, settings):
        met = "yes" if check["met"] else "no"
        lines.append(f"| {check['check']} | {check['target']} | {check['result']} | {met} |")
    lines.append("")

    care = settings.targets.measure
    lines += [
        f"## {_label(care).capitalize()}, every cut",
        "",
        "| Cut | Months ahead | Date | Recorded | Median | Error | "
        + " | ".join(f"{lv}% interval" for lv in levels)
        + " | PIT |",
        "|---|---|---|---|---|---|" + "---|" * len(levels) + "---|",
    ]
    for _, row in metrics[metrics["measure"] == care].iterrows():
        intervals = " | ".join(_interval_cell(row, lv) for lv in levels)
        pit = _num(row["pit"], 2) if row["scored"] else row["pit"]
        lines.append(
            f"| {pd.Timestamp(row['cut']):%Y-%m-%d} | {row['horizon_months']} | "
            f"{pd.Timestamp(row['date']):%Y-%m-%d} | {_num(row['actual'])} | "
            f"{_num(row['median'])} | {_pct(row['pct_error'])} | {intervals} | {pit} |"
        )
    lines.append("")

    lines += [
        "## Accuracy and coverage over the cuts",
        "",
        "MAPE: mean absolute % error of the median; bias: mean signed % error (positive: "
        "forecasts ran high); MASE below 1: smaller errors than a no-change forecast makes "
        "on average over the training window. Coverage: share of recorded values inside the "
        "interval (+/- the binomial sd if calibrated).",
        "",
        "| Months ahead | Measure | n | MAPE | Bias | MASE | Mean PIT | "
        + " | ".join(f"{lv}% coverage" for lv in levels)
        + " |",
        "|---|---|---|---|---|---|---|" + "---|" * len(levels),
    ]
    for _, row in summary.iterrows():
        coverage = " | ".join(
            f"{row[f'coverage_{lv}'] * 100:.0f}% +/- {row[f'coverage_{lv}_sd'] * 100:.0f}"
            if row["n"]
            else ""
            for lv in levels
        )
        withheld = f" ({row['withheld']} withheld)" if row["withheld"] else ""
        lines.append(
            f"| {row['horizon_months']} | {_label(str(row['measure']))} | {row['n']}{withheld} "
            f"| {_num(row['mape'], 1)}% | {_pct(row['mean_pct_error'])} | "
            f"{_num(row['mean_mase'], 2)} | {_num(row['mean_pit'], 2)} | {coverage} |"
        )
    lines.append("")

    lines += [
        "## Calibration at each cut",
        "",
        "| Cut | Fitted on | Children open at the cut | Max R-hat | Min bulk ESS | Divergences |",
        "|---|---|---|---|---|---|",
    ]
    for _, row in result.calibration.iterrows():
        lines.append(
            f"| {row['cut']:%Y-%m-%d} | {row['fit_start']:%Y-%m-%d} to {row['fit_end']:%Y-%m-%d} "
            f"({row['fit_months']} months) | {row['children_open_at_cut']:,} | "
            f"{row['max_rhat']:.3f} | {row['min_ess_bulk']:.0f} | {row['divergences']} |"
        )
    lines += [
        "",
        f"{DisclosureRule.from_config(config.output).describe()} Withheld figures are left "
        "out of the aggregates.",
        "",
        f"Files: `{FORECASTS_FILE}`, `{METRICS_FILE}`, `{SUMMARY_FILE}`, `{RECORDED_FILE}`, "
        f"`{CALIBRATION_FILE}`, charts in `{CHART_DIR}/`.",
    ]
    return "\n".join(lines) + "\n"


def _print_summary(
    result: BacktestResult, run_dir: Path, config: BacktestAppConfig, synthetic: bool
) -> None:
    _, _, _, summary = _published(result, DisclosureRule.from_config(config.output))
    for check in target_checks(summary, config.backtest):
        print(f"{check['check']}: {check['result']} (target {check['target']})")
    print(f"care-demand-backtest: outputs written to {run_dir.resolve()}")
    if synthetic:
        print("(built-in synthetic example: invented children, Dorset-like totals)")
