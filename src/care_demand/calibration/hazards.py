"""Bayesian transition hazards: a piecewise-exponential model fitted with PyMC.

For every stratum (a state of the continuum, or a placement group in care) and destination
-- a *pair* -- the monthly hazard is constant within each age band x duration band cell::

    events[p, a, k] ~ Poisson(exposure[p, a, k] * rate[p, a, k])
    log rate[p, a, k] = alpha[p] + beta_age[p, a] + gamma_dur[p, k]
    beta_age[p, :] ~ ZeroSumNormal(sigma_age[p]),  gamma_dur[p, :] ~ ZeroSumNormal(sigma_dur[p])
    sigma_age[p] = floor + HalfNormal(sigma_age_scale)   (likewise sigma_dur)
    alpha[p] ~ Normal(log crude pooled rate, alpha_sd)

The age and duration effects of a pair are partially pooled towards the pair's level, by as
much as the pair's own data say its bands differ. Sparse cells borrow from the pair's other
cells and get wide but finite intervals.

In care, the pairs of one destination (a return home from each placement group, a move
from each...) are pooled over the placement groups as well (``priors.pool_groups``)::

    alpha[g, d] ~ Normal(group_mean[d], group_sd[d])
    beta_age[g, d, :] = shared_age[d, :] + deviation_age[g, d, :]    (likewise duration)
    deviation_age[g, d, :] ~ ZeroSumNormal(sigma_age[d])   one sd for the groups of d

so a placement group with a dozen events of a kind (the in-house homes of a small council)
takes its level and its age and duration pattern mostly from the other groups, and a group
with a rich record keeps its own, by as much as the groups' data say they differ.

A pair with no event at all gets one rate from a Gamma prior updated by its exposure.
Sampling details (parametrisation, exact draws) are in
:mod:`care_demand.calibration.hazard_posterior`.

The placement group on entry to care by age band and the destination group of a placement
move by origin group are multinomial counts with Dirichlet priors centred on the pooled
shares.

With ``priors.record_half_life_years`` set, the record is weighted by its age: each year's
exposure, events and placement counts count ``0.5 ** (k / half_life)`` for the k-th year
before the last, so the earlier years act as a power prior for the recent ones [Ibrahim and
Chen 2000] (the Poisson likelihood of weighted counts; :func:`.hazard_exposure.record_counts`).

Typical use::

    model = HazardModel(HazardSettings()).fit(history, cache_dir="cache/")
    table = model.summary(cred=0.9)
    draws = model.draw(200, np.random.default_rng(7))   # draws.rates[i]: one replicate
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Self

import numpy as np
import pandas as pd

from care_demand import __version__, vocab
from care_demand.calibration.hazard_exposure import (
    ALL_STRATA,
    FULL_INDEX,
    NON_CARE_STATES,
    HazardIndex,
    SpellDataError,
    record_counts,
)
from care_demand.calibration.hazard_posterior import log_rates, sample_posterior
from care_demand.calibration.hazard_settings import HazardSettings
from care_demand.errors import CareDemandError, NotFittedError

log = logging.getLogger("care_demand")

__all__ = [
    "ConvergenceError",
    "HazardConvergenceWarning",
    "HazardDraws",
    "HazardModel",
    "HistoryLike",
    "NotFittedError",
]


class HistoryLike(Protocol):
    """What the hazard model reads from an event history."""

    spells: pd.DataFrame
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    fingerprint: str


class ConvergenceError(CareDemandError, RuntimeError):
    """The sampler's output failed a convergence check; the posterior must not be used."""


class HazardConvergenceWarning(UserWarning):
    """A convergence check failed and the settings ask for a warning instead of an error."""


@dataclass(frozen=True)
class HazardDraws:
    """Joint posterior draws, one row per draw.

    ``rates``: monthly hazards ``(n, pair, age_band, duration_band)`` labelled by ``index``;
    ``entry``: placement group on entry to care ``(n, age_band, group)`` (rows sum to 1);
    ``move``: destination group of a move ``(n, from_group, age_band, to_group)``, by the
    origin group and the hazard age band at the move; both ``None`` when no
    care stratum is modelled. ``groups`` labels the placement-group axes.
    """

    rates: np.ndarray
    index: HazardIndex
    entry: np.ndarray | None
    move: np.ndarray | None
    groups: tuple[str, ...] = vocab.PLACEMENT_GROUPS


_CACHE_FORMAT = 2  # 2: the draws as NumPy arrays (.npz), read in a tenth of the time of netCDF
# The priors' form, in the cache key: a fit cached under an earlier form is drawn again.
# 2: each age band's entry shares centred on the placements started at that age.
_PRIOR_FORM = 2


class HazardModel:
    """Piecewise-exponential transition hazards with partial pooling (see module docstring).

    Learned state after :meth:`fit`: ``posterior_`` (ArviZ ``InferenceData``: ``posterior``
    with ``alpha``, ``beta_age``, ``gamma_dur``, ``sigma_age``, ``sigma_dur`` per pair and,
    with care data, ``p_entry`` and ``p_move``; ``beta_age`` and ``gamma_dur`` of a pooled care
    pair include its destination's shared pattern, and its ``sigma_age`` / ``sigma_dur`` are
    the sd of its deviation from it; ``sample_stats`` of NUTS), ``index_``
    (:class:`HazardIndex` of the modelled pairs), ``exposure_`` (tidy exposure/events table
    of the modelled pairs), ``entry_counts_`` and ``move_counts_`` (placement counts),
    ``diagnostics_`` (dict), ``fingerprint_`` (str) and ``from_cache_`` (bool).
    """

    def __init__(self, settings: HazardSettings | None = None) -> None:
        self.settings = settings if settings is not None else HazardSettings()

    # ------------------------------------------------------------------ fitting
    def fit(self, history: HistoryLike, cache_dir: str | os.PathLike[str] | None = None) -> Self:
        """Fit the hazards to ``history``; reuse a cached posterior with the same fingerprint.

        Raises :class:`ConvergenceError` when the posterior fails a check (R-hat, bulk ESS,
        divergences) unless ``settings.checks.on_failure == "warn"``. The cache key is a
        SHA-256 of the history's fingerprint, the priors and sampler settings, the package
        version and the exposure and placement counts. A posterior that failed its checks is
        cached too, so the failure is reported again without sampling until a setting
        changes. ``SpellDataError`` names a bad row of ``history.spells``.
        """
        self.settings.validate()
        exposure, entry, move = record_counts(
            history.spells,
            history.window_start,
            history.window_end,
            self.settings.priors.record_half_life_years,
        )
        strata = _modelled_strata(exposure)
        index = HazardIndex.for_strata(strata)
        keep = np.isin(FULL_INDEX.pair_labels(), index.pair_labels())
        keep_rows = np.repeat(keep, len(index.age_bands) * len(index.duration_bands))
        exposure = exposure.loc[keep_rows].reset_index(drop=True)
        has_care = any(s == vocab.CARE for s, _ in strata)

        self.index_ = index
        self.exposure_ = exposure
        self.entry_counts_ = entry
        self.move_counts_ = move
        self.fingerprint_ = self._fingerprint(history.fingerprint, exposure, entry, move)

        if cache_dir is None:
            self._sample(exposure, index, entry, move, has_care, cache=None)
        else:
            cache = _cache_paths(cache_dir, self.fingerprint_)
            # One process samples a cache entry at a time: runs started together on the same
            # data (the scenarios of a multirun) wait for it, then read what it wrote.
            with _cache_lock(cache):
                loaded = _load_cache(cache, self.fingerprint_)
                if loaded is not None:
                    self._groups, self.diagnostics_ = loaded
                    self._idata = None
                    self.from_cache_ = True
                else:
                    self._sample(exposure, index, entry, move, has_care, cache=cache)
        self._check_convergence()
        return self

    def _sample(
        self,
        exposure: pd.DataFrame,
        index: HazardIndex,
        entry: pd.DataFrame,
        move: pd.DataFrame,
        has_care: bool,
        cache: tuple[Path, Path] | None,
    ) -> None:
        started = time.perf_counter()
        self._idata, self.diagnostics_ = sample_posterior(
            exposure,
            index,
            entry if has_care else None,
            move if has_care else None,
            self.settings,
        )
        self.diagnostics_["sampling_seconds"] = round(time.perf_counter() - started, 2)
        self._groups = {group: self._idata[group] for group in self._idata.groups()}
        self.from_cache_ = False
        if cache is not None:
            _save_cache(cache, self.fingerprint_, self._groups, self.diagnostics_, self.settings)

    def _fingerprint(
        self, data_fingerprint: str, exposure: pd.DataFrame, entry: pd.DataFrame, move: pd.DataFrame
    ) -> str:
        digest = hashlib.sha256()
        head = {
            "data": str(data_fingerprint),
            "settings": self.settings.fingerprint_payload(),
            "version": __version__,
            "format": _CACHE_FORMAT,
            "prior_form": _PRIOR_FORM,
        }
        digest.update(json.dumps(head, sort_keys=True).encode())
        labels = exposure[["state", "group", "destination", "age_band", "duration_band"]]
        digest.update("\n".join(labels.fillna("").agg("|".join, axis=1)).encode())
        # Whole counts as integers (the keys of unweighted fits hold), weighted ones as floats.
        for values in (
            exposure["exposure_months"].to_numpy(dtype=np.float64),
            _counts(exposure["events"]),
            _counts(entry),
            _counts(move),
        ):
            digest.update(np.ascontiguousarray(values).tobytes())
        return digest.hexdigest()

    def _check_convergence(self) -> None:
        checks, sampler, diag = self.settings.checks, self.settings.sampler, self.diagnostics_
        problems: list[str] = []
        advice: dict[str, str] = {}
        if diag["max_rhat"] > checks.max_rhat:
            problems.append(
                f"max R-hat {diag['max_rhat']:.4f} > {checks.max_rhat} "
                f"(worst: {diag['worst_rhat']})"
            )
            advice["tune"] = f"more tuning (sampler.tune {sampler.tune} -> {2 * sampler.tune})"
        if diag["max_rhat"] > checks.max_rhat or diag["min_ess_bulk"] < checks.min_ess_bulk:
            advice["draws"] = f"more draws (sampler.draws {sampler.draws} -> {2 * sampler.draws})"
        if diag["min_ess_bulk"] < checks.min_ess_bulk:
            problems.append(
                f"min bulk ESS {diag['min_ess_bulk']:.0f} < {checks.min_ess_bulk:.0f} "
                f"(worst: {diag['worst_ess']})"
            )
        if diag["divergences"] > checks.max_divergences:
            problems.append(
                f"{diag['divergences']} divergent transitions (allowed {checks.max_divergences})"
            )
            higher = min(0.99, round(1 - (1 - sampler.target_accept) / 2, 3))
            advice["target_accept"] = (
                f"a higher sampler.target_accept ({sampler.target_accept} -> {higher}) or "
                "narrower priors (priors.sigma_age_scale, priors.sigma_dur_scale)"
            )
        diag["converged"] = not problems
        if not problems:
            return
        message = (
            "transition hazards did not converge: "
            + "; ".join(problems)
            + ". Try "
            + ", ".join(advice.values())
            + ". For an exploratory run only, set checks.on_failure: warn."
        )
        if checks.on_failure == "warn":
            warnings.warn(message, HazardConvergenceWarning, stacklevel=3)
        else:
            raise ConvergenceError(message)

    # ------------------------------------------------------------------ results
    @property
    def posterior_(self) -> Any:
        """The posterior as ArviZ ``InferenceData`` (built on first use: a posterior read
        from the cache is held as plain xarray datasets, so a run need not import ArviZ)."""
        self._require_fit()
        if self._idata is None:
            import arviz as az

            self._idata = az.InferenceData(**self._groups)
        return self._idata

    def _require_fit(self) -> None:
        if "_groups" not in self.__dict__:
            raise NotFittedError("HazardModel is not fitted yet: call fit(history) first")

    def _posterior(self) -> Any:
        """The ``posterior`` group (an xarray ``Dataset``)."""
        self._require_fit()
        return self._groups["posterior"]

    def _log_rates(self, draw_ids: np.ndarray | None = None) -> np.ndarray:
        return log_rates(self._posterior(), draw_ids)

    @property
    def n_draws(self) -> int:
        """Number of posterior draws (chains x draws)."""
        self._require_fit()
        post = self._posterior()
        return int(post.sizes["chain"] * post.sizes["draw"])

    def summary(self, cred: float = 0.9) -> pd.DataFrame:
        """Hazard table: one row per cell with posterior mean, median and central interval.

        Columns: state, group, destination, age_band, duration_band, mean, median, lower,
        upper (monthly rates), exposure (months) and events.
        """
        self._require_fit()
        if not 0 < cred < 1:
            raise ValueError(f"cred must be between 0 and 1, got {cred!r}")
        rates = np.exp(self._log_rates()).reshape(self.n_draws, -1)
        low, med, high = np.quantile(rates, [(1 - cred) / 2, 0.5, (1 + cred) / 2], axis=0)
        table = self.index_.cells()
        table["mean"] = rates.mean(axis=0)
        table["median"] = med
        table["lower"] = low
        table["upper"] = high
        table["exposure"] = self.exposure_["exposure_months"].to_numpy()
        table["events"] = self.exposure_["events"].to_numpy()
        return table

    def placement_summary(self, cred: float = 0.9) -> pd.DataFrame:
        """Placement shares: ``kind`` (entry/move), ``from`` (the age band at entry, or the
        origin group of a move), ``age_band`` (the age band at entry or at the move), ``to``
        group, mean, lower, upper and the observed count."""
        self._require_fit()
        columns = ["kind", "from", "age_band", "to", "mean", "lower", "upper", "count"]
        if "p_entry" not in self._posterior():
            return pd.DataFrame(columns=columns)
        parts = []
        for kind, name, counts in (
            ("entry", "p_entry", self.entry_counts_),
            ("move", "p_move", self.move_counts_),
        ):
            values = self._posterior()[name].to_numpy()
            values = values.reshape(values.shape[0] * values.shape[1], -1)
            low, high = np.quantile(values, [(1 - cred) / 2, (1 + cred) / 2], axis=0)
            frame = counts.stack().rename("count").reset_index()
            if kind == "entry":
                frame.columns = ["from", "to", "count"]
                frame["age_band"] = frame["from"]
            else:
                frame.columns = ["from", "age_band", "to", "count"]
            frame.insert(0, "kind", kind)
            frame["mean"] = values.mean(axis=0)
            frame["lower"] = low
            frame["upper"] = high
            parts.append(frame[columns])
        return pd.concat(parts, ignore_index=True)

    def draw(self, n: int, rng: np.random.Generator) -> HazardDraws:
        """``n`` joint posterior draws (without replacement while ``n`` <= available draws)."""
        self._require_fit()
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n!r}")
        total = self.n_draws
        ids = rng.choice(total, size=n, replace=n > total)
        rates = np.exp(self._log_rates(ids))
        post = self._posterior()
        entry = move = None
        if "p_entry" in post:
            entry = post["p_entry"].to_numpy().reshape(total, *post["p_entry"].shape[2:])[ids]
            move = post["p_move"].to_numpy().reshape(total, *post["p_move"].shape[2:])[ids]
        return HazardDraws(rates=rates, index=self.index_, entry=entry, move=move)

    def draw_hazards(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Posterior draws of the monthly rates, ``(n, pair, age_band, duration_band)``;
        the axes are labelled by ``index_``."""
        return self.draw(n, rng).rates


# ---------------------------------------------------------------------- internals
def _counts(values: pd.Series | pd.DataFrame) -> np.ndarray:
    """Counts as integers when they are whole (unweighted), else as floats."""
    array = values.to_numpy()
    return array.astype(np.int64 if np.issubdtype(array.dtype, np.integer) else np.float64)


def _modelled_strata(exposure: pd.DataFrame) -> list[tuple[str, str | None]]:
    """Non-care strata with exposure, and every placement group once care has exposure."""
    keys = exposure["state"] + "|" + exposure["group"].fillna("")
    months = exposure.groupby(keys, sort=False)["exposure_months"].max()
    strata: list[tuple[str, str | None]] = []
    care_seen = False
    for state, group in ALL_STRATA:
        seen = float(months.get(f"{state}|{group or ''}", 0.0)) > 0
        if state in NON_CARE_STATES and seen:
            strata.append((state, group))
        care_seen |= state == vocab.CARE and seen
    if care_seen:
        strata.extend((vocab.CARE, g) for g in vocab.PLACEMENT_GROUPS)
    if not strata:
        raise SpellDataError(
            "no exposure inside the observation window: the spells table has no "
            "modelled spell (early_help, assessment, cin, cp, care) that overlaps "
            "[window_start, window_end]"
        )
    return strata


def _cache_paths(cache_dir: str | os.PathLike[str], fingerprint: str) -> tuple[Path, Path]:
    folder = Path(cache_dir)
    stem = f"hazards_{fingerprint[:24]}"
    return folder / f"{stem}.npz", folder / f"{stem}.json"


@contextlib.contextmanager
def _cache_lock(paths: tuple[Path, Path]) -> Iterator[None]:
    """Hold the lock file of one cache entry (across processes); say so when waiting."""
    from filelock import FileLock, Timeout

    nc, _ = paths
    nc.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(nc.with_suffix(".lock")))
    try:
        lock.acquire(timeout=1.0)
    except Timeout:
        log.info("Waiting for another run that is calibrating the same data and settings")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


_CACHED_GROUPS = ("posterior", "sample_stats")


def _load_cache(paths: tuple[Path, Path], fingerprint: str) -> tuple[dict[str, Any], dict] | None:
    """The cached posterior's groups (xarray datasets) and diagnostics; None when absent,
    of other data or unreadable."""
    import xarray as xr

    draws, sidecar = paths
    if not (draws.exists() and sidecar.exists()):
        return None
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if meta.get("fingerprint") != fingerprint or meta.get("format") != _CACHE_FORMAT:
        return None
    try:
        with draws.open("rb") as fh, np.load(fh, allow_pickle=False) as arrays:
            groups = {
                group: xr.Dataset(
                    {
                        name: (dims, arrays[f"{group}/{name}"])
                        for name, dims in meta["layout"][group]["dims"].items()
                    },
                    coords=meta["layout"][group]["coords"],
                )
                for group in meta["layout"]
            }
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None  # an entry cut short or from another layout: sampled again
    return groups, dict(meta["diagnostics"])


def _save_cache(
    paths: tuple[Path, Path],
    fingerprint: str,
    groups: Mapping[str, Any],
    diagnostics: dict[str, Any],
    settings: HazardSettings,
) -> None:
    import pymc as pm

    draws, sidecar = paths
    draws.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    layout: dict[str, dict[str, dict[str, list]]] = {}
    for group in _CACHED_GROUPS:
        if group not in groups:
            continue
        data = groups[group]
        layout[group] = {
            "dims": {name: list(var.dims) for name, var in data.data_vars.items()},
            "coords": {name: coord.values.tolist() for name, coord in data.coords.items()},
        }
        arrays.update({f"{group}/{name}": var.values for name, var in data.data_vars.items()})
    tmp = draws.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, draws)
    meta = {
        "fingerprint": fingerprint,
        "format": _CACHE_FORMAT,
        "care_demand_version": __version__,
        "pymc_version": pm.__version__,
        "settings": settings.fingerprint_payload(),
        "diagnostics": {k: v for k, v in diagnostics.items() if k != "converged"},
        "layout": layout,
        "created": pd.Timestamp.now(tz="UTC").isoformat(),
    }
    tmp_json = sidecar.with_suffix(".json.tmp")
    tmp_json.write_text(json.dumps(meta, indent=2, sort_keys=True))
    os.replace(tmp_json, sidecar)
