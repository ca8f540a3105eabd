"""Flows as numbers: recorded and projected moves per financial year, in one table.

Projected figures are means across the simulated futures (a mean of yearly totals is the
sum of the monthly means, so the years add up); recorded figures are the counts of the
council's returns under disclosure control. One set of labels serves both.
"""

from __future__ import annotations

import pandas as pd

from care_demand import vocab
from care_demand.outputs.report.html import _count, html_table
from care_demand.outputs.run_files import RunFiles
from care_demand.outputs.summary import financial_year

__all__ = ["FLOW_LABELS", "flows_table", "projected_flows"]

# Why children leave care, in plain words.
_EXIT_LABELS = {
    vocab.RETURN_HOME: "returned home",
    vocab.SGO_CAO: "special guardianship or child arrangements order",
    vocab.ADOPTION: "adopted",
    vocab.AGE_18: "turned 18",
    vocab.CARE_EXIT_OTHER: "other reasons",
}
# Each flow's label, and the (measure, categories) of the projection that add up to it.
FLOW_LABELS: dict[str, str] = {
    "referrals": "Referrals of children not already in a service",
    "entries_to_care": "Entries to care (all)",
    "exits_from_care": "Exits from care (all reasons)",
    **{f"exit:{r}": f"of which: {_EXIT_LABELS[r]}" for r in vocab.CARE_EXITS},
    "step_up": "Steps up between services outside care",
    "step_down": "Steps down between services outside care",
}
_SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "referrals": ("arrivals", ("referral",)),
    "entries_to_care": ("flow", ("entry_to_care",)),
    "exits_from_care": ("flow", tuple(f"exit:{r}" for r in vocab.CARE_EXITS)),
    **{f"exit:{r}": ("flow", (f"exit:{r}",)) for r in vocab.CARE_EXITS},
    "step_up": ("flow", ("step_up",)),
    "step_down": ("flow", ("step_down",)),
}


def projected_flows(quantiles: pd.DataFrame) -> pd.DataFrame:
    """Mean flows per financial year: index the flows of :data:`FLOW_LABELS`, columns the
    years (a year the projection covers only in part is labelled ``(part year)``)."""
    q = quantiles[quantiles["age_band"] == "all"].copy()
    q["month"] = pd.to_datetime(q["month"])
    q["year"] = financial_year(q["month"])
    months = q.groupby("year")["month"].nunique()
    rows = {}
    for flow, (measure, categories) in _SOURCES.items():
        sel = q[(q["measure"] == measure) & q["category"].isin(categories)]
        if sel.empty:
            continue
        rows[flow] = sel.groupby("year")["mean"].sum()
    table = pd.DataFrame(rows).T
    if table.empty:
        return table
    table.columns = [y if months[y] == 12 else f"{y} (part year)" for y in table.columns]
    return table


def flows_table(run: RunFiles) -> str:
    """The flows table of the run report (empty when the run did not project)."""
    if run.quantiles is None or run.quantiles.empty:
        return ""
    table = projected_flows(run.quantiles)
    if table.empty:
        return ""
    table.index = [FLOW_LABELS[f] for f in table.index]
    years = list(table.columns)
    return (
        "<p>Moves per financial year, projected: the mean across the simulated futures, so "
        "the years and the reasons add up. Entries to care count every child entering care, "
        "whether new to services or stepping up from child protection; the recorded entries "
        "to care per year are in the data quality section, under the same label.</p>"
        + html_table(
            table.reset_index(names="Flow"),
            caption="Projected moves per financial year (mean)",
            model=True,
            formats=dict.fromkeys(years, _count),
        )
    )
