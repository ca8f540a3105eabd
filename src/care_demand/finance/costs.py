"""Put a price on every replicate: cost by budget line and financial year.

The input is the simulation's tidy replicate table
(:func:`care_demand.simulation.runner.replicate_table`); the output is one row per replicate,
financial year and budget line, in cash terms (GBP, each year's prices). Nothing here runs
the model.

Conventions:

- Financial years run April to March and are labelled ``"2022/23"``.
- Prices are uprated once a year, each April, from the financial year they are quoted in:
  a price of ``x`` in 2020/21 is ``x`` in every month of 2020/21 and ``x * (1 + r)`` in every
  month of 2021/22, with ``r`` the annual rate of the item's inflation line.
- A financial year the projection covers only in part (a projection starting in, say,
  January) is costed for the months it has and flagged ``complete = False``; savings against
  the target, cumulative figures and NPVs use complete years only.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from care_demand import streams
from care_demand.finance.schema import (
    CostConfig,
    PriceTail,
    fy_start_year,
    validate_costs,
)

__all__ = [
    "COLUMNS",
    "COST_STREAM",
    "KINDS",
    "cost_replicates",
    "cost_summary",
    "financial_year",
    "inflation_index",
    "order_rows",
    "quantile_summary",
    "span_label",
    "tail_multipliers",
]

# First element of the spawn key of the cost draws (the registry: care_demand.streams).
COST_STREAM = streams.COSTS

# Kinds of budget line, in the order they are reported; ``total`` is their sum (income is
# a negative cost, so the total is the net cost).
KINDS: tuple[str, ...] = ("placements", "casework", "activity", "fixed", "income")
TOTAL = "total"
# Columns of the costed table.
COLUMNS: tuple[str, ...] = ("replicate", "financial_year", "kind", "line", "complete", "value")

_SUMMARY_QUANTILES: tuple[float, ...] = (0.10, 0.50, 0.90)
_MONTHS_PER_YEAR = 12
_DAYS_PER_WEEK = 7.0
_DAYS_PER_YEAR = 365.25


def financial_year(date: pd.Timestamp | str) -> str:
    """The financial year (April to March) a date falls in: 2023-03-31 -> ``"2022/23"``."""
    stamp = pd.Timestamp(date)
    start = stamp.year if stamp.month >= 4 else stamp.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def inflation_index(rate: float, price_year: str, year: str) -> float:
    """Price index of financial year ``year`` relative to ``price_year`` at an annual ``rate``.

    ``(1 + rate) ** (years from price_year to year)``: 1 in the price year itself, ``1 + rate``
    a year later; years before the price year deflate.
    """
    return float((1.0 + rate) ** (fy_start_year(year) - fy_start_year(price_year)))


def tail_multipliers(replicates: Iterable[int], tail: PriceTail, seed: int) -> dict[int, float]:
    """The price factor of ``tail.group`` for each replicate (mean 1, log-normal).

    Replicate ``r`` draws from ``SeedSequence(seed, spawn_key=(COST_STREAM, r))`` and nothing
    else, so its factor is the same in every scenario run with the same seed.
    """
    sd = float(tail.log_sd)
    out: dict[int, float] = {}
    for rep in replicates:
        if sd == 0.0:
            out[int(rep)] = 1.0
            continue
        z = float(streams.cost_rng(seed, int(rep)).standard_normal())
        out[int(rep)] = float(np.exp(sd * z - sd * sd / 2.0))
    return out


def _month_frame(months: pd.Series) -> pd.DataFrame:
    """One row per distinct month: financial year, days, first day, last day."""
    stamps = pd.DatetimeIndex(sorted(pd.to_datetime(months.unique())))
    first = stamps.to_period("M").to_timestamp()
    frame = pd.DataFrame(
        {
            "month": stamps,
            "financial_year": [financial_year(m) for m in stamps],
            "days": stamps.days_in_month.astype(float),
            "first_day": first,
        }
    )
    counts = frame.groupby("financial_year")["month"].transform("size")
    frame["complete"] = counts == _MONTHS_PER_YEAR
    return frame


def _series(table: pd.DataFrame, measure: str, category: str) -> pd.DataFrame:
    rows = table[(table["measure"] == measure) & (table["category"] == category)]
    if rows.empty:
        raise ValueError(
            f"the replicate table has no rows for measure {measure!r}, category {category!r} "
            "(age_band 'all'); it must come from care_demand.simulation.runner.replicate_table"
        )
    return rows[["replicate", "month", "value"]]


def _year_index(months: pd.DataFrame, rate: float, price_year: str) -> dict[pd.Timestamp, float]:
    by_year = {
        year: inflation_index(rate, price_year, year) for year in months["financial_year"].unique()
    }
    return dict(zip(months["month"], months["financial_year"].map(by_year), strict=True))


def _fixed_monthly(months: pd.DataFrame, costs: CostConfig) -> list[pd.DataFrame]:
    """Per-month amounts of each fixed cost (the same in every replicate)."""
    frames = []
    year_days = {
        year: float(
            (
                pd.Timestamp(f"{fy_start_year(year) + 1}-04-01")
                - pd.Timestamp(f"{fy_start_year(year)}-04-01")
            ).days
        )
        for year in months["financial_year"].unique()
    }
    one_day = pd.Timedelta(days=1)
    for name, cost in costs.fixed.items():
        start = pd.Timestamp(cost.start)
        end = pd.Timestamp(cost.end) if cost.end is not None else None
        index = _year_index(
            months, costs.inflation[cost.inflation], cost.price_year or costs.price_year
        )
        values = []
        for row in months.itertuples(index=False):
            month_end = row.first_day + pd.Timedelta(days=int(row.days))  # exclusive
            lo = max(start, row.first_day)
            hi = month_end if end is None else min(end, month_end)
            active = max((hi - lo) // one_day, 0)
            amount = cost.annual * active / year_days[row.financial_year]
            if row.first_day <= start < month_end:
                amount += cost.capital
            values.append(amount * index[row.month])
        frames.append(
            pd.DataFrame({"month": months["month"], "kind": "fixed", "line": name, "value": values})
        )
    return frames


def _income_monthly(months: pd.DataFrame, costs: CostConfig) -> list[pd.DataFrame]:
    """Per-month income of each income line, negative: a twelfth of the year's amount."""
    frames = []
    for name, income in costs.income.items():
        values = -months["financial_year"].map(income.by_year).fillna(0.0) / _MONTHS_PER_YEAR
        frames.append(
            pd.DataFrame(
                {"month": months["month"], "kind": "income", "line": name, "value": values}
            )
        )
    return frames


def _activity(table: pd.DataFrame, months: pd.DataFrame, costs: CostConfig) -> list[pd.DataFrame]:
    """Each activity cost per replicate and month: units counted x unit cost x index."""
    frames = []
    for name, activity in costs.activity.items():
        if activity.basis == "flow":
            rows = _series(table, "flow", activity.category)
            units = rows["value"]
        else:  # placement_year: child-years placed in the group
            rows = _series(table, "placement_days", activity.category)
            units = rows["value"] / _DAYS_PER_YEAR
        index = _year_index(
            months, costs.inflation[activity.inflation], activity.price_year or costs.price_year
        )
        value = units * activity.unit * rows["month"].map(index)
        if activity.start is not None:
            value = value.where(rows["month"] >= pd.Timestamp(activity.start), 0.0)
        frames.append(rows.assign(kind="activity", line=name, value=value.to_numpy()))
    return frames


def cost_replicates(replicates: pd.DataFrame, costs: CostConfig, seed: int) -> pd.DataFrame:
    """Cost every replicate by budget line and financial year (GBP, cash terms).

    ``replicates`` is the tidy replicate table (columns ``replicate, month, measure,
    category, age_band, value``; months are month ends). Lines:

    - ``placements``, one per placement group: child-days placed in the group in the month x
      weekly cost / 7 x the price index of the month's financial year (for ``basis:
      capacity``, in-house places available at month end x days in the month instead of
      child-days). ``costs.tail.group`` is multiplied by its per-replicate price factor
      (:func:`tail_multipliers`, seeded by ``seed`` and the replicate number).
    - ``casework``, one per state in ``costs.casework``: children in the state at month end x
      days in the month / 7 x weekly cost x index. This approximates the month's child-days
      by the month-end stock.
    - ``activity``, one per activity cost: the units counted in the month (moves of a flow,
      or child-years placed in a group: child-days / 365.25) x unit cost x index, from the
      month ending on or after its ``start``.
    - ``fixed``, one per fixed cost: the annual cost pro-rated by the days it runs in each
      month (a day's share is 1 / days in that financial year, so a whole year costs exactly
      the annual amount), plus the capital cost in the month it starts, both x index.
    - ``income``, one per income line (a grant): minus a twelfth of its financial year's
      amount each month, so a whole year lowers the total by exactly the amount.

    Returns columns ``replicate, financial_year, kind, line, complete, value``: one row per
    replicate, financial year and line (every line, zero included), ``complete`` false for a
    financial year the projection covers only in part. Raises ``ConfigError`` for an invalid
    ``costs`` and ``ValueError`` when the table lacks a measure it needs.
    """
    validate_costs(costs)
    missing = {"replicate", "month", "measure", "category", "age_band", "value"} - set(
        replicates.columns
    )
    if missing:
        raise ValueError(f"the replicate table lacks columns {sorted(missing)}")
    table = replicates[
        (replicates["age_band"] == "all")
        & replicates["measure"].isin(["placement_days", "children", "capacity", "flow"])
    ]
    if table.empty:
        raise ValueError("the replicate table has no placement_days or children rows")
    months = _month_frame(table["month"])
    days = dict(zip(months["month"], months["days"], strict=True))
    reps = sorted(int(r) for r in table["replicate"].unique())
    factor = tail_multipliers(reps, costs.tail, seed)

    frames: list[pd.DataFrame] = []
    for group, cost in costs.placements.items():
        if cost.basis == "capacity":
            rows = _series(table, "capacity", group)
            amount = rows["value"] * rows["month"].map(days)
        else:
            rows = _series(table, "placement_days", group)
            amount = rows["value"]
        index = _year_index(
            months, costs.inflation[cost.inflation], cost.price_year or costs.price_year
        )
        value = amount * (cost.weekly / _DAYS_PER_WEEK) * rows["month"].map(index)
        if group == costs.tail.group:
            value = value * rows["replicate"].map(factor)
        frames.append(rows.assign(kind="placements", line=group, value=value.to_numpy()))
    case_index = None
    for state, weekly in costs.casework.items():
        rows = _series(table, "children", state)
        if case_index is None:
            case_index = _year_index(
                months, costs.inflation[costs.casework_inflation], costs.price_year
            )
        value = (
            rows["value"]
            * rows["month"].map(days)
            * (weekly / _DAYS_PER_WEEK)
            * rows["month"].map(case_index)
        )
        frames.append(rows.assign(kind="casework", line=state, value=value.to_numpy()))
    frames += _activity(table, months, costs)
    rep_frame = pd.DataFrame({"replicate": reps})
    for fixed in (*_fixed_monthly(months, costs), *_income_monthly(months, costs)):
        frames.append(rep_frame.merge(fixed, how="cross"))

    monthly = pd.concat(frames, ignore_index=True)
    monthly = monthly.merge(months[["month", "financial_year", "complete"]], on="month")
    line_order = {line: i for i, line in enumerate(pd.unique(monthly["line"]))}
    out = (
        monthly.groupby(["replicate", "financial_year", "kind", "line"], sort=False)
        .agg(complete=("complete", "first"), value=("value", "sum"))
        .reset_index()
    )
    out["replicate"] = out["replicate"].astype(int)
    out = out.sort_values(
        ["replicate", "financial_year", "kind", "line"],
        key=lambda col: _sort_key(col, line_order),
        kind="stable",
    )
    return out[list(COLUMNS)].reset_index(drop=True)


def _sort_key(col: pd.Series, line_order: dict[str, int]) -> pd.Series:
    if col.name == "kind":
        order = {kind: i for i, kind in enumerate((*KINDS, TOTAL))}
        return col.map(order)
    if col.name == "line":
        return col.map(lambda line: line_order.get(line, len(line_order)))
    return col


def quantile_summary(frame: pd.DataFrame, keys: list[str], column: str = "value") -> pd.DataFrame:
    """P10, P50, P90 and mean of ``column`` across replicates for each group of ``keys``."""
    grouped = frame.groupby(keys, sort=False, observed=True)[column]
    out = grouped.quantile(list(_SUMMARY_QUANTILES)).unstack()
    out.columns = [f"p{round(q * 100)}" for q in _SUMMARY_QUANTILES]
    out["mean"] = grouped.mean()
    return out.reset_index()


def span_label(years: Iterable[str]) -> str:
    """The label of several financial years: ``"2022/23 to 2026/27"``."""
    ordered = sorted(years, key=fy_start_year)
    return ordered[0] if len(ordered) == 1 else f"{ordered[0]} to {ordered[-1]}"


def cost_summary(costed: pd.DataFrame) -> pd.DataFrame:
    """P10, P50, P90 and mean of each line's cost across replicates, by financial year.

    ``costed`` comes from :func:`cost_replicates`. Adds a ``total`` line (kind ``total``:
    the sum of every line in each replicate, then its quantiles) and, for each line, a row
    for all complete financial years together (``financial_year`` such as
    ``"2022/23 to 2026/27"``: the sum over those years in each replicate; only when there
    are two or more).
    Columns: ``financial_year, complete, kind, line, p10, p50, p90, mean``.
    """
    keys = ["financial_year", "complete", "kind", "line"]
    totals = (
        costed.groupby(["replicate", "financial_year", "complete"], sort=False)["value"]
        .sum()
        .reset_index()
        .assign(kind=TOTAL, line=TOTAL)
    )
    by_year = pd.concat([costed, totals], ignore_index=True)
    complete = by_year[by_year["complete"]]
    frames = [by_year]
    if complete["financial_year"].nunique() > 1:
        label = span_label(complete["financial_year"].unique())
        frames.append(
            complete.groupby(["replicate", "kind", "line"], sort=False)["value"]
            .sum()
            .reset_index()
            .assign(financial_year=label, complete=True)
        )
    out = quantile_summary(pd.concat(frames, ignore_index=True), keys)
    return order_rows(out)[[*keys, "p10", "p50", "p90", "mean"]]


def order_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort rows by financial year (spans of years last), kind and line (first appearance)."""
    line_order = {line: i for i, line in enumerate(pd.unique(frame["line"]))}
    kind_order = {kind: i for i, kind in enumerate((TOTAL, *KINDS))}
    year_key = frame["financial_year"].map(
        lambda year: (" to " in year, fy_start_year(year.split(" to ")[0]))
    )
    return (
        frame.assign(
            _year=year_key,
            _kind=frame["kind"].map(kind_order),
            _line=frame["line"].map(line_order),
        )
        .sort_values(["_year", "_kind", "_line"], kind="stable")
        .drop(columns=["_year", "_kind", "_line"])
        .reset_index(drop=True)
    )
