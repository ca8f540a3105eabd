"""A region's roll-up: the councils' per-replicate counts and costs summed, and each share.

Every council of a region runs with the same seed and the same number of futures, so
replicate ``r`` of the region is the sum of replicate ``r`` of each council: the regional
interval is the interval of the sum (not the sum of the councils' intervals, which would
overstate it). The tables summed are the per-replicate tables a run already produces (the
key measures, the costs by line and financial year and the quarterly sufficiency); only
counts and money reach this module, never a child's record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
    """Mean, P10, P50 and P90 across replicates of each value, for each row of ``keys``."""
    rows = []
    for key, group in per_replicate.groupby(list(keys), sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        for value in values:
            series = group[value].astype(float)
            row = dict(zip(keys, key, strict=True))
            if len(values) > 1:
                row["measure"] = value
            row |= {
                "mean": series.mean(),
                "p10": series.quantile(0.10),
                "p50": series.quantile(0.50),
                "p90": series.quantile(0.90),
                "replicates": int(series.size),
            }
            rows.append(row)
    return pd.DataFrame(rows)


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
