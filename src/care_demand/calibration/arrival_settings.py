"""Settings of the arrival trend models and the arrival kinds.

The kinds of arrival from outside services (``ARRIVAL_KINDS``, in reporting order), the
lockdown periods fitted as regressors (:class:`LockdownPeriod`) and
:class:`ArrivalSettings`, the schema of ``configs/calibration/default.yaml``'s
``arrivals`` section with its validation. The model itself is
:class:`care_demand.calibration.arrivals.ArrivalModel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = [
    "ARRIVAL_KINDS",
    "CARE_ENTRY",
    "CARE_ENTRY_UASC",
    "EARLY_HELP_REQUEST",
    "REFERRAL",
    "TRANSFORMS",
    "ArrivalSettings",
    "LockdownPeriod",
    "month_start",
    "order_kinds",
]

REFERRAL = "referral"
EARLY_HELP_REQUEST = "early_help_request"
CARE_ENTRY = "care_entry"
CARE_ENTRY_UASC = "care_entry_uasc"
# The arrival kinds of docs/event_history.md, in reporting order. A kind added later goes at
# the end: the flow model numbers its random streams by a kind's position, so the kinds
# before it keep their streams.
ARRIVAL_KINDS: tuple[str, ...] = (REFERRAL, EARLY_HELP_REQUEST, CARE_ENTRY, CARE_ENTRY_UASC)

TRANSFORMS: tuple[str, ...] = ("log1p", "sqrt", "identity")


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
        drift_from_backtest: a run uses the level drift its council's own backtest chose
            (``backtest/arrival_drift.json`` of the same data) when the backtest's nested
            check supports the choice; ``False``: always ``level_drift_sd``. Applied after
            fitting (``ArrivalModel.with_settings``), as ``trend_from_backtest``.
        recent_rate_weight: the forecast's level is a weighted average of two forecasts:
            this share from the mean count of the history's last ``recent_rate_months``
            months (a constant rate), the rest from the trend model. Every path past the
            history is scaled by one factor, so that the paths' mean over the first year
            is that average; the seasonal shape, the trend past the first year and the
            spread of the paths stay the trend model's (0 = the trend model alone).
        recent_rate_months: the months whose mean count is the constant rate.
        trend_damping: factor by which the trend's slope shrinks each month past the
            history (1 = Prophet's linear extrapolation; 0.95 lets the trend run on for about
            19 months' worth of its final slope, then level off; 0 = level only: the slope is
            not carried past the history).
        trend_from_backtest: a run uses the trend damping its council's own backtest chose
            (``backtest/arrival_variant.json`` of the same data) when the backtest's nested
            check supports the choice; ``False``: always ``trend_damping``. The pipeline
            applies it after fitting (``ArrivalModel.with_settings``); the model itself only
            reads ``trend_damping``.
        interval_width: default width of forecast intervals.
        parameter_uncertainty: draw each path's trend, seasonality and lockdown effects from
            a Gaussian approximation of the posterior (``False``: Prophet's MAP intervals,
            which omit parameter uncertainty and are too narrow on six or seven years of
            monthly data).
        uncertainty_samples: sample paths behind
            :meth:`~care_demand.calibration.arrivals.ArrivalModel.forecast`.
        seed: seed of the optimiser and of the forecast's sample paths.
        min_months: fewest complete months a series needs (two years fix a seasonality).
        rate_kinds: kinds modelled as a constant Poisson rate rather than a Prophet trend
            (see :mod:`care_demand.calibration.arrivals`); kinds absent from the history are
            ignored.
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
    trend_from_backtest: bool = True
    level_drift_sd: float = 0.0
    drift_from_backtest: bool = True
    recent_level_months: int = 0
    recent_rate_weight: float = 0.0
    recent_rate_months: int = 12
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
        if self.transform not in TRANSFORMS:
            raise ValueError(
                f"arrivals.transform is {self.transform!r}; expected one of {TRANSFORMS}"
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
        if not 0.0 <= self.trend_damping <= 1.0:
            raise ValueError(f"arrivals.trend_damping is {self.trend_damping!r}; expected [0, 1]")
        if self.recent_level_months < 0:
            raise ValueError(
                f"arrivals.recent_level_months is {self.recent_level_months!r}; expected >= 0"
            )
        if not 0.0 <= self.recent_rate_weight <= 1.0:
            raise ValueError(
                f"arrivals.recent_rate_weight is {self.recent_rate_weight!r}; expected 0 to 1"
            )
        if self.recent_rate_months < 1:
            raise ValueError(
                f"arrivals.recent_rate_months is {self.recent_rate_months!r}; expected >= 1"
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


def month_start(value: Any) -> pd.Timestamp:
    """The first day of the month containing ``value``."""
    stamp = pd.Timestamp(value)
    return pd.Timestamp(stamp.year, stamp.month, 1)


def order_kinds(present: Sequence[str]) -> list[str]:
    """Kinds in reporting order: those of ``ARRIVAL_KINDS`` first, then others by name."""
    known = [kind for kind in ARRIVAL_KINDS if kind in present]
    return known + sorted(set(present) - set(ARRIVAL_KINDS))
