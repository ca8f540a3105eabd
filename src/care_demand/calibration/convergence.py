"""Convergence diagnostics of many quantities at once: rank-normalised R-hat and bulk ESS.

The definitions are those of [Vehtari et al. 2021] as ArviZ computes them (``az.rhat`` with
the default rank method, ``az.ess`` with ``method="bulk"``), written over a whole matrix of
quantities in numpy instead of one quantity at a time: the hazards' fit checks about 1,000
log hazards, for which ArviZ's per-quantity loop took several seconds of every fit.
``tests/test_convergence.py`` checks both against ArviZ.

Input: draws ``(chain, draw, quantity)``; output: one value per quantity.
"""

from __future__ import annotations

import numpy as np
from scipy import fft, special

__all__ = ["rhat_and_bulk_ess"]


def _split(values: np.ndarray) -> np.ndarray:
    """Each chain cut into its first and last halves ``(2 x chain, draw // 2, quantity)``."""
    half = values.shape[1] // 2
    return np.concatenate([values[:, :half], values[:, values.shape[1] - half :]], axis=0)


def _ranks(columns: np.ndarray) -> np.ndarray:
    """Ranks from 1 within each column, ties given their average rank."""
    rows = np.ascontiguousarray(columns.T)
    order = np.argsort(rows, axis=1)
    ordered = np.take_along_axis(rows, order, axis=1)
    n = rows.shape[1]
    in_order = np.broadcast_to(np.arange(1.0, n + 1.0), rows.shape).copy()
    differs = ordered[:, 1:] != ordered[:, :-1]
    tied = ~differs.all(axis=1)
    if tied.any():  # each run of equal values takes the mean of its positions
        ones = np.ones((int(tied.sum()), 1), dtype=bool)
        starts = np.hstack([ones, differs[tied]])
        ends = np.hstack([differs[tied], ones])
        position = in_order[tied]
        first = np.maximum.accumulate(np.where(starts, position, 0.0), axis=1)
        last = np.minimum.accumulate(np.where(ends, position, n + 1.0)[:, ::-1], axis=1)[:, ::-1]
        in_order[tied] = (first + last) / 2.0
    ranks = np.empty_like(rows)
    np.put_along_axis(ranks, order, in_order, axis=1)
    return ranks.T


def _z_scale(values: np.ndarray) -> np.ndarray:
    """Normal scores of the pooled ranks of each quantity (Blom's offset 3/8)."""
    n_chain, n_draw, k = values.shape
    ranks = _ranks(values.reshape(-1, k))
    return special.ndtri((ranks - 0.375) / (n_chain * n_draw + 0.25)).reshape(values.shape)


def _rhat(z: np.ndarray) -> np.ndarray:
    n = z.shape[1]
    between = n * np.var(z.mean(axis=1), axis=0, ddof=1)
    within = np.var(z, axis=1, ddof=1).mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt((between / within + n - 1) / n)


def _rank_rhat(split: np.ndarray, z: np.ndarray) -> np.ndarray:
    folded = np.abs(split - np.median(split.reshape(-1, split.shape[2]), axis=0))
    return np.maximum(_rhat(z), _rhat(_z_scale(folded)))


def _autocovariance(values: np.ndarray) -> np.ndarray:
    """Biased autocovariance of each chain at every lag, by FFT ``(chain, lag, quantity)``."""
    n = values.shape[1]
    centred = values - values.mean(axis=1, keepdims=True)
    spectrum = fft.rfft(centred, n=fft.next_fast_len(2 * n), axis=1)
    return fft.irfft(spectrum * np.conjugate(spectrum), axis=1)[:, :n] / n


def _ess(z: np.ndarray) -> np.ndarray:
    """Effective sample size of each quantity with Geyer's initial monotone sequence."""
    n_chain, n, k = z.shape
    acov = _autocovariance(z).mean(axis=0)  # (lag, quantity), averaged over chains
    mean_var = acov[0] * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if n_chain > 1:
        var_plus = var_plus + np.var(z.mean(axis=1), axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = 1.0 - (mean_var - acov) / var_plus  # autocorrelation at each lag
    lags = np.arange(1, n - 3, 2)  # each pair (lag + 1, lag + 2) the sequence may take
    pairs = rho[lags + 1] + rho[lags + 2]
    first = 1.0 + rho[1]
    # Pairs are taken in turn while the one before sums above zero; a pair summing below zero
    # ends the sequence and is left out.
    before = np.vstack([first[None, :], pairs[:-1]]) > 0
    taken = np.cumprod(before, axis=0).astype(bool)
    n_taken = taken.sum(axis=0)
    kept = np.where(taken & (pairs >= 0), pairs, 0.0)
    # Initial monotone sequence: each pair's sum no larger than any before it.
    sums = np.minimum.accumulate(np.vstack([first[None, :], kept]), axis=0)
    within = np.arange(sums.shape[0])[:, None] < n_taken[None, :]
    total = np.where(within, sums, 0.0).sum(axis=0)
    cols = np.arange(k)
    last = np.maximum(n_taken - 1, 0)
    last_even = rho[lags[last] + 1, cols]
    last_kept = taken[last, cols] & (pairs[last, cols] >= 0)
    tail = np.where(n_taken == 0, 1.0, np.where((last_even > 0) | last_kept, last_even, 0.0))
    tau = -1.0 + 2.0 * total + tail
    size = n_chain * n
    ess = size / np.maximum(tau, 1.0 / np.log10(size))
    return np.where(np.isnan(rho).any(axis=0), np.nan, ess)


def _bulk_ess(split: np.ndarray, z: np.ndarray) -> np.ndarray:
    constant = np.ptp(split.reshape(-1, split.shape[2]), axis=0) < np.finfo(float).resolution
    return np.where(constant, float(split.shape[0] * split.shape[1]), _ess(z))


def rhat_and_bulk_ess(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank-normalised split R-hat (the larger of the bulk and tail R-hats) and bulk ESS of
    each quantity of ``values`` ``(chain, draw, quantity)``.

    R-hat needs two chains or more (NaN otherwise). A quantity that never varies counts
    every draw as effective, as in ArviZ.
    """
    split = _split(np.asarray(values, dtype=float))
    z = _z_scale(split)
    return _rank_rhat(split, z), _bulk_ess(split, z)
