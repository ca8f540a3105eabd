"""The level drift of the arrivals the council's own record chooses, with a nested check.

``calibration.arrivals.level_drift_sd`` is how far a council's arrivals may wander from
their forecast in a year for reasons no trend foretells. It sets most of the width of the
intervals of children in care beyond the first months, and councils differ: a council whose
front door changed may see its referrals shift by a fifth within a year, another's entries
to care follow their trend to within the noise of counting. The backtest lets the record
speak to it.

At each cut the arrival trends fitted on the data before the cut are drawn with each drift
of ``backtest.arrival_drift.variants`` (:func:`score_drifts`; the drift acts past the
history only, so one fit serves every variant). Each path's total over the ``months`` after
the cut is drawn as a Poisson count of its intensity, as the flow model draws arrivals, and
the record of each kind is scored by the continuous ranked probability score of those totals
as a percentage of the record (``crps_pct``). CRPS rewards a forecast distribution that is
as narrow as its errors allow and no narrower: too wide and the spread term costs, too
narrow and the misses do.

The choice, its nested check and what a run on the record known at a cut would use are the
arrival trend's (:mod:`.arrival_variants`), with CRPS in place of the absolute % error of the
median.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from care_demand.backtest.arrival_variants import variant_record, variant_totals
from care_demand.backtest.metrics import crps
from care_demand.calibration.arrivals import ArrivalModel

__all__ = ["SCORE", "drift_record", "score_drifts"]

# What a drift is chosen by: the CRPS of the arrivals' total, as a % of the record.
SCORE = "crps_pct"


def score_drifts(
    model: ArrivalModel,
    start: pd.Timestamp,
    recorded: Mapping[str, float],
    variants: Mapping[str, float],
    *,
    months: int,
    paths: int,
    seed: int,
    suppress_max: int,
) -> pd.DataFrame:
    """Each drift's forecast distribution of each kind's arrivals over ``months`` from
    ``start``, scored against the record.

    ``model`` is fitted on the data before the cut (its trend damping as the cut forecasts
    with); ``recorded`` holds each kind's recorded arrivals over those months (a kind not in
    it: none). Rows: ``variant``, ``level_drift_sd``, ``kind``, ``forecast`` (median of the
    totals), ``lower_80``, ``upper_80``, ``recorded``, ``crps_pct`` and ``scored`` (false
    when the record is 0 to ``suppress_max``: a handful of arrivals is not scored, and the
    published table withholds it).
    """
    rows = []
    drawn = variant_totals(
        model,
        start,
        recorded,
        variants,
        "level_drift_sd",
        months=months,
        paths=paths,
        seed=seed,
        suppress_max=suppress_max,
    )
    for name, drift, kinds in drawn:
        rng = np.random.default_rng(seed)  # the same Poisson draws for every variant
        for one in kinds:
            totals = rng.poisson(one.totals).astype(float)
            lower, upper = np.quantile(totals, [0.1, 0.9])
            score = 100.0 * crps(totals, one.recorded) / one.recorded if one.scored else np.nan
            rows.append(
                {
                    "variant": name,
                    "level_drift_sd": drift,
                    "kind": one.kind,
                    "forecast": float(np.median(totals)),
                    "lower_80": float(lower),
                    "upper_80": float(upper),
                    "recorded": one.recorded,
                    SCORE: score,
                    "scored": one.scored,
                }
            )
    return pd.DataFrame(rows)


def drift_record(
    scores: pd.DataFrame, variants: Mapping[str, float], shipped: str, months: int
) -> dict[str, object]:
    """The chosen drift and its nested check as plain data (``backtest/arrival_drift.json``):
    ``chosen``, ``level_drift_sd``, ``shipped``, ``months``, ``cuts``, each variant's
    ``mean_crps_pct``, the ``nested`` rows and their means (``nested_chosen_error``,
    ``nested_shipped_error``: CRPS in % of the record)."""
    return variant_record(scores, variants, shipped, months, "level_drift_sd", SCORE)
