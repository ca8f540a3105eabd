"""A region's roll-up: the councils' per-replicate counts and costs summed, and each share.

Every council of a region runs with the same seed and the same number of futures, so
replicate ``r`` of the region is the sum of replicate ``r`` of each council: the regional
interval is the interval of the sum (not the sum of the councils' intervals, which would
overstate it). The tables summed are the per-replicate tables a run already produces (the
key measures, the costs by line and financial year and the quarterly sufficiency); only
counts and money reach this module, never a child's record.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "COST_KEYS",
    "MEASURE_KEYS",
    "SUFFICIENCY_KEYS",
    "CouncilTables",
    "council_shares",
    "sum_over_councils",
    "summarise",
]

# The columns that identify a row of each per-replicate table (besides ``replicate``).
MEASURE_KEYS: tuple[str, ...] = ("month", "measure")
COST_KEYS: tuple[str, ...] = ("financial_year", "kind", "line", "complete")
SUFFICIENCY_KEYS: tuple[str, ...] = ("month", "inhouse_group", "external_group")
# The quantiles a summary gives (P10, P50, P90).
QUANTILES = np.array([0.10, 0.50, 0.90])


@dataclass(frozen=True)
class CouncilTables:
    """What one council's run of one scenario sends back: per-replicate counts and costs.

    ``key_measures``: ``replicate, month, measure, value``; ``costs``: ``replicate,
    financial_year, kind, line, complete, value``; ``sufficiency``: ``replicate, month,
    inhouse_group, external_group`` and one column per sufficiency measure.
    """

    key_measures: pd.DataFrame
    costs: pd.DataFrame
    sufficiency: pd.DataFrame


def sum_over_councils(
    tables: Mapping[str, pd.DataFrame], keys: Sequence[str], values: Sequence[str] = ("value",)
) -> pd.DataFrame:
    """Sum ``values`` over councils, replicate by replicate, for each row of ``keys``.

    Every council must have the same replicates (the same futures): a replicate missing from
    one council would make the regional figure a sum over fewer councils, so it raises.
    """
    if not tables:
        raise ValueError("no council to sum")
    replicates = {name: frozenset(t["replicate"].unique()) for name, t in tables.items()}
    first = next(iter(replicates.values()))
    differ = sorted(name for name, reps in replicates.items() if reps != first)
    if differ:
        raise ValueError(f"councils {differ} have other replicates than the rest")
    group = ["replicate", *keys]
    frame = pd.concat([t.loc[:, [*group, *values]] for t in tables.values()], ignore_index=True)
    out = frame.groupby(group, as_index=False, sort=True, dropna=False)[list(values)].sum()
    out["councils"] = len(tables)
    return out


def summarise(
    per_replicate: pd.DataFrame, keys: Sequence[str], values: Sequence[str] = ("value",)
) -> pd.DataFrame:
    """Mean, P10, P50 and P90 across replicates of each value, for each row of ``keys``.

    One row per row of ``keys`` (in order) and value; a ``measure`` column names the value
    when there are several.
    """
    keys = list(keys)
    grouped = per_replicate.groupby(keys, sort=True, dropna=False)
    sizes = grouped.size()
    index = sizes.index.to_frame(index=False)  # the groups, in order
    order = np.argsort(grouped.ngroup().to_numpy(), kind="stable")
    bounds = np.cumsum(sizes.to_numpy())[:-1]
    parts = []
    for rank, value in enumerate(values):
        each = np.split(per_replicate[value].to_numpy(dtype=float)[order], bounds)
        with warnings.catch_warnings():  # a group of missing values has missing quantiles
            warnings.simplefilter("ignore", RuntimeWarning)
            # As Series.quantile computes them (linear, missing values left out).
            quantiles = np.array([np.nanpercentile(v, QUANTILES * 100) for v in each])
            means = np.array([np.nanmean(v) for v in each])
        stats = index.copy()
        if len(values) > 1:
            stats["measure"] = value
        stats["mean"] = means
        stats["p10"], stats["p50"], stats["p90"] = quantiles.T
        stats["replicates"] = [v.size for v in each]
        parts.append(stats.assign(_group=range(len(stats)), _value=rank))
    out = pd.concat(parts, ignore_index=True).sort_values(["_group", "_value"], kind="stable")
    return out.drop(columns=["_group", "_value"]).reset_index(drop=True)


def council_shares(
    tables: Mapping[str, pd.DataFrame], keys: Sequence[str], value: str = "value"
) -> pd.DataFrame:
    """Each council's share of the regional mean, for each row of ``keys``.

    Columns ``council``, the keys, ``council_mean``, ``region_mean`` and ``share`` (0-1;
    empty where the region's mean is 0).
    """
    means = pd.concat(
        [
            t.groupby(list(keys), as_index=False, dropna=False)[value].mean().assign(council=name)
            for name, t in tables.items()
        ],
        ignore_index=True,
    ).rename(columns={value: "council_mean"})
    region = means.groupby(list(keys), as_index=False, dropna=False)["council_mean"].sum()
    out = means.merge(region.rename(columns={"council_mean": "region_mean"}), on=list(keys))
    out["share"] = out["council_mean"] / out["region_mean"].where(out["region_mean"] != 0)
    return out.loc[:, ["council", *keys, "council_mean", "region_mean", "share"]].sort_values(
        [*keys, "council"], ignore_index=True
    )
