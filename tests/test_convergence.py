"""The vectorised convergence diagnostics agree with ArviZ's, quantity by quantity."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
import xarray as xr

from care_demand.calibration.convergence import rhat_and_bulk_ess


def chains(n_chain: int, n_draw: int, phis: np.ndarray, seed: int) -> np.ndarray:
    """AR(1) chains ``(chain, draw, quantity)`` with autocorrelation ``phis`` and a shift
    between chains for some quantities (poor mixing), so R-hat and ESS span a wide range."""
    rng = np.random.default_rng(seed)
    k = len(phis)
    out = np.empty((n_chain, n_draw, k))
    x = rng.normal(size=(n_chain, k))
    for t in range(n_draw):
        x = phis * x + np.sqrt(1 - phis**2) * rng.normal(size=(n_chain, k))
        out[:, t] = x
    out[0, :, ::7] += 0.5  # one chain off-centre for every seventh quantity
    return out


def arviz(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    data = xr.Dataset({"x": (("chain", "draw", "q"), values)})
    return az.rhat(data)["x"].to_numpy(), az.ess(data, method="bulk")["x"].to_numpy()


@pytest.mark.parametrize(("n_chain", "n_draw"), [(2, 400), (4, 251), (1, 300)])
def test_rhat_and_bulk_ess_equal_arviz(n_chain: int, n_draw: int) -> None:
    phis = np.concatenate([np.linspace(-0.6, 0.995, 40), [0.0, 0.999]])
    values = chains(n_chain, n_draw, phis, seed=n_draw)
    values[:, :, -2] = np.round(values[:, :, -2])  # heavy ties in the ranks
    rhat, ess = arviz(values)
    ours_rhat, ours_ess = rhat_and_bulk_ess(values)
    assert np.allclose(ours_ess, ess, rtol=1e-9)
    if n_chain > 1:
        assert np.allclose(ours_rhat, rhat, rtol=1e-9)
    # The spread of the test cases: mixed and unmixed, short and long autocorrelation.
    assert ess.min() < 50 < 400 < ess.max()


def test_a_constant_quantity_counts_every_draw() -> None:
    values = np.zeros((2, 100, 2))
    values[:, :, 1] = np.random.default_rng(1).normal(size=(2, 100))
    rhat, ess = rhat_and_bulk_ess(values)
    assert ess[0] == 200.0
    assert np.isfinite(rhat[1]) and np.isfinite(ess[1])
