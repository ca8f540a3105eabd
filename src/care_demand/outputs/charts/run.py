"""Charts of one run, laid out for an A4 page: children in care, placements and
sufficiency, the continuum, costs.

Each function takes tidy tables as read from a run folder and returns a ``Figure`` 16 cm
wide, with its title, a legend above the panels (never over the data) and a caption; the
panels are drawn by :mod:`care_demand.outputs.charts.panels`, whose ``plot_*`` functions
draw on any ``Axes``. Recorded counts pass through disclosure control: a point of 1 to 5
children, or one hidden in the published tables, is not drawn, and hidden placement groups
are merged into "other".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from care_demand import vocab
from care_demand.outputs.charts.panels import (
    plot_costs,
    plot_demand_capacity,
    plot_fan,
    plot_flows,
    plot_out_of_area,
    plot_placement_mix,
)
from care_demand.outputs.charts.style import (
    _caption,
    _date_axis,
    _figure,
    _finish,
    _legend,
    _recorded,
    _select,
    _styled,
    _suptitle,
    save_figure,
)
from care_demand.outputs.disclosure import DisclosureRule

__all__ = [
    "continuum_chart",
    "costs_chart",
    "demand_capacity_chart",
    "fan_chart",
    "flows_chart",
    "held_states",
    "out_of_area_chart",
    "placement_mix_chart",
    "returns_read",
    "write_fan_chart",
]


_CONTINUUM = (
    (vocab.EARLY_HELP, "Early help"),
    (vocab.CIN, "Children in need"),
    (vocab.CP, "Child protection plans"),
    (vocab.CARE, "Children in care"),
)


def held_states(recorded: pd.DataFrame | None) -> tuple[str, ...]:
    """The services of the continuum the council's files hold, in the continuum's order:
    children in care always, early help, children in need and protection plans where the
    recorded history (``recorded_monthly.csv``) counts them; every one without a record."""
    if recorded is None or recorded.empty:
        return tuple(state for state, _ in _CONTINUUM)
    present = set(recorded["category"].astype(str))
    return tuple(s for s, _ in _CONTINUUM if s == vocab.CARE or s in present)


def returns_read(states: Sequence[str]) -> str:
    """The council's files that hold ``states``, as a caption names them."""
    names = ["SSDA903"]
    if vocab.CIN in states or vocab.CP in states:
        names.append("CIN census")
    if vocab.EARLY_HELP in states:
        names.append("early help")
    return ", ".join(names)


_INHOUSE = (
    (vocab.INHOUSE_FOSTER, "In-house foster care"),
    (vocab.INHOUSE_RESIDENTIAL, "In-house children's homes"),
)


# ---------------------------------------------------------------------------------------
# Children in care and the continuum


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
    shows the rate per 10,000. The panel is :func:`~.panels.plot_fan`.
    """
    fig, axes = _figure(height=3.8)
    ax = axes[0, 0]
    plot_fan(history, quantiles, ax=ax, population=population)
    _date_axis(ax, 10)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("Month")
    return _finish(fig, title, caption)


def write_fan_chart(
    path: str | Path,
    history: pd.Series,
    quantiles: pd.DataFrame,
    *,
    title: str,
    ylabel: str,
    caption: str = "",
) -> list[Path]:
    """Draw :func:`fan_chart` and save it at ``path`` (PNG) and beside it (SVG)."""
    fig = fan_chart(history, quantiles, title=title, ylabel=ylabel, caption=caption)
    return save_figure(fig, Path(path))


@_styled
def continuum_chart(
    recorded: pd.DataFrame | None,
    quantiles: pd.DataFrame,
    *,
    title: str = "Children in early help, in need, on a protection plan and in care",
    caption: str = "",
    population: int | None = None,
    rule: DisclosureRule | None = None,
    states: Sequence[str] | None = None,
) -> Figure:
    """Early help, CIN, CP and care at month end: recorded history and projection.

    ``recorded``: ``recorded_monthly.csv``; hidden or small counts are not drawn. With
    ``population`` each panel has a right-hand axis with the rate per 10,000 children.
    ``states``: the panels drawn (default: those the record holds, :func:`held_states`), so
    a service the council's files do not hold is not drawn as an empty panel.
    """
    rule = rule or DisclosureRule()
    shown = set(held_states(recorded) if states is None else states)
    panels = [(state, name) for state, name in _CONTINUUM if state in shown]
    rows, cols = (1, len(panels)) if len(panels) <= 2 else (2, 2)
    fig, axes = _figure(rows, cols, height=6.2 if rows == 2 else 3.8, sharex=True)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, (state, name) in zip(axes.flat, panels, strict=False):
        plot_fan(
            _recorded(recorded, state, rule),
            _select(quantiles, "children", state),
            ax=ax,
            population=population,
        )
        ax.set_title(name, loc="left")
        _date_axis(ax, 5)
    for ax in axes[:, 0]:
        ax.set_ylabel("Children at month end")
    return _finish(fig, title, caption)


@_styled
def flows_chart(
    quantiles: pd.DataFrame,
    *,
    title: str = "Projected moves between services per financial year",
    caption: str = "",
    services: bool = True,
) -> Figure:
    """Step-ups and step-downs between early help, CIN and CP, and entries to and exits
    from care, per complete financial year (mean across replicates). Without ``services``
    (data of children in care alone) only entries to and exits from care."""
    panels = ("services", "care") if services else ("care",)
    fig, axes = _figure(1, len(panels), height=3.8)
    for ax, panel in zip(axes[0], panels, strict=True):
        plot_flows(quantiles, panel, ax=ax)
        ax.set_xlabel("Financial year (April-March)")
    axes[0, 0].set_ylabel("Children moving in the year")
    return _finish(fig, title, caption)


# ---------------------------------------------------------------------------------------
# Placements and sufficiency


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

    ``stocks``: ``stocks_31_march.csv`` (recorded, published). Recorded bars add up to the
    recorded total: groups hidden in the published table are merged into "other".
    ``quantiles``: the projection; projected bars are means across replicates (the parts
    add up to the mean total), with the total's median and 80% interval.
    """
    rule = rule or DisclosureRule()
    fig, axes = _figure(height=5.0)
    ax = axes[0, 0]
    plot_placement_mix(stocks, quantiles, ax=ax, rule=rule)
    ax.set_ylabel("Children in care at 31 March")
    ax.set_xlabel("Year (31 March)")
    _suptitle(fig, title)
    handles, _ = ax.get_legend_handles_labels()
    _legend(fig, handles)
    note = (
        f"Recorded placement groups shown as {rule.marker} in the published tables (counts "
        f"from 1 to {rule.suppress_max}, or figures they could be worked out from) are "
        "counted in other placements (with parents, for adoption, secure and other), so "
        "each recorded bar adds up to the recorded total."
    )
    _caption(fig, f"{caption}\n{note}" if caption else note)
    return fig


@_styled
def demand_capacity_chart(
    quantiles: pd.DataFrame,
    *,
    title: str = "Demand for in-house placements against places available, with the shortfall "
    "(means)",
    caption: str = "",
) -> Figure:
    """Per in-house placement group: places available, children placed in-house and the
    children who needed an in-house place, with the external shortfall shaded (every line
    a mean across simulated futures)."""
    fig, axes = _figure(1, 2, height=3.9)
    for ax, (group, name) in zip(axes[0], _INHOUSE, strict=True):
        plot_demand_capacity(quantiles, group, ax=ax)
        ax.set_title(name, loc="left")
        _date_axis(ax, 4)
        ax.set_xlabel("Month")
    axes[0, 0].set_ylabel("Children at month end")
    return _finish(fig, title, caption, axes[0, 0].get_legend_handles_labels()[0])


@_styled
def out_of_area_chart(
    quantiles: pd.DataFrame,
    *,
    title: str = "Children in care placed out of area: projected",
    caption: str = "",
) -> Figure:
    """Projected children in care placed outside the council's area: median and bands."""
    fig, axes = _figure(height=3.6)
    ax = axes[0, 0]
    plot_out_of_area(quantiles, ax=ax)
    _date_axis(ax)
    ax.set_ylabel("Children placed out of area")
    ax.set_xlabel("Month")
    return _finish(fig, title, caption)


# ---------------------------------------------------------------------------------------
# Finance


@_styled
def costs_chart(
    cost_summary: pd.DataFrame,
    *,
    title: str = "Projected cost by budget line and financial year",
    caption: str = "",
    names: Mapping[str, str] | None = None,
) -> Figure:
    """Stacked bars of each budget line's mean cost per financial year, adding up to the mean
    total, with the total's P10-P90 as a whisker; a year the projection covers in part is
    marked. ``names``: fixed costs' titles by key, for the fixed-cost band's label."""
    fig, axes = _figure(height=4.6)
    ax = axes[0, 0]
    plot_costs(cost_summary, ax=ax, names=names)
    ax.set_ylabel("Cost, £ million (cash terms)")
    ax.set_xlabel("Financial year (April-March)")
    _suptitle(fig, title)
    handles, _ = ax.get_legend_handles_labels()
    # Budget lines top to bottom as stacked, then the total.
    _legend(fig, [*handles[:-1][::-1], handles[-1]] if handles else None)
    _caption(fig, caption)
    return fig
