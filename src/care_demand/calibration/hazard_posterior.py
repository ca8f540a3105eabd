"""The PyMC model behind :class:`~care_demand.calibration.hazards.HazardModel`.

:func:`sample_posterior` turns an exposure table and placement counts into an ArviZ
``InferenceData`` whose ``posterior`` holds, for every pair of the index, ``alpha``,
``beta_age`` and ``gamma_dur`` (log rate = alpha + beta_age + gamma_dur), the scales
``sigma_age`` / ``sigma_dur`` (NaN for pairs without events) and the placement shares
``p_entry`` / ``p_move``, together with the convergence diagnostics of the part drawn by
NUTS.

Three parts, each drawn the way that suits it:

- Pairs with at least one event: NUTS on the piecewise-exponential model (module docstring of
  ``hazards``). The zero-sum band effects are written in an orthonormal basis aligned with
  the data (eigenvectors of the Poisson information) and each coordinate is partially
  non-centred by how much the data say about it. The effects are reported centred at the
  pair's event-weighted bands, so ``alpha`` sits where the data are and is nearly
  uncorrelated with them. These choices shape the sampler's geometry, not the model. The
  scales have a small floor (``priors.sigma_floor``): without it a pair whose bands truly
  do not differ drives its scale towards zero, where no parametrisation samples well.
- Pairs with no event at all (often transitions that never happen, such as adoption from a
  children's home): no age or duration pattern can be learned, so one rate per pair with a
  Gamma(shape, shape / pooled crude rate) prior, whose posterior Gamma(shape, shape / pooled
  rate + exposure) PyMC draws exactly. This also keeps the sampler away from the steep
  likelihood walls that zero counts with large exposure create.
- Placement shares: Dirichlet prior x multinomial counts is again Dirichlet, drawn exactly.
"""

from __future__ import annotations

import logging
import multiprocessing
import pickle
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.calibration.convergence import rhat_and_bulk_ess
from care_demand.calibration.hazard_exposure import HazardIndex
from care_demand.calibration.hazard_settings import HazardPriors, HazardSettings

__all__ = ["chain_cores", "log_rates", "sample_posterior"]

log = logging.getLogger("care_demand")

# What a chain process that cannot start raises: pickling the sampler for a start method
# that needs it (e.g. a process pool's own start method, as in the joblib launcher's
# workers), or the operating system refusing a process.
_START_FAILURES = (TypeError, pickle.PicklingError, AttributeError, OSError, EOFError)


def log_rates(post: Any, draw_ids: np.ndarray | None = None) -> np.ndarray:
    """Log hazards ``(draw, pair, age, duration)`` for the given flat draw ids (all if None)."""

    def flat(name: str) -> np.ndarray:
        values = post[name].to_numpy()
        values = values.reshape(-1, *values.shape[2:])
        return values if draw_ids is None else values[draw_ids]

    return (
        flat("alpha")[:, :, None, None]
        + flat("beta_age")[:, :, :, None]
        + flat("gamma_dur")[:, :, None, :]
    )


def _crude_log_rate(
    exposure: pd.DataFrame, index: HazardIndex, settings: HazardSettings
) -> np.ndarray:
    """Crude pooled log rate per pair; care pairs are pooled over the placement groups."""
    p = settings.priors
    stratum = exposure.drop_duplicates(["state", "group", "age_band", "duration_band"])
    months = stratum.groupby("state")["exposure_months"].sum()
    events = exposure.groupby(["state", "destination"])["events"].sum()
    # One stratum per non-care state, so grouping by state gives a non-care pair its own
    # crude rate and pools a care pair over the placement groups.
    return np.log(
        np.array(
            [
                (events[(s, d)] + p.crude_events) / (months[s] + p.crude_months)
                for s, _, d in index.pairs
            ],
            dtype=float,
        )
    )


def _centre_weights(events: np.ndarray, months: np.ndarray, keep_axis: int) -> np.ndarray:
    """Per pair, the share of events in each band of one axis (smoothed by exposure)."""
    other = 2 if keep_axis == 1 else 1
    total = months.sum(axis=(1, 2))
    smooth = 0.5 * months.sum(axis=other) / np.where(total > 0, total, 1.0)[:, None]
    weight = events.sum(axis=other) + smooth
    weight = np.where(weight.sum(axis=1, keepdims=True) > 0, weight, 1.0)
    return weight / weight.sum(axis=1, keepdims=True)


def _data_basis(band_events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pair, an orthonormal basis of the zero-sum band effects aligned with the data.

    Returns ``basis`` ``(pair, band, band - 1)`` and ``information`` ``(pair, band - 1)``:
    eigenvectors and eigenvalues (in events) of the Poisson information about the effects
    once the pair's level is known.
    """
    n_band = band_events.shape[1]
    zero_sum = np.linalg.svd(np.eye(n_band) - 1.0 / n_band)[0][:, : n_band - 1]
    events = band_events.astype(float)
    total = np.where(events.sum(axis=1) > 0, events.sum(axis=1), 1.0)
    info_bands = (
        np.einsum("pa,ab->pab", events, np.eye(n_band))
        - events[:, :, None] * events[:, None, :] / total[:, None, None]
    )
    info = np.einsum("ab,pac,cd->pbd", zero_sum, info_bands, zero_sum)
    information, vectors = np.linalg.eigh(info)
    return np.einsum("ab,pbc->pac", zero_sum, vectors), np.clip(information, 0.0, None)


def _centring_weight(information: np.ndarray, typical_sd: float) -> np.ndarray:
    """How far to centre a parameter, from 0 (no data: non-centred) to 1 (data pin it down):
    ``I s^2 / (1 + I s^2)`` for information ``I`` (in events) and a typical size ``s``."""
    return information * typical_sd**2 / (1.0 + information * typical_sd**2)


def _band_effects(axis: str, scale: Any, band_events: np.ndarray, typical_sd: float) -> Any:
    """Zero-sum normal band effects ``(pair, band)`` with sd ``scale[pair]``.

    Each coordinate ``u`` in the data-aligned basis of :func:`_data_basis` is written as
    ``u = scale**(1 - w) * v`` with ``v ~ Normal(0, scale**w)`` (partial non-centring): the
    weight ``w = I s^2 / (1 + I s^2)`` grows from 0 (non-centred, no data) to 1 (centred,
    data pin ``u`` down) with the information ``I`` about the coordinate, ``s`` being a
    typical effect size. Any ``w`` gives the same model; the right one keeps both the
    funnel of weak coordinates and the ridge of strong ones out of the sampler's way.
    """
    import pymc as pm
    import pytensor.tensor as pt

    basis, information = _data_basis(band_events)
    n_pair, n_coord = information.shape
    weight = _centring_weight(information, typical_sd)
    sd = pt.repeat(scale, n_coord).reshape((n_pair, n_coord))
    v = pm.Normal(f"{axis}_coord", mu=0.0, sigma=sd**weight, shape=(n_pair, n_coord))
    coords = sd ** (1.0 - weight) * v
    return (pt.as_tensor(basis) * coords[:, None, :]).sum(axis=2)


def _group_pools(index: HazardIndex) -> dict[str, np.ndarray]:
    """Positions of the care pairs pooled over placement groups, by destination.

    Each destination out of care (a placement move, a return home, an adoption...) with at
    least two placement groups in ``index`` forms one pool.
    """
    positions: dict[str, list[int]] = {}
    for p, (state, _, destination) in enumerate(index.pairs):
        if state == vocab.CARE:
            positions.setdefault(destination, []).append(p)
    return {d: np.array(ps) for d, ps in positions.items() if len(ps) >= 2}


@dataclass(frozen=True)
class _Pools:
    """Which pairs are pooled (``members``, in pool order, with ``pool_of``) and which not."""

    pools: dict[str, np.ndarray]
    members: np.ndarray
    pool_of: np.ndarray
    free: np.ndarray
    order: np.ndarray  # where each pair sits in ``free`` followed by ``members``

    @classmethod
    def of(cls, index: HazardIndex, on: bool) -> _Pools:
        pools = _group_pools(index) if on else {}
        ps = list(pools.values())
        members = np.concatenate(ps) if ps else np.empty(0, dtype=int)
        pool_of = np.repeat(np.arange(len(ps)), [len(p) for p in ps])
        free = np.setdiff1d(np.arange(len(index.pairs)), members)
        return cls(pools, members, pool_of, free, np.argsort(np.concatenate([free, members])))

    def in_pair_order(self, free_part: Any, member_part: Any) -> Any:
        """The free pairs' and the members' values as one vector (or matrix) in pair order.

        ``free_part`` is not used (and may be ``None``) when every pair is pooled.
        """
        import pytensor.tensor as pt

        parts = [free_part, member_part] if len(self.free) else [member_part]
        return pt.concatenate(parts, axis=0)[self.order]


def _levels(crude: np.ndarray, pair_events: np.ndarray, pools: _Pools, pri: HazardPriors) -> Any:
    """The pairs' levels ``alpha``; a care pair's partially pooled over placement groups.

    ``alpha[pair] ~ Normal(group_mean[d], group_sd[d])`` for the care pairs of destination
    ``d``, with ``group_mean[d] ~ Normal(log crude care rate of d, alpha_sd)`` and
    ``group_sd[d] = sigma_floor + HalfNormal(group_sd_scale)``. Other pairs (every pair when
    ``priors.pool_groups`` is off): ``alpha ~ Normal(log crude rate, alpha_sd)``. Each pooled
    level is partially non-centred by its own events, as the band effects are.
    """
    import pymc as pm

    if not pools.pools:
        return pm.Normal("alpha", mu=crude, sigma=pri.alpha_sd, dims="pair")
    first = [ps[0] for ps in pools.pools.values()]
    mean = pm.Normal("group_mean", mu=crude[first], sigma=pri.alpha_sd, shape=len(first))
    sd = pri.sigma_floor + pm.HalfNormal(
        "group_sd_excess", sigma=pri.group_sd_scale, shape=len(first)
    )
    weight = _centring_weight(pair_events[pools.members].astype(float), pri.typical_effect)
    member_sd = sd[pools.pool_of]
    coord = pm.Normal("group_coord", mu=0.0, sigma=member_sd**weight, shape=len(weight))
    pooled = mean[pools.pool_of] + member_sd ** (1.0 - weight) * coord
    free = None
    if len(pools.free):
        free = pm.Normal(
            "alpha_free", mu=crude[pools.free], sigma=pri.alpha_sd, shape=len(pools.free)
        )
    return pm.Deterministic("alpha", pools.in_pair_order(free, pooled), dims="pair")


def _band_scales(axis: str, scale: float, pools: _Pools, pri: HazardPriors) -> Any:
    """Per pair, the sd of its own band effects (about the shared pattern, when pooled).

    An unpooled pair: ``sigma_floor + HalfNormal(scale)``. The care pairs of one destination
    share one sd of their deviations from the destination's pattern,
    ``sigma_floor + HalfNormal(group_band_share x scale)``: learned from every group, so a
    group with a handful of events keeps close to the pattern the others show.
    """
    import pymc as pm

    if not pools.pools:
        excess = pm.HalfNormal(f"sigma_{axis}_excess", sigma=scale, dims="pair")
    else:
        free = None
        if len(pools.free):
            free = pm.HalfNormal(f"sigma_{axis}_excess", sigma=scale, shape=len(pools.free))
        shared = pm.HalfNormal(
            f"sigma_{axis}_deviation", sigma=pri.group_band_share * scale, shape=len(pools.pools)
        )
        excess = pools.in_pair_order(free, shared[pools.pool_of])
    return pm.Deterministic(f"sigma_{axis}", pri.sigma_floor + excess, dims="pair")


def _shared_bands(
    axis: str, scale: float, band_events: np.ndarray, pools: _Pools, pri: HazardPriors
) -> Any:
    """Each destination's band pattern shared by its care pairs ``(pair, band)``; zero for
    unpooled pairs. Its sd is ``sigma_floor + HalfNormal(scale)``, as a single pair's."""
    import pymc as pm
    import pytensor.tensor as pt

    if not pools.pools:
        return 0.0
    pooled_events = np.stack([band_events[ps].sum(axis=0) for ps in pools.pools.values()])
    sd = pri.sigma_floor + pm.HalfNormal(f"{axis}_shared_sd", sigma=scale, shape=len(pools.pools))
    shared = _band_effects(f"{axis}_shared", sd, pooled_events, pri.typical_effect)
    zeros = pt.zeros((len(pools.free), band_events.shape[1]))
    return pools.in_pair_order(zeros, shared[pools.pool_of])


def _nuts(
    months: np.ndarray,
    events: np.ndarray,
    crude: np.ndarray,
    index: HazardIndex,
    settings: HazardSettings,
) -> Any:
    """NUTS draws of alpha, beta_age, gamma_dur (and the scales) of pairs with events."""
    import pymc as pm

    w_age = _centre_weights(events, months, keep_axis=1)
    w_dur = _centre_weights(events, months, keep_axis=2)
    observed = months.ravel() > 0
    coords = {
        "pair": index.pair_labels(),
        "age_band": list(index.age_bands),
        "duration_band": list(index.duration_bands),
    }
    pri, s = settings.priors, settings.sampler
    with pm.Model(coords=coords):
        pools = _Pools.of(index, pri.pool_groups)
        alpha = _levels(crude, events.sum(axis=(1, 2)), pools, pri)
        sigma_age = _band_scales("age", pri.sigma_age_scale, pools, pri)
        sigma_dur = _band_scales("dur", pri.sigma_dur_scale, pools, pri)
        age_events, dur_events = events.sum(axis=2), events.sum(axis=1)
        raw_age = _band_effects("age", sigma_age, age_events, pri.typical_effect) + _shared_bands(
            "age", pri.sigma_age_scale, age_events, pools, pri
        )
        raw_dur = _band_effects("dur", sigma_dur, dur_events, pri.typical_effect) + _shared_bands(
            "dur", pri.sigma_dur_scale, dur_events, pools, pri
        )
        beta = pm.Deterministic(
            "beta_age", raw_age - (raw_age * w_age).sum(axis=1)[:, None], dims=("pair", "age_band")
        )
        gamma = pm.Deterministic(
            "gamma_dur",
            raw_dur - (raw_dur * w_dur).sum(axis=1)[:, None],
            dims=("pair", "duration_band"),
        )
        log_rate = alpha[:, None, None] + beta[:, :, None] + gamma[:, None, :]
        cell_months = months.ravel()[observed]
        mu = cell_months * pm.math.exp(log_rate.flatten()[observed])
        counts = events.ravel()[observed]
        if np.array_equal(counts, np.round(counts)):
            pm.Poisson("events", mu=mu, observed=counts.astype(np.int64))
        else:
            # Weighted counts (a record weighted by age): the Poisson log-likelihood, each
            # event and month of exposure counted at its weight (the constant term dropped).
            log_mu = np.log(cell_months) + log_rate.flatten()[observed]
            pm.Potential("events", (counts * log_mu - mu).sum())
        with warnings.catch_warnings():
            # PyTensor warns when no BLAS library is linked; this model has no matrix products.
            warnings.filterwarnings(
                "ignore", message="PyTensor could not link to a BLAS", category=UserWarning
            )
            idata = _sample_chains(
                pm,
                dict(
                    draws=s.draws,
                    tune=s.tune,
                    chains=s.chains,
                    target_accept=s.target_accept,
                    random_seed=s.random_seed,
                    progressbar=s.progressbar,
                    compute_convergence_checks=False,
                    idata_kwargs={"log_likelihood": False},
                ),
                chain_cores(s.cores),
                s.backend,
            )
    keep = ["alpha", "beta_age", "gamma_dur", "sigma_age", "sigma_dur"]
    return idata.posterior[keep], idata.sample_stats


def chain_cores(cores: int) -> int:
    """How many processes the chains may use here: ``cores``, or 1 inside a worker process.

    A worker of a process pool (the joblib launcher's scenario jobs, a Dask worker) already
    shares the machine with its siblings, and its pool's start method may not be able to
    start PyMC's chain processes; there the chains run one after another. The draws are the
    same either way: each chain's seed comes from ``random_seed`` and its chain number.
    """
    if cores > 1 and multiprocessing.parent_process() is not None:
        return 1
    return max(1, int(cores))


def _sample_chains(pm: Any, kwargs: dict[str, Any], cores: int, backend: str = "pymc") -> Any:
    """``pm.sample`` with chains in ``cores`` processes, or in turn if they cannot start.

    With the ``nutpie`` backend the chains run in threads of this process, wherever it is.
    """
    if backend == "nutpie":
        # nutpie keeps no log-likelihood anyway, and warns when asked not to.
        kwargs = {k: v for k, v in kwargs.items() if k != "idata_kwargs"}
        return pm.sample(
            nuts_sampler="nutpie", cores=cores, nuts_sampler_kwargs={"backend": "numba"}, **kwargs
        )
    if cores > 1:
        try:
            return pm.sample(cores=cores, **kwargs)
        except _START_FAILURES as exc:
            log.warning(
                "The sampler could not start its chains in parallel processes here "
                "(%s: %s); running them one after another instead (same draws, slower).",
                type(exc).__name__,
                str(exc).splitlines()[0] if str(exc) else "",
            )
    return pm.sample(cores=1, **kwargs)


def _rng(settings: HazardSettings, part: int) -> np.random.Generator:
    """The generator of one exactly drawn part (numpy's: nothing to compile)."""
    return np.random.default_rng(np.random.SeedSequence([settings.sampler.random_seed, part]))


def _dirichlet(conc: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws of independent Dirichlet rows ``(n, row, k)``: normalised Gamma draws."""
    gamma = rng.standard_gamma(conc, size=(n, *conc.shape))
    total = gamma.sum(axis=-1, keepdims=True)
    # A row whose Gamma draws all underflow (concentrations far below 1) falls on its mean.
    mean = np.broadcast_to(conc / conc.sum(axis=-1, keepdims=True), gamma.shape)
    return np.where(total > 0, gamma / np.where(total > 0, total, 1.0), mean)


def _unobserved_alpha(
    months: np.ndarray, crude: np.ndarray, n: int, settings: HazardSettings
) -> np.ndarray:
    """Exact log-rate draws ``(n, pair)`` for pairs with no event: Gamma posterior."""
    shape = settings.priors.unobserved_shape
    rate = shape / np.exp(crude) + months.sum(axis=(1, 2))
    draws = _rng(settings, 2).gamma(shape, 1.0 / rate, size=(n, len(rate)))
    return np.log(np.maximum(draws, np.finfo(float).tiny))


def _dirichlet_prior(counts: np.ndarray, settings: HazardSettings) -> np.ndarray:
    """Dirichlet concentrations: floor + strength x pooled (Jeffreys-smoothed) share."""
    totals = counts.sum(axis=0) + 0.5
    share = totals / totals.sum()
    conc = settings.priors.placement_floor + settings.priors.placement_strength * share
    return np.broadcast_to(conc, counts.shape).copy()


def _entry_prior(entry: pd.DataFrame, move: pd.DataFrame, settings: HazardSettings) -> np.ndarray:
    """Concentrations of the entry shares: each age band's row is centred on the pooled
    shares of every placement started at that age, entries and moves alike, as the move
    shares are: centred on the entries of all ages, a small council's 16-17-year-olds would
    be pulled towards the placements of younger children (supported accommodation, two in
    three of their entries on a council of about 150 in care, towards one in ten)."""
    moves = move.to_numpy()
    bands = move.index.get_level_values("age_band").to_numpy()
    values = entry.to_numpy()
    conc = np.empty(values.shape, dtype=float)
    for i, band in enumerate(entry.index):
        started = np.vstack([values[i : i + 1], moves[bands == band]])
        conc[i] = _dirichlet_prior(started, settings)[0]
    return conc


def _move_prior(move: pd.DataFrame, settings: HazardSettings) -> np.ndarray:
    """Concentrations of the move shares: each (origin, age band) row is centred on the
    pooled shares of its age band's moves from every origin, since the age at a move
    decides much of where it can go (supported accommodation only from 16)."""
    values = move.to_numpy()
    bands = move.index.get_level_values("age_band").to_numpy()
    conc = np.empty(values.shape, dtype=float)
    for band in pd.unique(bands):
        rows = bands == band
        conc[rows] = _dirichlet_prior(values[rows], settings)
    return conc


def _placement_shares(
    entry: pd.DataFrame, move: pd.DataFrame, n: int, settings: HazardSettings
) -> dict[str, np.ndarray]:
    """Exact posterior draws ``(n, row, group)`` of the entry and move shares (the move
    rows are origin group x age band, in the order of ``move``'s index)."""
    out = {}
    parts = (
        ("p_entry", entry, _entry_prior(entry, move, settings)),
        ("p_move", move, _move_prior(move, settings)),
    )
    for part, (name, counts, prior) in enumerate(parts, start=3):
        conc = prior + counts.to_numpy()
        out[name] = _dirichlet(conc, n, _rng(settings, part))
    return out


def _diagnose(post: Any, stats: Any, index: HazardIndex) -> dict[str, Any]:
    """R-hat and bulk ESS of every log hazard drawn by NUTS, and the divergences."""
    n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
    values = log_rates(post).reshape(n_chain, n_draw, -1)
    cells = [
        f"{p} {a} {k}"
        for p in index.pair_labels()
        for a in index.age_bands
        for k in index.duration_bands
    ]
    rhat, ess = rhat_and_bulk_ess(values)
    return {
        "max_rhat": float(np.nanmax(rhat)),
        "worst_rhat": cells[int(np.nanargmax(rhat))],
        "min_ess_bulk": float(np.nanmin(ess)),
        "worst_ess": cells[int(np.nanargmin(ess))],
        "divergences": int(stats["diverging"].sum()),
    }


def sample_posterior(
    exposure: pd.DataFrame,
    index: HazardIndex,
    entry: pd.DataFrame | None,
    move: pd.DataFrame | None,
    settings: HazardSettings,
) -> tuple[Any, dict]:
    """Posterior draws for every pair of ``index`` (and placement shares when given).

    ``exposure`` is the tidy table of :func:`compute_exposure` restricted to ``index`` (same
    order). Returns ``(InferenceData, diagnostics)``.
    """
    import arviz as az
    import xarray as xr

    shape = index.shape
    months = exposure["exposure_months"].to_numpy(dtype=float).reshape(shape)
    events = exposure["events"].to_numpy(dtype=float).reshape(shape)
    crude = _crude_log_rate(exposure, index, settings)
    seen = events.sum(axis=(1, 2)) > 0
    n_chain, n_draw = settings.sampler.chains, settings.sampler.draws
    n = n_chain * n_draw
    alpha = np.empty((n, shape[0]))
    beta = np.zeros((n, shape[0], shape[1]))
    gamma = np.zeros((n, shape[0], shape[2]))
    sigma_age = np.full((n, shape[0]), np.nan)
    sigma_dur = np.full((n, shape[0]), np.nan)
    diagnostics: dict[str, Any] = {
        "max_rhat": 1.0,
        "worst_rhat": "",
        "min_ess_bulk": float(n),
        "worst_ess": "",
        "divergences": 0,
    }
    stats = None
    if seen.any():
        sub = HazardIndex(tuple(p for p, k in zip(index.pairs, seen, strict=True) if k))
        post, stats = _nuts(months[seen], events[seen], crude[seen], sub, settings)
        diagnostics = _diagnose(post, stats, sub)

        def flat(name: str) -> np.ndarray:
            values = post[name].to_numpy()
            return values.reshape(n, *values.shape[2:])

        alpha[:, seen], beta[:, seen], gamma[:, seen] = (
            flat("alpha"),
            flat("beta_age"),
            flat("gamma_dur"),
        )
        sigma_age[:, seen], sigma_dur[:, seen] = flat("sigma_age"), flat("sigma_dur")
    if (~seen).any():
        alpha[:, ~seen] = _unobserved_alpha(months[~seen], crude[~seen], n, settings)
    diagnostics.update(
        {
            "chains": n_chain,
            "draws": n_draw,
            "pairs_sampled": int(seen.sum()),
            "pairs_without_events": int((~seen).sum()),
        }
    )

    def array(values: np.ndarray, *dims: str) -> tuple[tuple[str, ...], np.ndarray]:
        return ("chain", "draw", *dims), values.reshape(n_chain, n_draw, *values.shape[1:])

    variables = {
        "alpha": array(alpha, "pair"),
        "beta_age": array(beta, "pair", "age_band"),
        "gamma_dur": array(gamma, "pair", "duration_band"),
        "sigma_age": array(sigma_age, "pair"),
        "sigma_dur": array(sigma_dur, "pair"),
    }
    coords: dict[str, Any] = {
        "chain": np.arange(n_chain),
        "draw": np.arange(n_draw),
        "pair": index.pair_labels(),
        "age_band": list(index.age_bands),
        "duration_band": list(index.duration_bands),
    }
    if entry is not None and move is not None:
        shares = _placement_shares(entry, move, n, settings)
        variables["p_entry"] = array(shares["p_entry"], "entry_age_band", "group")
        origins = list(move.index.get_level_values("from_group").unique())
        move_bands = list(move.index.get_level_values("age_band").unique())
        p_move = shares["p_move"].reshape(n, len(origins), len(move_bands), -1)
        variables["p_move"] = array(p_move, "from_group", "move_age_band", "group")
        coords.update(
            {
                "entry_age_band": list(entry.index),
                "from_group": origins,
                "move_age_band": move_bands,
                "group": list(entry.columns),
            }
        )
    posterior = xr.Dataset(variables, coords=coords)
    groups = {"posterior": posterior}
    if stats is not None:
        groups["sample_stats"] = stats
    return az.InferenceData(**groups), diagnostics
