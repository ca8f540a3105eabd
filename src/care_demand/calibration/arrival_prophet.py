"""Prophet plumbing of the arrival trend models.

What :class:`care_demand.calibration.arrivals.ArrivalModel` needs around Prophet: a quiet
Prophet (its and cmdstanpy's INFO logging silenced), the transforms counts are fitted on and
back-transformed from, Prophet's linear predictor as a design matrix, the Gaussian (Laplace)
approximation of a fit's posterior around its MAP estimate, and the trend paths drawn from
it (:func:`trend_paths`). Prophet is imported only when a model is fitted.

How a path is drawn:

* **Sample paths.** Prophet's ``predictive_samples`` draws whole trajectories (one row per
  simulated future: the trend changes accumulate along the row and observation noise is
  added per month), but it draws from numpy's global random state and, with a MAP fit
  (``mcmc_samples=0``), holds every parameter at its estimate, which makes 80% intervals
  cover about two months in three on six years of monthly data.
  ``ArrivalModel.sample_paths`` therefore draws with an explicit
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
* **Recent rate.** With ``recent_rate_weight`` > 0 the forecast's level is an average of two
  forecasts: the trend model's and the mean count of the last ``recent_rate_months`` months.
  Every path past the history is multiplied by one factor, so that the paths' mean over the
  first year is the average; the seasonal shape, the trend after the first year and the
  spread of the paths stay the trend model's.
* **Level drift.** Trend changes drawn at the rate and size fitted on a short, steady
  history are small, while a council's arrivals shift from year to year for reasons no trend
  foretells (a new front door, a partner agency's thresholds, a pandemic). ``level_drift_sd``
  adds to every path a random walk on the transformed scale from the end of the history, with
  that standard deviation per year (0.1 on ``log1p`` scale: a 1-sd shift of about 10% in a
  year, 14% in two). On ``log1p`` scale the walk is compensated (less half its variance) so
  that the mean count of every month stays the trend's: it widens intervals without moving
  the expected arrivals, which the expected children in care follow.
* **Damped trend (optional).** Prophet extrapolates the final slope for ever, which over a
  five-year horizon compounds any recent change. ``trend_damping`` < 1 shrinks the slope
  (fitted and simulated changes alike) by that factor each month past the history.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from care_demand.calibration.arrival_settings import ArrivalSettings, LockdownPeriod

__all__ = [
    "LaplacePosterior",
    "design_matrix",
    "fit_prophet",
    "fitted_components",
    "forward",
    "inverse",
    "laplace_posterior",
    "prophet_class",
    "prophet_frame",
    "quiet_prophet",
    "trend_paths",
]

_QUIET_LOGGERS = ("prophet", "cmdstanpy")


def _not_short_history(record: logging.LogRecord) -> bool:
    """False for Prophet's caution about yearly seasonality on under two years of history:
    the arrival model sets its own least history (``min_months``, two school years: 24
    monthly points, which span a few days under Prophet's 730)."""
    return "less than 730 days" not in record.getMessage()


@contextmanager
def quiet_prophet() -> Iterator[None]:
    """Raise Prophet's and cmdstanpy's loggers to WARNING for the duration (and drop
    Prophet's caution about short histories, which the arrival model decides itself)."""
    from cmdstanpy.utils import get_logger

    get_logger()  # cmdstanpy sets its level when first asked for its logger: do that first
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    loggers[0].addFilter(_not_short_history)
    try:
        yield
    finally:
        loggers[0].removeFilter(_not_short_history)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def prophet_class() -> type:
    """Prophet's model class, imported without its plotting module's complaint."""
    # prophet.plot logs an error when the optional plotly is missing; it is not needed here.
    plot_logger = logging.getLogger("prophet.plot")
    level = plot_logger.level
    plot_logger.setLevel(logging.CRITICAL)
    try:
        from prophet import Prophet
    finally:
        plot_logger.setLevel(level)
    return Prophet


def forward(values: np.ndarray, transform: str) -> np.ndarray:
    """Counts on the fitting scale (``log1p``, ``sqrt`` or ``identity``)."""
    if transform == "log1p":
        return np.log1p(values)
    if transform == "sqrt":
        return np.sqrt(values)
    return values


def inverse(values: np.ndarray, transform: str) -> np.ndarray:
    """Back to counts from the fitting scale (clipped at zero first, so never negative)."""
    values = np.maximum(values, 0.0)
    if transform == "log1p":
        return np.expm1(values)
    if transform == "sqrt":
        return np.square(values)
    return values


def prophet_frame(months: pd.DatetimeIndex, lockdowns: Sequence[LockdownPeriod]) -> pd.DataFrame:
    """Prophet input frame: ``ds`` and each lockdown's share of the month's days."""
    frame = pd.DataFrame({"ds": months})
    month_end = months + pd.offsets.MonthEnd(0)
    days = np.asarray(months.days_in_month, dtype=float)
    for lock in lockdowns:
        start, end = pd.Timestamp(lock.start), pd.Timestamp(lock.end)
        first = np.maximum(months.values, start.to_datetime64())
        last = np.minimum(month_end.values, end.to_datetime64())
        overlap = (last - first) / np.timedelta64(1, "D") + 1.0
        frame[lock.name] = np.clip(overlap, 0.0, None) / days
    return frame


def fit_prophet(frame: pd.DataFrame, regressors: Sequence[str], settings: ArrivalSettings) -> Any:
    """A Prophet model (MAP, linear trend, yearly seasonality) fitted quietly to ``frame``.

    ``frame`` holds ``ds``, ``y`` (on the transformed scale) and the ``regressors``, each
    added unstandardised with ``settings.lockdown_prior_scale``.
    """
    model = prophet_class()(
        growth="linear",
        n_changepoints=settings.n_changepoints,
        changepoint_range=settings.changepoint_range,
        changepoint_prior_scale=settings.changepoint_prior_scale,
        yearly_seasonality=settings.yearly_fourier_order,
        weekly_seasonality=False,
        daily_seasonality=False,
        seasonality_prior_scale=settings.seasonality_prior_scale,
        mcmc_samples=0,
        uncertainty_samples=0,
    )
    for name in regressors:
        model.add_regressor(name, prior_scale=settings.lockdown_prior_scale, standardize=False)
    with quiet_prophet():
        model.fit(frame, seed=settings.seed)
    return model


def fitted_components(model: Any, design: pd.DataFrame, regressors: Sequence[str]) -> pd.DataFrame:
    """A fitted model's components over ``design``'s months, on the transformed scale.

    Columns ``month``, ``trend``, ``yearly``, ``lockdown`` (sum of the ``regressors``) and
    ``fitted``.
    """
    with quiet_prophet():
        pred = model.predict(design)
    lockdown = (
        pred[list(regressors)].sum(axis=1).to_numpy() if regressors else np.zeros(len(design))
    )
    return pd.DataFrame(
        {
            "month": pd.DatetimeIndex(design["ds"]),
            "trend": pred["trend"].to_numpy(),
            "yearly": pred["yearly"].to_numpy(),
            "lockdown": lockdown,
            "fitted": pred["yhat"].to_numpy(),
        }
    )


@dataclass(frozen=True)
class LaplacePosterior:
    """Gaussian approximation of one Prophet fit, on Prophet's scaled units."""

    mean: np.ndarray  # MAP of [k, m, delta..., beta...]
    chol: np.ndarray  # square root of the covariance (chol @ chol.T)
    delta: np.ndarray  # MAP trend changes
    rate: float  # changepoints per unit of scaled time
    sigma: float  # observation noise (scaled)
    y_scale: float
    residual: np.ndarray  # the fit's residual per month of the history (scaled)


def design_matrix(model: Any, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Prophet's linear predictor as a matrix: columns t, 1, hinge per changepoint, features."""
    prepared = model.setup_dataframe(frame.copy())
    t = prepared["t"].to_numpy(dtype=float)
    features = model.make_all_seasonality_features(prepared)[0].to_numpy(dtype=float)
    changepoints = np.asarray(model.changepoints_t, dtype=float)
    hinge = np.maximum(t[:, None] - changepoints[None, :], 0.0)
    return np.column_stack([t, np.ones_like(t), hinge, features]), t


def laplace_posterior(model: Any, frame: pd.DataFrame, tau: float) -> LaplacePosterior:
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
    matrix, _ = design_matrix(model, frame)
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
        return LaplacePosterior(
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
    return LaplacePosterior(
        mean=mean,
        chol=chol,
        delta=delta,
        rate=float(len(model.changepoints_t)),
        sigma=float(np.sqrt(sigma2)),
        y_scale=float(model.y_scale),
        residual=residual,
    )


def trend_paths(
    model: Any,
    post: LaplacePosterior,
    design: pd.DataFrame,
    settings: ArrivalSettings,
    n_paths: int,
    rng: np.random.Generator,
    include_noise: bool,
) -> np.ndarray:
    """Paths ``[path, month]`` on the count scale of one fitted Prophet model.

    ``design`` is the Prophet input frame (``ds`` and the fitted regressors) of consecutive
    months that include every month past the history up to the last one wanted: trend
    deviations are simulated month by month from the end of the history, so a forecast that
    starts later still carries the uncertainty accumulated before it. Each path takes its
    coefficients from ``post`` (with ``settings.parameter_uncertainty``), adds trend changes
    past the history at the fitted rate, the recent-level correction, the level drift and,
    with ``include_noise``, the observation noise, in that order of draws from ``rng``;
    before the noise, the level is averaged with the recent rate (``recent_rate_weight``,
    no draw).
    """
    matrix, t = design_matrix(model, design)
    future = t > 1.0
    step = np.diff(np.concatenate(([1.0], t[future])))
    damping = settings.trend_damping
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
    if settings.parameter_uncertainty:
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
    recent = settings.recent_level_months
    if future.any() and recent > 0:
        # The forecast starts from the level of the history's last `recent` months: their
        # mean residual shifts every future month.
        scaled[:, future] += float(np.mean(post.residual[-recent:]))
    drift = settings.level_drift_sd
    if future.any() and drift > 0.0:
        # A random walk on the level: one step per future month of variance drift^2 / 12
        # (a whole year adds drift^2), in Prophet's scaled units.
        steps = rng.normal(0.0, drift / np.sqrt(12.0) / post.y_scale, (n_paths, step.size))
        walk = np.cumsum(steps, axis=1)
        if settings.transform == "log1p":
            # On log scale a walk symmetric in the log raises the mean count by
            # exp(variance / 2): the compensator keeps the mean of every month's count where
            # the trend puts it, so the drift widens the intervals and leaves the expected
            # arrivals (and the stock they feed) as forecast.
            variance = np.square(drift) * np.arange(1, step.size + 1) / 12.0
            walk -= variance / 2.0 / post.y_scale
        scaled[:, future] += walk
    weight = settings.recent_rate_weight
    if future.any() and weight > 0.0:
        # The level: an average of the trend model's first year and the recent rate. One
        # factor for every path, from their mean intensity (before observation noise).
        history = model.history["y"].to_numpy(dtype=float)
        rate = float(np.mean(inverse(history[-settings.recent_rate_months :], settings.transform)))
        counts = inverse(scaled[:, future] * post.y_scale, settings.transform)
        mean = float(np.mean(counts[:, :12]))
        if mean > 0.0:
            factor = (1.0 - weight) + weight * rate / mean
            scaled[:, future] = forward(counts * factor, settings.transform) / post.y_scale
    if include_noise:
        scaled += rng.normal(0.0, post.sigma, size=scaled.shape)
    return inverse(scaled * post.y_scale, settings.transform)
