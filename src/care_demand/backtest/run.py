"""The rolling-origin run: cut the history, calibrate and project from each cut, score.

For each cut date the event history is cut as it was known on that day
(:meth:`EventHistory.truncate`), the hazards and arrival trends are fitted on the data
before the cut (each cut with its own calibration cache), the flow model projects from the
month after the cut (:func:`_forecast_cut`), and the projection is scored against the stocks
the full history records ``h`` months later (:mod:`.metrics`). :func:`backtest` returns the
unpublished tables; :func:`run_backtest` loads the data, runs it and publishes the outputs
(:mod:`.publish`).

Typical use::

    config = load_backtest_config(["backtest.cuts=[2019-03-31]", "backtest.replicates=50"])
    result = run_backtest(config, "outputs/backtest")
    result.summary     # accuracy and coverage per horizon and measure
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from care_demand.backtest.arrival_drift import SCORE as DRIFT_SCORE
from care_demand.backtest.arrival_drift import score_drifts
from care_demand.backtest.arrival_variants import score_variants, variant_before
from care_demand.backtest.metrics import level_name, mase_scale, score_forecast, summarise
from care_demand.backtest.publish import published_tables, write_backtest
from care_demand.backtest.rate_variants import (
    RECENT,
    WEIGHTED,
    WHOLE,
    period_before,
    score_rates,
)
from care_demand.backtest.settings import (
    CARE_ONLY_CATEGORIES,
    BacktestAppConfig,
    setting_error,
    validate_backtest,
)
from care_demand.backtest.summary import target_checks
from care_demand.calibration import monthly_arrivals
from care_demand.calibration.arrivals import ArrivalModel
from care_demand.calibration.hazards import ConvergenceError
from care_demand.calibration.reference import (
    fit_hazards,
    rate_period_settings,
    sets_rate_period,
)
from care_demand.config import (
    CONFIG_DIR,
    AppConfig,
    projection_settings,
    scenario_file,
    validate_config,
)
from care_demand.data import EventHistory
from care_demand.outputs.disclosure import DisclosureRule
from care_demand.pipeline import Calibrated, calibrate, data_folder, load, recorded_monthly
from care_demand.simulation.build import OutsideArrivals, luck_only
from care_demand.simulation.projection import prepare, simulate

__all__ = ["BacktestResult", "backtest", "run_backtest"]

log = logging.getLogger("care_demand")


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
    ``arrival_scores``: per cut, each arrival trend variant's forecast of each kind's
    arrivals against the record (:func:`~care_demand.backtest.arrival_variants.score_variants`,
    plus ``cut``); ``shipped_variant``: the variant with the run's own trend damping.
    ``rate_scores``: per cut, the transitions expected by the rates fitted on the whole
    record, on its recent months and on the record weighted by age, against the record
    (:func:`~care_demand.backtest.rate_variants.score_rates`, plus ``cut``; empty when
    neither variant is set, or the run sets its own reference period or weighting).
    ``drift_scores``: per origin (each cut, and the dates between them every
    ``arrival_drift.every_months``), each level drift's forecast distribution of each kind's
    arrivals against the record
    (:func:`~care_demand.backtest.arrival_drift.score_drifts`, plus ``cut``: the origin);
    ``shipped_drift``: the drift variant with the run's own ``level_drift_sd``.
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
    arrival_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    shipped_variant: str = ""
    rate_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    drift_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    shipped_drift: str = ""


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


def _rate_config(config: BacktestAppConfig, cut: pd.Timestamp, period: str) -> BacktestAppConfig:
    """``config`` with the cut's own calibration cache, fitting the rates on the record
    before ``cut`` as ``period`` (whole, recent or weighted) says."""
    rates = config.backtest.rate_variants
    cached = _with_cache(config, cut)
    calibration = rate_period_settings(
        cached.calibration,
        period,
        cut,
        recent_months=rates.recent_months,
        half_life_years=rates.half_life_years,
    )
    return dataclasses.replace(cached, calibration=calibration)


def _forecast_cut(
    history: EventHistory,
    cut: pd.Timestamp,
    config: BacktestAppConfig,
    measures: Mapping[str, Sequence[str]],
    trend_damping: float | None = None,
    rate_period: str = WHOLE,
    level_drift_sd: float | None = None,
) -> tuple[
    dict[str, np.ndarray], dict[str, np.ndarray], pd.DatetimeIndex, dict[str, object], Calibrated
]:
    """Fit on the data before ``cut`` (the rates as ``rate_period`` says) and simulate
    (carrying the arrival trends forward with ``trend_damping`` and ``level_drift_sd``, the
    run's own settings when None); return replicate values per measure, the same by luck
    alone (:func:`~care_demand.simulation.build.luck_only`; empty unless
    ``backtest.luck_alone``), the months, the cut's calibration record and its
    calibration."""
    settings = config.backtest
    horizon = max(int(h) for h in settings.horizons)
    n = int(settings.replicates)
    known = history.truncate(cut)
    log.info(
        "Cut %s: fitting on %s to %s", f"{cut:%Y-%m-%d}", known.window_start.date(), cut.date()
    )
    fitted = calibrate(known, _rate_config(config, cut, rate_period))
    carried = {"trend_damping": trend_damping, "level_drift_sd": level_drift_sd}
    changes = {name: float(value) for name, value in carried.items() if value is not None}
    if changes:
        fitted = dataclasses.replace(fitted, arrivals=fitted.arrivals.with_settings(**changes))
    # The backtest projects the baseline (no scenario levers) at its own size.
    projecting = dataclasses.replace(
        projection_settings(config),
        simulation=dataclasses.replace(config.simulation, horizon_months=horizon, replicates=n),
        arrival_levers=(),
        arrival_levels=(),
        hazard_levers=(),
        entry_levers=(),
    )
    system = prepare(known, fitted, projecting)
    log.info(
        "Cut %s: simulating %d replicates x %d months (%d children open at the cut)",
        f"{cut:%Y-%m-%d}",
        n,
        horizon,
        len(system.caseload),
    )
    projection = simulate(system, projecting)
    months = pd.date_range(system.start, periods=horizon, freq="ME")
    simulated = _simulated_measures(projection.replicates, measures)
    luck: dict[str, np.ndarray] = {}
    if settings.luck_alone:
        log.info("Cut %s: simulating %d replicates by luck alone", f"{cut:%Y-%m-%d}", n)
        alone = simulate(luck_only(system), projecting)
        luck = _simulated_measures(alone.replicates, measures)
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
        "trend_damping": float(fitted.arrivals.settings.trend_damping),
        "level_drift_sd": float(fitted.arrivals.settings.level_drift_sd),
    }
    return simulated, luck, months, info, fitted


def arrival_variants(config: BacktestAppConfig) -> tuple[dict[str, float], str]:
    """The trend variants scored, and the name of the one the run uses (its own
    ``calibration.arrivals.trend_damping``, added as ``shipped`` when no variant has it)."""
    own = config.calibration.arrivals.trend_damping
    return _with_shipped(config.backtest.arrival_variants.variants, own)


def arrival_drifts(config: BacktestAppConfig) -> tuple[dict[str, float], str]:
    """The level drifts scored, and the name of the one the run uses (its own
    ``calibration.arrivals.level_drift_sd``, added as ``shipped`` when no variant has it)."""
    own = config.calibration.arrivals.level_drift_sd
    return _with_shipped(config.backtest.arrival_drift.variants, own)


def _with_shipped(variants: Mapping[str, float], own: float) -> tuple[dict[str, float], str]:
    """The variants, and the name of the one with the run's own value ``own`` (added as
    ``shipped`` when none has it)."""
    named = {str(k): float(v) for k, v in variants.items()}
    shipped = next((name for name, value in named.items() if value == float(own)), None)
    if shipped is None:
        shipped = "shipped"
        named[shipped] = float(own)
    return named, shipped


def _score_arrivals(
    model: ArrivalModel,
    cut: pd.Timestamp,
    recorded: pd.DataFrame,
    config: BacktestAppConfig,
    drifts: bool = False,
) -> pd.DataFrame:
    """The arrival trend variants' forecasts from ``cut`` against the record; with
    ``drifts``, the level drifts' (each with its own settings)."""
    settings = config.backtest.arrival_drift if drifts else config.backtest.arrival_variants
    variants, _ = arrival_drifts(config) if drifts else arrival_variants(config)
    start = (cut + pd.Timedelta(days=1)).to_period("M").to_timestamp()
    end = start + pd.offsets.MonthEnd(int(settings.months))
    counts = monthly_arrivals(recorded, start, end)
    scores = (score_drifts if drifts else score_variants)(
        model,
        start,
        counts.groupby("kind")["count"].sum().to_dict(),
        variants,
        months=int(settings.months),
        paths=int(settings.paths),
        seed=int(config.seed),
        suppress_max=int(config.output.suppress_max),
    )
    return scores.assign(cut=cut)


def _joined(parts: Sequence[pd.DataFrame], by: list[str] | None = None) -> pd.DataFrame:
    """The non-empty ``parts`` in one table (sorted ``by`` those columns); empty if none."""
    parts = [part for part in parts if not part.empty]
    if not parts:
        return pd.DataFrame()
    joined = pd.concat(parts, ignore_index=True)
    return joined.sort_values(by, kind="stable").reset_index(drop=True) if by else joined


def _origin_drifts(
    history: EventHistory,
    arrivals: pd.DataFrame,
    config: BacktestAppConfig,
    cuts: Sequence[pd.Timestamp],
) -> pd.DataFrame:
    """The level drifts scored at the origins between the cuts (``arrival_drift.every_months``
    apart, from ``min_history_months`` into the data to the last whose ``months`` of arrivals
    are recorded; the cuts themselves are scored from their own fits), each from an arrival
    model fitted on the record before it and carried forward as the run's settings say;
    ``arrivals`` are the history's arrivals from outside services, scored after each."""
    settings = config.backtest.arrival_drift
    if settings.every_months is None:
        return pd.DataFrame()
    first = history.window_start + pd.offsets.MonthEnd(int(config.backtest.min_history_months))
    origins = pd.date_range(first, history.window_end, freq=f"{int(settings.every_months)}ME")
    taken = {pd.Timestamp(cut) for cut in cuts}
    rows = []
    for origin in origins:
        if origin in taken or origin + pd.offsets.MonthEnd(int(settings.months)) > (
            history.window_end
        ):
            continue
        log.info("Origin %s: the arrivals' drifts", f"{origin:%Y-%m-%d}")
        model = ArrivalModel(config.calibration.arrivals).fit(
            OutsideArrivals.of(history.truncate(origin))
        )
        rows.append(_score_arrivals(model, origin, arrivals, config, drifts=True))
    return _joined(rows)


def _score_rates(
    history: EventHistory, cut: pd.Timestamp, config: BacktestAppConfig
) -> pd.DataFrame:
    """The rates fitted on the record before ``cut`` in each way the settings score (the
    whole record; its last ``recent_months``; weighted by age with ``half_life_years``),
    scored on the transitions after it (nothing to score when the run chooses its own
    period or weighting, or neither variant is set)."""
    settings = config.backtest.rate_variants
    if sets_rate_period(config.calibration):
        return pd.DataFrame()
    periods = [WHOLE]
    if settings.recent_months is not None:
        periods.append(RECENT)
    if settings.half_life_years is not None:
        periods.append(WEIGHTED)
    if len(periods) == 1:
        return pd.DataFrame()
    known = history.truncate(cut)
    models = {}
    for period in periods:
        # A record no longer than the recent period gives the whole record's fit (cached).
        log.info("Cut %s: the rates fitted on the %s record", f"{cut:%Y-%m-%d}", period)
        try:
            models[period] = fit_hazards(known, _rate_config(config, cut, period).calibration)
        except ConvergenceError as exc:
            if period == WHOLE:
                raise
            # A variant whose posterior cannot be trusted on this record is not a candidate:
            # left out of this cut, it is left out of the choice (rate_variants.rate_record).
            log.warning("Cut %s: the %s rates left out: %s", f"{cut:%Y-%m-%d}", period, exc)
    scores = score_rates(
        models,
        history,
        cut,
        months=int(settings.months),
        suppress_max=int(config.output.suppress_max),
    )
    return scores.assign(cut=cut)


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
        skipped = tuple(n for n, cats in measures.items() if not set(cats) <= CARE_ONLY_CATEGORIES)
        measures = {n: cats for n, cats in measures.items() if n not in skipped}
        if skipped:
            log.info("Care-only data: not scoring %s", ", ".join(skipped))
        if not measures:
            raise setting_error(
                "measures", "care-only data (SSDA903 alone) holds none of the measures listed"
            )
    recorded = _recorded_measures(history, measures)
    arrivals = OutsideArrivals.of(history).arrivals

    forecast_rows: list[pd.DataFrame] = []
    metric_rows: list[dict[str, object]] = []
    calibration_rows: list[dict[str, object]] = []
    arrival_rows: list[pd.DataFrame] = []
    rate_rows: list[pd.DataFrame] = []
    drift_rows: list[pd.DataFrame] = []
    variants, shipped = arrival_variants(config)
    drifts, shipped_drift = arrival_drifts(config)
    apply = bool(settings.arrival_variants.apply)
    apply_drift = bool(settings.arrival_drift.apply)
    # The drifts are scored at more origins than the cuts: arrival fits alone, no simulation.
    drift_rows.append(_origin_drifts(history, arrivals, config, cuts))
    for cut in cuts:
        # The arrival variant and the rates' period a run on the record known at the cut
        # would use: the choice on the earlier cuts whose scored months had ended, when its
        # nested check on them held.
        scores = pd.concat(arrival_rows, ignore_index=True) if arrival_rows else pd.DataFrame()
        variant, chosen_on = (
            variant_before(scores, cut, shipped, int(settings.arrival_variants.months))
            if apply
            else (shipped, 0)
        )
        drifted = _joined(drift_rows)
        drift, drift_on = (
            variant_before(
                drifted, cut, shipped_drift, int(settings.arrival_drift.months), DRIFT_SCORE
            )
            if apply_drift
            else (shipped_drift, 0)
        )
        rated = [part for part in rate_rows if not part.empty]
        period, period_on = (
            period_before(
                pd.concat(rated, ignore_index=True), cut, int(settings.rate_variants.months)
            )
            if rated and settings.rate_variants.apply
            else (WHOLE, 0)
        )
        # This cut's fits are scored first: a chosen period whose fit failed the convergence
        # checks here is left out, and the cut forecasts with the whole record.
        rates_here = _score_rates(history, cut, config)
        if period != WHOLE and period not in set(rates_here.get("variant", ())):
            log.warning(
                "Cut %s: the %s rates were left out; the whole record's used",
                f"{cut:%Y-%m-%d}",
                period,
            )
            period = WHOLE
        simulated, luck, months, info, fitted = _forecast_cut(
            history,
            cut,
            config,
            measures,
            variants[variant] if apply else None,
            period,
            drifts[drift] if apply_drift else None,
        )
        calibration_rows.append(
            {
                **info,
                "arrival_variant": variant,
                "chosen_on_cuts": chosen_on,
                "rate_period": period,
                "rate_chosen_on_cuts": period_on,
                "drift_variant": drift,
                "drift_chosen_on_cuts": drift_on,
            }
        )
        arrival_rows.append(_score_arrivals(fitted.arrivals, cut, arrivals, config))
        drift_rows.append(_score_arrivals(fitted.arrivals, cut, arrivals, config, drifts=True))
        rate_rows.append(rates_here)
        training = recorded.loc[recorded.index <= cut]
        for name, values in simulated.items():
            forecast_rows.append(_forecast_table(cut, name, months, values, levels, recorded))
            for h in horizons:
                date = months[h - 1]
                actual = float(recorded.at[date, name])
                naive = float(training[name].iloc[-1])
                scale = mase_scale(training[name], h)
                scores = score_forecast(
                    values[:, h - 1],
                    actual,
                    naive=naive,
                    scale=scale,
                    levels=levels,
                    luck=luck[name][:, h - 1] if name in luck else None,
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
        arrival_scores=pd.concat(arrival_rows, ignore_index=True),
        shipped_variant=shipped,
        rate_scores=pd.concat(rate_rows, ignore_index=True),
        drift_scores=_joined(drift_rows, by=["cut", "variant", "kind"]),
        shipped_drift=shipped_drift,
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
        table[f"lower_{level_name(level)}"] = low
        table[f"upper_{level_name(level)}"] = high
    table["recorded"] = recorded[measure].reindex(months).to_numpy()
    return table


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


def _print_summary(
    result: BacktestResult, run_dir: Path, config: BacktestAppConfig, synthetic: bool
) -> None:
    _, _, _, summary = published_tables(result, DisclosureRule.from_config(config.output))
    for check in target_checks(summary, config.backtest):
        print(f"{check['check']}: {check['result']} (target {check['target']})")
    print(f"care-demand-backtest: outputs written to {run_dir.resolve()}")
    if synthetic:
        print("(built-in synthetic example: invented children, Dorset-like totals)")
