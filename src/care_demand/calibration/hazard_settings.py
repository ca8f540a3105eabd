"""Settings of the transition-hazard model (schema of ``configs/calibration/default.yaml``).

Three groups: the priors, the NUTS sampler and the convergence checks. The priors and the
sampler change the posterior, so they enter the cache fingerprint; the checks only decide
whether a posterior may be used, so changing them re-checks a cached fit without sampling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from care_demand.errors import ConfigError

__all__ = ["ConvergenceChecks", "HazardPriors", "HazardSettings", "SamplerSettings"]


@dataclass
class HazardPriors:
    """Priors of the piecewise-exponential hazard model and the placement shares.

    ``log rate[pair, age, duration] = alpha[pair] + beta_age[pair, age] + gamma_dur[pair, dur]``
    with zero-sum age and duration effects (see :mod:`care_demand.calibration.hazards`).
    """

    # alpha ~ Normal(log crude pooled rate, alpha_sd): a factor of e^2 (about 7) either way.
    alpha_sd: float = 2.0
    # The crude pooled rate is (events + crude_events) / (exposure months + crude_months),
    # care pooled over placement groups; a pair with no data starts from 0.5 events a year.
    crude_events: float = 0.5
    crude_months: float = 12.0
    # sd of a pair's age effects = sigma_floor + HalfNormal(sigma_age_scale); 1.5 lets an age
    # band's rate differ by a factor of 20 or more from the pair's level (adoption by age).
    sigma_age_scale: float = 1.5
    # Likewise for the duration effects.
    sigma_dur_scale: float = 1.0
    # Bands differ by at least this (log scale) a priori: 0.05 is below what a council's data
    # can detect, and keeps the sampler out of the funnel at a scale of zero.
    sigma_floor: float = 0.05
    # Care pairs are partially pooled over the placement groups with the same destination (a
    # return home from each group, a move from each...): a group with a dozen events of a kind
    # borrows from the others instead of resting on those few, by as much as the groups' own
    # data say they differ ([Gelman et al., Bayesian Data Analysis], ch. 5). Levels: sd of the
    # groups' levels = sigma_floor + HalfNormal(group_sd_scale); 1.0 lets groups differ by a
    # factor of e (2.7) typically, more when their data say so. Age and duration effects: a
    # pattern shared by the destination's groups plus each group's deviation, whose sd is
    # sigma_floor + HalfNormal(group_band_share x sigma_age_scale) (likewise duration), shared
    # by the groups. False: every pair on its own.
    pool_groups: bool = True
    group_sd_scale: float = 1.0
    group_band_share: float = 0.5
    # Sampler geometry only, not the model: the typical size of a band effect, which sets
    # how far each effect is parametrised centred (data-rich) or non-centred (data-poor).
    typical_effect: float = 0.3
    # A pair with no event at all gets one rate (no age or duration pattern) with prior
    # Gamma(unobserved_shape, unobserved_shape / crude pooled rate); 0.5 as in Jeffreys' prior.
    unobserved_shape: float = 0.5
    # Placement shares (entry group by age band, move destination by origin group):
    # Dirichlet(placement_floor + placement_strength x pooled share at the row's age band: of
    # every placement started there, entries and moves, for the entry shares; of every move
    # there, from any origin, for the move shares).
    placement_strength: float = 5.0
    placement_floor: float = 0.01
    # The earlier years as a prior for the recent ones (a power prior, [Ibrahim and Chen
    # 2000]): each year of the record counts 0.5 ** (years before the record's last year /
    # record_half_life_years) as much as the last, in exposure, events and placement counts.
    # None: every year counts in full (:func:`~.hazard_exposure.record_counts`).
    record_half_life_years: float | None = None


@dataclass
class SamplerSettings:
    """NUTS settings passed to ``pymc.sample``.

    The defaults are the shipped ``configs/calibration/default.yaml`` (``hazards.sampler``),
    where each is sourced, so a fit from Python and a run from the command line agree.
    """

    draws: int = 1500
    tune: int = 500
    chains: int = 2
    cores: int = 2
    target_accept: float = 0.975
    random_seed: int = 20220131
    # "pymc": PyMC's own NUTS; "nutpie": nutpie's Rust NUTS on a Numba-compiled model (chains
    # in threads). The two give different draws, so the backend is part of the cache key.
    backend: str = "nutpie"
    # Display only; not part of the cache fingerprint (off here: a progress bar is for a
    # person at a terminal, as the command line's config turns it on).
    progressbar: bool = False


@dataclass
class ConvergenceChecks:
    """When a posterior is fit for use (Vehtari et al. 2021, "Rank-normalization ...")."""

    max_rhat: float = 1.01
    min_ess_bulk: float = 400.0
    max_divergences: int = 0
    # "raise": a failed check raises ConvergenceError; "warn": a warning, for exploration only.
    on_failure: str = "raise"


@dataclass
class HazardSettings:
    """All settings of :class:`~care_demand.calibration.hazards.HazardModel`."""

    priors: HazardPriors = field(default_factory=HazardPriors)
    sampler: SamplerSettings = field(default_factory=SamplerSettings)
    checks: ConvergenceChecks = field(default_factory=ConvergenceChecks)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> HazardSettings:
        """Build settings from a nested mapping (for example a loaded YAML file).

        Missing keys keep their defaults; an unknown key raises ``ConfigError`` naming it.
        """
        data = dict(data or {})
        parts: dict[str, Any] = {}
        for f in fields(cls):
            schema = {
                "priors": HazardPriors,
                "sampler": SamplerSettings,
                "checks": ConvergenceChecks,
            }[f.name]
            given = dict(data.pop(f.name, None) or {})
            known = {g.name for g in fields(schema)}
            unknown = sorted(set(given) - known)
            if unknown:
                raise ConfigError(
                    f"hazard settings: unknown key(s) {unknown} in '{f.name}'; "
                    f"expected some of {sorted(known)}"
                )
            parts[f.name] = schema(**given)
        if data:
            raise ConfigError(
                f"hazard settings: unknown section(s) {sorted(data)}; "
                "expected 'priors', 'sampler', 'checks'"
            )
        settings = cls(**parts)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the first setting outside its allowed range."""
        positive = {
            "priors.alpha_sd": self.priors.alpha_sd,
            "priors.crude_events": self.priors.crude_events,
            "priors.crude_months": self.priors.crude_months,
            "priors.sigma_age_scale": self.priors.sigma_age_scale,
            "priors.sigma_dur_scale": self.priors.sigma_dur_scale,
            "priors.sigma_floor": self.priors.sigma_floor,
            "priors.group_sd_scale": self.priors.group_sd_scale,
            "priors.group_band_share": self.priors.group_band_share,
            "priors.typical_effect": self.priors.typical_effect,
            "priors.placement_floor": self.priors.placement_floor,
            "priors.unobserved_shape": self.priors.unobserved_shape,
            "sampler.draws": self.sampler.draws,
            "sampler.chains": self.sampler.chains,
            "sampler.cores": self.sampler.cores,
            "checks.max_rhat": self.checks.max_rhat,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ConfigError(f"hazard settings: {name} must be > 0, got {value!r}")
        half_life = self.priors.record_half_life_years
        if half_life is not None and not (
            isinstance(half_life, int | float) and not isinstance(half_life, bool) and half_life > 0
        ):
            raise ConfigError(
                "hazard settings: priors.record_half_life_years must be null or a number of "
                f"years > 0, got {half_life!r}"
            )
        if self.priors.placement_strength < 0:
            raise ConfigError(
                "hazard settings: priors.placement_strength must be >= 0, "
                f"got {self.priors.placement_strength!r}"
            )
        if not isinstance(self.priors.pool_groups, bool):
            raise ConfigError(
                "hazard settings: priors.pool_groups must be true or false, "
                f"got {self.priors.pool_groups!r}"
            )
        if self.sampler.tune < 0:
            raise ConfigError(
                f"hazard settings: sampler.tune must be >= 0, got {self.sampler.tune!r}"
            )
        if not 0.5 <= self.sampler.target_accept < 1:
            raise ConfigError(
                "hazard settings: sampler.target_accept must be in [0.5, 1), got "
                f"{self.sampler.target_accept!r}"
            )
        if self.sampler.backend not in ("pymc", "nutpie"):
            raise ConfigError(
                "hazard settings: sampler.backend must be 'pymc' or 'nutpie', "
                f"got {self.sampler.backend!r}"
            )
        if self.checks.on_failure not in ("raise", "warn"):
            raise ConfigError(
                "hazard settings: checks.on_failure must be 'raise' or 'warn', "
                f"got {self.checks.on_failure!r}"
            )

    def fingerprint_payload(self) -> dict[str, Any]:
        """The settings that change the posterior (priors and sampler, not display/checks)."""
        sampler = asdict(self.sampler)
        sampler.pop("progressbar")
        if sampler["backend"] == "pymc":  # keys of fits from before the choice of backend hold
            sampler.pop("backend")
        priors = asdict(self.priors)
        if not priors["pool_groups"]:  # keys of fits from before the pooling hold
            priors.pop("pool_groups")
            priors.pop("group_sd_scale")
            priors.pop("group_band_share")
        if priors["record_half_life_years"] is None:  # keys of unweighted fits hold
            priors.pop("record_half_life_years")
        return {"priors": priors, "sampler": sampler}
