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
* **Sample paths.** :meth:`ArrivalModel.sample_paths` draws whole trajectories with an
  explicit :class:`numpy.random.Generator` per kind (kinds are drawn independently): each
  path takes its coefficients from a Gaussian approximation of the posterior around
  Prophet's MAP, its trend changes past the history as it did within it, and optionally
  starts from the recent level, drifts and damps its trend (see :mod:`.arrival_prophet`).
  Forecast intervals are quantiles of these paths, so intervals and paths always agree.

The settings and kinds are in :mod:`.arrival_settings`, the scenario levers in
:mod:`.arrival_levers`, the Prophet plumbing (transforms, design matrix, the Gaussian
approximation of the posterior and the trend paths) in :mod:`.arrival_prophet`; the public
names of the settings and levers are importable from here too. The components chart is
:func:`care_demand.outputs.arrival_chart.arrival_components_figure`.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from care_demand import streams
from care_demand.calibration.arrival_levers import (
    ArrivalLevel,
    ArrivalLever,
    apply_levels,
    apply_levers,
    lever_multipliers,
)
from care_demand.calibration.arrival_prophet import (
    LaplacePosterior,
    fit_prophet,
    fitted_components,
    forward,
    inverse,
    laplace_posterior,
    prophet_frame,
    trend_paths,
)
from care_demand.calibration.arrival_settings import (
    ARRIVAL_KINDS,
    CARE_ENTRY,
    CARE_ENTRY_UASC,
    EARLY_HELP_REQUEST,
    REFERRAL,
    ArrivalSettings,
    LockdownPeriod,
    month_start,
    order_kinds,
)
from care_demand.errors import NotFittedError

__all__ = [
    "ARRIVAL_KINDS",
    "CARE_ENTRY",
    "CARE_ENTRY_UASC",
    "EARLY_HELP_REQUEST",
    "REFERRAL",
    "ArrivalLevel",
    "ArrivalLever",
    "ArrivalModel",
    "ArrivalSettings",
    "LockdownPeriod",
    "NotFittedError",
    "apply_levels",
    "apply_levers",
    "lever_multipliers",
    "monthly_arrivals",
]


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
    first = start if start.day == 1 else month_start(start) + pd.offsets.MonthBegin(1)
    last = month_start(end)
    if end != last + pd.offsets.MonthEnd(0):
        last = last - pd.offsets.MonthBegin(1)
    kinds = order_kinds(list(pd.unique(arrivals["kind"]))) if kinds is None else list(kinds)
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


def _random_state(
    random_state: int | np.random.Generator | None, seed: int | None
) -> int | np.random.Generator:
    """``random_state``, or the seed given under its former keyword ``seed``."""
    if seed is None:
        if random_state is None:
            raise TypeError("sample_paths() needs random_state (an integer seed or a Generator)")
        return random_state
    if random_state is not None:
        raise TypeError("sample_paths() takes random_state or seed, not both")
    warnings.warn(
        "sample_paths(seed=...) is now sample_paths(random_state=...)",
        DeprecationWarning,
        stacklevel=3,
    )
    return seed


@dataclass(frozen=True)
class _RateFit:
    """Posterior of a constant monthly Poisson rate: Gamma(shape, rate = months)."""

    shape: float  # arrivals in the last months + 0.5 (Jeffreys prior)
    months: float  # months counted

    @property
    def mean(self) -> float:
        return self.shape / self.months


class ArrivalModel:
    """Prophet trend models of monthly arrivals, one per arrival kind.

    Learned state: ``models_`` (kind -> fitted Prophet, for the trend kinds), ``rates_``
    (kind -> posterior of a constant Poisson rate, for ``settings.rate_kinds``),
    ``history_`` (monthly counts of the modelled kinds: ``month``, ``kind``, ``count``),
    ``kinds_`` and ``regressors_`` (the lockdowns overlapping the history). A method that
    needs them, called before :meth:`fit`, raises :class:`~care_demand.errors.NotFittedError`.
    """

    def __init__(self, settings: ArrivalSettings | None = None) -> None:
        self.settings = settings if settings is not None else ArrivalSettings()

    def with_settings(self, **changes: Any) -> ArrivalModel:
        """A copy of this (fitted) model with ``changes`` to its settings, sharing the fit:
        for settings that act past the history only (how the trend is carried forward, the
        level drift, the recent level and rate), not those that change the fit."""
        variant = copy.copy(self)
        variant.settings = dataclasses.replace(self.settings, **changes)
        return variant

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
        present = order_kinds(list(pd.unique(monthly["kind"])))
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
        design = prophet_frame(months, self.settings.lockdowns)
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
        self.posteriors_: dict[str, LaplacePosterior] = {}
        self.rates_: dict[str, _RateFit] = {}
        for kind in kinds:
            counts = self.history_.loc[self.history_["kind"] == kind].set_index("month")["count"]
            if kind in self.settings.rate_kinds:
                recent = counts.reindex(months).to_numpy(dtype=float)[-self.settings.rate_months :]
                self.rates_[kind] = _RateFit(shape=float(recent.sum()) + 0.5, months=recent.size)
                continue
            frame = design.assign(
                y=forward(counts.reindex(months).to_numpy(dtype=float), self.settings.transform)
            )
            model = fit_prophet(
                frame[["ds", "y", *self.regressors_]], self.regressors_, self.settings
            )
            self.models_[kind] = model
            self.posteriors_[kind] = laplace_posterior(
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

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise NotFittedError("ArrivalModel is not fitted yet: call fit() first")

    @property
    def last_month_(self) -> pd.Timestamp:
        """The last month of the fitted history."""
        self._check_fitted()
        return pd.Timestamp(self.history_["month"].max())

    def _months(self, start: Any, horizon_months: int) -> pd.DatetimeIndex:
        if horizon_months < 1:
            raise ValueError(f"horizon_months is {horizon_months}; expected at least 1")
        first = self.last_month_ + pd.offsets.MonthBegin(1) if start is None else month_start(start)
        return pd.date_range(first, periods=horizon_months, freq="MS")

    # ----------------------------------------------------------------- sampling
    def sample_paths(
        self,
        start: Any,
        horizon_months: int,
        n_paths: int,
        random_state: int | np.random.Generator | None = None,
        *,
        include_noise: bool = True,
        levers: Sequence[ArrivalLever] = (),
        levels: Sequence[ArrivalLevel] = (),
        seed: int | None = None,
    ) -> xr.DataArray:
        """Draw monthly arrival trajectories.

        Each path is one plausible future: its trend, seasonality and lockdown coefficients
        are drawn from the approximate posterior, its trend changes at random past the
        history (as it did within it) and stays changed, and, with ``include_noise``, each
        month adds the fitted month-to-month noise. Values are on the count scale, never
        negative and real-valued. Pass ``include_noise=False`` for intensity paths (without
        the noise) when a simulator draws its own count noise. The same ``random_state``
        gives the same paths; numpy's global random state is neither used nor changed.

        Args:
            start: first month; ``None`` for the month after the history.
            horizon_months: number of months.
            n_paths: number of trajectories.
            random_state: an integer seed, each kind drawing from its own stream of it
                (:func:`care_demand.streams.arrival_rng`); or a ``numpy.random.Generator``,
                from which one seed is drawn per call and each kind's stream derived from
                that seed (so the kinds stay independent of each other).
            include_noise: add observation noise.
            levers: scenario levers applied to the paths (after ``levels``).
            levels: scenario levels: a kind set to a fixed expected count from a month.
            seed: the integer seed under its former name; give it or ``random_state``.

        Returns:
            ``xarray.DataArray`` named ``arrivals`` with dims ``(path, month, kind)``,
            units arrivals per month.
        """
        self._check_fitted()
        if n_paths < 1:
            raise ValueError(f"n_paths is {n_paths}; expected at least 1")
        rngs = self._kind_rngs(_random_state(random_state, seed))
        months = self._months(start, horizon_months)
        values = np.stack(
            [
                self._simulate(kind, months, n_paths, rngs[kind], include_noise=include_noise)
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

    def _kind_rngs(self, random_state: int | np.random.Generator) -> dict[str, np.random.Generator]:
        """One generator per modelled kind, independent of the other kinds'."""
        if isinstance(random_state, np.random.Generator):
            seed = int(random_state.integers(2**63))
        else:
            seed = int(random_state)
            if seed < 0:
                raise ValueError(
                    f"random_state is {random_state}; expected a non-negative integer "
                    "or a numpy Generator"
                )
        return {kind: streams.arrival_rng(seed, kind) for kind in self.kinds_}

    def _simulate(
        self,
        kind: str,
        months: pd.DatetimeIndex,
        n_paths: int,
        rng: np.random.Generator,
        include_noise: bool,
    ) -> np.ndarray:
        """Paths ``[path, month]`` on the count scale for one kind."""
        if kind in self.rates_:
            return self._simulate_rate(self.rates_[kind], months, n_paths, rng, include_noise)
        # Trend deviations are simulated month by month from the end of the history, so a
        # forecast that starts later still carries the uncertainty accumulated before it.
        grid = pd.date_range(
            min(months[0], self.last_month_ + pd.offsets.MonthBegin(1)), months[-1], freq="MS"
        )
        paths = trend_paths(
            self.models_[kind],
            self.posteriors_[kind],
            prophet_frame(grid, self.settings.lockdowns)[["ds", *self.regressors_]],
            self.settings,
            n_paths,
            rng,
            include_noise,
        )
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
        random_state: int | np.random.Generator | None = None,
    ) -> pd.DataFrame:
        """Monthly forecast with a predictive interval.

        Computed from ``settings.uncertainty_samples`` sample paths drawn with
        ``random_state`` (default ``settings.seed``, so repeated calls agree).

        Args:
            start: first month; ``None`` for the month after the history.
            horizon_months: number of months.
            interval: interval width (default ``settings.interval_width``, 0.8).
            levers: scenario levers applied before summarising.
            random_state: an integer seed or a ``numpy.random.Generator``, as for
                :meth:`sample_paths` (default ``settings.seed``).

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
            self.settings.seed if random_state is None else random_state,
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
        design = prophet_frame(months, self.settings.lockdowns)[["ds", *self.regressors_]]
        frames = [
            fitted_components(model, design, self.regressors_).assign(kind=kind)[
                ["month", "kind", "trend", "yearly", "lockdown", "fitted"]
            ]
            for kind, model in self.models_.items()
        ]
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
                effect = inverse(np.array(level + yearly), self.settings.transform) - inverse(
                    np.array(level), self.settings.transform
                )
                rows.append({"kind": kind, "calendar_month": month.month, "effect": float(effect)})
        if not rows:
            return pd.DataFrame(columns=["kind", "calendar_month", "effect"])
        return pd.DataFrame(rows).sort_values(["kind", "calendar_month"], ignore_index=True)
