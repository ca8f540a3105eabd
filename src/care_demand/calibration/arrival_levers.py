"""Scenario levers on arrivals: multiply a kind's sample paths, or set it to a fixed level.

An :class:`ArrivalLever` multiplies one kind's arrivals from the month containing ``start``,
reached linearly over ``ramp_months`` (with ``ramp_months=4`` the first month gets a quarter
of the change, the fourth and later months all of it); levers on one kind multiply. An
:class:`ArrivalLevel` replaces one kind's expected arrivals per month from a month on (a
UASC quota under the National Transfer Scheme). Both act on sample paths with dims
``path``, ``month``, ``kind`` (:meth:`care_demand.calibration.arrivals.ArrivalModel.sample_paths`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from care_demand.calibration.arrival_settings import month_start

__all__ = [
    "ArrivalLevel",
    "ArrivalLever",
    "apply_levels",
    "apply_levers",
    "lever_multipliers",
]


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


def lever_multipliers(
    levers: Sequence[ArrivalLever], months: Sequence[Any], kinds: Sequence[str]
) -> np.ndarray:
    """Multipliers ``[month, kind]`` from scenario levers (levers on one kind multiply)."""
    index = pd.DatetimeIndex([month_start(m) for m in months])
    kinds = list(kinds)
    out = np.ones((len(index), len(kinds)))
    for lever in levers:
        if lever.kind not in kinds:
            raise ValueError(
                f"lever {lever.name or lever.kind!r}: kind {lever.kind!r} is not modelled "
                f"(modelled: {kinds})"
            )
        begin = month_start(lever.start)
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
    index = pd.DatetimeIndex([month_start(m) for m in paths["month"].values])
    values = paths.transpose("path", "month", "kind").to_numpy().copy()
    for level in sorted(levels, key=lambda lv: month_start(lv.start)):
        if level.kind not in kinds:
            raise ValueError(
                f"level {level.name or level.kind!r}: kind {level.kind!r} is not modelled "
                f"(modelled: {kinds})"
            )
        values[:, index >= month_start(level.start), kinds.index(level.kind)] = float(
            level.per_month
        )
    out = paths.transpose("path", "month", "kind").copy(data=values)
    return out.transpose(*paths.dims).rename(paths.name)
