"""Savings of a scenario against the baseline, paired replicate by replicate.

Replicate ``r`` of a scenario and replicate ``r`` of the baseline share their random numbers
(common random numbers in the flow model, the same price draw in costing), so the
difference ``baseline - scenario`` of one replicate isolates what the scenario changes.
Summaries are taken across these paired differences, never as a difference of two
summaries.

Net present value follows the HM Treasury Green Book: cash savings are turned into real
terms by the ``deflator`` inflation line, in the prices of the first complete projected
financial year, and discounted at ``discount_rate`` from that year (the first year has
factor 1, the next ``1 / (1 + r)``, and so on).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from care_demand.finance.costs import TOTAL, order_rows, quantile_summary
from care_demand.finance.schema import CostConfig, fy_start_year, validate_costs

__all__ = ["MEASURES", "paired_savings", "present_value", "savings"]

# Measures of the savings summary: the year's saving, the saving over complete years to the
# end of the year, and the present value of those savings.
MEASURES: tuple[str, ...] = ("saving", "cumulative_saving", "npv_to_date")


def present_value(stream: Sequence[float], discount_rate: float, deflator: float = 0.0) -> float:
    """Present value of yearly cash amounts, the first year undiscounted.

    ``sum(v_t / ((1 + deflator) * (1 + discount_rate)) ** t)`` for ``t = 0, 1, ...``:
    each amount is deflated to the first year's prices at the annual rate ``deflator`` and
    discounted at the real rate ``discount_rate``.
    """
    factor = (1.0 + deflator) * (1.0 + discount_rate)
    return float(sum(v / factor**t for t, v in enumerate(stream)))


def _check_pairs(baseline: pd.DataFrame, scenario: pd.DataFrame) -> None:
    base_reps = set(baseline["replicate"].unique())
    scen_reps = set(scenario["replicate"].unique())
    if base_reps != scen_reps:
        raise ValueError(
            "paired savings need the same replicates in the baseline and the scenario: "
            f"only in the baseline {sorted(base_reps - scen_reps)[:10]}, "
            f"only in the scenario {sorted(scen_reps - base_reps)[:10]}; run both with the "
            "same seed and number of replicates"
        )
    base_years = set(baseline["financial_year"].unique())
    scen_years = set(scenario["financial_year"].unique())
    if base_years != scen_years:
        raise ValueError(
            "the baseline and the scenario cover different financial years "
            f"({sorted(base_years)} vs {sorted(scen_years)}); run both over the same horizon"
        )


def paired_savings(baseline_costed: pd.DataFrame, scenario_costed: pd.DataFrame) -> pd.DataFrame:
    """Per replicate, financial year and line: baseline cost, scenario cost and saving.

    Both tables come from :func:`~care_demand.finance.costs.cost_replicates` on runs with the
    same seed and replicates (``ValueError`` otherwise). A line only one side has (a fixed
    cost a scenario adds) costs zero on the other side. Adds the ``total`` line.
    ``saving = baseline - scenario`` (positive: the scenario costs less);
    ``cumulative_saving`` sums the saving over complete financial years to the end of the
    year (empty for an incomplete year).

    Columns: ``replicate, financial_year, complete, kind, line, baseline, scenario, saving,
    cumulative_saving``.
    """
    _check_pairs(baseline_costed, scenario_costed)
    keys = ["replicate", "financial_year", "kind", "line"]
    complete = (
        pd.concat(
            [
                baseline_costed[["financial_year", "complete"]],
                scenario_costed[["financial_year", "complete"]],
            ]
        )
        .groupby("financial_year")["complete"]
        .all()
    )
    both = baseline_costed[[*keys, "value"]].merge(
        scenario_costed[[*keys, "value"]],
        on=keys,
        how="outer",
        suffixes=("_baseline", "_scenario"),
        sort=False,
    )
    both = both.rename(columns={"value_baseline": "baseline", "value_scenario": "scenario"})
    both[["baseline", "scenario"]] = both[["baseline", "scenario"]].fillna(0.0)
    # Lines in the order the costed tables list them (an outer merge may sort them).
    lines = pd.concat([baseline_costed["line"], scenario_costed["line"]])
    rank = {line: i for i, line in enumerate(pd.unique(lines))}
    both = both.iloc[np.argsort(both["line"].map(rank).to_numpy(), kind="stable")]
    totals = (
        both.groupby(["replicate", "financial_year"], sort=False)[["baseline", "scenario"]]
        .sum()
        .reset_index()
        .assign(kind=TOTAL, line=TOTAL)
    )
    out = pd.concat([both, totals], ignore_index=True)
    out["complete"] = out["financial_year"].map(complete).astype(bool)
    out["saving"] = out["baseline"] - out["scenario"]
    # Cumulate over complete years in year order; rows keep their order (lines as configured).
    whole = out[out["complete"]]
    whole = whole.iloc[
        np.argsort(whole["financial_year"].map(fy_start_year).to_numpy(), kind="stable")
    ]
    out["cumulative_saving"] = whole.groupby(["replicate", "kind", "line"], sort=False)[
        "saving"
    ].cumsum()
    columns = [
        "replicate",
        "financial_year",
        "complete",
        "kind",
        "line",
        "baseline",
        "scenario",
        "saving",
        "cumulative_saving",
    ]
    ordered = order_rows(out)
    return ordered.sort_values("replicate", kind="stable").reset_index(drop=True)[columns]


def _targets(years: Sequence[str], costs: CostConfig) -> tuple[pd.Series, pd.Series]:
    """Annual and cumulative targets for the complete projected ``years`` (NaN if none)."""
    target = costs.savings_target
    first = fy_start_year(target.start_year)
    by_start = {first + i: float(amount) for i, amount in enumerate(target.annual)}
    annual = pd.Series({y: by_start.get(fy_start_year(y), np.nan) for y in years}, dtype=float)
    # No cumulative target before the first year that has one.
    cumulative = annual.fillna(0.0).cumsum().where(annual.notna().cumsum() > 0)
    return annual, cumulative


def _fill(out: pd.DataFrame, rows: pd.Series, column: str, by_year: pd.Series) -> None:
    """Set ``column`` of ``rows`` from a value per financial year (a projection shorter than a
    financial year has no such rows)."""
    if rows.any():
        out.loc[rows, column] = out.loc[rows, "financial_year"].map(by_year).astype(float)


def savings(
    baseline_costed: pd.DataFrame, scenario_costed: pd.DataFrame, costs: CostConfig
) -> pd.DataFrame:
    """Summary of the paired savings of a scenario against the baseline.

    Rows, by financial year: the ``saving`` of every line and of the ``total`` (every year,
    complete or not); for the total and complete years only, the ``cumulative_saving`` and
    ``npv_to_date`` (present value of the savings to the end of the year; the last complete
    year's value is the NPV of the whole projection). Columns: ``financial_year, complete,
    kind, line, measure, p10, p50, p90, mean`` (across replicates), ``target`` and
    ``p_meets_target`` (share of replicates at or above it). The target of a ``saving`` row
    is the year's target; of a ``cumulative_saving`` row the sum of the targets of the
    complete projected years to that year (targets of years before the projection are not
    counted); the target list in ``costs.savings_target`` starts at its ``start_year``.
    """
    validate_costs(costs)
    paired = paired_savings(baseline_costed, scenario_costed)
    keys = ["financial_year", "complete", "kind", "line"]
    yearly = quantile_summary(paired, keys, "saving").assign(measure="saving")

    total = paired[(paired["kind"] == TOTAL) & paired["complete"]].copy()
    years = sorted(total["financial_year"].unique(), key=fy_start_year)
    frames = [yearly]
    annual, cumulative = _targets(years, costs)
    if years:
        first = fy_start_year(years[0])
        step = (1.0 + costs.inflation[costs.deflator]) * (1.0 + costs.discount_rate)
        total["_factor"] = total["financial_year"].map(
            lambda y: step ** -(fy_start_year(y) - first)
        )
        total = total.sort_values(["replicate", "financial_year"])
        total["npv_to_date"] = (
            (total["saving"] * total["_factor"]).groupby(total["replicate"]).cumsum()
        )
        frames.append(
            quantile_summary(total, keys, "cumulative_saving").assign(measure="cumulative_saving")
        )
        frames.append(quantile_summary(total, keys, "npv_to_date").assign(measure="npv_to_date"))
    out = pd.concat(frames, ignore_index=True)

    is_total = out["kind"] == TOTAL
    out["target"] = np.nan
    saving_rows = is_total & (out["measure"] == "saving")
    cum_rows = is_total & (out["measure"] == "cumulative_saving")
    _fill(out, saving_rows, "target", annual)
    _fill(out, cum_rows, "target", cumulative)
    meets_annual = {
        year: float((group["saving"] >= annual[year]).mean())
        for year, group in total.groupby("financial_year")
        if pd.notna(annual[year])
    }
    meets_cumulative = {
        year: float((group["cumulative_saving"] >= cumulative[year]).mean())
        for year, group in total.groupby("financial_year")
        if pd.notna(cumulative[year])
    }
    out["p_meets_target"] = np.nan
    _fill(out, saving_rows, "p_meets_target", pd.Series(meets_annual, dtype=float))
    _fill(out, cum_rows, "p_meets_target", pd.Series(meets_cumulative, dtype=float))
    # Within a year: the total's saving, cumulative saving and NPV, then each line's saving.
    out = order_rows(out)
    columns = [*keys, "measure", "p10", "p50", "p90", "mean", "target", "p_meets_target"]
    return out.reset_index(drop=True)[columns]
