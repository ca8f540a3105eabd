"""Monthly arrival trends: referrals, early-help requests and entries to care.

Each arrival kind is a monthly count series fitted with its own Prophet model: a piecewise
linear trend, a yearly seasonality for the school year (referrals rise when schools return
in September and dip in August), and the Covid-19 lockdowns as regressors.

The kinds in ``ArrivalSettings.rate_kinds`` (by default ``care_entry_uasc``, the entries to
care of unaccompanied asylum-seeking children) are not trends: their numbers follow national
policy (the National Transfer Scheme), and their series are sparse (many months with none),
on which a Prophet fit on ``log1p`` scale chases noise and understates the mean. Such a kind
is a constant Poisson rate: the rate's posterior given the counts of the history's last
``rate_months`` months (Jeffreys prior: Gamma(total + 0.5, months)); each path draws its rate
from that posterior (with ``parameter_uncertainty``) and holds it over the horizon. A
scenario sets such a kind from a date with an :class:`ArrivalLevel`.

Modelling choices:

* **Transformed scale.** Counts are fitted on ``log1p`` scale by default and back-transformed,
  so seasonality, lockdown effects and trend changes act as proportions of the level (a
  lockdown removes a share of referrals, not a fixed number whatever the council's size) and
  no forecast or sample path can be negative. ``sqrt`` (variance-stabilising for Poisson
  counts) and ``identity`` are available; every back-transform clips at zero.
* **Lockdowns as regressors, not holidays.** At monthly frequency a Prophet holiday is an
  indicator on the exact month-start date, which cannot express that the first lockdown
  covered only the last 9 days of March 2020. Each lockdown is instead a regressor holding
  the fraction of the month's days inside the period (``standardize=False``), so its
  coefficient is the effect of a whole month of lockdown on the transformed scale. Future
  months hold zero: the forecast assumes no further lockdowns.
* **Sample paths.** Prophet's ``predictive_samples`` draws whole trajectories (one row per
  simulated future: the trend changes accumulate along the row and observation noise is
  added per month), but it draws from numpy's global random state and, with a MAP fit
  (``mcmc_samples=0``), holds every parameter at its estimate, which makes 80% intervals
  cover about two months in three on six years of monthly data.
  :meth:`ArrivalModel.sample_paths` therefore draws with an explicit
  :class:`numpy.random.Generator`, and each path: (1) takes its trend, seasonality and
  lockdown coefficients from a Gaussian approximation of the posterior around the MAP
  (exact for the linear-Gaussian part; the trend-change prior enters through its local
  quadratic approximation); (2) extrapolates the trend as Prophet does, with slope changes
  arriving at the historical rate of changepoints and Laplace sizes of the mean fitted
  absolute change, from the end of the history; (3) adds Gaussian noise whose level is the
  residual variance over the residual degrees of freedom. Forecast intervals are quantiles
  of these paths, so intervals and paths always agree. Kinds are drawn independently.
* **Recent level.** A break near the end of the history (a new front door, a partner
  agency's change of thresholds) shows in the last months' residuals before the penalised
  trend follows it. With ``recent_level_months`` > 0 the forecast starts from the level of
  those months: their mean residual is added to every future month (an intercept
  correction).
* **Level drift.** Trend changes drawn at the rate and size fitted on a short, steady
  history are small, while a council's arrivals shift from year to year for reasons no trend
  foretells (a new front door, a partner agency's thresholds, a pandemic). ``level_drift_sd``
  adds to every path a random walk on the transformed scale from the end of the history, with
  that standard deviation per year (0.1 on ``log1p`` scale: a 1-sd shift of about 10% in a
  year, 14% in two). It widens intervals without moving the median.
* **Damped trend (optional).** Prophet extrapolates the final slope for ever, which over a
  five-year horizon compounds any recent change. ``trend_damping`` < 1 shrinks the slope
  (fitted and simulated changes alike) by that factor each month past the history.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from care_demand import streams

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "ARRIVAL_KINDS",
    "ArrivalLevel",
    "ArrivalLever",
    "ArrivalModel",
    "ArrivalSettings",
    "LockdownPeriod",
    "apply_levels",
    "apply_levers",
    "lever_multipliers",
    "monthly_arrivals",
]

REFERRAL = "referral"
EARLY_HELP_REQUEST = "early_help_request"
CARE_ENTRY = "care_entry"
CARE_ENTRY_UASC = "care_entry_uasc"
# The arrival kinds of docs/event_history.md, in reporting order. A kind added later goes at
# the end: the flow model numbers its random streams by a kind's position, so the kinds
# before it keep their streams.
ARRIVAL_KINDS: tuple[str, ...] = (REFERRAL, EARLY_HELP_REQUEST, CARE_ENTRY, CARE_ENTRY_UASC)

_KIND_LABELS = {
    REFERRAL: "Referrals",
    EARLY_HELP_REQUEST: "Early-help requests",
    CARE_ENTRY: "Entries to care",
    CARE_ENTRY_UASC: "Entries to care of UASC",
}
_TRANSFORMS = ("log1p", "sqrt", "identity")
_QUIET_LOGGERS = ("prophet", "cmdstanpy")


@dataclass
class LockdownPeriod:
    """A period of national restrictions, fitted as a regressor (dates inclusive, ISO)."""

    name: str
    start: str
    end: str


def _default_lockdowns() -> list[LockdownPeriod]:
    return [
        # First national lockdown from 23 March 2020; schools closed to most pupils (a partial
        # return from 1 June), so the period runs to the end of June.
        LockdownPeriod("lockdown_first", "2020-03-23", "2020-06-30"),
        # Third national lockdown, schools closed to most pupils until 8 March 2021.
        LockdownPeriod("lockdown_third", "2021-01-04", "2021-03-08"),
    ]


@dataclass
class ArrivalSettings:
    """Settings of the arrival trend models (``configs/calibration/default.yaml``, ``arrivals``).

    Attributes:
        kinds: arrival kinds to model; ``None`` models every kind present in the history.
        transform: scale the counts are fitted on: ``log1p`` (effects are proportions),
            ``sqrt`` or ``identity``; back-transformed values are clipped at zero.
        yearly_fourier_order: Fourier order of the yearly seasonality. Monthly data identify
            at most order 6, which is a free effect for each calendar month and captures
            the sharp August dip and September rise of the school year.
        seasonality_prior_scale: prior scale of the seasonal coefficients.
        changepoint_prior_scale: prior scale of the trend changes (larger: more flexible
            trend and wider long-range intervals).
        n_changepoints: potential trend changepoints, evenly spaced over the first
            ``changepoint_range`` of the history.
        changepoint_range: share of the history in which the trend may change.
        lockdowns: periods fitted as regressors (the share of each month's days inside).
        lockdown_prior_scale: prior scale of the lockdown coefficients.
        lockdown_min_months: a lockdown is fitted only when the history holds at least this
            many months of it (a share of each month's days, summed).
        recent_level_months: the forecast starts from the level of the history's last
            this many months: the fit's mean residual over them is added to every future
            month (0 = from the fitted trend's own level).
        level_drift_sd: standard deviation per year of a random walk added to each path's
            level past the history, on the transformed scale (0 = none).
        trend_damping: factor by which the trend's slope shrinks each month past the
            history (1 = Prophet's linear extrapolation; 0.95 lets the trend run on for about
            19 months' worth of its final slope, then level off).
        interval_width: default width of forecast intervals.
        parameter_uncertainty: draw each path's trend, seasonality and lockdown effects from
            a Gaussian approximation of the posterior (``False``: Prophet's MAP intervals,
            which omit parameter uncertainty and are too narrow on six or seven years of
            monthly data).
        uncertainty_samples: sample paths behind :meth:`ArrivalModel.forecast`.
        seed: seed of the optimiser and of the forecast's sample paths.
        min_months: fewest complete months a series needs (two years fix a seasonality).
        rate_kinds: kinds modelled as a constant Poisson rate rather than a Prophet trend
            (see the module docstring); kinds absent from the history are ignored.
        rate_months: months at the end of the history the rate of a ``rate_kinds`` kind is
            estimated from.
    """

    kinds: list[str] | None = None
    transform: str = "log1p"
    yearly_fourier_order: int = 6
    seasonality_prior_scale: float = 10.0
    changepoint_prior_scale: float = 0.05
    n_changepoints: int = 12
    changepoint_range: float = 0.8
    lockdowns: list[LockdownPeriod] = field(default_factory=_default_lockdowns)
    lockdown_prior_scale: float = 10.0
    lockdown_min_months: float = 2.0
    trend_damping: float = 1.0
    level_drift_sd: float = 0.0
    recent_level_months: int = 0
    interval_width: float = 0.8
    parameter_uncertainty: bool = True
    uncertainty_samples: int = 1000
    seed: int = 20220401
    min_months: int = 24
    rate_kinds: list[str] = field(default_factory=lambda: [CARE_ENTRY_UASC])
    rate_months: int = 24

    def __post_init__(self) -> None:
        if self.rate_months < 1:
            raise ValueError(f"arrivals.rate_months is {self.rate_months!r}; expected >= 1")
        self.rate_kinds = [str(kind) for kind in self.rate_kinds]
        if self.transform not in _TRANSFORMS:
            raise ValueError(
                f"arrivals.transform is {self.transform!r}; expected one of {_TRANSFORMS}"
            )
        if not 0.0 < self.interval_width < 1.0:
            raise ValueError(
                f"arrivals.interval_width is {self.interval_width!r}; expected between 0 and 1"
            )
        if not 0.0 < self.changepoint_range <= 1.0:
            raise ValueError(
                f"arrivals.changepoint_range is {self.changepoint_range!r}; expected (0, 1]"
            )
        if not 1 <= self.yearly_fourier_order <= 6:
            raise ValueError(
                f"arrivals.yearly_fourier_order is {self.yearly_fourier_order!r}; monthly "
                "data identify orders 1 to 6"
            )
        if not 0.0 < self.trend_damping <= 1.0:
            raise ValueError(f"arrivals.trend_damping is {self.trend_damping!r}; expected (0, 1]")
        if self.recent_level_months < 0:
            raise ValueError(
                f"arrivals.recent_level_months is {self.recent_level_months!r}; expected >= 0"
            )
        if not 0.0 <= self.level_drift_sd <= 2.0:
            raise ValueError(
                f"arrivals.level_drift_sd is {self.level_drift_sd!r}; expected 0 to 2 "
                "(a standard deviation per year on the transformed scale)"
            )
        if self.uncertainty_samples < 10:
            raise ValueError(
                f"arrivals.uncertainty_samples is {self.uncertainty_samples!r}; expected >= 10"
            )
        self.lockdowns = [
            lock if isinstance(lock, LockdownPeriod) else LockdownPeriod(**dict(lock))
            for lock in self.lockdowns
        ]
        for lock in self.lockdowns:
            if pd.Timestamp(lock.end) < pd.Timestamp(lock.start):
                raise ValueError(f"lockdown {lock.name!r} ends ({lock.end}) before it starts")


@dataclass
class ArrivalLever:
    """A scenario lever: multiply one kind's arrivals from a month on.

    Attributes:
        kind: the arrival kind affected.
        multiplier: full effect (0.9 = 10% fewer arrivals); must be >= 0.
        start: first month affected (any date inside it).
        ramp_months: months to reach the full effect, rising linearly from the start
            (0 = full effect at once; with 4, the first month gets a quarter of the change).
        name: label used in reports.
    """

    kind: str
    multiplier: float
    start: str
    ramp_months: int = 0
    name: str = ""

    def __post_init__(self) -> None:
        if self.multiplier < 0:
            raise ValueError(f"lever {self.name or self.kind!r}: multiplier {self.multiplier} < 0")
        if self.ramp_months < 0:
            raise ValueError(f"lever {self.name or self.kind!r}: ramp_months is negative")


@dataclass
class ArrivalLevel:
    """A scenario lever: one kind's expected arrivals per month set to a fixed level.

    From ``start`` the kind's fitted series is replaced by ``per_month`` (an expected count:
    the flow model draws the month's arrivals from a Poisson distribution with this mean,
    from the same random streams as the fitted series). Months before ``start`` keep the
    fitted series.

    Attributes:
        kind: the arrival kind set (``care_entry_uasc`` for a National Transfer Scheme quota).
        per_month: expected arrivals per month from ``start``; must be >= 0.
        start: first month set (any date inside it).
        name: label used in reports.
    """

    kind: str
    per_month: float
    start: str
    name: str = ""

    def __post_init__(self) -> None:
        if not self.per_month >= 0:
            raise ValueError(
                f"level {self.name or self.kind!r}: per_month {self.per_month} is not >= 0"
            )


def _month_start(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return pd.Timestamp(stamp.year, stamp.month, 1)


def _order_kinds(present: Sequence[str]) -> list[str]:
    known = [kind for kind in ARRIVAL_KINDS if kind in present]
    return known + sorted(set(present) - set(ARRIVAL_KINDS))


def monthly_arrivals(
    arrivals: pd.DataFrame,
    window_start: Any,
    window_end: Any,
    kinds: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Count arrivals per calendar month and kind.

    Only months lying wholly inside ``[window_start, window_end]`` (both inclusive) are
    kept; months with no arrivals of a kind count zero.

    Args:
        arrivals: the ``EventHistory.arrivals`` table (needs ``date`` and ``kind``).
        window_start: first observed day.
        window_end: last observed day.
        kinds: kinds to report (default: those present, in ``ARRIVAL_KINDS`` order).

    Returns:
        Columns ``month`` (month-start Timestamp), ``kind``, ``count`` (int64), sorted by
        kind then month.
    """
    missing = [col for col in ("date", "kind") if col not in arrivals.columns]
    if missing:
        raise ValueError(f"arrivals table: missing column(s) {missing}")
    dates = pd.to_datetime(arrivals["date"])
    if dates.isna().any():
        row = dates.index[dates.isna()][0]
        raise ValueError(
            f"arrivals table: row {row}, column 'date' is blank (rule: every arrival has a date)"
        )
    start = pd.Timestamp(window_start).normalize()
    end = pd.Timestamp(window_end).normalize()
    first = start if start.day == 1 else _month_start(start) + pd.offsets.MonthBegin(1)
    last = _month_start(end)
    if end != last + pd.offsets.MonthEnd(0):
        last = last - pd.offsets.MonthBegin(1)
    kinds = _order_kinds(list(pd.unique(arrivals["kind"]))) if kinds is None else list(kinds)
    months = pd.date_range(first, last, freq="MS") if first <= last else pd.DatetimeIndex([])
    inside = (dates >= first) & (dates < last + pd.offsets.MonthBegin(1))
    counts = (
        pd.DataFrame(
            {
                "month": dates[inside].dt.to_period("M").dt.to_timestamp(),
                "kind": arrivals.loc[inside, "kind"].astype(str),
            }
        )
        .groupby(["kind", "month"])
        .size()
    )
    grid = pd.MultiIndex.from_product([kinds, months], names=["kind", "month"])
    out = counts.reindex(grid, fill_value=0).rename("count").reset_index()
    out["count"] = out["count"].astype("int64")
    out["month"] = pd.to_datetime(out["month"])
    return out[["month", "kind", "count"]]


def lever_multipliers(
    levers: Sequence[ArrivalLever], months: Sequence[Any], kinds: Sequence[str]
) -> np.ndarray:
    """Multipliers ``[month, kind]`` from scenario levers (levers on one kind multiply)."""
    index = pd.DatetimeIndex([_month_start(m) for m in months])
    kinds = list(kinds)
    out = np.ones((len(index), len(kinds)))
    for lever in levers:
        if lever.kind not in kinds:
            raise ValueError(
                f"lever {lever.name or lever.kind!r}: kind {lever.kind!r} is not modelled "
                f"(modelled: {kinds})"
            )
        begin = _month_start(lever.start)
        elapsed = (index.year - begin.year) * 12 + (index.month - begin.month)
        if lever.ramp_months > 0:
            share = np.clip((elapsed + 1) / lever.ramp_months, 0.0, 1.0)
        else:
            share = (elapsed >= 0).astype(float)
        share = np.where(elapsed >= 0, share, 0.0)
        out[:, kinds.index(lever.kind)] *= 1.0 + (lever.multiplier - 1.0) * share
    return out


def apply_levers(paths: xr.DataArray, levers: Sequence[ArrivalLever]) -> xr.DataArray:
    """Multiply sample paths (dims ``path``, ``month``, ``kind``) by scenario levers."""
    factors = lever_multipliers(levers, paths["month"].values, list(paths["kind"].values))
    scale = xr.DataArray(
        factors, dims=("month", "kind"), coords={"month": paths["month"], "kind": paths["kind"]}
    )
    return (paths * scale).transpose(*paths.dims).rename(paths.name)


def apply_levels(paths: xr.DataArray, levels: Sequence[ArrivalLevel]) -> xr.DataArray:
    """Set sample paths (dims ``path``, ``month``, ``kind``) to fixed levels from their starts.

    A later level of the same kind overrides an earlier one from its own start.
    """
    kinds = list(paths["kind"].values)
    index = pd.DatetimeIndex([_month_start(m) for m in paths["month"].values])
    values = paths.transpose("path", "month", "kind").to_numpy().copy()
    for level in sorted(levels, key=lambda lv: _month_start(lv.start)):
        if level.kind not in kinds:
            raise ValueError(
                f"level {level.name or level.kind!r}: kind {level.kind!r} is not modelled "
                f"(modelled: {kinds})"
            )
        values[:, index >= _month_start(level.start), kinds.index(level.kind)] = float(
            level.per_month
        )
    out = paths.transpose("path", "month", "kind").copy(data=values)
    return out.transpose(*paths.dims).rename(paths.name)


@contextmanager
def _quiet_prophet() -> Iterator[None]:
    """Raise Prophet's and cmdstanpy's loggers to WARNING for the duration."""
    from cmdstanpy.utils import get_logger

    get_logger()  # cmdstanpy sets its level when first asked for its logger: do that first
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _prophet_class() -> type:
    # prophet.plot logs an error when the optional plotly is missing; it is not needed here.
    plot_logger = logging.getLogger("prophet.plot")
    level = plot_logger.level
    plot_logger.setLevel(logging.CRITICAL)
    try:
        from prophet import Prophet
    finally:
        plot_logger.setLevel(level)
    return Prophet


def _forward(values: np.ndarray, transform: str) -> np.ndarray:
    if transform == "log1p":
        return np.log1p(values)
    if transform == "sqrt":
        return np.sqrt(values)
    return values


def _inverse(values: np.ndarray, transform: str) -> np.ndarray:
    values = np.maximum(values, 0.0)
    if transform == "log1p":
        return np.expm1(values)
    if transform == "sqrt":
        return np.square(values)
    return values


@dataclass(frozen=True)
class _Posterior:
    """Gaussian approximation of one Prophet fit, on Prophet's scaled units."""

    mean: np.ndarray  # MAP of [k, m, delta..., beta...]
    chol: np.ndarray  # square root of the covariance (chol @ chol.T)
    delta: np.ndarray  # MAP trend changes
    rate: float  # changepoints per unit of scaled time
    sigma: float  # observation noise (scaled)
    y_scale: float
    residual: np.ndarray  # the fit's residual per month of the history (scaled)


@dataclass(frozen=True)
class _RateFit:
    """Posterior of a constant monthly Poisson rate: Gamma(shape, rate = months)."""

    shape: float  # arrivals in the last months + 0.5 (Jeffreys prior)
    months: float  # months counted

    @property
    def mean(self) -> float:
        return self.shape / self.months


def _design_matrix(model: Any, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Prophet's linear predictor as a matrix: columns t, 1, hinge per changepoint, features."""
    prepared = model.setup_dataframe(frame.copy())
    t = prepared["t"].to_numpy(dtype=float)
    features = model.make_all_seasonality_features(prepared)[0].to_numpy(dtype=float)
    changepoints = np.asarray(model.changepoints_t, dtype=float)
    hinge = np.maximum(t[:, None] - changepoints[None, :], 0.0)
    return np.column_stack([t, np.ones_like(t), hinge, features]), t


def _posterior(model: Any, frame: pd.DataFrame, tau: float) -> _Posterior:
    """Gaussian approximation of the posterior around Prophet's MAP estimate.

    With additive components the model is linear in ``[k, m, delta, beta]`` given the noise
    level, so the posterior precision is ``D'D / sigma^2`` plus the prior precisions. The
    Laplace prior on each trend change enters through its local quadratic approximation at
    the MAP (precision ``1 / (tau |delta|)``): changes the prior shrank to zero stay at zero,
    the changes the data support get their likelihood uncertainty. The noise level is the
    residual variance over the residual degrees of freedom (observations less effective
    parameters), since the MAP noise level understates the error of a new month.
    """
    params = model.params
    delta = np.asarray(params["delta"], dtype=float).ravel()
    mean = np.concatenate(
        [
            np.asarray(params["k"], dtype=float).ravel(),
            np.asarray(params["m"], dtype=float).ravel(),
            delta,
            np.asarray(params["beta"], dtype=float).ravel(),
        ]
    )
    matrix, _ = _design_matrix(model, frame)
    y = model.history["y_scaled"].to_numpy(dtype=float)
    n_features = matrix.shape[1] - 2 - delta.size
    _, prior_scales, _, _ = model.make_all_seasonality_features(model.setup_dataframe(frame.copy()))
    prior_precision = np.concatenate(
        [
            np.full(2, 1.0 / 25.0),
            1.0 / (tau * np.maximum(np.abs(delta), 1e-8)),
            1.0 / np.square(np.asarray(prior_scales, dtype=float)[:n_features]),
        ]
    )
    gram = matrix.T @ matrix
    residual = y - matrix @ mean
    rss = float(residual @ residual)
    if np.ptp(y) == 0.0 or rss <= 0.0:
        # A constant series (for example no arrivals of a kind at all) is fitted exactly.
        return _Posterior(
            mean=mean,
            chol=np.zeros((mean.size, mean.size)),
            delta=delta,
            rate=0.0,
            sigma=0.0,
            y_scale=float(model.y_scale),
            residual=residual,
        )
    sigma2 = max(float(np.asarray(params["sigma_obs"], dtype=float).ravel()[0]) ** 2, 1e-12)
    for _ in range(50):  # fixed point: sigma^2 = RSS / (n - effective parameters)
        covariance = np.linalg.inv(gram / sigma2 + np.diag(prior_precision))
        effective = float(np.trace(gram @ covariance)) / sigma2
        updated = rss / max(y.size - effective, 1.0)
        converged = abs(updated - sigma2) <= 1e-9 * sigma2
        sigma2 = updated
        if converged:
            break
    covariance = np.linalg.inv(gram / sigma2 + np.diag(prior_precision))
    eigenvalues, eigenvectors = np.linalg.eigh((covariance + covariance.T) / 2.0)
    chol = eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))
    return _Posterior(
        mean=mean,
        chol=chol,
        delta=delta,
        rate=float(len(model.changepoints_t)),
        sigma=float(np.sqrt(sigma2)),
        y_scale=float(model.y_scale),
        residual=residual,
    )


class ArrivalModel:
    """Prophet trend models of monthly arrivals, one per arrival kind.

    Learned state: ``models_`` (kind -> fitted Prophet, for the trend kinds), ``rates_``
    (kind -> posterior of a constant Poisson rate, for ``settings.rate_kinds``),
    ``history_`` (monthly counts of the modelled kinds: ``month``, ``kind``, ``count``),
    ``kinds_`` and ``regressors_`` (the lockdowns overlapping the history).
    """

    def __init__(self, settings: ArrivalSettings | None = None) -> None:
        self.settings = settings if settings is not None else ArrivalSettings()

    # ------------------------------------------------------------------ fitting
    def fit(self, history_like: Any) -> ArrivalModel:
        """Fit one model per arrival kind.

        Args:
            history_like: an ``EventHistory`` (its ``arrivals`` are counted with
                :func:`monthly_arrivals` over its window; of the kinds in its ``kinds``
                attribute when it has one, such as ``OutsideArrivals``) or a monthly table
                with columns ``month``, ``kind``, ``count`` covering consecutive months.
        """
        monthly = self._monthly(history_like)
        present = _order_kinds(list(pd.unique(monthly["kind"])))
        kinds = present if self.settings.kinds is None else list(self.settings.kinds)
        absent = [kind for kind in kinds if kind not in present]
        if absent:
            raise ValueError(
                f"arrivals.kinds asks for {absent}, which the history does not hold "
                f"(it holds {present})"
            )
        months = pd.DatetimeIndex(sorted(pd.unique(monthly["month"])))
        if len(months) < self.settings.min_months:
            raise ValueError(
                f"arrival history covers {len(months)} complete months; the trend models "
                f"need at least {self.settings.min_months} (arrivals.min_months)"
            )
        design = self._design(months)
        # A lockdown of which the history holds too little (one month at the end of the
        # window, say) cannot be told apart from the noise of that month: fitting it would
        # let one observation set an effect of any size, so its months are left to the trend.
        self.regressors_ = tuple(
            lock.name
            for lock in self.settings.lockdowns
            if design[lock.name].sum() >= self.settings.lockdown_min_months
        )
        self.kinds_ = kinds
        kept = monthly[monthly["kind"].isin(kinds)]
        self.history_ = kept.sort_values(["kind", "month"]).reset_index(drop=True)
        self.models_ = {}
        self.posteriors_: dict[str, _Posterior] = {}
        self.rates_: dict[str, _RateFit] = {}
        prophet_class = _prophet_class()
        for kind in kinds:
            counts = self.history_.loc[self.history_["kind"] == kind].set_index("month")["count"]
            if kind in self.settings.rate_kinds:
                recent = counts.reindex(months).to_numpy(dtype=float)[-self.settings.rate_months :]
                self.rates_[kind] = _RateFit(shape=float(recent.sum()) + 0.5, months=recent.size)
                continue
            frame = design.assign(
                y=_forward(counts.reindex(months).to_numpy(dtype=float), self.settings.transform)
            )
            model = prophet_class(
                growth="linear",
                n_changepoints=self.settings.n_changepoints,
                changepoint_range=self.settings.changepoint_range,
                changepoint_prior_scale=self.settings.changepoint_prior_scale,
                yearly_seasonality=self.settings.yearly_fourier_order,
                weekly_seasonality=False,
                daily_seasonality=False,
                seasonality_prior_scale=self.settings.seasonality_prior_scale,
                mcmc_samples=0,
                uncertainty_samples=0,
            )
            for name in self.regressors_:
                model.add_regressor(
                    name, prior_scale=self.settings.lockdown_prior_scale, standardize=False
                )
            with _quiet_prophet():
                model.fit(frame[["ds", "y", *self.regressors_]], seed=self.settings.seed)
            self.models_[kind] = model
            self.posteriors_[kind] = _posterior(
                model, frame[["ds", *self.regressors_]], self.settings.changepoint_prior_scale
            )
        return self

    def _monthly(self, history_like: Any) -> pd.DataFrame:
        if isinstance(history_like, pd.DataFrame):
            missing = [c for c in ("month", "kind", "count") if c not in history_like.columns]
            if missing:
                raise ValueError(f"monthly arrivals table: missing column(s) {missing}")
            monthly = history_like[["month", "kind", "count"]].copy()
            monthly["month"] = pd.to_datetime(monthly["month"])
            monthly["kind"] = monthly["kind"].astype(str)
            bad = monthly["month"] != monthly["month"].dt.to_period("M").dt.to_timestamp()
            if bad.any():
                row = monthly.index[bad][0]
                raise ValueError(
                    f"monthly arrivals table: row {row}, column 'month' is "
                    f"{monthly.loc[row, 'month']} (rule: months are given by their first day)"
                )
            if (monthly["count"] < 0).any() or monthly["count"].isna().any():
                row = monthly.index[~(monthly["count"] >= 0)][0]
                raise ValueError(
                    f"monthly arrivals table: row {row}, column 'count' is "
                    f"{monthly.loc[row, 'count']} (rule: counts are non-negative numbers)"
                )
            expected = pd.date_range(monthly["month"].min(), monthly["month"].max(), freq="MS")
            for kind, group in monthly.groupby("kind"):
                if len(group) != len(expected) or set(group["month"]) != set(expected):
                    raise ValueError(
                        f"monthly arrivals table: kind {kind!r} does not have exactly one row "
                        f"per month from {expected[0]:%Y-%m} to {expected[-1]:%Y-%m} (rule: "
                        "every kind covers the same consecutive months)"
                    )
            return monthly
        if all(hasattr(history_like, a) for a in ("arrivals", "window_start", "window_end")):
            return monthly_arrivals(
                history_like.arrivals,
                history_like.window_start,
                history_like.window_end,
                kinds=getattr(history_like, "kinds", None),
            )
        raise TypeError(
            "ArrivalModel.fit expects an EventHistory or a monthly table with columns "
            f"month, kind, count; got {type(history_like).__name__}"
        )

    def _design(self, months: pd.DatetimeIndex) -> pd.DataFrame:
        """Prophet input frame: ``ds`` and each lockdown's share of the month's days."""
        frame = pd.DataFrame({"ds": months})
        month_end = months + pd.offsets.MonthEnd(0)
        days = np.asarray(months.days_in_month, dtype=float)
        for lock in self.settings.lockdowns:
            start, end = pd.Timestamp(lock.start), pd.Timestamp(lock.end)
            first = np.maximum(months.values, start.to_datetime64())
            last = np.minimum(month_end.values, end.to_datetime64())
            overlap = (last - first) / np.timedelta64(1, "D") + 1.0
            frame[lock.name] = np.clip(overlap, 0.0, None) / days
        return frame

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise RuntimeError("ArrivalModel is not fitted yet: call fit() first")

    @property
    def last_month_(self) -> pd.Timestamp:
        """The last month of the fitted history."""
        self._check_fitted()
        return pd.Timestamp(self.history_["month"].max())

    def _months(self, start: Any, horizon_months: int) -> pd.DatetimeIndex:
        if horizon_months < 1:
            raise ValueError(f"horizon_months is {horizon_months}; expected at least 1")
        first = (
            self.last_month_ + pd.offsets.MonthBegin(1) if start is None else _month_start(start)
        )
        return pd.date_range(first, periods=horizon_months, freq="MS")

    # ----------------------------------------------------------------- sampling
    def sample_paths(
        self,
        start: Any,
        horizon_months: int,
        n_paths: int,
        seed: int,
        *,
        include_noise: bool = True,
        levers: Sequence[ArrivalLever] = (),
        levels: Sequence[ArrivalLevel] = (),
    ) -> xr.DataArray:
        """Draw monthly arrival trajectories.

        Each path is one plausible future: its trend, seasonality and lockdown coefficients
        are drawn from the approximate posterior, its trend changes at random past the
        history (as it did within it) and stays changed, and, with ``include_noise``, each
        month adds the fitted month-to-month noise. Values are on the count scale, never
        negative and real-valued. Pass ``include_noise=False`` for intensity paths (without
        the noise) when a simulator draws its own count noise. The same seed gives the same
        paths; numpy's global random state is neither used nor changed.

        Args:
            start: first month; ``None`` for the month after the history.
            horizon_months: number of months.
            n_paths: number of trajectories.
            seed: seed; each kind draws from its own stream derived from it.
            include_noise: add observation noise.
            levers: scenario levers applied to the paths (after ``levels``).
            levels: scenario levels: a kind set to a fixed expected count from a month.

        Returns:
            ``xarray.DataArray`` named ``arrivals`` with dims ``(path, month, kind)``,
            units arrivals per month.
        """
        self._check_fitted()
        if n_paths < 1:
            raise ValueError(f"n_paths is {n_paths}; expected at least 1")
        if int(seed) < 0:
            raise ValueError(f"seed is {seed}; expected a non-negative integer")
        months = self._months(start, horizon_months)
        values = np.stack(
            [
                self._simulate(kind, months, n_paths, seed, include_noise=include_noise)
                for kind in self.kinds_
            ],
            axis=-1,
        )
        paths = xr.DataArray(
            values,
            dims=("path", "month", "kind"),
            coords={"path": np.arange(n_paths), "month": months, "kind": list(self.kinds_)},
            name="arrivals",
            attrs={"units": "arrivals per month", "transform": self.settings.transform},
        )
        if levels:
            paths = apply_levels(paths, levels)
        return apply_levers(paths, levers) if levers else paths

    def _simulate(
        self, kind: str, months: pd.DatetimeIndex, n_paths: int, seed: int, include_noise: bool
    ) -> np.ndarray:
        """Paths ``[path, month]`` on the count scale for one kind."""
        rng = streams.arrival_rng(seed, kind)
        if kind in self.rates_:
            return self._simulate_rate(self.rates_[kind], months, n_paths, rng, include_noise)
        model = self.models_[kind]
        post = self.posteriors_[kind]
        # Trend deviations are simulated month by month from the end of the history, so a
        # forecast that starts later still carries the uncertainty accumulated before it.
        grid = pd.date_range(
            min(months[0], self.last_month_ + pd.offsets.MonthBegin(1)), months[-1], freq="MS"
        )
        matrix, t = _design_matrix(model, self._design(grid)[["ds", *self.regressors_]])
        future = t > 1.0
        step = np.diff(np.concatenate(([1.0], t[future])))
        damping = self.settings.trend_damping
        if future.any() and damping < 1.0:
            # A damped trend: the fitted slope shrinks by `damping` each future month, so the
            # trend columns are evaluated at a damped time past the end of the history.
            damped = t.copy()
            damped[future] = 1.0 + np.cumsum(step * damping ** np.arange(1, step.size + 1))
            n_changes = len(model.changepoints_t)
            matrix = matrix.copy()
            matrix[:, 0] = damped
            matrix[:, 2 : 2 + n_changes] = np.maximum(
                damped[:, None] - np.asarray(model.changepoints_t, dtype=float)[None, :], 0.0
            )
        if self.settings.parameter_uncertainty:
            draws = post.mean + rng.standard_normal((n_paths, post.mean.size)) @ post.chol.T
        else:
            draws = np.broadcast_to(post.mean, (n_paths, post.mean.size))
        scaled = draws @ matrix.T
        if future.any() and post.rate > 0.0:
            # Prophet's extrapolation: slope changes arrive at the historical rate of
            # changepoints per unit time, with Laplace sizes of the mean fitted |change|
            # (damped like the fitted slope).
            scale = float(np.mean(np.abs(post.delta))) + 1e-8
            changes = rng.uniform(size=(n_paths, step.size)) < post.rate * step
            shifts = rng.laplace(0.0, scale, size=(n_paths, step.size)) * changes
            slope = np.zeros(n_paths)
            level = np.zeros((n_paths, step.size))
            for month in range(step.size):
                slope = damping * slope + shifts[:, month]
                level[:, month] = (level[:, month - 1] if month else 0.0) + slope * step[month]
            scaled[:, future] += level
        recent = self.settings.recent_level_months
        if future.any() and recent > 0:
            # The forecast starts from the level of the history's last `recent` months: their
            # mean residual shifts every future month.
            scaled[:, future] += float(np.mean(post.residual[-recent:]))
        drift = self.settings.level_drift_sd
        if future.any() and drift > 0.0:
            # A random walk on the level: one step per future month of variance drift^2 / 12
            # (a whole year adds drift^2), in Prophet's scaled units.
            steps = rng.normal(0.0, drift / np.sqrt(12.0) / post.y_scale, (n_paths, step.size))
            scaled[:, future] += np.cumsum(steps, axis=1)
        if include_noise:
            scaled += rng.normal(0.0, post.sigma, size=scaled.shape)
        paths = _inverse(scaled * post.y_scale, self.settings.transform)
        return paths[:, grid.isin(months)]

    def _simulate_rate(
        self,
        fit: _RateFit,
        months: pd.DatetimeIndex,
        n_paths: int,
        rng: np.random.Generator,
        include_noise: bool,
    ) -> np.ndarray:
        """Paths ``[path, month]`` of a constant Poisson rate: a rate per path from the
        posterior (or its mean), held over the months; with noise, Poisson counts."""
        if self.settings.parameter_uncertainty:
            rate = rng.gamma(fit.shape, 1.0 / fit.months, size=n_paths)
        else:
            rate = np.full(n_paths, fit.mean)
        paths = np.repeat(rate[:, None], len(months), axis=1)
        if include_noise:
            paths = rng.poisson(paths).astype(float)
        return paths

    def forecast(
        self,
        start: Any,
        horizon_months: int,
        interval: float | None = None,
        *,
        levers: Sequence[ArrivalLever] = (),
    ) -> pd.DataFrame:
        """Monthly forecast with a predictive interval.

        Computed from ``settings.uncertainty_samples`` sample paths drawn with
        ``settings.seed`` (so repeated calls agree).

        Args:
            start: first month; ``None`` for the month after the history.
            horizon_months: number of months.
            interval: interval width (default ``settings.interval_width``, 0.8).
            levers: scenario levers applied before summarising.

        Returns:
            Columns ``month``, ``kind``, ``mean``, ``median``, ``lower``, ``upper``
            (arrivals per month).
        """
        width = self.settings.interval_width if interval is None else interval
        if not 0.0 < width < 1.0:
            raise ValueError(f"interval is {width!r}; expected between 0 and 1")
        paths = self.sample_paths(
            start,
            horizon_months,
            self.settings.uncertainty_samples,
            self.settings.seed,
            levers=levers,
        )
        quantiles = np.quantile(
            paths.values, [(1.0 - width) / 2.0, 0.5, (1.0 + width) / 2.0], axis=0
        )
        frames = []
        for k, kind in enumerate(self.kinds_):
            frames.append(
                pd.DataFrame(
                    {
                        "month": pd.DatetimeIndex(paths["month"].values),
                        "kind": kind,
                        "mean": paths.values[:, :, k].mean(axis=0),
                        "median": quantiles[1, :, k],
                        "lower": quantiles[0, :, k],
                        "upper": quantiles[2, :, k],
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    # ------------------------------------------------------------- components
    def components(self) -> pd.DataFrame:
        """Fitted components over the history on the transformed scale.

        Columns ``month``, ``kind``, ``trend``, ``yearly``, ``lockdown`` (sum of the lockdown
        regressors) and ``fitted``; the Prophet (trend) kinds only, not ``rates_``'s.
        """
        self._check_fitted()
        months = pd.DatetimeIndex(sorted(pd.unique(self.history_["month"])))
        design = self._design(months)[["ds", *self.regressors_]]
        frames = []
        for kind, model in self.models_.items():
            with _quiet_prophet():
                pred = model.predict(design)
            lockdown = (
                pred[list(self.regressors_)].sum(axis=1).to_numpy()
                if self.regressors_
                else np.zeros(len(months))
            )
            frames.append(
                pd.DataFrame(
                    {
                        "month": months,
                        "kind": kind,
                        "trend": pred["trend"].to_numpy(),
                        "yearly": pred["yearly"].to_numpy(),
                        "lockdown": lockdown,
                        "fitted": pred["yhat"].to_numpy(),
                    }
                )
            )
        if not frames:
            return pd.DataFrame(columns=["month", "kind", "trend", "yearly", "lockdown", "fitted"])
        return pd.concat(frames, ignore_index=True)

    def seasonal_effects(self) -> pd.DataFrame:
        """Seasonal effect by calendar month at the final year's trend level.

        Columns ``kind``, ``calendar_month`` (1-12) and ``effect``: arrivals per month above
        (or below) the trend level, on the count scale.
        """
        comp = self.components()
        rows = []
        for kind, group in comp.groupby("kind", sort=False):
            last_year = group.tail(12)
            level = float(last_year["trend"].mean())
            for month, yearly in zip(last_year["month"], last_year["yearly"], strict=True):
                effect = _inverse(np.array(level + yearly), self.settings.transform) - _inverse(
                    np.array(level), self.settings.transform
                )
                rows.append({"kind": kind, "calendar_month": month.month, "effect": float(effect)})
        if not rows:
            return pd.DataFrame(columns=["kind", "calendar_month", "effect"])
        return pd.DataFrame(rows).sort_values(["kind", "calendar_month"], ignore_index=True)

    def components_figure(self) -> Figure:
        """Trend, school-year seasonality and lockdown effect for each modelled kind.

        Rows are the trend (Prophet) kinds; columns show observed counts with the fitted values and
        trend, the seasonal effect by calendar month, and the arrivals per month removed or
        added by the lockdowns. Drawn on the Agg canvas (no display needed).
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        comp = self.components()
        seasonal = self.seasonal_effects()
        tf = self.settings.transform
        trend_kinds = [kind for kind in self.kinds_ if kind in self.models_]
        fig = Figure(figsize=(13, 3.2 * max(len(trend_kinds), 1)), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(max(len(trend_kinds), 1), 3, squeeze=False)
        for row, kind in enumerate(trend_kinds):
            group = comp[comp["kind"] == kind]
            observed = self.history_[self.history_["kind"] == kind]
            label = _KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())
            ax = axes[row, 0]
            ax.plot(observed["month"], observed["count"], "o", ms=3, color="0.4", label="observed")
            ax.plot(group["month"], _inverse(group["fitted"].to_numpy(), tf), label="fitted")
            ax.plot(group["month"], _inverse(group["trend"].to_numpy(), tf), label="trend")
            ax.set_title(f"{label}: trend")
            ax.set_xlabel("month")
            ax.set_ylabel("arrivals per month")
            ax.legend(fontsize="small")
            ax = axes[row, 1]
            effects = seasonal[seasonal["kind"] == kind]
            ax.bar(effects["calendar_month"], effects["effect"], color="tab:blue")
            ax.axhline(0.0, color="black", lw=0.8)
            ax.set_xticks(range(1, 13), list("JFMAMJJASOND"))
            ax.set_title(f"{label}: yearly seasonality")
            ax.set_xlabel("calendar month")
            ax.set_ylabel("arrivals per month vs trend")
            ax = axes[row, 2]
            without = group["trend"].to_numpy() + group["yearly"].to_numpy()
            effect = _inverse(without + group["lockdown"].to_numpy(), tf) - _inverse(without, tf)
            ax.bar(group["month"], effect, width=25, color="tab:red")
            ax.axhline(0.0, color="black", lw=0.8)
            ax.set_title(f"{label}: lockdown effect")
            ax.set_xlabel("month")
            ax.set_ylabel("arrivals per month")
        return fig
