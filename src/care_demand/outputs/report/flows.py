"""The report's flows table: recorded and projected moves per financial year, one table.

Read from the run's published ``projection/flows_by_year.csv``
(:func:`care_demand.outputs.flows.flows_by_year`), so the report, the workbook and the CSV
show the same numbers under the same labels: recorded years as published (small counts
hidden), projected years as means across the simulated futures.
"""

from __future__ import annotations

import pandas as pd

from care_demand.outputs.flows import FLOW_LABELS
from care_demand.outputs.report.html import html_table
from care_demand.outputs.run_files import RunFiles

__all__ = ["FLOWS_CAPTION", "flows_table", "flows_wide"]

FLOWS_CAPTION = "Moves per financial year: recorded counts, then projected means"


def _column(year: str, kind: str, part: bool) -> str:
    if kind == "recorded":
        return f"{year} recorded"
    return f"{year} projected" + (" (part year)" if part else "")


def flows_wide(flows: pd.DataFrame) -> pd.DataFrame:
    """The published flows table with the flows down and the years across, as text."""
    frame = flows.copy()
    frame["column"] = [
        _column(str(y), str(k), str(p).lower() == "true")
        for y, k, p in zip(frame["financial_year"], frame["kind"], frame["part_year"], strict=True)
    ]
    columns = list(dict.fromkeys(frame["column"]))
    wide = frame.pivot(index="flow", columns="column", values="value")
    wide = wide.reindex(index=[f for f in FLOW_LABELS if f in wide.index], columns=columns)
    wide.index = [FLOW_LABELS[f] for f in wide.index]
    return wide.astype(object).where(wide.notna(), "").reset_index(names="Flow")


def flows_table(run: RunFiles) -> str:
    """The flows table of the run report (empty when the run has none)."""
    flows = run.flows
    if flows is None or flows.empty:
        return ""
    wide = flows_wide(flows.astype({"value": str}))
    text = {c: str for c in wide.columns if c != "Flow"}
    services = (
        "Entries to care count every child entering care, whether new to services or "
        "stepping up from child protection. Steps up and down are between the services "
        "outside care (early help, then assessment or children in need, then child "
        "protection). "
        if "step_up" in set(flows["flow"])
        else ""
    )
    return (
        "<p>Moves per financial year, as recorded in the council's returns and as projected: "
        "the mean across the simulated futures, so the years and the reasons add up. "
        f"{services}The same table is in the workbook and in "
        "<code>projection/flows_by_year.csv</code>.</p>"
        + html_table(wide, caption=FLOWS_CAPTION, model=True, formats=text)
    )
