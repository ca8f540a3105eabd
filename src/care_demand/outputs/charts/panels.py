"""One panel of a run's charts, drawn on a given matplotlib ``Axes``.

Each ``plot_*`` function takes tidy tables as read from a run folder and an optional
``ax`` (the current axes if none), draws one panel in the package's colours and returns its
artists by role (``{"median": Line2D, ...}``), so a user can restyle them or combine panels
in a figure of their own. The figure-level charts (:mod:`care_demand.outputs.charts.run`)
lay these panels out on an A4-wide page with title, legend and caption. Counts on the
y-axis start at zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from care_demand import vocab
from care_demand.outputs.charts.mix import (
    MIX_GROUPS,
    projected_placement_mix,
    recorded_placement_mix,
)
from care_demand.outputs.charts.style import (
    PALETTE,
    _bands,
    _counts_from_zero,
    _money,
    _months,
    _rate_axis,
    _select,
    _whole_years,
)
from care_demand.outputs.disclosure import DisclosureRule

__all__ = [
    "COST_GROUPS",
    "FLOW_PANELS",
    "plot_costs",
    "plot_demand_capacity",
    "plot_fan",
    "plot_flows",
    "plot_out_of_area",
    "plot_placement_mix",
]

Artists = dict[str, Any]

# Budget lines as finance reads them: (label, kind, lines or None for every line of kind).
COST_GROUPS: tuple[tuple[str, str, tuple[str, ...] | None, str], ...] = (
    ("External children's homes", "placements", (vocab.EXTERNAL_RESIDENTIAL,), PALETTE["orange"]),
    ("Independent fostering agencies", "placements", (vocab.IFA,), PALETTE["sky"]),
    ("In-house foster care", "placements", (vocab.INHOUSE_FOSTER,), PALETTE["blue"]),
    (
        "In-house children's homes",
        "placements",
        (vocab.INHOUSE_RESIDENTIAL,),
        PALETTE["vermillion"],
    ),
    (
        "Other placements",
        "placements",
        (
            vocab.KINSHIP_FOSTER,
            vocab.SUPPORTED_16PLUS,
            vocab.PLACED_WITH_PARENTS,
            vocab.PLACED_FOR_ADOPTION,
            vocab.SECURE_OTHER,
        ),
        PALETTE["green"],
    ),
    ("Casework", "casework", None, PALETTE["purple"]),
    ("Activity (family network meetings, support packages)", "activity", None, PALETTE["sky"]),
    ("Fixed costs (teams, new services)", "fixed", None, PALETTE["grey"]),
    ("Income (grants, below zero)", "income", None, PALETTE["black"]),
)
# The flows chart's panels: title and (series, label, colour) per bar.
FLOW_PANELS: dict[str, tuple[str, tuple[tuple[str, str, str], ...]]] = {
    "services": (
        "Early help, in need and protection",
        (
            ("step_up", "Step-ups (to a higher level of need)", PALETTE["vermillion"]),
            ("step_down", "Step-downs", PALETTE["green"]),
        ),
    ),
    "care": (
        "Into and out of care",
        (
            ("entry_to_care", "Entries to care", PALETTE["orange"]),
            ("care_exit", "Exits from care", PALETTE["blue"]),
        ),
    ),
}


def _axes(ax: Axes | None) -> Axes:
    return ax if ax is not None else plt.gca()


def plot_fan(
    history: pd.Series | None,
    quantiles: pd.DataFrame,
    *,
    ax: Axes | None = None,
    colour: str = PALETTE["blue"],
    label: str = "Projection",
    population: int | None = None,
) -> Artists:
    """History as a black line, the projection's median with its 50% and 80% intervals.

    ``history``: values indexed by date (may be empty). ``quantiles``: ``month``, ``p10``,
    ``p25``, ``p50``, ``p75``, ``p90``. With ``population`` a right-hand axis gives the rate
    per 10,000 children aged 0-17. Returns ``recorded`` (if drawn), ``band_80``,
    ``band_50`` and ``median``.
    """
    ax = _axes(ax)
    artists: Artists = {}
    if history is not None and not history.empty:
        (artists["recorded"],) = ax.plot(
            history.index, history.to_numpy(), color=PALETTE["black"], lw=1.5, label="Recorded"
        )
    if not quantiles.empty:
        artists |= _bands(ax, quantiles, colour, label)
    _counts_from_zero(ax)
    _rate_axis(ax, population)
    return artists


def plot_flows(quantiles: pd.DataFrame, panel: str = "care", *, ax: Axes | None = None) -> Artists:
    """Projected moves per complete financial year (means across futures), as bars.

    ``panel``: ``"services"`` (step-ups and step-downs between early help, CIN and CP) or
    ``"care"`` (entries to and exits from care). Returns the bar containers by series.
    """
    ax = _axes(ax)
    q = quantiles[(quantiles["measure"] == "flow") & (quantiles["age_band"] == "all")].copy()
    q["month"] = _months(q)
    q = _whole_years(q)
    exits = [f"exit:{reason}" for reason in vocab.CARE_EXITS]
    q["series"] = q["category"].where(~q["category"].isin(exits), "care_exit")
    yearly = q.groupby(["year", "series"])["mean"].sum().unstack("series").fillna(0.0)
    years = list(yearly.index)
    x = np.arange(len(years))
    title, series = FLOW_PANELS[panel]
    width = 0.8 / len(series)
    artists: Artists = {}
    for k, (key, name, colour) in enumerate(series):
        values = yearly[key].to_numpy() if key in yearly.columns else np.zeros(len(years))
        offset = (k - (len(series) - 1) / 2) * width
        artists[key] = ax.bar(x + offset, values, width, color=colour, label=name)
    ax.set_xticks(x, years)
    ax.set_title(title, loc="left")
    _counts_from_zero(ax)
    return artists


def plot_placement_mix(
    stocks: pd.DataFrame | None,
    quantiles: pd.DataFrame,
    *,
    ax: Axes | None = None,
    rule: DisclosureRule | None = None,
) -> Artists:
    """Stacked bars of children in care by placement type at each 31 March.

    Recorded bars (solid) add up to the recorded total: groups hidden under ``rule`` are
    merged into "other" (:func:`~care_demand.outputs.charts.mix.recorded_placement_mix`).
    Projected bars (hatched) are means across futures, so they add up to the mean total; the
    whisker on their top spans the total's P10 to P90 (80% interval). Returns ``recorded``
    and ``projected`` (bar containers by group), ``interval`` and, with both, ``divider``.
    """
    ax = _axes(ax)
    rule = rule or DisclosureRule()
    recorded = recorded_placement_mix(stocks, rule)
    projected = projected_placement_mix(quantiles)
    artists: Artists = {"recorded": {}, "projected": {}}
    for key, frame, hatch in (("recorded", recorded, ""), ("projected", projected, "///")):
        if frame.empty:
            continue
        x = frame.index.year.to_numpy()
        bottom = np.zeros(len(frame))
        for label, _, colour in MIX_GROUPS:
            height = frame[label].fillna(0).to_numpy()
            artists[key][label] = ax.bar(
                x,
                height,
                bottom=bottom,
                color=colour,
                hatch=hatch,
                edgecolor="white",
                lw=0.5,
                label=label if key == "recorded" or recorded.empty else None,
            )
            bottom += height
    if not projected.empty and projected["p10"].notna().any():
        # The whisker sits on the bars' top (the mean total): one statistic per bar.
        x = projected.index.year.to_numpy()
        top = projected[[label for label, _, _ in MIX_GROUPS]].fillna(0).sum(axis=1).to_numpy()
        low = np.clip(top - projected["p10"].to_numpy(), 0, None)
        high = np.clip(projected["p90"].to_numpy() - top, 0, None)
        artists["interval"] = ax.errorbar(
            x,
            top,
            yerr=[low, high],
            fmt="none",
            ecolor=PALETTE["black"],
            capsize=4,
            lw=1.2,
            label="Projected total: P10 to P90 (80% interval)",
        )
    _counts_from_zero(ax)
    if not recorded.empty and not projected.empty:
        edge = recorded.index.year.max() + 0.5
        artists["divider"] = ax.axvline(edge, color=PALETTE["black"], lw=1, ls=":")
        top = ax.get_ylim()[1] * 1.12
        ax.set_ylim(top=top)
        ax.text(edge - 0.15, top, "Recorded", ha="right", va="top")
        ax.text(edge + 0.15, top, "Projected", ha="left", va="top")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return artists


def plot_demand_capacity(
    quantiles: pd.DataFrame, group: str = vocab.INHOUSE_FOSTER, *, ax: Axes | None = None
) -> Artists:
    """One in-house placement group: places available, children placed in-house and the
    children who needed an in-house place, with the external shortfall shaded; every line
    is a mean across simulated futures (so the shortfall is the gap between two lines).

    Returns ``shortfall``, ``demand``, ``placed`` and (if recorded) ``capacity``.
    """
    ax = _axes(ax)
    children = _select(quantiles, "children", group)
    shortfall = _select(quantiles, "shortfall", group)
    capacity = _select(quantiles, "capacity", group)
    months = children["month"]
    placed = children["mean"].to_numpy()
    demand = placed + shortfall["mean"].to_numpy() if len(shortfall) == len(children) else placed
    artists: Artists = {
        "shortfall": ax.fill_between(
            months,
            placed,
            demand,
            color=PALETTE["vermillion"],
            alpha=0.35,
            lw=0,
            label="Placed externally for want of an in-house place (mean)",
        ),
    }
    (artists["demand"],) = ax.plot(
        months,
        demand,
        color=PALETTE["vermillion"],
        lw=1.6,
        label="Needing an in-house place (mean)",
    )
    (artists["placed"],) = ax.plot(
        months, placed, color=PALETTE["blue"], lw=2.0, label="Placed in-house (mean)"
    )
    if not capacity.empty:
        (artists["capacity"],) = ax.plot(
            capacity["month"],
            capacity["mean"],
            color=PALETTE["black"],
            lw=1.4,
            ls="--",
            drawstyle="steps-post",
            label="Places available (mean)",
        )
    _counts_from_zero(ax)
    return artists


def plot_out_of_area(quantiles: pd.DataFrame, *, ax: Axes | None = None) -> Artists:
    """Projected children in care placed out of area: median with 50% and 80% intervals."""
    ax = _axes(ax)
    artists = _bands(ax, _select(quantiles, "out_of_area", vocab.CARE), PALETTE["orange"])
    _counts_from_zero(ax)
    return artists


def _fixed_label(label: str, rows: pd.DataFrame, names: Mapping[str, str] | None) -> str:
    """The fixed costs' band named by their titles (up to three, on one legend line), else
    the group's label."""
    lines = list(dict.fromkeys(rows.loc[rows["mean"].abs() > 0, "line"].astype(str)))
    if not names or not lines or len(lines) > 3:
        return label
    named = "Fixed costs: " + "; ".join(names.get(line, line) for line in lines)
    return named if len(named) <= 80 else label  # one legend line at most


def plot_costs(
    cost_summary: pd.DataFrame,
    *,
    ax: Axes | None = None,
    names: Mapping[str, str] | None = None,
) -> Artists:
    """Stacked bars of each budget line's mean cost per financial year (one statistic:
    means add up, so the stack's top is the mean total), with the total's P10-P90 (80%
    interval) as a whisker without a marker; a year the projection covers in part is marked.

    ``names``: fixed costs' titles by key (:func:`care_demand.finance.fixed_cost_titles`):
    the fixed-cost band is labelled with them when there are three or fewer.
    Returns the bar containers by budget line and ``total`` (the whisker).
    """
    ax = _axes(ax)
    costs = cost_summary[~cost_summary["financial_year"].astype(str).str.contains(" to ")]
    years = list(dict.fromkeys(costs["financial_year"].astype(str)))
    x = np.arange(len(years))
    bottom = np.zeros(len(years))
    income = np.zeros(len(years))  # income (negative) hangs below zero, apart from the stack
    artists: Artists = {}
    for label, kind, lines, colour in COST_GROUPS:
        rows = costs[costs["kind"] == kind]
        if lines is not None:
            rows = rows[rows["line"].isin(lines)]
        if rows.empty and kind in ("activity", "income"):
            continue  # only scenarios with them show them
        values = rows.groupby("financial_year")["mean"].sum().reindex(years).fillna(0.0)
        shown = _fixed_label(label, rows, names) if kind == "fixed" else label
        if kind == "income":
            income += values.to_numpy()
            artists[label] = ax.bar(
                x,
                values.to_numpy(),
                color=colour,
                edgecolor="white",
                lw=0.5,
                label=f"{shown} (mean)",
            )
            continue
        artists[label] = ax.bar(
            x,
            values.to_numpy(),
            bottom=bottom,
            color=colour,
            edgecolor="white",
            lw=0.5,
            label=f"{shown} (mean)",
        )
        bottom += values.to_numpy()
    total = costs[costs["kind"] == "total"].set_index("financial_year").reindex(years)
    if not total["p10"].isna().all():
        # The whisker stands on the stacked mean total; no marker, as the bars are means.
        net = bottom + income  # the total is net of income
        top = np.clip(net, total["p10"].to_numpy(), total["p90"].to_numpy())
        artists["total"] = ax.errorbar(
            x,
            top,
            yerr=[top - total["p10"].to_numpy(), total["p90"].to_numpy() - top],
            fmt="none",
            ecolor=PALETTE["black"],
            capsize=4,
            lw=1.2,
            label="Total: P10 to P90 (80% interval)",
        )
    complete = costs.groupby("financial_year")["complete"].all().reindex(years)
    ax.set_xticks(x, [y if bool(c) else f"{y}\n(part year)" for y, c in complete.items()])
    ax.yaxis.set_major_formatter(_money())
    _counts_from_zero(ax)
    if income.min() < 0:
        ax.set_ylim(bottom=1.1 * income.min())
    return artists
