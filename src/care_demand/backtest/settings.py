"""Settings of the backtest and their validation, and the files it writes.

:class:`BacktestConfig` is the ``backtest`` section (``configs/backtest/default.yaml``);
:class:`BacktestAppConfig` adds it to the run's settings. :func:`validate_backtest` checks
the settings against a history before anything is fitted, raising ``ConfigError`` naming the
setting. Measures name states of the continuum and placement groups
(:func:`measure_atoms`: care counts as the sum of its placement groups).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from care_demand import vocab
from care_demand.calibration.reference import MIN_REFERENCE_MONTHS
from care_demand.config import CONFIG_DIR, AppConfig, scenario_file, validate_config
from care_demand.data import EventHistory
from care_demand.errors import ConfigError
from care_demand.outputs.layout import LAYOUT

__all__ = [
    "ARRIVAL_VARIANTS_FILE",
    "ARRIVAL_VARIANT_FILE",
    "CALIBRATION_FILE",
    "CARE_ONLY_CATEGORIES",
    "CHART_DIR",
    "FORECASTS_FILE",
    "METRICS_FILE",
    "RATE_VARIANTS_FILE",
    "RATE_VARIANT_FILE",
    "RECORDED_FILE",
    "REPORT_FILE",
    "SUMMARY_FILE",
    "ArrivalDrift",
    "ArrivalVariants",
    "BacktestAppConfig",
    "BacktestConfig",
    "BacktestTargets",
    "IntervalWidening",
    "RateVariants",
    "load_backtest_config",
    "measure_atoms",
    "register_backtest_schema",
    "setting_error",
    "validate_backtest",
]

# Files the backtest writes in its run folder (named in the run-folder layout).
FORECASTS_FILE = LAYOUT.backtest.forecasts
METRICS_FILE = LAYOUT.backtest.metrics
SUMMARY_FILE = LAYOUT.backtest.summary
RECORDED_FILE = LAYOUT.backtest.recorded
CALIBRATION_FILE = LAYOUT.backtest.calibration
REPORT_FILE = LAYOUT.backtest.report
CHART_DIR = LAYOUT.backtest.charts_dir
ARRIVAL_VARIANTS_FILE = LAYOUT.backtest.arrival_variants
RATE_VARIANTS_FILE = LAYOUT.backtest.rate_variants
RATE_VARIANT_FILE = LAYOUT.backtest.rate_variant
ARRIVAL_VARIANT_FILE = LAYOUT.backtest.arrival_variant

# Every name a measure may count: the states of the continuum and the placement groups.
_CATEGORIES = (*vocab.STATES, *vocab.PLACEMENT_GROUPS)
# States a care-only history (SSDA903 alone) holds.
CARE_ONLY_CATEGORIES = frozenset((vocab.CARE, vocab.CARE_LEAVER, *vocab.PLACEMENT_GROUPS))


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


def _judged_measures() -> list[str]:
    return [vocab.CARE, *vocab.PLACEMENT_GROUPS]


@dataclass
class IntervalWidening:
    """How the backtest works out the factors a run on the same data widens its intervals by
    (``backtest.interval_widening``; the rule: :mod:`care_demand.outputs.interval_widening`)."""

    measures: list[str] = field(default_factory=_judged_measures)
    max_factor: float = 2.0
    min_cuts: int = 3


def _default_variants() -> dict[str, float]:
    return {"level": 0.0, "damped": 0.5, "trend": 1.0}


@dataclass
class ArrivalVariants:
    """The arrival trend variants scored at each cut (``backtest.arrival_variants``): each a
    ``calibration.arrivals.trend_damping``, scored on the arrivals of the ``months`` after
    the cut with ``paths`` trend paths. With ``apply``, each cut forecasts with the variant
    chosen on the earlier cuts whose ``months`` had ended by it (as a run uses the choice of
    its council's backtest), and with the run's own setting when there were none."""

    variants: dict[str, float] = field(default_factory=_default_variants)
    months: int = 12
    paths: int = 200
    apply: bool = True


def _default_drifts() -> dict[str, float]:
    return {"steady": 0.05, "moderate": 0.1, "shifting": 0.2}


@dataclass
class ArrivalDrift:
    """The arrivals' level drifts scored at each cut (``backtest.arrival_drift``): each a
    ``calibration.arrivals.level_drift_sd``, scored by the CRPS of the arrivals of the
    ``months`` after the cut with ``paths`` paths, and (``every_months``) at more origins
    between the cuts, every that many months from ``min_history_months`` into the data,
    each with an arrival fit of its own (None: at the cuts only). With ``apply``, each cut
    forecasts with the drift chosen on the earlier origins whose ``months`` had ended by
    it, when its nested check held (as a run uses its council's backtest), and with the
    run's own setting otherwise."""

    variants: dict[str, float] = field(default_factory=_default_drifts)
    months: int = 12
    paths: int = 400
    apply: bool = True
    every_months: int | None = 3


@dataclass
class RateVariants:
    """The periods the transition rates are fitted on at each cut (``backtest.rate_variants``):
    the whole record before the cut, its last ``recent_months``, and the whole record weighted
    by age with ``half_life_years`` (each None: not scored). With ``apply``, each cut fits
    its rates as a run on the record known then would (:func:`.rate_variants.period_before`).
    """

    recent_months: int | None = 36
    half_life_years: float | None = 2.0
    months: int = 12
    apply: bool = True


def _scores_rates(rates: RateVariants) -> bool:
    """Whether any fit besides the whole record is scored."""
    return rates.recent_months is not None or rates.half_life_years is not None


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
    luck_alone: bool = True
    targets: BacktestTargets = field(default_factory=BacktestTargets)
    interval_widening: IntervalWidening = field(default_factory=IntervalWidening)
    arrival_variants: ArrivalVariants = field(default_factory=ArrivalVariants)
    arrival_drift: ArrivalDrift = field(default_factory=ArrivalDrift)
    rate_variants: RateVariants = field(default_factory=RateVariants)


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


def setting_error(name: str, problem: str) -> ConfigError:
    return ConfigError(f"backtest.{name} (configs/backtest/default.yaml): {problem}")


def _parse_cuts(cuts: Sequence[str]) -> list[pd.Timestamp]:
    parsed = []
    for i, text in enumerate(cuts):
        try:
            cut = pd.Timestamp(str(text))
        except (ValueError, TypeError):
            raise setting_error(
                "cuts", f"{text!r} (item {i}) is not a date: give YYYY-MM-DD"
            ) from None
        if cut != cut.normalize() or not cut.is_month_end:
            raise setting_error(
                "cuts",
                f"{text!r} is not the last day of a month: forecasts start the month after "
                "the cut, so a cut must be a month end (e.g. 2019-03-31)",
            )
        parsed.append(cut)
    if len(set(parsed)) != len(parsed):
        raise setting_error("cuts", f"{list(cuts)} lists a date twice")
    return sorted(parsed)


def _check_variants(
    name: str, settings: ArrivalVariants | ArrivalDrift, highest: float, what: str
) -> None:
    """Variants of an arrival setting, each from 0 to ``highest`` (``what``), scored over at
    least a month with at least two paths."""
    if not settings.variants:
        raise setting_error(f"{name}.variants", "no variant given")
    for variant, value in settings.variants.items():
        if not 0.0 <= float(value) <= highest:
            raise setting_error(f"{name}.variants.{variant}", f"{value}: {what}")
    if int(settings.months) < 1:
        raise setting_error(f"{name}.months", f"{settings.months}: at least 1")
    if int(settings.paths) < 2:
        raise setting_error(f"{name}.paths", f"{settings.paths}: at least 2")


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
        raise setting_error("cuts", "no cut date given: list at least one month end")
    if not settings.horizons or any(int(h) < 1 for h in settings.horizons):
        raise setting_error(
            "horizons", f"{list(settings.horizons)}: give one or more whole months >= 1"
        )
    if settings.replicates < 2:
        raise setting_error(
            "replicates", f"{settings.replicates}: at least 2 are needed for an interval"
        )
    for level in settings.levels:
        if not 0.0 < float(level) < 1.0:
            raise setting_error("levels", f"{level!r} is not a level between 0 and 1")
    if settings.min_history_months < max(1, arrival_min_months):
        raise setting_error(
            "min_history_months",
            f"{settings.min_history_months} is below calibration.arrivals.min_months="
            f"{arrival_min_months}, the shortest history the arrival trends are fitted on",
        )
    if settings.pit_bins < 2:
        raise setting_error("pit_bins", f"{settings.pit_bins}: use at least 2 bins")
    if settings.chart_history_months < 0:
        raise setting_error("chart_history_months", "must be 0 or more")
    _check_measures(settings.measures)
    targets = settings.targets
    if targets.measure not in settings.measures:
        raise setting_error(
            "targets.measure", f"{targets.measure!r} is not one of backtest.measures"
        )
    if targets.horizon not in [int(h) for h in settings.horizons]:
        raise setting_error("targets.horizon", f"{targets.horizon} is not one of backtest.horizons")

    widening = settings.interval_widening
    if float(widening.max_factor) < 1.0:
        raise setting_error(
            "interval_widening.max_factor",
            f"{widening.max_factor}: at least 1 (intervals are never narrowed)",
        )
    if int(widening.min_cuts) < 1:
        raise setting_error("interval_widening.min_cuts", f"{widening.min_cuts}: at least 1")

    arrival, drift = settings.arrival_variants, settings.arrival_drift
    _check_variants(
        "arrival_variants", arrival, 1.0, "a trend_damping from 0 (level only) to 1 (full trend)"
    )
    _check_variants(
        "arrival_drift", drift, 2.0, "a level_drift_sd from 0 to 2 (a standard deviation a year)"
    )
    if drift.every_months is not None and int(drift.every_months) < 1:
        raise setting_error(
            "arrival_drift.every_months", f"{drift.every_months}: 1 or more, or null"
        )
    rates = settings.rate_variants
    if rates.recent_months is not None and int(rates.recent_months) < MIN_REFERENCE_MONTHS:
        raise setting_error(
            "rate_variants.recent_months",
            f"{rates.recent_months}: at least {MIN_REFERENCE_MONTHS} (the shortest reference "
            "period), or null not to score it",
        )
    if rates.half_life_years is not None and not float(rates.half_life_years) > 0:
        raise setting_error(
            "rate_variants.half_life_years",
            f"{rates.half_life_years}: a number of years above 0, or null not to score it",
        )
    if int(rates.months) < 1:
        raise setting_error("rate_variants.months", f"{rates.months}: at least 1")

    cuts = _parse_cuts(settings.cuts)
    start, end = history.window_start, history.window_end
    longest = max(int(h) for h in settings.horizons)
    for cut in cuts:
        if not start < cut < end:
            raise setting_error(
                "cuts",
                f"{cut.date()} is outside the data window {start.date()} to {end.date()}",
            )
        earliest = (start - pd.Timedelta(days=1)) + pd.offsets.MonthEnd(settings.min_history_months)
        if cut < earliest:
            raise setting_error(
                "cuts",
                f"{cut.date()} leaves less than backtest.min_history_months="
                f"{settings.min_history_months} months of history to fit on (the data start "
                f"{start.date()}; the earliest cut is {earliest.date()})",
            )
        reach = cut + pd.offsets.MonthEnd(longest)
        if reach > end:
            raise setting_error(
                "horizons",
                f"the longest horizon, {longest} months from the cut {cut.date()} "
                f"(backtest.cuts), reaches {reach.date()}, past the end of the data "
                f"{end.date()}: use an earlier cut or shorter horizons",
            )
        rates_to = cut + pd.offsets.MonthEnd(int(rates.months))
        if _scores_rates(rates) and rates_to > end:
            raise setting_error(
                "rate_variants.months",
                f"{rates.months} months of transitions from the cut {cut.date()} reach "
                f"{rates_to.date()}, past the end of the data {end.date()}",
            )
        for name, months in (("arrival_variants", arrival.months), ("arrival_drift", drift.months)):
            scored_to = cut + pd.offsets.MonthEnd(int(months))
            if scored_to > end:
                raise setting_error(
                    f"{name}.months",
                    f"{months} months of arrivals from the cut {cut.date()} reach "
                    f"{scored_to.date()}, past the end of the data {end.date()}",
                )
    return cuts


def _check_measures(measures: Mapping[str, Sequence[str]]) -> None:
    if not measures:
        raise setting_error("measures", "no measure given")
    for name, categories in measures.items():
        if not categories:
            raise setting_error(f"measures.{name}", "lists no state or placement group")
        unknown = [c for c in categories if c not in _CATEGORIES]
        if unknown:
            raise setting_error(
                f"measures.{name}",
                f"unknown name(s) {unknown}: use states {list(vocab.STATES)} or placement "
                f"groups {list(vocab.PLACEMENT_GROUPS)}",
            )
        atoms = [a for c in categories for a in measure_atoms(c)]
        if len(atoms) != len(set(atoms)):
            raise setting_error(
                f"measures.{name}", f"{list(categories)} counts some children twice"
            )


def measure_atoms(category: str) -> tuple[str, ...]:
    """The finest names a category counts (care is the sum of its placement groups)."""
    return vocab.PLACEMENT_GROUPS if category == vocab.CARE else (category,)
