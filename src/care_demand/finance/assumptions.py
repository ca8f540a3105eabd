"""Every cost assumption as one table, with its unit, price year and source."""

from __future__ import annotations

import pandas as pd

from care_demand.finance.schema import CostConfig, fy_start_year

__all__ = ["ASSUMPTION_COLUMNS", "cost_assumptions"]

ASSUMPTION_COLUMNS: tuple[str, ...] = ("section", "item", "value", "unit", "price_year", "source")


def cost_assumptions(costs: CostConfig) -> pd.DataFrame:
    """The cost configuration as rows ``section, item, value, unit, price_year, source``.

    Units: ``GBP a week``, ``GBP a year``, ``GBP`` (money), ``rate a year`` (a fraction:
    0.06 is 6%) and ``log-normal sd``. Scenario levers can be appended with the same columns.
    """
    rows: list[dict[str, object]] = []

    def add(section: str, item: str, value: float, unit: str, year: str | None, source: str):
        rows.append(
            {
                "section": section,
                "item": item,
                "value": float(value),
                "unit": unit,
                "price_year": year or "",
                "source": source,
            }
        )

    sources = costs.sources
    for group, cost in costs.placements.items():
        basis = "per place available" if cost.basis == "capacity" else "per child placed"
        add(
            "placement weekly cost",
            f"{group} ({basis}; uprated by {cost.inflation})",
            cost.weekly,
            "GBP a week",
            cost.price_year or costs.price_year,
            cost.source,
        )
    add(
        "placement price uncertainty",
        f"{costs.tail.group} mean price factor, drawn per replicate",
        costs.tail.log_sd,
        "log-normal sd",
        None,
        costs.tail.source,
    )
    for state, weekly in costs.casework.items():
        add(
            "casework weekly cost per child",
            f"{state} (uprated by {costs.casework_inflation})",
            weekly,
            "GBP a week",
            costs.price_year,
            sources.get("casework", ""),
        )
    for name, fixed in costs.fixed.items():
        period = f"from {fixed.start}" + (f" to {fixed.end}" if fixed.end else "")
        year = fixed.price_year or costs.price_year
        add(
            "fixed cost",
            f"{fixed.label(name)}: running cost {period}",
            fixed.annual,
            "GBP a year",
            year,
            fixed.source,
        )
        if fixed.capital:
            add(
                "fixed cost",
                f"{fixed.label(name)}: capital, {fixed.start}",
                fixed.capital,
                "GBP",
                year,
                fixed.source,
            )
    for name, activity in costs.activity.items():
        per = "meeting or move" if activity.basis == "flow" else "child a year"
        since = f" from {activity.start}" if activity.start else ""
        add(
            "activity cost",
            f"{activity.label(name)}: per {per} ({activity.category}){since}",
            activity.unit,
            "GBP",
            activity.price_year or costs.price_year,
            activity.source,
        )
    for name, income in costs.income.items():
        for year, amount in income.by_year.items():
            add(
                "income (lowers the cost)",
                f"{income.label(name)}: {year}",
                amount,
                "GBP a year",
                None,
                income.source,
            )
    for line, rate in costs.inflation.items():
        add("inflation", line, rate, "rate a year", None, costs.inflation_sources.get(line, ""))
    add(
        "discounting",
        f"discount rate (real; cash deflated by {costs.deflator})",
        costs.discount_rate,
        "rate a year",
        None,
        sources.get("discount_rate", ""),
    )
    target = costs.savings_target
    first = fy_start_year(target.start_year)
    for i, amount in enumerate(target.annual):
        year = f"{first + i}/{(first + i + 1) % 100:02d}"
        add("savings target", f"cashable saving in {year}", amount, "GBP", None, target.source)
    return pd.DataFrame(rows, columns=list(ASSUMPTION_COLUMNS))
