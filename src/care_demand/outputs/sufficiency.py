"""Sufficiency by quarter: children needing each kind of placement against in-house places.

For each quarter end and in-house group (in-house fostering, paired with independent
fostering agencies; in-house children's homes, paired with external residential care) the
commissioner's questions, each answered per simulated future and then summarised across
futures (median, P10, P90, whole children):

- ``children_needing``: children placed in that kind of placement, in-house or external;
- ``places_available``: in-house places at the quarter end;
- ``placed_inhouse``: children in those places;
- ``placed_externally_for_want_of_place``: children placed externally because no in-house
  place was free (the shortfall the flow model records);
- ``placed_externally_by_preference_or_need``: the other external placements (a match, a
  specialist need, a sibling group, a child already settled there): not a gap in places;
- ``places_needed_for_target``: in-house places to add so that the in-house share of the
  children needing that kind of placement reaches the target share
  (``max(0, ceil(target x children_needing) - places_available)``).

Each figure is computed within a replicate before the quantiles are taken, so the median
of ``children_needing`` is the median of the replicates' totals, not the sum of two medians.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from care_demand import vocab

__all__ = [
    "SUFFICIENCY_MEASURES",
    "places_needed",
    "sufficiency_by_replicate",
    "sufficiency_table",
    "whole_quantiles",
]

# The measures of the table, in order, with their plain names (report, workbook, chart).
SUFFICIENCY_MEASURES: dict[str, str] = {
    "children_needing": "Children needing this kind of placement",
    "places_available": "In-house places available",
    "placed_inhouse": "Placed in-house",
    "placed_externally_for_want_of_place": "Placed externally for want of an in-house place",
    "placed_externally_by_preference_or_need": "Placed externally by preference or need",
    "places_needed_for_target": "In-house places needed for the target share",
}
_QUARTER_END_MONTHS = (3, 6, 9, 12)
# The share of a whole child below which a product is taken as exact (0.7 x 10 = 7.000...1).
_EPS = 1e-9


def places_needed(children_needing: float, places_available: float, target_share: float) -> int:
    """In-house places to add so that ``target_share`` of the children needing a placement
    could be placed in-house: ``max(0, ceil(target x needing) - places)``."""
    wanted = math.ceil(target_share * children_needing - _EPS)
    return max(0, int(wanted - round(places_available)))


def sufficiency_by_replicate(
    replicates: pd.DataFrame,
    target_shares: Mapping[str, float],
    frequency: str = "quarter",
) -> pd.DataFrame:
    """The sufficiency measures of every replicate at each quarter end and in-house group.

    ``replicates``: the simulation's replicate table
    (:func:`care_demand.simulation.replicate_table`: ``replicate``, ``month``, ``measure``,
    ``category``, ``age_band``, ``value``). ``target_shares``: the target in-house share per
    in-house group (a group left out gets no places needed). ``frequency``: ``quarter``
    (quarter ends) or ``month`` (every month end).

    Columns ``replicate``, ``month``, ``inhouse_group``, ``external_group``,
    ``target_share`` and one per measure of :data:`SUFFICIENCY_MEASURES`.
    """
    months = {"quarter": _QUARTER_END_MONTHS, "month": tuple(range(1, 13))}
    if frequency not in months:
        raise ValueError(f"frequency={frequency!r}: expected one of {sorted(months)}")
    groups = [*vocab.EXTERNAL_EQUIVALENT, *vocab.EXTERNAL_EQUIVALENT.values()]
    keep = (
        (replicates["age_band"] == "all")
        & replicates["measure"].isin(["children", "capacity", "shortfall"])
        & replicates["category"].isin(groups)
    )
    rep = replicates.loc[keep, ["replicate", "month", "measure", "category", "value"]]
    rep = rep.assign(
        month=pd.to_datetime(rep["month"]),
        measure=rep["measure"].astype(str),
        category=rep["category"].astype(str),
    )
    rep = rep[rep["month"].dt.month.isin(months[frequency])]
    wide = rep.pivot_table(
        index=["replicate", "month"],
        columns=["measure", "category"],
        values="value",
        aggfunc="sum",
        observed=True,
    )
    parts = []
    for inhouse, external in vocab.EXTERNAL_EQUIVALENT.items():

        def column(measure: str, category: str) -> np.ndarray:
            key = (measure, category)
            if key in wide.columns:
                return wide[key].fillna(0.0).to_numpy(dtype=float)
            return np.zeros(len(wide))

        placed = column("children", inhouse)
        external_all = column("children", external)
        shortfall = column("shortfall", inhouse)
        places = column("capacity", inhouse)
        needing = placed + external_all
        target = target_shares.get(inhouse)
        needed = (
            np.array(
                [places_needed(n, p, float(target)) for n, p in zip(needing, places, strict=True)]
            )
            if target is not None
            else np.zeros(len(wide))
        )
        parts.append(
            pd.DataFrame(
                {
                    "replicate": wide.index.get_level_values("replicate"),
                    "month": wide.index.get_level_values("month"),
                    "inhouse_group": inhouse,
                    "external_group": external,
                    "target_share": np.nan if target is None else float(target),
                    "children_needing": needing,
                    "places_available": places,
                    "placed_inhouse": placed,
                    "placed_externally_for_want_of_place": shortfall,
                    "placed_externally_by_preference_or_need": np.maximum(
                        external_all - shortfall, 0.0
                    ),
                    "places_needed_for_target": needed,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def whole_quantiles(values: pd.Series | np.ndarray) -> tuple[int, int, int]:
    """Median, P10 and P90 of per-replicate counts, each rounded to a whole child
    (halves up)."""
    v = np.asarray(values, dtype=float)
    p50, p10, p90 = np.quantile(v, [0.5, 0.1, 0.9])
    return tuple(math.floor(x + 0.5) for x in (p50, p10, p90))  # type: ignore[return-value]


def sufficiency_table(
    replicates: pd.DataFrame,
    target_shares: Mapping[str, float],
    frequency: str = "quarter",
) -> pd.DataFrame:
    """The quarterly sufficiency table (``finance/sufficiency_by_quarter.csv``).

    One row per quarter end (``quarter_end``) and in-house group (``inhouse_group``, with
    ``external_group`` and ``target_share``); for each measure of
    :data:`SUFFICIENCY_MEASURES` its ``_median``, ``_p10`` and ``_p90`` across replicates,
    in whole children (see :func:`sufficiency_by_replicate` for the arguments).
    """
    per = sufficiency_by_replicate(replicates, target_shares, frequency)
    rows = []
    keys = ["month", "inhouse_group", "external_group"]
    order = {g: i for i, g in enumerate(vocab.EXTERNAL_EQUIVALENT)}
    for (month, inhouse, external), group in per.groupby(keys, sort=False):
        row: dict[str, object] = {
            "quarter_end": pd.Timestamp(month).date(),
            "inhouse_group": inhouse,
            "external_group": external,
            "target_share": group["target_share"].iloc[0],
        }
        for measure in SUFFICIENCY_MEASURES:
            p50, p10, p90 = whole_quantiles(group[measure])
            row |= {f"{measure}_median": p50, f"{measure}_p10": p10, f"{measure}_p90": p90}
        rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out = out.assign(_g=out["inhouse_group"].map(order)).sort_values(["_g", "quarter_end"])
    return out.drop(columns="_g").reset_index(drop=True)
