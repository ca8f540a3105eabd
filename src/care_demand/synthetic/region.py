"""A synthetic region: several invented councils of different sizes and trends.

Each council is the built-in example's ground truth with its arrival rates scaled (the
council's size) and their trend tilted (growing or shrinking demand), simulated with its own
seed and written as a council folder, so a region's folder is a folder of council folders
(``care-demand region.path=DIR``). For tests and benchmarks; every child is invented.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from care_demand.synthetic.generate import generate
from care_demand.synthetic.truth import GroundTruth, load_ground_truth

__all__ = ["SyntheticCouncilSpec", "region_specs", "scaled_truth", "write_region"]


@dataclass(frozen=True)
class SyntheticCouncilSpec:
    """One invented council: its name, size (x the example's arrivals) and trend per year."""

    name: str
    size: float
    trend_per_year: float
    seed: int


def region_specs(
    councils: int = 4, scale: float = 1.0, seed: int = 20240401
) -> list[SyntheticCouncilSpec]:
    """``councils`` councils of sizes from ``0.6 x scale`` to ``1.4 x scale`` of the example
    and arrival trends from -4% to +6% a year, each with its own seed."""
    if councils < 1:
        raise ValueError(f"councils is {councils}; expected at least 1")
    sizes = np.linspace(0.6, 1.4, councils) if councils > 1 else np.ones(1)
    trends = np.linspace(-0.04, 0.06, councils) if councils > 1 else np.zeros(1)
    order = np.random.default_rng(seed).permutation(councils)  # sizes and trends unrelated
    return [
        SyntheticCouncilSpec(
            name=f"council_{i + 1:02d}",
            size=float(sizes[i] * scale),
            trend_per_year=float(trends[order[i]]),
            seed=seed + 1000 * (i + 1),
        )
        for i in range(councils)
    ]


def scaled_truth(truth: GroundTruth, size: float, trend_per_year: float) -> GroundTruth:
    """The ground truth with every arrival rate x ``size`` and its trend tilted by
    ``trend_per_year`` (compounded from the first collection year)."""
    if size <= 0:
        raise ValueError(f"size is {size}; expected more than 0")
    origin = float(truth.collection_years[0])
    arrivals = {}
    for kind, spec in truth._arrivals.items():
        knots = np.array(spec["trend"], dtype=float, copy=True)
        knots[:, 1] = knots[:, 1] * (1.0 + trend_per_year) ** (knots[:, 0] - origin)
        arrivals[kind] = {**spec, "base": spec["base"] * size, "trend": knots}
    return dataclasses.replace(truth, _arrivals=arrivals)


def write_region(
    out_dir: str | Path, councils: int = 4, scale: float = 1.0, seed: int = 20240401
) -> list[Path]:
    """Write a synthetic region: one council folder per council under ``out_dir``.

    Returns the council folders, in order.
    """
    root = Path(out_dir)
    truth = load_ground_truth()
    folders = []
    for spec in region_specs(councils, scale, seed):
        council = generate(
            seed=spec.seed, truth=scaled_truth(truth, spec.size, spec.trend_per_year)
        )
        folder = root / spec.name
        council.write(folder)
        folders.append(folder)
    return folders
