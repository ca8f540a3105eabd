"""Each chart's finding in one sentence with its numbers, from the data the chart draws.

The sentence is the chart's alt text (``<name>.txt`` beside the PNG and SVG) and the SVG's
``<desc>``: "Children in care are projected to fall from 416 to 391 by March 2024 (80%
interval 314-498)." Recorded figures come from the published tables (hidden counts are
never stated); projected figures are the projection's median and 80% interval, or means
where the chart draws means.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from care_demand import vocab
from care_demand.outputs.charts.mix import (
    MIX_GROUPS,
    OTHER,
    projected_placement_mix,
    recorded_placement_mix,
)
from care_demand.outputs.charts.panels import COST_GROUPS, FLOW_PANELS
from care_demand.outputs.charts.style import _recorded, _select, _whole_years
from care_demand.outputs.disclosure import DisclosureRule

__all__ = [
    "continuum_finding",
    "costs_finding",
    "demand_capacity_finding",
    "fan_finding",
    "flows_finding",
    "out_of_area_finding",
    "placement_mix_finding",
    "savings_finding",
    "scenarios_finding",
]


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _money(value: float) -> str:
    return f"{'-' if value < 0 else ''}£{abs(value) / 1e6:,.1f}m"


def _month(date: pd.Timestamp) -> str:
    return f"{date:%B %Y}"


def _interval(p10: float, p90: float) -> str:
    return f"80% interval {_n(p10)}-{_n(p90)}"


def _change(start: float, end: float) -> str:
    if round(end) == round(start):
        return f"stay at about {_n(end)}"
    return f"{'rise' if end > start else 'fall'} from {_n(start)} to {_n(end)}"


def _last(history: pd.Series) -> tuple[pd.Timestamp, float] | None:
    shown = history.dropna()
    return (pd.Timestamp(shown.index[-1]), float(shown.iloc[-1])) if not shown.empty else None


def fan_finding(history: pd.Series, quantiles: pd.DataFrame, subject: str) -> str:
    """``subject`` (plural) from the last recorded month to the projection's end."""
    q = quantiles.sort_values("month")
    if q.empty:
        return f"No projection of {subject.lower()}."
    end = q.iloc[-1]
    by = _month(pd.Timestamp(end["month"]))
    last = _last(history)
    if last:
        start = float(last[1])
        change = _change(start, end["p50"]).replace(
            f"from {_n(start)}", f"from {_n(start)} (recorded, {_month(last[0])})"
        )
    else:
        change = _change(float(q.iloc[0]["p50"]), end["p50"])
    return (
        f"{subject} are projected to {change} by {by} (median; "
        f"{_interval(end['p10'], end['p90'])})."
    )


def continuum_finding(
    recorded: pd.DataFrame | None,
    quantiles: pd.DataFrame,
    rule: DisclosureRule,
    states: Sequence[str] | None = None,
) -> str:
    """Each service's last recorded count and its projection at the end (``states``: the
    services drawn; default every one)."""
    names = {
        vocab.EARLY_HELP: "early help",
        vocab.CIN: "children in need",
        vocab.CP: "child protection plans",
        vocab.CARE: "children in care",
    }
    parts, by = [], ""
    for state, name in names.items():
        q = _select(quantiles, "children", state)
        if q.empty or (states is not None and state not in states):
            continue
        end = q.iloc[-1]
        by = _month(pd.Timestamp(end["month"]))
        last = _last(_recorded(recorded, state, rule))
        start = f"{_n(last[1])} recorded, " if last else ""
        parts.append(
            f"{name} {start}{_n(end['p50'])} projected ({_interval(end['p10'], end['p90'])})"
        )
    if not parts:
        return "No projection of the services."
    return f"Children at month end, last recorded and projected by {by}: " + "; ".join(parts) + "."


def flows_finding(quantiles: pd.DataFrame, services: bool = True) -> str:
    """The moves of the last complete financial year (means); without ``services`` only
    entries to and exits from care."""
    q = quantiles[(quantiles["measure"] == "flow") & (quantiles["age_band"] == "all")].copy()
    q["month"] = pd.to_datetime(q["month"])
    q = _whole_years(q)
    if q.empty:
        return "The projection covers no complete financial year."
    year = sorted(q["year"].unique())[-1]
    rows = q[q["year"] == year]
    exits = rows["category"].isin([f"exit:{reason}" for reason in vocab.CARE_EXITS])
    totals = rows.groupby("category")["mean"].sum()
    values = {
        "step_up": totals.get("step_up", 0.0),
        "step_down": totals.get("step_down", 0.0),
        "entry_to_care": totals.get("entry_to_care", 0.0),
        "care_exit": rows.loc[exits, "mean"].sum(),
    }
    if not services:
        values = {k: v for k, v in values.items() if k in ("entry_to_care", "care_exit")}
    labels = {key: name for _, series in FLOW_PANELS.values() for key, name, _ in series}
    text = ", ".join(f"{_n(values[k])} {labels[k].lower()}" for k in values)
    return f"In {year} the projection has (means across simulated futures) {text}."


def placement_mix_finding(
    stocks: pd.DataFrame | None, quantiles: pd.DataFrame, rule: DisclosureRule
) -> str:
    """The recorded total and largest group at the last 31 March, and the projected total."""
    recorded = recorded_placement_mix(stocks, rule)
    projected = projected_placement_mix(quantiles)
    parts = []
    if not recorded.empty:
        date, row = recorded.index[-1], recorded.iloc[-1]
        groups = row.drop(["total", OTHER])
        largest = groups.idxmax()
        parts.append(
            f"At 31 March {date.year}, {_n(row['total'])} children were in care, the most "
            f"({_n(groups[largest])}) in {largest.lower()}"
        )
    if not projected.empty and not math.isnan(projected["p10"].iloc[-1]):
        date, row = projected.index[-1], projected.iloc[-1]
        mean = row[[label for label, _, _ in MIX_GROUPS]].fillna(0).sum()
        parts.append(
            f"at 31 March {date.year} the projection is {_n(mean)} on average across "
            f"futures ({_interval(row['p10'], row['p90'])})"
        )
    return ("; ".join(parts) + ".") if parts else "No placement mix to show."


def demand_capacity_finding(quantiles: pd.DataFrame) -> str:
    """Places, demand and the shortfall of each in-house group at the projection's end."""
    parts, by = [], ""
    for group, name in (
        (vocab.INHOUSE_FOSTER, "in-house foster care"),
        (vocab.INHOUSE_RESIDENTIAL, "in-house children's homes"),
    ):
        children = _select(quantiles, "children", group)
        if children.empty:
            continue
        shortfall = _select(quantiles, "shortfall", group)
        capacity = _select(quantiles, "capacity", group)
        by = _month(pd.Timestamp(children.iloc[-1]["month"]))
        short = float(shortfall.iloc[-1]["mean"]) if not shortfall.empty else 0.0
        placed = float(children.iloc[-1]["mean"])
        places = f"{_n(capacity.iloc[-1]['mean'])} places, " if not capacity.empty else ""
        parts.append(
            f"{name} {places}{_n(placed + short)} children needing one and {_n(short)} "
            "placed externally for want of a place"
        )
    if not parts:
        return "No in-house placements in the projection."
    return f"By {by} (means across simulated futures): " + "; ".join(parts) + "."


def out_of_area_finding(quantiles: pd.DataFrame) -> str:
    """Children placed out of area at the start and end of the projection."""
    q = _select(quantiles, "out_of_area", vocab.CARE)
    if q.empty:
        return "No projection of children placed out of area."
    start, end = q.iloc[0], q.iloc[-1]
    return (
        f"Children placed out of area are projected to {_change(start['p50'], end['p50'])} "
        f"between {_month(pd.Timestamp(start['month']))} and "
        f"{_month(pd.Timestamp(end['month']))}: median, {_interval(end['p10'], end['p90'])}."
    )


def costs_finding(cost_summary: pd.DataFrame) -> str:
    """The first complete financial year's mean total cost (the chart's stacked means) with
    its 80% interval, and its largest budget line."""
    costs = cost_summary[~cost_summary["financial_year"].astype(str).str.contains(" to ")]
    total = costs[(costs["kind"] == "total") & costs["complete"].astype(bool)]
    if total.empty:
        total = costs[costs["kind"] == "total"]
    if total.empty:
        return "No projected costs."
    row = total.iloc[0]
    year = str(row["financial_year"])
    lines = {}
    for label, kind, members, _ in COST_GROUPS:
        rows = costs[(costs["kind"] == kind) & (costs["financial_year"].astype(str) == year)]
        if members is not None:
            rows = rows[rows["line"].isin(members)]
        lines[label] = float(rows["mean"].sum())
    largest = max(lines, key=lambda k: lines[k])
    return (
        f"In {year} the projected cost is {_money(row['mean'])} (mean; 80% interval "
        f"{_money(row['p10'])}-{_money(row['p90'])}), the largest line "
        f"{largest.lower()} at {_money(lines[largest])} (mean)."
    )


def scenarios_finding(
    quantiles: Mapping[str, pd.DataFrame], labels: Mapping[str, str], subject: str
) -> str:
    """Each scenario's median and 80% interval at the end of its projection."""
    parts, by = [], ""
    for name, q in quantiles.items():
        if q.empty:
            continue
        end = q.sort_values("month").iloc[-1]
        by = _month(pd.Timestamp(end["month"]))
        parts.append(
            f"{_n(end['p50'])} under {labels.get(name, name)} ({_interval(end['p10'], end['p90'])})"
        )
    if not parts:
        return f"No projection of {subject.lower()}."
    return f"{subject} by {by} (median): " + "; ".join(parts) + "."


def savings_finding(savings: pd.DataFrame, labels: Mapping[str, str]) -> str:
    """Each scenario's cumulative saving over the complete financial years."""
    rows = savings[(savings["measure"] == "cumulative_saving") & (savings["line"] == "total")]
    rows = rows[~rows["financial_year"].astype(str).str.contains(" to ")]
    if rows.empty:
        return "No savings against the baseline."
    year = sorted(rows["financial_year"].astype(str))[-1]
    parts = []
    for name, row in rows[rows["financial_year"].astype(str) == year].groupby("scenario"):
        r = row.iloc[0]
        parts.append(
            f"{labels.get(str(name), str(name))} {_money(r['p50'])} (80% interval "
            f"{_money(r['p10'])} to {_money(r['p90'])})"
        )
    return f"Cumulative saving against the baseline to {year} (median): " + "; ".join(parts) + "."
