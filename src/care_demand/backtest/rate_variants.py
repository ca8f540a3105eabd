"""The period the transition rates are fitted on, chosen by the council's own record.

At each cut the backtest fits the rates on the data before it in up to three ways: on the
whole record (``whole``); on its last ``backtest.rate_variants.recent_months`` only
(``recent``: a reference period, :mod:`care_demand.calibration.reference`); and on the whole
record with each year counted less the older it is (``weighted``: the earlier years as a
power prior, half as much every ``half_life_years``), for a council whose practice changed.
Each fit is scored on what the rates alone decide: given the children actually in
each state, age and time in state over the ``months`` after the cut (their recorded
exposure), the transitions the posterior mean rates expect, against those recorded, summed
per transition (a state and where its children went: a return home, an adoption, a move of
placement...). Arrivals do not enter this score, so it tells the rates apart from the trend.
The choice rests on all transitions together (``all transitions``): each transition's
absolute error summed, as a percentage of the transitions recorded, so a transition counts
by the children it moves, and the Poisson noise of a transition seen a dozen times a year
cannot outweigh the one that moves a hundred.

The choice and its out-of-sample check reuse the arrival trend's
(:mod:`.arrival_variants`): the variant with the lower mean absolute % error over the
scored transitions of every cut, and, at each cut, the variant chosen on the earlier cuts
scored on that cut (``backtest/rate_variant.json``; docs/backtest.md, "The period the
rates are fitted on").
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from care_demand.backtest.arrival_variants import choice_record, variant_before
from care_demand.calibration.hazard_exposure import compute_exposure
from care_demand.calibration.hazards import HazardModel, HistoryLike
from care_demand.calibration.reference import RECENT, WEIGHTED, WHOLE

__all__ = [
    "ALL_TRANSITIONS",
    "RECENT",
    "WEIGHTED",
    "WHOLE",
    "period_before",
    "rate_record",
    "score_rates",
]

# The row of each variant and cut that sums its scored transitions: what the choice rests on.
ALL_TRANSITIONS = "all transitions"

_KEYS = ["state", "group", "destination", "age_band", "duration_band"]


def _keyed(table: pd.DataFrame) -> pd.DataFrame:
    table = table.copy()
    table["group"] = table["group"].astype("string").fillna("")
    return table


def score_rates(
    models: Mapping[str, HazardModel],
    history: HistoryLike,
    cut: pd.Timestamp,
    *,
    months: int,
    suppress_max: int,
) -> pd.DataFrame:
    """Each fitted variant's expected transitions over ``months`` after ``cut`` against the
    record, given the recorded exposure of ``history`` (the whole record) in those months.

    Rows: ``variant``, ``kind`` (``state -> destination``), ``forecast`` (expected
    transitions), ``recorded``, ``pct_error``, ``abs_pct_error`` and ``scored`` (false when
    the record is 0 to ``suppress_max``: a percentage of a handful says little); and per
    variant one row of kind :data:`ALL_TRANSITIONS` over the scored transitions: their sums,
    the net ``pct_error`` and, as ``abs_pct_error``, the sum of their absolute errors as a
    percentage of the sum recorded.
    """
    end = pd.Timestamp(cut) + pd.offsets.MonthEnd(months)
    after = _keyed(compute_exposure(history.spells, pd.Timestamp(cut), end))
    rows = []
    for name, model in models.items():
        rates = _keyed(model.summary())[[*_KEYS, "mean"]]
        cells = after.merge(rates, on=_KEYS, how="inner", validate="one_to_one")
        cells["forecast"] = cells["mean"] * cells["exposure_months"]
        per = cells.groupby(["state", "destination"], sort=True)[["forecast", "events"]].sum()
        for (state, destination), row in per.iterrows():
            actual = float(row["events"])
            scored = actual > suppress_max
            error = 100.0 * (float(row["forecast"]) - actual) / actual if scored else float("nan")
            rows.append(
                {
                    "variant": name,
                    "kind": f"{state} -> {destination}",
                    "forecast": float(row["forecast"]),
                    "recorded": actual,
                    "pct_error": error,
                    "abs_pct_error": abs(error),
                    "scored": scored,
                }
            )
    columns = ["variant", "kind", "forecast", "recorded", "pct_error", "abs_pct_error", "scored"]
    table = pd.DataFrame(rows, columns=columns)
    # Only the transitions every variant models are compared.
    common = table.groupby("kind")["variant"].nunique() == len(models)
    table = table[table["kind"].isin(common[common].index)].reset_index(drop=True)
    scored = table[table["scored"]]
    overall = []
    for name, part in scored.groupby("variant", sort=False):
        recorded = float(part["recorded"].sum())
        miss = float((part["forecast"] - part["recorded"]).abs().sum())
        overall.append(
            {
                "variant": name,
                "kind": ALL_TRANSITIONS,
                "forecast": float(part["forecast"].sum()),
                "recorded": recorded,
                "pct_error": 100.0 * (float(part["forecast"].sum()) - recorded) / recorded,
                "abs_pct_error": 100.0 * miss / recorded,
                "scored": True,
            }
        )
    return pd.concat([table, pd.DataFrame(overall, columns=columns)], ignore_index=True)


def _overall(scores: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The rows the choice rests on (all transitions together, per variant and cut) of the
    variants scored at every cut, and the variants left out: scored at some cuts only, their
    fit having failed the convergence checks at another."""
    if scores.empty:
        return scores, []
    overall = scores[scores["kind"] == ALL_TRANSITIONS]
    cuts = overall.groupby("variant")["cut"].nunique()
    complete = cuts == overall["cut"].nunique()
    left_out = sorted(str(name) for name in cuts[~complete].index)
    return overall[overall["variant"].isin(cuts[complete].index)], left_out


def rate_record(
    scores: pd.DataFrame,
    recent_months: int | None,
    months: int,
    half_life_years: float | None = None,
) -> dict[str, object]:
    """The choice of period and its nested check as plain data (``backtest/rate_variant.json``).

    ``scores``: :func:`score_rates` rows of every cut, with ``cut``. ``recent_months`` and
    ``half_life_years`` are the settings of the variants scored (None: not scored); the
    record holds the chosen one's as ``recent_months`` / ``half_life_years``, and as
    ``left_out`` the variants whose fit did not converge at some cut (not candidates).
    """
    overall, left_out = _overall(scores)
    record = choice_record(overall, WHOLE, months)
    chosen = record["chosen"]
    recent = None if recent_months is None else int(recent_months)
    half_life = None if half_life_years is None else float(half_life_years)
    return {
        "chosen": chosen,
        "recent_months": recent if chosen == RECENT else None,
        "half_life_years": half_life if chosen == WEIGHTED else None,
        "considered_recent_months": recent,
        "considered_half_life_years": half_life,
        "left_out": left_out,
        **record,
    }


def period_before(scores: pd.DataFrame, cut: pd.Timestamp, months: int) -> tuple[str, int]:
    """The period a run on the record known at ``cut`` would fit its rates on, and on how
    many earlier cuts it rests: the choice over the cuts whose ``months`` had ended by
    ``cut``, when its own nested check on those cuts held (as
    :func:`care_demand.outputs.rate_choice.rate_choice` decides for a run); else the whole
    record."""
    scores, _ = _overall(scores)
    return variant_before(scores, cut, WHOLE, months)
