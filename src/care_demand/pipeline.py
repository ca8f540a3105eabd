"""The main job: load and validate -> event history -> calibrate -> simulate -> report.

Plain Python with typed config objects; :mod:`care_demand.cli` wraps it in Hydra.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import json
import logging
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from joblib import effective_n_jobs
from tqdm import tqdm

from care_demand import PORTABLE_NUMPY, __version__, numpy_is_portable, vocab
from care_demand.calibration.arrivals import ArrivalModel
from care_demand.calibration.hazards import ConvergenceError, HazardModel
from care_demand.calibration.reference import (
    fit_hazards,
    rate_period_settings,
    reference_label,
    sets_rate_period,
)
from care_demand.checking import yaml_keys
from care_demand.config import (
    CONFIG_DIR,
    AppConfig,
    data_folder,
    projection_settings,
    scenario_file,
    shipped_capacity,
    shipped_costs,
    validate_config,
)
from care_demand.data import (
    CouncilData,
    EventHistory,
    InvalidDataError,
    build_history,
    check_caseload,
    load_council,
)
from care_demand.data.caseload import starting_caseload
from care_demand.errors import CareDemandError, ConfigError
from care_demand.finance import (
    CostConfig,
    cost_assumptions,
    cost_replicates,
    cost_summary,
    fixed_cost_titles,
    validate_costs,
)
from care_demand.outputs.arrival_chart import arrival_components, write_arrival_components
from care_demand.outputs.arrival_choice import (
    arrival_choice,
    arrival_choice_note,
    drift_choice,
    drift_choice_note,
)
from care_demand.outputs.backtest_choice import APPLIED, NOT_CONVERGED
from care_demand.outputs.charts import write_fan_chart, write_run_charts
from care_demand.outputs.comparison import key_measures
from care_demand.outputs.disclosure import (
    DisclosureRule,
    suppress_arrivals,
    suppress_recorded_monthly,
    suppress_stocks,
)
from care_demand.outputs.family_help import (
    add_family_help_recorded,
    family_help_held,
    family_help_replicates,
)
from care_demand.outputs.flows import (
    flows_by_replicate,
    flows_by_year,
    projected_flows,
    recorded_flows,
)
from care_demand.outputs.interval_widening import (
    applied_factors,
    find_widening,
    run_widening,
    widen_quantiles,
    widening_note,
)
from care_demand.outputs.layout import LAYOUT
from care_demand.outputs.rate_choice import rate_choice, rate_choice_note, rate_run_words
from care_demand.outputs.report import write_run_report
from care_demand.outputs.run_folder import RunFolder
from care_demand.outputs.sufficiency import sufficiency_table
from care_demand.outputs.summary import summarise_history, suppress_pre_proceedings
from care_demand.outputs.workbook import (
    CoverDetails,
    RealTerms,
    demand_capacity_table,
    write_workbook,
)
from care_demand.scenarios import check_levers_held, check_uasc_levers
from care_demand.simulation.build import OutsideArrivals, projection_start, sizing_note
from care_demand.simulation.capacity import CapacityConfig
from care_demand.simulation.projection import Projection, Scheduled, schedule
from care_demand.simulation.runner import (
    idle_pool,
    quantile_table,
    results_of,
    start_workers,
    stop_workers,
)

__all__ = [
    "STAGES",
    "Calibrated",
    "RunResult",
    "adopt_projection",
    "calibrate",
    "chart_parts",
    "data_folder",
    "drop_scheduled",
    "keep_recent",
    "load",
    "projection_key",
    "results_of",
    "run",
    "schedule_runs",
    "stop_workers",
    "submit_when_idle",
]

# How far a run goes (``run_until``), in order.
STAGES = ("data", "calibration", "simulation")

log = logging.getLogger("care_demand")

SYNTHETIC_CAPTION = (
    "Synthetic data: the built-in example council, invented children with Dorset-like totals."
)


@dataclass(frozen=True)
class Calibrated:
    """The fitted models of one run."""

    hazards: HazardModel
    arrivals: ArrivalModel
    # The reference period of the transition rates in words; None: the whole record.
    reference_period: str | None = None
    # The arrival trend chosen by a backtest of the same data and what the run did with it
    # (:func:`~care_demand.outputs.arrival_choice.arrival_choice`); None: no backtest found.
    arrival_trend: dict[str, object] | None = None
    # The arrivals' level drift chosen by a backtest of the same data and what the run did
    # with it (:func:`~care_demand.outputs.arrival_choice.drift_choice`); None: none found.
    arrival_drift: dict[str, object] | None = None
    # The period for the rates chosen by a backtest of the same data and what the run did
    # with it (:func:`~care_demand.outputs.rate_choice.rate_choice`); None: no backtest found.
    rate_period: dict[str, object] | None = None


@dataclass(frozen=True)
class RunResult:
    """What a run produced: the run folder, the files written, the history and projection."""

    run_dir: Path
    files: list[Path]
    history: EventHistory
    quantiles: pd.DataFrame | None


# The last data read in this process, by what they depend on (see :func:`load`), oldest first.
_LOADED: dict[str, tuple[CouncilData, EventHistory]] = {}
# How many data folders and calibrations this process keeps (see :func:`keep_recent`).
_KEEP = [1]


def keep_recent(n: int) -> None:
    """Keep the last ``n`` (at least 1) data folders read and calibrations made in this
    process: one for a run or the browser app; a region's worker process keeps those of the
    councils whose tasks it takes, whose tasks come in turn."""
    _KEEP[0] = max(1, int(n))


def _remember(cache: dict, key: str, value: object) -> None:
    """Put ``value`` in ``cache`` as its newest entry, dropping the oldest beyond the limit."""
    cache.pop(key, None)
    cache[key] = value
    while len(cache) > _KEEP[0]:
        cache.pop(next(iter(cache)))


def _data_key(folder: Path, config: AppConfig) -> str:
    """What a load depends on: the data settings and every file's name, size and time."""
    files = sorted(
        (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    )
    payload = {"data": dataclasses.asdict(config.data), "files": files}
    return json.dumps(payload, sort_keys=True, default=str)


def load(config: AppConfig) -> tuple[CouncilData, EventHistory, bool]:
    """Load, validate and build the event history; also says whether the data are synthetic.

    The scenarios of a run of the browser app, and the runs of one process, read the same
    folder: the last folder read is kept while its files and the data settings are
    unchanged (any file added, removed, resized or touched reads it again).
    """
    folder, synthetic = data_folder(config)
    if not folder.is_dir():
        raise CareDemandError(
            f"data.path={config.data.path!r}: no such folder. Give the folder that holds the "
            "council's SSDA903 files (see docs/input_formats.md)."
        )
    log.info("Reading %s", "the built-in synthetic example" if synthetic else folder)
    key = _data_key(folder, config)
    if key in _LOADED:
        council, history = _LOADED[key]
    else:
        council = load_council(folder, config.data)
        history = build_history(council, config.data)
    _remember(_LOADED, key, (council, history))
    log.info(
        "Mode: %s (%d children, %d spells, window %s to %s)",
        history.mode,
        len(history.children),
        len(history.spells),
        f"{history.window_start:%Y-%m-%d}",
        f"{history.window_end:%Y-%m-%d}",
    )
    if council.dropped_open:
        log.warning(
            "OPEN EPISODES DROPPED: %d episode(s) open at the end of the data (children in "
            "care) were dropped in lenient mode (%s); the projection starts without them",
            council.dropped_open_total,
            ", ".join(f"{rule} {n}" for rule, n in sorted(council.dropped_open.items())),
        )
    if council.dropped:
        log.warning(
            "Lenient mode dropped %d invalid rows: %s",
            sum(council.dropped.values()),
            ", ".join(f"{rule} {n}" for rule, n in sorted(council.dropped.items())),
        )
    if council.repairs:
        log.info(
            "Values read in their one clear meaning (repairs): %s",
            ", ".join(f"{rule} {n}" for rule, n in sorted(council.repairs.items())),
        )
    return council, history, synthetic


# The last calibrations of this process, by what they depend on (see :func:`calibrate`).
_CALIBRATED: dict[str, Calibrated] = {}


def calibrate(history: EventHistory, config: AppConfig) -> Calibrated:
    """Fit the transition hazards (reusing a cached posterior) and the arrival trends.

    Neither depends on the scenario: the scenarios run in one process (the browser app's)
    reuse the last calibration while the data and the calibration settings are unchanged.
    Rates a council's backtest chose to fit on part of the record, or on the record weighted
    by age, whose fit fails the sampler's checks give way to the whole record, and the run
    says so (``rate_period.status``); a period the settings set themselves must converge.
    """
    cache = Path(config.calibration.cache_dir).expanduser()
    found, _ = find_widening([config.output.backtest_dir], history.fingerprint)
    backtest_dir = str(found["backtest_dir"]) if found else None
    own = config.calibration
    rates = rate_choice(
        backtest_dir,
        own.reference_from_backtest,
        own_period=sets_rate_period(own),
    )
    calibrated = None
    if rates is not None and rates["status"] == APPLIED:
        log.info(
            "Transition rates: fitted on %s, as the council's backtest chose", rate_run_words(rates)
        )
        chosen = rate_period_settings(
            own,
            str(rates["chosen"]),
            history.window_end,
            recent_months=rates.get("recent_months"),  # type: ignore[arg-type]
            half_life_years=rates.get("half_life_years"),  # type: ignore[arg-type]
        )
        try:
            calibrated = _fitted(history, dataclasses.replace(config, calibration=chosen), cache)
        except ConvergenceError as exc:
            reason = str(exc).splitlines()[0]
            log.warning(
                "The rates fitted on %s, as the council's backtest chose, did not pass the "
                "sampler's checks (%s): this run fits them on the whole record",
                rate_run_words(rates),
                reason,
            )
            rates = {**rates, "status": NOT_CONVERGED, "failure": reason}
    if calibrated is None:
        calibrated = _fitted(history, config, cache)
    return _backtest_arrivals(
        dataclasses.replace(calibrated, rate_period=rates), backtest_dir, config
    )


def _fitted(history: EventHistory, config: AppConfig, cache: Path) -> Calibrated:
    """The calibration of ``config``, kept in this process by what it depends on."""
    key = json.dumps(
        {"data": history.fingerprint, "calibration": dataclasses.asdict(config.calibration)},
        sort_keys=True,
        default=str,
    )
    if key in _CALIBRATED:
        log.info("Calibrating transition hazards (cache: %s)", cache)
        log.info("Fitting arrival trends")  # both reused from this process's last run
        earlier = _CALIBRATED[key]
        _remember(_CALIBRATED, key, earlier)
        hazards = copy.copy(earlier.hazards)
        hazards.from_cache_ = True
        return dataclasses.replace(earlier, hazards=hazards)
    calibrated = _calibrate(history, config, cache)
    _remember(_CALIBRATED, key, calibrated)
    return calibrated


def _backtest_arrivals(
    calibrated: Calibrated, backtest_dir: str | None, config: AppConfig
) -> Calibrated:
    """The calibration with the arrival trend and level drift a backtest of the same data (in
    ``backtest_dir``) chose, when ``calibration.arrivals.trend_from_backtest`` (and
    ``drift_from_backtest``) is on and the choice held out of sample."""
    settings = config.calibration.arrivals
    trend = arrival_choice(backtest_dir, settings.trend_damping, settings.trend_from_backtest)
    arrivals = calibrated.arrivals
    if trend is not None and trend["status"] == "applied":
        damping = float(trend["run_trend_damping"])  # type: ignore[arg-type]
        log.info("Arrival trend: trend_damping %g, as the council's backtest chose", damping)
        arrivals = arrivals.with_settings(trend_damping=damping)
    drift = drift_choice(backtest_dir, settings.level_drift_sd, settings.drift_from_backtest)
    if drift is not None and drift["status"] == "applied":
        sd = float(drift["run_level_drift_sd"])  # type: ignore[arg-type]
        log.info("Arrival drift: level_drift_sd %g, as the council's backtest chose", sd)
        arrivals = arrivals.with_settings(level_drift_sd=sd)
    return dataclasses.replace(
        calibrated, arrivals=arrivals, arrival_trend=trend, arrival_drift=drift
    )


def _calibrate(history: EventHistory, config: AppConfig, cache: Path) -> Calibrated:
    log.info("Calibrating transition hazards (cache: %s)", cache)
    hazards = fit_hazards(history, config.calibration)
    period = reference_label(history, config.calibration)
    if period is not None:
        log.info("Transition rates fitted on %s", period)
    log.info(
        "Hazards %s: max R-hat %.3f, min bulk ESS %.0f, %d divergences",
        "reused from the cache" if hazards.from_cache_ else "sampled",
        hazards.diagnostics_["max_rhat"],
        hazards.diagnostics_["min_ess_bulk"],
        hazards.diagnostics_["divergences"],
    )
    log.info("Fitting arrival trends")
    arrivals = ArrivalModel(config.calibration.arrivals).fit(OutsideArrivals.of(history))
    return Calibrated(hazards=hazards, arrivals=arrivals, reference_period=period)


def _check_levers(config: AppConfig, history: EventHistory) -> None:
    """Stop, naming the fields, when the scenario changes what the data do not record:
    UASC arrivals without UASC information, or arrivals and moves of services outside the
    returns supplied (referrals on the SSDA903 return alone)."""
    source = scenario_file(config)
    check_uasc_levers(config, history.uasc_supplied, source, CONFIG_DIR)
    check_levers_held(config, history.recorded_kinds, history.recorded_states, source, CONFIG_DIR)


def recorded_monthly(history: EventHistory) -> pd.DataFrame:
    """Recorded children at each month end: ``month``, ``category``, ``children``.

    Categories as in the projection: each state, each placement group and ``care`` in total.
    """
    months = pd.date_range(history.window_start, history.window_end, freq="ME")
    counts = history.stocks_at(months, by=("state", "placement_group"))
    counts["category"] = counts["placement_group"].where(
        counts["state"] == vocab.CARE, counts["state"]
    )
    by_category = counts.groupby(["date", "category"], as_index=False)["count"].sum()
    care = counts[counts["state"] == vocab.CARE].groupby("date", as_index=False)["count"].sum()
    out = pd.concat([by_category, care.assign(category=vocab.CARE)], ignore_index=True)
    out = out.rename(columns={"date": "month", "count": "children"})
    return out.sort_values(["month", "category"], ignore_index=True)


@functools.cache
def _say_numpy_is_not_portable() -> None:
    """Warn, once a process (every run of it is alike), that numpy runs this processor's own
    loops."""
    log.warning(
        "numpy was imported before care_demand and runs this processor's AVX-512 loops: "
        "results may differ in their last digits from other machines'. For results every "
        "machine agrees on, start Python with %s",
        " ".join(f"{name}='{value}'" for name, value in PORTABLE_NUMPY.items()),
    )


def run(
    config: AppConfig,
    run_dir: str | Path,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Run the job on ``config`` and publish its outputs in ``run_dir``.

    ``progress`` is called with ``(futures done, futures in all)`` as the simulated futures
    finish; an exception it raises stops the run there (nothing is written).

    Raises ``InvalidDataError`` (with every problem found) when the data fail validation
    and ``config.data.lenient`` is false, ``ConvergenceError`` when the hazards' sampler
    fails its checks, and ``CareDemandError`` for other problems with the inputs or
    settings; nothing is written in any of these cases.
    """
    run_dir = Path(run_dir)
    if config.run_until not in STAGES:
        raise ConfigError(
            f"run_until={config.run_until!r} (configs/config.yaml): expected one of "
            f"{', '.join(STAGES)}"
        )
    validate_config(config, scenario_file(config), CONFIG_DIR)
    validate_costs(config.costs, source=_costs_source(config))
    log.info("Scenario: %s (%s)", config.scenario.name, config.scenario.title)
    if not numpy_is_portable():
        _say_numpy_is_not_portable()
    simulate = config.run_until == "simulation"
    workers = start_workers(config.simulation.n_jobs) if simulate else None
    council, history, synthetic = load(config)
    _check_levers(config, history)
    if config.run_until != "data":  # a projection must not start from a caseload it lost
        caseload = check_caseload(council, history, config.data.max_lost_caseload_share)
    else:
        caseload = starting_caseload(council, history)
    summary = summarise_history(
        history,
        config.output,
        synthetic=synthetic,
        dropped=council.dropped,
        dropped_open=council.dropped_open,
        repairs=council.repairs,
        lost_children=caseload.lost,
        warnings=council.warnings,
    )
    fitted = calibrate(history, config) if config.run_until != "data" else None
    if workers is not None:
        workers.join()
    projected = _project(history, fitted, config, progress) if simulate else None
    projection, replicates, moves = (
        (projected.quantiles, projected.replicates, projected.flows)
        if projected is not None
        else (None, None, None)
    )
    if simulate:
        log.info("Simulated; writing the outputs")
    widening = run_widening(
        config.output.interval_widening, config.output.backtest_dir, council.fingerprint
    )
    factors = applied_factors(widening)
    if projection is not None and factors:
        # Published quantiles widened by the council's own backtest (docs/backtest.md); the
        # per-replicate tables stay as simulated.
        projection = widen_quantiles(
            projection,
            factors,
            widening.get("measures", []),  # type: ignore[arg-type]
        )
    writing = time.perf_counter()
    costing = 0.0

    rule = DisclosureRule.from_config(config.output)
    with RunFolder(run_dir) as out:
        out.write_text(LAYOUT.data_summary, summary.markdown)
        published_stocks = suppress_stocks(summary.stocks, rule)
        out.write_csv(LAYOUT.stocks, published_stocks)
        out.write_csv(LAYOUT.arrivals, suppress_arrivals(summary.arrivals, rule))
        if summary.pre_proceedings is not None:
            out.write_csv(
                LAYOUT.pre_proceedings, suppress_pre_proceedings(summary.pre_proceedings, rule)
            )
        recorded = recorded_monthly(history)
        if summary.family_help:
            recorded = add_family_help_recorded(recorded)
        out.write_csv(LAYOUT.recorded, suppress_recorded_monthly(recorded, rule))
        flows = flows_by_year(
            recorded_flows(history),
            projected_flows(projection) if projection is not None else None,
            rule,
            services=history.mode != "care_only",
        )
        out.write_csv(LAYOUT.flows, flows)
        if council.dropped:
            out.write_text(
                LAYOUT.dropped_counts, json.dumps(council.dropped, indent=2, sort_keys=True)
            )
            # Where each dropped row was (file, line, rule): no child id, not even hashed.
            where = ["file", "line", "rule", "open_episode"]
            out.write_csv(LAYOUT.dropped_rows, council.dropped_rows.loc[:, where])
        if council.repairs:
            out.write_text(LAYOUT.repairs, json.dumps(council.repairs, indent=2, sort_keys=True))
        if fitted is not None:
            start = projection_start(history)
            _write_calibration(out, fitted, start, config.simulation.horizon_months)
        # The capacity the simulation ran with, when sized to the caseload (and enforced).
        resolved = projection_settings(config).capacity
        sized = (
            projected.system.capacity
            if projected is not None and resolved.sizing == "caseload" and resolved.enforce
            else None
        )
        left_out: list[str] = []
        if sized is not None:  # the example's running services go with its capacity
            start = projection_start(history)
            own = _own_fixed_costs(config.costs, start, _outreach_from(sized, start))
            titles = fixed_cost_titles(config.costs)
            left_out = [
                titles.get(name, name) for name in config.costs.fixed if name not in own.fixed
            ]
            config = dataclasses.replace(config, costs=own)
        config = dataclasses.replace(
            config, costs=_recorded_casework(config.costs, history.recorded_states)
        )
        out.write_text(
            LAYOUT.scenario,
            _scenario_markdown(config, sized, history, left_out, shipped_capacity()),
        )
        if projection is not None:
            quantiles = projection
            if summary.family_help:  # early help + CIN in each future, then its quantiles
                family_help = quantile_table(family_help_replicates(replicates))
                quantiles = pd.concat([projection, family_help], ignore_index=True)
            out.write_csv(LAYOUT.quantiles, quantiles)
            out.write_csv(
                LAYOUT.key_measures,
                key_measures(replicates, family_help_held(history.recorded_states)),
            )
            out.write_csv(LAYOUT.flows_by_replicate, flows_by_replicate(moves))
            started = time.perf_counter()
            costed = cost_replicates(replicates, config.costs, config.seed)
            costs = cost_summary(costed)
            costing = time.perf_counter() - started
            out.write_csv(LAYOUT.costs_by_replicate, costed)
            out.write_csv(LAYOUT.cost_summary, costs)
            demand_capacity = demand_capacity_table(projection)
            sufficiency = sufficiency_table(replicates, config.output.target_inhouse_share)
            out.write_csv(LAYOUT.sufficiency, sufficiency)
            assumptions = assumptions_table(config)
            out.write_csv(LAYOUT.demand_capacity, demand_capacity)
            out.write_csv(LAYOUT.assumptions, assumptions)
        details = {
            "package_version": __version__,
            "synthetic_data": synthetic,
            "data_folder": "built-in example" if synthetic else str(data_folder(config)[0]),
            "data_fingerprint": council.fingerprint,
            "data_to": f"{history.window_end:%Y-%m-%d}",
            "calibration_fingerprint": fitted.hazards.fingerprint_ if fitted else None,
            "mode": history.mode,
            "seed": config.seed,
            "run_until": config.run_until,
            "scenario": config.scenario.name,
            "interval_widening": widening,
            "arrival_trend": fitted.arrival_trend if fitted is not None else None,
            "arrival_drift": fitted.arrival_drift if fitted is not None else None,
            "rate_period": fitted.rate_period if fitted is not None else None,
            "capacity_as_run": dataclasses.asdict(sized) if sized is not None else None,
            "config": dataclasses.asdict(config),
        }
        out.write_text(LAYOUT.run_details, json.dumps(details, indent=2, default=str) + "\n")
        # Charts are built from the files staged above and the figures from plain data: in
        # the worker pool when it is idle, while this process writes the workbook.
        figures = (
            _run_figures(out, recorded, fitted, projection, config, synthetic, history.fingerprint)
            if config.output.charts
            else []
        )
        charting = (
            _start_run_charts(out, config.simulation.n_jobs, figures)
            if config.output.charts and projection is not None
            else []
        )
        if not charting:
            for draw, args in figures:
                draw(*args)
        if projection is not None:
            write_workbook(
                out.path(LAYOUT.workbook),
                summary=_headline(projection, costs, config),
                costs=costs,
                savings=None,
                demand_capacity=demand_capacity,
                sufficiency=sufficiency,
                flows=flows,
                assumptions=assumptions,
                run_details={k: v for k, v in details.items() if k != "config"},
                publication=published_stocks,
                publication_note=rule.describe(),
                cover=CoverDetails(
                    council="built-in synthetic example"
                    if synthetic
                    else config.output.council or details["data_folder"],
                    synthetic=synthetic,
                    scenario=config.scenario.title,
                    run_date=dt.date.today(),
                    data_to=history.window_end.date(),
                    seed=config.seed,
                ),
                real_terms=RealTerms(
                    price_year=config.costs.price_year,
                    rate=config.costs.inflation[config.costs.deflator],
                    line=config.costs.deflator,
                ),
                names={config.scenario.name: config.scenario.title}
                | fixed_cost_titles(config.costs),
            )
        if charting:
            results_of(charting)
        elif config.output.charts:
            write_run_charts(out.staging_dir, out.path(LAYOUT.charts_dir))
        write_run_report(
            out.staging_dir, out.path(LAYOUT.report), out.staging_dir / LAYOUT.charts_dir
        )
        out.write_text(LAYOUT.status, json.dumps({"scenario": config.scenario.name, "ok": True}))
    log.info(
        "Outputs written in %.1f s, of which costing %.1f s",
        time.perf_counter() - writing,
        costing,
    )
    files = sorted(p for p in run_dir.rglob("*") if p.is_file())
    _print_summary(run_dir, projection, synthetic, history.mode)
    if projection is not None:
        print(widening_note(widening))
        for choice in (
            arrival_choice_note(details["arrival_trend"]),  # type: ignore[arg-type]
            drift_choice_note(details["arrival_drift"]),  # type: ignore[arg-type]
            rate_choice_note(details["rate_period"]),  # type: ignore[arg-type]
        ):
            if choice:
                print(choice)
    if council.dropped_open:
        print(
            f"WARNING: {council.dropped_open_total} open episode(s) were dropped in lenient "
            f"mode; {caseload.lost} of the {caseload.record} children in care at "
            f"{caseload.date:%d %B %Y} are missing from the start of the projection (see "
            f"{LAYOUT.data_summary} and {LAYOUT.dropped_rows})."
        )
    return RunResult(run_dir=run_dir, files=files, history=history, quantiles=projection)


class _Finished:
    """A projection simulated elsewhere (a region's chunks of futures), ready to be written."""

    def __init__(self, projection: Projection) -> None:
        self._projection = projection

    def result(self, progress: Callable[[int], None] | None = None) -> Projection:
        if progress is not None:
            progress(int(self._projection.replicates["replicate"].nunique()))
        return self._projection

    def cancel(self) -> None:
        """Nothing is under way."""


# Projections started ahead of their runs (:func:`schedule_runs`), by what they depend on.
_SCHEDULED: dict[str, Scheduled | _Finished] = {}


def adopt_projection(config: AppConfig, projection: Projection) -> None:
    """Have the next :func:`run` on ``config`` write ``projection`` instead of simulating.

    For a projection whose replicates were simulated in chunks elsewhere (a region's tasks
    on a cluster): it must be the projection :func:`run` would make on the same settings.
    """
    _SCHEDULED[projection_key(config)] = _Finished(projection)


def projection_key(config: AppConfig) -> str:
    """Everything a run's projection depends on: every setting but the outputs', and of
    those the backtest folder, whose choices (arrival trend and drift, the rates' period)
    the calibration takes up."""
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k != "output"}
    settings["backtest_dir"] = config.output.backtest_dir
    return json.dumps(settings, sort_keys=True, default=str)


def schedule_runs(configs: Sequence[AppConfig]) -> int:
    """Start the projections of several runs in the shared worker pool, in order.

    Each run of ``configs`` that will simulate has its data loaded and its models
    calibrated once (both kept in this process), its system prepared and its futures
    queued in the one pool; :func:`run` on the same settings then takes them up instead of
    simulating again, so the pool simulates the next run while this process writes the
    outputs of the one before. The results are those :func:`run` gives alone. A run whose
    settings or data have a problem is left for :func:`run` to report. Returns how many
    projections were started.
    """
    started = 0
    for config in configs:
        key = projection_key(config)
        if config.run_until != "simulation" or key in _SCHEDULED:
            continue
        try:
            validate_config(config, scenario_file(config), CONFIG_DIR)
            validate_costs(config.costs, source=_costs_source(config))
            council, history, _ = load(config)
            _check_levers(config, history)
            check_caseload(council, history, config.data.max_lost_caseload_share)
            fitted = calibrate(history, config)
            _SCHEDULED[key] = schedule(history, fitted, projection_settings(config))
        except (CareDemandError, InvalidDataError) as exc:
            log.debug("Not started ahead (%s): %s", config.scenario.name, exc)
            continue
        started += 1
    return started


def drop_scheduled() -> None:
    """Withdraw projections started ahead that no run took up."""
    while _SCHEDULED:
        _SCHEDULED.popitem()[1].cancel()


def _project(
    history: EventHistory,
    fitted: Calibrated,
    config: AppConfig,
    progress: Callable[[int, int], None] | None = None,
) -> Projection:
    """Project with a progress bar.

    A projection started ahead on the same settings (:func:`schedule_runs`) is taken up.
    """
    settings = projection_settings(config)
    n = settings.simulation.replicates
    scheduled = _SCHEDULED.pop(projection_key(config), None)
    if scheduled is None:
        scheduled = schedule(history, fitted, settings)
    # No bar for futures simulated elsewhere (a region's): there is nothing to wait for.
    waiting = not isinstance(scheduled, _Finished)
    with tqdm(total=n, desc="Replicates", unit="rep", leave=False, disable=not waiting) as bar:

        def report(done: int) -> None:
            bar.update(done - bar.n)
            if progress is not None:
                progress(done, n)

        return scheduled.result(progress=report)


def _costs_source(config: AppConfig) -> str:
    """The file to name in cost errors: the scenario's if it sets costs, else the default."""
    path = scenario_file(config)
    if path is not None and any(key.startswith("costs.") for key in yaml_keys(path)):
        return f"scenarios/{path.name}"
    return "configs/costs/default.yaml"


def assumptions_table(config: AppConfig) -> pd.DataFrame:
    """Every cost assumption and scenario lever, with its unit and source (workbook sheet)."""
    rows = cost_assumptions(config.costs)
    scenario = config.scenario
    levers = []
    for kind, table in (
        ("arrival lever", scenario.arrival_levers),
        ("hazard lever", scenario.hazard_levers),
        ("entry lever", scenario.entry_levers),
    ):
        for name, lever in sorted(table.items()):
            levers.append(
                {
                    "section": f"scenario {scenario.name}: {kind}",
                    "item": f"{name}: from {lever.start}, over {lever.ramp_months} months",
                    "value": float(lever.multiplier),
                    "unit": "multiplier",
                    "price_year": "",
                    "source": lever.source or f"scenarios/{scenario.name}.yaml",
                }
            )
    uasc = scenario.uasc_arrivals
    if uasc is not None:
        levers.append(
            {
                "section": f"scenario {scenario.name}: UASC arrivals",
                "item": f"entries to care of UASC per month from {uasc.start}",
                "value": float(uasc.per_month),
                "unit": "children per month",
                "price_year": "",
                "source": uasc.source or f"scenarios/{scenario.name}.yaml",
            }
        )
    return pd.concat([rows, pd.DataFrame(levers, columns=rows.columns)], ignore_index=True)


def _headline(quantiles: pd.DataFrame, costs: pd.DataFrame, config: AppConfig) -> pd.DataFrame:
    """Headline figures for the workbook's summary sheet."""
    last = quantiles["month"].max()
    end = quantiles[(quantiles["month"] == last) & (quantiles["age_band"] == "all")]
    end = end.set_index(["measure", "category"])
    rows = [("Scenario", config.scenario.title, "")]
    for label, key in (
        ("Children in care", ("children", vocab.CARE)),
        ("Children in IFA placements", ("children", vocab.IFA)),
        ("Children in external residential", ("children", vocab.EXTERNAL_RESIDENTIAL)),
        ("Children placed out of area", ("out_of_area", vocab.CARE)),
    ):
        if key in end.index:
            row = end.loc[key]
            when = f"{pd.Timestamp(last):%d %b %Y}"
            rows.append((f"{label}, {when} (P50)", float(row["p50"]), "children"))
            rows.append((f"{label}, {when} (P10)", float(row["p10"]), "children"))
            rows.append((f"{label}, {when} (P90)", float(row["p90"]), "children"))
    total = costs[(costs["kind"] == "total") & (costs["line"] == "total")]
    for _, row in total.iterrows():
        rows.append((f"Total cost {row['financial_year']} (P50)", float(row["p50"]), "GBP"))
    return pd.DataFrame(rows, columns=["item", "value", "unit"])


# The example's running service that a scenario's outreach steps stand on: outreach for the
# example's base caseload (configs/costs/default.yaml, fixed: harbour_team).
_OUTREACH_TEAM = "harbour_team"


def _own_fixed_costs(
    costs: CostConfig, start: pd.Timestamp, outreach_from: pd.Timestamp | None = None
) -> CostConfig:
    """``costs`` without the built-in example's running services: fixed costs that begin
    before ``start`` exactly as shipped (the Harbour outreach team), for a run on a council's
    own data whose capacity was sized to its caseload. Costs a council or a scenario sets are
    kept. With ``outreach_from`` (the first Harbour outreach a scenario sets on such a run),
    the example's outreach team is costed from then: the scenario's steps and their costs are
    growth over the example's team, which the outreach they set includes."""
    shipped = shipped_costs().fixed
    fixed = {}
    for name, cost in costs.fixed.items():
        running = name in shipped and cost == shipped[name] and pd.Timestamp(cost.start) < start
        if not running:
            fixed[name] = cost
        elif name == _OUTREACH_TEAM and outreach_from is not None:
            fixed[name] = dataclasses.replace(cost, start=f"{outreach_from:%Y-%m-%d}")
    return dataclasses.replace(costs, fixed=fixed)


def _outreach_from(sized: CapacityConfig, start: pd.Timestamp) -> pd.Timestamp | None:
    """When the Harbour outreach of a capacity ``sized`` to the caseload at ``start`` begins
    after it (a scenario's steps; the example's own are dropped in sizing), or ``None``."""
    return next((date for date, n in sized.harbour.steps() if date > start and n), None)


def _recorded_casework(costs: CostConfig, recorded: Sequence[str]) -> CostConfig:
    """``costs`` without casework for the states the council's files do not record (early
    help, assessment, CIN and CP on the SSDA903 return alone): not modelled, and a line of
    £0 would read as a cost of nothing. Lines that are not a state (care leavers past 21)
    stay."""
    casework = {
        s: weekly for s, weekly in costs.casework.items() if s not in vocab.STATES or s in recorded
    }
    return dataclasses.replace(costs, casework=casework)


def _scenario_markdown(
    config: AppConfig,
    sized: CapacityConfig | None = None,
    history: EventHistory | None = None,
    left_out: Sequence[str] = (),
    example: CapacityConfig | None = None,
) -> str:
    """What the run's scenario assumes, in plain English, with its levers (and the in-house
    capacity, when ``sized`` to the caseload at the start of ``history``, with the fixed
    costs of the example's services ``left_out`` and what the scenario adds to it as its
    file sets it, beside the ``example``'s capacity those figures were set for)."""
    scenario = config.scenario
    lines = [f"# Scenario: {scenario.title}", "", f"`{scenario.name}`", ""]
    if scenario.description:
        lines += [scenario.description.strip(), ""]
    levers = [
        *(("Arrivals", n, lv) for n, lv in sorted(scenario.arrival_levers.items())),
        *(("Transition hazard", n, lv) for n, lv in sorted(scenario.hazard_levers.items())),
        *(("Placement at entry", n, lv) for n, lv in sorted(scenario.entry_levers.items())),
    ]
    if levers:
        lines += [
            "| Lever | Kind | Change | From | Ramp (months) | Source |",
            "|---|---|---|---|---|---|",
        ]
        for kind, name, lever in levers:
            target = getattr(lever, "kind", None) or getattr(lever, "group", None) or ""
            if kind == "Transition hazard":
                group = f"/{lever.group}" if lever.group else ""
                target = f"{lever.state}{group} -> {lever.destination}"
            lines.append(
                f"| {name} | {kind}: {target} | x{lever.multiplier:g} | {lever.start} | "
                f"{lever.ramp_months} | {lever.source or 'see the scenario file'} |"
            )
        lines.append("")
    uasc = scenario.uasc_arrivals
    if uasc is not None:
        lines += [
            f"Entries to care of unaccompanied asylum-seeking children: {uasc.per_month:g} a "
            f"month on average from {uasc.start} in place of their fitted rate "
            f"({uasc.source or 'see the scenario file'}).",
            "",
        ]
    if sized is not None and history is not None:
        lines += [
            "In-house capacity: the shipped figures are the built-in example's (those a "
            "description above may give), so this run sized the service to the council's own "
            "caseload at the start "
            f"(capacity.sizing): {sizing_note(sized, projection_start(history))}",
            "",
        ]
        added = _scenario_additions(config, sized, projection_start(history), example)
        if added:
            lines += [added, ""]
        if left_out:
            lines += [
                "The example's running services are left out of the costs with its capacity: "
                f"{', '.join(left_out)}.",
                "",
            ]
        if config.costs.placements == shipped_costs().placements:
            lines += [
                "Placements are priced at the shipped unit costs (`configs/costs/default.yaml`: "
                "published prices and the example council's), not yet the council's own: set "
                "them there for the council's budget.",
                "",
            ]
    lines.append(
        f"Capacity and cost settings of the run are listed in full in `{LAYOUT.run_details}`; "
        "the scenario file in `scenarios/` cites the source of each."
    )
    return "\n".join(lines) + "\n"


def _scenario_additions(
    config: AppConfig,
    sized: CapacityConfig,
    start: pd.Timestamp,
    example: CapacityConfig | None,
) -> str:
    """What a scenario adds to a capacity ``sized`` to the caseload at ``start``, in the
    absolute numbers its file sets (homes opening later, Harbour outreach after the start,
    its fixed costs: ``config.costs`` holds only the scenario's once the example's are left
    out), and the ``example``'s in-house fostering to compare them with; empty when it adds
    none of these."""
    later = {
        name: home
        for name, home in sized.homes.items()
        if not home.open_at(start) and (example is None or name not in example.homes)
    }
    outreach = [n for date, n in sized.harbour.steps() if date > start]
    annual = sum(cost.annual for cost in config.costs.fixed.values())
    capital = sum(cost.capital for cost in config.costs.fixed.values())
    parts = []
    if later:
        beds = sum(home.beds for home in later.values())
        parts.append(
            f"{beds} beds in {len(later)} children's home(s) opening later, against the "
            f"{sized.beds_open(start)} open at the start"
        )
    if outreach:
        parts.append(f"Harbour outreach for up to {max(outreach)} young people")
    if annual or capital:
        parts.append(
            f"fixed costs of £{annual / 1e6:.2f}m a year and £{capital / 1e6:.2f}m capital in "
            "all (at their price years)"
        )
    if not parts:
        return ""
    scale = (
        f" (in-house fostering of {example.fostering.households} households, where this "
        f"council starts with {sized.fostering.households})"
        if example is not None
        else ""
    )
    return (
        "What this scenario adds is as its file sets it, not sized to this council: "
        f"{'; '.join(parts)}. The shipped scenarios' figures were set for the built-in "
        f"example{scale}: set this council's own in the scenario file (`scenarios/`, or the "
        "browser app's Scenarios page)."
    )


def submit_when_idle(
    n_jobs: int, tasks: Sequence[tuple[Callable[..., Any], tuple, dict[str, Any]]]
) -> list[Future]:
    """Hand ``tasks`` (each a function, its arguments and keywords) to the worker pool when
    it is idle; nothing (the caller does them itself) when the pool is busy simulating
    futures queued ahead, or when runs use one process (``n_jobs``)."""
    pool = idle_pool(n_jobs)
    if pool is None:
        return []
    return [pool.submit(task, *args, **kwargs) for task, args, kwargs in tasks]


def chart_parts(
    write: Callable[..., list[Path]], args: tuple, n_jobs: int
) -> list[tuple[Callable[..., list[Path]], tuple, dict[str, Any]]]:
    """``write(*args, part=k, parts=n)`` as tasks for :func:`submit_when_idle`: a few charts
    per task (three tasks a process), so the processes finish close together."""
    parts = 3 * effective_n_jobs(n_jobs)
    return [(write, args, {"part": part, "parts": parts}) for part in range(parts)]


def _start_run_charts(
    out: RunFolder, n_jobs: int, figures: list[tuple[Callable[..., list[Path]], tuple]]
) -> list[Future[list[Path]]]:
    """Start drawing the run's charts and ``figures`` (each a function and its arguments)
    in the worker pool when it is idle (see :func:`submit_when_idle`): the figures, which
    take longest, first, then the charts a few per task (:func:`chart_parts`)."""
    staging, charts = str(out.staging_dir), str(out.path(LAYOUT.charts_dir))
    tasks = [(draw, args, {}) for draw, args in figures]
    tasks += chart_parts(write_run_charts, (staging, charts), n_jobs)
    return submit_when_idle(n_jobs, tasks)


# The arrival components charts last drawn in this process (PNG and SVG in the run folder
# they were published to), by what they depend on (see :func:`_run_figures`).
_DRAWN_COMPONENTS: dict[str, tuple[Path, Path]] = {}


def _run_figures(
    out: RunFolder,
    recorded: pd.DataFrame,
    fitted: Calibrated | None,
    quantiles: pd.DataFrame | None,
    config: AppConfig,
    synthetic: bool,
    data: str,
) -> list[tuple[Callable[..., list[Path]], tuple]]:
    """The calibration's arrival components and the projection's fan chart, each as a
    function and its arguments (plain data, so a worker process can draw it); ``data`` is
    the fingerprint of the data the calibration was fitted on. An arrival components chart
    this process already published for the same calibration is copied into ``out`` here
    instead, and left out of the list."""
    figures: list[tuple[Callable[..., list[Path]], tuple]] = []
    if fitted is not None:
        path = out.path(LAYOUT.arrival_components)
        # The same calibration gives the same chart: the scenarios of a multirun copy the
        # files the first of them drew (when they are still there) rather than draw it again.
        key = json.dumps([data, dataclasses.asdict(config.calibration.arrivals)], default=str)
        drawn = _DRAWN_COMPONENTS.get(key)
        if drawn is not None and all(p.is_file() for p in drawn):
            for source in drawn:
                shutil.copyfile(source, path.with_suffix(source.suffix))
        else:
            parts = arrival_components(fitted.arrivals)
            figures.append((write_arrival_components, (parts, str(path))))
        final = out.final_dir / LAYOUT.arrival_components
        _remember(_DRAWN_COMPONENTS, key, (final, final.with_suffix(".svg")))
    if quantiles is not None:
        care_q = quantiles[
            (quantiles["measure"] == "children")
            & (quantiles["category"] == vocab.CARE)
            & (quantiles["age_band"] == "all")
        ]
        care = recorded[recorded["category"] == vocab.CARE].set_index("month")["children"]
        fan = partial(
            write_fan_chart,
            title=f"Children in care: recorded and projected ({config.scenario.name})",
            ylabel="Children in care at month end",
            caption=SYNTHETIC_CAPTION if synthetic else "",
        )
        figures.append((fan, (str(out.path(LAYOUT.fan_chart)), care.astype(float), care_q)))
    return figures


def _write_calibration(
    out: RunFolder, fitted: Calibrated, start: pd.Timestamp, horizon: int
) -> None:
    hazards = fitted.hazards
    out.write_csv(LAYOUT.hazards, hazards.summary(cred=0.9))
    out.write_csv(LAYOUT.placements, hazards.placement_summary(cred=0.9))
    diagnostics = dict(hazards.diagnostics_)
    diagnostics["from_cache"] = bool(hazards.from_cache_)
    diagnostics["reference_period"] = fitted.reference_period or "the whole record"
    out.write_text(LAYOUT.diagnostics, json.dumps(diagnostics, indent=2, default=str) + "\n")
    arrivals = fitted.arrivals
    out.write_csv(LAYOUT.arrival_forecast, arrivals.forecast(start, horizon))


def _print_summary(
    run_dir: Path, quantiles: pd.DataFrame | None, synthetic: bool, mode: str
) -> None:
    print(f"\nMode: {vocab.MODE_TITLES[mode]}")
    if quantiles is not None:
        care = quantiles[
            (quantiles["measure"] == "children")
            & (quantiles["category"] == vocab.CARE)
            & (quantiles["age_band"] == "all")
        ].sort_values("month")
        first, last = care.iloc[0], care.iloc[-1]
        print(
            f"Children in care: {first['p50']:.0f} at the end of "
            f"{pd.Timestamp(first['month']):%b %Y}, projected {last['p50']:.0f} (80% interval "
            f"{last['p10']:.0f}-{last['p90']:.0f}) at the end of "
            f"{pd.Timestamp(last['month']):%b %Y}."
        )
    print(f"care-demand: outputs written to {run_dir.resolve()}")
    if (run_dir / LAYOUT.report).is_file():
        print(f"Report: {(run_dir / LAYOUT.report).resolve()}")
    if synthetic:
        print("(built-in synthetic example: invented children, Dorset-like totals)")
