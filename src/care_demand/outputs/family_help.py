"""Family Help: targeted early help and children in need reported as one service.

Under the Families First Partnership programme (DfE programme guide, March 2025) councils
merge targeted early help and section 17 child in need work into one Family Help service.
The model keeps its states; the outputs add Family Help beside them, when
``output.family_help`` says so (:func:`family_help_on`), as the exact sum of the early-help
and child-in-need counts. A child is in one state at a time (the event history's spells
never overlap, nor do the projection's), so the sum counts each child once.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from care_demand import vocab

__all__ = [
    "FAMILY_HELP",
    "FAMILY_HELP_LABEL",
    "FAMILY_HELP_PARTS",
    "FAMILY_HELP_START",
    "add_family_help_recorded",
    "add_family_help_stocks",
    "family_help_held",
    "family_help_on",
    "family_help_replicates",
]

# The name of the service in tables (a state, or a category, beside the model's own).
FAMILY_HELP = "family_help"
FAMILY_HELP_LABEL = "Family Help (early help + child in need)"
# The model's states that make up Family Help, in the order secondary suppression hides them.
FAMILY_HELP_PARTS = (vocab.EARLY_HELP, vocab.CIN)
# Delivery of the Families First Partnership programme from April 2025
# [Families First Partnership programme guide]: ``auto`` reports Family Help for a history
# running past this day.
FAMILY_HELP_START = pd.Timestamp("2025-04-01")


def family_help_held(recorded_states: Collection[str]) -> bool:
    """Whether the council's files record both services of Family Help (early help and
    children in need): only then is its caseload reported or compared between scenarios."""
    return {vocab.EARLY_HELP, vocab.CIN} <= set(recorded_states)


def family_help_on(setting: object, window_end: pd.Timestamp) -> bool:
    """Whether to report Family Help: ``output.family_help`` ``true`` / ``false``, or
    ``auto`` (on when the history runs past 1 April 2025)."""
    value = str(setting).strip().lower()
    if value == "auto":
        return pd.Timestamp(window_end) > FAMILY_HELP_START
    return value == "true"


def _sum_rows(frame: pd.DataFrame, column: str, keys: list[str], value: str) -> pd.DataFrame:
    """Rows ``column == FAMILY_HELP`` summing the parts' ``value`` within ``keys``."""
    parts = frame.loc[frame[column].isin(FAMILY_HELP_PARTS)]
    summed = parts.groupby(keys, as_index=False, sort=False, observed=True)[value].sum()
    return summed.assign(**{column: FAMILY_HELP}).loc[:, list(frame.columns)]


def add_family_help_stocks(stocks: pd.DataFrame) -> pd.DataFrame:
    """The data summary's stocks (``date``, ``state``, ``placement_group``, ``children``)
    with a ``family_help`` state (placement group ``all``) at each date: early help plus
    child in need."""
    totals = stocks.loc[stocks["placement_group"] == "all"]
    extra = _sum_rows(totals, "state", ["date", "placement_group"], "children")
    return pd.concat([stocks, extra], ignore_index=True)


def add_family_help_recorded(recorded: pd.DataFrame) -> pd.DataFrame:
    """Recorded children at month end (``month``, ``category``, ``children``) with a
    ``family_help`` category each month: early help plus child in need."""
    extra = _sum_rows(recorded, "category", ["month"], "children")
    out = pd.concat([recorded, extra], ignore_index=True)
    return out.sort_values(["month", "category"], ignore_index=True)


def family_help_replicates(replicates: pd.DataFrame) -> pd.DataFrame:
    """Family Help in each simulated future: the replicate table's rows (``replicate``,
    ``month``, ``measure``, ``category``, ``age_band``, ``value``) of measure ``children``,
    category ``family_help``, for every age band: early help plus child in need, replicate
    by replicate (so its quantiles are those of the sum, and its mean the sum of means)."""
    children = replicates.loc[replicates["measure"] == "children"]
    children = children.assign(category=children["category"].astype(str))
    keys = ["replicate", "month", "measure", "age_band"]
    out = _sum_rows(children, "category", keys, "value")
    for key in ("measure", "age_band"):
        out[key] = out[key].astype(str)
    return out.reset_index(drop=True)
