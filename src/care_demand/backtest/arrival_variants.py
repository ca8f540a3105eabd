"""The arrival trend variant the council's own record chooses, with a nested check.

At each cut the backtest has fitted the arrival trends on the data before the cut. The fit
does not depend on how the trend is carried forward (``calibration.arrivals.trend_damping``
acts past the history only), so each variant of ``backtest.arrival_variants.variants`` (level
only: the slope is not carried on at all; damped: the shipped setting; the full trend) is
drawn from the same fit (:func:`score_variants`), and the sum of each kind of arrival over the
``months`` after the cut (the median of the paths) is scored against the record.

:func:`choose_variant` picks the variant with the lowest mean absolute % error over the cuts
and kinds (ties: the shipped setting). :func:`nested_check` asks whether choosing that way
would have helped: at each cut, the variant chosen on the earlier cuts whose scored months
had ended by then is scored against the shipped setting, on that cut alone, out of sample.
:func:`variant_before` is what a run on the record known at a cut would forecast with: the
choice on the earlier cuts only when its own nested check held, as a run decides
(:func:`care_demand.outputs.arrival_choice.arrival_choice`).

Recorded counts from 1 to ``output.suppress_max`` are not scored (a percentage error of a
handful of arrivals is noise, and the published table withholds them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from care_demand.calibration.arrivals import ArrivalModel
from care_demand.outputs.backtest_choice import APPLIED, held_status

__all__ = [
    "KindTotals",
    "choice_record",
    "choose_before",
    "choose_variant",
    "nested_check",
    "score_variants",
    "variant_before",
    "variant_record",
    "variant_totals",
]

# The score a trend variant is chosen by: the absolute % error of its median.
ERROR = "abs_pct_error"


@dataclass(frozen=True)
class KindTotals:
    """One kind's arrivals over the months scored: each path's total and the record."""

    kind: str
    totals: np.ndarray  # each path's sum over the months (intensities, not counts)
    recorded: float
    scored: bool  # false when the record is 0 to suppress_max (not scored; withheld)


def variant_totals(
    model: ArrivalModel,
    start: pd.Timestamp,
    recorded: Mapping[str, float],
    variants: Mapping[str, float],
    setting: str,
    *,
    months: int,
    paths: int,
    seed: int,
    suppress_max: int,
) -> Iterator[tuple[str, float, list[KindTotals]]]:
    """Each variant's name, value of ``setting`` and paths drawn from ``model`` with it (the
    fit shared: the variants act past the history only), summed per kind over ``months``
    from ``start``, beside the record (``recorded``; a kind not in it: none)."""
    for name, value in variants.items():
        drawn = model.with_settings(**{setting: float(value)}).sample_paths(
            start, months, paths, seed, include_noise=False
        )
        kinds = []
        for kind in model.kinds_:
            actual = float(recorded.get(kind, 0.0))
            totals = drawn.sel(kind=kind).to_numpy().sum(axis=1)
            kinds.append(KindTotals(kind, totals, actual, actual > suppress_max))
        yield name, float(value), kinds


def score_variants(
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
    """Each variant's forecast of each kind's arrivals over ``months`` from ``start``.

    ``model`` is fitted on the data before the cut; ``recorded`` holds each kind's recorded
    arrivals over those months (a kind not in it: none). Rows: ``variant``, ``trend_damping``,
    ``kind``, ``forecast`` (median of the paths' sums), ``recorded``, ``pct_error``,
    ``abs_pct_error`` and ``scored`` (false when the record is 0 to ``suppress_max``).
    """
    rows = []
    drawn = variant_totals(
        model,
        start,
        recorded,
        variants,
        "trend_damping",
        months=months,
        paths=paths,
        seed=seed,
        suppress_max=suppress_max,
    )
    for name, damping, kinds in drawn:
        for one in kinds:
            forecast = float(np.median(one.totals))
            error = 100.0 * (forecast - one.recorded) / one.recorded if one.scored else float("nan")
            rows.append(
                {
                    "variant": name,
                    "trend_damping": damping,
                    "kind": one.kind,
                    "forecast": forecast,
                    "recorded": one.recorded,
                    "pct_error": error,
                    "abs_pct_error": abs(error),
                    "scored": one.scored,
                }
            )
    return pd.DataFrame(rows)


def choose_variant(
    scores: pd.DataFrame, shipped: str, score: str = ERROR
) -> tuple[str, dict[str, float]]:
    """The variant with the lowest mean ``score`` (the absolute % error) over the scored
    rows (cuts and kinds pooled), and each variant's mean; ``shipped`` when none is lower
    than it."""
    scored = scores[scores["scored"].astype(bool)]
    means = {
        str(name): float(part[score].mean()) for name, part in scored.groupby("variant", sort=False)
    }
    if not means or shipped not in means:
        return shipped, means
    best = min(means, key=lambda name: (means[name], name != shipped))
    return (best if means[best] < means[shipped] else shipped), means


def choose_before(
    scores: pd.DataFrame, cut: pd.Timestamp, shipped: str, months: int, score: str = ERROR
) -> tuple[str, int]:
    """The variant :func:`choose_variant` picks on the cuts whose ``months`` of scored
    arrivals had ended by ``cut`` (what was known then), and how many such cuts there were;
    ``shipped`` when there were none."""
    if scores.empty:
        return shipped, 0
    cuts = pd.to_datetime(scores["cut"])
    ended = sorted(c for c in cuts.unique() if c + pd.offsets.MonthEnd(months) <= cut)
    if not ended:
        return shipped, 0
    chosen, _ = choose_variant(scores[cuts.isin(ended)], shipped, score)
    return chosen, len(ended)


def nested_check(
    scores: pd.DataFrame, shipped: str, months: int, score: str = ERROR
) -> pd.DataFrame:
    """Choosing by the record, out of sample: at each cut with earlier cuts whose ``months``
    had ended by it, the variant chosen on those (:func:`choose_variant`) against the shipped
    one, scored on that cut. Rows: ``cut``, ``earlier_cuts``, ``chosen``, ``chosen_error``,
    ``shipped_error`` (mean absolute % errors over the cut's scored kinds)."""
    cuts = sorted(pd.to_datetime(scores["cut"]).unique())
    rows = []
    for cut in cuts:
        chosen, ended = choose_before(scores, cut, shipped, months, score)
        if not ended:
            continue
        here = scores[(pd.to_datetime(scores["cut"]) == cut) & scores["scored"].astype(bool)]
        errors = here.groupby("variant")[score].mean()
        rows.append(
            {
                "cut": pd.Timestamp(cut),
                "earlier_cuts": ended,
                "chosen": chosen,
                "chosen_error": float(errors.get(chosen, np.nan)),
                "shipped_error": float(errors.get(shipped, np.nan)),
            }
        )
    return pd.DataFrame(
        rows, columns=["cut", "earlier_cuts", "chosen", "chosen_error", "shipped_error"]
    )


def variant_record(
    scores: pd.DataFrame,
    variants: Mapping[str, float],
    shipped: str,
    months: int,
    setting: str = "trend_damping",
    score: str = ERROR,
) -> dict[str, object]:
    """The choice and its nested check as plain data (``backtest/arrival_variant.json``):
    :func:`choice_record` by ``score``, with the chosen variant's value of ``setting``."""
    record = choice_record(scores, shipped, months, score)
    return {
        "chosen": record["chosen"],
        setting: float(variants[str(record["chosen"])]),
        **record,
    }


def choice_record(
    scores: pd.DataFrame, shipped: str, months: int, score: str = ERROR
) -> dict[str, object]:
    """A choice among variants and its nested check as plain data: ``chosen``, ``shipped``,
    ``months``, ``cuts``, each variant's mean ``score`` (``mean_<score>``), the ``nested``
    rows and their mean scores (None without a nested check)."""
    chosen, means = choose_variant(scores, shipped, score)
    nested = nested_check(scores, shipped, months, score)
    usable = nested.dropna(subset=["chosen_error", "shipped_error"])
    return {
        "chosen": chosen,
        "shipped": shipped,
        "months": months,
        "cuts": int(pd.Series(scores["cut"]).nunique()),
        f"mean_{score}": means,
        "nested": [
            {**row, "cut": f"{pd.Timestamp(row['cut']):%Y-%m-%d}"}
            for row in nested.to_dict(orient="records")
        ],
        "nested_chosen_error": float(usable["chosen_error"].mean()) if len(usable) else None,
        "nested_shipped_error": float(usable["shipped_error"].mean()) if len(usable) else None,
    }


def variant_before(
    scores: pd.DataFrame, cut: pd.Timestamp, shipped: str, months: int, score: str = ERROR
) -> tuple[str, int]:
    """The variant a run on the record known at ``cut`` would forecast with, and on how many
    earlier cuts it rests: the choice over the cuts whose ``months`` had ended by ``cut``,
    when its own nested check on those cuts held (as
    :func:`care_demand.outputs.arrival_choice.arrival_choice` decides for a run); else
    ``shipped``."""
    if scores.empty:
        return shipped, 0
    cuts = pd.to_datetime(scores["cut"])
    ended = cuts + pd.offsets.MonthEnd(months) <= pd.Timestamp(cut)
    if not ended.any():
        return shipped, 0
    record = choice_record(scores[ended], shipped, months, score)
    same = str(record["chosen"]) == shipped
    held = held_status(record, same=same, use=True) == APPLIED
    return (str(record["chosen"]) if held else shipped), int(cuts[ended].nunique())
