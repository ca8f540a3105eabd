"""Charts of one run: children in care, placements and sufficiency, the continuum, costs.

Each function takes tidy tables as read from a run folder and returns a ``Figure``.
Recorded counts pass through disclosure control: a point or bar of 1 to 5 children, or one
hidden in the published tables, is not drawn.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from care_demand import vocab
from care_demand.outputs.charts.style import (
    PALETTE,
    _bands,
    _caption,
    _legend_right,
    _money,
    _months,
    _rate_axis,
    _recorded,
    _select,
    _styled,
    _suptitle,
    _whole_years,
)
from care_demand.outputs.disclosure import DisclosureRule, recorded_values

__all__ = [
    "continuum_chart",
    "costs_chart",
    "demand_capacity_chart",
    "fan_chart",
    "flows_chart",
    "out_of_area_chart",
    "placement_mix_chart",
]


# Placement groups as a commissioner reads them, with their colours.
_MIX_GROUPS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Kinship foster care", (vocab.KINSHIP_FOSTER,), PALETTE["green"]),
    ("In-house foster care", (vocab.INHOUSE_FOSTER,), PALETTE["blue"]),
    ("Independent fostering agency", (vocab.IFA,), PALETTE["sky"]),
    ("In-house children's homes", (vocab.INHOUSE_RESIDENTIAL,), PALETTE["vermillion"]),
    ("External children's homes", (vocab.EXTERNAL_RESIDENTIAL,), PALETTE["orange"]),
    ("Supported accommodation (16+)", (vocab.SUPPORTED_16PLUS,), PALETTE["purple"]),
    (
        "Other (with parents, for adoption, secure)",
        (vocab.PLACED_WITH_PARENTS, vocab.PLACED_FOR_ADOPTION, vocab.SECURE_OTHER),
        PALETTE["grey"],
    ),
)
# Budget lines as finance reads them: (label, kind, lines or None for every line of kind).
_COST_GROUPS: tuple[tuple[str, str, tuple[str, ...] | None, str], ...] = (
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
    ("Fixed costs (teams, new services)", "fixed", None, PALETTE["grey"]),
)
_CONTINUUM = (
    (vocab.EARLY_HELP, "Early help"),
    (vocab.CIN, "Children in need"),
    (vocab.CP, "Child protection plans"),
    (vocab.CARE, "Children in care"),
)


_INHOUSE = (
    (vocab.INHOUSE_FOSTER, "In-house foster care"),
    (vocab.INHOUSE_RESIDENTIAL, "In-house children's homes"),
)


# ---------------------------------------------------------------------------------------
# Children in care: fan charts


@_styled
def fan_chart(
    history: pd.Series,
    quantiles: pd.DataFrame,
    *,
    title: str,
    ylabel: str,
    caption: str = "",
    population: int | None = None,
) -> Figure:
    """History as a line and the projection's P10-P90 and P25-P75 bands with the median.

    ``history``: values indexed by date. ``quantiles``: columns ``month``, ``p10``, ``p25``,
    ``p50``, ``p75``, ``p90``. With ``population`` (children aged 0-17) a right-hand axis
    shows the rate per 10,000.
    """
    fig, ax = plt.subplots(figsize=(9, 4.8), layout="constrained")
    ax.plot(history.index, history.to_numpy(), color=PALETTE["black"], lw=1.6, label="Recorded")
    _bands(ax, quantiles, PALETTE["blue"])
    ax.set_title(title, loc="left", fontsize=12)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("Month")
    ax.set_ylim(bottom=0)
    _rate_axis(ax, population)
    ax.legend(loc="lower left", fontsize=9)
    _caption(fig, caption)
    return fig


# ---------------------------------------------------------------------------------------
# Placements and sufficiency


def _mix_recorded(stocks: pd.DataFrame | None, rule: DisclosureRule) -> pd.DataFrame:
    """Recorded children in care by chart group at each 31 March (NaN where hidden)."""
    if stocks is None or stocks.empty:
        return pd.DataFrame()
    care = stocks[(stocks["state"] == vocab.CARE) & (stocks["placement_group"] != "all")].copy()
    care["value"] = recorded_values(care["children"], rule.marker)
    care.loc[(care["value"] >= 1) & (care["value"] <= rule.suppress_max), "value"] = np.nan
    wide = care.pivot(index="date", columns="placement_group", values="value")
    wide = wide.reindex(columns=list(vocab.PLACEMENT_GROUPS))
    out = pd.DataFrame(index=pd.to_datetime(wide.index))
    for label, groups, _ in _MIX_GROUPS:
        # A group with any part hidden is hidden: its sum would reveal the part.
        out[label] = wide[list(groups)].sum(axis=1, min_count=len(groups)).to_numpy()
    return out


def _mix_projected(quantiles: pd.DataFrame) -> pd.DataFrame:
    q = quantiles[(quantiles["measure"] == "children") & (quantiles["age_band"] == "all")].copy()
    q["month"] = _months(q)
    q = q[q["month"].dt.month == 3]
    wide = q.pivot(index="month", columns="category", values="mean")
    out = pd.DataFrame(index=wide.index)
    for label, groups, _ in _MIX_GROUPS:
        out[label] = wide[[g for g in groups if g in wide.columns]].sum(axis=1)
    return out


@_styled
def placement_mix_chart(
    stocks: pd.DataFrame | None,
    quantiles: pd.DataFrame,
    *,
    title: str = "Children in care by placement type at 31 March: recorded and projected",
    caption: str = "",
    rule: DisclosureRule | None = None,
) -> Figure:
    """Stacked bars of children in care by placement type at each 31 March.

    ``stocks``: ``stocks_31_march.csv`` (recorded, published; hidden counts are not drawn).
    ``quantiles``: the projection; projected bars are the mean across replicates, so the
    parts add up to the total.
    """
    rule = rule or DisclosureRule()
    recorded = _mix_recorded(stocks, rule)
    projected = _mix_projected(quantiles)
    fig, ax = plt.subplots(figsize=(10, 5.2), layout="constrained")
    labelled = False
    for frame, alpha, hatch in ((recorded, 1.0, ""), (projected, 0.55, "//")):
        if frame.empty:
            continue
        x = frame.index.year.to_numpy()
        bottom = np.zeros(len(frame))
        for label, _, colour in _MIX_GROUPS:
            height = frame[label].fillna(0).to_numpy()
            ax.bar(
                x,
                height,
                bottom=bottom,
                color=colour,
                alpha=alpha,
                hatch=hatch,
                edgecolor="white",
                lw=0.5,
                label=None if labelled else label,
            )
            bottom += height
        labelled = True
    if not recorded.empty and not projected.empty:
        edge = recorded.index.year.max() + 0.5
        ax.axvline(edge, color=PALETTE["black"], lw=1, ls=":")
        ax.text(edge - 0.1, ax.get_ylim()[1] * 0.98, "Recorded", ha="right", va="top", fontsize=9)
        ax.text(
            edge + 0.1, ax.get_ylim()[1] * 0.98, "Projected (mean)", ha="left", va="top", fontsize=9
        )
    _suptitle(fig, title)
    ax.set_ylabel("Children in care at 31 March")
    ax.set_xlabel("Year (31 March)")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    _legend_right(ax, reverse=True)
    note = (
        f"Recorded groups shown as {rule.marker} in the published tables (counts from 1 to "
        f"{rule.suppress_max}, or figures they could be worked out from) are left out."
    )
    _caption(fig, f"{caption}\n{note}" if caption else note)
    return fig


def _draw_demand_capacity(ax: Axes, quantiles: pd.DataFrame, group: str, legend: bool) -> None:
    children = _select(quantiles, "children", group)
    shortfall = _select(quantiles, "shortfall", group)
    capacity = _select(quantiles, "capacity", group)
    months = children["month"]
    placed = children["mean"].to_numpy()
    demand = placed + shortfall["mean"].to_numpy() if len(shortfall) == len(children) else placed
    ax.fill_between(
        months,
        placed,
        demand,
        color=PALETTE["vermillion"],
        alpha=0.35,
        lw=0,
        label="Shortfall: placed externally\nfor want of an in-house place",
    )
    ax.plot(
        months,
        demand,
        color=PALETTE["vermillion"],
        lw=1.6,
        label="Children needing an\nin-house place (mean)",
    )
    ax.plot(months, placed, color=PALETTE["blue"], lw=2.0, label="Children placed in-house (mean)")
    if not capacity.empty:
        ax.plot(
            capacity["month"],
            capacity["p50"],
            color=PALETTE["black"],
            lw=1.4,
            ls="--",
            drawstyle="steps-post",
            label="Places available (median)",
        )
    if legend:
        _legend_right(ax)


@_styled
def demand_capacity_chart(
    quantiles: pd.DataFrame,
    *,
    title: str = "Demand for in-house placements against places available, with the shortfall",
    caption: str = "",
) -> Figure:
    """Per in-house placement group: places available, children placed in-house and the
    children who needed an in-house place, with the external shortfall shaded."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained", squeeze=False)
    for i, (group, name) in enumerate(_INHOUSE):
        ax = axes[0, i]
        _draw_demand_capacity(ax, quantiles, group, legend=i == len(_INHOUSE) - 1)
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("Children at month end")
        ax.set_xlabel("Month")
    _suptitle(fig, title)
    _caption(fig, caption)
    return fig


@_styled
def out_of_area_chart(
    quantiles: pd.DataFrame,
    *,
    title: str = "Children in care placed out of area: projected",
    caption: str = "",
) -> Figure:
    """Projected children in care placed outside the council's area: median and bands."""
    fig, ax = plt.subplots(figsize=(9, 4.6), layout="constrained")
    _bands(ax, _select(quantiles, "out_of_area", vocab.CARE), PALETTE["orange"])
    ax.set_title(title, loc="left", fontsize=12)
    ax.set_ylabel("Children placed out of area at month end")
    ax.set_xlabel("Month")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower left")
    _caption(fig, caption)
    return fig


# ---------------------------------------------------------------------------------------
# The continuum


@_styled
def continuum_chart(
    recorded: pd.DataFrame | None,
    quantiles: pd.DataFrame,
    *,
    title: str = "Children in early help, in need, on a protection plan and in care",
    caption: str = "",
    population: int | None = None,
    rule: DisclosureRule | None = None,
) -> Figure:
    """Early help, CIN, CP and care at month end: recorded history and projection.

    ``recorded``: ``recorded_monthly.csv``; hidden or small counts are not drawn. With
    ``population`` each panel has a right-hand axis with the rate per 10,000 children.
    """
    rule = rule or DisclosureRule()
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True, layout="constrained")
    for ax, (state, name) in zip(axes.flat, _CONTINUUM, strict=True):
        history = _recorded(recorded, state, rule)
        if not history.empty:
            ax.plot(
                history.index, history.to_numpy(), color=PALETTE["black"], lw=1.3, label="Recorded"
            )
        q = _select(quantiles, "children", state)
        if not q.empty:
            _bands(ax, q, PALETTE["blue"])
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("Children at month end")
        ax.set_ylim(bottom=0)
        _rate_axis(ax, population)
    # Inside the first panel: the counts start at zero, so its lower part is empty.
    axes[0, 0].legend(
        handles=axes[1, 1].get_legend_handles_labels()[0], loc="lower left", fontsize=8
    )
    _suptitle(fig, title)
    _caption(fig, caption)
    return fig


@_styled
def flows_chart(
    quantiles: pd.DataFrame,
    *,
    title: str = "Projected moves between services per financial year",
    caption: str = "",
) -> Figure:
    """Step-ups and step-downs between early help, CIN and CP, and entries to and exits
    from care, per complete financial year (mean across replicates)."""
    q = quantiles[(quantiles["measure"] == "flow") & (quantiles["age_band"] == "all")].copy()
    q["month"] = _months(q)
    q = _whole_years(q)
    exits = [f"exit:{reason}" for reason in vocab.CARE_EXITS]
    q["series"] = q["category"].where(~q["category"].isin(exits), "care_exit")
    yearly = q.groupby(["year", "series"])["mean"].sum().unstack("series").fillna(0.0)
    panels = (
        (
            "Between early help, children in need and protection",
            (
                ("step_up", "Step-ups (to a higher level of need)", PALETTE["vermillion"]),
                ("step_down", "Step-downs", PALETTE["green"]),
            ),
        ),
        (
            "Into and out of care",
            (
                ("entry_to_care", "Entries to care", PALETTE["orange"]),
                ("care_exit", "Exits from care", PALETTE["blue"]),
            ),
        ),
    )
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
    years = list(yearly.index)
    x = np.arange(len(years))
    for ax, (panel, series) in zip(axes, panels, strict=True):
        width = 0.8 / len(series)
        for k, (key, name, colour) in enumerate(series):
            values = yearly[key].to_numpy() if key in yearly.columns else np.zeros(len(years))
            ax.bar(x + (k - (len(series) - 1) / 2) * width, values, width, color=colour, label=name)
        ax.set_xticks(x, years)
        ax.set_title(panel, fontsize=10)
        ax.set_ylabel("Children moving in the year")
        ax.set_xlabel("Financial year (April-March)")
        ax.set_ylim(top=ax.get_ylim()[1] * 1.2)  # room for the legend above the bars
        ax.legend(loc="upper left", ncol=2, fontsize=8)
    _suptitle(fig, title)
    _caption(fig, caption)
    return fig


# ---------------------------------------------------------------------------------------
# Finance


@_styled
def costs_chart(
    cost_summary: pd.DataFrame,
    *,
    title: str = "Projected cost by budget line and financial year",
    caption: str = "",
) -> Figure:
    """Stacked bars of each budget line's mean cost per financial year, with the total's
    median and 80% interval; a year the projection covers in part is marked."""
    costs = cost_summary[~cost_summary["financial_year"].astype(str).str.contains(" to ")]
    years = list(dict.fromkeys(costs["financial_year"].astype(str)))
    fig, ax = plt.subplots(figsize=(10, 5.2), layout="constrained")
    x = np.arange(len(years))
    bottom = np.zeros(len(years))
    for label, kind, lines, colour in _COST_GROUPS:
        rows = costs[costs["kind"] == kind]
        if lines is not None:
            rows = rows[rows["line"].isin(lines)]
        values = rows.groupby("financial_year")["mean"].sum().reindex(years).fillna(0.0)
        ax.bar(
            x,
            values.to_numpy(),
            bottom=bottom,
            color=colour,
            edgecolor="white",
            lw=0.5,
            label=label,
        )
        bottom += values.to_numpy()
    total = costs[costs["kind"] == "total"].set_index("financial_year").reindex(years)
    if not total["p50"].isna().all():
        ax.errorbar(
            x,
            total["p50"],
            yerr=[total["p50"] - total["p10"], total["p90"] - total["p50"]],
            fmt="o",
            color=PALETTE["black"],
            ms=4,
            capsize=4,
            lw=1.2,
            label="Total: median and 80% interval",
        )
    complete = costs.groupby("financial_year")["complete"].all().reindex(years)
    ax.set_xticks(x, [y if bool(c) else f"{y}\n(part year)" for y, c in complete.items()])
    ax.yaxis.set_major_formatter(_money())
    _suptitle(fig, title)
    ax.set_ylabel("Cost, £ million (cash terms)")
    ax.set_xlabel("Financial year (April-March)")
    handles, _ = ax.get_legend_handles_labels()
    # Budget lines top to bottom as stacked, then the total.
    _legend_right(ax, [*handles[:-1][::-1], handles[-1]] if handles else None)
    _caption(fig, caption)
    return fig
