"""Costs by budget line and financial year, and savings against the baseline.

From the simulation's tidy replicate table::

    costed = cost_replicates(replicate_table(results, system), costs, seed)
    cost_summary(costed)                                  # P10/P50/P90/mean by line and year
    savings(baseline_costed, costed, costs)               # paired savings, target, NPV

This package reads configuration objects and tables only; it never imports the pipeline
or the configuration loader. The method is described in ``docs/finance.md``.
"""

from __future__ import annotations

from care_demand.finance.assumptions import cost_assumptions
from care_demand.finance.costs import (
    COST_STREAM,
    cost_replicates,
    cost_summary,
    financial_year,
    inflation_index,
    tail_multipliers,
)
from care_demand.finance.savings import paired_savings, present_value, savings
from care_demand.finance.schema import (
    ActivityCost,
    CostConfig,
    FixedCost,
    IncomeLine,
    PlacementCost,
    PriceTail,
    SavingsTarget,
    fixed_cost_title,
    fixed_cost_titles,
    validate_costs,
)

__all__ = [
    "COST_STREAM",
    "ActivityCost",
    "CostConfig",
    "FixedCost",
    "IncomeLine",
    "PlacementCost",
    "PriceTail",
    "SavingsTarget",
    "cost_assumptions",
    "cost_replicates",
    "cost_summary",
    "financial_year",
    "fixed_cost_title",
    "fixed_cost_titles",
    "inflation_index",
    "paired_savings",
    "present_value",
    "savings",
    "tail_multipliers",
    "validate_costs",
]
