"""Scenario levers on transition hazards: multiply chosen cells from a date on.

A lever names a stratum (state, and placement group for care), a destination and
optionally some age bands, and multiplies those hazards by ``multiplier`` from the month
containing ``start``, reached linearly over ``ramp_months`` (the same convention as the
arrival levers: with ``ramp_months=4`` the first month gets a quarter of the change, the
fourth and later months all of it). Levers on the same cell multiply.

Example: The Harbour's edge-of-care work as 30% fewer moves from CIN into care for
10-17 year olds from June 2022, reached over 6 months::

    HazardLever(state="cin", destination="care", multiplier=0.7, start="2022-06-01",
                age_bands=("10_15", "16_17"), ramp_months=6)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from care_demand.calibration.hazard_exposure import HazardIndex
from care_demand.errors import ConfigError

__all__ = [
    "EntryPreferenceLever",
    "HazardLever",
    "apply_entry_levers",
    "apply_levers",
    "drawn_lever",
    "lever_factor",
]


@dataclass(frozen=True)
class HazardLever:
    """Multiply the hazards of one transition from a date on.

    Attributes:
        state: the state the hazard leaves (``early_help``, ``assessment``, ``cin``, ``cp``,
            ``care``).
        destination: where the transition leads (see ``hazard_exposure.TRANSITIONS``).
        multiplier: full effect (0.7 = 30% lower hazard); must be >= 0.
        start: first month affected (any date inside it).
        group: for care, the placement group; ``None`` means every group.
        age_bands: age bands affected; empty means all.
        ramp_months: months to reach the full effect, rising linearly (0 = at once).
        name: label used in reports and error messages.
        multiplier_log_sd: uncertainty in the full effect: the simulation draws each
            replicate's multiplier from a log-normal with median ``multiplier`` and this
            standard deviation of its log (0 = known exactly; see :func:`drawn_lever`).
    """

    state: str
    destination: str
    multiplier: float
    start: Any
    group: str | None = None
    age_bands: tuple[str, ...] = ()
    ramp_months: int = 0
    name: str = ""
    multiplier_log_sd: float = 0.0

    def __post_init__(self) -> None:
        label = self.label
        if not np.isfinite(self.multiplier) or self.multiplier < 0:
            raise ConfigError(
                f"hazard lever {label!r}: multiplier must be a finite number "
                f">= 0, got {self.multiplier!r}"
            )
        if self.ramp_months < 0:
            raise ConfigError(
                f"hazard lever {label!r}: ramp_months must be >= 0, got {self.ramp_months!r}"
            )
        if not np.isfinite(self.multiplier_log_sd) or self.multiplier_log_sd < 0:
            raise ConfigError(
                f"hazard lever {label!r}: multiplier_log_sd must be a finite number >= 0, "
                f"got {self.multiplier_log_sd!r}"
            )
        try:
            pd.Timestamp(self.start)
        except (TypeError, ValueError):
            raise ConfigError(
                f"hazard lever {label!r}: start {self.start!r} is not a date"
            ) from None
        object.__setattr__(self, "age_bands", tuple(self.age_bands))

    @property
    def label(self) -> str:
        """The lever's name, or a description of the transition it changes."""
        return self.name or f"{self.state}/{self.group or '*'} -> {self.destination}"


def drawn_lever(lever: HazardLever, z: float) -> HazardLever:
    """The lever with its multiplier drawn: ``multiplier * exp(multiplier_log_sd * z)`` for a
    standard normal ``z`` (the lever itself when it has no uncertainty)."""
    if lever.multiplier_log_sd == 0.0:
        return lever
    drawn = lever.multiplier * float(np.exp(lever.multiplier_log_sd * z))
    return replace(lever, multiplier=drawn, multiplier_log_sd=0.0)


def _month(value: Any) -> tuple[int, int]:
    stamp = pd.Timestamp(value)
    return stamp.year, stamp.month


def lever_factor(lever: HazardLever, date: Any) -> float:
    """The lever's multiplier in the month containing ``date`` (1 before it starts)."""
    (y0, m0), (y1, m1) = _month(lever.start), _month(date)
    elapsed = (y1 - y0) * 12 + (m1 - m0)
    if elapsed < 0:
        return 1.0
    share = 1.0 if lever.ramp_months == 0 else min(1.0, (elapsed + 1) / lever.ramp_months)
    return 1.0 + (lever.multiplier - 1.0) * share


def _cells(lever: HazardLever, index: HazardIndex) -> tuple[np.ndarray, np.ndarray]:
    pairs = np.array(
        [
            s == lever.state
            and d == lever.destination
            and (lever.group is None or g == lever.group)
            for s, g, d in index.pairs
        ]
    )
    if not pairs.any():
        raise ConfigError(
            f"hazard lever {lever.label!r}: no modelled hazard {lever.state}/"
            f"{lever.group or '*'} -> {lever.destination}; modelled transitions are "
            f"{sorted({f'{s} -> {d}' for s, _, d in index.pairs})}"
        )
    unknown = sorted(set(lever.age_bands) - set(index.age_bands))
    if unknown:
        raise ConfigError(
            f"hazard lever {lever.label!r}: unknown age band(s) {unknown}; "
            f"expected some of {list(index.age_bands)}"
        )
    ages = np.array([not lever.age_bands or a in lever.age_bands for a in index.age_bands])
    return pairs, ages


def apply_levers(
    rates: np.ndarray, index: HazardIndex, levers: Sequence[HazardLever], date: Any
) -> np.ndarray:
    """Rates with the levers' effect in the month containing ``date``.

    ``rates`` has shape ``(..., pair, age_band, duration_band)`` labelled by ``index`` (for
    example one posterior draw, or all of them); a new array is returned. Unknown states,
    destinations, groups or age bands raise ``ConfigError`` naming the lever.
    """
    rates = np.asarray(rates, dtype=float)
    if rates.shape[-3:] != index.shape:
        raise ValueError(f"rates end in shape {rates.shape[-3:]}, index needs {index.shape}")
    factor = np.ones(index.shape)
    for lever in levers:
        pairs, ages = _cells(lever, index)
        factor[np.ix_(pairs, ages)] *= lever_factor(lever, date)
    return rates * factor


@dataclass(frozen=True)
class EntryPreferenceLever:
    """Reweight the placement group children enter care in, from a date on.

    The entry shares of ``group`` (for the given age bands, all when empty) are multiplied by
    ``multiplier`` and each age band's shares renormalised to sum to one: a multiplier of 1.5
    on ``kinship_foster`` makes kinship placements half as likely again at entry, taken
    proportionally from the other groups. Ramps like :class:`HazardLever`.
    """

    group: str
    multiplier: float
    start: Any
    age_bands: tuple[str, ...] = ()
    ramp_months: int = 0
    name: str = ""

    def __post_init__(self) -> None:
        label = self.name or f"entry preference {self.group}"
        if not np.isfinite(self.multiplier) or self.multiplier < 0:
            raise ConfigError(
                f"{label!r}: multiplier must be a finite number >= 0, got {self.multiplier!r}"
            )
        if self.ramp_months < 0:
            raise ConfigError(f"{label!r}: ramp_months must be >= 0, got {self.ramp_months!r}")
        object.__setattr__(self, "age_bands", tuple(self.age_bands))


def apply_entry_levers(
    entry: np.ndarray,
    groups: Sequence[str],
    age_bands: Sequence[str],
    levers: Sequence[EntryPreferenceLever],
    date: Any,
) -> np.ndarray:
    """Entry shares ``(..., age_band, group)`` with the levers' effect in ``date``'s month."""
    entry = np.asarray(entry, dtype=float)
    factor = np.ones(entry.shape[-2:])
    for lever in levers:
        if lever.group not in groups:
            raise ConfigError(
                f"entry preference lever: unknown placement group "
                f"{lever.group!r}; expected one of {list(groups)}"
            )
        unknown = sorted(set(lever.age_bands) - set(age_bands))
        if unknown:
            raise ConfigError(f"entry preference lever: unknown age band(s) {unknown}")
        rows = np.array([not lever.age_bands or a in lever.age_bands for a in age_bands])
        step = HazardLever(
            state="care",
            destination="move",
            multiplier=lever.multiplier,
            start=lever.start,
            ramp_months=lever.ramp_months,
        )
        factor[rows, list(groups).index(lever.group)] *= lever_factor(step, date)
    weighted = entry * factor
    totals = weighted.sum(axis=-1, keepdims=True)
    return np.divide(weighted, totals, out=entry.copy(), where=totals > 0)
